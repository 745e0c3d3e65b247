"""Compiled finite-strain kernels for plane strain: the in-plane 2x2 block alone.

On a plane-strain mesh F = [[F2, 0], [0, F33]] (F2 the in-plane 2x2 block, F33 = 1) and, every
shipped law being isotropic, the plastic metric Cp^-1, b = F Cp^-1 F^T, the elastic strain and
tau keep the same block structure exactly: the out-of-plane shear entries are zeros, and stay
zeros, in every product. The equations are those of ``kinematics_kernels`` (its docstring):

    b = N diag(lam) N^T,  eps_trial = 1/2 N diag(ln lam) N^T,
    P = tau F^-T,  Cp^-1 = F^-1 exp(2 eps_e) F^-T,
    dP_iJ/dF_mN = F^-1_Jk D_ikcd L_cdmq H_qN - P_iN F^-1_Jm

with one Jacobi rotation in the (x, y) plane in place of the 3x3 eigensolver, and in the tangent
only what an in-plane dP/dF can reach: L_cdmq with every index in-plane (H = F Cp^-1 has no
out-of-plane entry in an in-plane column, nor N in an in-plane row), the three in-plane Mandel
rows of d eps / dF (the other three are zero) and the 3x3 in-plane block of the law's tangent
D. That is ~200 instead of ~1 500 multiplications a point for the tangent.

The kernels do the general kernels' arithmetic on the non-zero entries, in the same order, and
leave out only terms that are exact zeros; adding or multiplying an exact zero changes no bit,
so the results are identical to the bit to ``kinematics_kernels`` (tests/test_kinematics_kernels
.py). A batch in which some F or Cp^-1 is not block-diagonal, or a law returns an out-of-plane
shear strain or stress, is left to the general kernels (`plane_strain_update` returns None, or
finishes through them).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from .kinematics_kernels import (DeferredTangent, daleckii_krein_factors, finish_update,
                                 symmetric_pair, trial_strain)
from .threads import over_chunks, point_chunks

_SQRT2 = math.sqrt(2.0)
# the in-plane Mandel components: (0,0) (1,1) (0,1), at positions 0, 1, 5 of the Mandel vector
_IN_PLANE = np.array([0, 1, 5])
_PAIR_I = np.array([0, 1, 0])
_PAIR_J = np.array([0, 1, 1])
_WEIGHT = np.array([1.0, 1.0, _SQRT2])
#: plane_trial_strain's status
PLANE_OK, NOT_POSITIVE_DEFINITE, NOT_PLANE = 0, 1, 2


@njit(cache=True, inline="always", error_model="numpy")
def _eigh_in_plane(a, a22, w, v):
    """Eigenvalues w[0:2] and eigenvectors v[:, 0:2] of the in-plane block a (2x2, overwritten)
    of a block-diagonal symmetric 3x3 matrix whose zz entry is a22: the cyclic Jacobi of
    ``kinematics_kernels._eigh3`` (same scale, tolerance and rotations; its (0,2) and (1,2)
    rotations have nothing to do on such a matrix)."""
    v[0, 0], v[0, 1], v[1, 0], v[1, 1] = 1.0, 0.0, 0.0, 1.0
    scale = abs(a[0, 0]) + abs(a[1, 1]) + abs(a22) + 1e-300
    for _sweep in range(50):
        if abs(a[0, 1]) <= 1e-17 * scale:
            break
        apq = a[0, 1]
        if abs(apq) <= 1e-300:
            continue
        theta = (a[1, 1] - a[0, 0]) / (2.0 * apq)
        t = (1.0 if theta >= 0.0 else -1.0) / (abs(theta) + np.sqrt(theta * theta + 1.0))
        c = 1.0 / np.sqrt(t * t + 1.0)
        s = t * c
        for k in range(2):
            akp = a[k, 0]
            akq = a[k, 1]
            a[k, 0] = c * akp - s * akq
            a[k, 1] = s * akp + c * akq
        for k in range(2):
            apk = a[0, k]
            aqk = a[1, k]
            a[0, k] = c * apk - s * aqk
            a[1, k] = s * apk + c * aqk
        for k in range(2):
            vkp = v[k, 0]
            vkq = v[k, 1]
            v[k, 0] = c * vkp - s * vkq
            v[k, 1] = s * vkp + c * vkq
    w[0] = a[0, 0]
    w[1] = a[1, 1]


@njit(cache=True, inline="always", error_model="numpy")
def _log_divided_difference(la, lb):
    """(ln la - ln lb) / (la - lb), with the series of ln(1+x)/x near a tie (as the general
    kernels' Theta)."""
    x = (la - lb) / lb
    if abs(x) < 1e-6:
        return (1.0 - x / 2.0 + x * x / 3.0) / lb
    return np.log1p(x) / (la - lb)


@njit(cache=True, error_model="numpy", nogil=True)
def plane_trial_strain(F, metric_inverse, eps_trial, H_out, N_out, theta_out):
    """eps_trial (n, 6) Mandel and, for the tangent, the in-plane blocks (n, 2, 2) of H = F Cp^-1,
    of the eigenvectors N of b and of Theta. Returns PLANE_OK, NOT_POSITIVE_DEFINITE (an
    inverted element) or NOT_PLANE (some F or Cp^-1 has an out-of-plane shear entry)."""
    n = F.shape[0]
    b = np.empty((2, 2))
    lam = np.empty(2)
    for p in range(n):
        Fp = F[p]
        M = metric_inverse[p]
        if (Fp[0, 2] != 0.0 or Fp[1, 2] != 0.0 or Fp[2, 0] != 0.0 or Fp[2, 1] != 0.0
                or M[0, 2] != 0.0 or M[1, 2] != 0.0 or M[2, 0] != 0.0 or M[2, 1] != 0.0):
            return NOT_PLANE
    status = PLANE_OK
    for p in range(n):
        Fp = F[p]
        M = metric_inverse[p]
        H = H_out[p]
        for i in range(2):
            for j in range(2):
                H[i, j] = Fp[i, 0] * M[0, j] + Fp[i, 1] * M[1, j]
        b22 = Fp[2, 2] * M[2, 2] * Fp[2, 2]
        b[0, 0] = H[0, 0] * Fp[0, 0] + H[0, 1] * Fp[0, 1]
        b[0, 1] = H[0, 0] * Fp[1, 0] + H[0, 1] * Fp[1, 1]
        b[1, 1] = H[1, 0] * Fp[1, 0] + H[1, 1] * Fp[1, 1]
        b[1, 0] = b[0, 1]
        N = N_out[p]
        _eigh_in_plane(b, b22, lam, N)
        if lam[0] <= 0.0 or lam[1] <= 0.0 or b22 <= 0.0:
            status = NOT_POSITIVE_DEFINITE
            continue
        theta = theta_out[p]
        for a in range(2):
            for c in range(2):
                theta[a, c] = _log_divided_difference(lam[a], lam[c])
        log0 = np.log(lam[0])
        log1 = np.log(lam[1])
        for m in range(3):
            i = _PAIR_I[m]
            j = _PAIR_J[m]
            s = N[i, 0] * log0 * N[j, 0] + N[i, 1] * log1 * N[j, 1]
            eps_trial[p, _IN_PLANE[m]] = 0.5 * s * _WEIGHT[m]
        eps_trial[p, 2] = 0.5 * np.log(b22)
        eps_trial[p, 3] = 0.0
        eps_trial[p, 4] = 0.0
    return status


@njit(cache=True, inline="always", error_model="numpy")
def _inverse_in_plane(F, Finv):
    """F^-1 of a block-diagonal F: the 2x2 block into Finv (2x2); returns 1 / F33. The cofactor
    products of ``kinematics_kernels._inverse3`` without their zero terms."""
    det = F[0, 0] * (F[1, 1] * F[2, 2]) - F[0, 1] * (F[1, 0] * F[2, 2])
    inv = 1.0 / det
    Finv[0, 0] = (F[1, 1] * F[2, 2]) * inv
    Finv[0, 1] = -(F[0, 1] * F[2, 2]) * inv
    Finv[1, 0] = -(F[1, 0] * F[2, 2]) * inv
    Finv[1, 1] = (F[0, 0] * F[2, 2]) * inv
    return (F[0, 0] * F[1, 1] - F[0, 1] * F[1, 0]) * inv


@njit(cache=True, inline="always", error_model="numpy")
def _in_plane_matrix(mandel, scale, out):
    """The in-plane block of the symmetric matrix of a Mandel vector, times scale."""
    for m in range(3):
        value = scale * mandel[_IN_PLANE[m]] / _WEIGHT[m]
        out[_PAIR_I[m], _PAIR_J[m]] = value
        out[_PAIR_J[m], _PAIR_I[m]] = value


@njit(cache=True, error_model="numpy", nogil=True)
def plane_stress(F, tau_m, eps_elastic_m, P_out):
    """P = tau F^-T, (n, 3, 3). False (and nothing usable written) if the law returned an
    out-of-plane shear strain or stress."""
    n = F.shape[0]
    for p in range(n):
        if (tau_m[p, 3] != 0.0 or tau_m[p, 4] != 0.0 or eps_elastic_m[p, 3] != 0.0
                or eps_elastic_m[p, 4] != 0.0):
            return False
    Finv = np.empty((2, 2))
    tau = np.empty((2, 2))
    for p in range(n):
        Fp = F[p]
        finv22 = _inverse_in_plane(Fp, Finv)
        _in_plane_matrix(tau_m[p], 1.0, tau)
        P = P_out[p]
        for i in range(2):
            for J in range(2):
                P[i, J] = tau[i, 0] * Finv[J, 0] + tau[i, 1] * Finv[J, 1]
        P[2, 2] = (1.0 * tau_m[p, 2]) * finv22
        P[0, 2] = P[1, 2] = P[2, 0] = P[2, 1] = 0.0
    return True


@njit(cache=True, error_model="numpy", nogil=True)
def plane_metric(F, eps_elastic_m, metric_out):
    """The new plastic metric Cp^-1 = F^-1 exp(2 eps_e) F^-T, (n, 3, 3), of a batch that
    `plane_stress` accepted: the in-plane block from one rotation, zz from e_zz alone."""
    n = F.shape[0]
    Finv = np.empty((2, 2))
    e = np.empty((2, 2))
    lam = np.empty(2)
    V = np.empty((2, 2))
    be = np.empty((2, 2))
    for p in range(n):
        finv22 = _inverse_in_plane(F[p], Finv)
        _in_plane_matrix(eps_elastic_m[p], 2.0, e)
        e22 = 2.0 * eps_elastic_m[p, 2]
        _eigh_in_plane(e, e22, lam, V)
        exp0 = np.exp(lam[0])
        exp1 = np.exp(lam[1])
        for i in range(2):
            for j in range(2):
                be[i, j] = V[i, 0] * exp0 * V[j, 0] + V[i, 1] * exp1 * V[j, 1]
        metric = metric_out[p]
        for i in range(2):
            for j in range(2):
                metric[i, j] = (Finv[i, 0] * (be[0, 0] * Finv[j, 0] + be[0, 1] * Finv[j, 1])
                                + Finv[i, 1] * (be[1, 0] * Finv[j, 0] + be[1, 1] * Finv[j, 1]))
        avg = 0.5 * (metric[0, 1] + metric[1, 0])
        metric[0, 1] = avg
        metric[1, 0] = avg
        metric[2, 2] = finv22 * (np.exp(e22) * finv22)
        metric[0, 2] = metric[1, 2] = metric[2, 0] = metric[2, 1] = 0.0


@njit(cache=True, error_model="numpy", nogil=True)
def plane_tangent(F, H_all, N_all, theta_all, tau_m, tangent_m, A_out):
    """A = dP/dF, in-plane entries only, (n, 2, 2, 2, 2), from `plane_trial_strain`'s blocks
    and the law's tau and D (Mandel)."""
    n = F.shape[0]
    Finv = np.empty((2, 2))
    tau = np.empty((2, 2))
    P = np.empty((2, 2))
    G = np.empty((2, 2, 2, 2))
    S = np.empty((2, 2))
    L = np.empty((2, 2))
    deps = np.empty((3, 2, 2))      # d eps_(cd) / dF_mN, in-plane Mandel rows, weighted
    dtau = np.empty((2, 2, 2, 2))   # d tau_ik / dF_mN, in-plane
    for p in range(n):
        Fp = F[p]
        N = N_all[p]
        theta = theta_all[p]
        H = H_all[p]
        D = tangent_m[p]
        _inverse_in_plane(Fp, Finv)
        _in_plane_matrix(tau_m[p], 1.0, tau)
        for i in range(2):
            for J in range(2):
                P[i, J] = tau[i, 0] * Finv[J, 0] + tau[i, 1] * Finv[J, 1]
        daleckii_krein_factors(N, theta, 2, 2, G)
        for c3 in range(3):
            symmetric_pair(N, _PAIR_I[c3], _PAIR_J[c3], 2, S)
            for m in range(2):
                for q in range(2):
                    s = 0.0
                    for a in range(2):
                        for b in range(2):
                            s += S[a, b] * G[m, q, a, b]
                    L[m, q] = s
            for m in range(2):
                for NN in range(2):
                    deps[c3, m, NN] = (L[m, 0] * H[0, NN] + L[m, 1] * H[1, NN]) * _WEIGHT[c3]
        for a3 in range(3):
            i = _PAIR_I[a3]
            k = _PAIR_J[a3]
            row = _IN_PLANE[a3]
            for m in range(2):
                for NN in range(2):
                    s = (D[row, 0] * deps[0, m, NN] + D[row, 1] * deps[1, m, NN]
                         + D[row, 5] * deps[2, m, NN])
                    s /= _WEIGHT[a3]
                    dtau[i, k, m, NN] = s
                    dtau[k, i, m, NN] = s
        A = A_out[p]
        for i in range(2):
            for J in range(2):
                for m in range(2):
                    for NN in range(2):
                        A[i, J, m, NN] = (Finv[J, 0] * dtau[i, 0, m, NN]
                                          + Finv[J, 1] * dtau[i, 1, m, NN]
                                          - P[i, NN] * Finv[J, m])


class PlaneDeferredTangent:
    """The in-plane dP/dF of a plane stress update, computed when a Jacobian needs it (as
    ``kinematics_kernels.DeferredTangent``)."""

    def __init__(self, F, H, N, theta, tau_m, tangent_m):
        self._arrays = (F, H, N, theta, tau_m, tangent_m)

    def compute(self):
        """A = dP/dF, in-plane entries, (n, 2, 2, 2, 2)."""
        F, H, N, theta, tau_m, tangent_m = self._arrays
        A = np.empty((F.shape[0], 2, 2, 2, 2))
        over_chunks(plane_tangent, point_chunks(F.shape[0]), lambda c: (
            F[c], H[c], N[c], theta[c], tau_m[c], tangent_m[c], A[c]))
        return A


class PlaneDeferredMetric:
    """The new plastic metric Cp^-1 of a plane stress update, computed when it is needed: a
    Newton iterate needs only the stresses (and the tangent), and only the state a load step
    ends on is committed, so the trial updates of every other iterate and of every rejected
    line-search trial never pay for it (`mechanics.MechanicsProblem.commit`)."""

    def __init__(self, F, eps_elastic_m):
        self._arrays = (F, eps_elastic_m)

    def compute(self):
        """Cp^-1, (n, 3, 3)."""
        F, eps_elastic_m = self._arrays
        metric = np.empty((F.shape[0], 3, 3))
        over_chunks(plane_metric, point_chunks(F.shape[0]), lambda c: (
            F[c], eps_elastic_m[c], metric[c]))
        return metric


def plane_strain_update(law, F, metric, history, dt, defer_metric=False):
    """The stress update of ``kinematics_kernels.stress_update_compiled`` with in_plane=True and
    the tangent deferred, through the plane kernels: (P, PlaneDeferredTangent, tau, Cp^-1 new,
    history new), or None if some F or Cp^-1 of the batch is not block-diagonal (the caller
    then takes the general kernels). F and metric are C-contiguous float64 (n, 3, 3).
    defer_metric=True gives a PlaneDeferredMetric in the new Cp^-1's place (where the plane
    kernels finish the batch; the same bits when computed)."""
    n = F.shape[0]
    eps_trial = np.empty((n, 6))
    H, N, theta = np.empty((n, 2, 2)), np.empty((n, 2, 2)), np.empty((n, 2, 2))
    chunks = point_chunks(n)
    status = over_chunks(plane_trial_strain, chunks, lambda c: (
        F[c], metric[c], eps_trial[c], H[c], N[c], theta[c]))
    if NOT_PLANE in status:
        return None
    if NOT_POSITIVE_DEFINITE in status:
        raise FloatingPointError("elastic stretch tensor is not positive definite "
                                 "(inverted element)")
    tau_m, tangent_m, eps_elastic_m, new_history = law.update(eps_trial, history, dt)
    tau_m = np.ascontiguousarray(tau_m, dtype=np.float64)
    tangent_m = np.ascontiguousarray(tangent_m, dtype=np.float64)
    eps_elastic_m = np.ascontiguousarray(eps_elastic_m, dtype=np.float64)
    P = np.empty((n, 3, 3))
    if all(over_chunks(plane_stress, chunks, lambda c: (
            F[c], tau_m[c], eps_elastic_m[c], P[c]))):
        new_metric = PlaneDeferredMetric(F, eps_elastic_m)
        return (P, PlaneDeferredTangent(F, H, N, theta, tau_m, tangent_m), tau_m,
                new_metric if defer_metric else new_metric.compute(), new_history)
    new_metric = np.empty((n, 3, 3))
    # a law left the block structure: the general kernels finish (and give the tangent)
    H3, N3, theta3 = np.empty((n, 3, 3)), np.empty((n, 3, 3)), np.empty((n, 3, 3))
    over_chunks(trial_strain, chunks, lambda c: (F[c], metric[c], eps_trial[c], H3[c], N3[c],
                                                 theta3[c]))
    no_tangent = np.empty((0, 3, 3, 3, 3))
    over_chunks(finish_update, chunks, lambda c: (
        F[c], H3[c], N3[c], theta3[c], tau_m[c], tangent_m[c], eps_elastic_m[c], False, P[c],
        no_tangent, new_metric[c], 2))
    return (P, DeferredTangent(F, H3, N3, theta3, tau_m, tangent_m, eps_elastic_m, 2), tau_m,
            new_metric, new_history)
