"""Results folder: fields for ParaView, summary.json, history.csv and PNG plots, written safely.

A run writes into a hidden sibling folder `.<name>.partial`; only when everything has been written
is it renamed to `<name>` (replacing an older result). A run that stops early still moves its
partial results to `<name>` so they can be inspected, but with a file `INCOMPLETE` saying why and
`"status": "incomplete"` in summary.json: a results folder never *looks* complete when it is not.

Fields (fields/fields.pvd: a ParaView collection with one .pvtu per converged load step, one
grid carrying every field, time = step time in s; open fields.pvd in ParaView):
    displacement_mm        nodal vector (degree-1 interpolant of the solution)
    porosity               cell average, from solid-mass conservation 1 - (1 - porosity0)/J
    plastic_volumetric_strain, equivalent_plastic_strain  (-),  cap_pressure_MPa
    mean_stress_MPa        Cauchy, compression positive;  von_mises_stress_MPa  (Cauchy)
Cell values are quadrature-weighted averages of the point values.
"""
from __future__ import annotations

import csv
import json
import shutil
from dataclasses import asdict
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


class ResultsFolder:
    """Atomic results folder (collective: every rank calls every method)."""

    def __init__(self, directory: str | Path, comm):
        self.final = Path(directory)
        self.comm = comm
        self.partial = self.final.parent / f".{self.final.name}.partial"
        if comm.rank == 0:
            if self.partial.exists():
                shutil.rmtree(self.partial)
            self.partial.mkdir(parents=True)
        comm.barrier()

    @property
    def path(self) -> Path:
        return self.partial

    def _publish(self):
        if self.comm.rank == 0:
            if self.final.exists():
                shutil.rmtree(self.final)
            self.partial.rename(self.final)
        self.comm.barrier()

    def complete(self):
        self._publish()

    def incomplete(self, reason: str):
        if self.comm.rank == 0:
            (self.partial / "INCOMPLETE").write_text(reason + "\n")
            summary = self.partial / "summary.json"
            data = json.loads(summary.read_text()) if summary.exists() else {}
            data["status"] = "incomplete"
            data["reason"] = reason
            summary.write_text(json.dumps(data, indent=2) + "\n")
        self._publish()

    def discard(self):
        if self.comm.rank == 0 and self.partial.exists():
            shutil.rmtree(self.partial)
        self.comm.barrier()


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
        self.displacement.interpolate(self.problem.u)
        self.update_cell_fields()
        self.file.write_function([self.displacement, *self.cell_functions.values()], t)

    def close(self):
        """Close and destroy the file object: the C++ writer finalises fields.pvd when it is
        destroyed, which must happen before the results folder is published (renamed)."""
        if self.file is not None:
            self.file.close()
            self.file = None
            import gc
            gc.collect()


def write_history(records, path: Path):
    rows = [asdict(r) for r in records]
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        header = ["step", "phase", "time_s", "platen_position_mm", "top_thickness_mm",
                  "stack_thickness_mm", "mean_porosity", "platen_force_N_or_N_per_mm",
                  "pressure_MPa", "newton_iterations", "newton_solves", "relative_residuals", "max_penetration_mm"]
        writer.writerow(header)
        for row in rows:
            writer.writerow([row["step"], row["phase"], f"{row['time']:.9g}",
                             f"{row['platen_position']:.9g}", f"{row['top_thickness']:.9g}",
                             f"{row['stack_thickness']:.9g}", f"{row['mean_porosity']:.9g}",
                             f"{row['platen_force']:.9g}", f"{row['pressure']:.9g}",
                             row["newton_iterations"], row["newton_solves"],
                             " ".join(f"{r:.3e}" for r in row["residuals"]),
                             f"{row['max_penetration']:.3e}"])


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

    fig, ax = plt.subplots(figsize=(8, 3.2))
    porous = values > 0.0
    dense = PolyCollection([p * 1e3 for p, keep in zip(polygons, porous) if not keep],
                           facecolors="0.6", edgecolors="face", linewidths=0.2)
    ax.add_collection(dense)   # dense layers (foils) in grey: porosity 0
    collection = PolyCollection([p * 1e3 for p, keep in zip(polygons, porous) if keep],
                                array=values[porous], cmap="viridis", edgecolors="face",
                                linewidths=0.2)
    ax.add_collection(collection)
    ax.autoscale()
    ax.set_aspect("equal")
    ax.set_xlabel("x (µm)")
    ax.set_ylabel("y (µm)")
    ax.set_title(title)
    fig.colorbar(collection, ax=ax, label="porosity (-)")
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
