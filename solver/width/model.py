"""The nip across the web: two roll beams and the local nip response, solved together.

Cross-web coordinate x (mm) from the face centre. The coated lane, x in [x_l, x_r], is cut into
`points` cross-sections; each one is a 2D nip (`response.NipResponse`). The bare foil margins
beside it pass the nip without touching the rolls (checked: their gap must stay wider than the
foil) and carry no load.

Gap at x, with both rolls' deflections w (positive away from the web, `beam.Roll`) and their
crowns c (radius excess, mm):

    g(x) = g0 + w_top(x) + w_bottom(x) - c_top(x) - c_bottom(x)                          (1)

g0 is the gap of uncrowned, undeflected rolls (set by the bearings). The rolls are linear, so
on the lane nodes w_top + w_bottom = G q + w_b, with G the sum of the two rolls' influence
matrices and w_b the deflection of the bending forces. The local line load is the 2D nip's:

    q_i = Q(t_i - g_i; h_i, phi_i),  t_i = t_foil + h_i (entry web thickness)              (2)

Unknowns q (and g0 under load control, with the total nip force sum_i a_i q_i = F, a_i the
trapezoid weights of the piecewise-linear load). Newton on R(q, g0) = q - Q(t - g(q, g0)):

    dR/dq = I + diag(Q') G,   dR/dg0 = Q'   (Q' = dQ/d reduction from the table's PCHIP),

bordered by the load equation, with a backtracking line search on |R|. Start: the rigid-roll
solution (g = g0 + w_b - c), whose g0 is found by bisection on the total load.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .beam import Roll, RollGeometry, roll_nodes
from .response import ResponseError


class WidthSolveError(RuntimeError):
    """The coupled roll/nip problem has no solution the table can give (or did not converge)."""


def crown_function(spec, face_length: float):
    """c(x): the radius excess (mm) of a roll with this crown spec (half the diameter crown)."""
    half = 0.5 * face_length
    if spec.kind == "parabolic":
        return lambda x: 0.5 * spec.amplitude * (1.0 - (np.asarray(x) / half) ** 2)
    if spec.kind == "cosine":
        return lambda x: 0.5 * spec.amplitude * np.cos(0.5 * np.pi * np.asarray(x) / half)
    if spec.kind == "table":
        table = np.asarray(spec.table, dtype=float)
        return lambda x: 0.5 * np.interp(x, table[:, 0], table[:, 1])
    return lambda x: np.zeros_like(np.asarray(x, dtype=float))


def roll_geometry(spec, diameter: float, crown=None) -> RollGeometry:
    """The beam of one [width.*_roll] table; `crown` (a CrownSpec) replaces the table's."""
    return RollGeometry(
        diameter=diameter, face_length=spec.face_length,
        bearing_positions=tuple(spec.bearing_positions), journal_diameter=spec.journal_diameter,
        youngs_modulus=spec.youngs_modulus, poisson_ratio=spec.poisson_ratio,
        core_diameter=spec.core_diameter, core_modulus=spec.core_modulus,
        bending_arm=spec.bending_arm, bending_force=spec.bending_force,
        crown=crown_function(crown or spec.crown, spec.face_length))


def cross_web_profile(lane: np.ndarray, table, default: float) -> np.ndarray:
    """A [x_mm, value] table (x from the lane centre, linear between its rows) at the lane's
    cross-sections; an empty table: `default` everywhere."""
    table = np.asarray(table, dtype=float)
    return np.interp(lane, table[:, 0], table[:, 1]) if len(table) \
        else np.full(lane.shape, default)


@dataclass
class Web:
    """The web across the width: lane cross-sections x (mm from the face centre) with their
    entry coating thickness h and porosity phi0, the foil under them, and the margins.

    A double-sided web has a second coating under the foil, of entry thickness
    `bottom_thickness` and porosity `bottom_porosity` at every x. Without profiles of its own
    the faces share the top's profiles: the bottom's thickness keeps its nominal ratio to h,
    its porosity its nominal offset from phi0 (`bottom_own` names the profiles it has of its
    own: 'thickness', 'porosity')."""
    x: np.ndarray
    thickness: np.ndarray
    porosity: np.ndarray
    foil_thickness: float
    left_edge: float
    right_edge: float
    bottom_thickness: np.ndarray | None = None
    bottom_porosity: np.ndarray | None = None
    bottom_own: tuple = ()

    @classmethod
    def from_spec(cls, spec, coating_thickness: float, coating_porosity: float,
                  foil_thickness: float, bottom: tuple[float, float] | None = None) -> "Web":
        """The web of a [width] table; `bottom` = the nominal (thickness, entry porosity) of a
        double-sided web's coating under the foil."""
        lane = np.linspace(-0.5, 0.5, spec.points) * spec.coated_width
        h = cross_web_profile(lane, spec.coating_thickness, coating_thickness)
        phi = cross_web_profile(lane, spec.coating_porosity, coating_porosity)
        x = lane + spec.lane_offset
        web = cls(x, h, phi, foil_thickness, x[0] - spec.margins[0], x[-1] + spec.margins[1])
        if bottom is not None:
            thickness, porosity = bottom
            web.bottom_thickness = cross_web_profile(lane, spec.bottom_coating_thickness,
                                                     0.0) if spec.bottom_coating_thickness \
                else h * (thickness / coating_thickness)
            web.bottom_porosity = cross_web_profile(lane, spec.bottom_coating_porosity,
                                                    0.0) if spec.bottom_coating_porosity \
                else phi + (porosity - coating_porosity)
            web.bottom_own = tuple(name for name, table in (
                ("thickness", spec.bottom_coating_thickness),
                ("porosity", spec.bottom_coating_porosity)) if table)
        return web

    @classmethod
    def from_case(cls, case, laws: dict) -> "Web":
        """The web of a calender_width case (`laws`: case.layer_laws): its top coating (the
        last layer) on the foil, and on a three-layer web the coating under the foil (layer
        0) at its nominal thickness, entering `case.load.bottom_porosity_offset` more porous."""
        from ..case.load import bottom_porosity_offset, entry_porosity

        layers = case.layers
        coating = layers[-1]
        porosity = entry_porosity(coating, laws[coating.name])
        foil = layers[-2].thickness if len(layers) > 1 else 0.0
        bottom = None
        if len(layers) == 3:
            bottom = (layers[0].thickness, porosity + bottom_porosity_offset(case, laws))
        return cls.from_spec(case.width, coating.thickness, porosity, foil, bottom)

    @property
    def double_sided(self) -> bool:
        return self.bottom_thickness is not None

    @property
    def entry_thickness(self) -> np.ndarray:
        bottom = self.bottom_thickness if self.double_sided else 0.0
        return self.foil_thickness + self.thickness + bottom

    def coordinates(self) -> dict:
        """The web's value on every axis a response table can have (response.AXES)."""
        out = {"thicknesses": self.thickness, "porosities": self.porosity}
        if self.double_sided:
            out.update(bottom_thicknesses=self.bottom_thickness,
                       bottom_porosities=self.bottom_porosity)
        return out


@dataclass
class Solution:
    g0: float
    q: np.ndarray
    gap: np.ndarray
    values: dict                       # the table's quantities at every lane cross-section
    total_load: float
    iterations: int
    history: list


class WidthModel:
    """Both rolls on a common set of nodes, the web, and the nip response."""

    def __init__(self, web: Web, top: RollGeometry, bottom: RollGeometry, response,
                 element_length: float = 10.0):
        self.web, self.response = web, response
        edges = np.array([web.left_edge, web.right_edge])
        self.rolls = []
        for geometry in (top, bottom):
            nodes = roll_nodes(geometry, np.concatenate([web.x, edges]), element_length)
            middle = 0.5 * (nodes[1:] + nodes[:-1])
            loaded = (middle > web.x[0]) & (middle < web.x[-1])
            roll = Roll(geometry, nodes, loaded)
            roll.lane = np.array([roll.node(p) for p in web.x])
            roll.load_map = interpolation_matrix(web.x, nodes)
            self.rolls.append(roll)
        self.G = sum(roll.influence(roll.lane, roll.load_map) for roll in self.rolls)
        self.bending = sum(roll.bending_deflection()[roll.lane] for roll in self.rolls)
        self.crown = sum(roll.geometry.crown(web.x) for roll in self.rolls)
        self.weights = trapezoid_weights(web.x)

    def gap(self, q: np.ndarray, g0: float) -> np.ndarray:
        """Equation (1) on the lane: g0 + G q + w_bending - crown."""
        return g0 + self.G @ q + self.bending - self.crown

    def local(self, gap: np.ndarray, derivative: bool = False) -> dict:
        web = self.web
        return self.response.evaluate(web.entry_thickness - gap, web.coordinates(),
                                      derivative=derivative)

    def _start(self, total_load: float) -> tuple[float, np.ndarray]:
        """The start of Newton under load control: the gap the rolls take under a uniform
        line load F / lane width, its g0 found by bisection so the nip carries F (Q is
        monotone in the gap), and the nip's line load there."""
        uniform = np.full(len(self.web.x), total_load / float(self.weights.sum()))
        base = self.G @ uniform + self.bending - self.crown
        low = float(np.max(self.web.entry_thickness - base)) - self.response.reductions[-1]
        high = float(np.max(self.web.entry_thickness - base))
        load = lambda g0: self.weights @ self.local(g0 + base)["line_load_N_per_mm"]
        most = load(low)
        if most < total_load:
            lane = float(self.weights.sum())
            largest = float(self.response.reductions[-1])
            raise WidthSolveError(
                f"a total nip force of {total_load:.6g} N ({total_load / lane:.4g} N/mm over "
                f"the lane) needs more thickness reduction than the response table holds: its "
                f"largest reduction, {largest:.6g} mm, carries at most {most:.6g} N "
                f"({most / lane:.4g} N/mm); add reductions larger than {largest:.6g} mm to "
                f"width.reductions (or lower calender.line_load)")
        for _ in range(200):
            middle = 0.5 * (low + high)
            low, high = (middle, high) if load(middle) > total_load else (low, middle)
            if high - low < 1e-14:
                break
        g0 = 0.5 * (low + high)
        return g0, self.local(g0 + base)["line_load_N_per_mm"]

    def solve(self, g0: float | None = None, total_load: float | None = None,
              tolerance: float = 1e-10, max_iterations: int = 60) -> Solution:
        """Gap control (g0 given) or load control (total nip force F, N)."""
        load_control = total_load is not None
        if load_control:
            g0, q = self._start(total_load)
        else:
            q = self.local(g0 + self.bending - self.crown)["line_load_N_per_mm"]
        n, history = len(q), []
        residual = lambda q, g0: q - self.local(self.gap(q, g0))["line_load_N_per_mm"]
        for iteration in range(1, max_iterations + 1):
            local = self.local(self.gap(q, g0), derivative=True)
            R = q - local["line_load_N_per_mm"]
            slope = local["dq_dreduction"]
            J = np.eye(n) + slope[:, None] * self.G
            if load_control:
                J = np.block([[J, slope[:, None]], [self.weights[None, :], np.zeros((1, 1))]])
                R = np.concatenate([R, [self.weights @ q - total_load]])
            step = np.linalg.solve(J, -R)
            norm, alpha = np.linalg.norm(R), 1.0
            while alpha > 1e-4:
                q_new = q + alpha * step[:n]
                g0_new = g0 + alpha * step[n] if load_control else g0
                try:
                    R_new = residual(q_new, g0_new)
                except ResponseError:                 # a trial step beyond the table
                    alpha *= 0.5
                    continue
                if load_control:
                    R_new = np.concatenate([R_new, [self.weights @ q_new - total_load]])
                if np.linalg.norm(R_new) < (1 - 1e-4 * alpha) * norm or norm == 0.0:
                    break
                alpha *= 0.5
            else:
                raise WidthSolveError("the coupled solve's line search failed (the solution "
                                      "may lie beyond the response table: widen "
                                      "width.reductions)")
            change = float(np.max(np.abs(self.G @ (q_new - q)) + abs(g0_new - g0)))
            q, g0 = q_new, g0_new
            history.append({"iteration": iteration, "residual_N_per_mm": float(np.linalg.norm(
                R_new, np.inf)), "gap_change_mm": change, "g0_mm": g0, "step_length": alpha,
                "total_load_N": float(self.weights @ q)})
            if change < tolerance and history[-1]["residual_N_per_mm"] < 1e-8 * max(
                    1.0, float(np.max(np.abs(q)))):
                break
        else:
            raise WidthSolveError(f"the coupled roll/nip solve did not converge in "
                                  f"{max_iterations} iterations (last gap change {change:.3g} mm)")
        gap = self.gap(q, g0)
        values = self.local(gap)
        return Solution(g0, q, gap, values, float(self.weights @ q), iteration, history)

    def margins(self, solution: Solution, points: int = 5) -> dict:
        """x, gap and the rolls' deflections over the bare margins (no load there)."""
        out = {}
        for side, (a, b) in (("left", (self.web.left_edge, self.web.x[0])),
                             ("right", (self.web.x[-1], self.web.right_edge))):
            if b - a <= 0:
                continue
            x = np.linspace(a, b, points)
            gap = solution.g0 - sum(roll.geometry.crown(x) for roll in self.rolls)
            for roll in self.rolls:
                gap = gap + np.interp(x, roll.x, roll.deflection(roll.load_map @ solution.q))
            out[side] = (x, gap)
            if np.min(gap) <= self.web.foil_thickness:
                raise WidthSolveError(f"the {side} margin's gap ({np.min(gap) * 1e3:.2f} um) "
                                      f"closes on the bare foil ({self.web.foil_thickness * 1e3:.1f}"
                                      f" um): the margins are not unloaded")
        return out

    def deflections(self, solution: Solution) -> list[np.ndarray]:
        """(x, w) of each roll over its whole length."""
        return [(roll.x, roll.deflection(roll.load_map @ solution.q)) for roll in self.rolls]

    def bearing_forces(self, solution: Solution) -> list[np.ndarray]:
        return [roll.reactions(roll.load_map @ solution.q) for roll in self.rolls]


def trapezoid_weights(x: np.ndarray) -> np.ndarray:
    """a_i with sum_i a_i q_i = integral of the piecewise-linear q over x."""
    a = np.zeros(len(x))
    dx = np.diff(x)
    a[:-1] += 0.5 * dx
    a[1:] += 0.5 * dx
    return a


def interpolation_matrix(points: np.ndarray, nodes: np.ndarray) -> np.ndarray:
    """M (len(nodes) x len(points)): the piecewise-linear function with values q at `points`,
    at the nodes (zero outside [points[0], points[-1]])."""
    M = np.zeros((len(nodes), len(points)))
    for j in range(len(points)):
        unit = np.zeros(len(points))
        unit[j] = 1.0
        M[:, j] = np.interp(nodes, points, unit, left=0.0, right=0.0)
    return M
