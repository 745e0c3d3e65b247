"""Fields for ParaView: the volume fields of every converged step and the interface point
datasets.

Volume fields (fields/fields.pvd: a ParaView collection with one .pvtu per converged load
step, one grid carrying every field; open fields.pvd in ParaView). The collection's time is the
step time in s; a step at the same time as the one before (seating steps at t = 0, an
instantaneous release) is written 1 us after it, so that ParaView shows every step.
    displacement_mm        nodal vector (degree-1 interpolant of the solution)
    region_id              the cell's region: its id in fields/regions.json, which names the
                           layers first, then the interface bands (threshold on it in
                           ParaView to hide a foil or show one interface)
    porosity               cell average, from solid-mass conservation 1 - (1 - porosity0)/J
    plastic_volumetric_strain, equivalent_plastic_strain  (-),  cap_pressure_MPa
    mean_stress_MPa        Cauchy, compression positive;  von_mises_stress_MPa  (Cauchy)
Cell values are quadrature-weighted averages of the point values.

Interface datasets (``interface_field_writer``): the interface fields on the band cells of the
volume grid (area-weighted cell averages) and, at their true point values, one VTK point cloud
per step and interface, fields/<name>_NNNNNN.vtu, collected in fields/<name>.pvd.

A resumed run (``--resume``) continues the series: the stopped run's files move into
fields/before_resume_<k>/ and every collection lists them first, then the resumed run's steps
(``keep_fields_before_resume``, ``FieldWriter.continue_series``), so the ParaView time slider
spans the whole run. The collections are written by nipstack (not by DOLFINx's VTKFile, which
writes fields.pvd only when it is closed) at every checkpoint and when the writer closes.
"""
from __future__ import annotations

import gc
import json
import os
import xml.etree.ElementTree as ElementTree
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

#: interface fields of the datasets: InterfaceTerm.point_fields key -> name with its unit
INTERFACE_POINT_FIELDS = {"gap_normal": "interface_gap_normal_mm",
                          "gap_tangential": "interface_gap_tangential_mm",
                          "pressure": "interface_pressure_MPa",
                          "damage": "interface_damage", "contact": "interface_contact"}

#: how far after the previous step a step at the same time is written (s)
TIE_OFFSET_S = 1e-6
#: the folder (in fields/) that keeps the field files of a run before its k-th resume
BEFORE_RESUME = "before_resume_{k}"


def named_region_cells(problem) -> list[tuple[str, np.ndarray]]:
    """(name, local cells) of the bulk regions (layers) in order, then the interface bands:
    the order of the region ids."""
    named_cells = [(region.name, region.cells) for region in problem.regions]
    for term in problem.interfaces:
        named_cells += [(name, band.cells)
                        for name, band in getattr(term, "bands", {}).items()]
    return named_cells


class FieldWriter:
    """Time series (.pvd) of the displacement and the cell fields in one grid per step.

    (DOLFINx's XDMF writer stores every function as its own grid, which ParaView shows as
    overlapping blocks; the VTK collection keeps all fields on one grid.)"""

    def __init__(self, problem, path: Path):
        self.problem = problem
        mesh = problem.mesh
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.file = VTKFile(mesh.comm, str(path), "w")
        self.entries: list[tuple[float, str]] = []   # (time, file) of fields.pvd, in order
        self.count = 0                                # steps this writer wrote
        self.V1 = fem.functionspace(mesh, ("Lagrange", 1, (mesh.geometry.dim,)))
        self.displacement = fem.Function(self.V1, name="displacement_mm")
        self.W = fem.functionspace(mesh, ("DG", 0))
        self.cell_functions = {key: fem.Function(self.W, name=name)
                               for key, name in FIELD_UNITS.items()}
        named_cells = named_region_cells(problem)
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
        # VTKFile's naming: <stem>NNNNNN.pvtu (the pieces <stem>_pR_NNNNNN.vtu beside it)
        self.entries.append((t, f"{self.path.stem}{self.count:06d}.pvtu"))
        self.count += 1

    def continue_series(self, earlier: dict):
        """Continue the collections of a stopped run (``keep_fields_before_resume``): its
        steps come first in fields.pvd, and a step at the time of its last one is moved."""
        self.entries = list(earlier.get(self.path.stem, [])) + self.entries
        if self.entries and self.last_time is None:
            self.last_time = self.entries[-1][0]

    def save_collection(self):
        """Write fields.pvd: every step so far, a resumed run's earlier steps first (rank 0)."""
        if self.problem.mesh.comm.rank == 0:
            write_collection(self.path, self.entries)

    def close(self):
        """Close and destroy the file object (the C++ writer writes its own fields.pvd when it
        is closed; nipstack's, which holds a resumed run's earlier steps too, replaces it).
        Must happen before the results folder is published (renamed)."""
        if self.file is not None:
            self.file.close()
            self.file = None
            gc.collect()
            self.save_collection()


class InterfaceFieldWriter(FieldWriter):
    """FieldWriter + the fields of the interfaces `names` of the InterfaceTerm `term`: on
    their band cells (DG0, area-weighted) and as point datasets (``write_interface_points``)."""

    def __init__(self, problem, path: Path, term, names):
        super().__init__(problem, path)
        self.term = term
        self.names = list(names)
        self.folder = path.parent
        self.collections = {name: [] for name in self.names}   # (time, file) of each step
        for key, name in INTERFACE_POINT_FIELDS.items():
            self.cell_functions["interface_" + key] = fem.Function(self.W, name=name)

    def update_cell_fields(self):
        super().update_cell_fields()
        dofs = self.W.dofmap.list
        for name in self.names:
            band = self.term.bands[name]
            if not len(band.cells):
                continue
            values = self.term.cell_fields(name)
            for key in INTERFACE_POINT_FIELDS:
                self.cell_functions["interface_" + key].x.array[
                    dofs[band.cells, 0]] = values[key]

    def continue_series(self, earlier: dict):
        super().continue_series(earlier)
        for name in self.names:
            self.collections[name] = list(earlier.get(name, [])) + self.collections[name]

    def write(self, t: float):
        super().write(t)
        for name in self.names:
            write_interface_points(self.term, name, self.folder, self.collections[name],
                                   self.last_time)


def interface_field_writer(problem, term, names, path):
    """A FieldWriter for `path` (fields.pvd) that adds the fields of the interfaces `names` of
    the InterfaceTerm `term` on their band cells (DG0, area-weighted): interface_gap_normal_mm,
    interface_gap_tangential_mm, interface_pressure_MPa, interface_damage, interface_contact."""
    return InterfaceFieldWriter(problem, Path(path), term, names)


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
    write_collection(folder / f"{name}.pvd", collection)


def write_collection(path: Path, collection: list):
    """A ParaView collection (.pvd) of the (time, file name) datasets in `collection`: written
    to a temporary name and renamed, so a reader never finds half a file."""
    entries = "".join(f'    <DataSet timestep="{float(t)!r}" part="0" file="{f}" />\n'
                      for t, f in collection)
    staging = path.with_name(f".{path.name}.writing")
    staging.write_text('<?xml version="1.0"?>\n<VTKFile type="Collection" version="0.1">\n'
                       f"  <Collection>\n{entries}  </Collection>\n</VTKFile>\n")
    os.replace(staging, path)


def read_collection(path: Path) -> list[tuple[float, str]]:
    """The (time, file name) datasets of a ParaView collection (.pvd), in order."""
    root = ElementTree.parse(path).getroot()
    return [(float(item.get("timestep")), item.get("file")) for item in root.iter("DataSet")]


def keep_fields_before_resume(fields: Path, steps: int) -> dict[str, list]:
    """On `--resume` (rank 0): keep the stopped run's fields for the `steps` steps its
    checkpoint holds, and return, per collection (its stem: 'fields', 'interface_<a>_<b>'),
    their (time, file) entries, the files relative to `fields`.

    The files the stopped run wrote into `fields` move into fields/before_resume_<k>/ (the next
    free k; the folders of earlier resumes stay), and each collection is rewritten with the kept
    entries at once, so fields.pvd lists the whole history even before the resumed run's first
    step. Steps after the checkpoint (a killed run) are redone: their files stay in the folder
    but are not listed."""
    if not fields.is_dir():
        return {}
    k = 1
    while (fields / BEFORE_RESUME.format(k=k)).exists():
        k += 1
    kept = fields / BEFORE_RESUME.format(k=k)
    collections = {pvd.stem: read_collection(pvd)[:steps]
                   for pvd in sorted(fields.glob("*.pvd"))}
    kept.mkdir()
    for item in sorted(fields.iterdir()):
        if item.is_file() and item.suffix not in (".pvd", ".json"):
            item.rename(kept / item.name)
    for name, entries in collections.items():
        collections[name] = [(t, f"{kept.name}/{f}" if (kept / f).is_file() else f)
                             for t, f in entries]
        write_collection(fields / f"{name}.pvd", collections[name])
    if not any(kept.iterdir()):
        kept.rmdir()
    return collections
