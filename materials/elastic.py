"""Linear (Hencky) elasticity for dense layers: foils, rolls, solid electrolytes.

In logarithmic-strain space the law is Hooke's law on the elastic log strain,

    tau = C : eps_e,      C = 3K P_vol + 2G P_dev,
    K = E / (3 (1 - 2 nu)),   G = E / (2 (1 + nu)),

which at finite strain is the Hencky hyperelastic material (Anand 1979; exact for moderate
stretches of metals and ceramics). There is no history, so eps_e = eps_trial and D = C.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .base import bulk_shear_from_young, isotropic_stiffness


@dataclass
class LinearElastic:
    """Isotropic Hencky elasticity. youngs_modulus in MPa, poisson_ratio dimensionless."""

    youngs_modulus: float
    poisson_ratio: float
    initial_porosity: float = 0.0
    name: str = "elastic"
    output_fields: dict = field(default_factory=dict)
    symmetric_tangent = True            # hyperelastic: dP/dF = d2 psi / dF dF

    def __post_init__(self):
        if not self.youngs_modulus > 0.0:
            raise ValueError(f"youngs_modulus must be > 0 MPa, got {self.youngs_modulus}")
        if not -1.0 < self.poisson_ratio < 0.5:
            raise ValueError(f"poisson_ratio must lie in (-1, 0.5), got {self.poisson_ratio}")
        bulk, shear = bulk_shear_from_young(self.youngs_modulus, self.poisson_ratio)
        self.stiffness = isotropic_stiffness(bulk, shear)

    def stiffest_youngs_modulus(self) -> float:
        """The largest Young's modulus the material reaches, MPa (scales contact penalties)."""
        return float(self.youngs_modulus)

    def virgin_elastic_moduli(self) -> tuple[float, float]:
        """(Young's modulus MPa, Poisson's ratio) of the unstrained material."""
        return float(self.youngs_modulus), float(self.poisson_ratio)

    def initial_state(self, n_points: int) -> dict[str, np.ndarray]:
        return {}

    def update(self, eps_trial, state, dt):
        n = eps_trial.shape[0]
        tau = eps_trial @ self.stiffness.T
        tangent = np.broadcast_to(self.stiffness, (n, 6, 6)).copy()
        return tau, tangent, eps_trial.copy(), {}
