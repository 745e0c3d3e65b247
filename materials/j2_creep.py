r"""J2 plasticity with Norton power-law creep, for lithium metal at room temperature (0.66 T_m).

Lithium creeps well below its yield stress: Masias et al. 2019 (J. Mater. Sci. 54, 2585, doi
10.1007/s10853-018-2971-3) measured steady (dislocation-climb) creep in tension at 0.2-0.6 MPa
with stress exponent n = 6.56; LePage et al. 2019 (J. Electrochem. Soc. 166, A89) showed that
power-law creep governs Li over the battery-relevant rates.  The law adds that creep to the
rate-independent J2 law of ``j2.py`` (whose flow stress sigma_y(kappa), hardening slope, radial
return and tangent it reuses):

    tau = C : (eps_trial - eps_p - eps_cr),
    creep (Norton):    d eps_cr / dt = sqrt(3/2) A (q / sigma_0)^n  n_dev,
    plasticity:        f = q - sigma_y(kappa) <= 0,  d eps_p = sqrt(3/2) d_gamma_p n_dev,
                       kappa (equivalent plastic strain) grows by d_gamma_p only,

with q the equivalent Kirchhoff stress, n_dev the unit deviator, A the creep rate at the
reference stress sigma_0 (1/s) and n the stress exponent.  Both flows are isochoric and along the
trial deviator, so the return is radial: q = q_trial - 3G (d_gamma_cr + d_gamma_p).

Backward Euler over a step dt, with k = dt A / sigma_0^n (so d_gamma_cr = k q^n):

1.  creep alone: solve q + 3G k q^n = q_trial for q in (0, q_trial].  One scalar Newton on the
    equivalent inelastic increment d_gamma = (q_trial - q) / (3G), carried in the variable
    y = ln q: phi(y) = ln(e^y + 3G k e^(n y)) - ln q_trial = 0 is increasing and convex with slope
    between 1 and n, so Newton started at y = ln q_trial (phi >= 0) converges monotonically,
    in a few iterations even when creep dominates (3G k q^(n-1) >> 1, the stiff limit where a
    Newton on d_gamma itself creeps in by factors (1 - 1/n) per iteration).
2.  yield cap: if that q exceeds sigma_y(kappa_n), the point yields and q = sigma_y(kappa_n +
    d_gamma_p): creep runs at the rate of the capped stress, d_gamma_cr = k sigma_y^n, and the
    rest is plastic.  This is the J2 radial return of ``j2.py`` with the flow stress raised by the
    creep of the step, q_trial - 3G d_gamma_p - [sigma_y + 3G k sigma_y^n](kappa_n + d_gamma_p) = 0
    (one scalar Newton; with no hardening a single step).  It has d_gamma_p > 0 exactly when
    step 1 gives q > sigma_y(kappa_n), so q never exceeds sigma_y.
3.  consistent tangent: the radial-return form of ``j2.radial_return`` with
        creep only:  d d_gamma / d q_trial = c / (1 + 3G c),               c = n k q^(n-1)
        yielding:    d d_gamma / d q_trial = (1 + c H) / (3G (1 + c H) + H),  c at q = sigma_y,
    H = d sigma_y / d kappa (J2: 1 / (3G + H) at k = 0).

dt = 0 (or A = 0) gives k = 0: step 1 is skipped and steps 2-3 are, operation for operation, the
rate-independent J2 law (the tests check bit equality).  Backward Euler is exact for a step at
constant stress (steady creep has no primary stage here), first order in dt for relaxation at
fixed strain.  Yield and creep use the Kirchhoff q (= J x Cauchy, J - 1 ~ -p/K ~ 1e-5 for Li
at stack pressures).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import MaterialPointError
from .j2 import J2Plasticity, deviatoric_trial, radial_return


@dataclass
class J2NortonCreep(J2Plasticity):
    """J2 plasticity (Hencky elasticity, linear/Voce hardening, MPa) + Norton creep.

    creep_coefficient A (1/s): equivalent creep rate at q = creep_reference_stress sigma_0 (MPa);
    creep_exponent n (-).  A = 0 is the rate-independent J2 law.
    """

    creep_coefficient: float = 0.0
    creep_exponent: float = 1.0
    creep_reference_stress: float = 1.0
    name: str = "j2_creep"
    output_fields: dict = field(default_factory=lambda: {"equivalent_plastic_strain": "-",
                                                         "equivalent_creep_strain": "-"})

    def __post_init__(self):
        super().__post_init__()
        if not self.creep_coefficient >= 0.0:
            raise ValueError(f"creep_coefficient must be >= 0 1/s, got {self.creep_coefficient}")
        if not self.creep_exponent >= 1.0:
            raise ValueError(f"creep_exponent must be >= 1, got {self.creep_exponent}")
        if not self.creep_reference_stress > 0.0:
            raise ValueError(f"creep_reference_stress must be > 0 MPa, got "
                             f"{self.creep_reference_stress}")
        self._last_creep_residuals: list[float] = []

    def creep_rate(self, q):
        """Norton equivalent creep rate A (q / sigma_0)^n, 1/s (q in MPa)."""
        return self.creep_coefficient * (np.asarray(q, dtype=float)
                                         / self.creep_reference_stress) ** self.creep_exponent

    def initial_state(self, n_points: int) -> dict[str, np.ndarray]:
        state = super().initial_state(n_points)
        state.update(equivalent_creep_strain=np.zeros(n_points),
                     creep_strain=np.zeros((n_points, 6)))
        return state

    def _creep_return(self, q_trial, k, idx, n_points):
        """Step 1: q with q + 3G k q^n = q_trial (arrays over the points idx); returns
        (q, d_gamma_cr, d d_gamma / d q_trial)."""
        shear3 = 3.0 * self.shear_modulus
        n = self.creep_exponent
        log_c = np.log(shear3 * k)
        log_qt = np.log(q_trial)
        y = log_qt.copy()
        tolerance = 1e-14 * (1.0 + np.abs(log_qt))       # phi is a relative residual of q_trial
        history = []
        for _ in range(60):
            z = log_c + (n - 1.0) * y                    # ln(3G k q^(n-1))
            soft = np.logaddexp(0.0, z)                  # ln(1 + 3G k q^(n-1))
            phi = y + soft - log_qt
            history.append(float(np.max(np.abs(phi))))
            if np.all(np.abs(phi) < tolerance):
                break
            y = y - phi / (1.0 + (n - 1.0) * np.exp(z - soft))
        else:
            bad = idx[np.abs(phi) >= tolerance]
            raise MaterialPointError(self.name, bad, n_points, "creep return")
        self._last_creep_residuals = history
        q = np.exp(y)
        dcreep = np.exp(np.log(k) + n * y)               # k q^n
        slope = n * dcreep / q                           # c = d d_gamma_cr / d q
        return q, dcreep, slope / (1.0 + shear3 * slope)

    def update(self, eps_trial, state, dt):
        if not dt >= 0.0:
            raise ValueError(f"step time dt must be >= 0 s, got {dt}")
        eps_trial = np.asarray(eps_trial, dtype=float)
        n_points = eps_trial.shape[0]
        shear = self.shear_modulus
        n = self.creep_exponent
        kappa_n = state["equivalent_plastic_strain"]
        e_trial, norm = deviatoric_trial(eps_trial)
        q_trial = 3.0 * shear * np.sqrt(2.0 / 3.0) * norm
        k = dt * self.creep_coefficient / self.creep_reference_stress ** n
        q = q_trial.copy()                               # after the creep-only return
        dcreep = np.zeros(n_points)
        dplastic = np.zeros(n_points)
        dgamma_dq = np.zeros(n_points)
        creeping = (q_trial > 0.0) & (k > 0.0)
        idx_c = np.flatnonzero(creeping)
        if idx_c.size:
            q[idx_c], dcreep[idx_c], dgamma_dq[idx_c] = self._creep_return(
                q_trial[idx_c], k, idx_c, n_points)
        plastic = q - self.flow_stress(kappa_n) > 1e-12 * self.yield_stress
        idx_p = np.flatnonzero(plastic)
        if idx_p.size:
            def creep_raised_flow_stress(kappa):
                sigma_y = self.flow_stress(kappa)
                return sigma_y + 3.0 * shear * k * sigma_y ** n

            def creep_raised_slope(kappa):
                sigma_y = self.flow_stress(kappa)
                return self.hardening_slope(kappa) * (
                    1.0 + 3.0 * shear * k * n * sigma_y ** (n - 1.0))

            dp = self.plastic_return(q_trial[idx_p], kappa_n[idx_p], creep_raised_flow_stress,
                                     creep_raised_slope, idx_p, n_points)
            kappa = kappa_n[idx_p] + dp
            sigma_y = self.flow_stress(kappa)
            hardening = self.hardening_slope(kappa)
            creep_slope = k * n * sigma_y ** (n - 1.0)
            dplastic[idx_p] = dp
            dcreep[idx_p] = k * sigma_y ** n
            dgamma_dq[idx_p] = (1.0 + creep_slope * hardening) / (
                3.0 * shear * (1.0 + creep_slope * hardening) + hardening)
        dgamma = dplastic + dcreep
        idx = np.flatnonzero(creeping | plastic)
        tau, tangent, eps_e, increment = radial_return(
            eps_trial, e_trial, norm, q_trial, dgamma, dgamma_dq, idx, self.bulk_modulus, shear)
        plastic_share = np.divide(dplastic, dgamma, out=np.zeros(n_points), where=dgamma > 0.0)
        plastic_increment = plastic_share[:, None] * increment
        new_state = {"equivalent_plastic_strain": kappa_n + dplastic,
                     "plastic_strain": state["plastic_strain"] + plastic_increment,
                     "equivalent_creep_strain": state["equivalent_creep_strain"] + dcreep,
                     "creep_strain": state["creep_strain"] + (increment - plastic_increment)}
        return tau, tangent, eps_e, new_state
