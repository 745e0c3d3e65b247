r"""Opening a delamination specimen by displacement control: adaptive increments through
``stepping.Stepper``, and the relaxation of snap-throughs at a fixed opening.

Increments: the largest is max_step (opening / steps). An increment that Newton solves easily
(<= EASY iterations) lets the next one grow by 1.5 (up to max_step), a hard one (>= HARD)
halves it, a failed one is undone (u and the interface state restored) and retried with half
the increment, down to max_step / 2^max_cutbacks (a floor on the increment, not a count of
consecutive halvings: the run stops with RunIncomplete, records kept). No sliver of a last
increment: a target within 0.1 increments of the final opening becomes it. Each increment
starts from the secant predictor (the last converged increment of u, scaled to this one).

Snap-through: a discretised cohesive zone can let go of a column faster than the opening can
follow (a local snap-back). An increment that still fails at max_step / 2^SNAP_CUTBACKS is
relaxed at the fixed opening (``relax_snap``, the Stepper's `rescue`): the damage follows the
law's viscous regularisation d_v' = (d - d_v) / eta (eta = RELAXATION_VISCOSITY) in
pseudo-time steps growing from 1e-2 eta (x 4) until the lag max(d - d_v) is below 1e-9 (at
most ~1e4 eta), then the state is solved once more without viscosity: a rate-independent
equilibrium after the snap (records with phase "snap"). The loading never sees a viscosity.

Newton (``CycleDetectingNewton``): the consistent tangent, full steps (the line search only
backs off from inadmissible iterates), stopped at once when it cycles between two states.
"""
from __future__ import annotations

import numpy as np
from mpi4py import MPI

from ..mechanics import RunIncomplete, StepFailure
from ..newton import NewtonReport, NewtonSolver
from ..stepping import PhaseState, Stepper

#: step control: Newton iterations of an easy / a hard increment
EASY, HARD = 4, 10
#: snap-through: an increment that still fails after SNAP_CUTBACKS halvings of the largest is
#: taken as a snap (see relax_snap), relaxed with this viscosity (s, pseudo-time)
SNAP_CUTBACKS = 5
RELAXATION_VISCOSITY = 1.0
#: pseudo-time over the whole opening, s (matters only with the cohesive law's own viscosity)
LOADING_TIME = 1.0


class CycleDetectingNewton(NewtonSolver):
    """Newton (full steps) that gives up as soon as it cycles between two states: the
    residual returns to within 1 % of its value two iterations earlier, twice in a row. With
    a cohesive zone this is a column jumping between two branches of the law (softening and
    fully separated, or open and in contact) while the opening cannot follow; more iterations
    never help, so the step is handed back at once (to the cut-back or the snap relaxation)
    instead of after max_iterations."""

    def _line_search(self, residual, dx, force_control, report):
        result = super()._line_search(residual, dx, force_control, report)
        r = report.residuals + [result[0] / max(result[1], report.force_scale, 1e-300)]
        if len(r) >= 5 and all(abs(r[-k] - r[-k - 2]) <= 1e-2 * r[-k] for k in (1, 2)) \
                and r[-1] > 1e3 * self.rtol:
            raise StepFailure(f"Newton cycles between two states (relative residuals "
                              f"{r[-2]:.2e}, {r[-1]:.2e})")
        return result


def halve(previous: float, target: float) -> float:
    """The cut-back target: half the increment from `previous`."""
    return previous + 0.5 * (target - previous)


class Opening:
    """One opening of a ``Delamination`` model from where it is to `opening` (mm) in adaptive
    increments of at most `max_step` (see the module). The Stepper holds one pending target:
    `accept` replaces it by the next one, from the increment adapted to the step just taken."""

    def __init__(self, model, opening: float, max_step: float):
        self.model, self.opening, self.max_step = model, opening, max_step
        self.step = max_step
        self.smallest = max_step * 0.5 ** model.max_cutbacks
        self.snap_increment = max_step * 0.5 ** SNAP_CUTBACKS
        self.rate = LOADING_TIME / model.target_opening       # pseudo-time per mm
        self.failures = 0          # failed increments since the last record
        self.phase = "load"
        self.saved = None

    def run(self):
        previous = self.model.current_opening
        if not previous < self.opening * (1.0 - 1e-12):
            return
        state = PhaseState(index=0, phase="opening", pending=[self.next_target(previous)],
                           previous=previous)
        Stepper(self.model.max_cutbacks, self.model.log).run(
            state, save=self.save, restore=self.restore, attempt=self.attempt,
            accept=lambda target, previous, report: self.accept(state, target, previous,
                                                               report),
            rescue=self.rescue, split=halve)

    def next_target(self, previous: float) -> float:
        target = min(previous + self.step, self.opening)
        if self.opening - target < 0.1 * self.step:        # no sliver of a last increment
            target = self.opening
        return target

    def save(self):
        model = self.model
        self.saved = (model.problem.u.x.array.copy(), model.interfaces.save_state(),
                      model.current_opening)
        return self.saved

    def restore(self, saved):
        u, interface_state, opening = saved
        self.model.problem.u.x.array[:] = u
        self.model.interfaces.restore_state(interface_state)
        self.model.specimen.apply(opening)

    def attempt(self, target: float, previous: float):
        model = self.model
        problem = model.problem
        problem.dt = (target - previous) * self.rate
        model.specimen.apply(target)
        if model.last_increment is not None:                # the secant predictor
            du, last = model.last_increment
            problem.u.x.array[:] += du * ((target - previous) / last)
        self.phase = "load"
        return model.newton.solve()

    def rescue(self, target: float, previous: float, failure: StepFailure):
        """A failed increment at or below the snap increment is relaxed at the fixed opening
        (returns its report); otherwise the increment is halved (returns None) unless that
        would go below the smallest increment (RunIncomplete)."""
        model = self.model
        if target - previous <= self.snap_increment and model.relaxable():
            try:
                report = relax_snap(model, target)
            except StepFailure:
                self.restore(self.saved)
            else:
                self.phase = "snap"
                model.snaps += 1
                return report
        if 0.5 * (target - previous) < self.smallest * (1.0 - 1e-9):
            raise RunIncomplete(f"opening increment from {previous:.6g} mm failed down to "
                                f"{target - previous:.3g} mm: {failure}") from None
        self.step = 0.5 * (target - previous)
        self.failures += 1
        return None

    def accept(self, state: PhaseState, target: float, previous: float, report):
        model = self.model
        model.problem.commit()
        # (the jump of a snap is no guide to the next increment)
        model.last_increment = (model.problem.u.x.array - self.saved[0], target - previous) \
            if self.phase == "load" else None
        model.time += (target - previous) * self.rate
        model.record_step(target, previous, report, self.failures, self.phase)
        self.failures = 0
        if self.phase == "snap" or report.iterations <= EASY:
            self.step = min(1.5 * self.step, self.max_step)
        elif report.iterations >= HARD:
            self.step = 0.5 * self.step
        model.current_opening = target
        state.cutbacks = 0             # the increment floor, not the Stepper's count, decides
        state.pending.clear()
        if target < self.opening * (1.0 - 1e-12):
            state.pending.append(self.next_target(target))


def relax_snap(model, opening: float) -> NewtonReport:
    """Snap-through at a fixed opening (see the module): the law's viscosity is
    RELAXATION_VISCOSITY only inside. Returns a NewtonReport summing the iterations; raises
    StepFailure if a relaxation step cannot be solved at the smallest pseudo-time step."""
    problem, law, band = model.problem, model.interface_law, model.band
    model.specimen.apply(opening)
    total = NewtonReport(iterations=0)
    law.viscosity = RELAXATION_VISCOSITY
    try:
        dt = 1e-2 * RELAXATION_VISCOSITY
        halvings = 0
        while True:
            saved_u = problem.u.x.array.copy()
            saved_state = model.interfaces.save_state()
            problem.dt = dt
            try:
                report = model.newton.solve()
            except StepFailure:
                problem.u.x.array[:] = saved_u
                model.interfaces.restore_state(saved_state)
                halvings += 1
                if halvings > model.max_cutbacks:
                    raise
                dt *= 0.5
                continue
            problem.commit()
            total.iterations += report.iterations
            own = band.owned
            lag = float(np.max(band.history["damage_inviscid"][own]
                               - band.history["damage"][own], initial=0.0))
            lag = model.comm.allreduce(lag, op=MPI.MAX)
            if lag <= 1e-9 or dt > 1e4 * RELAXATION_VISCOSITY:
                break
            dt *= 4.0
    finally:
        law.viscosity = 0.0
    report = model.newton.solve()
    report.iterations += total.iterations
    return report
