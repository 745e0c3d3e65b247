"""Driving the nip: the closure the rolls close to, the geometric predictor that fits the web
into the gap before each Newton solve, and line-load control (closing a dense plastic layer's nip
to the line load, and the rolling controller). The closure s is how far each roll has moved
towards the web from first touch; the gap is thickness - 2 s. The tuning constants are case
fields (`calender.closing_fraction`, `controller_gain`, ...); docs/calendering.md and
docs/lamination.md say how they were chosen.
"""
from __future__ import annotations

import numpy as np

from ..mechanics import constrained_modulus


def closing_closure(spec, thickness, estimated_reduction, dense_plastic) -> float:
    """The closure the rolls close to by geometry: gap control, (thickness - gap) / 2; line-load
    control, `closing_fraction` (a dense plastic layer: `closing_fraction_plastic`) of the
    estimated closure; the load is then driven from there."""
    if spec.control == "gap":
        return (thickness - spec.gap) / 2.0
    if dense_plastic:
        # (the slab estimate of a plastic layer is soft against the Q1 web, and a nip that has
        # overshot would have to be unloaded under force control, which a plastic nip does
        # not follow)
        return spec.closing_fraction_plastic * estimated_reduction / 2.0
    return spec.closing_fraction * estimated_reduction / 2.0


def next_closing_closure(records, target, tolerance=0.03):
    """Line-load control of a dense plastic layer's nip before it rolls: the next geometric
    closing step, aimed by the secant of the last two (closure, line load) points (relaxed by
    0.8, at most twice the previous increment), or None once the line load is within
    `tolerance` below the target or above it. An overshoot is left to the rolling controller:
    backing off unloads the plastic nip elastically, w falls steeply and the secant is then
    wrong. (The force-controlled loading steps of a porous coating stall here: with the
    interface band, the bordered Newton's first closure change moves the interface jumps by
    more than the jump limit, and the limited steps make no progress.)"""
    last = records[-1]
    if last.line_load >= (1.0 - tolerance) * target:
        return None
    before = (records[-2].closure, records[-2].line_load) if len(records) >= 2 else (0.0, 0.0)
    increment = last.closure - before[0]
    slope = (last.line_load - before[1]) / increment if increment else 0.0
    if slope <= 0.0:
        return last.closure + abs(increment)
    return last.closure + min(2.0 * abs(increment), 0.8 * (target - last.line_load) / slope)


def rolling_closure(records, spec, roughness_window, advance, thickness) -> float:
    """Line-load control while rolling, step by step like a calender's hydraulics: each step
    is solved at a fixed closure, and before it the closure is corrected by a secant on the
    (closure, line load) history of the rolling steps, relaxed by `controller_gain` and limited
    to `controller_step_limit` x the web thickness per step; the first correction uses twice
    the closing stiffness dw/ds. At steady state the line load is the target and the gap is
    the one it took. (The fully coupled bordered Newton works for the loading phase but not
    across the static-to-rolling change of the contact.)

    A rough interface in the web makes the load ripple at a fixed closure as the roughness
    passes through the nip, and a secant between two steps is then noise. There the controller
    acts on the mean load over the last roughness window (`roughness_window`, mm, with the web
    advancing `advance` mm a step) and uses the static closing stiffness dw/ds as the slope."""
    target = spec.line_load
    rolling = [r for r in records if r.phase == "rolling"]
    previous = rolling[-1] if rolling else records[-1]
    closing = [r for r in records if r.phase == "closing"]
    closing_slope = 2.0 * (closing[-1].line_load - closing[-2].line_load) / (
        closing[-1].closure - closing[-2].closure)
    if roughness_window is not None:
        window = rolling[-max(1, int(round(roughness_window / advance))):] or [previous]
        measured = float(np.mean([r.line_load for r in window]))
        slope = 0.5 * closing_slope
    else:
        measured, slope = previous.line_load, None
        for older in reversed(rolling[:-1]):
            if abs(older.closure - previous.closure) > 1e-12 * thickness:
                slope = (previous.line_load - older.line_load) / (previous.closure
                                                                   - older.closure)
                break
        if slope is None or slope <= 0.0:
            slope = closing_slope
    correction = spec.controller_gain * (target - measured) / slope
    limit = spec.controller_step_limit * thickness
    return previous.closure + max(-limit, min(limit, correction))


def column_extents(columns, heights, comm) -> dict:
    """{column key: (lowest, highest)} of `heights` grouped by `columns`, over all ranks."""
    local = {}
    for key, y in zip(columns, heights):
        low, high = local.get(key, (np.inf, -np.inf))
        local[key] = (min(low, y), max(high, y))
    merged = {}
    for part in comm.allgather(local):
        for key, (low, high) in part.items():
            old_low, old_high = merged.get(key, (np.inf, -np.inf))
            merged[key] = (min(old_low, low), max(old_high, high))
    return merged


class GapPredictor:
    """Geometric predictor: squeeze each web column (nodes of equal reference x, and z in
    3D) linearly in y so that its top and bottom lie inside the roll surfaces at the current
    closure. Newton then starts without the large penetration a closing step would otherwise
    put on a few surface nodes (which inverts thin elements in the first iterate). The
    squeeze goes where the compliance is: it is weighted by the cumulative oedometric compliance
    int_0^Y dY / M(Y) of the layers below a node (a stiff foil takes ~none)."""

    def __init__(self, problem, nip, layers, laws, element_length, comm):
        self.problem, self.nip, self.comm = problem, nip, comm
        self.element_length = element_length
        heights, compliance = [0.0], [0.0]
        for layer in layers:
            heights.append(heights[-1] + layer.thickness)
            compliance.append(compliance[-1] + layer.thickness
                              / constrained_modulus(laws[layer.name]))
        self.compliance_heights = np.array(heights)
        self.compliance_fractions = np.array(compliance) / compliance[-1]

    def fit(self):
        """Fit the columns into the gap of the current closure (see the class)."""
        V = self.problem.V
        gdim = self.problem.gdim
        coordinates = V.tabulate_dof_coordinates()
        u = self.problem.u.x.array.reshape(-1, gdim)
        columns = np.round(coordinates[:, 0] / (1e-3 * self.element_length)).astype(np.int64)
        if gdim == 3:      # a column is a line of nodes of equal reference x and z
            columns = columns * (1 << 31) + np.round(
                coordinates[:, 2] / (1e-3 * self.element_length)).astype(np.int64)
        merged = column_extents(columns, coordinates[:, 1] + u[:, 1], self.comm)
        s = float(self.nip.position.value)
        top, bottom = self.nip.rolls
        x = coordinates[:, 0] + u[:, 0]
        xi2 = (x - top.centre_x) ** 2
        inside = xi2 < top.radius ** 2
        sag = xi2 / (top.radius + np.sqrt(np.maximum(top.radius ** 2 - xi2, 0.0)))  # R - chord
        top_apex = top.centre_y0 - top.radius - s
        bottom_apex = bottom.centre_y0 + bottom.radius + s
        # a 1e-9 mm overlap (penalty pressure ~0.05 MPa): the surface must be *in* contact,
        # not on the kink of max(d, 0) where the contact stiffness is zero for Newton
        overlap = 1e-9
        ceiling = np.where(inside, top_apex + sag + overlap, np.inf)      # just inside the roll
        floor = np.where(inside, bottom_apex - sag - overlap, -np.inf)
        low = np.array([merged[key][0] for key in columns])
        high = np.array([merged[key][1] for key in columns])
        new_low = np.maximum(low, floor)
        new_high = np.minimum(high, ceiling)
        squeeze = (new_high > new_low) & ((new_low > low) | (new_high < high))
        fraction = np.interp(coordinates[:, 1], self.compliance_heights,
                             self.compliance_fractions)
        shift = (new_low - low) + fraction * ((new_high - high) - (new_low - low))
        u[:, 1] = np.where(squeeze, u[:, 1] + shift, u[:, 1])
        self.problem.u.x.scatter_forward()
