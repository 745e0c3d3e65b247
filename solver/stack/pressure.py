"""One load step of the stack: the plate at a position, or at a pressure, with the contact
multipliers converged.

Plate control, by mode:
  * "position": Newton with the plate at the target position (mm);
  * "pressure", method "bordered": the plate position is an unknown of Newton with the force
    equation P A = target A (``NewtonSolver.solve(force_control=...)``);
  * "pressure", method "secant": a secant iteration on the plate position, each iterate a
    position-controlled Newton solve from the step-start history, until
    |P - target| <= pressure_rtol x target.
``pressure_method = "auto"`` takes the secant when a contact interface is rough or a layer's
thickness waviness makes the plate touch a crest first (there the force-displacement response
is nearly flat and kinked), else the bordered Newton with the secant as the fallback of a
failed step. Around the solve, an augmented-Lagrangian (Uzawa) loop updates the contact
multipliers until the constraint violation (|g_n| at closed points, and any penetration) is
below max(al_atol, al_rtol x plate displacement) (``stepping.solve_with_augmentation``).

The jump-step limit (``newton.JumpLimitedNewton``) acts under force control and for a released
plate only: there a layer held by open contacts is a near rigid-body mode; under position
control the plate anchors the stack.
"""
from __future__ import annotations

import numpy as np

from ..mechanics import StepFailure
from ..newton import NewtonReport
from ..stepping import solve_with_augmentation

#: secant: an iterate moves the plate at most this many times the last move (a flat stretch
#: of the force-displacement curve would otherwise throw it far past the target)
SECANT_STEP_GROWTH = 4.0


def choose_pressure_method(method: str, interface_specs, interface_laws, layer_specs):
    """(method, auto_fallback): "auto" becomes "secant" for a rough contact interface or a
    layer with thickness waviness, else "bordered" with the secant as the fallback of a failed
    step."""
    if method != "auto":
        return method, False
    rough_contact = any(spec.roughness is not None and
                        hasattr(interface_laws[spec.name], "augment")
                        for spec in interface_specs)
    # a stack thicker in places (thickness waviness): the plate first presses a crest and its
    # contact spreads with the load, the same kinked response
    rough_contact = rough_contact or any(
        s.waviness is not None and s.waviness_mode == "thickness" for s in layer_specs)
    return ("secant" if rough_contact else "bordered"), not rough_contact


class PlatePressureControl:
    """One step of StackCompaction: `attempt_step` (the plate control of the module docstring,
    with the bordered-to-secant fallback) and the solves it is made of."""

    def attempt_step(self, mode: str, target: float, dt: float):
        """Solve one step towards `target` (MPa or mm) over `dt` (s). A bordered Newton that
        fails under "auto" is retried by the secant (e.g. frictional stick/slip on a sloped
        interface makes the bordered Newton cycle; it only cuts inadmissible iterates, while
        the secant's position-controlled Newton has the monotone line search)."""
        saved = self.save_state()
        self.secant_restart = False
        try:
            return self.solve_step(mode, target, dt)
        except StepFailure as first:
            if not (mode == "pressure" and self.auto_fallback):
                raise
            self.restore_state(saved)
            self.log(f"  bordered Newton failed ({first}); secant on the plate")
            self.pressure_method = "secant"
            try:
                solved = self.solve_step(mode, target, dt)
            finally:
                self.pressure_method = "bordered"
            self.fallbacks += 1
            return solved

    def solve_step(self, mode: str, target: float, dt: float):
        """The augmented-Lagrangian loop around the plate solve of `mode`. Returns (Newton
        report of the step, multiplier updates, constraint violation in mm)."""
        self.problem.dt = dt
        settings = self.settings
        contact = any(b.is_contact for b in self.interfaces.bands.values())
        solves, violation = 0, 0.0

        def solve():
            nonlocal solves
            solves += 1
            if mode == "position":
                return self.position_newton(target)
            if self.pressure_method == "secant":
                return self.secant(target)
            self.newton.limit = self.jump_limit
            if solves == 1:    # (an AL re-solve starts from the converged position)
                self.platen_position.value = self.pressure_guess(target)
            return self.newton.solve(force_control=(self.platen, target * self.apparent_area))

        def worst_violation():
            nonlocal violation
            violation = self.interfaces.constraint_violation() if contact else 0.0
            compression = abs(self.height0 - self.top_height())
            tolerance = max(settings.al_atol, settings.al_rtol * compression)
            return violation / tolerance if violation > 0.0 else 0.0

        report, updates = solve_with_augmentation(solve, worst_violation, self.interfaces.augment,
                                                  settings.max_al_iterations)
        return report, updates, violation

    def position_newton(self, position: float) -> NewtonReport:
        """Newton with the plate at `position` (the jump-step limit only for a released plate,
        which leaves layers held by their contacts alone)."""
        self.newton.limit = self.jump_limit if position > self.height0 else None
        self.platen_position.value = position
        return self.newton.solve()

    def secant(self, target: float) -> NewtonReport:
        """Pressure control by a secant iteration on the plate position, each iterate solved
        by Newton under position control from the step-start history (the trials of one step
        do not accumulate plastic flow; the multipliers are fixed). Converged when
        |P - target| <= pressure_rtol x target. Returns the iterates' Newton work as one
        report."""
        x_a = self.last_position
        P_a = self.records[-1].pressure if self.records else 0.0
        slope = self.secant_slope                          # d position / d pressure, mm/MPa
        if slope is None or not slope < 0.0:
            slope = -self.compliance_estimate
        x = float(self.platen_position.value) if self.secant_restart else \
            x_a + (target - P_a) * slope
        work = NewtonReport(iterations=0)
        tolerance = self.settings.pressure_rtol * max(abs(target), 1e-12)
        for _ in range(self.settings.max_secant_iterations):
            report = self.position_newton(x)
            work.iterations += report.iterations
            work.residuals += report.residuals
            P = self.platen_force() / self.apparent_area
            if abs(P - target) <= tolerance:
                if P != P_a and x != x_a and (x - x_a) / (P - P_a) < 0.0:
                    self.secant_slope = (x - x_a) / (P - P_a)
                self.secant_restart = True       # an AL re-solve starts from here
                return work
            if P != P_a and (x - x_a) / (P - P_a) < 0.0:
                slope = (x - x_a) / (P - P_a)
            change = (target - P) * slope
            previous = abs(x - x_a)
            if previous > 0.0 and abs(change) > SECANT_STEP_GROWTH * previous:
                change = np.sign(change) * SECANT_STEP_GROWTH * previous
            x_a, P_a = x, P
            x = x + change
        raise StepFailure(f"pressure {target:.6g} MPa not reached by the secant on the plate "
                          f"position in {self.settings.max_secant_iterations} solves (at "
                          f"{P:.6g} MPa)")

    def pressure_guess(self, pressure: float) -> float:
        """Start of the bordered Newton: the last plate position; at first touch an elastic
        estimate of the travel (keeps the plate in contact)."""
        if self.records and self.records[-1].pressure > 0.0:
            return self.last_position
        return self.last_position - max(pressure, 0.0) * self.compliance_estimate - \
            1e-9 * self.height0
