"""Newton's method for one load step, with the consistent tangent.

    repeat
        update the material at u (trial state)          -> P, A at the quadrature points
        r  = R(u)   (residual; rows of prescribed dofs hold u - u_prescribed)
        stop if |r| <= rtol * |f_int|  or  |r| <= atol
        solve J(u) du = r;   u <- u - du

|f_int| is the norm of the unconstrained internal-force vector (reactions included), the
natural force scale of the step. With the exact tangent the residual falls quadratically, the
number of correct digits doubling per iteration; each iteration is logged so that a reader
can see it (`rates()` gives the observed order). A step that does not converge in `max_iterations` (or whose material update fails)
raises StepFailure and the load stepper cuts it back.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import dolfinx_solver  # noqa: F401
import numpy as np
from dolfinx import fem
from dolfinx.fem import petsc as fem_petsc
from petsc4py import PETSc

from .mechanics import MechanicsProblem, StepFailure


@dataclass
class NewtonReport:
    iterations: int
    residuals: list[float] = field(default_factory=list)   # |r_k| / |f_int|, one per iteration
    force_scale: float = 0.0

    def rates(self) -> list[float]:
        """Convergence-order estimates log(r_k+1/r_k) / log(r_k/r_k-1) from consecutive
        residuals (1 = linear, 2 = quadratic); needs three residuals above round-off."""
        r = [x for x in self.residuals if x > 1e-15]   # above round-off
        return [np.log(r[k + 1] / r[k]) / np.log(r[k] / r[k - 1])
                for k in range(1, len(r) - 1) if r[k] < r[k - 1]]


class NewtonSolver:
    def __init__(self, problem: MechanicsProblem, rtol: float = 1e-9, atol: float = 1e-10,
                 max_iterations: int = 12):
        self.problem = problem
        self.rtol, self.atol, self.max_iterations = rtol, atol, max_iterations
        self._ksp = None

    def _setup(self):
        residual_form, jacobian_form = self.problem.forms()
        self.residual_form, self.jacobian_form = residual_form, jacobian_form
        self.A = fem_petsc.create_matrix(jacobian_form)
        self.b = fem_petsc.create_vector(self.problem.V)
        self.du = fem_petsc.create_vector(self.problem.V)
        ksp = PETSc.KSP().create(self.problem.comm)
        ksp.setOperators(self.A)
        prefix = f"nipstack_{id(self)}_"
        ksp.setOptionsPrefix(prefix)
        options = PETSc.Options()
        for key, value in self.problem.petsc_options.items():
            options[prefix + key] = value
        ksp.setFromOptions()
        self._ksp = ksp
        index_map = self.problem.V.dofmap.index_map
        self.n_owned = index_map.size_local * self.problem.V.dofmap.index_map_bs

    def solve(self) -> NewtonReport:
        if self._ksp is None:
            self._setup()
        problem = self.problem
        u = problem.u
        report = NewtonReport(iterations=0)
        for iteration in range(self.max_iterations + 1):
            problem.update_material()
            with self.b.localForm() as local:
                local.set(0.0)
            fem_petsc.assemble_vector(self.b, self.residual_form)
            self.b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
            force_scale = self.b.norm()     # owned entries: the unconstrained force vector
            with self.b.localForm() as local:   # ghosts were added to their owners: clear them
                local.array[self.n_owned:] = 0.0
            fem_petsc.apply_lifting(self.b, [self.jacobian_form], bcs=[problem.bcs],
                                    x0=[u.x.petsc_vec], alpha=-1.0)
            self.b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
            fem_petsc.set_bc(self.b, problem.bcs, u.x.petsc_vec, -1.0)
            residual = self.b.norm()
            if not np.isfinite(residual):
                raise StepFailure("residual is not finite")
            report.force_scale = max(report.force_scale, force_scale)
            relative = residual / report.force_scale if report.force_scale > 0.0 else 0.0
            report.residuals.append(relative)
            report.iterations = iteration
            if residual <= self.rtol * report.force_scale or residual <= self.atol:
                return report
            if iteration == self.max_iterations:
                break
            self.A.zeroEntries()
            fem_petsc.assemble_matrix(self.A, self.jacobian_form, bcs=problem.bcs)
            self.A.assemble()
            self._ksp.solve(self.b, self.du)
            if self._ksp.getConvergedReason() < 0:
                raise StepFailure(f"linear solver failed (reason {self._ksp.getConvergedReason()})")
            u.x.petsc_vec.axpy(-1.0, self.du)
            u.x.scatter_forward()
        raise StepFailure(f"Newton did not converge in {self.max_iterations} iterations "
                          f"(relative residual {report.residuals[-1]:.2e})")

    def destroy(self):
        if self._ksp is not None:
            self._ksp.destroy()
            self.A.destroy()
            self.b.destroy()
            self.du.destroy()
