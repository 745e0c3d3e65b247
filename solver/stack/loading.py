"""The loading programme of a stack: seat, load (pressure) or compress (clamp), hold, a
pressure history, unload and release.

Each phase is a list of (target, time) pairs, a target being a plate pressure (MPa) or a plate
position (mm), taken in order by ``stepping.Stepper`` (a failed step is halved and retried;
a step restores the displacement, the interface state and the plate). A stack with rough
contacts is first seated: the plate displacement starts at 1e-3 of the largest initial gap
and doubles until every rough contact carries load. After ``unload`` the plate is released
(moved back above where it started): a layer held only by open frictionless contacts then
floats, its position set by the weak regularisation spring of the interface, so the plate
displacement of the release step says nothing physical.
"""
from __future__ import annotations

import copy
import time
from pathlib import Path

import numpy as np

from ..checkpoint import enter_phase

#: seating: the first plate displacement / the largest initial gap of a rough contact; the
#: displacement doubles until contact, and stops above twice the largest gap
SEAT_START = 1e-3
#: release: the plate is moved this fraction of the initial height above the initial top
RELEASE_LIFT = 1e-3
#: adaptive hold: the next step is scaled by HOLD_SAFETY x max_change / change, between
#: HOLD_SCALE[0] and HOLD_SCALE[1]; a last step shorter than HOLD_SLIVER x dt joins the one
#: before
HOLD_SAFETY, HOLD_SCALE, HOLD_SLIVER = 0.8, (0.5, 2.0), 0.05


def geometric_ratio(first: float, steps: int, total: float) -> float:
    """r > 1 with first (r^steps - 1) / (r - 1) = total (bisection on ln r)."""
    low, high = 1e-12, 50.0 / steps

    def covered(log_r):
        return first * np.expm1(steps * log_r) / np.expm1(log_r)
    for _ in range(200):
        middle = 0.5 * (low + high)
        if covered(middle) < total:
            low = middle
        else:
            high = middle
    return float(np.exp(0.5 * (low + high)))


def hold_times(start: float, duration: float, steps: int, first_step: float | None):
    """End times of the steps of a hold: equal, or growing geometrically from `first_step` so
    that `steps` steps cover `duration` (dt_k = first_step r^k)."""
    if not first_step:
        return [start + duration * (k + 1) / steps for k in range(steps)]
    if first_step * steps >= duration:
        raise ValueError(f"first_step x steps ({first_step * steps:g} s) must be "
                         f"shorter than the hold ({duration:g} s) for growing steps")
    ratio = geometric_ratio(first_step, steps, duration)
    ends = first_step * (ratio ** np.arange(1, steps + 1) - 1.0) / (ratio - 1.0)
    return [start + t for t in ends[:-1]] + [start + duration]


class LoadingProgramme:
    """The phases of StackCompaction and the step loop they share (`run_phase`)."""

    def run_phase(self, phase: str, targets, times, mode: str):
        """Advance through targets (pressures in MPa or platen positions in mm) reached at the
        given times, halving a failed increment (stepping.Stepper). Where the phase is lives
        in the journal's running PhaseState (checkpoint.py)."""
        state = enter_phase(self, phase, targets, times, self.current_target(mode))
        if state is None:                               # finished before the checkpoint
            return

        def attempt(target_time, previous):
            return self.attempt_step(mode, target_time[0], target_time[1] - previous[1])

        def accept(target_time, previous, solved):
            self.problem.commit()
            self.time = target_time[1]
            self.last_position = float(self.platen_position.value)
            self.record_step(phase, *solved)

        self.stepper.run(state, save=self.save_state, restore=self.restore_state,
                         attempt=attempt, accept=accept)
        self.journal.end(len(self.records), self.controls())

    # --- restart (checkpoint.py) -----------------------------------------------------------
    resume_attributes = ("time", "last_position", "secant_slope", "pressure_method",
                         "fallbacks", "snapshots")

    def controls(self) -> dict:
        out = {name: copy.deepcopy(getattr(self, name)) for name in self.resume_attributes}
        out["platen_position"] = float(self.platen_position.value)
        return out

    def set_controls(self, controls: dict):
        for name in self.resume_attributes:
            setattr(self, name, copy.deepcopy(controls[name]))
        self.platen_position.value = controls["platen_position"]

    # --- one step ----------------------------------------------------------------------------
    def save_state(self):
        return self.problem.u.x.array.copy(), self.interfaces.save_state()

    def restore_state(self, saved):
        self.problem.u.x.array[:] = saved[0]
        self.interfaces.restore_state(saved[1])
        self.platen_position.value = self.last_position

    def current_target(self, mode: str) -> float:
        if mode == "position":
            return float(self.platen_position.value)
        return self.records[-1].pressure if self.records else 0.0

    # --- the phases ----------------------------------------------------------------------------
    def seat(self, displacement: float | None = None):
        """Bring the plate onto the stack under position control until every rough contact
        interface touches (carries compression at one point at least): the pressure-controlled
        steps then start from a closed contact. The plate displacement starts at SEAT_START of
        the largest initial gap (or `displacement`) and doubles until contact."""
        bands = self.stack_mesh.bands
        rough = [name for name, info in bands.items()
                 if info.max_initial_gap > 0 and self.interfaces.bands[name].is_contact]
        if displacement is None:
            if not rough:
                return
            displacement = SEAT_START * max(bands[n].max_initial_gap for n in rough)
        largest = 2.0 * max([bands[n].max_initial_gap for n in rough] + [0.0])
        while True:
            self.run_phase("seat", [self.height0 - displacement], [self.time], "position")
            stats = self.records[-1].interfaces
            if all(stats[name]["contact_fraction"] > 0 for name in rough) or \
                    displacement > largest:
                return
            displacement *= 2.0

    def load(self, pressure: float, steps: int = 5, duration: float = 1.0):
        """Ramp the plate pressure (MPa) from its current value to `pressure` in equal steps
        (a stack with rough interfaces is seated first, see `seat`)."""
        if not self.records:
            self.seat()
        start = self.records[-1].pressure if self.records else 0.0
        targets = [start + (pressure - start) * (k + 1) / steps for k in range(steps)]
        times = [self.time + duration * (k + 1) / steps for k in range(steps)]
        self.run_phase("load", targets, times, "pressure")
        self.snapshot("load")

    def compress(self, displacement: float, steps: int = 5, duration: float = 1.0):
        """Clamp: move the plate down to `displacement` (mm below the initial top)."""
        start = float(self.platen_position.value)
        end = self.height0 - displacement
        targets = [start + (end - start) * (k + 1) / steps for k in range(steps)]
        times = [self.time + duration * (k + 1) / steps for k in range(steps)]
        self.run_phase("load", targets, times, "position")
        self.snapshot("load")

    def hold(self, duration: float, steps: int = 1, mode: str = "pressure",
             first_step: float | None = None, max_change: float | None = None,
             watch: str | None = None):
        """Let time pass at the current pressure (mode "pressure") or plate position
        ("position": a clamp). Steps:
          * equal (default), `steps` of them;
          * geometric, with `first_step` (s): dt_k = first_step r^k, r chosen so that `steps`
            steps cover `duration` (seconds to months in a few dozen steps);
          * adaptive, with `max_change`: starting from `first_step`, each next step is scaled
            by 0.8 max_change / change (between 0.5x and 2x), `change` the relative change of
            the watched quantity over the last step (the mean interfacial pressure of the
            interface `watch`, else the plate pressure); a step whose Newton fails is halved
            (run_phase's cut-backs).
        """
        current = self.records[-1]
        target = current.pressure if mode == "pressure" else current.platen_position
        if max_change is not None:
            if not first_step:
                raise ValueError("an adaptive hold needs a first_step (s)")
            self.adaptive_hold(target, duration, mode, first_step, max_change, watch)
        else:
            self.run_phase("hold", [target] * steps,
                           hold_times(self.time, duration, steps, first_step), mode)
        self.snapshot("hold")

    def adaptive_hold(self, target: float, duration: float, mode: str, first_step: float,
                      max_change: float, watch: str | None):
        """The adaptive steps of `hold`: the watched pressure changes by about max_change per
        step wherever it moves, and the steps grow where it has settled."""
        def watched(record):
            if watch is None:
                return record.pressure
            return record.interfaces[watch]["mean_pressure"]

        start, dt = self.time, first_step
        while self.time < start + duration * (1 - 1e-12):
            before = watched(self.records[-1])
            t_next = min(self.time + dt, start + duration)
            if start + duration - t_next < HOLD_SLIVER * dt:     # no sliver of a last step
                t_next = start + duration
            self.run_phase("hold", [target], [t_next], mode)
            after = watched(self.records[-1])
            change = abs(after - before) / max(abs(before), 1e-12)
            dt *= min(HOLD_SCALE[1], max(HOLD_SCALE[0],
                                         HOLD_SAFETY * max_change / max(change, 1e-300)))

    def pressure_history(self, times, pressures):
        """Follow a stack-pressure history: pressures (MPa) reached at times (s, increasing,
        after the current time), linearly in between, one step per entry."""
        times, pressures = list(map(float, times)), list(map(float, pressures))
        if len(times) != len(pressures) or not times:
            raise ValueError("a pressure history needs as many times as pressures")
        if any(b <= a for a, b in zip([self.time] + times, times)):
            raise ValueError("pressure-history times must increase from the current time")
        if not self.records:
            self.seat()
        self.run_phase("history", pressures, times, "pressure")
        self.snapshot("history")

    def unload(self, steps: int = 4, duration: float = 1.0, release: bool = True):
        """Ramp the pressure down to zero; the last step releases the plate (moves it back
        above where it started) so that the stack is free."""
        start = self.records[-1].pressure
        times = [self.time + duration * (k + 1) / steps for k in range(steps)]
        pressures = [start * (1.0 - (k + 1) / steps) for k in range(steps - 1)]
        if pressures:
            self.run_phase("unload", pressures, times[:-1], "pressure")
        if release:
            self.run_phase("release", [self.height0 + RELEASE_LIFT * self.height0],
                           [times[-1]], "position")
        self.snapshot("unload")

    def run(self, pressure: float, load_steps: int = 5, load_time: float = 1.0,
            hold_time: float = 0.0, hold_steps: int = 0, unload_steps: int = 0,
            unload_time: float = 1.0, output: str | Path | None = None):
        """Load to `pressure` (MPa), hold, unload; optionally write results to `output`."""
        started = time.perf_counter()
        if output is not None:
            self.open_fields(Path(output) / "fields" / "fields.pvd")
        try:
            self.load(pressure, load_steps, load_time)
            if hold_steps:
                self.hold(hold_time, hold_steps)
            if unload_steps:
                self.unload(unload_steps, unload_time)
        finally:
            self.wall_time = time.perf_counter() - started
            if output is not None:
                self.close_fields()
                self.write_results(output)
        return self.records
