r"""Perfectly bonded (linear elastic) interface: a tie between layers that never fails.

    t_n = k_n g_n,      t_t = k_t g_t,      d t / d jump = diag(k_n, k_t, k_t),

the linear spring layer of the interface-element literature (e.g. Schellekens & de Borst 1993,
Int. J. Numer. Meth. Eng. 36:43-66, the undamaged branch of any cohesive law). A large penalty
(k ~ E / h_element x 10^2..10^4) approximates a perfect tie; a physical value models a thin
compliant glue or binder layer of thickness h and moduli E, G as k_n = E_oed / h, k_t = G / h.
Tension and compression are treated alike (no damage, no contact switch).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .interface_base import gap_fields, split_jump


@dataclass
class BondedInterface:
    """Linear elastic interface; normal_stiffness and tangential_stiffness in MPa/mm
    (tangential_stiffness defaults to normal_stiffness)."""

    normal_stiffness: float
    tangential_stiffness: float | None = None
    name: str = "bonded"
    output_fields: dict = field(default_factory=lambda: {"gap_normal": "mm",
                                                         "gap_tangential": "mm"})

    def __post_init__(self):
        if not self.normal_stiffness > 0.0:
            raise ValueError(f"normal_stiffness must be > 0 MPa/mm, got {self.normal_stiffness}")
        if self.tangential_stiffness is None:
            self.tangential_stiffness = self.normal_stiffness
        if not self.tangential_stiffness > 0.0:
            raise ValueError(
                f"tangential_stiffness must be > 0 MPa/mm, got {self.tangential_stiffness}")

    def initial_state(self, n_points: int) -> dict[str, np.ndarray]:
        return {"gap_normal": np.zeros(n_points), "gap_tangential": np.zeros(n_points)}

    def update(self, jump, state, dt):
        g_n, g_t = split_jump(jump)
        n_points, m = g_n.shape[0], g_t.shape[1] + 1
        stiffness = np.diag([self.normal_stiffness] + [self.tangential_stiffness] * (m - 1))
        traction = np.asarray(jump, dtype=float) @ stiffness
        tangent = np.broadcast_to(stiffness, (n_points, m, m)).copy()
        return traction, tangent, gap_fields(jump)
