"""The numeric controls of a stack solve, with one set of defaults.

A control that the case file has takes its default from the case schema's field
(``nipstack.case``: ``StackSolver`` and ``StackLoading``), so a Python script and a case file that
leaves the field out solve with the same value. The controls the case file does not have are
constants of the stack solve, documented below; ``docs/stacks.md`` says how they were chosen.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..case import StackLoading, StackSolver


def schema_default(model, name: str):
    """The default of field `name` of the case-schema model `model`."""
    return model.model_fields[name].default


PRESSURE_METHODS = ("auto", "bordered", "secant")


@dataclass
class StackSettings:
    """Tolerances and limits of the stack solve. Units mm, MPa.

    From the case file (defaults: the schema's):
      platen_penalty_factor  plate penalty = factor x E / h_element of the top layer (-);
      al_rtol                augmented-Lagrangian tolerance: |g_n| left at closed points /
                             plate displacement (-);
      pressure_method        "auto" | "bordered" | "secant" (see ``stack.pressure``);
      newton_rtol            Newton tolerance relative to the internal-force norm (-);
      newton_atol            absolute residual tolerance (N);
      max_iterations         Newton iterations per step;
      max_cutbacks           consecutive step halvings before the run stops.
    Constants of the stack solve (not case fields):
      al_atol                absolute augmented-Lagrangian tolerance, mm: a step converges when
                             the violation is below max(al_atol, al_rtol x plate displacement);
      max_al_iterations      multiplier updates per step before the step fails;
      jump_step_limit        a Newton step may change an interface jump by at most this
                             fraction of the smallest neighbouring element height (None: no
                             limit; see newton.JumpLimitedNewton);
      pressure_rtol          secant pressure control: converged when |P - target| <=
                             pressure_rtol x target;
      max_secant_iterations  position-controlled solves per secant iteration;
      gap_tolerance          mm, the interface's contact test (None: the interface term's own).
    """

    platen_penalty_factor: float = schema_default(StackLoading, "platen_penalty_factor")
    al_rtol: float = schema_default(StackLoading, "al_rtol")
    pressure_method: str = schema_default(StackLoading, "pressure_method")
    newton_rtol: float = schema_default(StackSolver, "newton_rtol")
    newton_atol: float = schema_default(StackSolver, "newton_atol")
    max_iterations: int = schema_default(StackSolver, "max_iterations")
    max_cutbacks: int = schema_default(StackSolver, "max_cutbacks")
    al_atol: float = 1e-10
    max_al_iterations: int = 30
    jump_step_limit: float | None = 0.25
    pressure_rtol: float = 1e-9
    max_secant_iterations: int = 30
    gap_tolerance: float | None = None

    def __post_init__(self):
        if self.pressure_method not in PRESSURE_METHODS:
            raise ValueError(f"pressure_method must be 'auto', 'bordered' or 'secant', got "
                             f"{self.pressure_method!r}")


def case_settings(case) -> dict:
    """The settings a case file gives (its [solver] and [stack] tables), as keywords of
    StackCompaction."""
    solver, stack = case.solver, case.stack
    return {"platen_penalty_factor": stack.platen_penalty_factor, "al_rtol": stack.al_rtol,
            "pressure_method": stack.pressure_method, "newton_rtol": solver.newton_rtol,
            "newton_atol": solver.newton_atol, "max_iterations": solver.max_iterations,
            "max_cutbacks": solver.max_cutbacks}
