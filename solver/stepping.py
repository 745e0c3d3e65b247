"""Load stepping, shared by every scenario.

A scenario's loading programme is a sequence of phases (load, hold, unload, closing, rolling,
opening, ...). A phase is a list of pending *targets* (a platen position, a pressure, a nip
closure, a travel, an opening; or a (target, time) pair). The `Stepper` takes them in order:

1. it asks the scenario for a snapshot of everything a step changes (`save`);
2. it calls `attempt(target, previous)`, which sets the load and solves (Newton, with its
   augmented-Lagrangian or pressure-control loops inside), returning a report or raising
   `StepFailure`;
3. on success it calls `accept(target, previous, report)` (commit the histories, record the
   step) and lowers the cut-back count by one;
4. on failure it restores the snapshot, offers the failure to `rescue` (e.g. the delamination's
   snap-back relaxation at a fixed opening; a report means the step is accepted after all),
   and otherwise inserts the midpoint of the increment before the target and tries again.
   More than `max_cutbacks` consecutive halvings end the run (`RunIncomplete`), keeping what
   was converged.

Where a phase is - its pending targets, the last target reached and the cut-back count - lives
in a `PhaseState`, so a checkpoint can hold it and a restart continue it (checkpoint.py).
A scenario whose increments adapt to how hard the last one was (delamination) appends the next
target to `state.pending` in its `accept`.

The decisions are deterministic: they depend on whether each Newton solve converged, never on
the clock.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from .mechanics import RunIncomplete, StepFailure


@dataclass
class PhaseState:
    """Where one phase is: its pending targets, the last one reached, its cut-back count.
    `index` numbers the phases of a run (the checkpoint journal matches them by it)."""

    index: int
    phase: str
    pending: list
    previous: Any
    cutbacks: int = 0


def midpoint(previous, target):
    """Half the increment: a number, or a tuple (target, time, ...) halved entry by entry."""
    if isinstance(target, tuple):
        return tuple(0.5 * (a + b) for a, b in zip(previous, target))
    return 0.5 * (previous + target)


def describe(target) -> str:
    return f"{target[0]:.6g}" if isinstance(target, tuple) else f"{target:.6g}"


class Stepper:
    """Takes a phase's targets in order, halving a failed increment (see the module)."""

    def __init__(self, max_cutbacks: int, log: Callable[[str], None]):
        self.max_cutbacks = int(max_cutbacks)
        self.log = log

    def run(self, state: PhaseState, *, save: Callable[[], Any],
            restore: Callable[[Any], None], attempt: Callable, accept: Callable,
            rescue: Callable | None = None, stop_when: Callable[[], bool] | None = None,
            split: Callable = midpoint):
        """Advance `state` through its pending targets. `stop_when()`, checked after each
        accepted step while targets remain, ends the phase early."""
        pending = state.pending
        while pending:
            target, previous = pending[0], state.previous
            saved = save()
            try:
                report = attempt(target, previous)
            except StepFailure as failure:
                restore(saved)
                report = rescue(target, previous, failure) if rescue is not None else None
                if report is None:
                    self._cut_back(state, target, previous, failure, split)
                    continue
            state.cutbacks = max(state.cutbacks - 1, 0)
            pending.pop(0)
            state.previous = target
            accept(target, previous, report)
            if stop_when is not None and pending and stop_when():
                break

    def _cut_back(self, state, target, previous, failure, split):
        if state.cutbacks >= self.max_cutbacks:
            raise RunIncomplete(f"{state.phase} step towards {describe(target)} failed after "
                                f"{state.cutbacks} cut-backs: {failure}") from None
        state.cutbacks += 1
        self.log(f"  cut-back {state.cutbacks}: {failure}; retrying with half the increment")
        state.pending.insert(0, split(previous, target))


def solve_with_augmentation(solve: Callable, worst_violation: Callable[[], float],
                            augment: Callable[[], Any], max_updates: int):
    """Augmented Lagrangian (Uzawa) around a Newton solve: while `worst_violation()` (the
    largest contact penetration over its tolerance) exceeds 1, update the multipliers
    (`augment`) and solve again from where the last solve ended. Returns the first report
    with the iterations and residuals of every re-solve added, and the number of updates;
    raises StepFailure after `max_updates` updates."""
    report = solve()
    updates = 0
    while True:
        worst = worst_violation()
        if worst <= 1.0:
            return report, updates
        if updates >= max_updates:
            raise StepFailure(f"augmented Lagrangian: penetration {worst:.3g} x the tolerance "
                              f"after {updates} updates")
        augment()
        updates += 1
        again = solve()
        report.iterations += again.iterations
        report.residuals += again.residuals
