"""Finite-strain kinematics: the exponential-map carry-over of a small-strain return map.

Equations (Simo 1992; de Souza Neto, Peric & Owen 2008, ch. 14; Miehe, Apel & Lambrecht 2002)
-------------------------------------------------------------------------------------------
Multiplicative split F = F_e F_p, with the plastic metric Cp = F_p^T F_p kept as history
(stored as its inverse). Per load step, at every quadrature point:

    b_trial   = F Cp^-1 F^T                      elastic left Cauchy-Green tensor, trial
    eps_trial = 1/2 ln b_trial                   trial elastic logarithmic (Hencky) strain
    (tau, D, eps_e, history) = law.update(eps_trial, history_n, dt)    small-strain return
    Cp^-1     = F^-1 exp(2 eps_e) F^-T           new plastic metric
    P         = tau F^-T                         first Piola-Kirchhoff stress

The linearisation needs only the first derivative of the matrix logarithm, L = d ln b / d b,
given by the Daleckii-Krein formula in the eigenbasis b = N diag(lam) N^T:

    L[X] = N (Theta o (N^T X N)) N^T,   Theta_ab = (ln lam_a - ln lam_b) / (lam_a - lam_b)
                                        (-> 1/lam_a for lam_a = lam_b)

and, with H = F Cp^-1,   d eps_trial / dF_mN = L_ijmk H_kN   (b is symmetric, L minor-symmetric),

    dP_iJ / dF_mN = D_ikcd (d eps_cd / dF_mN) F^-1_Jk  -  tau_ik F^-1_Jm F^-1_Nk .

Because tr(eps_trial) = ln J - ln J_p and the laws keep tr(eps_e) + ln J_p consistent, the
porosity  1 - (1 - porosity0)/J  is exact solid-mass conservation.

Plane strain enters as F with F_33 = 1 and zero out-of-plane shears; the laws always see the
full three-dimensional state (the out-of-plane stress tau_33 is part of the answer).
"""
from __future__ import annotations

import numpy as np

from .materials.base import fourth_from_mandel, from_mandel, to_mandel

_EYE = np.eye(3)


def _divided_log_differences(eigenvalues: np.ndarray) -> np.ndarray:
    """Theta_ab = (ln l_a - ln l_b)/(l_a - l_b), with the smooth limit 1/l for l_a ~ l_b."""
    la = eigenvalues[:, :, None]
    lb = eigenvalues[:, None, :]
    diff = la - lb
    ratio_minus_one = diff / lb  # l_a/l_b - 1
    close = np.abs(ratio_minus_one) < 1e-6
    safe = np.where(close, 1.0, ratio_minus_one)
    theta = np.where(close, 0.0, np.log1p(safe) / np.where(close, 1.0, diff))
    # series of ln(1+x)/x for small x = l_a/l_b - 1:  (1 - x/2 + x^2/3) / l_b
    x = ratio_minus_one
    series = (1.0 - x / 2.0 + x * x / 3.0) / lb
    return np.where(close, series, theta)


def symmetric_log(b: np.ndarray):
    """ln b for (n,3,3) SPD b; also returns (eigenvectors, Theta) for the derivative."""
    eigenvalues, eigenvectors = np.linalg.eigh(b)
    if np.any(eigenvalues <= 0.0):
        raise FloatingPointError("elastic stretch tensor is not positive definite (inverted element)")
    log_b = np.einsum("nia,na,nja->nij", eigenvectors, np.log(eigenvalues), eigenvectors)
    return log_b, eigenvectors, _divided_log_differences(eigenvalues)


def symmetric_exp(a: np.ndarray) -> np.ndarray:
    """exp a for (n,3,3) symmetric a."""
    eigenvalues, eigenvectors = np.linalg.eigh(a)
    return np.einsum("nia,na,nja->nij", eigenvectors, np.exp(eigenvalues), eigenvectors)


def log_derivative(eigenvectors: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """L_ijkl = sum_ab N_ia N_jb Theta_ab N_ka N_lb, as (n, 9, 9) matrices [(ij), (kl)].

    Written as L = B^T diag(Theta) B with B_(ab),(ij) = N_ia N_jb: batched matrix products,
    several times faster than the equivalent five-operand einsum."""
    n = eigenvectors.shape[0]
    B = (eigenvectors.transpose(0, 2, 1)[:, :, None, :, None]
         * eigenvectors.transpose(0, 2, 1)[:, None, :, None, :]).reshape(n, 9, 9)
    return np.swapaxes(B, 1, 2) @ (theta.reshape(n, 9, 1) * B)


def trial_log_strain(F: np.ndarray, plastic_metric_inverse: np.ndarray) -> np.ndarray:
    """eps_trial = 1/2 ln(F Cp^-1 F^T) as (n,6) Mandel vectors."""
    b_trial = F @ plastic_metric_inverse @ np.swapaxes(F, 1, 2)
    log_b, _, _ = symmetric_log(b_trial)
    return to_mandel(0.5 * log_b)


def initial_plastic_metric_inverse(n_points: int) -> np.ndarray:
    """Cp^-1 = I for virgin material."""
    return np.broadcast_to(_EYE, (n_points, 3, 3)).copy()


def stress_update(law, F: np.ndarray, plastic_metric_inverse: np.ndarray, history: dict,
                  dt: float, with_tangent: bool = True, in_plane: bool = False,
                  defer_metric: bool = False):
    """One constitutive update at finite strain for a batch of points, through the compiled
    kernels (``kinematics_kernels``; the same equations as `stress_update_numpy`, which the
    tests hold them to). with_tangent=False skips dP/dF and returns in A's place a
    `kinematics_kernels.DeferredTangent` whose compute() gives it later; in_plane=True
    computes only the in-plane entries A[:, :2, :2, :2, :2] (plane strain; through
    ``plane_strain_kernels`` where F and Cp^-1 are block-diagonal, to the same bits);
    defer_metric=True lets the plane kernels return a `PlaneDeferredMetric` in the new Cp^-1's
    place (its compute() gives it: only a committed state needs it)."""
    from .kinematics_kernels import stress_update_compiled
    from .plane_strain_kernels import plane_strain_update

    if in_plane:        # plane strain: the in-plane kernels, same bits (their module)
        F = np.ascontiguousarray(F, dtype=np.float64)
        metric = np.ascontiguousarray(plastic_metric_inverse, dtype=np.float64)
        result = plane_strain_update(law, F, metric, history, dt, defer_metric)
        if result is not None:
            if not with_tangent:
                return result
            P, deferred, tau, new_metric, new_history = result
            A = np.empty((F.shape[0], 3, 3, 3, 3))
            A[:, :2, :2, :2, :2] = deferred.compute()
            return P, A, tau, new_metric, new_history
    return stress_update_compiled(law, F, plastic_metric_inverse, history, dt, with_tangent,
                                  in_plane)


def stress_update_numpy(law, F: np.ndarray, plastic_metric_inverse: np.ndarray,
                        history: dict, dt: float):
    """One constitutive update at finite strain for a batch of points (NumPy reference).

    F : (n,3,3) deformation gradients; plastic_metric_inverse : (n,3,3) Cp^-1 at step start;
    history : the law's state at step start. Returns
    (P (n,3,3), A = dP/dF (n,3,3,3,3), tau (n,6) Mandel, Cp^-1 new, history new).
    """
    H = F @ plastic_metric_inverse
    b_trial = H @ np.swapaxes(F, 1, 2)
    log_b, eigenvectors, theta = symmetric_log(b_trial)
    eps_trial = to_mandel(0.5 * log_b)

    tau_m, tangent_m, eps_elastic_m, new_history = law.update(eps_trial, history, dt)

    F_inv = np.linalg.inv(F)
    tau = from_mandel(tau_m)
    P = tau @ np.swapaxes(F_inv, 1, 2)

    n = F.shape[0]
    L = log_derivative(eigenvectors, theta).reshape(n, 9, 3, 3)          # [(ij), m, k]
    d_eps_dF = (L @ H[:, None]).reshape(n, 9, 9)                          # [(ij), (mN)]
    D = fourth_from_mandel(tangent_m).reshape(n, 9, 9)                    # [(ik), (cd)]
    d_tau_dF = (D @ d_eps_dF).reshape(n, 3, 3, 9)                         # [i, k, (mN)]
    A = (F_inv[:, None] @ d_tau_dF).reshape(n, 3, 3, 3, 3)                # sum_k F^-1_Jk ...
    P_like = tau @ np.swapaxes(F_inv, 1, 2)                               # tau_ik F^-1_Nk
    A -= P_like[:, :, None, None, :] * F_inv[:, None, :, :, None]         # - tau_ik F^-1_Jm F^-1_Nk

    b_elastic = symmetric_exp(2.0 * from_mandel(eps_elastic_m))
    new_metric_inverse = F_inv @ b_elastic @ np.swapaxes(F_inv, 1, 2)
    new_metric_inverse = 0.5 * (new_metric_inverse + np.swapaxes(new_metric_inverse, 1, 2))
    return P, A, tau_m, new_metric_inverse, new_history


def porosity_from_jacobian(J: np.ndarray, initial_porosity) -> np.ndarray:
    """Solid-mass conservation: porosity = 1 - (1 - porosity0) / J."""
    return 1.0 - (1.0 - np.asarray(initial_porosity)) / J
