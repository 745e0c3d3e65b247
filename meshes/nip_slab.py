"""A 3D slab of a web for the calender: the 2D cross-section of `layered.py`, drawn through
the width (z) in three zones, with the coating ending in a tapered edge beside a bare foil
margin.

    y (thickness)                     the web seen from its inlet end (x into the page)
    ^   +------------------+._
    |   |  coating         |  `-._+           <- edge zone: the coating thins (a heavy edge:
    |   +------------------+------+-------+      thickens) linearly to edge_thickness x h, then ends
    |   |  foil                           |
    |   +---------------------------------+
    +---|------ lane ------|-edge-|-margin-|--> z (width)
      z = 0: the lane's centre (a symmetry plane, face `front`)

Along x (the machine direction) the mesh is the calender's graded strip (inlet tail, fine
process zone, outlet tail). Each zone through the width is `elements` hexahedra wide. The
edge layers (the roll-side coating; on a double-sided web both coatings) exist in the lane
and the edge zone only; the layers between them (the foil) run across the margin too.

Physical groups, found by name: one per layer; `top` and `bottom` (every face a roll can
touch, the bare foil's faces in the margin included), `left`, `right` (the web's inlet and
outlet ends), `front` (z = 0), `back` (z = lane + edge + margin: the web's edge, or the
lane's other symmetry plane), `coating_edge` (the coating's end face, where a margin follows)
and `interface_<lower>_<upper>` where both layers exist. A bead (`edge_crest` < 1) rises (or
falls) to `edge_thickness` at its crest inside the edge zone, where a node column lies, and
from there to `edge_end_thickness` at the end face. The edge zone is tapered after the
mesh is made: the nodes of an edge layer move towards its foil face in proportion to the
local thickness h(z) (bounding boxes, and hence the groups, are taken before). Lengths in mm.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from mpi4py import MPI

from .gmsh_session import gmsh_model
from .layered import Layer, extrude_layers
from .partition import cost_partitioner


@dataclass(frozen=True)
class WidthZones:
    """The three zones across the slab (mm, elements); a zone of zero width is left out."""
    lane: float
    elements_lane: int
    edge: float = 0.0
    elements_edge: int = 0
    edge_thickness: float = 1.0   # coating thickness at the crest of the edge / nominal (-)
    margin: float = 0.0
    elements_margin: int = 0
    edge_crest: float = 1.0       # where the edge peaks (or bottoms), a fraction of the edge
    edge_end_thickness: float | None = None   # at the coating's end face (None: the crest's)

    @property
    def coated(self) -> float:
        """Width of the coating (lane and edge), mm."""
        return self.lane + self.edge

    @property
    def total(self) -> float:
        return self.lane + self.edge + self.margin

    @property
    def end_thickness(self) -> float:
        """Coating thickness at its end face / nominal (-)."""
        return self.edge_thickness if self.edge_end_thickness is None else \
            self.edge_end_thickness

    def thickness_factor(self, z):
        """Coating thickness / nominal at z: 1 on the lane, changing linearly to
        `edge_thickness` at the crest (below 1 a thinning edge, above 1 a heavy one), a
        fraction `edge_crest` of the way across the edge zone, and from there linearly to
        `end_thickness` at the coating's end face (a bead whose crest lies inside the edge
        zone; with the crest at the end face, 1, the profile is one straight line)."""
        if self.edge <= 0.0:
            return np.ones_like(z)
        crest = self.lane + self.edge_crest * self.edge
        return np.interp(z, [self.lane, crest, self.coated],
                         [1.0, self.edge_thickness, self.end_thickness])


def build_nip_slab(layers: list[Layer], segments: list[tuple[float, int]], zones: WidthZones,
                   edge_layers: set[str], comm: MPI.Comm = MPI.COMM_WORLD,
                   costs: dict[str, float] | None = None):
    """Mesh the slab (see the module) with Gmsh on rank 0 and distribute it. `segments`:
    (length, elements) along x; `edge_layers`: names of the layers that end at the coating's
    edge (outermost layers only). Returns dolfinx.io.gmsh.MeshData."""
    from dolfinx.io import gmsh as gmshio

    names = [layer.name for layer in layers]
    for name in edge_layers:
        position = names.index(name)
        if 0 < position < len(layers) - 1:
            raise ValueError(f"layer '{name}' is inside the web: only an outer layer can end "
                             f"at the coating's edge")
    if len(edge_layers) >= len(layers) and zones.margin > 0:
        raise ValueError("a bare margin needs a layer that runs across it (the foil)")
    length = sum(segment for segment, _ in segments)
    with gmsh_model("nip_slab") as model:
        if comm.rank == 0:
            sections = extrude_layers(model.geo, layers, segments, 2, None, 1)
            volumes = _extrude_width(model.geo, sections, zones, edge_layers)
            model.geo.synchronize()
            for layer in layers:
                model.addPhysicalGroup(3, [tag for owner, tag in volumes if owner is layer],
                                       name=layer.name)
            groups = _face_groups(model, layers, length, zones, edge_layers)
            for name, tags in groups.items():
                model.addPhysicalGroup(2, tags, name=name)
            model.mesh.generate(3)
        mesh_data = gmshio.model_to_mesh(model, comm, 0, gdim=3,
                                         partitioner=cost_partitioner(model, comm, costs,
                                                                      columns=True))
    taper(mesh_data.mesh.geometry.x, layers, zones, edge_layers)
    return mesh_data


def _extrude_width(geo, sections, zones: WidthZones, edge_layers) -> list:
    """(layer, volume tag) of every block: each cross-section surface extruded through the
    lane, the edge zone and (layers that are not edge layers) the margin."""
    volumes = []
    for layer, surface in sections:
        face = (2, surface)
        for width, elements, zone in ((zones.lane, zones.elements_lane, "lane"),
                                      (zones.edge, zones.elements_edge, "edge"),
                                      (zones.margin, zones.elements_margin, "margin")):
            if width <= 0.0 or (zone == "margin" and layer.name in edge_layers):
                continue
            if zone == "edge" and zones.edge_crest < 1.0:     # a node column on the crest
                inside = min(max(round(zones.edge_crest * elements), 1), elements - 1)
                counts, heights = [inside, elements - inside], [zones.edge_crest, 1.0]
            else:
                counts, heights = [elements], []
            out = geo.extrude([face], 0.0, 0.0, width, counts, heights, recombine=True)
            face = out[0]
            volumes.append((layer, out[1][1]))
    return volumes


def _present(layer, z_low, zones, edge_layers, tol) -> bool:
    """Does `layer` exist over a face that starts at z_low?"""
    return layer.name not in edge_layers or z_low < zones.coated - tol


def _in_edge_layer(ymin, ymax, layers, edge_layers, tol) -> bool:
    """Does the height range [ymin, ymax] lie inside one of the edge layers?"""
    levels = np.cumsum([0.0] + [layer.thickness for layer in layers])
    return any(levels[k] - tol <= ymin and ymax <= levels[k + 1] + tol
               for k, layer in enumerate(layers) if layer.name in edge_layers)


def _face_groups(model, layers, length, zones: WidthZones, edge_layers) -> dict:
    """{group name: surface tags} by where each surface lies (bounding boxes, tolerance 1e-9
    of the slab's size)."""
    y_levels = np.cumsum([0.0] + [layer.thickness for layer in layers])
    tol = 1e-9 * max(length, zones.total, y_levels[-1])
    groups: dict[str, list[int]] = {}
    for _, tag in model.getEntities(2):
        xmin, ymin, zmin, xmax, ymax, zmax = model.getBoundingBox(2, tag)
        name = None
        if abs(ymax - ymin) < tol:
            level = int(np.argmin(np.abs(y_levels - ymin)))
            below = level > 0 and _present(layers[level - 1], zmin, zones, edge_layers, tol)
            above = level < len(layers) and _present(layers[level], zmin, zones, edge_layers,
                                                     tol)
            if below and above:
                name = f"interface_{layers[level - 1].name}_{layers[level].name}"
            elif below:
                name = "top"
            elif above:
                name = "bottom"
        elif abs(xmax - xmin) < tol:
            name = "left" if xmin < tol else "right" if xmin > length - tol else None
        elif abs(zmax - zmin) < tol:
            if zmin < tol:
                name = "front"
            elif zmin > zones.total - tol:
                name = "back"
            elif abs(zmin - zones.coated) < tol and _in_edge_layer(ymin, ymax, layers,
                                                                    edge_layers, tol):
                name = "coating_edge"
        if name:
            groups.setdefault(name, []).append(tag)
    return groups


def taper(x: np.ndarray, layers, zones: WidthZones, edge_layers):
    """Thin (a heavy edge: thicken) the edge layers across the edge zone in place (node
    coordinates `x`, (n, 3)): a
    node of the top coating at height y above its foil face y_f moves to
    y_f + (y - y_f) h(z)/h (the bottom coating of a double-sided web likewise below its face)."""
    if zones.edge <= 0.0:
        return
    levels = np.cumsum([0.0] + [layer.thickness for layer in layers])
    factor = zones.thickness_factor(x[:, 2])
    if layers[-1].name in edge_layers:
        face = levels[-2]
        above = x[:, 1] > face
        x[above, 1] = face + (x[above, 1] - face) * factor[above]
    if len(layers) > 1 and layers[0].name in edge_layers:
        face = levels[1]
        below = x[:, 1] < face
        x[below, 1] = face - (face - x[below, 1]) * factor[below]
