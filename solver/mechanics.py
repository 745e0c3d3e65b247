"""Quasi-static finite-strain equilibrium on a DOLFINx mesh, total Lagrangian.

Weak form (reference configuration Omega_0, first Piola-Kirchhoff stress P = tau F^-T):

    R(u; v) = int_Omega0  P(F) : Grad v  dX  +  sum over contact terms  = 0     for all v,
    J(u; du, v) = int_Omega0  (A : Grad du) : Grad v  dX  +  d(contact terms),  A = dP/dF,

with F = I + Grad u. P and A are quadrature functions filled by the constitutive update
(``nipstack.kinematics.stress_update``) region by region; the update runs inside every residual
evaluation, on owned *and ghost* cells, so Newton always sees a consistent state. The `dx`
quadrature degree equals the degree of the quadrature spaces (2 x element degree).

Material history (Cp^-1 and the law's variables) is kept per region as NumPy arrays of shape
(cells, points, ...). ``update_material`` computes a trial state from the step-start history;
``commit`` makes it the new history once the step has converged.

A law with a ``bind_coordinates(state, X)`` method (a position-dependent eigenstrain) gets the
reference coordinates of its quadrature points once, when the regions are built.

Interface terms (``nipstack.interfaces.InterfaceTerm``, the stack's zero-thickness interfaces
represented by thin bands of cells): the band cell groups are named in ``bands`` and carry no
bulk material (P = A = 0 there); each term added with ``add_interface`` contributes its own
residual and Jacobian forms, is updated inside ``update_material`` after the bulk regions and
is committed with them.
"""
from __future__ import annotations

from dataclasses import dataclass

import basix.ufl
import dolfinx_solver  # noqa: F401  (loads MPI before dolfinx/petsc4py)
import numpy as np
import ufl
from dolfinx import fem
from mpi4py import MPI

from .jit_cache import prepare as prepare_jit_cache
from .kinematics import initial_plastic_metric_inverse, porosity_from_jacobian, stress_update
from .kinematics_kernels import deformation_gradients, scatter_point_values
from .linear_solver import problem_linear_solver
from .materials.base import equivalent_stress, mean_stress
from .threads import spread_over_threads


class StepFailure(RuntimeError):
    """A load step could not be completed (raised on every rank at once)."""


class RunIncomplete(RuntimeError):
    """The run stopped before the end (cut-backs exhausted); partial results were kept."""


def write_quadrature_values(function, dofs, values, block: int):
    """Put point values (cells, points, block) into a quadrature-space function whose dofs of
    each cell's points are `dofs` (cells, points)."""
    n_cells, n_points = dofs.shape
    values = values.reshape(n_cells, n_points, block)
    array = function.x.array.reshape(-1, block)
    array[dofs.ravel()] = values.reshape(-1, block)


def constrained_modulus(law) -> float:
    """Oedometric modulus M = E (1-nu)/((1+nu)(1-2nu)) of the virgin material, MPa."""
    youngs, nu = law.virgin_elastic_moduli()
    return youngs * (1 - nu) / ((1 + nu) * (1 - 2 * nu))


def _check_porosity(region, J):
    """A porous region's porosity 1 - (1 - porosity0) / J must stay >= 0: below, the
    deformation has compressed more than the pores hold (J < 1 - porosity0), a state that solid
    mass conservation forbids. Inadmissible: the Newton iterate or the step fails."""
    porosity0 = float(region.law.initial_porosity)
    if porosity0 > 0.0 and J.size and J.min() < 1.0 - porosity0:
        raise FloatingPointError(
            f"porosity limit: porosity {porosity_from_jacobian(J.min(), porosity0):.2e} < 0 "
            f"in region "
            f"'{region.name}' (det F = {J.min():.4f} < 1 - porosity0 = {1.0 - porosity0:.4f}): "
            f"the load compacts the layer past fully dense")


def warm_started(region) -> dict:
    """The history a region's update starts from: the step's start, with the entries its law
    carries from one Newton iterate to the next (`iterate_keys`: the DPC's local solution,
    which starts its local Newton near the answer) taken from the latest trial update."""
    keys = getattr(region.law, "iterate_keys", ())
    if not keys:
        return region.history
    return {**region.history, **{key: region.trial_history[key] for key in keys}}


@dataclass
class Region:
    """The cells of one named region and the material state at their quadrature points."""

    name: str
    law: object
    cells: np.ndarray                 # local cell indices, owned + ghost
    n_points: int                     # quadrature points per cell
    metric_inverse: np.ndarray = None  # Cp^-1, (cells*points, 3, 3)
    history: dict = None
    trial_metric_inverse: np.ndarray = None
    trial_history: dict = None
    tau: np.ndarray = None            # Kirchhoff stress of the trial state, Mandel (n, 6)
    J: np.ndarray = None              # det F of the trial state (n,)
    deferred_tangent: object = None   # what dP/dF of the trial state needs (DeferredTangent)
    P_dofs: np.ndarray = None         # block dofs of its points in the P and dP/dF functions
    A_dofs: np.ndarray = None

    def __post_init__(self):
        n = len(self.cells) * self.n_points
        self.metric_inverse = initial_plastic_metric_inverse(n)
        self.history = self.law.initial_state(n)
        self.trial_metric_inverse = self.metric_inverse.copy()
        self.trial_history = {k: v.copy() for k, v in self.history.items()}
        self.tau = np.zeros((n, 6))
        self.J = np.ones(n)


@dataclass
class ContactTerm:
    """A boundary term added to the residual (its Jacobian is derived by UFL)."""

    residual: ufl.Form
    force: ufl.Form          # platen force, N (3D) or N/mm (2D, per unit depth)
    penetration: ufl.Form    # integral of the penetration, for the maximum-penetration check
    measure_length: ufl.Form  # integral of 1 over the contact boundary
    position: fem.Constant = None        # the platen position x_p (an unknown under force control)
    residual_position_derivative: ufl.Form = None   # dR/dx_p, a vector form
    force_displacement_derivative: ufl.Form = None  # dF/du, a vector form
    force_position_derivative: ufl.Form = None      # dF/dx_p, a scalar form
    symmetric: bool = True   # frictionless penalty: its Jacobian is an energy's Hessian


def _flatten(tensor, gdim):
    return ufl.as_vector([tensor[i, j] for i in range(gdim) for j in range(gdim)])


class MechanicsProblem:
    """Finite-strain quasi-static problem on a mesh with named regions."""

    def __init__(self, mesh_data, region_laws: dict, degree: int = 2,
                 petsc_options: dict | None = None, bands: tuple = ()):
        self.mesh = mesh_data.mesh
        self.comm = self.mesh.comm
        self._warnings: dict = {}           # admissibility notes of the accepted states
        prepare_jit_cache()                 # a killed run's unfinished compilations
        self.gdim = self.mesh.geometry.dim
        self.groups = mesh_data.physical_groups
        self.cell_tags = mesh_data.cell_tags
        self.facet_tags = mesh_data.facet_tags
        gdim = self.gdim

        self.V = fem.functionspace(self.mesh, ("Lagrange", degree, (gdim,)))
        self.u = fem.Function(self.V, name="displacement")
        self.quadrature_degree = 2 * degree
        cell_name = self.mesh.topology.cell_name()
        self.P_q = fem.Function(fem.functionspace(self.mesh, basix.ufl.quadrature_element(
            cell_name, value_shape=(gdim, gdim), degree=self.quadrature_degree)))
        self.A_q = fem.Function(fem.functionspace(self.mesh, basix.ufl.quadrature_element(
            cell_name, value_shape=(gdim * gdim, gdim * gdim), degree=self.quadrature_degree)))
        self.points, self.weights = basix.make_quadrature(
            getattr(basix.CellType, cell_name), self.quadrature_degree)
        n_points = len(self.weights)
        self.dx = ufl.Measure("dx", domain=self.mesh, metadata={
            "quadrature_degree": self.quadrature_degree, "quadrature_scheme": "default"})
        self.ds = ufl.Measure("ds", domain=self.mesh, subdomain_data=self.facet_tags)
        self.F_expression = fem.Expression(ufl.Identity(gdim) + ufl.grad(self.u), self.points)

        tdim = self.mesh.topology.dim
        cell_map = self.mesh.topology.index_map(tdim)
        self.n_local_cells = cell_map.size_local + cell_map.num_ghosts
        self.regions: list[Region] = []
        covered = np.zeros(self.n_local_cells, dtype=bool)
        for name, law in region_laws.items():
            tag = self.region_tag(name, tdim)
            cells = spread_over_threads(self.cell_tags.find(tag).astype(np.int32))
            covered[cells] = True
            self.regions.append(Region(name, law, cells, n_points))
        self._bind_coordinates()
        self._load_kernels()
        self.band_cells = {}            # band name -> local cells (owned + ghost), no material
        for name in bands:
            cells = self.cell_tags.find(self.region_tag(name, tdim)).astype(np.int32)
            covered[cells] = True
            self.band_cells[name] = cells
        if not self.comm.allreduce(bool(covered.all()), op=MPI.LAND):
            raise ValueError("some cells of the mesh belong to no region with a material")

        self.P_dofs = self.P_q.function_space.dofmap.list   # (cells, points)
        self.A_dofs = self.A_q.function_space.dofmap.list
        for region in self.regions:
            region.P_dofs = np.ascontiguousarray(self.P_dofs[region.cells].ravel())
            region.A_dofs = np.ascontiguousarray(self.A_dofs[region.cells].ravel())
        # every region's cells in one list, so that F is evaluated in one call per update
        self._material_cells = np.concatenate(
            [region.cells for region in self.regions]).astype(np.int32)
        self._region_offsets = np.cumsum([0] + [len(region.cells) for region in self.regions])
        # the entries of P (3x3, row by row) and of dP/dF the forms read
        in_plane = [3 * i + j for i in range(gdim) for j in range(gdim)]
        self._P_columns = np.array(in_plane, dtype=np.int64)
        self._A_columns = np.arange(gdim ** 4, dtype=np.int64)
        self.dt = 0.0
        self.contacts: list[ContactTerm] = []
        self.interfaces: list = []     # interface terms (residual, jacobian, update, commit)
        self.bcs: list[fem.DirichletBC] = []
        self.petsc_options = problem_linear_solver(self.V, degree, petsc_options)
        self.petsc_options_given = bool(petsc_options)
        self._forms = None
        self._tangent_current = True    # A_q holds the tangent of the last material update

    def _bind_coordinates(self):
        """Laws whose response depends on where a point is (``bind_coordinates(state, X)``,
        e.g. a concentration profile in ``materials.swelling``) get the reference coordinates
        X (points, gdim) of their quadrature points once, stored in their history."""
        expression = None
        for region in self.regions:
            bind = getattr(region.law, "bind_coordinates", None)
            if bind is None:
                continue
            if expression is None:
                expression = fem.Expression(ufl.SpatialCoordinate(self.mesh), self.points)
            X = expression.eval(self.mesh, region.cells).reshape(-1, self.gdim) if \
                len(region.cells) else np.zeros((0, self.gdim))
            region.history = bind(region.history, X)
            region.trial_history = {k: v.copy() for k, v in region.history.items()}

    def _load_kernels(self):
        """Run the first point of every region through its law's compiled update and tangent.
        Numba loads a kernel from its cache (or compiles it) at the first call: ~0.3 s for the
        DPC and the finite-strain layer, which would otherwise land in the first Newton
        iteration; here it is part of the set-up, like the form compilation. The problem's
        state is not touched."""
        for region in self.regions:
            if len(region.cells) == 0:
                continue
            first_point = {key: value[:1] for key, value in region.history.items()}
            _, tangent, *_ = stress_update(region.law, np.eye(3)[None].copy(),
                                           region.metric_inverse[:1], first_point, 1.0,
                                           with_tangent=False, in_plane=self.gdim == 2)
            tangent.compute()

    # --- names -> tags ---------------------------------------------------------------
    def region_tag(self, name: str, dim: int) -> int:
        group = self.groups.get(name)
        if group is None or group.dim != dim:
            known = sorted(k for k, g in self.groups.items() if g.dim == dim)
            raise KeyError(f"the mesh has no {dim}D physical group named '{name}' (has: {known})")
        return group.tag

    def boundary_facets(self, name: str) -> np.ndarray:
        return self.facet_tags.find(self.region_tag(name, self.gdim - 1))

    # --- boundary conditions and contact ------------------------------------------------
    def fix_component(self, boundary: str, component: int, value: float = 0.0):
        """u_component = value on a named boundary (a frictionless support or symmetry plane)."""
        facets = self.boundary_facets(boundary)
        sub = self.V.sub(component)
        dofs = fem.locate_dofs_topological(sub, self.gdim - 1, facets)
        self.bcs.append(fem.dirichletbc(np.float64(value), dofs, sub))

    def node_bc(self, point, component: int, value=0.0):
        """u_component = value (a float or a fem.Constant) at the displacement node nearest to
        `point` (mm; gdim coordinates; a vertex or, for P2, an edge midpoint): a pin or a
        guide. Every rank picks the same node (the global nearest; a tie goes to the lowest
        rank and local index). Returns (the DirichletBC, this rank's dofs in V); the caller
        decides where the condition goes (self.bcs or a set it switches)."""
        sub = self.V.sub(component)
        collapsed, _ = sub.collapse()
        x = collapsed.tabulate_dof_coordinates()[:, :self.gdim]
        target = np.asarray(point, dtype=float)[:self.gdim]
        distance = np.linalg.norm(x - target, axis=1) if len(x) else np.zeros(0)
        local = (float(distance.min()), self.comm.rank) if len(x) else (np.inf, self.comm.rank)
        _, owner = min(self.comm.allgather(local))
        nearest = self.comm.bcast(x[int(np.argmin(distance))] if self.comm.rank == owner
                                  else None, root=owner)
        size = self.comm.allreduce(float(np.max(np.abs(x), initial=0.0)), op=MPI.MAX) or 1.0
        dofs = fem.locate_dofs_geometrical(
            (sub, collapsed),
            lambda y: np.linalg.norm(y[:self.gdim].T - nearest, axis=1) <= 1e-12 * size)[0]
        value = value if isinstance(value, fem.Constant) else np.float64(value)
        return fem.dirichletbc(value, dofs, sub), dofs

    def fix_node(self, point, component: int, value=0.0) -> np.ndarray:
        """node_bc, added to the problem's conditions; returns this rank's dofs."""
        bc, dofs = self.node_bc(point, component, value)
        self.bcs.append(bc)
        return dofs

    def add_rigid_platen(self, boundary: str, position: fem.Constant, penalty: float,
                         component: int = 1) -> ContactTerm:
        """Frictionless flat rigid platen pressing against `boundary` in the -component direction.

        The platen face sits at x_c = position; the penetration of the current surface point is
        d = X_c + u_c - position, and the penalty pressure p = penalty <d>_+ (MPa) acts on the
        body as the traction -p e_c. Exact for a flat platen with full contact; the penetration
        (p/penalty) is reported so that its size can be checked against the thickness change.
        """
        X = ufl.SpatialCoordinate(self.mesh)
        v = ufl.TestFunction(self.V)
        tag = self.region_tag(boundary, self.gdim - 1)
        penalty = fem.Constant(self.mesh, float(penalty))   # a constant: one compiled form
        penetration = X[component] + self.u[component] - position
        pressure = penalty * ufl.max_value(penetration, 0.0)
        in_contact = ufl.conditional(ufl.gt(penetration, 0.0), 1.0, 0.0)
        term = ContactTerm(
            residual=pressure * v[component] * self.ds(tag),
            force=pressure * self.ds(tag),
            penetration=ufl.max_value(penetration, 0.0) * self.ds(tag),
            measure_length=fem.Constant(self.mesh, 1.0) * self.ds(tag),
            position=position,
            residual_position_derivative=-penalty * in_contact * v[component] * self.ds(tag),
            force_displacement_derivative=penalty * in_contact * v[component] * self.ds(tag),
            force_position_derivative=-penalty * in_contact * self.ds(tag))
        self.contacts.append(term)
        return term

    def symmetric_jacobian(self) -> bool:
        """True if the Jacobian is symmetric at every state: every region's law says so
        (`symmetric_tangent`), every contact term is frictionless or a linear spring, and there
        are no interface terms (friction and mixed-mode damage are not symmetric). The same on
        every rank: it reads the laws and terms, not local values."""
        return (all(getattr(region.law, "symmetric_tangent", False) for region in self.regions)
                and all(getattr(term, "symmetric", False) for term in self.contacts)
                and not self.interfaces and not self.band_cells)

    # --- forms ----------------------------------------------------------------------------
    def forms(self):
        if self._forms is None:
            gdim = self.gdim
            v = ufl.TestFunction(self.V)
            du = ufl.TrialFunction(self.V)
            residual = ufl.inner(self.P_q, ufl.grad(v)) * self.dx
            jacobian = ufl.inner(ufl.dot(self.A_q, _flatten(ufl.grad(du), gdim)),
                                 _flatten(ufl.grad(v), gdim)) * self.dx
            for term in self.contacts:
                residual += term.residual
                if not getattr(term, "independent_of_displacement", False):
                    jacobian += ufl.derivative(term.residual, self.u, du)
            for term in self.interfaces:
                residual += term.residual
                jacobian += term.jacobian
            self._forms = (fem.form(residual), fem.form(jacobian))
        return self._forms

    def assemble_scalar(self, form) -> float:
        return self.comm.allreduce(fem.assemble_scalar(fem.form(form)), op=MPI.SUM)

    # --- constitutive update --------------------------------------------------------------
    def update_material(self, with_tangent: bool = True):
        """Trial constitutive update at the current u on all local cells (collective).

        with_tangent=False computes the stresses (what the residual needs) and defers the
        tangent dP/dF: `ensure_tangent()` computes it, without a second return map, once the
        Newton iterate is accepted and a Jacobian is needed. Any failure on any rank (a
        material point whose return map fails, an inverted element, NaN) becomes a
        StepFailure on every rank, so no rank is left waiting in an assembly.
        """
        gdim = self.gdim
        error = ""
        trial_warnings = {}
        self._trial_warnings = trial_warnings
        try:
            F_all = self.F_expression.eval(self.mesh, self._material_cells)
            for region, start in zip(self.regions, self._region_offsets):
                if len(region.cells) == 0:      # this rank holds no cell of the region
                    continue
                F_cells = F_all[start:start + len(region.cells)]
                n = F_cells.shape[0] * F_cells.shape[1]
                F, J = np.empty((n, 3, 3)), np.empty(n)
                deformation_gradients(F_cells.reshape(n, gdim * gdim), gdim, F, J)
                if not np.all(J > 0.0):
                    raise FloatingPointError(f"inverted element in region '{region.name}' "
                                             f"(min det F = {J.min():.3g})")
                _check_porosity(region, J)
                P, A, tau, metric, history = stress_update(
                    region.law, F, region.metric_inverse, warm_started(region), self.dt,
                    with_tangent=False, in_plane=gdim == 2, defer_metric=True)
                region.deferred_tangent = A
                if not scatter_point_values(P.reshape(n, 9), self._P_columns, region.P_dofs,
                                            self.P_q.x.array):
                    raise FloatingPointError(f"non-finite stress in region '{region.name}'")
                check = getattr(region.law, "admissibility", None)
                if check is not None:
                    errors, notes = check(history)
                    if errors:
                        raise FloatingPointError(f"inadmissible state in region "
                                                 f"'{region.name}': {errors[0]}")
                    for what, value, text in notes:
                        key = (region.name, what)
                        if value > trial_warnings.get(key, (-np.inf, ""))[0]:
                            trial_warnings[key] = (value, text)
                region.trial_metric_inverse, region.trial_history = metric, history
                region.tau, region.J = tau, J
            for term in self.interfaces:
                term.update(self)
        except Exception as exc:  # noqa: BLE001 - turned into a collective failure below
            error = f"{type(exc).__name__}: {exc}"
        self._raise_on_any_rank(error)
        self._tangent_current = False
        if with_tangent:
            self.ensure_tangent()

    def ensure_tangent(self):
        """Write dP/dF of the last material update into the quadrature function the Jacobian
        form reads, if it is not there yet (collective)."""
        if self._tangent_current:
            return
        gdim = self.gdim
        error = ""
        try:
            for region in self.regions:
                if len(region.cells) == 0 or region.deferred_tangent is None:
                    continue
                A = region.deferred_tangent.compute()       # (n, gdim, gdim, gdim, gdim)
                n = A.shape[0]
                if not scatter_point_values(A.reshape(n, gdim ** 4), self._A_columns,
                                            region.A_dofs, self.A_q.x.array):
                    raise FloatingPointError(f"non-finite tangent in region '{region.name}'")
                region.deferred_tangent = None
        except Exception as exc:  # noqa: BLE001 - turned into a collective failure below
            error = f"{type(exc).__name__}: {exc}"
        self._raise_on_any_rank(error)
        self._tangent_current = True

    def _raise_on_any_rank(self, error: str):
        if self.comm.size == 1:
            if error:
                raise StepFailure(error)
            return
        errors = [e for e in self.comm.allgather(error) if e]
        if errors:
            raise StepFailure(errors[0])

    def commit(self):
        for key, (value, text) in getattr(self, "_trial_warnings", {}).items():
            if value > self._warnings.get(key, (-np.inf, ""))[0]:
                self._warnings[key] = (value, text)
        for region in self.regions:
            metric = region.trial_metric_inverse    # (plane strain: computed at commit)
            region.metric_inverse = metric if isinstance(metric, np.ndarray) else metric.compute()
            region.trial_metric_inverse = region.metric_inverse
            region.history = region.trial_history
        for term in self.interfaces:
            term.commit()

    def warnings(self) -> list[tuple[str, str, float, str]]:
        """Admissibility notes of the accepted states on this rank: (region, what, the extreme
        value, text with {value}) - e.g. loading past the end of a card's table."""
        return [(region, what, value, text)
                for (region, what), (value, text) in sorted(self._warnings.items())]

    def add_interface(self, term):
        """Add an interface term (an object with `residual` and `jacobian` UFL forms over its
        band cells, `update(problem)` called in every material update, and `commit()`)."""
        if self._forms is not None:
            raise RuntimeError("add interface terms before the forms are compiled")
        self.interfaces.append(term)
        return term

    # --- cell fields for output -------------------------------------------------------------
    def cell_average(self, region: Region, values: np.ndarray) -> np.ndarray:
        """Quadrature-weighted cell averages of point values (cells*points,) -> (cells,)."""
        w = self.weights / self.weights.sum()
        return values.reshape(len(region.cells), len(w)) @ w    # (a rank may hold no cell)

    def region_fields(self, region: Region) -> dict[str, np.ndarray]:
        """Per-point fields of the trial state: porosity, Cauchy invariants, law outputs."""
        J = region.J
        cauchy = region.tau / J[:, None]
        porosity0 = region.law.initial_porosity
        fields = {   # a dense layer has no pores: its volume change is compression of the solid
            "porosity": porosity_from_jacobian(J, porosity0) if porosity0 > 0.0 else
            np.zeros_like(J),
            "mean_stress": mean_stress(cauchy),
            "von_mises_stress": equivalent_stress(cauchy),
            "volume_ratio": J,
        }
        for name in getattr(region.law, "output_fields", {}):
            fields[name] = region.trial_history[name]
        return fields
