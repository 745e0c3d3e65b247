"""The shipped stack case files, run by `nipstack run` on coarse copies (the same physics with
fewer elements and load steps, ~10 s each), on 1 and 2 MPI ranks.

  * stack_ssb_rough_lithium: Cu | Li (sinusoidal surface) | argyrodite | composite cathode |
    Al at 5 MPa. Coarse copy: one roughness wavelength (20 um) with 32 columns, 8 lithium
    rows, 4 load steps, no unloading.
  * stack_pouch_pressure_window: Al | NMC (wavy, +-1.5 um) | separator | graphite | Cu | pad
    swept to 1 MPa. Coarse copy: 20 columns, 5 load steps (0.2 .. 1 MPa), no unloading.

Tolerances: plate pressure 1e-8 (the secant's pressure_rtol 1e-9); the Laplace constriction
solve sees exactly the contact fraction of the interface (1e-12) and the bulk resistance
H / kappa (1e-9); the strip closed form (equal, evenly spaced strips) agrees with the Laplace
solve on the real patches within 25 % (measured 13 %: the real patches are not one strip,
islands sit near their edges); a laterally confined porous layer keeps its solid volume:
(1 - porosity) h = (1 - porosity_0) h_0 to 1e-9; 2 ranks reproduce 1 rank to 1e-8 on the
engineering numbers and to 1e-5 on every number of summary.json (measured <= 7.4e-7: the
penetration of a closed flat contact, set by the augmented-Lagrangian tolerance).
"""
from __future__ import annotations

import csv
import json
import shutil
import subprocess

import pytest

from conftest import ROOT, run_cli

pytestmark = pytest.mark.slow     # whole-case runs: `make test`, not `make test-fast`

SSB = ["--set", "geometry.width=0.02", "--set", "geometry.elements_width=32",
       "--set", "layers.1.elements=8", "--set", "stack.load_steps=4",
       "--set", "stack.unload_steps=0"]
POUCH = ["--set", "geometry.elements_width=20", "--set", "stack.load_steps=5",
         "--set", "stack.unload_steps=0"]


def _run(tmp_path_factory, name, overrides, ranks=None):
    out = tmp_path_factory.mktemp(f"{name}_{ranks or 1}") / "results"
    result = run_cli(["run", str(ROOT / "cases" / f"{name}.toml"), "--out", str(out),
                      *overrides], cwd=out.parent, ranks=ranks)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out, json.loads((out / "summary.json").read_text())


@pytest.fixture(scope="module")
def ssb(tmp_path_factory):
    return _run(tmp_path_factory, "stack_ssb_rough_lithium", SSB)


@pytest.fixture(scope="module")
def pouch(tmp_path_factory):
    return _run(tmp_path_factory, "stack_pouch_pressure_window", POUCH)


def test_ssb_contact_fraction_gap_and_current_crowding(ssb):
    out, summary = ssb
    assert summary["status"] == "complete"
    assert summary["peak_pressure_MPa"] == pytest.approx(5.0, rel=1e-8)
    li = summary["interfaces"]["interface_lithium_electrolyte"]
    fractions = [f for _, f in li["contact_fraction_vs_pressure"]]
    assert len(fractions) == 4
    assert all(b > a for a, b in zip(fractions, fractions[1:])), fractions
    fraction = li["contact_fraction_at_peak"]
    assert 0.0 < fraction < 1.0
    assert li["j_loc_over_j_app_at_peak"] == pytest.approx(1.0 / fraction, rel=1e-12)
    assert li["pressure_max_over_mean_at_peak"] > 1.5            # pressure crowds on crests
    assert 0.0 < li["max_gap_at_peak_mm"] < li["max_initial_gap_mm"] == pytest.approx(0.002)
    # the flat electrolyte | cathode contact carries the stack pressure uniformly
    flat = summary["interfaces"]["interface_electrolyte_cathode"]
    assert flat["contact_fraction_at_peak"] == 1.0
    assert flat["pressure_max_over_mean_at_peak"] == pytest.approx(1.0, abs=1e-3)
    # regression (this coarse mesh; tests/test_stack.py checks the physics of the fraction)
    assert fraction == pytest.approx(0.42151405, rel=1e-5)


def test_ssb_constriction_resistance(ssb):
    _, summary = ssb
    entry = summary["interfaces"]["interface_lithium_electrolyte"]["constriction_at_peak"]
    fraction = summary["interfaces"]["interface_lithium_electrolyte"]["contact_fraction_at_peak"]
    assert entry["contact_fraction"] == pytest.approx(fraction, rel=1e-12)
    assert entry["laplace_bulk_asr_ohm_cm2"] == pytest.approx(0.030 / 3e-4 / 100.0, rel=1e-9)
    assert entry["laplace_asr_ohm_cm2"] > 0.0
    assert entry["strip_asr_ohm_cm2"] == pytest.approx(entry["laplace_asr_ohm_cm2"], rel=0.25)


def test_ssb_outputs_for_paraview_and_csv(ssb):
    out, summary = ssb
    profile = out / "interface_lithium_electrolyte_load.csv"
    with open(profile) as handle:
        rows = list(csv.DictReader(handle))
    assert {"x_mm", "gap_normal_mm", "pressure_MPa", "damage", "contact"} <= set(rows[0])
    assert len(rows) == 64                        # 32 columns x 2 points
    # (the profile averages the points of a column: within 1e-3 of the largest point value)
    assert max(float(r["gap_normal_mm"]) for r in rows) == pytest.approx(
        summary["interfaces"]["interface_lithium_electrolyte"]["max_gap_at_peak_mm"], rel=1e-3)
    pvd = (out / "fields" / "fields.pvd").read_text()
    assert pvd.count("<DataSet") == summary["steps"]          # one per converged step
    last = sorted((out / "fields").glob("fields*.pvtu"))[-1].read_text()
    for name in ("interface_gap_normal_mm", "interface_pressure_MPa", "interface_damage",
                 "porosity", "displacement_mm"):
        assert f'Name="{name}"' in last, name
    for png in ("contact_fraction_vs_pressure.png", "interface_lithium_electrolyte_peak.png"):
        assert (out / png).stat().st_size > 10000
    with open(out / "history.csv") as handle:
        history = list(csv.DictReader(handle))
    assert len(history) == summary["steps"]


def test_ssb_fields_have_distinct_times_and_region_ids(ssb):
    """ParaView sees every step at its own time (the seating steps share t = 0: each is written
    1 us after the one before; strictly increasing, and within 1e-5 s of history.csv's time)
    and a region_id cell array whose ids name every cell: the stack's layers, then its
    interface bands (fields/regions.json)."""
    import xml.etree.ElementTree as ElementTree

    import pyvista

    out, summary = ssb
    datasets = ElementTree.parse(out / "fields" / "fields.pvd").getroot().iter("DataSet")
    times = [float(d.get("timestep")) for d in datasets]
    assert len(times) == summary["steps"]
    assert all(b > a for a, b in zip(times, times[1:])), times
    with open(out / "history.csv") as handle:
        history = [float(row["time_s"]) for row in csv.DictReader(handle)]
    assert max(abs(a - b) for a, b in zip(times, history)) <= 1e-5
    assert len(set(history)) < len(history)         # the case does have steps sharing a time
    regions = json.loads((out / "fields" / "regions.json").read_text())["region_id"]
    assert set(regions) == {"copper", "lithium", "electrolyte", "cathode", "aluminium",
                            "interface_lithium_electrolyte", "interface_electrolyte_cathode"}
    last = sorted((out / "fields").glob("fields*.pvtu"))[-1]
    ids = set(pyvista.read(last).cell_data["region_id"].astype(int).tolist())
    assert ids == set(regions.values()), (ids, regions)


def test_ssb_interface_points_show_the_true_peak(ssb):
    """Each interface is also written at its quadrature points (fields/<name>.pvd, one point
    cloud per step at the volume fields' times): the peak pressure read back with pyvista from
    the peak step equals the summary's to 1e-6, where the band-cell averages of the volume
    fields show less (they average a hot spot with its column neighbour)."""
    import xml.etree.ElementTree as ElementTree

    import pyvista

    out, summary = ssb
    name = "interface_lithium_electrolyte"
    folder = out / "fields"
    entries = list(ElementTree.parse(folder / f"{name}.pvd").getroot().iter("DataSet"))
    volume = list(ElementTree.parse(folder / "fields.pvd").getroot().iter("DataSet"))
    assert [float(e.get("timestep")) for e in entries] == pytest.approx(
        [float(v.get("timestep")) for v in volume], rel=1e-12, abs=1e-15)
    peak = pyvista.read(folder / entries[-1].get("file"))     # this run ends at its peak
    pressure = peak.point_data["interface_pressure_MPa"]
    expected = summary["interfaces"][name]["max_pressure_at_peak_MPa"]
    assert pressure.max() == pytest.approx(expected, rel=1e-6)
    contact = peak.point_data["interface_contact"]
    assert contact.mean() == pytest.approx(
        summary["interfaces"][name]["contact_fraction_at_peak"], abs=0.05)   # equal areas
    cells = pyvista.read(sorted(folder.glob("fields*.pvtu"))[-1])
    assert cells.cell_data["interface_pressure_MPa"].max() < pressure.max()


def test_ssb_interface_points_move_with_the_mesh(ssb):
    """The interface point clouds carry the displacement at their points (displacement_mm),
    so Warp By Vector puts them on the deformed volume. Against the volume file's
    displacement probed at the reference points: most points agree to 1e-9 mm; a few (the
    volume file holds u interpolated to P1 nodes, the points see the P2 u, and the probe may
    pick the neighbour of a 30 nm band cell) within 2 % of the largest displacement."""
    import numpy as np
    import pyvista

    out, _ = ssb
    folder = out / "fields"
    cloud = pyvista.read(sorted(folder.glob("interface_lithium_electrolyte_*.vtu"))[-1])
    volume = pyvista.read(sorted(folder.glob("fields*.pvtu"))[-1])
    probed = pyvista.PolyData(cloud.points).sample(volume)
    ours = cloud.point_data["displacement_mm"]
    difference = abs(probed.point_data["displacement_mm"] - ours).max(axis=1)
    assert (difference <= 1e-9).mean() >= 0.95, np.sort(difference)[-20:]
    assert difference.max() <= 0.02 * abs(ours).max()
    assert abs(ours[:, 1]).max() > 1e-5                       # it did move


def test_ssb_default_pictures(ssb):
    """The run renders porosity.png (the last step on the deformed mesh) and interfaces.png
    (pressure and gap at the interface points, at the step of the peak pressure) with pyvista,
    and says so in its log; `nipstack pictures` renders them again."""
    import numpy as np

    out, _ = ssb
    log = (out / "run.log").read_text()
    assert "pictures: porosity.png, interfaces.png" in log
    for name in ("porosity.png", "interfaces.png"):
        image = __import__("matplotlib.image").image.imread(out / name)
        assert image.shape[0] >= 600 and image.shape[1] >= 1200, image.shape
        assert np.ptp(image[..., :3]) > 0.5                # not a blank picture
    view = json.loads((out / "fields" / "view.json").read_text())
    assert view["case"] == "stack_ssb_rough_lithium"
    before = (out / "interfaces.png").stat().st_mtime_ns
    again = run_cli(["pictures", str(out)], cwd=out.parent)
    assert again.returncode == 0, again.stderr
    assert "wrote" in again.stdout and (out / "interfaces.png").stat().st_mtime_ns > before


@pytest.mark.skipif(not (shutil.which("pvpython") and shutil.which("xvfb-run")),
                    reason="needs ParaView's pvpython and xvfb-run (Debian: paraview, "
                           "python3-paraview, xvfb; .ci/run installs them)")
def test_ssb_paraview_script_opens_the_run(ssb, tmp_path):
    """The results folder's open_in_paraview.py runs in Debian's pvpython (ParaView 5.11) and
    saves a screenshot of porosity and the interface points."""
    import numpy as np

    out, _ = ssb
    picture = tmp_path / "paraview.png"
    command = ["xvfb-run", "-a", "-s", "-screen 0 1280x1024x24", "pvpython",
               "open_in_paraview.py", "--screenshot", str(picture)]
    done = subprocess.run(command, cwd=out, capture_output=True, text=True, timeout=300)
    if done.returncode != 0 and "CreateAWindow" in done.stderr:
        # the virtual X server, not the script, failed: ParaView aborted opening its first
        # window (seen once in ~10 CI runs on this VM); a second display is asked for
        done = subprocess.run(command, cwd=out, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    image = __import__("matplotlib.image").image.imread(picture)
    assert image.shape[:2] == (600, 1200)
    assert np.ptp(image[..., :3]) > 0.5


@pytest.mark.mpi
def test_ssb_two_ranks_reproduce_one_rank(ssb, tmp_path_factory):
    _, one = ssb
    _, two = _run(tmp_path_factory, "stack_ssb_rough_lithium", SSB, ranks=2)
    assert two["mpi_ranks"] == 2

    def numbers(tree, prefix=""):
        out = {}
        for key, value in tree.items():
            if isinstance(value, dict):
                out.update(numbers(value, f"{prefix}{key}."))
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                out[prefix + key] = value
        return out

    a, b = numbers(one), numbers(two)
    # (Newton iteration counts may differ by one or two: the last iterations sit at round-off)
    for key in {k for k in a if "iterations" not in k} - {"wall_time_s", "mpi_ranks"}:
        assert b[key] == pytest.approx(a[key], rel=1e-5, abs=1e-12), key
    li = "interfaces.interface_lithium_electrolyte."
    for key in ("peak_pressure_MPa", "plate_displacement_at_peak_mm",
                li + "contact_fraction_at_peak", li + "max_pressure_at_peak_MPa",
                li + "max_gap_at_peak_mm", li + "constriction_at_peak.laplace_asr_ohm_cm2"):
        assert b[key] == pytest.approx(a[key], rel=1e-8), key


def test_pouch_pad_contact_spreads_and_hot_spot_relaxes(pouch):
    _, summary = pouch
    assert summary["status"] == "complete"
    pad = summary["interfaces"]["interface_copper_pad"]["contact_fraction_vs_pressure"]
    pressures = [p for p, _ in pad]
    assert pressures == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0], rel=1e-8)
    fractions = [f for _, f in pad]
    assert fractions[0] < 1.0                       # the pad first meets the thick coating
    assert all(b >= a for a, b in zip(fractions, fractions[1:])), fractions
    assert fractions[-1] == 1.0
    # hot spot over the thick coating: the separator carries the most there; it relaxes as
    # the pad takes up the load elsewhere, but stays (the stack is stiffer over the crest)
    ratios = summary["interfaces"]["interface_cathode_separator"][
        "pressure_max_over_mean_vs_pressure"]
    assert ratios[0][1] > ratios[-1][1] > 1.1, ratios


def test_pouch_porous_layers_keep_their_solid(pouch):
    _, summary = pouch
    for name in ("cathode", "separator", "anode"):
        layer = summary["layers"][name]
        h0, phi0 = layer["thickness_mm"], layer["porosity_initial"]
        h = h0 + layer["thickness_change_at_peak_mm"]
        assert layer["porosity_change_at_peak"] < 0.0, name
        assert (1 - layer["porosity_at_peak"]) * h == pytest.approx((1 - phi0) * h0, rel=1e-9)
