"""Compiled (numba) kernels of the finite-strain layer, one fused pass per quadrature point.

The same equations as ``nipstack.kinematics`` (which stays the NumPy reference that the tests
compare against, to 1e-12):

    before the law:  H = F Cp^-1,  b = H F^T = N diag(lam) N^T,  eps_trial = 1/2 N diag(ln lam) N^T,
                     Theta_ab = (ln lam_a - ln lam_b) / (lam_a - lam_b)   (-> 1/lam on a tie)
    after the law:   P = tau F^-T,   Cp^-1 = F^-1 exp(2 eps_e) F^-T,
                     dP_iJ/dF_mN = F^-1_Jk D_ikcd L_cdmq H_qN - P_iN F^-1_Jm,
                     L_cdmq = N_ca N_db Theta_ab N_ma N_qb   (Daleckii-Krein; D is minor-
                     symmetric, so only the part of L symmetric in (c, d) enters)

Symmetric 3x3 eigenproblems are solved by cyclic Jacobi rotations (exact to round-off in a few
sweeps, no LAPACK call per point). The tangent is assembled in Mandel form (6 rows for the
symmetric index pairs) and expanded once. `cache=True`: the machine code is compiled once per
machine and kept next to this file in __pycache__.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from .threads import over_chunks, point_chunks

_SQRT2 = np.sqrt(2.0)
# Mandel pairs: (0,0) (1,1) (2,2) (1,2) (0,2) (0,1)
_PAIR_I = np.array([0, 1, 2, 1, 0, 0])
_PAIR_J = np.array([0, 1, 2, 2, 2, 1])
_WEIGHT = np.array([1.0, 1.0, 1.0, _SQRT2, _SQRT2, _SQRT2])


@njit(cache=True, inline="always", error_model="numpy")
def _eigh3(a, w, v):
    """Eigenvalues w[3] and eigenvectors v[:, k] of the symmetric 3x3 matrix a (cyclic Jacobi;
    a is overwritten)."""
    for i in range(3):
        for j in range(3):
            v[i, j] = 1.0 if i == j else 0.0
    scale = abs(a[0, 0]) + abs(a[1, 1]) + abs(a[2, 2]) + 1e-300
    for _sweep in range(50):
        off = abs(a[0, 1]) + abs(a[0, 2]) + abs(a[1, 2])
        if off <= 1e-17 * scale:
            break
        for p in range(2):
            for q in range(p + 1, 3):
                apq = a[p, q]
                if abs(apq) <= 1e-300:
                    continue
                theta = (a[q, q] - a[p, p]) / (2.0 * apq)
                t = (1.0 if theta >= 0.0 else -1.0) / (abs(theta) + np.sqrt(theta * theta + 1.0))
                c = 1.0 / np.sqrt(t * t + 1.0)
                s = t * c
                for k in range(3):
                    akp = a[k, p]
                    akq = a[k, q]
                    a[k, p] = c * akp - s * akq
                    a[k, q] = s * akp + c * akq
                for k in range(3):
                    apk = a[p, k]
                    aqk = a[q, k]
                    a[p, k] = c * apk - s * aqk
                    a[q, k] = s * apk + c * aqk
                for k in range(3):
                    vkp = v[k, p]
                    vkq = v[k, q]
                    v[k, p] = c * vkp - s * vkq
                    v[k, q] = s * vkp + c * vkq
    for k in range(3):
        w[k] = a[k, k]


@njit(cache=True, inline="always", error_model="numpy")
def _theta(lam, theta):
    """Divided differences of the logarithm, with the series of ln(1+x)/x near a tie."""
    for a in range(3):
        for b in range(3):
            x = (lam[a] - lam[b]) / lam[b]
            if abs(x) < 1e-6:
                theta[a, b] = (1.0 - x / 2.0 + x * x / 3.0) / lam[b]
            else:
                theta[a, b] = np.log1p(x) / (lam[a] - lam[b])


@njit(cache=True, inline="always", error_model="numpy")
def _inverse3(m, out):
    det = (m[0, 0] * (m[1, 1] * m[2, 2] - m[1, 2] * m[2, 1])
           - m[0, 1] * (m[1, 0] * m[2, 2] - m[1, 2] * m[2, 0])
           + m[0, 2] * (m[1, 0] * m[2, 1] - m[1, 1] * m[2, 0]))
    inv = 1.0 / det
    out[0, 0] = (m[1, 1] * m[2, 2] - m[1, 2] * m[2, 1]) * inv
    out[0, 1] = (m[0, 2] * m[2, 1] - m[0, 1] * m[2, 2]) * inv
    out[0, 2] = (m[0, 1] * m[1, 2] - m[0, 2] * m[1, 1]) * inv
    out[1, 0] = (m[1, 2] * m[2, 0] - m[1, 0] * m[2, 2]) * inv
    out[1, 1] = (m[0, 0] * m[2, 2] - m[0, 2] * m[2, 0]) * inv
    out[1, 2] = (m[0, 2] * m[1, 0] - m[0, 0] * m[1, 2]) * inv
    out[2, 0] = (m[1, 0] * m[2, 1] - m[1, 1] * m[2, 0]) * inv
    out[2, 1] = (m[0, 1] * m[2, 0] - m[0, 0] * m[2, 1]) * inv
    out[2, 2] = (m[0, 0] * m[1, 1] - m[0, 1] * m[1, 0]) * inv


@njit(cache=True, error_model="numpy", nogil=True)
def trial_strain(F, metric_inverse, eps_trial, H_out, N_out, theta_out):
    """eps_trial (n,6) Mandel, and H = F Cp^-1, the eigenvectors N and Theta of b for the
    tangent. Returns False if some b is not positive definite (an inverted element)."""
    n = F.shape[0]
    b = np.empty((3, 3))
    lam = np.empty(3)
    ok = True
    for p in range(n):
        H = H_out[p]
        for i in range(3):
            for j in range(3):
                s = 0.0
                for k in range(3):
                    s += F[p, i, k] * metric_inverse[p, k, j]
                H[i, j] = s
        for i in range(3):
            for j in range(i, 3):
                s = 0.0
                for k in range(3):
                    s += H[i, k] * F[p, j, k]
                b[i, j] = s
        for i in range(3):          # symmetric by construction: use the upper triangle
            for j in range(i):
                b[i, j] = b[j, i]
        N = N_out[p]
        _eigh3(b, lam, N)
        if lam[0] <= 0.0 or lam[1] <= 0.0 or lam[2] <= 0.0:
            ok = False
            continue
        _theta(lam, theta_out[p])
        for m in range(6):
            i = _PAIR_I[m]
            j = _PAIR_J[m]
            s = 0.0
            for a in range(3):
                s += N[i, a] * np.log(lam[a]) * N[j, a]
            eps_trial[p, m] = 0.5 * s * _WEIGHT[m]
    return ok


@njit(cache=True, inline="always", error_model="numpy")
def _unpack_mandel(mandel, scale, out):
    """The symmetric 3x3 matrix `out` of the Mandel vector `mandel` (6,), times `scale`."""
    for m in range(6):
        i = _PAIR_I[m]
        j = _PAIR_J[m]
        value = scale * mandel[m] / _WEIGHT[m]
        out[i, j] = value
        out[j, i] = value


@njit(cache=True, inline="always", error_model="numpy")
def _first_piola(tau, Finv, P):
    """P = tau F^-T."""
    for i in range(3):
        for J in range(3):
            s = 0.0
            for k in range(3):
                s += tau[i, k] * Finv[J, k]
            P[i, J] = s


@njit(cache=True, inline="always", error_model="numpy")
def _plastic_metric(e, Finv, lam, V, be, metric):
    """Cp^-1 = F^-1 exp(e) F^-T from e = 2 eps_e (overwritten), symmetrised."""
    _eigh3(e, lam, V)
    for i in range(3):
        for j in range(3):
            s = 0.0
            for a in range(3):
                s += V[i, a] * np.exp(lam[a]) * V[j, a]
            be[i, j] = s
    for i in range(3):
        for j in range(3):
            s = 0.0
            for k in range(3):
                t = 0.0
                for l in range(3):
                    t += be[k, l] * Finv[j, l]
                s += Finv[i, k] * t
            metric[i, j] = s
    for i in range(3):
        for j in range(i + 1, 3):
            avg = 0.5 * (metric[i, j] + metric[j, i])
            metric[i, j] = avg
            metric[j, i] = avg


@njit(cache=True, inline="always", error_model="numpy")
def daleckii_krein_factors(N, theta, rows, size, G):
    """G[m, q, a, b] = N_ma N_qb Theta_ab for m < rows and q, a, b < size."""
    for m in range(rows):
        for q in range(size):
            for a in range(size):
                for b in range(size):
                    G[m, q, a, b] = N[m, a] * N[q, b] * theta[a, b]


@njit(cache=True, inline="always", error_model="numpy")
def symmetric_pair(N, c, d, size, S):
    """S_ab = (N_ca N_db + N_da N_cb) / 2 for a, b < size: the part of N_ca N_db symmetric in
    (c, d) (eps is symmetric)."""
    for a in range(size):
        for b in range(size):
            S[a, b] = 0.5 * (N[c, a] * N[d, b] + N[d, a] * N[c, b])


@njit(cache=True, inline="always", error_model="numpy")
def _strain_derivative(N, theta, H, g, G, S, L6, deps):
    """deps[cd, m, N] = d eps_(cd) / dF_mN (Mandel-weighted rows) = sym_(cd) L_cdmq H_qN,
    with G_ab^(mq) = N_ma N_qb Theta_ab and S_ab^(cd) = sym(N_ca N_db): L6 = sum_ab S G."""
    daleckii_krein_factors(N, theta, g, 3, G)
    for c6 in range(6):
        symmetric_pair(N, _PAIR_I[c6], _PAIR_J[c6], 3, S)
        for m in range(g):
            for q in range(3):
                s = 0.0
                for a in range(3):
                    for b in range(3):
                        s += S[a, b] * G[m, q, a, b]
                L6[c6, m, q] = s
        for m in range(g):
            for NN in range(g):
                s = 0.0
                for q in range(3):
                    s += L6[c6, m, q] * H[q, NN]
                deps[c6, m, NN] = s * _WEIGHT[c6]


@njit(cache=True, inline="always", error_model="numpy")
def _stress_tangent(tangent, deps, Finv, P, g, dtau, A):
    """A_iJmN = F^-1_Jk dtau_ik/dF_mN - P_iN F^-1_Jm, dtau = D deps (D in Mandel form)."""
    for a6 in range(6):
        i = _PAIR_I[a6]
        k = _PAIR_J[a6]
        for m in range(g):
            for NN in range(g):
                s = 0.0
                for b6 in range(6):
                    s += tangent[a6, b6] * deps[b6, m, NN]
                s /= _WEIGHT[a6]
                dtau[i, k, m, NN] = s
                dtau[k, i, m, NN] = s
    for i in range(g):
        for J in range(g):
            for m in range(g):
                for NN in range(g):
                    s = 0.0
                    for k in range(3):
                        s += Finv[J, k] * dtau[i, k, m, NN]
                    A[i, J, m, NN] = s - P[i, NN] * Finv[J, m]


@njit(cache=True, error_model="numpy", nogil=True)
def finish_update(F, H_all, N_all, theta_all, tau_m, tangent_m, eps_elastic_m, with_tangent,
                  P_out, A_out, metric_out, g=3, with_metric=True):
    """P, A = dP/dF (if with_tangent) and the new Cp^-1 (if with_metric) from the law's tau,
    D, eps_e.
    g = 2 computes only the in-plane entries A[:2, :2, :2, :2] (what a plane-strain mesh
    assembles; the other entries are left unset), exactly: sums still run over all 3 axes."""
    n = F.shape[0]
    Finv = np.empty((3, 3))
    tau = np.empty((3, 3))
    e = np.empty((3, 3))
    lam = np.empty(3)
    V = np.empty((3, 3))
    be = np.empty((3, 3))
    L6 = np.zeros((6, 3, 3))        # sym_(cd) L_cdmq for the 6 symmetric pairs (cd)
    deps = np.zeros((6, 3, 3))      # d eps_(cd) / dF_mN, Mandel-weighted rows
    dtau = np.zeros((3, 3, 3, 3))   # d tau_ik / dF_mN
    G = np.zeros((3, 3, 3, 3))
    S = np.empty((3, 3))
    for p in range(n):
        _inverse3(F[p], Finv)
        _unpack_mandel(tau_m[p], 1.0, tau)
        _first_piola(tau, Finv, P_out[p])
        if with_metric:
            # new plastic metric: Cp^-1 = F^-1 exp(2 eps_e) F^-T
            _unpack_mandel(eps_elastic_m[p], 2.0, e)
            _plastic_metric(e, Finv, lam, V, be, metric_out[p])
        if with_tangent:
            _strain_derivative(N_all[p], theta_all[p], H_all[p], g, G, S, L6, deps)
            _stress_tangent(tangent_m[p], deps, Finv, P_out[p], g, dtau, A_out[p])


@njit(cache=True, error_model="numpy")
def deformation_gradients(gradients, gdim, F, J):
    """F (n, 3, 3) from the mesh's I + grad u, (n, gdim * gdim) row by row (plane strain:
    F33 = 1, no out-of-plane shear), and J = det F (n,)."""
    for p in range(F.shape[0]):
        for i in range(3):
            for j in range(3):
                F[p, i, j] = 0.0
        for i in range(gdim):
            for j in range(gdim):
                F[p, i, j] = gradients[p, i * gdim + j]
        if gdim == 2:
            F[p, 2, 2] = 1.0
        J[p] = (F[p, 0, 0] * (F[p, 1, 1] * F[p, 2, 2] - F[p, 1, 2] * F[p, 2, 1])
                - F[p, 0, 1] * (F[p, 1, 0] * F[p, 2, 2] - F[p, 1, 2] * F[p, 2, 0])
                + F[p, 0, 2] * (F[p, 1, 0] * F[p, 2, 1] - F[p, 1, 1] * F[p, 2, 0]))


@njit(cache=True, error_model="numpy")
def scatter_point_values(values, columns, dofs, out):
    """out[dofs[p] * k + c] = values[p, columns[c]] for the k = len(columns) columns a
    quadrature function holds per point (e.g. the in-plane entries of P); dofs are the points'
    block dofs. Returns False if a value written is not finite."""
    k = columns.shape[0]
    finite = True
    for p in range(values.shape[0]):
        base = dofs[p] * k
        for c in range(k):
            v = values[p, columns[c]]
            out[base + c] = v
            if not math.isfinite(v):
                finite = False
    return finite


class DeferredTangent:
    """What dP/dF needs, kept from a stress-only update (with_tangent=False): a Newton
    line-search trial that is rejected never pays for its tangent; `compute()` gives the
    tangent of an accepted state without repeating the return map."""

    def __init__(self, F, H, N, theta, tau_m, tangent_m, eps_elastic_m, dim):
        self._arrays = (F, H, N, theta, tau_m, tangent_m, eps_elastic_m)
        self._dim = dim

    def compute(self):
        """A = dP/dF, (n, 3, 3, 3, 3); with dim = 2 the in-plane block alone, (n, 2, 2, 2, 2)
        (finish_update writes only indices below dim, so it fills the smaller array)."""
        F, H, N, theta, tau_m, tangent_m, eps_elastic_m = self._arrays
        n, d = F.shape[0], self._dim
        A = np.empty((n, d, d, d, d))
        P = np.empty((n, 3, 3))
        no_metric = np.empty((0, 3, 3))
        over_chunks(finish_update, point_chunks(n), lambda c: (
            F[c], H[c], N[c], theta[c], tau_m[c], tangent_m[c], eps_elastic_m[c], True, P[c],
            A[c], no_metric, self._dim, False))
        return A


def stress_update_compiled(law, F, plastic_metric_inverse, history, dt, with_tangent=True,
                           in_plane=False):
    """``kinematics.stress_update`` through the compiled kernels (the law itself as given).
    in_plane=True fills only A[:, :2, :2, :2, :2] (a plane-strain mesh needs no more).
    with_tangent=False returns a `DeferredTangent` in A's place."""
    n = F.shape[0]
    F = np.ascontiguousarray(F, dtype=np.float64)
    metric = np.ascontiguousarray(plastic_metric_inverse, dtype=np.float64)
    eps_trial = np.empty((n, 6))
    H = np.empty((n, 3, 3))
    N = np.empty((n, 3, 3))
    theta = np.empty((n, 3, 3))
    chunks = point_chunks(n)
    if not all(over_chunks(trial_strain, chunks, lambda c: (
            F[c], metric[c], eps_trial[c], H[c], N[c], theta[c]))):
        raise FloatingPointError("elastic stretch tensor is not positive definite "
                                 "(inverted element)")
    tau_m, tangent_m, eps_elastic_m, new_history = law.update(eps_trial, history, dt)
    tau_m = np.ascontiguousarray(tau_m, dtype=np.float64)
    tangent_m = np.ascontiguousarray(tangent_m, dtype=np.float64)
    eps_elastic_m = np.ascontiguousarray(eps_elastic_m, dtype=np.float64)
    dim = 2 if in_plane else 3
    P = np.empty((n, 3, 3))
    A = np.empty((n, 3, 3, 3, 3)) if with_tangent else np.empty((0, 3, 3, 3, 3))
    new_metric = np.empty((n, 3, 3))
    over_chunks(finish_update, chunks, lambda c: (
        F[c], H[c], N[c], theta[c], tau_m[c], tangent_m[c], eps_elastic_m[c], with_tangent,
        P[c], A[c] if with_tangent else A, new_metric[c], dim))
    if not with_tangent:
        A = DeferredTangent(F, H, N, theta, tau_m, tangent_m, eps_elastic_m, dim)
    return P, A, tau_m, new_metric, new_history
