"""`nipstack export`: one step of a run's fields to any mesh format meshio writes.

    nipstack export RESULTS --to final.xdmf            the last step, format from the suffix
    nipstack export RESULTS --to loaded.msh --step 5   step 5 (1 = the first written step)
    nipstack export RESULTS --to f.inp --dataset interface_lithium_electrolyte

The fields are read from the run's VTK collection (fields/fields.pvd, or
fields/<dataset>.pvd for an interface point dataset) with pyvista and written with meshio:
the reference mesh (mm) with `displacement_mm` on its nodes and the cell fields (porosity,
stresses in MPa, region_id, ...) on its cells, under the names ParaView shows. VTK's
bookkeeping arrays (vtkGhostType, vtkOriginalPointIds, vtkOriginalCellIds) are left out.
Formats whose writer cannot hold cell data of a kind (e.g. an STL surface) raise meshio's
error, reported as a user error. `.msh` is Gmsh (meshio's first pick for it is ANSYS Fluent,
which Gmsh cannot open and which drops the fields); a suffix meshio does not know, or a folder
that does not exist, is a user error before anything is read.
"""
from __future__ import annotations

from pathlib import Path

#: the writer of a suffix that meshio maps to more than one format
SUFFIX_FORMATS = {".msh": "gmsh"}


class ExportError(ValueError):
    """An export the user asked for that cannot be done (exit 2)."""


def read_step(pvd: Path, step: int | None):
    """(pyvista UnstructuredGrid, time s, step number 1..n) of `pvd`; step None: the last."""
    import pyvista as pv

    reader = pv.get_reader(str(pvd))
    count = len(reader.time_values)
    if count == 0:
        raise ExportError(f"'{pvd}' holds no time step")
    if step is None:
        step = count
    if not 1 <= step <= count:
        raise ExportError(f"--step {step}: '{pvd}' has steps 1 to {count}")
    reader.set_active_time_point(step - 1)
    data = reader.read()
    grid = data.combine() if isinstance(data, pv.MultiBlock) else data
    return grid, float(reader.time_values[step - 1]), step


#: VTK's arbitrary-order Lagrange cells (what DOLFINx writes) by (shape, node count) as the
#: fixed-order meshio types with the same node order
LAGRANGE_TYPES = {("TRIANGLE", 3): "triangle", ("TRIANGLE", 6): "triangle6",
                  ("QUADRILATERAL", 4): "quad", ("QUADRILATERAL", 9): "quad9",
                  ("TETRAHEDRON", 4): "tetra", ("TETRAHEDRON", 10): "tetra10",
                  ("HEXAHEDRON", 8): "hexahedron", ("HEXAHEDRON", 27): "hexahedron27"}


def to_meshio(grid):
    """A meshio.Mesh of `grid` with fixed-order cell types and without VTK's bookkeeping
    arrays."""
    import meshio
    import pyvista as pv

    clean = grid.copy()
    for data in (clean.point_data, clean.cell_data):
        for name in [n for n in data.keys() if n.startswith("vtk")]:
            data.remove(name)
    mesh = pv.to_meshio(clean)
    blocks = []
    for block in mesh.cells:
        kind = block.type
        if kind.upper().startswith("VTK_LAGRANGE_"):
            shape = kind.upper().removeprefix("VTK_LAGRANGE_")
            kind = LAGRANGE_TYPES.get((shape, block.data.shape[1]))
            if kind is None:
                raise ExportError(f"cells of type {block.type} with {block.data.shape[1]} "
                                  f"nodes have no fixed-order equivalent to export")
        blocks.append(meshio.CellBlock(kind, block.data))
    return meshio.Mesh(mesh.points, blocks, point_data=mesh.point_data,
                       cell_data=mesh.cell_data)


def target_format(target: Path, file_format: str | None) -> str:
    """meshio's format name for writing `target`: `file_format` if given, else the one its
    suffix names (the longest known suffix first, e.g. .vol.gz before .gz)."""
    import meshio

    if file_format is not None:
        return file_format
    for count in range(len(target.suffixes), 0, -1):
        suffix = "".join(target.suffixes[-count:]).lower()
        if suffix in SUFFIX_FORMATS:
            return SUFFIX_FORMATS[suffix]
        if suffix in meshio.extension_to_filetypes:
            return meshio.extension_to_filetypes[suffix][0]
    known = ", ".join(sorted(meshio.extension_to_filetypes))
    raise ExportError(f"--to '{target}': no mesh format has the suffix "
                      f"'{target.suffix or '(none)'}'; give one of {known} (or --format NAME)")


def export(folder: str | Path, target: str | Path, step: int | None = None,
           dataset: str = "fields", file_format: str | None = None) -> tuple[Path, float, int]:
    """Write step `step` of `folder`/fields/<dataset>.pvd to `target`. Returns (target, time,
    step). Raises ExportError for what the user can fix."""
    import meshio

    folder, target = Path(folder), Path(target)
    if not target.parent.is_dir():
        raise ExportError(f"--to '{target}': the folder '{target.parent}' does not exist")
    file_format = target_format(target, file_format)
    pvd = folder / "fields" / f"{dataset}.pvd"
    if not pvd.is_file():
        have = sorted(p.stem for p in (folder / "fields").glob("*.pvd")) \
            if (folder / "fields").is_dir() else []
        raise ExportError(f"'{folder}' has no fields/{dataset}.pvd"
                          + (f" (it has {', '.join(have)})" if have else
                             " (a results folder of a run with output.fields = true?)"))
    grid, time, step = read_step(pvd, step)
    mesh = to_meshio(grid)
    try:
        meshio.write(target, mesh, file_format=file_format)
    except (KeyError, ValueError, OSError, meshio.WriteError) as exc:
        if target.exists():
            target.unlink()                  # no half-written file
        raise ExportError(f"--to '{target}': meshio cannot write this "
                          f"({type(exc).__name__}: {exc})") from None
    return target, time, step
