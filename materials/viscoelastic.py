r"""Standard linear solid (Zener) viscoelasticity: polymer pressure pads relaxing under a clamp.

Rheology (Zener 1948; Findley, Lai & Onaran, *Creep and Relaxation of Nonlinear Viscoelastic
Materials*, 1976, ch. 5): an equilibrium spring E2 (the long-term modulus) in parallel with a
Maxwell arm, a spring E1 in series with a dashpot of viscosity eta = E1 tau_r.  Held at a strain
eps0 applied at t = 0 the pad relaxes as (nipstack seed 003)

    sigma(t) = (E2 + E1 exp(-t / tau_r)) eps0,      sigma(0) = (E1 + E2) eps0,  sigma(oo) = E2 eps0.

Three dimensions.  Both springs are isotropic with the one Poisson ratio nu, C_i = E_i C^(nu)
(C^ the stiffness of unit Young's modulus), and the dashpot is tau_r C1, so the bulk and the shear
moduli relax with the same time tau_r by the same fraction E1 / (E1 + E2).  Consequences used by
the tests:

    uniaxial stress (free lateral faces): the lateral strain stays -nu eps0 during a hold and the
        axial stress is exactly (E2 + E1 exp(-t/tau_r)) eps0;
    uniaxial strain (confined pad): sigma(t) = (M2 + M1 exp(-t/tau_r)) eps0 with the constrained
        moduli M_i = E_i (1 - nu) / ((1 + nu)(1 - 2 nu)).

In logarithmic-strain space (the contract of ``base.py``: Kirchhoff stress tau, Hencky strain eps)

    tau = C2 : eps + h,          dh/dt + h / tau_r = C1 : deps/dt,

h being the (Kirchhoff) stress carried by the Maxwell arm.

Integration: exact exponential recursion (Taylor, Pister & Goudreau 1970, Int. J. Numer. Meth.
Eng. 2, 45; Simo & Hughes, *Computational Inelasticity*, 1998, sec. 10.3, who use the midpoint
variant).  With x = dt / tau_r and eps varying linearly in time over the step,

    h_n+1 = exp(-x) h_n + g(x) C1 : (eps_n+1 - eps_n),     g(x) = (1 - exp(-x)) / x,  g(0) = 1,
    D     = d tau / d eps_n+1 = C2 + g(x) C1.

Error: none (round-off only) for any strain history that is piecewise linear in time with its
kinks at step ends -- a step strain (applied with dt = 0) followed by a hold, a ramp of any number
of steps, ramp-hold-unload: the load steps of an FE run are exactly such a history.  For a smooth
nonlinear history eps(t) the only error is replacing it by its piecewise-linear interpolant e_I;
integrating the hereditary integral by parts, h - h_I = -(1/tau_r) int exp(-(t-s)/tau_r) C1 :
(eps - e_I)(s) ds, so |h - h_I| <= C1 : max|eps''| dt^2 / 8 (second order in dt).  For a strain
a sin(w t) the stress error is at most E1 a (w dt)^2 / 8 (M1 for E1 when confined), a fraction
(w dt)^2 / 8 E1 / E2 or less of the stress amplitude (which is at least E2 a).

Finite strain.  There is no plastic strain: eps_e = eps_trial, so the kinematics layer keeps
Cp = I and eps is the Eulerian Hencky strain ln V; the equilibrium spring is then Hencky
hyperelasticity.  The history (h and eps_n, Mandel components in the fixed spatial basis) is not
rotated with the material, which is exact for the coaxial, non-rotating compression of a pad in a
stack and an approximation of order (rotation during the relaxation) otherwise.  Cauchy stress
sigma = tau / J; for the pads' strains of a few per cent J - 1 is small but not negligible, so the
closed forms above hold for tau (tests compare tau).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .base import bulk_shear_from_young, equivalent_stress, isotropic_stiffness, mean_stress


@dataclass
class StandardLinearSolid:
    """Zener solid: long_term_modulus E2 || (maxwell_modulus E1 -- dashpot E1 relaxation_time).

    Moduli in MPa, relaxation_time in s, poisson_ratio dimensionless (shared by both springs).
    """

    long_term_modulus: float
    maxwell_modulus: float
    relaxation_time: float
    poisson_ratio: float
    initial_porosity: float = 0.0
    name: str = "viscoelastic"
    output_fields: dict = field(default_factory=lambda: {"maxwell_mean_stress": "MPa",
                                                         "maxwell_equivalent_stress": "MPa"})

    def __post_init__(self):
        if not self.long_term_modulus > 0.0:
            raise ValueError(f"long_term_modulus must be > 0 MPa, got {self.long_term_modulus}")
        if not self.maxwell_modulus >= 0.0:
            raise ValueError(f"maxwell_modulus must be >= 0 MPa, got {self.maxwell_modulus}")
        if not self.relaxation_time > 0.0:
            raise ValueError(f"relaxation_time must be > 0 s, got {self.relaxation_time}")
        if not -1.0 < self.poisson_ratio < 0.5:
            raise ValueError(f"poisson_ratio must lie in (-1, 0.5), got {self.poisson_ratio}")
        unit = isotropic_stiffness(*bulk_shear_from_young(1.0, self.poisson_ratio))
        self.long_term_stiffness = self.long_term_modulus * unit       # C2
        self.maxwell_stiffness = self.maxwell_modulus * unit           # C1

    @property
    def youngs_modulus(self) -> float:
        """Instantaneous (glassy side) Young's modulus E1 + E2, MPa: the stiffest the pad gets."""
        return self.long_term_modulus + self.maxwell_modulus

    def relaxation_modulus(self, time):
        """E(t) = E2 + E1 exp(-t / tau_r), MPa: uniaxial stress per unit step strain."""
        return self.long_term_modulus + self.maxwell_modulus * np.exp(
            -np.asarray(time, dtype=float) / self.relaxation_time)

    def stiffest_youngs_modulus(self) -> float:
        """The instantaneous Young's modulus E1 + E2, MPa (scales contact penalties)."""
        return float(self.youngs_modulus)

    def virgin_elastic_moduli(self) -> tuple[float, float]:
        """(instantaneous Young's modulus MPa, Poisson's ratio) of the unstrained pad."""
        return float(self.youngs_modulus), float(self.poisson_ratio)

    def initial_state(self, n_points: int) -> dict[str, np.ndarray]:
        return {"maxwell_stress": np.zeros((n_points, 6)),        # h, Kirchhoff, MPa
                "log_strain": np.zeros((n_points, 6)),            # eps at the end of the last step
                "maxwell_mean_stress": np.zeros(n_points),        # p of h (compression +), MPa
                "maxwell_equivalent_stress": np.zeros(n_points)}  # q of h, MPa

    def update(self, eps_trial, state, dt):
        if not dt >= 0.0:
            raise ValueError(f"step time dt must be >= 0 s, got {dt}")
        eps_trial = np.asarray(eps_trial, dtype=float)
        n_points = eps_trial.shape[0]
        x = dt / self.relaxation_time
        decay = np.exp(-x)
        ramp = -np.expm1(-x) / x if x > 0.0 else 1.0                   # g(x)
        increment = eps_trial - state["log_strain"]
        maxwell = decay * state["maxwell_stress"] + ramp * (increment @ self.maxwell_stiffness.T)
        tau = eps_trial @ self.long_term_stiffness.T + maxwell
        tangent = np.broadcast_to(self.long_term_stiffness + ramp * self.maxwell_stiffness,
                                  (n_points, 6, 6)).copy()
        new_state = {"maxwell_stress": maxwell, "log_strain": eps_trial.copy(),
                     "maxwell_mean_stress": mean_stress(maxwell),
                     "maxwell_equivalent_stress": equivalent_stress(maxwell)}
        return tau, tangent, eps_trial.copy(), new_state
