"""Pictures of a run, rendered off-screen with pyvista (VTK) from the field files it wrote.

What a user would see on opening the run in ParaView, as PNGs in the results folder:

    porosity.png     the last step on the deformed mesh (the displacement added at true scale):
                     porosity of the porous layers, dense layers (porosity 0) in grey. A run
                     with no porous layer shows the von Mises stress instead (stress.png).
                     Calender: the nip window the scenario names (about three contact lengths
                     on each side of the roll centre), with the mesh edges.
    interfaces.png   (stacks, laminating calender) the normal pressure and the normal gap at
                     the quadrature points of every interface dataset, at their true values
                     (not band-cell averages), over the layers in grey, at the step of the
                     peak interface pressure.

Every colour bar carries tick labels and the quantity with its unit; a field that is uniform to
round-off is drawn in one colour and the title says so (``output.ColourScale``). A thin section
(width over height above 8) is drawn with its height stretched, a tall column (height over width
above 2, e.g. a stack cut 20 µm wide) with its width stretched, so that its x tick labels do not
overlap; the title and the axis title state the factor.

The run writes ``fields/view.json`` (what to show: a window in x, an origin, a label, and
``interface_step = "last"`` where the last step tells more than the peak pressure, e.g. an
opening crack) when a scenario has one; otherwise the whole section is shown.

Rendering needs an OpenGL library (EGL or OSMesa, e.g. Debian's libegl1 + libegl-mesa0).
`render_in_child` runs ``python -m nipstack.pictures FOLDER`` in a child process, so a machine
without one (or a crash inside VTK) loses the pictures with a warning, never the run.
``nipstack pictures FOLDER`` re-renders the pictures of a finished run.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from .output import POROSITY_MIN_SPAN, ColourScale, tick_labels

#: a picture is wider than this many times its height before the height is stretched
STRETCH_ABOVE = 8.0
#: the stretched height is about this fraction of the width
STRETCHED_ASPECT = 0.25
#: a picture is taller than this many times its width before the width is stretched (a 2D
#: section drawn about 240 pixels wide or less: five x tick labels would overlap)
STRETCH_WIDTH_ABOVE = 2.0
#: the stretched width is about this fraction of the height
STRETCHED_WIDTH = 0.5
WINDOW_PIXELS = (1400, 700)
#: the share of a picture's width the section may use (the colour bar takes the rest)
PLOT_AREA = 0.7
DENSE_GREY = "#9a9a9a"
#: a 2D picture with more cells than this is drawn without the mesh edges (they would hide
#: the colours)
MAX_CELLS_WITH_EDGES = 1500
#: how long a child process may take to render a run's pictures (s)
RENDER_TIMEOUT_S = 300
#: a coordinate this small relative to the largest is zero (round-off of the displacement)
ROUNDOFF_RTOL = 1e-12
#: the section's height, or width over the usable aspect, fills 1 / this of the view: the
#: rest holds the axis labels and titles (1.3 cut the x-axis title off)
FRAME_MARGIN = 1.45
#: the section sits this fraction of the view height above the centre: room below it for
#: the x tick labels and the x-axis title, whose text is taller than the y-axis labels' width
FRAME_RAISE = 0.05


def _read_step(pvd: Path, index: int = -1):
    """One time step of a .pvd collection (default: the last) as (UnstructuredGrid, time s)."""
    import pyvista as pv
    reader = pv.get_reader(str(pvd))
    index = index % len(reader.time_values)
    reader.set_active_time_point(index)
    data = reader.read()
    mesh = data.combine() if isinstance(data, pv.MultiBlock) else data
    mesh.points = zero_roundoff(mesh.points)
    return mesh, float(reader.time_values[index])


def zero_roundoff(values, rtol: float = ROUNDOFF_RTOL) -> np.ndarray:
    """`values` with the entries that are zero to round-off (|v| <= rtol x the largest) set to
    0: a coordinate or bound of -1.05e-33 mm would be an axis label '-1.05e-33'."""
    values = np.array(values, dtype=float)
    size = float(np.max(np.abs(values), initial=0.0)) or 1.0
    values[np.abs(values) <= rtol * size] = 0.0
    return values


def _peak_step(datasets: list[Path], field: str = "interface_pressure_MPa") -> int:
    """Index of the step with the largest `field` over all the interface datasets."""
    import pyvista as pv
    peaks = None
    for pvd in datasets:
        reader = pv.get_reader(str(pvd))
        values = []
        for index in range(len(reader.time_values)):
            reader.set_active_time_point(index)
            data = reader.read()
            cloud = data.combine() if isinstance(data, pv.MultiBlock) else data
            values.append(float(np.max(cloud.point_data[field], initial=-np.inf)))
        peaks = np.array(values) if peaks is None else np.maximum(peaks, values)
    return int(np.argmax(peaks))


def _deformed(mesh):
    """The mesh moved by its `displacement_mm` point array (true scale)."""
    moved = mesh.copy()
    if "displacement_mm" in moved.point_data:
        moved.points = zero_roundoff(moved.points
                                     + np.asarray(moved.point_data["displacement_mm"]))
    return moved


def _round_down(wanted: float) -> float:
    """The largest round factor (1, 2, 5 x 10^k) not above `wanted` (>= 1)."""
    exponent = 10.0 ** np.floor(np.log10(wanted))
    return float(max(f * exponent for f in (1, 2, 5) if f * exponent <= wanted))


def stretch_factors(bounds) -> tuple[float, float]:
    """(x, y) drawing scales of a 2D section: (1, 1) when it fits a picture; a thin section's
    height scaled by a round factor to about STRETCHED_ASPECT of its width; a tall column's
    width scaled by a round factor to about STRETCHED_WIDTH of its height."""
    width, height = bounds[1] - bounds[0], bounds[3] - bounds[2]
    if height > 0 and width > STRETCH_ABOVE * height:
        return 1.0, _round_down(STRETCHED_ASPECT * width / height)
    if width > 0 and height > STRETCH_WIDTH_ABOVE * width:
        return _round_down(STRETCHED_WIDTH * height / width), 1.0
    return 1.0, 1.0


def stretch_note(stretch: tuple[float, float]) -> str:
    """The title's note on a stretched drawing ("" for none)."""
    x, y = stretch
    return (f"; height stretched x{y:g}" if y != 1 else "") + \
        (f"; width stretched x{x:g}" if x != 1 else "")


def _window(mesh, view: dict):
    """The cells whose (deformed) centre lies in view['x_window_mm'], if any is given."""
    window = view.get("x_window_mm")
    if not window:
        return mesh
    x = mesh.cell_centers().points[:, 0]
    return mesh.extract_cells(np.flatnonzero((x >= window[0]) & (x <= window[1])))


def bar_ticks(scale: ColourScale) -> tuple[list[float], str]:
    """The colour bar's ticks and their printf format: a uniform field's value as the only
    tick (as in the matplotlib pictures), else five evenly spaced values with just enough
    decimals (one more than tells them apart)."""
    if scale.uniform:
        return list(scale.ticks), "%.6g"                 # its label: scale.labels[0]
    values = np.linspace(scale.vmin, scale.vmax, 5)       # evenly spaced, not round:
    labels = tick_labels(values, step=(values[1] - values[0]) / 10, exact=False)  # 1 more digit
    decimals = len(labels[0].split(".")[1]) if "." in labels[0] and "e" not in labels[0] else 0
    fmt = f"%.{decimals}f" if "e" not in labels[0] else "%.2e"
    return [float(v) for v in values], fmt


def _bar(title: str, scale: ColourScale) -> dict:
    """Scalar-bar arguments (the ticks are set by `_label_bar` once the bar exists)."""
    ticks, fmt = bar_ticks(scale)
    return dict(title=title + (" (uniform)" if scale.uniform else ""), n_labels=len(ticks),
                fmt=fmt, vertical=True, position_x=0.86, position_y=0.15, height=0.7,
                title_font_size=16, label_font_size=14)


def _label_bar(plotter, title: str, scale: ColourScale):
    """Put the ticks of `bar_ticks` on the colour bar titled `title` (VTK's own labels would
    mark the ends of a uniform field's padded range, values the field does not take)."""
    from vtkmodules.vtkCommonCore import vtkDoubleArray
    ticks, _ = bar_ticks(scale)
    values = vtkDoubleArray()
    for tick in ticks:
        values.InsertNextValue(tick)
    bar = plotter.scalar_bars[_bar(title, scale)["title"]]
    bar.SetUseCustomLabels(True)
    bar.SetCustomLabels(values)
    bar.SetAnnotationTextScaling(False)


def _shift_to_origin(mesh, view: dict):
    origin = view.get("x_origin_mm")
    if origin:
        mesh = mesh.copy()
        mesh.points[:, 0] -= origin
    return mesh


def _plotter(shape=(1, 1)):
    import pyvista as pv
    rows, columns = shape
    return pv.Plotter(off_screen=True, shape=shape,
                      window_size=(WINDOW_PIXELS[0] * (1 + columns) // 2,
                                   WINDOW_PIXELS[1] * (1 + rows) // 2))


def _stretched(mesh, stretch: tuple[float, float]):
    if stretch == (1.0, 1.0):
        return mesh
    mesh = mesh.copy()
    mesh.points[:, 0] *= stretch[0]
    mesh.points[:, 1] *= stretch[1]
    return mesh


def _frame(plotter, mesh, stretch: tuple[float, float], view: dict, dim: int, true_bounds):
    """Camera and axes: a 2D section seen from +z, a 3D body from an angle; the axes are
    labelled with the true (unstretched) coordinates `true_bounds`."""
    if dim == 2:
        plotter.view_xy()
        plotter.enable_parallel_projection()
    else:
        plotter.view_isometric()
    xlabel = view.get("x_label", "x (mm)")
    if stretch[0] != 1:
        xlabel = xlabel[:-1] + f"; drawn x{stretch[0]:g})" if xlabel.endswith(")") \
            else f"{xlabel} (drawn x{stretch[0]:g})"
    ytitle = "y (mm)" if stretch[1] == 1 else f"y (mm; drawn x{stretch[1]:g})"
    plotter.show_bounds(xtitle=xlabel, ytitle=ytitle, n_ylabels=3 if stretch[1] != 1 else 5,
                        n_xlabels=3 if stretch[0] != 1 else 5,
                        ztitle="z (mm)", font_size=10, location="outer", ticks="outside",
                        show_zaxis=dim == 3, fmt="%.3g", axes_ranges=axis_ranges(true_bounds))
    plotter.reset_camera(bounds=mesh.bounds)
    if dim == 2:       # fit the section into the part of the view left of the colour bar
        pixels_x = plotter.window_size[0] / plotter.shape[1]
        pixels_y = plotter.window_size[1] / plotter.shape[0]
        x, y, scale = section_view(mesh.bounds, pixels_x / pixels_y)
        camera = plotter.camera
        camera.parallel_scale = scale
        camera.position = (x, y, camera.position[2])
        camera.focal_point = (x, y, camera.focal_point[2])


def section_view(bounds, aspect: float) -> tuple[float, float, float]:
    """(x, y, parallel scale) of the camera that fits a 2D section with `bounds` into the part
    of a view (width / height = `aspect`) left of the colour bar, the section raised so that
    the x tick labels and the x-axis title fit below it."""
    width, height = bounds[1] - bounds[0], bounds[3] - bounds[2]
    scale = 0.5 * max(height, width / (PLOT_AREA * aspect)) * FRAME_MARGIN
    x, y = 0.5 * (bounds[0] + bounds[1]), 0.5 * (bounds[2] + bounds[3])
    return x, y - 2.0 * FRAME_RAISE * scale, scale


def axis_ranges(bounds) -> list[float]:
    """The axes' ranges from the section's bounds (xmin, xmax, ymin, ymax, zmin, zmax): a
    bound that is zero to round-off relative to its axis' extent is 0."""
    ranges = [float(b) for b in bounds]
    for axis in range(len(ranges) // 2):
        low, high = ranges[2 * axis], ranges[2 * axis + 1]
        ranges[2 * axis:2 * axis + 2] = zero_roundoff([low, high, high - low])[:2]
    return ranges


def _dimension(mesh) -> int:
    return 3 if np.ptp(mesh.points[:, 2]) > 0 else 2


def render_field(folder: Path, view: dict) -> Path:
    """porosity.png (or stress.png for a run with no porous layer) of the last step."""
    mesh, time = _read_step(folder / "fields" / "fields.pvd")
    shown = _shift_to_origin(_window(_deformed(mesh), view), view)
    dim = _dimension(shown)
    true_bounds = shown.bounds
    porosity = np.asarray(shown.cell_data["porosity"])
    porous = porosity > 0.0
    if porous.any():
        name, quantity, unit, field = "porosity.png", "porosity", "-", "porosity"
        scale = ColourScale(porosity[porous], min_span=POROSITY_MIN_SPAN)
    else:
        name, quantity, unit, field = "stress.png", "von Mises stress", "MPa", \
            "von_mises_stress_MPa"
        porous = np.ones_like(porous)
        scale = ColourScale(shown.cell_data[field])
    stretch = stretch_factors(shown.bounds) if dim == 2 else (1.0, 1.0)
    shown = _stretched(shown, stretch)
    plotter = _plotter()
    edges = view.get("edges", dim == 2 and shown.n_cells <= MAX_CELLS_WITH_EDGES)
    coloured = shown.extract_cells(np.flatnonzero(porous))
    plotter.add_mesh(coloured, scalars=field, preference="cell", cmap="viridis",
                     clim=(scale.vmin, scale.vmax), show_edges=edges,
                     edge_color="#303030", line_width=0.5,
                     scalar_bar_args=_bar(f"{quantity} ({unit})", scale))
    _label_bar(plotter, f"{quantity} ({unit})", scale)
    dense = np.flatnonzero(~porous)
    if len(dense):
        plotter.add_mesh(shown.extract_cells(dense), color=DENSE_GREY,
                         show_edges=edges, edge_color="#505050",
                         line_width=0.5)
    where = view.get("title", "")
    grey = "; grey: dense layers (porosity 0)" if len(dense) else ""
    plotter.add_text(f"{view.get('case', folder.name)}: {quantity} at t = {time:.4g} s"
                     f"{' - ' + where if where else ''}\n{scale.describe(quantity, unit)}{grey}"
                     + stretch_note(stretch),
                     position="upper_left", font_size=10)
    _frame(plotter, shown, stretch, view, dim, true_bounds)
    path = folder / name
    plotter.screenshot(str(path))
    plotter.close()
    return path


INTERFACE_FIELDS = (("interface_pressure_MPa", "pressure", "MPa", 1.0),
                    ("interface_gap_normal_mm", "normal gap", "µm", 1e3))


def render_interfaces(folder: Path, view: dict) -> Path | None:
    """interfaces.png: pressure and normal gap at every interface dataset's points, over the
    layers (grey), one row per quantity."""
    datasets = sorted((folder / "fields").glob("interface_*.pvd"))
    if not datasets:
        return None
    peak = -1 if view.get("interface_step") == "last" else _peak_step(datasets)
    volume, time = _read_step(folder / "fields" / "fields.pvd", peak)
    volume = _shift_to_origin(_window(_deformed(volume), view), view)
    dim = _dimension(volume)
    true_bounds = volume.bounds
    stretch = stretch_factors(volume.bounds) if dim == 2 else (1.0, 1.0)
    volume = _stretched(volume, stretch)
    clouds = []
    for pvd in datasets:
        cloud, _ = _read_step(pvd, peak)
        cloud = _deformed(cloud)
        window = view.get("x_window_mm")
        if window:
            x = cloud.points[:, 0]
            cloud = cloud.extract_points((x >= window[0]) & (x <= window[1]),
                                         adjacent_cells=False)
        clouds.append((pvd.stem, _stretched(_shift_to_origin(cloud, view), stretch)))
    tall = true_bounds[3] - true_bounds[2] > true_bounds[1] - true_bounds[0]
    count = len(INTERFACE_FIELDS)          # side by side for a tall section, else stacked
    plotter = _plotter(shape=(1, count) if tall else (count, 1))
    for row, (field, quantity, unit, factor) in enumerate(INTERFACE_FIELDS):
        plotter.subplot(*((0, row) if tall else (row, 0)))
        values = np.concatenate([np.asarray(c.point_data[field]) * factor for _, c in clouds
                                 if c.n_points]) if any(c.n_points for _, c in clouds) \
            else np.zeros(1)
        scale = ColourScale(values)
        plotter.add_mesh(volume, color="#d0d0d0", opacity=0.6 if dim == 3 else 1.0)
        for _, cloud in clouds:
            if not cloud.n_points:
                continue
            cloud = cloud.copy()
            cloud.point_data[f"{quantity} ({unit})"] = np.asarray(cloud.point_data[field]) * factor
            plotter.add_mesh(cloud, scalars=f"{quantity} ({unit})", cmap="plasma",
                             clim=(scale.vmin, scale.vmax), point_size=7,
                             render_points_as_spheres=True,
                             scalar_bar_args=_bar(f"{quantity} ({unit})", scale))
            _label_bar(plotter, f"{quantity} ({unit})", scale)
        names = ", ".join(name.removeprefix("interface_") for name, _ in clouds)
        which = "the last step" if peak == -1 else "the step of the peak interface pressure"
        plotter.add_text(f"interface {quantity} at the quadrature points, {which} "
                         f"(t = {time:.4g} s; "
                         f"{names})\n{scale.describe(quantity, unit)}"
                         + stretch_note(stretch),
                         position="upper_left", font_size=9)
        _frame(plotter, volume, stretch, view, dim, true_bounds)
    path = folder / "interfaces.png"
    plotter.screenshot(str(path))
    plotter.close()
    return path


def render(folder: str | Path) -> list[Path]:
    """Every picture of the run in `folder` (which holds fields/fields.pvd)."""
    os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")   # no X needed
    folder = Path(folder)
    view_file = folder / "fields" / "view.json"
    view = json.loads(view_file.read_text()) if view_file.is_file() else {}
    pictures = [render_field(folder, view)]
    interfaces = render_interfaces(folder, view)
    return pictures + ([interfaces] if interfaces else [])


def render_in_child(folder: Path, timeout: float = RENDER_TIMEOUT_S) -> tuple[list[str], str]:
    """Render the pictures of `folder` in a child process: (file names, '' or why none)."""
    env = dict(os.environ, VTK_DEFAULT_OPENGL_WINDOW="vtkEGLRenderWindow")
    for key in [k for k in env if k.startswith(("PMI_", "MPI", "OMPI_", "HYDRA_"))]:
        env.pop(key)          # the child is not a rank of the run's MPI job
    try:
        done = subprocess.run([sys.executable, "-m", "nipstack.pictures", str(folder)],
                              capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return [], f"rendering took longer than {timeout:.0f} s"
    if done.returncode != 0:
        lines = [line for line in done.stderr.strip().splitlines() if "WARN" not in line]
        return [], (lines[-1] if lines else f"exit code {done.returncode}")
    return done.stdout.split(), ""


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m nipstack.pictures RESULTS_FOLDER", file=sys.stderr)
        return 2
    for path in render(args[0]):
        print(path.name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
