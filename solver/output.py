"""What a run writes into its results folder (``results_folder.ResultsFolder`` makes the folder
safe): fields for ParaView, interface point datasets, summary.json, history.csv and plots.

Fields (fields/fields.pvd: a ParaView collection with one .pvtu per converged load step, one
grid carrying every field; open fields.pvd in ParaView). The collection's time is the step
time in s; a step at the same time as the one before (seating steps at t = 0, an
instantaneous release) is written 1 us after it, so that ParaView shows every step.
    displacement_mm        nodal vector (degree-1 interpolant of the solution)
    region_id              the cell's region: its id in fields/regions.json, which names the
                           layers first, then the interface bands (threshold on it in
                           ParaView to hide a foil or show one interface)
    porosity               cell average, from solid-mass conservation 1 - (1 - porosity0)/J
    plastic_volumetric_strain, equivalent_plastic_strain  (-),  cap_pressure_MPa
    mean_stress_MPa        Cauchy, compression positive;  von_mises_stress_MPa  (Cauchy)
Cell values are quadrature-weighted averages of the point values.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

import dolfinx_solver  # noqa: F401
import numpy as np
from dolfinx import fem
from dolfinx.io import VTKFile

FIELD_UNITS = {
    "porosity": "porosity",
    "plastic_volumetric_strain": "plastic_volumetric_strain",
    "equivalent_plastic_strain": "equivalent_plastic_strain",
    "cap_pressure": "cap_pressure_MPa",
    "mean_stress": "mean_stress_MPa",
    "von_mises_stress": "von_mises_stress_MPa",
}


def nothing(*args, **kwargs):
    """A log that says nothing (ranks other than 0, quiet runs)."""


def rank_zero(log, comm):
    """`log` on rank 0 and a silent log on the other ranks: only rank 0 prints."""
    return log if comm.rank == 0 else nothing


#: how far after the previous step a step at the same time is written (s)
TIE_OFFSET_S = 1e-6


class FieldWriter:
    """Time series (.pvd) of the displacement and the cell fields in one grid per step.

    (DOLFINx's XDMF writer stores every function as its own grid, which ParaView shows as
    overlapping blocks; the VTK collection keeps all fields on one grid.)"""

    def __init__(self, problem, path: Path):
        self.problem = problem
        mesh = problem.mesh
        path.parent.mkdir(parents=True, exist_ok=True)
        self.file = VTKFile(mesh.comm, str(path), "w")
        self.V1 = fem.functionspace(mesh, ("Lagrange", 1, (mesh.geometry.dim,)))
        self.displacement = fem.Function(self.V1, name="displacement_mm")
        self.W = fem.functionspace(mesh, ("DG", 0))
        self.cell_functions = {key: fem.Function(self.W, name=name)
                               for key, name in FIELD_UNITS.items()}
        # region ids: the bulk regions (layers) in order, then the interface bands
        named_cells = [(region.name, region.cells) for region in problem.regions]
        for term in problem.interfaces:
            named_cells += [(name, band.cells)
                            for name, band in getattr(term, "bands", {}).items()]
        self.region_id = fem.Function(self.W, name="region_id")
        self.region_id.x.array[:] = -1.0
        cell_dofs = self.W.dofmap.list
        for index, (_, cells) in enumerate(named_cells):
            if len(cells):
                self.region_id.x.array[cell_dofs[cells, 0]] = float(index)
        if mesh.comm.rank == 0:
            (path.parent / "regions.json").write_text(json.dumps(
                {"region_id": {name: index for index, (name, _) in enumerate(named_cells)}},
                indent=2) + "\n")
        self.last_time = None

    def update_cell_fields(self):
        problem = self.problem
        dofs = self.W.dofmap.list
        for function in self.cell_functions.values():
            function.x.array[:] = 0.0
        for region in problem.regions:
            if len(region.cells) == 0:
                continue
            values = problem.region_fields(region)
            cell_dofs = dofs[region.cells, 0]
            for key, function in self.cell_functions.items():
                if key in values:
                    function.x.array[cell_dofs] = problem.cell_average(region, values[key])

    def write(self, t: float):
        """One step at time t (s), moved 1 us after the previous step if not later than it."""
        if self.last_time is not None and t <= self.last_time:
            t = self.last_time + TIE_OFFSET_S
        self.last_time = t
        self.displacement.interpolate(self.problem.u)
        self.update_cell_fields()
        self.file.write_function([self.displacement, *self.cell_functions.values(),
                                  self.region_id], t)

    def close(self):
        """Close and destroy the file object: the C++ writer finalises fields.pvd when it is
        destroyed, which must happen before the results folder is published (renamed)."""
        if self.file is not None:
            self.file.close()
            self.file = None
            import gc
            gc.collect()


def table_cell(value) -> str:
    """How a history table writes a value: floats with 9 significant digits, a sequence (a
    step's Newton residuals) as space-separated 3-digit exponents, anything else as it is."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return " ".join(f"{float(v):.3e}" for v in value)
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.9g}"
    return str(value)


def write_table(path: Path, header: list[str], rows):
    """A CSV table (history.csv and its kind): `header` names every column with its unit,
    each row is a list of values formatted by `table_cell`. Rank 0 calls it."""
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows:
            writer.writerow([table_cell(value) for value in row])


#: the flat press's history.csv: (StepRecord field, column with its unit)
FLAT_PRESS_HISTORY = [
    ("step", "step"), ("phase", "phase"), ("time", "time_s"),
    ("platen_position", "platen_position_mm"), ("top_thickness", "top_thickness_mm"),
    ("stack_thickness", "stack_thickness_mm"), ("mean_porosity", "mean_porosity"),
    ("platen_force", "platen_force_N_or_N_per_mm"), ("pressure", "pressure_MPa"),
    ("newton_iterations", "newton_iterations"), ("newton_solves", "newton_solves"),
    ("residuals", "relative_residuals"), ("max_penetration", "max_penetration_mm")]


def write_history(records, path: Path):
    """The flat press's history.csv, one row per step."""
    write_table(path, [column for _, column in FLAT_PRESS_HISTORY],
                ([getattr(r, name) for name, _ in FLAT_PRESS_HISTORY] for r in records))


def write_summary(summary: dict, path: Path):
    path.write_text(json.dumps(summary, indent=2, default=float) + "\n")


def gather_cell_polygons(problem, values_by_region: dict[str, np.ndarray]):
    """Deformed cell outlines (x, y of the corner nodes) and one value per cell, on rank 0."""
    mesh = problem.mesh
    tdim = mesh.topology.dim
    n_owned = mesh.topology.index_map(tdim).size_local
    V1 = fem.functionspace(mesh, ("Lagrange", 1, (mesh.geometry.dim,)))
    u1 = fem.Function(V1)
    u1.interpolate(problem.u)
    coordinates = V1.tabulate_dof_coordinates()
    displacement = u1.x.array.reshape(-1, mesh.geometry.dim)
    polygons, values = [], []
    for region in problem.regions:
        if region.name not in values_by_region:     # no cell of it on this rank
            continue
        cell_values = values_by_region[region.name]
        for local, cell in enumerate(region.cells):
            if cell >= n_owned:
                continue
            dofs = V1.dofmap.cell_dofs(cell)
            xy = coordinates[dofs, :2] + displacement[dofs, :2]
            if tdim == 2:
                polygons.append(xy[[0, 1, 3, 2]])
            else:
                z = coordinates[dofs, 2]
                face = np.argsort(z)[:4]
                front = xy[face]
                centre = front.mean(axis=0)
                order = np.argsort(np.arctan2(front[:, 1] - centre[1], front[:, 0] - centre[0]))
                if np.allclose(z[face], 0.0):
                    polygons.append(front[order])
                else:
                    continue
            values.append(cell_values[local])
    gathered = mesh.comm.gather((polygons, values), root=0)
    if mesh.comm.rank != 0:
        return None, None
    all_polygons = [p for part in gathered for p in part[0]]
    all_values = [v for part in gathered for v in part[1]]
    return all_polygons, np.array(all_values)


# --- plot helpers shared by every PNG ------------------------------------------------------

#: a field whose spread (max - min) is at most this times its largest magnitude is uniform to
#: round-off: cell averages of one state differ by ~1e-16 relative, a real gradient by far more
UNIFORM_RTOL = 1e-9
#: porosity maps and profiles span at least this (1 percentage point), so a spread of a few
#: hundredths of a point is not drawn as a full-range gradient; the ticks show the values
POROSITY_MIN_SPAN = 0.01
#: a contact fraction resolved by fewer Gauss points than this (in contact, or out of contact)
#: moves in visible steps of 1/N: the plots say so
FEW_GAUSS_POINTS = 10


def uniform_to_roundoff(values, rtol: float = UNIFORM_RTOL) -> bool:
    """True if the finite `values` differ by no more than rtol times their largest magnitude
    (also for one value, all zeros, or no finite value)."""
    v = np.asarray(values, dtype=float).ravel()
    v = v[np.isfinite(v)]
    if v.size < 2:
        return True
    return float(np.ptp(v)) <= rtol * float(np.max(np.abs(v)))


def tick_labels(ticks, step: float | None = None, exact: bool = True) -> list[str]:
    """Plain (no offset, no exponent) labels with just enough decimals to tell the ticks apart
    and show `step` (default: the smallest tick spacing); `exact`: also enough for each label
    to read as its tick (0.4125, not 0.413), for ticks at round values."""
    ticks = np.asarray(ticks, dtype=float)
    if step is None:
        gaps = np.diff(np.sort(ticks))
        gaps = gaps[gaps > 0]
        step = float(gaps.min()) if gaps.size else 0.0
    scale = float(np.max(np.abs(ticks), initial=0.0))
    if scale and (scale >= 1e5 or scale < 1e-3):        # very large or small: exponent form
        digits = 2 if not step else max(2, int(np.ceil(np.log10(scale / step))) + 1)
        return [f"{t:.{digits}e}" for t in ticks]
    decimals = 0 if not step else max(0, int(np.ceil(-np.log10(step) - 1e-9)))
    while True:      # distinct, and each label reads as its tick (0.4125, not 0.413)
        labels = [f"{t:.{decimals}f}" for t in ticks]
        reads_as_tick = all(abs(float(label) - t) <= 1e-6 * (step or abs(t) or 1.0)
                            for label, t in zip(labels, ticks))
        if (len(set(labels)) == len(labels) and (reads_as_tick or not exact)) \
                or decimals >= 15:
            return labels
        decimals += 1


class ColourScale:
    """The colour range of a field map: vmin, vmax, ticks with their labels, and whether the
    field is uniform to round-off (then it is drawn in one colour and labelled so)."""

    def __init__(self, values, min_span: float = 0.0, rtol: float = UNIFORM_RTOL):
        v = np.asarray(values, dtype=float).ravel()
        v = v[np.isfinite(v)]
        low, high = (float(v.min()), float(v.max())) if v.size else (0.0, 0.0)
        self.low, self.high, self.spread = low, high, high - low
        self.uniform = uniform_to_roundoff(v, rtol)
        centre = 0.5 * (low + high)
        if self.uniform:
            half = max(0.5 * min_span, 1e-3 * abs(centre), 1e-12)
            self.vmin, self.vmax = centre - half, centre + half
            self.ticks = [centre]
            self.labels = [f"{centre:.6g}"]
            return
        span = max(self.spread, min_span)
        self.vmin = min(low, centre - 0.5 * span)
        self.vmax = max(high, centre + 0.5 * span)
        self.ticks = list(_nice_ticks(self.vmin, self.vmax))
        self.labels = tick_labels(self.ticks)

    def describe(self, quantity: str = "", unit: str = "") -> str:
        """'uniform to round-off: 0.326 (spread 5.6e-16)' or 'range 0.4140 to 0.4141'."""
        unit = f" {unit}" if unit and unit != "-" else ""
        if self.uniform:
            return (f"{quantity + ' ' if quantity else ''}uniform to round-off: "
                    f"{0.5 * (self.low + self.high):.6g}{unit} (spread {self.spread:.1e})")
        low, high = tick_labels([self.low, self.high], step=self.spread / 10, exact=False)
        return f"{quantity + ' ' if quantity else ''}range {low} to {high}{unit}"

    def colourbar(self, fig, ax, mappable, label: str):
        """A colour bar with tick labels at the actual values; a uniform field's bar carries
        the one value and says 'uniform to round-off'."""
        from mpl_toolkits.axes_grid1 import make_axes_locatable
        mappable.set_clim(self.vmin, self.vmax)
        bar_axes = make_axes_locatable(ax).append_axes("right", size="3%", pad=0.12)
        bar = fig.colorbar(mappable, cax=bar_axes)   # as tall as the map
        bar.set_ticks(self.ticks, labels=self.labels)
        bar.ax.minorticks_off()
        bar.set_label(label + ("\n(uniform to round-off)" if self.uniform else ""))
        return bar


def _nice_ticks(low: float, high: float, count: int = 6) -> np.ndarray:
    from matplotlib.ticker import MaxNLocator
    ticks = MaxNLocator(nbins=count - 1, steps=[1, 2, 2.5, 5, 10]).tick_values(low, high)
    slack = 1e-12 * abs(high - low)
    inside = ticks[(ticks >= low - slack) & (ticks <= high + slack)]
    return inside if len(inside) >= 2 else np.array([low, high])


def profile_limits(values, min_span: float = 0.0) -> tuple[float, float]:
    """Axis limits for a profile of `values`: at least `min_span` wide, centred on the data,
    with a 5 % margin (a uniform profile sits in the middle)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    low, high = float(v.min()), float(v.max())
    centre = 0.5 * (low + high)
    half = 0.5 * max(high - low, min_span, 1e-3 * abs(centre), 1e-12) * 1.1
    return centre - half, centre + half


def plain_ticks(axis, count: int = 5):
    """At most `count` ticks on a matplotlib Axis, labelled without offset or exponent (a
    range of 1e-4 around 0.41 reads 0.41400, 0.41405, ..., not '+4.14e-1')."""
    from matplotlib.ticker import MaxNLocator, ScalarFormatter
    axis.set_major_locator(MaxNLocator(nbins=count - 1, steps=[1, 2, 2.5, 5, 10]))
    formatter = ScalarFormatter(useOffset=False)
    formatter.set_scientific(False)
    axis.set_major_formatter(formatter)


def fit_verdict(n_points: int, n_parameters: int, values, rtol: float = UNIFORM_RTOL) -> dict:
    """What a least-squares fit of n_parameters to n_points may claim.

    kind: 'fit' (more points than parameters: the fit and its R^2 mean something),
          'interpolation' (n_points == n_parameters: the curve passes through the points
          whatever the data, an R^2 of 1 says nothing: report 'exact interpolation, not a fit'
          and no R^2),
          'too few' (fewer points than parameters: nothing determined),
          'no change' (the data are the same at every point, to round-off: nothing to fit).
    fitted: True only for 'fit'. note: one sentence for the report and the plot."""
    if n_points and uniform_to_roundoff(values, rtol):
        v = np.asarray(values, dtype=float)
        return {"kind": "no change", "fitted": False,
                "note": f"not fitted: the data do not change over the {n_points} point(s) "
                        f"({v[0]:.6g}, spread {float(np.ptp(v)):.1e})"}
    if n_points < n_parameters:
        return {"kind": "too few", "fitted": False,
                "note": f"not fitted: {n_points} point(s) for {n_parameters} parameters "
                        f"(needs at least {n_parameters})"}
    if n_points == n_parameters:
        return {"kind": "interpolation", "fitted": False,
                "note": f"exact interpolation, not a fit: {n_points} points for "
                        f"{n_parameters} parameters, no R^2 (add points for a fit)"}
    return {"kind": "fit", "fitted": True,
            "note": f"least-squares fit: {n_points} points, {n_parameters} parameters"}


def gauss_point_note(fraction: float, n_points: int | None,
                     few: int = FEW_GAUSS_POINTS) -> str | None:
    """A warning when a contact fraction strictly between 0 and 1 rests on fewer than `few`
    Gauss points in contact (or out of contact) of the n_points of the interface, or None."""
    if not n_points or not 0.0 < fraction < 1.0:
        return None
    closed = int(round(fraction * n_points))
    count, state = (closed, "in contact") if closed <= n_points - closed else \
        (n_points - closed, "out of contact")
    if count >= few:
        return None
    return (f"contact fraction {fraction:.3f}: about {count} of {n_points} Gauss points "
            f"{state}; it moves in steps of ~{1.0 / n_points:.3f}: refine the interface "
            "mesh to resolve it")


def plot_porosity_field(problem, path: Path, title: str):
    fields = {region.name: problem.cell_average(region, problem.region_fields(region)["porosity"])
              for region in problem.regions if len(region.cells)}
    polygons, values = gather_cell_polygons(problem, fields)
    if problem.mesh.comm.rank != 0:
        return
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import PolyCollection

    corners = np.concatenate(polygons) * 1e3
    width, height = np.ptp(corners, axis=0)
    map_width = 4.8            # inches; the figure follows the shape of the section
    fig, ax = plt.subplots(figsize=(map_width + 2.4,
                                    min(max(map_width * height / width + 1.6, 2.6), 8.0)))
    porous = values > 0.0
    scale = ColourScale(values[porous], min_span=POROSITY_MIN_SPAN)
    dense = PolyCollection([p * 1e3 for p, keep in zip(polygons, porous) if not keep],
                           facecolors="0.6", edgecolors="face", linewidths=0.2)
    ax.add_collection(dense)   # dense layers (foils) in grey: porosity 0
    collection = PolyCollection([p * 1e3 for p, keep in zip(polygons, porous) if keep],
                                array=values[porous], cmap="viridis", edgecolors="face",
                                linewidths=0.2)
    ax.add_collection(collection)
    ax.autoscale()
    ax.set_aspect("equal")
    ax.set_xlabel("x (µm)" + ("   (grey: dense layer, porosity 0)" if not porous.all() else ""))
    ax.set_ylabel("y (µm)")
    face = " (front face z = 0)" if problem.mesh.topology.dim == 3 else ""
    ax.set_title(f"{title}{face}\n{scale.describe('porosity', '-')}", fontsize=10)
    if porous.any():
        scale.colourbar(fig, ax, collection, "porosity (-)")
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def plot_pressure_thickness(records, path: Path, layer: str, initial_thickness: float):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 4))
    phases = {}
    last = (initial_thickness * 1e3, 0.0)
    for r in records:   # each phase starts where the previous one ended
        h, p = phases.setdefault(r.phase, ([last[0]], [last[1]]))
        h.append(r.top_thickness * 1e3)
        p.append(r.pressure)
        last = (h[-1], p[-1])
    for phase, (h, p) in phases.items():
        ax.plot(h, p, "o-", ms=3, label=phase)
    ax.set_xlabel(f"{layer} thickness (µm)")
    ax.set_ylabel("platen pressure (MPa)")
    ax.invert_xaxis()
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title("platen pressure against thickness")
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def interface_field_writer(problem, term, names, path):
    """A FieldWriter for `path` (fields.pvd) that adds the fields of the interfaces `names` of
    the InterfaceTerm `term` on their band cells (DG0, area-weighted): interface_gap_normal_mm,
    interface_gap_tangential_mm, interface_pressure_MPa, interface_damage, interface_contact."""
    names = list(names)

    class InterfaceFieldWriter(FieldWriter):
        """FieldWriter + interface fields on the band cells (DG0, area-weighted)."""

        def __init__(self, problem, path):
            super().__init__(problem, path)
            units = {"gap_normal": "interface_gap_normal_mm",
                     "gap_tangential": "interface_gap_tangential_mm",
                     "pressure": "interface_pressure_MPa", "damage": "interface_damage",
                     "contact": "interface_contact"}
            self.interface_keys = units
            for key, name in units.items():
                self.cell_functions["interface_" + key] = fem.Function(self.W, name=name)

        def update_cell_fields(self):
            super().update_cell_fields()
            dofs = self.W.dofmap.list
            for name in names:
                band = term.bands[name]
                if not len(band.cells):
                    continue
                values = term.cell_fields(name)
                for key in self.interface_keys:
                    self.cell_functions["interface_" + key].x.array[
                        dofs[band.cells, 0]] = values[key]

        def write(self, t: float):
            super().write(t)
            for name in names:
                write_interface_points(term, name, self.folder, self.collections[name],
                                       self.last_time)

    writer = InterfaceFieldWriter(problem, Path(path))
    writer.folder = Path(path).parent
    writer.collections = {name: [] for name in names}    # (time, file) of each written step
    return writer


INTERFACE_POINT_FIELDS = {"gap_normal": "interface_gap_normal_mm",
                          "gap_tangential": "interface_gap_tangential_mm",
                          "pressure": "interface_pressure_MPa",
                          "damage": "interface_damage", "contact": "interface_contact"}


def write_interface_points(term, name: str, folder: Path, collection: list, time: float):
    """The interface `name` at its quadrature points, at their true values (not the band-cell
    averages of the volume fields, which halve a hot spot): one VTK point cloud per step,
    fields/<name>_NNNNNN.vtu at the reference coordinates X (mm) with the displacement
    `displacement_mm` there (warped like the volume fields), and the collection
    fields/<name>.pvd of the steps so far (`collection`, appended to here) with the volume
    fields' times. Collective; rank 0 writes."""
    import meshio

    band = term.bands[name]
    fields = term.point_fields(name)
    displacement = term.point_displacement(name)       # collective on its first call
    own = band.owned
    gdim = band.coordinates.shape[1] if band.coordinates.ndim == 2 else 2
    local = np.column_stack([band.coordinates[own]] + [fields[k][own]
                                                       for k in INTERFACE_POINT_FIELDS]
                            + [displacement[own]]) \
        if own.any() else np.zeros((0, 2 * gdim + len(INTERFACE_POINT_FIELDS)))
    gathered = term.comm.gather(local, root=0)
    if term.comm.rank != 0:
        return
    data = np.vstack(gathered)
    order = np.lexsort(data[:, :gdim].T[::-1])             # the same file on any rank count
    data = data[order]
    points = np.zeros((len(data), 3))
    points[:, :gdim] = data[:, :gdim]
    point_data = {label: data[:, gdim + k]
                  for k, label in enumerate(INTERFACE_POINT_FIELDS.values())}
    point_data["displacement_mm"] = np.zeros((len(data), 3))   # Warp By Vector, as the volume
    point_data["displacement_mm"][:, :gdim] = data[:, -gdim:]
    vertices = [("vertex", np.arange(len(data)).reshape(-1, 1))]
    file_name = f"{name}_{len(collection):06d}.vtu"
    meshio.write(folder / file_name, meshio.Mesh(points, vertices, point_data=point_data))
    collection.append((time, file_name))
    entries = "".join(f'    <DataSet timestep="{t!r}" part="0" file="{f}" />\n'
                      for t, f in collection)
    (folder / f"{name}.pvd").write_text(
        '<?xml version="1.0"?>\n<VTKFile type="Collection" version="0.1">\n'
        f"  <Collection>\n{entries}  </Collection>\n</VTKFile>\n")
