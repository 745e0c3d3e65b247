r"""A cell stack with zero-thickness interfaces represented by thin bands (Gmsh, structured).

    y
    ^   +------------------------------------+  top                      (platen side)
    |   |  layer 2                           |
    |   +====================================+  interface_<1>_<2>: a band, one element thick
    |   |  layer 1                           |
    |   +------------------------------------+  interface_<0>_<1>: shared nodes (no band)
    |   |  layer 0                           |
    |   +------------------------------------+  bottom                   (support)
    |  left                                right
    +----------------------------------------> x      (z: depth, 3D; faces front z=0, back z=depth)

Layers are listed bottom to top, each a structured band of `elements` cells through its
thickness; the columns of nodes are vertical and shared by every layer (x positions uniform,
or given by `x_nodes`), so the nodes of neighbouring layers pair up in vertical columns.

An interface listed in `interfaces` gets a **band**: one row of cells between the two layers
whose bottom nodes belong to the lower layer's top face and whose top nodes are the upper
layer's bottom face, paired column by column. The band is `band_thickness` thick (default
1e-6 of the thinner neighbour: geometrically negligible; it is added to the stack height, the
layers keep their thicknesses). The band carries no bulk material: ``nipstack.interfaces``
turns it into a zero-thickness interface (with degree-1 elements the jump
u(X, Y + H) - u(X, Y) = H du/dY holds exactly at every point of a band cell).

Geometry of a level between layers (all profiles are functions of x, and of z in 3D):
  * ``shape``: both faces follow it (a wavy interface without initial gap);
  * the lower layer's ``waviness``: its top face displaced by a profile (the "uneven coating"
    hot spot). waviness_mode "thickness" (default): the layer is thicker where the profile
    rises and every layer above is lifted with it, so the stack is thicker there and a flat
    plate touches there first; "face": only that face moves, the layer above gets thinner
    where it rises (the stack's top stays flat);
  * ``roughness`` (band interfaces only): an initial gap g0(x) = max(r) - r(x) >= 0 carved into
    the rough face (``rough_face`` = "upper": the upper layer's bottom, asperities pointing
    down, "lower": the lower layer's top). The highest asperity touches (g0 = 0), the valleys
    are open by up to max(r) - min(r). The band then spans the gap: it is H = h + g0 thick.

Groups (Gmsh physical groups, found by name, never number): one cell group per layer (its
name), one cell group per band ``interface_<lower>_<upper>`` with facet groups
``interface_<lower>_<upper>_bottom`` and ``..._top`` (its two faces); a level without band is the
facet group ``interface_<lower>_<upper>`` (as in ``meshes.layered``); ``bottom``, ``top``,
``left``, ``right`` (+ ``front``, ``back`` in 3D). Lengths in mm.

Cells: quadrilaterals (hexahedra in 3D), or in 2D ``cell_type="crossed_triangle"``: every
layer quadrilateral split into four triangles through a centre node (the "union jack" pattern
of Nagtegaal, Parks & Rice 1974, free of volumetric locking under incompressible plastic flow,
where fully integrated Q1 locks) and every band cell into two triangles (nodal, trapezoidal
integration of the interface).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from mpi4py import MPI

from .stack_cells import stack_elements, stack_mesh_data


# --- profiles ---------------------------------------------------------------------------------
@dataclass
class Sinusoid:
    """h(x[, z]) = amplitude cos(2 pi x / wavelength + phase) [cos(2 pi z / wavelength_z)], mm."""

    amplitude: float
    wavelength: float
    phase: float = 0.0
    wavelength_z: float | None = None

    def __post_init__(self):
        if not self.wavelength > 0.0:
            raise ValueError(f"wavelength must be > 0 mm, got {self.wavelength}")
        if self.wavelength_z is not None and not self.wavelength_z > 0.0:
            raise ValueError(f"wavelength_z must be > 0 mm, got {self.wavelength_z}")

    def heights(self, x, z=None, width=None, depth=None):
        x = np.asarray(x, dtype=float)
        h = self.amplitude * np.cos(2.0 * np.pi * x / self.wavelength + self.phase)
        if self.wavelength_z is not None and z is not None:
            h = h * np.cos(2.0 * np.pi * np.asarray(z, dtype=float) / self.wavelength_z)
        return h


@dataclass
class RandomRoughness:
    """Gaussian random surface with a Gaussian spectrum (autocorrelation rms^2 exp(-r^2/l^2)).

    White noise on a grid of spacing l/8 covering the strip (plus 3 l on each side) is smoothed
    by the Gaussian kernel exp(-2 r^2 / l^2) (separable in x, z), then shifted to zero mean and
    scaled to the exact RMS `rms` over the strip; nodes take linearly interpolated values. The
    surface depends only on (seed, rms, correlation_length, width, depth), not on the mesh.
    """

    rms: float
    correlation_length: float
    seed: int = 0

    def __post_init__(self):
        if not self.rms > 0.0:
            raise ValueError(f"rms must be > 0 mm, got {self.rms}")
        if not self.correlation_length > 0.0:
            raise ValueError(f"correlation_length must be > 0 mm, got {self.correlation_length}")

    def _axis(self, length):
        step = self.correlation_length / 8.0
        margin = 3.0 * self.correlation_length
        n = int(np.ceil((length + 2 * margin) / step)) + 1
        return -margin + step * np.arange(n), step

    def _kernel(self, step):
        r = step * np.arange(-int(np.ceil(2 * self.correlation_length / step)),
                             int(np.ceil(2 * self.correlation_length / step)) + 1)
        k = np.exp(-2.0 * r ** 2 / self.correlation_length ** 2)
        return k / np.sqrt(np.sum(k ** 2))

    def grid(self, width, depth=None):
        """(xs, zs or None, field) of the smoothed field on its grid, zero mean, RMS = rms."""
        rng = np.random.default_rng(self.seed)
        xs, step = self._axis(width)
        kernel = self._kernel(step)
        if depth is None:
            noise = rng.standard_normal(xs.size)
            field_ = np.convolve(noise, kernel, mode="same")
            zs = None
            inside = (xs >= 0.0) & (xs <= width)
            values = field_[inside]
        else:
            zs, _ = self._axis(depth)
            noise = rng.standard_normal((xs.size, zs.size))
            field_ = np.apply_along_axis(lambda c: np.convolve(c, kernel, mode="same"), 0, noise)
            field_ = np.apply_along_axis(lambda c: np.convolve(c, kernel, mode="same"), 1, field_)
            inside = ((xs[:, None] >= 0.0) & (xs[:, None] <= width)
                      & (zs[None, :] >= 0.0) & (zs[None, :] <= depth))
            values = field_[inside]
        mean = values.mean()
        rms = np.sqrt(np.mean((values - mean) ** 2))
        return xs, zs, (field_ - mean) * (self.rms / rms)

    def heights(self, x, z=None, width=None, depth=None):
        if width is None:
            raise ValueError("RandomRoughness.heights needs the strip width")
        x = np.asarray(x, dtype=float)
        xs, zs, values = self.grid(width, depth if z is not None else None)
        if zs is None:
            return np.interp(x, xs, values)
        z = np.asarray(z, dtype=float)
        # bilinear interpolation on the regular grid
        fx = np.clip((x - xs[0]) / (xs[1] - xs[0]), 0, xs.size - 1.000001)
        fz = np.clip((z - zs[0]) / (zs[1] - zs[0]), 0, zs.size - 1.000001)
        i, k = np.floor(fx).astype(int), np.floor(fz).astype(int)
        a, b = fx - i, fz - k
        return ((1 - a) * (1 - b) * values[i, k] + a * (1 - b) * values[i + 1, k]
                + (1 - a) * b * values[i, k + 1] + a * b * values[i + 1, k + 1])


# --- specification ------------------------------------------------------------------------------
@dataclass
class StackLayer:
    name: str
    thickness: float                 # mm
    elements: int                    # elements through the thickness
    waviness: object | None = None   # profile displacing the layer's top face (e.g. Sinusoid)
    grading: float = 1.0             # ratio of successive element heights, bottom to top
                                     # (< 1: finest at the top, > 1: finest at the bottom)
    waviness_mode: str = "thickness"  # "thickness": the layer is thicker where the profile
                                      # rises and lifts every layer above (an uneven coating);
                                      # "face": only its top face moves, the layer above
                                      # absorbs it (the stack's top stays flat)


@dataclass
class StackInterface:
    """An interface represented by a band (the lower and upper layer names)."""

    lower: str
    upper: str
    band_thickness: float | None = None    # mm; default band_ratio x thinner neighbour
    band_ratio: float = 1e-6
    roughness: object | None = None        # initial-gap profile (Sinusoid, RandomRoughness)
    rough_face: str = "upper"              # "upper" | "lower"
    shape: object | None = None            # conforming shape of the interface

    @property
    def name(self) -> str:
        return f"interface_{self.lower}_{self.upper}"


@dataclass
class BandInfo:
    """What the interface term needs to know about a band (same on every rank)."""

    name: str
    lower: str
    upper: str
    thickness: float          # h, mm (the band height where the initial gap is zero)
    max_initial_gap: float    # mm
    level: float              # nominal y of the band bottom, mm


@dataclass
class StackMesh:
    """dolfinx.io.gmsh.MeshData-like (mesh, cell_tags, facet_tags, physical_groups) + layout."""

    mesh: object
    cell_tags: object
    facet_tags: object
    physical_groups: dict
    layers: list
    bands: dict = field(default_factory=dict)    # name -> BandInfo
    width: float = 0.0
    depth: float | None = None
    height: float = 0.0             # highest point of the top face, mm
    cell_type: str = "quadrilateral"
    layer_bottoms: dict = field(default_factory=dict)    # nominal y of each layer's bottom

    @property
    def dim(self) -> int:
        return self.mesh.topology.dim


def _as_spec(spec, kind):
    """`spec` as a `kind` (StackLayer, StackInterface) from itself, a tuple or a dict; None if
    it is none of these."""
    if isinstance(spec, kind):
        return spec
    if isinstance(spec, (tuple, list)):
        return kind(*spec)
    if isinstance(spec, dict):
        return kind(**spec)
    return None


def _as_layer(layer) -> StackLayer:
    spec = _as_spec(layer, StackLayer)
    if spec is not None:
        return spec
    # e.g. meshes.layered.Layer
    return StackLayer(layer.name, layer.thickness, layer.elements,
                      getattr(layer, "waviness", None), getattr(layer, "grading", 1.0))


def _as_interface(spec) -> StackInterface:
    interface = _as_spec(spec, StackInterface)
    if interface is None:
        raise TypeError(f"cannot read an interface from {spec!r}")
    return interface


def _heights(profile, x, z, width, depth):
    if profile is None:
        return np.zeros_like(x)
    return np.asarray(profile.heights(x, z, width, depth), dtype=float)


def build_stack(layers, width: float, elements_width: int, interfaces=(), dim: int = 2,
                depth: float | None = None, elements_depth: int = 1,
                x_nodes=None, cell_type: str = "quadrilateral",
                comm: MPI.Comm = MPI.COMM_WORLD, costs: dict | None = None) -> StackMesh:
    """Mesh a stack (Gmsh discrete entities on rank 0, distributed by DOLFINx).

    layers : bottom to top, StackLayer or (name, thickness, elements[, waviness]).
    interfaces : StackInterface (or (lower, upper) tuples / dicts) for the levels that get a
        band; lower/upper must be neighbouring layers in this order.
    x_nodes : optional increasing column positions from 0 to width (overrides elements_width),
        e.g. refined where contact patches will be.
    cell_type : "quadrilateral" (hexahedra in 3D) or, in 2D, "crossed_triangle".
    costs : {layer name: cost of a cell} for the partition on several ranks (partition.py).
    """
    layers = [_as_layer(layer) for layer in layers]
    interfaces = [_as_interface(spec) for spec in interfaces]
    _check_layers(layers, dim, depth, cell_type)
    band_at = _band_levels(layers, interfaces)
    X, Z = _columns(width, elements_width, x_nodes, dim, depth, elements_depth)
    base, band_height, layer_bottoms = _nominal_levels(layers, band_at)
    faces, bands = _level_faces(layers, band_at, base, band_height, X, Z, width, depth)
    elements = stack_elements(layers, faces, band_at, X, Z, dim, cell_type) \
        if comm.rank == 0 else None
    mesh_data = stack_mesh_data(elements, comm, dim, layers, cell_type, costs)
    top_lower, _ = faces[-1]
    return StackMesh(mesh=mesh_data.mesh, cell_tags=mesh_data.cell_tags,
                     facet_tags=mesh_data.facet_tags, physical_groups=mesh_data.physical_groups,
                     layers=layers, bands=bands, width=width, depth=depth,
                     height=float(np.max(top_lower)), cell_type=cell_type,
                     layer_bottoms=layer_bottoms)


def _check_layers(layers, dim: int, depth, cell_type: str):
    names = [layer.name for layer in layers]
    if len(set(names)) != len(names):
        raise ValueError(f"layer names must be unique, got {names}")
    if dim not in (2, 3):
        raise ValueError(f"dimension must be 2 or 3, got {dim}")
    if dim == 3 and not depth:
        raise ValueError("a 3D stack needs a depth (mm)")
    if cell_type not in ("quadrilateral", "crossed_triangle"):
        raise ValueError(f"cell_type must be 'quadrilateral' or 'crossed_triangle', "
                         f"got {cell_type!r}")
    if cell_type == "crossed_triangle" and dim == 3:
        raise ValueError("crossed triangles are a 2D option; 3D stacks use hexahedra")
    for layer in layers:
        if layer.waviness_mode not in ("thickness", "face"):
            raise ValueError(f"layer '{layer.name}': waviness_mode must be 'thickness' or "
                             f"'face', got {layer.waviness_mode!r}")
        if not layer.grading > 0.0:
            raise ValueError(f"layer '{layer.name}': grading must be > 0, got {layer.grading}")
        if not layer.thickness > 0.0 or int(layer.elements) < 1:
            raise ValueError(f"layer '{layer.name}': thickness must be > 0 mm and elements "
                             f">= 1, got {layer.thickness}, {layer.elements}")
    if not layers:
        raise ValueError("a stack needs at least one layer")


def _band_levels(layers, interfaces) -> dict:
    """{level k (1..n-1, the bottom of layer k): StackInterface} of the band interfaces."""
    names = [layer.name for layer in layers]
    band_at = {}
    for spec in interfaces:
        if spec.lower not in names or spec.upper not in names:
            raise ValueError(f"interface {spec.name}: unknown layer (layers: {names})")
        k = names.index(spec.upper)
        if k == 0 or names[k - 1] != spec.lower:
            raise ValueError(f"interface {spec.name}: '{spec.lower}' must be the layer right "
                             f"below '{spec.upper}' (layers bottom to top: {names})")
        if k in band_at:
            raise ValueError(f"interface {spec.name} listed twice")
        if spec.rough_face not in ("upper", "lower"):
            raise ValueError(f"interface {spec.name}: rough_face must be 'upper' or 'lower'")
        band_at[k] = spec
    return band_at


def _columns(width, elements_width, x_nodes, dim, depth, elements_depth):
    """(X, Z) of the node columns: x positions (nx+1,) in 2D (Z None), the (nx+1, nz+1) grids
    in 3D."""
    if x_nodes is None:
        xs = np.linspace(0.0, width, int(elements_width) + 1)
    else:
        xs = np.asarray(x_nodes, dtype=float)
        if xs.ndim != 1 or xs.size < 2 or np.any(np.diff(xs) <= 0.0) or \
                abs(xs[0]) > 1e-14 * width or abs(xs[-1] - width) > 1e-12 * width:
            raise ValueError("x_nodes must increase strictly from 0 to width")
        xs = xs.copy()
        xs[0], xs[-1] = 0.0, width
    if dim == 3:
        zs = np.linspace(0.0, depth, int(elements_depth) + 1)
        return np.meshgrid(xs, zs, indexing="ij")
    return xs.copy(), None


def _nominal_levels(layers, band_at: dict):
    """(base: nominal y of every level's lower face, band_height {k: h}, layer_bottoms
    {name: nominal y}): bands are added to the stack height, layers keep their thickness."""
    n = len(layers)
    band_height = {}
    y = 0.0
    layer_bottoms = {}
    base = [0.0] * (n + 1)
    for k, layer in enumerate(layers):
        base[k] = y
        if k in band_at:
            spec = band_at[k]
            h = spec.band_thickness if spec.band_thickness is not None else \
                spec.band_ratio * min(layer.thickness, layers[k - 1].thickness)
            if not h > 0.0:
                raise ValueError(f"interface {spec.name}: band thickness must be > 0 mm")
            band_height[k] = h
            y += h
        layer_bottoms[layer.name] = y
        y += layer.thickness
    base[n] = y
    return base, band_height, layer_bottoms


def _level_faces(layers, band_at, base, band_height, X, Z, width, depth):
    """(faces: (lower face, upper face) heights over the columns of every level, bottom to
    top; bands: {name: BandInfo}), after the waviness carried up from the layers below, the
    interface shape and the roughness gap g0 = max(r) - r of a band."""
    faces = []
    bands: dict[str, BandInfo] = {}
    lifted = np.zeros_like(X)       # thickness waviness of the layers below, carried upwards
    for k in range(len(layers) + 1):
        shape = lifted.copy()
        if k >= 1 and layers[k - 1].waviness is not None:
            wave = _heights(layers[k - 1].waviness, X, Z, width, depth)
            shape = shape + wave
            if layers[k - 1].waviness_mode == "thickness":
                lifted = lifted + wave
        spec = band_at.get(k)
        if spec is not None and spec.shape is not None:
            shape = shape + _heights(spec.shape, X, Z, width, depth)
        lower = base[k] + shape
        if spec is None:
            faces.append((lower, lower))
            continue
        g0 = np.zeros_like(X)
        if spec.roughness is not None:
            r = _heights(spec.roughness, X, Z, width, depth)
            g0 = r.max() - r
        h = band_height[k]
        if spec.rough_face == "upper":
            faces.append((lower, lower + h + g0))
        else:
            faces.append((lower - g0, lower + h))
        bands[spec.name] = BandInfo(spec.name, spec.lower, spec.upper, h, float(g0.max()),
                                    base[k])
    # every layer must keep a positive thickness in every column
    for k, layer in enumerate(layers):
        local = faces[k + 1][0] - faces[k][1]
        if np.min(local) <= 0.0:
            raise ValueError(f"layer '{layer.name}': the profiles leave it a thickness of "
                             f"{np.min(local):.3g} mm somewhere (roughness or waviness too "
                             "large for the layer)")
    return faces, bands
