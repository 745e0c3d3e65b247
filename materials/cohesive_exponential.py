r"""Exponential cohesive law on an effective opening, with irreversible damage and contact in
compression.

Source: M. Ortiz and A. Pandolfi, "Finite-deformation irreversible cohesive elements for
three-dimensional crack-propagation analysis", Int. J. Numer. Meth. Eng. 44:1267-1282 (1999)
(the "universal binding" form of Smith & Ferrante / Xu & Needleman 1993 reduced to one
variable). With the effective opening (shear weight beta, 1 by default)

    Delta = sqrt(<g_n>^2 + beta^2 |g_t|^2),        <g_n> = max(g_n, 0),

the cohesive potential phi(Delta) gives the effective traction

    T(Delta) = phi'(Delta) = (G_c / delta_c^2) Delta exp(-Delta / delta_c),
    delta_c = G_c / (e sigma_max),

whose peak is T(delta_c) = sigma_max and whose area int_0^inf T dDelta = G_c. The traction is

    t = T / Delta [<g_n>, beta^2 g_t]     (+ k_c g_n e_n in compression, g_n <= 0),

so every proportional path (mode I, mode II or mixed) dissipates G_c. Irreversibility after
Ortiz & Pandolfi: with Delta_max the largest effective opening reached, Delta < Delta_max
unloads linearly to the origin, T = T(Delta_max) Delta / Delta_max, i.e. the secant stiffness
h = K_0 exp(-Delta_max / delta_c) with K_0 = G_c / delta_c^2 = e sigma_max / delta_c the initial
slope; the reported damage is d = 1 - h / K_0 = 1 - exp(-Delta_max / delta_c). Interpenetration is
resisted by a contact penalty k_c (``compression_stiffness``, default K_0), unaffected by damage.

Consistent tangent, with W = diag(1, beta^2, beta^2) and <.> acting on the normal entry:

    unloading:  d t / d g = h W diag([g_n > 0], 1, 1) + k_c [g_n <= 0] e_n (x) e_n
    loading:    ... - h / delta_c (W g_eff) (x) (W g_eff) / Delta,   g_eff = [<g_n>, g_t]

(symmetric: the law derives from a potential on the loading branch).

``dissipated_energy`` (N/mm) is the energy no longer recoverable at Delta_max,
G_c [1 - (1 + x + x^2/2) exp(-x)] with x = Delta_max / delta_c (-> G_c at full separation).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .interface_base import check_state, gap_fields, split_jump

_STATE_KEYS = ("max_opening",)


@dataclass
class ExponentialCohesive:
    """Ortiz-Pandolfi exponential cohesive law.

    strength sigma_max (MPa), toughness G_c (N/mm), shear_weight beta (-), compression_stiffness
    k_c (MPa/mm, default the initial slope e sigma_max / delta_c).
    """

    strength: float
    toughness: float
    shear_weight: float = 1.0
    compression_stiffness: float | None = None
    name: str = "cohesive_exponential"
    output_fields: dict = field(default_factory=lambda: {
        "damage": "-", "gap_normal": "mm", "gap_tangential": "mm", "max_opening": "mm",
        "dissipated_energy": "N/mm"})

    def __post_init__(self):
        if not self.strength > 0.0:
            raise ValueError(f"strength (sigma_max) must be > 0 MPa, got {self.strength}")
        if not self.toughness > 0.0:
            raise ValueError(f"toughness (G_c) must be > 0 N/mm, got {self.toughness}")
        if not self.shear_weight > 0.0:
            raise ValueError(f"shear_weight must be > 0, got {self.shear_weight}")
        #: characteristic opening delta_c (mm) and initial slope K_0 (MPa/mm)
        self.critical_opening = self.toughness / (np.e * self.strength)
        self.initial_stiffness = self.toughness / self.critical_opening ** 2
        if self.compression_stiffness is None:
            self.compression_stiffness = self.initial_stiffness
        if not self.compression_stiffness > 0.0:
            raise ValueError(
                f"compression_stiffness must be > 0 MPa/mm, got {self.compression_stiffness}")

    def effective_traction(self, opening):
        """T(Delta) = (G_c / delta_c^2) Delta exp(-Delta / delta_c), MPa (monotonic loading)."""
        opening = np.asarray(opening, dtype=float)
        return self.initial_stiffness * opening * np.exp(-opening / self.critical_opening)

    def initial_state(self, n_points: int) -> dict[str, np.ndarray]:
        return {"max_opening": np.zeros(n_points), "damage": np.zeros(n_points),
                "dissipated_energy": np.zeros(n_points),
                "gap_normal": np.zeros(n_points), "gap_tangential": np.zeros(n_points)}

    def update(self, jump, state, dt):
        g_n, g_t = split_jump(jump)
        n_points, m = g_n.shape[0], g_t.shape[1] + 1
        check_state(state, _STATE_KEYS, n_points, self.name)
        w = self.shear_weight ** 2
        delta_c, k_c = self.critical_opening, self.compression_stiffness
        a = np.maximum(g_n, 0.0)
        opening = np.sqrt(a * a + w * np.einsum("ij,ij->i", g_t, g_t))
        loading = opening > state["max_opening"]
        max_opening = np.where(loading, opening, state["max_opening"])
        secant = self.initial_stiffness * np.exp(-max_opening / delta_c)

        weighted = np.concatenate([a[:, None], w * g_t], axis=1)     # W g_eff
        traction = secant[:, None] * weighted
        tension = g_n > 0.0
        traction[:, 0] += np.where(tension, 0.0, k_c * g_n)
        tangent = np.zeros((n_points, m, m))
        tangent[:, 0, 0] = np.where(tension, secant, k_c)
        for i in range(1, m):
            tangent[:, i, i] = w * secant
        if np.any(loading):
            factor = secant[loading] / (delta_c * opening[loading])
            tangent[loading] -= factor[:, None, None] * np.einsum(
                "ki,kj->kij", weighted[loading], weighted[loading])

        x = max_opening / delta_c
        new_state = {"max_opening": max_opening, "damage": 1.0 - np.exp(-x),
                     "dissipated_energy": self.toughness * (
                         1.0 - (1.0 + x + 0.5 * x * x) * np.exp(-x)),
                     **gap_fields(jump)}
        return traction, tangent, new_state
