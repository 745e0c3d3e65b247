"""The calender scenario: the web, the rolls, Newton and the phases of the run.

Phases. (1) closing: the web is held in x on the nip mid-line and guided at both ends, and the
rolls close by geometry (the predictor fits the web into the gap before each solve) to the gap
(gap control) or towards the line load (line-load control: then a loading phase drives the load
with the closure as an unknown of a bordered Newton, or, for a dense plastic layer, more
geometric closing steps aimed at the load). (2) rolling: the hold is released (optional
back/front tension, or the winder), and each step the roll surfaces advance by V dt; friction
draws the web through the nip; under line-load control the closure is corrected between steps.
The dwell time is the contact length / V, so a rate-dependent coating (DPC relaxation time)
sees the real line speed. Each phase is a `stepping.Stepper` phase (halving a failed increment);
each step is Newton with the consistent tangent, inside an augmented-Lagrangian loop when the
web has contact interfaces.
"""
from __future__ import annotations

import math
import time

from ..case import Case, layer_laws
from ..mechanics import MechanicsProblem
from ..newton import JumpLimitedNewton, NewtonSolver
from ..output import rank_zero
from ..rolls import Roll, RollContact
from ..stepping import PhaseState, Stepper, StepFailure, solve_with_augmentation
from . import outputs, summary
from .control import GapPredictor, closing_closure, next_closing_closure, rolling_closure
from .lamination import Lamination
from .layout import lay_out
from .profile import NipProfiles
from .records import CalenderStep, step_message, write_history
from .slab import build_web_mesh, heavy_edge_heights, slab_width, symmetry_conditions
from .steady_predictor import SteadyRollingPredictor
from .supports import WebSupports

#: multiplier updates allowed in one step
MAX_AL_UPDATES = 20
#: geometric closing steps a dense plastic layer's nip may take towards the line load after its
#: planned closing steps (control.next_closing_closure)
CLOSING_STEPS_PLASTIC = 8


class Calender:
    """A web drawn through a roll nip (see the module)."""

    def __init__(self, case: Case, comm, log=print):
        self.case, self.comm = case, comm
        self.log = rank_zero(log, comm)
        spec = self.spec = case.calender
        self.laws = laws = layer_laws(case.layers)
        layout = self.layout = lay_out(case, laws)
        self.lamination = None           # the band interfaces ([[interfaces]]), if any
        self.rim_below = 0.0             # how far a heavy edge stands below the bottom face
        if case.interfaces:
            self.lamination = Lamination(case, laws, layout.web_length, layout.segments, comm)
            self.problem = self.lamination.problem
            self.thickness = self.lamination.height
        else:
            mesh_data = build_web_mesh(case, layout, laws, comm)
            self.problem = MechanicsProblem(mesh_data, laws, case.solver.element_degree,
                                            case.solver.petsc_options)
            # a heavy edge stands out of the nominal faces: the rolls first touch it there,
            # and the gap is measured between the rolls (thickness - 2 s) from that touch
            self.rim_below, rim_above = heavy_edge_heights(case, layout.configuration)
            self.thickness = layout.layers_thickness + self.rim_below + rim_above
        self.nip = self._rolls()
        self.predictor = GapPredictor(self.problem, self.nip, case.layers, laws,
                                      layout.element_length, comm)
        self.rolling_predictor = SteadyRollingPredictor(self.problem, layout.element_length,
                                                        comm)
        self.supports = WebSupports(
            self.problem, comm, self.thickness, layout.web_length, layout.nip_x,
            self.lamination.body_mid_heights() if self.lamination else [],
            spec.guide_stiffness, symmetry_conditions(self.problem, case.geometry))
        self.profiles = NipProfiles(self.problem, self.nip, layout, spec.exit_distance, comm)
        iterations = case.solver.max_iterations
        if self.lamination is None:
            self.newton = NewtonSolver(self.problem, case.solver.newton_rtol,
                                       case.solver.newton_atol, iterations)
        else:
            self.newton = JumpLimitedNewton(self.problem, self.interfaces,
                                            self.lamination.jump_limit, case.solver.newton_rtol,
                                            case.solver.newton_atol, iterations)
        self.stepper = Stepper(case.solver.max_cutbacks, self.log)
        self.records: list[CalenderStep] = []
        self.phases = 0                  # phases run so far (numbers the PhaseStates)
        self.on_step = None
        self.time = 0.0
        self.travelled = 0.0
        self.steady_state_step = None

    def _rolls(self) -> RollContact:
        """The rolls touch the web's faces at zero closure and close symmetrically (each by s),
        so both touch the web from the first iteration on and its mid-plane stays at the
        guides' height; gap = thickness - 2 s. Penalty contact, k = penalty_factor x E_coating
        / h_element, smoothed over `contact_smoothing` x E_coating / k."""
        spec, layers, R = self.spec, self.case.layers, self.spec.roll_radius
        nip_x = self.layout.nip_x
        below = self.rim_below
        rolls = [Roll("top_roll", "top", R, nip_x, self.thickness - below + R, +1, -1.0),
                 Roll("bottom_roll", "bottom", R, nip_x, -below - R, -1, +1.0)]
        element_height = min(layer.thickness / layer.elements for layer in layers)
        coating_modulus = self.laws[self.layout.coating.name].stiffest_youngs_modulus()
        penalty = spec.penalty_factor * coating_modulus / element_height
        smoothing = spec.contact_smoothing * coating_modulus / penalty
        return RollContact(self.problem, rolls, spec.friction, spec.slip_length, penalty,
                           smoothing, slab_width(self.case.geometry))

    @property
    def interfaces(self):
        """The InterfaceTerm of the web's band interfaces, or None."""
        return self.lamination.term if self.lamination is not None else None

    @property
    def interface_laws(self) -> dict:
        """{band name: interface law} (empty without interfaces)."""
        return self.lamination.laws if self.lamination is not None else {}

    @property
    def estimated_reduction(self) -> float:
        """The thickness reduction the layout expects (mm, both rolls)."""
        return self.layout.estimated_reduction

    def gap(self) -> float:
        return self.thickness - 2.0 * float(self.nip.position.value)

    # --- one step ---------------------------------------------------------------------------
    def _fit_columns_into_gap(self):
        self.predictor.fit()

    def _solve(self, force_target=None):
        """Newton at the current closure (or, with `force_target`, at that line load, the
        closure an unknown), and the augmented-Lagrangian loop of the contact interfaces."""
        control = None if force_target is None else (self.nip, force_target)

        def solve():
            return self.newton.solve(force_control=control)
        if self.lamination is None or not self.lamination.contact_bands:
            return solve()
        report, updates = solve_with_augmentation(solve, self.lamination.worst_violation,
                                                  self.interfaces.augment, MAX_AL_UPDATES)
        self.lamination.al_updates += updates
        return report

    def _commit_regularisation(self):
        self.lamination.commit_regularisation()

    def _save(self):
        saved = self.interfaces.save_state() if self.interfaces else None
        return self.problem.u.x.array.copy(), float(self.nip.position.value), saved

    def _restore(self, saved):
        u, closure, interfaces = saved
        self.problem.u.x.array[:] = u
        self.nip.position.value = closure
        if interfaces is not None:      # (the AL updates change the history)
            self.interfaces.restore_state(interfaces)

    def _advance(self, phase, set_load, targets, previous, duration, stop_when=None,
                 rescue=None):
        """A phase through `targets` (closure, line load or travel) from `previous`:
        `set_load(target, previous, dt)` sets the load (returning a line load for force
        control, else None), the step lasts `duration(target, previous)`. Returns the last
        target reached; the remaining targets are skipped once `stop_when()` is true; a failed
        step is offered to `rescue` (the Stepper's) before it is halved."""
        self.phases += 1
        state = PhaseState(self.phases, phase, list(targets), previous)

        def attempt(target, previous):
            return self._solve(set_load(target, previous, duration(target, previous)))

        def accept(target, previous, report):
            self.problem.commit()
            self.nip.commit()
            if self.lamination is not None:
                self._commit_regularisation()
            self._record(phase, target, report)
            if phase == "rolling":
                self.rolling_predictor.remember(target)

        self.stepper.run(state, save=self._save, restore=self._restore, attempt=attempt,
                         accept=accept, stop_when=stop_when, rescue=rescue)
        return state.previous

    def _record(self, phase, target, report):
        if phase == "rolling":
            self.travelled = target
        self.time += self.problem.dt
        loads = self.nip.line_loads()
        record = CalenderStep(
            step=len(self.records) + 1, phase=phase, time=self.time, travel=self.travelled,
            closure=float(self.nip.position.value), gap=self.gap(), line_load=loads[0],
            line_load_bottom=loads[1], torque=self.nip.converged_torques[0],
            contact_length=self.nip.contact_lengths()[0], newton_iterations=report.iterations,
            residuals=report.residuals)
        self.records.append(record)
        message = step_message(record, report)
        if self.lamination is not None:
            statistics = self.lamination.after_step(self.profiles.contact_arc(),
                                                    self.layout.nip_x)
            message += "".join(f"  {name[10:]}: f_roll={s['contact_fraction_under_roll']:.4f}"
                               for name, s in statistics.items())
        if phase == "rolling" and record.step % 5 == 0:
            message += self._exit_note(record.step)
        self.log(message)
        if self.on_step is not None:
            self.on_step(record, self)

    def _exit_note(self, step) -> str:
        """The exit porosity so far, for the log; marks the steady state (the spread along
        the exit zone below 0.5 pp over at least a contact length)."""
        profile = self.profiles.exit_profile()
        if profile is None or len(profile[1]) < 3:
            return ""
        spread = 100 * (profile[1].max() - profile[1].min())
        note = f"  exit porosity {profile[1].mean():.4f} (spread {spread:.2f} pp)"
        if self.steady_state_step is None and spread < 0.5 and \
                profile[0].max() - profile[0].min() >= self.layout.contact_estimate:
            self.steady_state_step = step
            note += "  <- steady state"
        return note

    # --- the run ------------------------------------------------------------------------------
    def _close(self, value, previous, dt):
        self.nip.position.value = value
        self.problem.dt = dt
        self._fit_columns_into_gap()

    def run(self):
        started = time.perf_counter()
        self.problem.dt = 0.0
        self._closing()
        self._rolling()
        self.wall_time = time.perf_counter() - started
        return self.records

    def _closing(self):
        """Close the rolls by geometry; under line-load control then drive the load (see the
        module). A dense plastic layer's geometric closing stops early once the roll carries
        `closing_stop_plastic` of the target: the slab estimate can be far off, and a nip that
        has overshot does not follow a force-controlled unloading."""
        spec, layout = self.spec, self.layout
        n = spec.closing_steps
        closure = closing_closure(spec, self.thickness, layout.estimated_reduction,
                                  layout.dense_plastic_coating)
        plastic = spec.control == "line_load" and layout.dense_plastic_coating
        enough = (lambda: self.records[-1].line_load >= spec.closing_stop_plastic
                  * spec.line_load) if plastic else None

        def duration(value, previous):
            return spec.closing_time * abs(value - previous) / closure
        reached = self._advance("closing", self._close,
                                [closure * (k + 1) / n for k in range(n)], 0.0,
                                lambda value, previous: spec.closing_time * (value - previous)
                                / closure, stop_when=enough)
        if plastic:       # at most CLOSING_STEPS_PLASTIC more steps towards the line load
            for _ in range(CLOSING_STEPS_PLASTIC):
                value = next_closing_closure(self.records, spec.line_load)
                if value is None:
                    break
                reached = self._advance("closing", self._close, [value], reached, duration)
        elif spec.control == "line_load":
            start = self.records[-1].line_load
            m = max(2, n // 2)

            def press(value, previous, dt):
                self.problem.dt = dt
                return value
            self._advance("loading", press,
                          [start + (spec.line_load - start) * (k + 1) / m for k in range(m)],
                          start, lambda value, previous: spec.closing_time / m)

    def _rolling(self):
        """Release the hold, apply the tensions and advance the roll surfaces (the winder, if
        it drives the web, pulls the outlet end by the same travel)."""
        spec, layout = self.spec, self.layout
        self.supports.release(spec)
        advance = spec.step_fraction * layout.element_length
        # the layout's travel is a whole number of advances (a ceil here once turned 27.9999
        # into 29 steps, each short of the advance: the steady predictor never applied)
        steps = max(1, round(layout.travel / advance))
        self.rolling_predictor.remember(0.0)
        shifted = [False]          # did the last attempt start from the steady predictor?

        def roll(value, previous, dt, kinematic=False):
            self.nip.surface_advance.value = value - previous
            self.problem.dt = dt
            # the predictor: the increment the web took one mesh period downstream (a steady
            # nip), else the kinematic one, the web moved with the roll surfaces (no slip);
            # then the columns that now lie under the rolls are fitted into the gap
            shifted[0] = not kinematic and spec.rolling_predictor == "steady" and \
                self.rolling_predictor.apply(previous, value - previous)
            if not shifted[0]:
                u = self.problem.u.x.array.reshape(-1, self.problem.gdim)
                u[:, 0] += value - previous
                self.problem.u.x.scatter_forward()
            if self.supports.winder is not None:
                self.supports.winder.set(value)
            self._fit_columns_into_gap()
            if spec.control == "line_load":
                self.nip.position.value = rolling_closure(
                    self.records, spec, layout.roughness_window, advance, self.thickness)
                self._fit_columns_into_gap()

        def duration(value, previous):
            return (value - previous) / spec.line_speed

        def from_kinematic_start(target, previous, failure):
            """A step whose steady start failed is solved again from the kinematic start
            before it is halved, so the steps stay those the kinematic predictor takes."""
            if not shifted[0]:
                return None
            self.rolling_predictor.failed()
            self.log(f"  the steady start failed ({failure}); again from the kinematic start")
            saved = self._save()
            try:
                return self._solve(roll(target, previous, duration(target, previous),
                                        kinematic=True))
            except StepFailure:
                self._restore(saved)
                return None
        self._advance("rolling", roll, [layout.travel * (k + 1) / steps for k in range(steps)],
                      0.0, duration, rescue=from_kinematic_start)

    # --- results (the scenario protocol of case_run.py) ----------------------------------------
    def summary(self) -> dict:
        return summary.calender_summary(self)

    @staticmethod
    def describe(result) -> str:
        return summary.describe(result)

    def step_outputs(self, record, folder):
        pass

    def final_outputs(self, folder):
        outputs.write_final_outputs(self, folder)

    def history_csv(self, path):
        write_history(path, self.records, self.lamination.history if self.lamination else [],
                      list(self.interface_laws))

    def field_writer(self, path):
        return outputs.field_writer(self, path)

    def picture_view(self) -> dict:
        """What the pictures show (``pictures``): the nip, three contact lengths each side of
        the roll centre, with x measured from it."""
        window = 3.0 * self.layout.contact_estimate
        nip_x = self.layout.nip_x
        return {"case": self.case.case.name, "title": "nip region",
                "x_window_mm": [nip_x - window, nip_x + window], "x_origin_mm": nip_x,
                "x_label": "x from the roll centre (mm; the web moves to +x)"}
