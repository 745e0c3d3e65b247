"""The rolling step's predictor: the increment the web took one mesh period downstream.

Once the nip runs steadily, what the web looks like in space no longer changes; only the
material in it moves on. On a web meshed with a uniform element length h along x that
statement holds node by node: the material point X is, a travel h later, where X + h was, in
the same state. So the increment of the coming step (travel t -> t + a) at X is the increment
the point X + s went through from t - s to t - s + a, for any shift s that is a whole number of
elements (the mesh is periodic with h, not h/2: a quadratic element's vertex and mid-side nodes
are not alike) and at least a (that increment must be done):

    u_pred(X) = u(X, t) + [u(X + s, t - s + a) - u(X + s, t - s)],   s = h ceil(a / h)

It holds the bend of the web ahead of the nip, the compaction under the roll and the springback
behind it where they are in space, so Newton starts next to the solution. The plain kinematic
predictor (the web moved rigidly by a, then each column fitted into the gap) moves that shape
with the material and leaves Newton to put it back; the free span ahead of the nip then swings
and its grazing contact with the bottom roll takes some 19 iterations a step to settle
(docs/benchmarks.md, "Calender Newton iterations"). On `calender_nmc` the steady rolling steps
take 4 iterations with this predictor.

Where it does not apply the kinematic predictor stays: at nodes whose X + s is not a node (the
coarse tails of the web, the outlet end), in the first steps of the run (no state at t - s yet),
after a halved step until whole steps line up again, and for PAUSE_AFTER_FAILURE steps after
a shifted start failed (the calender then solves that step again from the kinematic start). Only converged states enter it, so it
is a pure function of the run's history: the same on any rank count to round-off.
"""
from __future__ import annotations

import math

import numpy as np
from mpi4py import MPI


#: rolling steps that start kinematic after a steady start failed. A failed start costs a
#: whole Newton solve (most run to the iteration limit) and failures come in runs where the
#: nip is not steady (heavy reductions on coarse meshes); measured over the 10 coarse 2D runs
#: of calender_width_nmc's gold: 7 245 Newton iterations with no pause, 6 879 / 6 769 / 6 796
#: / 6 714 with 1 / 2 / 4 / 8, the kinematic predictor alone 6 728; calender_nmc 376-426.
PAUSE_AFTER_FAILURE = 2


class SteadyRollingPredictor:
    """u at the start of a rolling step from the increment one mesh period downstream (see the
    module). `remember(travel)` after every accepted step (and at travel 0); `apply(previous,
    advance)` sets the displacement's start for the step from `previous` to `previous +
    advance` where it can."""

    def __init__(self, problem, element_length: float, comm):
        self.problem, self.comm = problem, comm
        self.period = element_length
        V = problem.V
        self.gdim = problem.gdim
        index_map = V.dofmap.index_map
        self.owned = index_map.size_local
        self.reference = V.tabulate_dof_coordinates()[:, :self.gdim]   # owned + ghost nodes
        self.first_global = index_map.local_range[0]
        # every owned node of every rank by its rounded reference position: a rank finds the
        # global number of the node at X + s, wherever it lives
        self.tolerance = 1e-6 * element_length
        keys = self._keys(self.reference[:self.owned])
        numbers = np.arange(self.owned, dtype=np.int64) + self.first_global
        self.global_number = {}
        for part_keys, part_numbers in comm.allgather((keys, numbers)):
            self.global_number.update(zip(map(tuple, part_keys), part_numbers.tolist()))
        self.downstream = {}     # shift (in elements) -> global node number at X + s, or -1
        self.history = []        # [(travel, owned displacement)], oldest first
        self.paused = 0          # steps left to start kinematic (`failed`)

    def _keys(self, positions):
        return np.round(positions / self.tolerance).astype(np.int64)

    def _downstream(self, elements: int) -> np.ndarray:
        if elements not in self.downstream:
            shifted = self.reference.copy()
            shifted[:, 0] += elements * self.period
            self.downstream[elements] = np.array(
                [self.global_number.get(tuple(key), -1) for key in self._keys(shifted)],
                dtype=np.int64)
        return self.downstream[elements]

    def _state_at(self, travel: float):
        for remembered, u in reversed(self.history):
            if abs(remembered - travel) <= self.tolerance:
                return u
        return None

    def remember(self, travel: float):
        """Keep the converged displacement at `travel` (owned nodes); states older than the
        longest shift any step of at most two elements needs are dropped."""
        u = self.problem.u.x.array[:self.owned * self.gdim].copy()
        self.history = [(t, v) for t, v in self.history
                        if t >= travel - 3.0 * self.period - self.tolerance]
        self.history.append((travel, u))

    def failed(self):
        """The last start it gave failed: the next PAUSE_AFTER_FAILURE steps start
        kinematic."""
        self.paused = PAUSE_AFTER_FAILURE

    def apply(self, previous: float, advance: float) -> bool:
        """Add the shifted increment to u (the converged state at `previous`) for the step
        previous -> previous + advance, and the advance along x where no node lies at X + s.
        Returns False, with u untouched, if the states it needs are not remembered or it is
        paused after a failure (collective)."""
        if self.paused:
            self.paused -= 1
            return False
        gdim = self.gdim
        elements = max(1, math.ceil(advance / self.period - 1e-6))
        shift = elements * self.period
        before = self._state_at(previous - shift)
        after = self._state_at(previous - shift + advance)
        ready = before is not None and after is not None and \
            self._state_at(previous) is not None
        if not self.comm.allreduce(ready, op=MPI.LAND):
            return False
        increment = np.concatenate(self.comm.allgather(after - before)).reshape(-1, gdim)
        target = self._downstream(elements)
        found = target >= 0
        if not self.comm.allreduce(bool(found.any()), op=MPI.LOR):
            return False         # no node one shift downstream: a web not meshed uniformly
        u = self.problem.u.x.array.reshape(-1, gdim)
        u[found] += increment[target[found]]
        u[~found, 0] += advance
        self.problem.u.x.scatter_forward()
        return True
