"""The plot helpers of nipstack.output: when a field counts as uniform to round-off, colour
bars that always carry tick labels at the actual values, the fit-caveat rule and the note on
a contact fraction resolved by a few Gauss points (pure NumPy / matplotlib Agg, < 2 s)."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from nipstack.output import (POROSITY_MIN_SPAN, UNIFORM_RTOL, ColourScale,  # noqa: E402
                             fit_verdict, gauss_point_note, plain_ticks, profile_limits,
                             tick_labels, uniform_to_roundoff)

# the flat press after unloading: cell averages of one uniform state, spread ~8e-16
ROUNDOFF = 0.325988 + np.array([0.0, 5.6e-16, -2.2e-16, 3.3e-16, 1.1e-16])
# the calender exit profile through the coating: a real spread of 0.0131 pp
SMALL_REAL = np.array([0.414043, 0.414001, 0.414021, 0.414132])


def test_uniform_to_roundoff_threshold():
    """Uniform when max - min <= 1e-9 x max|v|: round-off (1e-16 relative) is, a spread of
    1e-8 relative or the calender's 1.3e-4 is not; degenerate inputs count as uniform."""
    assert UNIFORM_RTOL == 1e-9
    assert uniform_to_roundoff(ROUNDOFF)
    assert uniform_to_roundoff(0.4 * (1 + np.array([0.0, 0.9e-9])))
    assert not uniform_to_roundoff(0.4 * (1 + np.array([0.0, 1e-8])))
    assert not uniform_to_roundoff(SMALL_REAL)
    assert uniform_to_roundoff(np.zeros(4)) and uniform_to_roundoff([0.3])
    assert uniform_to_roundoff([]) and uniform_to_roundoff([np.nan, 0.2, np.nan])


def test_uniform_field_is_one_colour_with_one_labelled_tick():
    scale = ColourScale(ROUNDOFF, min_span=POROSITY_MIN_SPAN)
    assert scale.uniform
    assert scale.ticks == [pytest.approx(0.325988, abs=1e-15)]
    assert scale.labels == ["0.325988"]
    # every cell maps to the middle of the colour range: no checkerboard (the colours of
    # the cells differ by less than 1e-12 of the range)
    normalised = (ROUNDOFF - scale.vmin) / (scale.vmax - scale.vmin)
    np.testing.assert_allclose(normalised, 0.5, atol=1e-12)
    assert scale.vmax - scale.vmin >= POROSITY_MIN_SPAN
    assert "uniform to round-off" in scale.describe("porosity", "-")
    assert f"spread {np.ptp(ROUNDOFF):.1e}" in scale.describe()


def test_small_real_range_has_ticks_at_the_values():
    """A spread of 1.3e-4 is drawn over at least POROSITY_MIN_SPAN (1 pp), every tick has a
    distinct label that reads as the value it marks (to half a label digit), no offset."""
    scale = ColourScale(SMALL_REAL, min_span=POROSITY_MIN_SPAN)
    assert not scale.uniform
    assert scale.vmin <= SMALL_REAL.min() and scale.vmax >= SMALL_REAL.max()
    assert scale.vmax - scale.vmin >= POROSITY_MIN_SPAN - 1e-15
    assert len(scale.ticks) >= 2 and len(set(scale.labels)) == len(scale.labels)
    step = min(np.diff(scale.ticks))
    for tick, label in zip(scale.ticks, scale.labels):
        assert abs(float(label) - tick) <= 1e-6 * step, (label, tick)    # 0.4125, not 0.413
        assert scale.vmin - 1e-12 <= tick <= scale.vmax + 1e-12
    assert scale.describe("porosity") == "porosity range 0.41400 to 0.41413"
    # without a minimum span the ticks resolve the 1.3e-4 range itself
    tight = ColourScale(SMALL_REAL)
    assert tight.vmin == SMALL_REAL.min() and tight.vmax == SMALL_REAL.max()
    assert len(set(tight.labels)) == len(tight.labels) >= 2


def test_tick_labels_are_distinct_plain_numbers():
    assert tick_labels([0.414, 0.41405, 0.4141]) == ["0.41400", "0.41405", "0.41410"]
    assert tick_labels([0.0, 0.5, 1.0]) == ["0.0", "0.5", "1.0"]
    assert tick_labels([20.0, 40.0, 60.0]) == ["20", "40", "60"]
    assert tick_labels([0.41, 0.4125, 0.415]) == ["0.4100", "0.4125", "0.4150"]
    assert len(set(tick_labels([1e-7, 2e-7, 3e-7]))) == 3


def test_colour_bars_carry_tick_labels_when_drawn(tmp_path):
    """Render a uniform and a narrow field with Agg: each colour bar has non-empty tick
    labels (before: a 5e-16 spread gave a bar with no labels at all)."""
    from matplotlib.collections import PolyCollection
    square = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=float)
    for values in (ROUNDOFF, SMALL_REAL):
        fig, ax = plt.subplots()
        polygons = [square + [k, 0] for k in range(len(values))]
        collection = PolyCollection(polygons, array=values, cmap="viridis")
        ax.add_collection(collection)
        ax.autoscale()
        scale = ColourScale(values, min_span=POROSITY_MIN_SPAN)
        bar = scale.colourbar(fig, ax, collection, "porosity (-)")
        fig.savefig(tmp_path / "map.png")
        labels = [t.get_text() for t in bar.ax.get_yticklabels()]
        assert labels and all(labels), labels
        assert labels == scale.labels
        if scale.uniform:
            assert "uniform to round-off" in bar.ax.get_ylabel()
        plt.close(fig)


def test_profile_axis_of_a_narrow_profile():
    """The through-thickness profile axis spans >= 1 pp around the data and its tick labels
    (plain_ticks: no offset, no exponent) are distinct numbers (before: 0.414000 ... 0.414125
    overlapped and the 0.013 pp spread filled the axis)."""
    low, high = profile_limits(SMALL_REAL, POROSITY_MIN_SPAN)
    assert high - low >= POROSITY_MIN_SPAN
    assert low < SMALL_REAL.min() and high > SMALL_REAL.max()
    assert abs(0.5 * (low + high) - 0.5 * (SMALL_REAL.min() + SMALL_REAL.max())) < 1e-12
    fig, ax = plt.subplots(figsize=(4.8, 4.4))
    ax.plot(SMALL_REAL, [0.1, 0.4, 0.6, 0.9])
    ax.set_xlim(low, high)
    plain_ticks(ax.xaxis, 6)
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert 2 <= len(labels) <= 7 and len(set(labels)) == len(labels)
    assert ax.xaxis.get_offset_text().get_text() == ""
    boxes = [t.get_window_extent() for t in ax.get_xticklabels() if t.get_text()]
    assert all(a.x1 < b.x0 for a, b in zip(boxes, boxes[1:])), "tick labels overlap"
    plt.close(fig)


@pytest.mark.parametrize("n, values, kind, fitted", [
    (6, [0.44, 0.40, 0.37, 0.34, 0.32, 0.30], "fit", True),
    (3, [0.44, 0.40, 0.37], "interpolation", False),   # 3 points, 3 parameters
    (2, [0.44, 0.40], "too few", False),
    (4, [0.326] * 4, "no change", False),
    (4, 0.326 + np.array([0.0, 2e-16, -1e-16, 0.0]), "no change", False),   # round-off
])
def test_fit_verdict(n, values, kind, fitted):
    verdict = fit_verdict(n, 3, values)
    assert (verdict["kind"], verdict["fitted"]) == (kind, fitted)
    if kind == "interpolation":
        assert "exact interpolation, not a fit" in verdict["note"]
        assert "no R^2" in verdict["note"]
    if kind == "no change":
        assert verdict["note"].startswith("not fitted")


def test_gauss_point_note():
    """0.124 of 32 points (4 in contact) is flagged; 16 of 32 or a fraction of 0 / 1 is not;
    a fraction one point short of 1 is (1 point out of contact)."""
    note = gauss_point_note(0.124, 32)
    assert note is not None and "4 of 32 Gauss points" in note and "refine" in note
    assert gauss_point_note(0.5, 32) is None
    assert gauss_point_note(0.0, 32) is None and gauss_point_note(1.0, 32) is None
    assert "1 of 32 Gauss points out of contact" in gauss_point_note(31 / 32, 32)
    assert "4 of 32 Gauss points in contact" in note
    assert gauss_point_note(0.3, 1000) is None
    assert gauss_point_note(0.3, None) is None


def test_calender_history_columns_carry_units():
    """Every dimensional column of the calender's history.csv names its unit (they were bare
    `time`, `travel`, `gap`, `line_load`, ...); the counters and the residual list need none."""
    from dataclasses import fields

    from nipstack.calender import HISTORY_COLUMNS, CalenderStep

    units = ("_s", "_mm", "_N_per_mm", "_Nmm_per_mm")
    for field in fields(CalenderStep):
        column = HISTORY_COLUMNS.get(field.name, field.name)
        if field.name in ("step", "phase", "newton_iterations"):
            assert column == field.name
        elif field.name == "residuals":
            assert column == "relative_residuals"
        else:
            assert column.endswith(units), column


def test_pyvista_picture_ticks_and_axes():
    """porosity.png (nipstack.pictures): a uniform field's colour bar carries its value as the
    only tick, as porosity_final.png does (before: three ticks at the padded range's ends and
    middle, 0.3210 / 0.3260 / 0.3310); a real range gets five distinct labels; axis bounds
    that are zero to round-off print as 0 (before: '-1.05e-33', '-2.94e-34'); the section sits
    high enough that the x tick labels and the x-axis title fit below it (before: 11.5 % of
    the view, the title was cut off)."""
    from nipstack.pictures import (PLOT_AREA, axis_ranges, bar_ticks, section_view,
                                   zero_roundoff)

    scale = ColourScale(ROUNDOFF, min_span=POROSITY_MIN_SPAN)
    ticks, fmt = bar_ticks(scale)
    assert [fmt % tick for tick in ticks] == scale.labels == ["0.325988"]
    ticks, fmt = bar_ticks(ColourScale(SMALL_REAL, min_span=POROSITY_MIN_SPAN))
    labels = [fmt % tick for tick in ticks]
    assert len(ticks) == 5 and len(set(labels)) == 5

    bounds = (-1.05e-33, 0.1, -2.94e-34, 0.0767, 0.0, 0.0)      # the flat press, deformed
    ranges = axis_ranges(bounds)
    assert ranges == [0.0, 0.1, 0.0, 0.0767, 0.0, 0.0]
    assert ["%.3g" % value for value in ranges[:4]] == ["0", "0.1", "0", "0.0767"]
    assert axis_ranges((1e-4, 0.1, -0.05, 0.05, 0, 0))[:4] == [1e-4, 0.1, -0.05, 0.05]
    points = zero_roundoff([[-1.85e-18, 0.095], [0.1, -4.2e-19]])
    assert points.tolist() == [[0.0, 0.095], [0.1, 0.0]]

    aspect = 1400 / 700
    x, y, scale_y = section_view(bounds, aspect)
    below = (bounds[2] - (y - scale_y)) / (2 * scale_y)     # share of the view under it
    above = ((y + scale_y) - bounds[3]) / (2 * scale_y)
    assert below >= 0.18 and above >= 0.08 and x == 0.05
    wide = (0.0, 3.0, 0.0, 0.1, 0.0, 0.0)                    # width-limited: fits left of the bar
    x, y, scale_y = section_view(wide, aspect)
    assert 3.0 / (2 * scale_y * aspect) <= PLOT_AREA


def test_tall_columns_are_drawn_wider_and_thin_sections_taller():
    """A 2D section far taller than wide (stack_ssb_pad_relaxation: 20 µm by 0.61 mm) was
    drawn 15 pixels wide with five x tick labels on top of each other; its width is now scaled
    by a round factor to about half its height (x10: 0.2 against 0.61 mm drawn) and the titles
    say so. A thin strip keeps its height stretch; a section that fits is drawn as it is."""
    from nipstack.pictures import STRETCH_WIDTH_ABOVE, stretch_factors, stretch_note

    column = (0.0, 0.02, 0.0, 0.6134, 0.0, 0.0)
    assert stretch_factors(column) == (10.0, 1.0)
    assert stretch_note((10.0, 1.0)) == "; width stretched x10"
    assert stretch_factors((0.0, 3.0, 0.0, 0.1, 0.0, 0.0)) == (1.0, 5.0)   # 0.25 * 30 = 7.5
    assert stretch_note((1.0, 5.0)) == "; height stretched x5"
    assert stretch_factors((0.0, 1.0, 0.0, STRETCH_WIDTH_ABOVE, 0.0, 0.0)) == (1.0, 1.0)
    assert stretch_factors((0.0, 1.0, 0.0, 5.0, 0.0, 0.0)) == (2.0, 1.0)   # 0.5 * 5 = 2.5
    assert stretch_note((1.0, 1.0)) == ""


@pytest.mark.parametrize("interpreter", ["python", "pvpython"])
def test_paraview_script_without_a_display_says_to_use_xvfb(interpreter, tmp_path):
    """`pvpython open_in_paraview.py --screenshot` with no DISPLAY / WAYLAND_DISPLAY on Linux
    stops with one message naming `xvfb-run -a` (exit 2) before ParaView is loaded (before:
    Debian's ParaView 5.11 crashed with SIGSEGV)."""
    import os
    import shutil
    import subprocess
    import sys

    from conftest import ROOT

    command = sys.executable if interpreter == "python" else shutil.which("pvpython")
    if command is None:
        pytest.skip("no pvpython (Debian: paraview)")
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    done = subprocess.run([command, str(ROOT / "solver" / "open_in_paraview.py"),
                           "--screenshot", str(tmp_path / "view.png")], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "xvfb-run -a pvpython open_in_paraview.py --screenshot" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "view.png").exists()
