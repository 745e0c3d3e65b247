"""A user's own mesh of the layered section (instead of the built strip), read and validated.

The file holds the same named regions that `layered.build_layered_strip` makes, so a flat press
runs on it unchanged:

    cell groups      one per layer, named as the case's layers (e.g. foil, coating)
    facet groups     bottom, top, left, right (+ front, back in 3D), and
                     interface_<layer below the top>_<top layer> (the measured thickness)

Units are mm; y is the pressing direction and the bottom face lies at y = 0 (what the platen,
the supports and the thickness measures assume).

Formats:
  * Gmsh .msh (any version Gmsh reads): its physical groups are the named regions.
  * any other format meshio reads (e.g. .med, .xdmf, .vtu, .inp): the named *cell sets* are the
    regions (volume cells for layers, boundary cells - lines in 2D, faces in 3D - for facet
    groups). The file is converted with meshio to a Gmsh file with one physical group per set,
    then read like a .msh.

`check_mesh_file` (run when the case is loaded, so `nipstack check` reports it and a run that
would fail writes nothing) checks that every group is there with cells of the right dimension,
that no cell is in two regions, that the bottom lies at y = 0 and that each layer's height
matches the case's thickness (1e-6 relative): the platen starts at the case's stack height and
the elastic predictor uses the thicknesses. A problem raises MeshFileError naming the file and
what is missing or wrong. `read_layered_mesh` then builds the distributed mesh.
"""
from __future__ import annotations

import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from mpi4py import MPI

from .gmsh_session import gmsh_model

#: relative tolerance on a layer's height against the case's thickness
THICKNESS_RTOL = 1e-6

FACETS_2D = ("bottom", "top", "left", "right")
FACETS_3D = FACETS_2D + ("front", "back")
#: meshio cell types by topological dimension (first-order and second-order)
CELL_DIMENSION = {"line": 1, "line3": 1, "triangle": 2, "triangle6": 2, "quad": 2, "quad8": 2,
                  "quad9": 2, "tetra": 3, "tetra10": 3, "hexahedron": 3, "hexahedron20": 3,
                  "hexahedron27": 3, "wedge": 3, "pyramid": 3}


class MeshFileError(ValueError):
    """A mesh file that cannot serve as the case's geometry (a user error: exit 2)."""


def required_groups(layer_names: list[str], dim: int) -> dict[str, int]:
    """Group name -> topological dimension the flat press needs."""
    groups = {name: dim for name in layer_names}
    groups.update({name: dim - 1 for name in (FACETS_3D if dim == 3 else FACETS_2D)})
    if len(layer_names) > 1:
        groups[f"interface_{layer_names[-2]}_{layer_names[-1]}"] = dim - 1
    return groups


def convert_to_msh(source: Path, target: Path):
    """Write `source` (any meshio format with named cell sets) as a Gmsh 2.2 file whose
    physical groups are those sets. Raises MeshFileError."""
    import meshio

    try:
        mesh = meshio.read(source)
    except Exception as exc:  # noqa: BLE001 - meshio raises many kinds
        raise MeshFileError(f"mesh file '{source}': meshio cannot read it ({exc})") from None
    if not mesh.cell_sets:
        raise MeshFileError(f"mesh file '{source}': it has no named cell sets (the layers and "
                            f"boundaries must be named; see `nipstack check --schema`)")
    physical = [np.zeros(len(block.data), dtype=int) for block in mesh.cells]
    field_data = {}
    for tag, (name, per_block) in enumerate(sorted(mesh.cell_sets.items()), start=1):
        dims = {CELL_DIMENSION.get(mesh.cells[b].type) for b, ids in enumerate(per_block)
                if ids is not None and len(ids)}
        if len(dims) != 1 or None in dims:
            raise MeshFileError(f"mesh file '{source}': cell set '{name}' mixes cell types of "
                                f"different dimensions or unknown types")
        for block, ids in enumerate(per_block):
            if ids is None or not len(ids):
                continue
            taken = physical[block][ids]
            if taken.any():
                other = next(n for n, (t, _) in field_data.items() if t == taken[taken > 0][0])
                raise MeshFileError(f"mesh file '{source}': cells are in both '{other}' and "
                                    f"'{name}' (a cell belongs to one region)")
            physical[block][ids] = tag
        field_data[name] = np.array([tag, dims.pop()])
    keep = [k for k, block in enumerate(mesh.cells) if physical[k].any()]
    cells = [(mesh.cells[k].type, mesh.cells[k].data[physical[k] > 0]) for k in keep]
    tags = [physical[k][physical[k] > 0] for k in keep]
    points = np.zeros((len(mesh.points), 3))
    points[:, :mesh.points.shape[1]] = mesh.points
    out = meshio.Mesh(points, cells, cell_data={"gmsh:physical": tags,
                                                "gmsh:geometrical": tags},
                      field_data=field_data)
    meshio.write(target, out, file_format="gmsh22", binary=False)


@contextmanager
def _opened_in_gmsh(path: Path):
    """A mesh file opened in a Gmsh model (converted to .msh first if it is not one), on this
    process."""
    import gmsh

    with tempfile.TemporaryDirectory(prefix="nipstack_mesh_") as folder:
        source = path
        if path.suffix.lower() != ".msh":
            source = Path(folder) / "converted.msh"
            convert_to_msh(path, source)
        with gmsh_model("external_mesh") as model:
            try:
                gmsh.merge(str(source))
            except Exception as exc:  # noqa: BLE001 - gmsh raises plain Exception
                raise MeshFileError(f"mesh file '{path}': Gmsh cannot read it ({exc})") \
                    from None
            yield model


def check_mesh_file(path: str | Path, layers, dim: int):
    """Raise MeshFileError if the file cannot be the section of `layers` (bottom to top, each
    with .name and .thickness) in `dim` D: a group missing or of the wrong dimension, the
    bottom not at y = 0, a layer's height not its thickness. Serial (one process)."""
    path = Path(path)
    required = required_groups([layer.name for layer in layers], dim)
    with _opened_in_gmsh(path) as model:
        groups = {model.getPhysicalName(d, t): (d, t) for d, t in model.getPhysicalGroups()}
        problem = _missing({name: d for name, (d, _) in groups.items()}, required, dim)
        if problem:
            raise MeshFileError(f"mesh file '{path}': {problem}")
        _, coordinates, _ = model.mesh.getNodes()
        y = coordinates.reshape(-1, 3)[:, 1]
        height = sum(layer.thickness for layer in layers)
        if abs(y.min()) > THICKNESS_RTOL * height:
            raise MeshFileError(f"mesh file '{path}': the bottom lies at y = {y.min():.6g} mm; "
                                f"it must lie at y = 0 (y is the pressing direction, mm)")
        points = coordinates.reshape(-1, 3)
        for side, axis in (("bottom", 0), ("top", 0), ("left", 1), ("right", 1),
                           ("front", 0), ("back", 0)):
            if side not in required:
                continue
            _, nodes = model.mesh.getNodesForPhysicalGroup(*groups[side])
            span = np.ptp(nodes.reshape(-1, 3)[:, axis])
            full = np.ptp(points[:, axis])
            if span < (1.0 - THICKNESS_RTOL) * full:
                raise MeshFileError(
                    f"mesh file '{path}': group '{side}' spans {span:.6g} mm of the "
                    f"section's {full:.6g} mm along {'xyz'[axis]} (it must cover the whole "
                    f"side: its supports or platen act only where it is)")
        for layer in layers:
            _, nodes = model.mesh.getNodesForPhysicalGroup(*groups[layer.name])
            y = nodes.reshape(-1, 3)[:, 1]
            if abs(np.ptp(y) - layer.thickness) > THICKNESS_RTOL * layer.thickness:
                raise MeshFileError(
                    f"mesh file '{path}': layer '{layer.name}' is {np.ptp(y):.6g} mm high in "
                    f"the mesh but {layer.thickness:.6g} mm in the case "
                    f"(layers.*.thickness, mm)")


def _missing(found: dict[str, int], required: dict[str, int], dim: int) -> str:
    absent = [name for name in required if name not in found]
    wrong = [f"'{name}' has {found[name]}D cells, needs {required[name]}D"
             for name in required if name in found and found[name] != required[name]]
    if absent:
        return (f"no group named {', '.join(repr(n) for n in absent)} (a {dim}D flat press "
                f"needs {', '.join(required)}; the file has "
                f"{', '.join(sorted(found)) or 'no named groups'})")
    return "; ".join(wrong)


def read_layered_mesh(path: str | Path, dim: int, comm: MPI.Comm = MPI.COMM_WORLD):
    """The distributed MeshData of a mesh file that `check_mesh_file` accepted. Collective;
    rank 0 reads the file."""
    from dolfinx.io import gmsh as gmshio

    if comm.rank == 0:
        with _opened_in_gmsh(Path(path)) as model:
            return gmshio.model_to_mesh(model, comm, 0, gdim=dim)
    import gmsh
    return gmshio.model_to_mesh(gmsh.model, comm, 0, gdim=dim)
