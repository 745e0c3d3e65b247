"""Newton's method for one load step, with the consistent tangent.

    repeat
        update the material at u (trial state)          -> P, A at the quadrature points
        r  = R(u)   (residual; rows of prescribed dofs hold u - u_prescribed)
        stop if |r| <= rtol * |f_int|  or  |r| <= atol
        solve J(u) du = r;   u <- u - du

|f_int| is the norm of the unconstrained internal-force vector (reactions included), the
natural force scale of the step. With the exact tangent the residual falls quadratically, the
number of correct digits doubling per iteration; each iteration is logged so that a reader
can see it (`rates()` gives the observed order). A step whose material update fails, whose
line search finds no admissible iterate, or that stops making progress raises StepFailure and
the load stepper cuts it back.

When a step with band interfaces (JumpLimitedNewton: contact, stick/slip) fails is decided
with a margin, so that round-off cannot flip it (issue 15): at `max_iterations` Newton gives up
only if the residual has stopped falling - its best value over
the last STAGNATION_WINDOW iterations is not below PROGRESS x its best before them - and
otherwise goes on, up to EXTENSION x max_iterations. A contact/plasticity active-set search
takes a number of iterations that round-off changes by tens (measured on the lamination web:
the same rolling step took 29 iterations on one rank and more than 60 on two, residual still
falling 10 % per iteration), so a hard limit cut the step back on one rank count and not on
the other and the step sequences forked; a search that cycles without progress fails the same
way on every rank count. A residual that stops falling below ROUND_OFF_FLOOR x rtol has hit
its round-off floor (which moves with the rank count and the path: measured 1e-9 to 5e-8 of
|f_int| on the calender webs, whose rtol is 1e-8): that step is converged, where cutting it
back could never help (a stalled active-set search stays above 1e-5). Webs without band
interfaces keep the plain limit (`extension` 1): their shipped runs (the calenders, with tens
of cut-backs on graphite) pass their gold with it, and the graphite web, allowed longer
searches, ran into a stretch that six halvings could not pass.

Force control (a rigid platen driven to a force) adds the platen position x_p as an unknown and
the equation g = F(u, x_p) - F_target = 0. Newton then solves the bordered system

    [ J    b ] [du ]   [ r ]        b = dR/dx_p,  c = dF/du,  e = dF/dx_p
    [ c^T  e ] [dx ] = [ g ]

by two solves with the one factorisation of J:  J w1 = r,  J w2 = b,
dx = (g - c.w1) / (e - c.w2),  du = w1 - w2 dx;  u <- u - du,  x_p <- x_p - dx.
Surface and platen move together, so contact is never lost between iterations.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import dolfinx_solver  # noqa: F401
import numpy as np
from dolfinx import fem
from dolfinx.fem import petsc as fem_petsc
from mpi4py import MPI
from petsc4py import PETSc

from . import column_multigrid, interrupt
from .linear_solver import (default_linear_solver, jacobian_matrix_kind,
                            symmetric_factorisation)
from .mechanics import MechanicsProblem, StepFailure


@dataclass
class NewtonReport:
    iterations: int
    residuals: list[float] = field(default_factory=list)   # |r_k| / |f_int|, one per iteration
    force_scale: float = 0.0
    line_search_cuts: int = 0   # step halvings of the line search (0 when every step was full)

    def rates(self) -> list[float]:
        """Convergence-order estimates log(r_k+1/r_k) / log(r_k/r_k-1) from consecutive
        residuals (1 = linear, 2 = quadratic); needs three residuals above round-off."""
        r = [x for x in self.residuals if x > 1e-15]   # above round-off
        return [np.log(r[k + 1] / r[k]) / np.log(r[k] / r[k - 1])
                for k in range(1, len(r) - 1) if r[k] < r[k - 1]]


def rigid_body_modes(V, matrix) -> PETSc.NullSpace:
    """The rigid-body motions of a displacement space V as an orthonormal PETSc near-nullspace
    (2D: two translations and the rotation; 3D: three of each), what smoothed-aggregation
    multigrid (GAMG) needs to build coarse spaces for elasticity."""
    gdim = V.mesh.geometry.dim
    owned = V.dofmap.index_map.size_local
    x = V.tabulate_dof_coordinates()[:owned]
    motions = [np.tile(direction, (owned, 1)) for direction in np.eye(gdim)]  # translations
    if gdim == 2:
        motions.append(np.stack([-x[:, 1], x[:, 0]], axis=1))
    else:
        motions += [np.stack([-x[:, 1], x[:, 0], 0 * x[:, 0]], axis=1),
                    np.stack([0 * x[:, 0], -x[:, 2], x[:, 1]], axis=1),
                    np.stack([x[:, 2], 0 * x[:, 0], -x[:, 0]], axis=1)]
    basis = []
    for motion in motions:                      # Gram-Schmidt (twice, for round-off)
        vector = matrix.createVecLeft()
        vector.setArray(motion.ravel())
        for _ in range(2):
            for other in basis:
                vector.axpy(-vector.dot(other), other)
        vector.normalize()
        basis.append(vector)
    return PETSc.NullSpace().create(vectors=basis, comm=V.mesh.comm)


STAGNATION_WINDOW = 10   # iterations over which progress is judged
PROGRESS = 0.9           # the residual must fall below this share of its earlier best
EXTENSION = 3            # a search still making progress may run to this x max_iterations
ROUND_OFF_FLOOR = 100    # a residual stuck below this x rtol is round-off: converged


def stagnated(residuals: list[float], iteration: int, max_iterations: int,
              extension: int) -> bool:
    """Whether Newton should give up after `iteration` (residuals[k] = |r_k| / |f_int|):
    never before max_iterations, always at extension x max_iterations, and in between when the
    best residual of the last STAGNATION_WINDOW iterations is not below PROGRESS x the best one
    before them (see the module)."""
    if iteration < max_iterations:
        return False
    if iteration >= extension * max_iterations or iteration < STAGNATION_WINDOW:
        return True
    recent = min(residuals[-STAGNATION_WINDOW:])
    earlier = min(residuals[:-STAGNATION_WINDOW])
    return not recent <= PROGRESS * earlier


class NewtonSolver:
    def __init__(self, problem: MechanicsProblem, rtol: float = 1e-9, atol: float = 1e-10,
                 max_iterations: int = 12, max_line_search: int = 6,
                 divergence: float = 1.0, extension: int = 1):
        self.problem = problem
        self.extension = extension      # > 1: fail by stagnation, not at max_iterations
        self.max_line_search = max_line_search
        self.divergence = divergence
        self.rtol, self.atol, self.max_iterations = rtol, atol, max_iterations
        self._ksp = None

    def _setup(self):
        residual_form, jacobian_form = self.problem.forms()
        self.residual_form, self.jacobian_form = residual_form, jacobian_form
        petsc_options = self.linear_solver_options()
        self.linear_options = petsc_options     # what the linear solve really uses
        self.A = fem_petsc.create_matrix(jacobian_form,
                                         kind=jacobian_matrix_kind(petsc_options))
        self.b = fem_petsc.create_vector(self.problem.V)
        self.du = fem_petsc.create_vector(self.problem.V)
        ksp = PETSc.KSP().create(self.problem.comm)
        ksp.setOperators(self.A)
        prefix = f"nipstack_{id(self)}_"
        ksp.setOptionsPrefix(prefix)
        options = PETSc.Options()
        for key, value in petsc_options.items():
            if not (key == "pc_type" and value == "columns"):
                options[prefix + key] = value
        if "cholesky" in (petsc_options.get("pc_type"), petsc_options.get("redundant_pc_type")):
            # MUMPS's LDL^T reads one triangle of a matrix flagged symmetric; eternal: the flag
            # survives the reassembly of every Newton iteration
            self.A.setOption(PETSc.Mat.Option.SYMMETRIC, True)
            self.A.setOption(PETSc.Mat.Option.SYMMETRY_ETERNAL, True)
        if petsc_options.get("pc_type") == "gamg":
            self._near_nullspace = rigid_body_modes(self.problem.V, self.A)
            self.A.setNearNullSpace(self._near_nullspace)
        if petsc_options.get("pc_type") == "columns":
            self._column_prolongation = column_multigrid.configure(
                ksp, self.problem.V, prefix, self.node_columns)
        else:
            ksp.setFromOptions()
        self._ksp = ksp
        index_map = self.problem.V.dofmap.index_map
        self.n_owned = index_map.size_local * self.problem.V.dofmap.index_map_bs

    def linear_solver_options(self) -> dict:
        """The problem's PETSc options; the column multigrid asked of a mesh that is not drawn
        in node columns becomes the default of the mesh's size (said on rank 0). The columns
        found are kept in node_columns for the preconditioner."""
        petsc_options = dict(self.problem.petsc_options)
        if not self.problem.petsc_options_given and self.problem.symmetric_jacobian():
            petsc_options = symmetric_factorisation(petsc_options)
        self.node_columns = None
        if petsc_options.get("pc_type") != "columns":
            return petsc_options
        V = self.problem.V
        columns = column_multigrid.NodeColumns(V)
        if columns.nodes_per_column() >= column_multigrid.MIN_NODES_PER_COLUMN:
            self.node_columns = columns
            return petsc_options
        fallback = default_linear_solver(
            self.problem.comm.size, V.dofmap.index_map.size_global * V.dofmap.index_map_bs,
            V.mesh.geometry.dim)
        if self.problem.comm.rank == 0:
            instead = "GMRES + GAMG" if fallback["pc_type"] == "gamg" else "MUMPS LU"
            print("nipstack: this mesh is not drawn in node columns through its thickness, "
                  f"which pc_type 'columns' needs: the linear solve is {instead} instead",
                  flush=True)
        return fallback

    def _assemble_constraint_vector(self, form, vector):
        with vector.localForm() as local:
            local.set(0.0)
        fem_petsc.assemble_vector(vector, form)
        vector.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        fem_petsc.set_bc(vector, self.problem.bcs, alpha=0.0)   # no coupling through fixed dofs

    def solve(self, force_control=None) -> NewtonReport:
        """Newton for the current load. force_control = (ContactTerm, target force): the platen
        position becomes an unknown and the platen force is driven to the target."""
        if self._ksp is None:
            self._setup()
        problem = self.problem
        report = NewtonReport(iterations=0)
        if force_control is not None:
            contact, target_force = force_control
            if not hasattr(self, "_border_forms") or self._border_forms[0] is not contact:
                self._border_forms = (
                    contact, fem.form(contact.residual_position_derivative),
                    fem.form(contact.force_displacement_derivative),
                    fem.form(contact.force), fem.form(contact.force_position_derivative))
                self.w1 = self.du.duplicate()
                self.w2 = self.du.duplicate()
                self.border_b = self.du.duplicate()
                self.border_c = self.du.duplicate()
            _, b_form, c_form, force_form, e_form = self._border_forms
            force_tolerance = self.rtol * 10 * max(abs(target_force), 1e-300)
        residual, force_scale = self._evaluate()
        for iteration in range(self.extension * self.max_iterations + 1):
            interrupt.check(problem.comm)   # collective: a stop request reaches every rank
            report.force_scale = max(report.force_scale, force_scale)
            relative = residual / report.force_scale if report.force_scale > 0.0 else 0.0
            report.residuals.append(relative)
            report.iterations = iteration
            converged = residual <= self.rtol * report.force_scale or residual <= self.atol
            force_reached = True
            if force_control is not None:
                force_error = problem.comm.allreduce(fem.assemble_scalar(force_form)) \
                    - target_force
                force_reached = abs(force_error) <= force_tolerance
            if converged and force_reached:
                return report
            if stagnated(report.residuals, iteration, self.max_iterations, self.extension):
                if self.extension > 1 and force_reached and \
                        relative <= ROUND_OFF_FLOOR * self.rtol:
                    return report       # stuck at the round-off floor, just above rtol
                break
            self.assemble_jacobian()
            dx = 0.0
            if force_control is None:
                self._linear_solve(self.b, self.du)
            else:
                self._assemble_constraint_vector(b_form, self.border_b)
                self._assemble_constraint_vector(c_form, self.border_c)
                e = problem.comm.allreduce(fem.assemble_scalar(e_form))
                self._linear_solve(self.b, self.w1)
                self._linear_solve(self.border_b, self.w2)
                denominator = e - self.border_c.dot(self.w2)
                if denominator == 0.0:
                    raise StepFailure("platen has lost contact: force control is singular")
                dx = (force_error - self.border_c.dot(self.w1)) / denominator
                self.w1.copy(self.du)
                self.du.axpy(-dx, self.w2)
            residual, force_scale = self._line_search(residual, dx, force_control, report)
        why = "the limit" if report.iterations >= self.extension * self.max_iterations else \
            f"no progress in {STAGNATION_WINDOW}"
        raise StepFailure(f"Newton did not converge in {report.iterations} iterations "
                          f"(relative residual {report.residuals[-1]:.2e}; {why})")

    def assemble_jacobian(self):
        """The Jacobian at the current iterate into self.A (its tangent computed now if the
        material update deferred it: line-search trials compute stresses only)."""
        self.problem.ensure_tangent()
        self.A.zeroEntries()
        fem_petsc.assemble_matrix(self.A, self.jacobian_form, bcs=self.problem.bcs)
        self.A.assemble()

    def _evaluate(self):
        """Material update and residual at the current u, into self.b (rows of prescribed dofs
        hold u - u_prescribed). Returns (|r|, |f_int|)."""
        problem, u = self.problem, self.problem.u
        problem.update_material(with_tangent=False)   # stresses only: a trial may be rejected
        with self.b.localForm() as local:
            local.set(0.0)
        fem_petsc.assemble_vector(self.b, self.residual_form)
        self.b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        force_scale = self.b.norm()     # owned entries: the unconstrained force vector
        with self.b.localForm() as local:   # ghosts were added to their owners: clear them
            local.array[self.n_owned:] = 0.0
        if not self._prescribed_values_reached():
            # b -= J (u_prescribed - u): the Jacobian's columns of the prescribed dofs. Once u
            # holds the prescribed values (after the first full Newton step) this term is
            # exactly zero, and skipping it saves a pass of the Jacobian kernels per residual.
            problem.ensure_tangent()
            fem_petsc.apply_lifting(self.b, [self.jacobian_form], bcs=[problem.bcs],
                                    x0=[u.x.petsc_vec], alpha=-1.0)
            self.b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        fem_petsc.set_bc(self.b, problem.bcs, u.x.petsc_vec, -1.0)
        residual = self.b.norm()
        if not np.isfinite(residual):
            raise StepFailure("residual is not finite")
        return residual, force_scale

    def _prescribed_values_reached(self) -> bool:
        """True on every rank if u equals the Dirichlet values at every prescribed dof."""
        problem, u = self.problem, self.problem.u
        if not problem.bcs:
            return True
        scratch = getattr(self, "_bc_scratch", None)
        if scratch is None or scratch.shape != u.x.array.shape:
            scratch = self._bc_scratch = np.empty_like(u.x.array)
        scratch[:] = u.x.array
        for bc in problem.bcs:
            bc.set(scratch)
        return bool(problem.comm.allreduce(bool(np.array_equal(scratch, u.x.array)),
                                           op=MPI.LAND))

    def _line_search(self, residual, dx, force_control, report):
        """u <- u - alpha du (and the platen position <- - alpha dx), alpha = 1, 1/2, ...

        The full Newton step is taken unless it is inadmissible (an inverted element, a failed
        return map, a non-finite residual) or raises |r| (more than `divergence` times, 1 =
        monotone); near the solution it is always full, so the quadratic rate is untouched.
        Far from it, with contact switching on and off between penalty kinks, a full step can
        overshoot; then it is halved (counted in report.line_search_cuts). Measured on the
        roll nip: accepting growth up to 1000x cut the iterations per step but made more steps
        fail; the monotone rule is the robust choice."""
        u = self.problem.u
        u_start = u.x.array.copy()
        position = force_control[0].position if force_control is not None else None
        position_start = float(position.value) if position is not None else 0.0
        alpha, failure = 1.0, None
        for trial in range(self.max_line_search + 1):
            u.x.array[:] = u_start
            u.x.petsc_vec.axpy(-alpha, self.du)
            u.x.scatter_forward()
            if position is not None:
                position.value = position_start - alpha * dx
            try:
                new_residual, force_scale = self._evaluate()
                failure = None
            except StepFailure as exc:
                failure = exc
            last = trial == self.max_line_search
            # (under force control |r| excludes the force error and rises legitimately in the
            # first iteration: there only inadmissible iterates are cut)
            if failure is None and (last or force_control is not None
                                    or new_residual <= self.divergence * residual):
                return new_residual, force_scale
            if last:
                raise failure
            alpha *= 0.5
            report.line_search_cuts += 1
        raise AssertionError("unreachable")

    def _linear_solve(self, rhs, solution):
        self._ksp.solve(rhs, solution)
        if self._ksp.getConvergedReason() < 0:
            raise StepFailure(f"linear solver failed (reason {self._ksp.getConvergedReason()})")

    def destroy(self):
        if self._ksp is not None:
            self._ksp.destroy()
            self.A.destroy()
            self.b.destroy()
            self.du.destroy()


class JumpLimitedNewton(NewtonSolver):
    """Newton whose step is scaled down (with the plate's) when it would change an interface
    jump by more than `limit` mm in one iteration.

    While a layer is held only by open contacts (first touch of a rough interface, re-contact
    after release) the tangent sees no normal stiffness there and the full Newton step is a
    huge rigid-body jump into the neighbour (then a failed return map or an inverted element).
    Limiting the jump change to a fraction of the neighbouring element height lets the contact
    close in a few iterations; near the solution the steps are far below the limit, so the
    quadratic convergence is untouched. `limited_steps` counts the scaled steps."""

    def __init__(self, problem, interfaces, limit, *args, **kwargs):
        kwargs.setdefault("extension", EXTENSION)    # long active-set searches (see the module)
        super().__init__(problem, *args, **kwargs)
        self.interfaces, self.limit = interfaces, limit
        self.limited_steps = 0
        self._increment = fem.Function(problem.V)

    def _line_search(self, residual, dx, force_control, report):
        if self.limit:
            n = self.du.getLocalSize()
            self._increment.x.array[:n] = self.du.getArray(readonly=True)
            self._increment.x.scatter_forward()
            change = self.interfaces.max_jump_change(self._increment.x.array)
            if change > self.limit:
                scale = self.limit / change
                self.du.scale(scale)
                dx *= scale
                self.limited_steps += 1
        return super()._line_search(residual, dx, force_control, report)
