"""Constriction (spreading) resistance of an interface that conducts only through contact patches.

Where an electrode touches a solid electrolyte only on patches (asperity tips, the parts of the
interface that the stack model finds closed, g_n = 0), the ionic current must crowd into those
patches. The potential phi in the electrolyte (conductivity kappa, current density
j = -kappa grad phi) solves

    div(kappa grad phi) = 0                     in the electrolyte,
    phi = V                                     on the contact patches (equipotential),
    kappa grad phi . n = 0                      on the open (gapped) parts of the interface,

and the resistance between the patches and a far equipotential is larger than the bulk value by
the *constriction resistance* R_c. Three estimates are provided:

1. ``holm_resistance`` -- circular spots on a half-space (3D): R = 1/(4 kappa a) for one spot of
   radius a (Holm 1967; seed 003), spots in parallel, optionally with Greenwood's (1966)
   first-order correction for the interaction of the spots.
2. ``strip_constriction_resistance`` -- the exact 2D result for a periodic array of equipotential
   strips on a deep layer, R_c = ln(1/sin(pi a / 2L)) / (pi kappa) per period and unit depth.
3. ``laplace_constriction`` -- a DOLFINx finite-element solve of the Laplace problem above in a
   2D rectangle for any set of conducting intervals (e.g. from the stack model's contact field),
   which also checks (2).

Units (project convention mm, N, MPa, s, plus the electrical ones): lengths in mm, conductivity
kappa in S/mm (1 mS/cm = 1e-4 S/mm), resistance in ohm for 3D spots; the 2D results are per unit
depth, in ohm mm (divide by the depth in mm to get ohm). The area-specific constriction resistance
of a 2D cell of width W is R_c * W, in ohm mm^2.
"""
from __future__ import annotations

from dataclasses import dataclass

import dolfinx_solver  # noqa: F401  (loads MPI before dolfinx/petsc4py)
import numpy as np
from mpi4py import MPI

from .meshes.gmsh_session import gmsh_model


# --- 3D: circular spots (Holm, Greenwood) ---------------------------------------------------------
def holm_resistance(patch_radii, conductivity: float, centres=None,
                    interaction: str = "none") -> float:
    """Constriction resistance of circular contact spots on one half-space of conductivity kappa.

    One equipotential circular spot of radius a on an otherwise insulating half-space, current
    leaving to infinity (Holm 1967, Electric Contacts, sec. 4; Maxwell; seed 003):

        R_i = 1 / (4 kappa a_i)                                           (one side)

    (Holm's familiar rho/(2a) is for two identical half-spaces, one constriction on each side;
    for a spot between two different bodies add ``holm_resistance(a, kappa_1)`` and
    ``holm_resistance(a, kappa_2)``.)

    interaction="none": the spots conduct in parallel and do not see each other,

        1/R = sum_i 4 kappa a_i,         R = 1 / (4 kappa sum_i a_i).

    This ignores the interaction of the spots' fields and therefore *underestimates* R once the
    spot spacing is not large against the spot radii (for a dense cluster the current crowds into
    the cluster as a whole: the cluster radius, not sum a_i, controls R).

    interaction="greenwood": Greenwood's (1966, Br. J. Appl. Phys. 17, 1621) first-order
    correction. Far from spot j, the potential it causes is I_j / (2 pi kappa r); taking the spot
    currents in the proportion of the isolated spots, I_i = I a_i / sum a, the energy (mutual
    resistance) estimate is

        R = 1/(4 kappa sum_i a_i) + (1/(2 pi kappa)) sum_{i != j} a_i a_j / (s_ij (sum_k a_k)^2),

    s_ij the centre distances (``centres``, shape (n, 2) or (n, 3), mm). This is Greenwood's
    formula rho/(2 sum a) + (rho/pi) sum_{i!=j} a_i a_j / (s_ij (sum a)^2) for two identical
    half-spaces, halved for one side. Valid when the spots are small against their spacing
    (s_ij >> a_i + a_j); it still ignores the finite thickness of the layer.

    Returns R in ohm (a in mm, kappa in S/mm); inf when there is no spot.
    """
    a = np.atleast_1d(np.asarray(patch_radii, dtype=float)).ravel()
    if conductivity <= 0.0:
        raise ValueError(f"conductivity must be positive, got {conductivity}")
    if np.any(a < 0.0):
        raise ValueError("patch radii must be non-negative")
    total = a.sum()
    if total == 0.0:
        return float("inf")
    resistance = 1.0 / (4.0 * conductivity * total)
    if interaction == "none":
        return float(resistance)
    if interaction != "greenwood":
        raise ValueError(f"interaction must be 'none' or 'greenwood', got {interaction!r}")
    if centres is None:
        raise ValueError("the Greenwood correction needs the spot centres")
    x = np.asarray(centres, dtype=float).reshape(len(a), -1)
    distance = np.linalg.norm(x[:, None, :] - x[None, :, :], axis=-1)
    off_diagonal = ~np.eye(len(a), dtype=bool)
    if np.any(distance[off_diagonal] <= 0.0):
        raise ValueError("two spots share a centre")
    pair = np.outer(a, a)[off_diagonal] / distance[off_diagonal]
    resistance += pair.sum() / (2.0 * np.pi * conductivity * total**2)
    return float(resistance)


# --- 2D: periodic strips (closed form) --------------------------------------------------------
def strip_constriction_resistance(a, L, conductivity: float):
    """Constriction resistance of a periodic array of equipotential strips on a deep layer (2D).

    Strips of half-width a at period 2L on the face y = 0 of a layer of thickness H >> L,
    insulating between the strips, far face y = H equipotential. Per period and unit depth:

        R_c = ln(1 / sin(pi a / (2L))) / (pi kappa),     R = H / (2 L kappa) + R_c.

    Derivation (conformal map). By symmetry one period is the half-strip |x| < L, y > 0 with
    insulating walls x = +-L. zeta = sin(pi z / (2L)), z = x + iy, maps it onto the upper half
    zeta-plane: the base [-L, L] onto [-1, 1], the walls onto |Re zeta| > 1, the contact |x| < a
    onto [-s, s] with s = sin(pi a / (2L)). There the complex potential w = arccosh(zeta / s)
    = u + i v has u = 0 on [-s, s], v = 0 or pi on the rest of the real axis (insulating
    streamlines), so phi = V (1 - u / u_H) with u_H the value of u on the far face. For large y,
    |zeta| = e^(pi y / 2L) / 2 (1 + O(e^(-pi y / L))) and u = ln(2 |zeta| / s) + O(|zeta|^-2),
    so u_H = pi H / (2L) + ln(1/s) + O(e^(-pi H / L)). The stream function changes by pi across
    the channel, so I = kappa pi V / u_H and R = V / I = u_H / (pi kappa); subtracting the
    bulk resistance H / (2L kappa) leaves R_c above, exact up to O(e^(-pi H / L))
    (H = 4L: 3.5e-6 relative). Checked here against ``laplace_constriction`` (tests).

    The same 2D flux-channel result with an isothermal contact strip appears in the thermal
    contact literature (Veziroglu & Chandra 1969, Prog. Astronaut. Aeronaut. 21; Yovanovich &
    Marotta 2003, "Thermal spreading and contact resistances", in Bejan & Kraus, Heat Transfer
    Handbook, ch. 4; Muzychka & Yovanovich 2023) in the form k R' = ln(1/sin(pi eps/2)) / pi,
    eps = a/L. For small contacts, R_c -> ln(2L / (pi a)) / (pi kappa): unlike the 3D Holm
    spot, a 2D strip's resistance grows only logarithmically as it shrinks.

    a, L in mm (arrays broadcast), kappa in S/mm; returns ohm mm (per unit depth), 0 for full
    contact (a = L) and inf for a = 0.
    """
    a = np.asarray(a, dtype=float)
    L = np.asarray(L, dtype=float)
    if conductivity <= 0.0:
        raise ValueError(f"conductivity must be positive, got {conductivity}")
    if np.any(L <= 0.0) or np.any(a < 0.0) or np.any(a > L * (1.0 + 1e-12)):
        raise ValueError("need 0 <= a <= L and L > 0")
    fraction = np.minimum(a / L, 1.0)
    with np.errstate(divide="ignore"):
        result = -np.log(np.sin(0.5 * np.pi * fraction)) / (np.pi * conductivity)
    result = np.where(fraction >= 1.0, 0.0, result)
    return float(result) if result.ndim == 0 else result


# --- 2D: finite-element Laplace solve ---------------------------------------------------------
def merge_intervals(intervals, x_min: float, x_max: float) -> list[tuple[float, float]]:
    """Clip intervals to [x_min, x_max], drop empty ones, sort and merge overlapping ones."""
    clipped = sorted((max(float(lo), x_min), min(float(hi), x_max)) for lo, hi in intervals)
    merged: list[list[float]] = []
    tol = 1e-12 * (x_max - x_min)
    for lo, hi in clipped:
        if hi - lo <= tol:
            continue
        if merged and lo <= merged[-1][1] + tol:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return [(lo, hi) for lo, hi in merged]


def build_constriction_mesh(width: float, thickness: float, conducting_intervals,
                            h_far: float | None = None, h_edge: float | None = None,
                            grading: float = 0.2, comm: MPI.Comm = MPI.COMM_WORLD):
    """Triangle mesh of the electrolyte rectangle [0, width] x [0, thickness], graded to the
    patch edges.

    The bottom edge is split at the ends of the conducting intervals, so that every patch is a
    union of facets. Near a patch edge inside the bottom edge the potential behaves like
    r^(1/2) (equipotential meeting insulation at a straight angle: grad phi ~ r^(-1/2)), so the
    element size grows linearly with the distance d to the nearest such edge,

        h(d) = min(h_far, h_edge + grading * d),

    (Gmsh Distance + Threshold fields; linear growth = a geometric progression of element
    layers, the number of layers growing only like ln(h_far / h_edge) / grading). Patch ends
    on the corners x = 0 or x = width are not singular (a straight-angle Dirichlet-Neumann
    corner reflects to a smooth field) and are not refined.

    Defaults: h_far = min(width, thickness) / 10, h_edge = h_far / 1000 (P2: R_c within
    about 1e-4 of the strip closed form; the error of R_c scales like h_edge, see the tests).
    Physical groups: "electrolyte" (2D), "contact", "interface_open", "top", "sides" (1D).
    Built on rank 0 and distributed; returns dolfinx.io.gmsh.MeshData.
    """
    from dolfinx.io import gmsh as gmshio

    if width <= 0.0 or thickness <= 0.0:
        raise ValueError("width and thickness must be positive")
    h_far = h_far or min(width, thickness) / 10.0
    h_edge = h_edge or h_far / 1000.0
    intervals = merge_intervals(conducting_intervals, 0.0, width)
    tol = 1e-9 * width
    sizing = ("Mesh.MeshSizeMax", "Mesh.MeshSizeExtendFromBoundary", "Mesh.MeshSizeFromPoints",
              "Mesh.MeshSizeFromCurvature")
    with gmsh_model("constriction", restore_options=("General.Terminal", *sizing)) as model:
        if comm.rank == 0:
            breaks, bottom_points = _constriction_rectangle(model, width, thickness, intervals)
            singular = [p for p, x in zip(bottom_points, breaks) if tol < x < width - tol]
            _grade_to_patch_edges(model, singular, h_far, h_edge, grading)
            model.mesh.generate(2)
        return gmshio.model_to_mesh(model, comm, 0, gdim=2)


def _constriction_rectangle(model, width: float, thickness: float, intervals):
    """The rectangle with its bottom edge split at the interval ends, and its physical groups;
    returns (breaks: x of the bottom points, bottom point tags)."""
    geo = model.geo
    breaks = sorted({0.0, width, *[x for iv in intervals for x in iv]})
    bottom_points = [geo.addPoint(x, 0.0, 0.0) for x in breaks]
    top_right = geo.addPoint(width, thickness, 0.0)
    top_left = geo.addPoint(0.0, thickness, 0.0)
    contact, open_, edges = [], [], []
    for p, q, x0, x1 in zip(bottom_points[:-1], bottom_points[1:], breaks[:-1], breaks[1:]):
        line = geo.addLine(p, q)
        middle = 0.5 * (x0 + x1)
        (contact if any(lo <= middle <= hi for lo, hi in intervals) else open_).append(line)
        edges.append(line)
    right = geo.addLine(bottom_points[-1], top_right)
    top = geo.addLine(top_right, top_left)
    left = geo.addLine(top_left, bottom_points[0])
    loop = geo.addCurveLoop([*edges, right, top, left])
    surface = geo.addPlaneSurface([loop])
    geo.synchronize()
    model.addPhysicalGroup(2, [surface], name="electrolyte")
    if contact:
        model.addPhysicalGroup(1, contact, name="contact")
    if open_:
        model.addPhysicalGroup(1, open_, name="interface_open")
    model.addPhysicalGroup(1, [top], name="top")
    model.addPhysicalGroup(1, [left, right], name="sides")
    return breaks, bottom_points


def _grade_to_patch_edges(model, singular: list, h_far: float, h_edge: float,
                          grading: float):
    """Element size min(h_far, h_edge + grading d), d the distance to the nearest point of
    `singular` (Gmsh Distance + Threshold background field); h_far everywhere without one."""
    import gmsh

    gmsh.option.setNumber("Mesh.MeshSizeMax", h_far)
    if not singular:
        return
    field = model.mesh.field
    distance = field.add("Distance")
    field.setNumbers(distance, "PointsList", singular)
    threshold = field.add("Threshold")
    field.setNumber(threshold, "InField", distance)
    field.setNumber(threshold, "SizeMin", h_edge)
    field.setNumber(threshold, "SizeMax", h_far)
    field.setNumber(threshold, "DistMin", 0.0)
    field.setNumber(threshold, "DistMax", (h_far - h_edge) / grading)
    field.setAsBackgroundMesh(threshold)
    gmsh.option.setNumber("Mesh.MeshSizeExtendFromBoundary", 0)
    gmsh.option.setNumber("Mesh.MeshSizeFromPoints", 0)
    gmsh.option.setNumber("Mesh.MeshSizeFromCurvature", 0)


@dataclass
class ConstrictionResult:
    """Result of ``laplace_constriction`` (2D, per unit depth; potential difference 1 V)."""

    current: float                   # I, A/mm: kappa int |grad phi|^2 dx (consistent flux)
    current_top_edge: float          # -kappa int_top grad phi . n ds, A/mm (direct flux)
    resistance: float                # R = 1 / I, ohm mm
    bulk_resistance: float           # H / (kappa W), ohm mm
    constriction_resistance: float   # R - H / (kappa W), ohm mm
    contact_fraction: float          # conducting length / W
    width: float                     # W, mm
    thickness: float                 # H, mm
    cells: int                       # global number of cells
    dofs: int                        # global number of potential dofs

    @property
    def area_specific_constriction_resistance(self) -> float:
        """R_c W, ohm mm^2 (the constriction part of the interface's area-specific resistance)."""
        return self.constriction_resistance * self.width


def laplace_constriction(conducting_intervals, conductivity: float = 1.0, *,
                         width: float | None = None, thickness: float | None = None,
                         mesh=None, degree: int = 2, h_far: float | None = None,
                         h_edge: float | None = None, grading: float = 0.2,
                         comm: MPI.Comm = MPI.COMM_WORLD,
                         petsc_options: dict | None = None) -> ConstrictionResult:
    """Constriction resistance of a 2D electrolyte layer that conducts through bottom patches.

    Rectangle [x0, x0 + W] x [y0, y0 + H] (per unit depth). With phi the potential:

        -div(kappa grad phi) = 0   in the layer,
        phi = 1   on the conducting intervals of the bottom edge (the closed contact),
        phi = 0   on the top edge,
        kappa grad phi . n = 0   on the rest of the bottom edge (gaps) and on the sides
                                 (reflecting walls: a symmetric cell of a periodic array).

    Weak form, Lagrange P`degree` (P2 by default): find phi with those Dirichlet values such
    that  int kappa grad phi . grad v dx = 0  for all v vanishing on the Dirichlet edges.
    The current (A/mm, for 1 V) is evaluated two ways:

        I     = kappa int |grad phi_h|^2 dx          (the consistent, variational flux: equal
                                                      to the flux through the top edge for the
                                                      exact solution; converges at twice the
                                                      rate of the energy norm; R = 1/I.)
        I_top = -kappa int_top grad phi_h . n ds      (direct flux through the top edge, as a
                                                      check; less accurate on coarse meshes)

    Because the discrete Dirichlet problem minimises the energy over a subspace, I >= I_exact,
    so R = 1/I and R_c = R - H/(kappa W) approach the exact values from *below*.

    Geometry: either a ``mesh`` (any 2D dolfinx mesh of a rectangle; W, H and the origin are
    taken from its bounding box; a bottom facet conducts when its midpoint lies in an interval,
    so interval ends should be mesh vertices), or ``width`` and ``thickness`` (mm), for which
    ``build_constriction_mesh`` makes a mesh graded to the patch edges (h_far, h_edge, grading).
    ``conducting_intervals`` are (x_start, x_end) pairs in mm, in the mesh's x coordinates.

    Collective on ``comm`` (the mesh's communicator when a mesh is given): every rank returns
    the same numbers; nothing is printed.
    """
    if conductivity <= 0.0:
        raise ValueError(f"conductivity must be positive, got {conductivity}")
    if mesh is None:
        if width is None or thickness is None:
            raise ValueError("give a mesh, or width and thickness to build one")
        mesh = build_constriction_mesh(width, thickness, conducting_intervals, h_far=h_far,
                                       h_edge=h_edge, grading=grading, comm=comm).mesh
    x0, x1, y0, y1 = _bounding_box(mesh)
    W, H = x1 - x0, y1 - y0
    tol = 1e-9 * max(W, H)
    intervals = merge_intervals(conducting_intervals, x0, x1)
    contact, top = _patch_and_top_facets(mesh, intervals, y0, y1, tol)
    current, current_top, V = _patch_current(mesh, conductivity, contact, top, degree,
                                             petsc_options)
    contact_length = sum(hi - lo for lo, hi in intervals)
    bulk = H / (conductivity * W)
    resistance = 1.0 / current if current > 0.0 else float("inf")
    cell_map = mesh.topology.index_map(mesh.topology.dim)
    return ConstrictionResult(
        current=current, current_top_edge=current_top, resistance=resistance,
        bulk_resistance=bulk, constriction_resistance=resistance - bulk,
        contact_fraction=contact_length / W, width=W, thickness=H,
        cells=cell_map.size_global,
        dofs=V.dofmap.index_map.size_global * V.dofmap.index_map_bs)


def _bounding_box(mesh) -> tuple[float, float, float, float]:
    """(x0, x1, y0, y1) of the mesh's nodes over all ranks."""
    comm = mesh.comm
    x = mesh.geometry.x
    return (comm.allreduce(float(x[:, 0].min()), op=MPI.MIN),
            comm.allreduce(float(x[:, 0].max()), op=MPI.MAX),
            comm.allreduce(float(x[:, 1].min()), op=MPI.MIN),
            comm.allreduce(float(x[:, 1].max()), op=MPI.MAX))


def _patch_and_top_facets(mesh, intervals, y0: float, y1: float, tol: float):
    """(contact: the bottom facets whose midpoint lies in a conducting interval, top: the
    facets of the top edge), local facet indices."""
    from dolfinx import mesh as dmesh

    fdim = mesh.topology.dim - 1
    mesh.topology.create_connectivity(fdim, fdim + 1)
    bottom = dmesh.locate_entities_boundary(mesh, fdim, lambda p: np.abs(p[1] - y0) < tol)
    top = dmesh.locate_entities_boundary(mesh, fdim, lambda p: np.abs(p[1] - y1) < tol)
    middle = dmesh.compute_midpoints(mesh, fdim, bottom)[:, 0]
    in_contact = np.zeros(len(bottom), dtype=bool)
    for lo, hi in intervals:
        in_contact |= (middle >= lo - tol) & (middle <= hi + tol)
    return bottom[in_contact], top


def _patch_current(mesh, conductivity: float, contact, top, degree: int,
                   petsc_options: dict | None):
    """Solve for phi (1 on `contact`, 0 on `top`, insulated elsewhere) and return (I: the
    consistent current kappa int |grad phi|^2 dx, I_top: the flux through the top edge, V:
    the potential's space)."""
    import ufl
    from dolfinx import fem
    from dolfinx import mesh as dmesh
    from dolfinx.fem.petsc import LinearProblem

    comm = mesh.comm
    fdim = mesh.topology.dim - 1
    V = fem.functionspace(mesh, ("Lagrange", degree))
    bcs = [fem.dirichletbc(np.float64(1.0), fem.locate_dofs_topological(V, fdim, contact), V),
           fem.dirichletbc(np.float64(0.0), fem.locate_dofs_topological(V, fdim, top), V)]
    kappa = fem.Constant(mesh, np.float64(conductivity))
    phi_, v = ufl.TrialFunction(V), ufl.TestFunction(V)
    a = kappa * ufl.inner(ufl.grad(phi_), ufl.grad(v)) * ufl.dx
    rhs = fem.Constant(mesh, np.float64(0.0)) * v * ufl.dx
    options = {"ksp_type": "preonly", "pc_type": "lu", "pc_factor_mat_solver_type": "mumps"}
    options.update(petsc_options or {})
    problem = LinearProblem(a, rhs, bcs=bcs, petsc_options=options,
                            petsc_options_prefix="nipstack_constriction_")
    phi = problem.solve()
    reason = problem.solver.getConvergedReason()
    if reason <= 0:
        raise RuntimeError(f"the constriction Laplace solve failed (KSP reason {reason})")

    top_tags = dmesh.meshtags(mesh, fdim, np.sort(top).astype(np.int32),
                              np.ones(len(top), dtype=np.int32))
    ds = ufl.Measure("ds", domain=mesh, subdomain_data=top_tags)
    n = ufl.FacetNormal(mesh)

    def total(form):
        return comm.allreduce(fem.assemble_scalar(fem.form(form)), op=MPI.SUM)

    current = total(kappa * ufl.inner(ufl.grad(phi), ufl.grad(phi)) * ufl.dx)
    current_top = total(-kappa * ufl.dot(ufl.grad(phi), n) * ds(1))
    del problem   # its __del__ frees the PETSc matrix, vectors and solver
    return current, current_top, V
