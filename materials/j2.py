r"""J2 (von Mises) plasticity with isotropic hardening, for dense metals: Al and Cu foils, Li.

In logarithmic-strain space (Simo 1992; Simo & Hughes 1998, box 3.2):

    tau = C : (eps_trial - eps_p),          f = q - sigma_y(kappa) <= 0,
    sigma_y(kappa) = yield_stress + hardening_modulus kappa
                     + voce_stress (1 - exp(-voce_rate kappa)),

with associated, isochoric flow d eps_p = d_gamma sqrt(3/2) n (n the unit trial deviator), so
kappa (the equivalent plastic strain) grows by d_gamma.  Radial return: a scalar Newton on

    q_trial - 3 G d_gamma - sigma_y(kappa_n + d_gamma) = 0,

and the consistent tangent

    D = 3K P_vol + 2G (1 - 3G d_gamma / q_trial) P_dev
        - 6G^2 (1 / (3G + H) - d_gamma / q_trial) n (x) n,     H = d sigma_y / d kappa.

The scalar Newton (``J2Plasticity.plastic_return``, for any flow-stress function), the trial
deviator and the stress/tangent assembly of a radial return (``radial_return``, for any
d d_gamma / d q_trial) are shared with the creep law of ``j2_creep.py``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numba import njit

from ..threads import over_chunks, point_chunks
from .base import IDENTITY, P_DEV, P_VOL, bulk_shear_from_young
from .errors import MaterialPointError

SQ32 = np.sqrt(1.5)


@dataclass
class J2Plasticity:
    """Isotropic Hencky elasticity + von Mises yield with linear/Voce hardening (MPa)."""

    youngs_modulus: float
    poisson_ratio: float
    yield_stress: float
    hardening_modulus: float = 0.0
    voce_stress: float = 0.0
    voce_rate: float = 0.0
    initial_porosity: float = 0.0
    name: str = "j2"
    output_fields: dict = field(default_factory=lambda: {"equivalent_plastic_strain": "-"})
    #: the radial return minimises an incremental potential (associated flow, isotropic
    #: hardening), so its consistent tangent is symmetric; Norton creep (j2_creep) keeps it
    symmetric_tangent = True

    def __post_init__(self):
        if not self.youngs_modulus > 0.0:
            raise ValueError(f"youngs_modulus must be > 0 MPa, got {self.youngs_modulus}")
        if not -1.0 < self.poisson_ratio < 0.5:
            raise ValueError(f"poisson_ratio must lie in (-1, 0.5), got {self.poisson_ratio}")
        if not self.yield_stress > 0.0:
            raise ValueError(f"yield_stress must be > 0 MPa, got {self.yield_stress}")
        for key in ("hardening_modulus", "voce_stress", "voce_rate"):
            if not getattr(self, key) >= 0.0:
                raise ValueError(f"{key} must be >= 0, got {getattr(self, key)}")
        self.bulk_modulus, self.shear_modulus = bulk_shear_from_young(
            self.youngs_modulus, self.poisson_ratio)
        self._last_newton_residuals: list[float] = []

    def flow_stress(self, kappa):
        """sigma_y(kappa), MPa."""
        return (self.yield_stress + self.hardening_modulus * kappa
                + self.voce_stress * (1.0 - np.exp(-self.voce_rate * kappa)))

    def hardening_slope(self, kappa):
        """d sigma_y / d kappa, MPa."""
        return self.hardening_modulus + self.voce_stress * self.voce_rate * np.exp(
            -self.voce_rate * kappa)

    def stiffest_youngs_modulus(self) -> float:
        """The largest Young's modulus the material reaches, MPa (scales contact penalties)."""
        return float(self.youngs_modulus)

    def virgin_elastic_moduli(self) -> tuple[float, float]:
        """(Young's modulus MPa, Poisson's ratio) of the unstrained material."""
        return float(self.youngs_modulus), float(self.poisson_ratio)

    def initial_state(self, n_points: int) -> dict[str, np.ndarray]:
        return {"equivalent_plastic_strain": np.zeros(n_points),
                "plastic_strain": np.zeros((n_points, 6))}

    def yield_functions(self, tau, state):
        s = tau - (tau[:, :3].sum(axis=1) / 3.0)[:, None] * IDENTITY
        q = np.sqrt(1.5 * np.einsum("ij,ij->i", s, s))
        return {"yield_function": q - self.flow_stress(state["equivalent_plastic_strain"])}

    def update(self, eps_trial, state, dt):
        """The radial return of every point in one compiled pass (`_j2_kernel`); the NumPy
        implementation `update_numpy` is the reference it is tested against."""
        eps_trial = np.ascontiguousarray(eps_trial, dtype=float)
        n_points = eps_trial.shape[0]
        tau = np.empty((n_points, 6))
        tangent = np.empty((n_points, 6, 6))
        eps_e = np.empty((n_points, 6))
        kappa = np.empty(n_points)
        plastic = np.empty((n_points, 6))
        kappa_n = np.ascontiguousarray(state["equivalent_plastic_strain"], dtype=float)
        plastic_n = np.ascontiguousarray(state["plastic_strain"], dtype=float)
        chunks = point_chunks(n_points)
        failed = over_chunks(_j2_kernel, chunks, lambda c: (
            eps_trial[c], kappa_n[c], plastic_n[c], self.bulk_modulus, self.shear_modulus,
            self.yield_stress, self.hardening_modulus, self.voce_stress, self.voce_rate,
            tau[c], tangent[c], eps_e[c], kappa[c], plastic[c]))
        bad = [chunk.start + index for chunk, index in zip(chunks, failed) if index >= 0]
        if bad:
            raise MaterialPointError(self.name, np.array(bad), n_points, "radial return")
        return tau, tangent, eps_e, {"equivalent_plastic_strain": kappa,
                                     "plastic_strain": plastic}

    def update_numpy(self, eps_trial, state, dt):
        eps_trial = np.asarray(eps_trial, dtype=float)
        n_points = eps_trial.shape[0]
        shear = self.shear_modulus
        kappa_n = state["equivalent_plastic_strain"]
        e_trial, norm = deviatoric_trial(eps_trial)
        q_trial = 3.0 * shear * np.sqrt(2.0 / 3.0) * norm
        dgamma = np.zeros(n_points)
        dgamma_dq = np.zeros(n_points)
        plastic = q_trial - self.flow_stress(kappa_n) > 1e-12 * self.yield_stress
        idx = np.flatnonzero(plastic)
        if idx.size:
            dg = self.plastic_return(q_trial[idx], kappa_n[idx], self.flow_stress,
                                     self.hardening_slope, idx, n_points)
            dgamma[idx] = dg
            dgamma_dq[idx] = 1.0 / (3.0 * shear + self.hardening_slope(kappa_n[idx] + dg))
        tau, tangent, eps_e, plastic_increment = radial_return(
            eps_trial, e_trial, norm, q_trial, dgamma, dgamma_dq, idx,
            self.bulk_modulus, shear)
        new_state = {"equivalent_plastic_strain": kappa_n + dgamma,
                     "plastic_strain": state["plastic_strain"] + plastic_increment}
        return tau, tangent, eps_e, new_state

    def plastic_return(self, q_trial, kappa_n, flow_stress, hardening_slope, idx, n_points):
        """Scalar Newton on q_trial - 3G d_gamma - flow_stress(kappa_n + d_gamma) = 0 at the
        yielding points (arrays over them; idx, n_points only name failed points).

        flow_stress and hardening_slope are functions of kappa: sigma_y and its slope here; the
        creep law (``creep.py``) passes sigma_y raised by the creep increment of the step."""
        shear = self.shear_modulus
        qt, kn = q_trial, kappa_n
        # first guess: the perfectly plastic return
        dg = np.maximum(qt - flow_stress(kn), 0.0) / (3.0 * shear)
        history = []
        # the residual cannot fall below the round-off of q_trial - 3G dg (~1e-16 q_trial):
        # converge relative to max(yield stress, q_trial), else a soft metal with
        # E/Y ~ 1e4 (lithium) fails for trial strains of a few percent
        scale = np.maximum(self.yield_stress, qt)
        for _ in range(50):
            residual = qt - 3.0 * shear * dg - flow_stress(kn + dg)
            history.append(float(np.max(np.abs(residual)) / self.yield_stress))
            if np.all(np.abs(residual) < 1e-14 * scale):
                break
            dg = dg + residual / (3.0 * shear + hardening_slope(kn + dg))
            dg = np.maximum(dg, 0.0)
        else:
            bad = idx[np.abs(residual) >= 1e-14 * scale]
            raise MaterialPointError(self.name, bad, n_points, "radial return")
        self._last_newton_residuals = history
        return dg


def deviatoric_trial(eps_trial):
    """Trial deviator e_trial = dev(eps_trial) and its norm |e_trial| of (n, 6) Mandel strains;
    the trial equivalent stress is q_trial = 3G sqrt(2/3) |e_trial|."""
    eps_v = eps_trial[:, :3].sum(axis=1)
    e_trial = eps_trial - (eps_v / 3.0)[:, None] * IDENTITY
    norm = np.sqrt(np.einsum("ij,ij->i", e_trial, e_trial))
    return e_trial, norm


def radial_return(eps_trial, e_trial, norm, q_trial, dgamma, dgamma_dq, idx, bulk, shear):
    """Stress, consistent tangent and elastic strain after an isochoric radial return.

    dgamma : (n,) equivalent inelastic strain increments along n = e_trial / |e_trial| (zero
    off idx); dgamma_dq : (n,) their derivative d dgamma / d q_trial at the points idx.
    For any radial return with q = q_trial - 3G dgamma(q_trial),

        D = 3K P_vol + 2G (1 - 3G dgamma / q_trial) P_dev
            - 6G^2 (d dgamma / d q_trial - dgamma / q_trial) n (x) n

    (J2: d dgamma / d q_trial = 1 / (3G + H)).  Returns (tau, D, eps_e, inelastic increment
    sqrt(3/2) dgamma n).
    """
    n_points = eps_trial.shape[0]
    stiffness = 3.0 * bulk * P_VOL + 2.0 * shear * P_DEV
    tangent = np.broadcast_to(stiffness, (n_points, 6, 6)).copy()
    if idx.size:
        dg, qt = dgamma[idx], q_trial[idx]
        n = e_trial[idx] / norm[idx, None]
        nn = np.einsum("ki,kj->kij", n, n)
        tangent[idx] = (3.0 * bulk * P_VOL
                        + (2.0 * shear * (1.0 - 3.0 * shear * dg / qt))[:, None, None] * P_DEV
                        - (6.0 * shear ** 2 * (dgamma_dq[idx] - dg / qt))[:, None, None] * nn)
    n_all = np.where(norm[:, None] > 0.0, e_trial / np.where(norm > 0, norm, 1.0)[:, None], 0.0)
    increment = (SQ32 * dgamma)[:, None] * n_all
    eps_e = eps_trial - increment
    tau = eps_e @ stiffness.T
    return tau, tangent, eps_e, increment


@njit(cache=True, error_model="numpy", nogil=True)
def _j2_kernel(eps_trial, kappa_n, plastic_n, bulk, shear, yield_stress, hardening, voce_stress,
               voce_rate, tau, tangent, eps_e, kappa, plastic):
    """Compiled radial return (the equations of the module docstring), one point at a time.
    Returns -1, or the index of a point whose scalar Newton failed."""
    sq23 = np.sqrt(2.0 / 3.0)
    sq32 = np.sqrt(1.5)
    n_points = eps_trial.shape[0]
    e = np.empty(6)
    for p in range(n_points):
        eps_v = eps_trial[p, 0] + eps_trial[p, 1] + eps_trial[p, 2]
        norm2 = 0.0
        for k in range(6):
            e[k] = eps_trial[p, k] - (eps_v / 3.0 if k < 3 else 0.0)
            norm2 += e[k] * e[k]
        norm = np.sqrt(norm2)
        q_trial = 3.0 * shear * sq23 * norm
        kn = kappa_n[p]
        flow = yield_stress + hardening * kn + voce_stress * (1.0 - np.exp(-voce_rate * kn))
        dgamma = 0.0
        dgamma_dq = 0.0
        if q_trial - flow > 1e-12 * yield_stress:
            dgamma = max(q_trial - flow, 0.0) / (3.0 * shear)
            scale = max(yield_stress, q_trial)
            converged = False
            for _ in range(50):
                k_new = kn + dgamma
                residual = (q_trial - 3.0 * shear * dgamma
                            - (yield_stress + hardening * k_new
                               + voce_stress * (1.0 - np.exp(-voce_rate * k_new))))
                if abs(residual) < 1e-14 * scale:
                    converged = True
                    break
                slope = hardening + voce_stress * voce_rate * np.exp(-voce_rate * k_new)
                dgamma = max(dgamma + residual / (3.0 * shear + slope), 0.0)
            if not converged:
                return p
            k_new = kn + dgamma
            dgamma_dq = 1.0 / (3.0 * shear + hardening
                               + voce_stress * voce_rate * np.exp(-voce_rate * k_new))
        # tangent: 3K P_vol + 2G a P_dev - 6G^2 (dgamma_dq - dgamma/q_trial) n (x) n
        a = 1.0
        c = 0.0
        if dgamma > 0.0:
            a = 1.0 - 3.0 * shear * dgamma / q_trial
            c = 6.0 * shear * shear * (dgamma_dq - dgamma / q_trial)
        inv_norm = 1.0 / norm if norm > 0.0 else 0.0
        for i in range(6):
            for j in range(6):
                vol = (1.0 / 3.0) if (i < 3 and j < 3) else 0.0
                dev = (1.0 if i == j else 0.0) - vol
                value = 3.0 * bulk * vol + 2.0 * shear * a * dev
                if c != 0.0:
                    value -= c * e[i] * e[j] * inv_norm * inv_norm
                tangent[p, i, j] = value
        # elastic strain, stress, plastic strain
        for k in range(6):
            increment = sq32 * dgamma * e[k] * inv_norm
            eps_e[p, k] = eps_trial[p, k] - increment
            plastic[p, k] = plastic_n[p, k] + increment
        ev = eps_e[p, 0] + eps_e[p, 1] + eps_e[p, 2]
        for k in range(6):
            tau[p, k] = 2.0 * shear * (eps_e[p, k] - (ev / 3.0 if k < 3 else 0.0)) \
                + (bulk * ev if k < 3 else 0.0)
        kappa[p] = kn + dgamma
    return -1
