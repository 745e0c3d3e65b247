"""A flat stack of layers: the cross-section of a coated foil (or any cell stack) as drawn.

    y
    ^   +------------------------------+  top            (platen side)
    |   |  coating   h_coating         |
    |   +------------------------------+  interface_foil_coating
    |   |  foil      h_foil            |
    |   +------------------------------+  bottom         (support)
    |  left                          right
    +------------------------------------> x      (z: depth, 3D only; faces front z=0, back z=depth)

Layers are listed bottom to top. Each is a structured band of quadrilaterals (hexahedra in 3D),
`elements` through its thickness, so the porosity gradient through a coating is resolved with a
known number of elements. Every region and boundary is a Gmsh physical group found by name:
one per layer (its name), `bottom`, `top`, `left`, `right` (+ `front`, `back` in 3D) and
`interface_<lower>_<upper>` between neighbouring layers. Lengths in mm.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from mpi4py import MPI

from .gmsh_session import gmsh_model
from .partition import cost_partitioner


@dataclass
class Layer:
    name: str
    thickness: float  # mm
    elements: int     # elements through the thickness


def build_layered_strip(layers: list[Layer], width: float, elements_width: int,
                        dim: int = 2, depth: float | None = None, elements_depth: int = 1,
                        comm: MPI.Comm = MPI.COMM_WORLD,
                        segments: list[tuple[float, int]] | None = None,
                        costs: dict[str, float] | None = None):
    """Mesh the stack with Gmsh on rank 0 and distribute it.

    Along x the strip is `width` long with `elements_width` equal elements, or, if `segments`
    is given, a chain of (length, elements) segments (e.g. a coarse inlet tail, a fine process
    zone, a coarse outlet tail; width is then their total length). `costs` ({layer name: cost
    of a cell}) balances the partition on several ranks by law cost (partition.py).
    Returns dolfinx.io.gmsh.MeshData (mesh, cell_tags, facet_tags, physical_groups by name).
    """
    if segments is None:
        segments = [(width, elements_width)]
    width = sum(length for length, _ in segments)
    from dolfinx.io import gmsh as gmshio

    if dim not in (2, 3):
        raise ValueError(f"dimension must be 2 or 3, got {dim}")
    if dim == 3 and not depth:
        raise ValueError("a 3D stack needs a depth (mm)")

    with gmsh_model("layered_strip") as model:
        if comm.rank == 0:
            blocks = extrude_layers(model.geo, layers, segments, dim, depth, elements_depth)
            model.geo.synchronize()
            for layer in layers:
                model.addPhysicalGroup(dim, [tag for owner, tag in blocks if owner is layer],
                                       name=layer.name)
            for name, tags in _boundary_groups(model, layers, width, dim).items():
                model.addPhysicalGroup(dim - 1, tags, name=name)
            model.mesh.generate(dim)
        return gmshio.model_to_mesh(model, comm, 0, gdim=dim,
                                    partitioner=cost_partitioner(model, comm, costs))


def extrude_layers(geo, layers, segments, dim, depth, elements_depth) -> list:
    """(layer, surface or volume tag) of every block: the bottom line extruded segment by
    segment along x, each layer's row extruded up from the row below (and, in 3D, each block
    extruded through the depth); structured and recombined into quadrilaterals/hexahedra."""
    point = (0, geo.addPoint(0.0, 0.0, 0.0))
    lines = []
    for length, elements in segments:
        out = geo.extrude([point], length, 0.0, 0.0, [elements], recombine=True)
        point, lines = out[0], lines + [out[1]]
    blocks = []  # (layer, surface tag)
    for layer in layers:
        top_lines = []
        for line in lines:
            out = geo.extrude([line], 0.0, layer.thickness, 0.0, [layer.elements],
                              recombine=True)
            blocks.append((layer, out[1][1]))
            top_lines.append(out[0])
        lines = top_lines
    if dim == 3:
        volumes = []
        for layer, surface in blocks:
            out = geo.extrude([(2, surface)], 0.0, 0.0, depth, [elements_depth],
                              recombine=True)
            volumes.append((layer, out[1][1]))
        blocks = volumes
    return blocks


def _boundary_groups(model, layers, width: float, dim: int) -> dict[str, list[int]]:
    """Boundaries and interfaces {name: facet entity tags}, sorted by where they lie
    (bounding boxes, tolerance 1e-9 of the strip's size)."""
    y_levels = np.cumsum([0.0] + [layer.thickness for layer in layers])
    tol = 1e-9 * max(width, y_levels[-1])
    groups: dict[str, list[int]] = {}
    for _, tag in model.getEntities(dim - 1):
        xmin, ymin, zmin, xmax, ymax, zmax = model.getBoundingBox(dim - 1, tag)
        name = None
        if abs(ymax - ymin) < tol:
            level = int(np.argmin(np.abs(y_levels - ymin)))
            if level == 0:
                name = "bottom"
            elif level == len(layers):
                name = "top"
            else:
                name = f"interface_{layers[level - 1].name}_{layers[level].name}"
        elif abs(xmax - xmin) < tol:   # vertical: an end of the strip, or between segments
            name = "left" if xmin < tol else "right" if xmin > width - tol else None
        elif dim == 3 and abs(zmax - zmin) < tol:
            name = "front" if zmin < tol else "back"
        if name:
            groups.setdefault(name, []).append(tag)
    return groups
