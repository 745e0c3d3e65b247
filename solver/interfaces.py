r"""Zero-thickness interfaces between stack layers, represented by thin bands of cells.

Representation
--------------
An interface between two layers is a **band of one element through its thickness**
(``meshes.stack.build_stack``): its bottom nodes are the lower layer's top face, its top nodes
the upper layer's bottom face, paired in vertical columns (structured mesh, vertical element
edges). The band is h thick (default 1e-6 of the thinner neighbour: geometrically negligible)
plus, for a rough interface, the initial gap g0(X) >= 0, so its local height is H = h + g0.

With **degree-1 elements** (Q1 quadrilaterals/hexahedra, or P1 triangles) and vertical edges,
at fixed X a band cell is a straight vertical segment along which u is linear, so at *every*
point of the band

    Delta(X) = u(X, Y_top(X)) - u(X, Y_bottom(X)) = H(X) du/dY            (exact, any H > 0)

(for Q1, H(X) is the linear interpolant of the column heights, a nodal field; for the two P1
triangles of a band cell, H is the height of the triangle's vertical edge, a cell field, and
the jump is that column's nodal jump: a nodal, trapezoidal integration of the interface).
With degree 2 the band would have a mid-row of nodes that only the interface couples: under
softening or open contact those nodes carry no stiffness (a spurious mode, a singular matrix),
so the stack uses degree 1. The band cells get no bulk stiffness (P = A = 0).

Interface law at the band's quadrature points
---------------------------------------------
Frame: the reference tangent T_ref of the iso-eta lines of the band (eta = 0 on the bottom
face, 1 on the top face; T_ref = (1, -H d eta/dX) in 2D, T1 = (1, -H deta/dX, 0) and
T2 = (0, -H deta/dZ, 1) in 3D: the interface profile, exactly as meshed), pushed forward,
a = F T_ref; t = a/|a|, n = its normal pointing from the lower to the upper layer (2D:
n = (-t_y, t_x); 3D: n = a2 x a1 / |.|, t2 = t1 x n). The gap

    d = Delta + g0 e_Y,     g_n = d . n,     g_t = Delta . t        (local jump [g_n, g_t])

(g0 e_Y is the initial vertical opening of a rough interface; the band thickness h is not a
gap). The law (``materials.interface_*``, ``materials.cohesive_*``) returns the local traction
[t_n, t_t] (t_n > 0 resists opening, t_n < 0 is contact pressure) and its tangent; they are
stored in quadrature functions (the P_q/A_q pattern) and the interface contributes

    R = int_band  t . (Grad du e_Y) w dX,      t = t_n n + t_t t,    w = |T_ref| (2D),
                                                                      |T2 x T1| (3D)

which equals int_Gamma t . delta Delta dS over the interface (dS of the iso-eta surface:
dX dY = dS H / w and delta Delta = H Grad du e_Y). The consistent Jacobian is the law tangent
composed with d(g)/du (UFL derivative of the gap expressions) plus the frame-rotation part
(UFL derivative of R with the local tractions held fixed). Quadratic Newton convergence is
the check.

State per quadrature point (as for bulk regions): ``update`` computes a trial state from the
history of the step start inside every residual evaluation; ``commit`` keeps it once the step
is accepted. Augmented Lagrangian (contact laws with ``augment``): after Newton converges the
driver calls ``augment`` (Uzawa update of lambda_n on the step-start state) and re-solves until
the constraint violation (|g_n| at points in contact, and any penetration) is below its
tolerance.

MPI: each band cell carries both faces' nodes, so the pairing needs no communication; the
law acts point by point on each rank's cells, and reductions (contact fraction, maxima) sum
over the ranks' owned cells.

An optional ``regularisation`` spring k_r (MPa/mm) adds k_r (g - g_ref) (g_ref = the local
gap of the undeformed state) to the traction that is assembled (not to the reported law
traction): it keeps a layer that is held only by open frictionless contacts from being a
rigid-body mode of the Newton matrix (first touch of a rough interface, frictionless sliding
with free lateral edges). It transmits k_r x (the jump) of force: keep it ~1e-9 of the contact
penalty and report it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import basix.ufl
import dolfinx_solver  # noqa: F401  (loads MPI before dolfinx/petsc4py)
import numpy as np
import ufl
from dolfinx import fem
from dolfinx import mesh as dmesh
from mpi4py import MPI

from .interface_bands import band_fields, band_kinematics, interface_quadrature
from .interface_results import InterfaceResults
from .mechanics import write_quadrature_values


@dataclass
class InterfaceBand:
    """The cells of one band interface, its law and the state at its quadrature points."""

    name: str
    law: object
    cells: np.ndarray            # local cells (this rank's), sorted
    n_points: int
    regularisation: float = 0.0
    owned: np.ndarray = None     # bool (cells*points,): point of an owned cell
    area: np.ndarray = None      # interface area carried by each point (cells*points,)
    coordinates: np.ndarray = None   # reference X of the points (cells*points, gdim)
    g_ref: np.ndarray = None
    history: dict = None
    trial: dict = None
    jump: np.ndarray = None      # local [g_n, g_t(...)] at the last update
    traction: np.ndarray = None  # law traction at the last update
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        n = len(self.cells) * self.n_points
        self.history = self.law.initial_state(n)
        self.trial = {k: np.array(v, copy=True) for k, v in self.history.items()}

    @property
    def is_contact(self) -> bool:
        return hasattr(self.law, "augment")


def _copy_state(state):
    return {k: np.array(v, copy=True) for k, v in state.items()}


class InterfaceTerm(InterfaceResults):
    """The zero-thickness interfaces of a stack, as one term of a MechanicsProblem.

    problem : MechanicsProblem built with degree=1 and bands=(names of the band cell groups)
    stack_mesh : meshes.stack.StackMesh (band thicknesses and initial gaps)
    laws : {band name: interface law}
    regularisation : {band name: k_r in MPa/mm} (default 0)
    gap_tolerance : a point is in contact if t_n < 0 and g_n <= gap_tolerance (mm; None: any
        g_n, i.e. contact = compressive normal traction)
    quadrature : "gauss" (default: the problem's rule) or "nodal": the band's vertices with
        equal weights (FFCx "vertex" rule; trapezoidal along the interface), the classical
        cure for the traction oscillations of Gauss-integrated interface elements with a stiff
        penalty (Schellekens & de Borst, Int. J. Numer. Meth. Eng. 36:43, 1993): contact and
        damage then act column by column, and a closed pre-crack does not chatter between
        the two Gauss points of a cell.

    Construction, in order: the bands and their law state (``_add_bands``), the band
    geometry eta, H, g0 (``interface_bands.band_fields``), the forms (``_build_forms``), and
    the geometry and reference gap at the band points (``_locate_points``).
    """

    def __init__(self, problem, stack_mesh, laws: dict, regularisation: dict | None = None,
                 gap_tolerance: float | None = None, quadrature: str = "gauss"):
        mesh = problem.mesh
        self.problem = problem
        self.mesh = mesh
        self.comm = mesh.comm
        self.gdim = mesh.geometry.dim
        if problem.V.ufl_element().embedded_superdegree > 1:
            raise ValueError("band interfaces need degree-1 elements (MechanicsProblem(..., "
                             "degree=1)): with degree 2 the band's mid-row nodes are a "
                             "spurious mode under softening or open contact")
        self.gap_tolerance = gap_tolerance
        self.n_owned_cells = mesh.topology.index_map(mesh.topology.dim).size_local
        #: the band integrals' quadrature points (reference cell) and weights
        self.points, weights, metadata = interface_quadrature(problem, quadrature)
        self.quadrature = quadrature
        self._add_bands(laws, regularisation or {}, len(weights))
        geometry = band_fields(problem, self.bands, stack_mesh)
        self.eta, self.height, self.initial_gap = geometry.eta, geometry.height, \
            geometry.initial_gap
        self.column_pairs = geometry.column_pairs
        w = self._build_forms(geometry, weights, metadata)
        self._locate_points(weights, w)
        problem.add_interface(self)

    def _add_bands(self, laws: dict, regularisation: dict, n_points: int):
        """One InterfaceBand (law, sorted local cells, initial law state) per law."""
        band_cells = self.problem.band_cells
        self.bands: dict[str, InterfaceBand] = {}
        for name, law in laws.items():
            if name not in band_cells:
                raise KeyError(f"'{name}' is not a band of the problem (bands: "
                               f"{sorted(band_cells)})")
            cells = np.sort(band_cells[name]).astype(np.int32)
            self.bands[name] = InterfaceBand(name, law, cells, n_points,
                                             float(regularisation.get(name, 0.0)))
        self.all_cells = np.concatenate([b.cells for b in self.bands.values()]) \
            if self.bands else np.zeros(0, dtype=np.int32)
        offsets = np.cumsum([0] + [len(b.cells) for b in self.bands.values()])
        self._slices = {name: slice(offsets[k], offsets[k + 1])
                        for k, name in enumerate(self.bands)}

    def _build_forms(self, geometry, weights, metadata: dict):
        """The quadrature functions of the local traction T_q and tangent D_q, the residual
        int_band t . (Grad du e_Y) w dX and its consistent Jacobian, and the gap expression.
        Returns the UFL surface weight w."""
        problem, mesh, gdim = self.problem, self.mesh, self.gdim
        u = problem.u
        v = ufl.TestFunction(problem.V)
        du = ufl.TrialFunction(problem.V)
        dYv = ufl.as_vector([ufl.grad(v)[i, 1] for i in range(gdim)])
        g_loc, frame, w = band_kinematics(u, geometry, gdim)
        cell_name = mesh.topology.cell_name()
        rule = {"degree": problem.quadrature_degree} if self.quadrature == "gauss" else \
            {"points": self.points, "weights": weights}
        self.T_q = fem.Function(fem.functionspace(mesh, basix.ufl.quadrature_element(
            cell_name, value_shape=(gdim,), **rule)), name="interface_traction")
        self.D_q = fem.Function(fem.functionspace(mesh, basix.ufl.quadrature_element(
            cell_name, value_shape=(gdim, gdim), **rule)), name="interface_tangent")
        self.T_dofs = self.T_q.function_space.dofmap.list
        self.D_dofs = self.D_q.function_space.dofmap.list
        band_cells = np.unique(self.all_cells).astype(np.int32)
        band_tags = dmesh.meshtags(mesh, mesh.topology.dim, band_cells,
                                   np.ones(len(band_cells), dtype=np.int32))
        dxb = ufl.Measure("dx", domain=mesh, subdomain_data=band_tags, metadata=metadata)(1)

        def rotate(local):
            return sum((local[k] * frame[k] for k in range(1, gdim)), local[0] * frame[0])

        self.residual = ufl.inner(rotate(self.T_q), dYv) * w * dxb
        dg = ufl.derivative(g_loc, u, du)
        self.jacobian = ufl.derivative(self.residual, u, du) \
            + ufl.inner(rotate(ufl.dot(self.D_q, dg)), dYv) * w * dxb
        self._gap_expression = fem.Expression(g_loc, self.points)
        self._displacement_expression = None     # compiled on the first field write
        return w

    def _locate_points(self, weights, w):
        """Reference coordinates, carried interface area |det J| w / H x weight, reference
        local gap g_ref (the undeformed state) and ownership of every band point."""
        mesh, gdim = self.mesh, self.gdim
        area = abs(ufl.JacobianDeterminant(mesh)) * w / self.height
        X = ufl.SpatialCoordinate(mesh)
        geometry = fem.Expression(ufl.as_vector([X[i] for i in range(gdim)] + [area]),
                                  self.points)
        for band in self.bands.values():
            if len(band.cells):
                values = geometry.eval(mesh, band.cells)
                band.coordinates = values[..., :gdim].reshape(-1, gdim)
                band.area = (values[..., gdim] * weights[None, :]).reshape(-1)
                band.g_ref = self._gap_expression.eval(mesh, band.cells).reshape(-1, gdim)
            else:
                band.coordinates = np.zeros((0, gdim))
                band.area = np.zeros(0)
                band.g_ref = np.zeros((0, gdim))
            band.owned = np.repeat(band.cells < self.n_owned_cells, band.n_points)
            band.jump = band.g_ref.copy()
            band.traction = np.zeros_like(band.g_ref)

    # --- the update called in every material update ----------------------------------------------
    def update(self, problem):
        if len(self.all_cells) == 0:
            return
        gdim = self.gdim
        values = self._gap_expression.eval(self.mesh, self.all_cells)
        for name, band in self.bands.items():
            if len(band.cells) == 0:
                continue
            jump = values[self._slices[name]].reshape(-1, gdim)
            traction, tangent, state = band.law.update(jump, band.history, problem.dt)
            if not (np.all(np.isfinite(traction)) and np.all(np.isfinite(tangent))):
                raise FloatingPointError(f"non-finite traction on interface '{name}'")
            band.jump, band.traction, band.trial = jump, traction, state
            assembled, stiffness = traction, tangent
            if band.is_contact:
                # exactly touching (lambda_n + k_n g_n = 0, e.g. a conforming band at rest):
                # take the closed branch of the normal tangent (both are generalised
                # derivatives of the kink); with the open one the first Newton step of a stack
                # held only by its contacts would be a rigid-body jump
                k_n = band.law.normal_stiffness
                touching = band.history["lambda_n"] + k_n * jump[:, 0] == 0.0
                if np.any(touching):
                    stiffness = tangent.copy()
                    stiffness[touching, 0, 0] = k_n
            if band.regularisation > 0.0:
                assembled = traction + band.regularisation * (jump - band.g_ref)
                stiffness = stiffness + band.regularisation * np.eye(gdim)
            write_quadrature_values(self.T_q, self.T_dofs[band.cells], assembled, gdim)
            write_quadrature_values(self.D_q, self.D_dofs[band.cells],
                                      stiffness.reshape(len(assembled), -1), gdim * gdim)

    def commit(self):
        for band in self.bands.values():
            band.history = band.trial

    # --- step control -------------------------------------------------------------------------------
    def save_state(self):
        return {name: _copy_state(band.history) for name, band in self.bands.items()}

    def restore_state(self, saved):
        for name, band in self.bands.items():
            band.history = _copy_state(saved[name])

    def set_state(self, name: str, values: dict, where=None) -> int:
        """Overwrite history entries of band `name` before the first step, e.g. a pre-crack
        (a cohesive interface fully damaged over part of its length): `values` maps state
        keys to a value, `where(X)` selects points by their reference coordinates X (n, gdim)
        (None: every point). The trial state follows. Returns the number of points set on this
        rank (owned and ghost)."""
        band = self.bands[name]
        mask = np.ones(len(band.area), dtype=bool) if where is None else \
            np.asarray(where(band.coordinates), dtype=bool)
        for key, value in values.items():
            if key not in band.history:
                raise KeyError(f"band '{name}': the law's state has no entry {key!r} "
                               f"(has: {sorted(band.history)})")
            band.history[key][mask] = value
            band.trial[key][mask] = value
        return int(mask.sum())

    def augment(self) -> int:
        """Uzawa update lambda_n <- min(lambda_n + k_n g_n, 0) of every contact band, on the
        step-start state with the jump of the last update (the converged one). Returns the
        number of bands augmented."""
        count = 0
        for band in self.bands.values():
            if band.is_contact:
                if len(band.cells):
                    band.history = band.law.augment(band.jump, band.history)
                count += 1
        return count

    def constraint_violation(self, name: str | None = None) -> float:
        """Largest |g_n| at points in contact and largest penetration -g_n (mm) over the contact
        bands (or one band); collective."""
        worst = 0.0
        for key, band in self.bands.items():
            if (name is not None and key != name) or not band.is_contact or not len(band.cells):
                continue
            g_n = band.jump[:, 0]
            closed = band.traction[:, 0] < 0.0
            worst = max(worst, float(np.max(np.abs(g_n[closed]), initial=0.0)),
                        float(np.max(-g_n, initial=0.0)))
        return self.comm.allreduce(worst, op=MPI.MAX)

    def max_jump_change(self, displacement: np.ndarray) -> float:
        """Largest change |du_top - du_bottom| of the nodal jump over the band columns for a
        displacement increment given as a local array with ghosts (blocked); collective."""
        d = displacement.reshape(-1, self.gdim)
        if len(self.column_pairs):
            change = d[self.column_pairs[:, 1]] - d[self.column_pairs[:, 0]]
            worst = float(np.max(np.sqrt(np.sum(change ** 2, axis=1))))
        else:
            worst = 0.0
        return self.comm.allreduce(worst, op=MPI.MAX)
