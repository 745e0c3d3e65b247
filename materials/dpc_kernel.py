r"""The Drucker-Prager-Cap return map of ``dpc.py``, compiled: one pass per material point.

Same equations, same local Newton, same sub-stepping and the same consistent tangent as the
NumPy implementation (``DruckerPragerCap.update_numpy``, the reference the tests hold this to);
only the derivatives are taken differently.  The NumPy code differentiates the local residual
by complex steps (one complex residual evaluation per input).  Here every scalar of the local
problem is a *dual number* (forward-mode automatic differentiation, e.g. Griewank & Walther,
*Evaluating Derivatives*, 2008, ch. 3): a tuple

    (value, d/dp, d/dq, d/d_lambda, d/dkappa, d/deps_v, d/deps_q, d/dkappa_n)

carried through every operation, so one evaluation of the residual r(x; eps_v, eps_q, kappa_n)
gives its value, the Jacobian dr/dx (4x4) for the local Newton and dr/d(eps_v, eps_q, kappa_n)
(4x3) for the implicit-function tangent, exact to round-off like the complex step.  The
material functions (moduli, yield parameters and cap pressure of kappa, tables included) run
through the same dual arithmetic, so a new function needs no hand-written derivative.

Layout of the compiled material description (built by ``DruckerPragerCap._kernel_data``):

    modes   int64[3]   elasticity (0 Gibson-Ashby, 1 table), yield (0 scalars, 1 table),
                       hardening (0 exponential, 1 table)
    scalars float64[14] initial_porosity, solid_youngs_modulus, gibson_ashby_exponent,
                       poisson_ratio, cohesion, friction_angle [rad], cap_eccentricity,
                       transition_alpha, cap_pressure_initial, cap_hardening_A,
                       cap_hardening_B, relaxation_time, tan and cos of friction_angle
    tables  float64[9, n] rows: elasticity RD, E, nu; yield RD, d, beta [deg], R;
                       hardening compaction strain, p_b (each padded with its last value)
    lengths int64[3]   number of rows used by the elasticity, yield and hardening tables
"""
from __future__ import annotations

import math
from collections import namedtuple

import numpy as np
from numba import njit
from numba.extending import overload

_TOL = 1e-12          # local Newton tolerance on the scaled residual (as in dpc.py)
_MAX_ITER = 40
_MAX_HALVINGS = 30
SQ23 = math.sqrt(2.0 / 3.0)
SQ32 = math.sqrt(1.5)
ELASTIC, SHEAR, TRANSITION, CAP = 0, 1, 2, 3
#: kernel status codes per point
OK, FAILED, BEYOND_FULL_DENSITY = 0, 1, 2


#: scratch arrays of one point's return, allocated once per kernel call (`_scratch`)
Scratch = namedtuple("Scratch", "res jac jarg rhs step lu trial res_t jac_t jarg_t dx "
                                "n_dir eps_e a_mat dk_de de_dkn t_mat kd sub_e sub_trial "
                                "increment d_trial t_new kd_new x")


@njit(cache=True, error_model="numpy")
def _scratch():
    return Scratch(np.empty(4), np.empty((4, 4)), np.empty((4, 3)), np.empty((4, 1)),
                   np.empty((4, 1)), np.empty((4, 7)), np.empty(4), np.empty(4),
                   np.empty((4, 4)), np.empty((4, 3)), np.empty((4, 3)),
                   np.empty(6), np.empty(6), np.empty((6, 6)), np.empty(6), np.empty(6),
                   np.empty((6, 6)), np.empty(6), np.empty(6), np.empty(6),
                   np.empty(6), np.empty((6, 6)), np.empty((6, 6)), np.empty(6),
                   np.empty(4))


# ------------------------------------------------------------------------- dual numbers
# A dual is a tuple (value, derivatives...) of width 1 (a value alone), 2 (value and d/dkappa:
# the material functions, which depend on kappa only) or 8 (value and the seven partials of
# the local residual). The three primitives below (_lin, _chain, _const_like) are compiled per
# width; every other operation is written once on top of them and serves all widths. Their
# plain-Python bodies are what runs with NUMBA_DISABLE_JIT=1 (a debugging aid, tested);
# compiled code gets the per-width versions registered with `overload`, which unroll the tuple.
def _lin(a, b, ca, cb, value):
    """Dual with the given value and derivative ca a' + cb b' (a, b of one width)."""
    return (value,) + tuple(ca * x + cb * y for x, y in zip(a[1:], b[1:]))


def _chain(a, value, slope):
    """Dual of f(a): value f(a), derivative slope * a'."""
    return (value,) + tuple(slope * x for x in a[1:])


def _const_like(a, value):
    """A constant of a's width."""
    return (value,) + (0.0,) * (len(a) - 1)


@overload(_lin)
def _lin_compiled(a, b, ca, cb, value):
    if a.count == 1:
        return lambda a, b, ca, cb, value: (value,)
    if a.count == 2:
        return lambda a, b, ca, cb, value: (value, ca * a[1] + cb * b[1])
    if a.count == 8:
        return lambda a, b, ca, cb, value: (
            value, ca * a[1] + cb * b[1], ca * a[2] + cb * b[2], ca * a[3] + cb * b[3],
            ca * a[4] + cb * b[4], ca * a[5] + cb * b[5], ca * a[6] + cb * b[6],
            ca * a[7] + cb * b[7])
    return None


@overload(_chain)
def _chain_compiled(a, value, slope):
    if a.count == 1:
        return lambda a, value, slope: (value,)
    if a.count == 2:
        return lambda a, value, slope: (value, slope * a[1])
    if a.count == 8:
        return lambda a, value, slope: (
            value, slope * a[1], slope * a[2], slope * a[3], slope * a[4], slope * a[5],
            slope * a[6], slope * a[7])
    return None


@overload(_const_like)
def _const_like_compiled(a, value):
    if a.count == 1:
        return lambda a, value: (value,)
    if a.count == 2:
        return lambda a, value: (value, 0.0)
    if a.count == 8:
        return lambda a, value: (value, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    return None


@njit(cache=True, error_model="numpy")
def _const(value):
    """A constant of width 8."""
    return (value, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


@njit(cache=True, error_model="numpy")
def _var(value, slot):
    """The independent variable number `slot` (1..7) with the given value, width 8."""
    return (value, 1.0 if slot == 1 else 0.0, 1.0 if slot == 2 else 0.0,
            1.0 if slot == 3 else 0.0, 1.0 if slot == 4 else 0.0, 1.0 if slot == 5 else 0.0,
            1.0 if slot == 6 else 0.0, 1.0 if slot == 7 else 0.0)


@njit(cache=True, error_model="numpy")
def _lift(function_of_kappa, kappa):
    """A width-2 material function (value, d/dkappa) as a width-8 dual, kappa of width 8."""
    return _chain(kappa, function_of_kappa[0], function_of_kappa[1])


@njit(cache=True, error_model="numpy")
def _add(a, b):
    return _lin(a, b, 1.0, 1.0, a[0] + b[0])


@njit(cache=True, error_model="numpy")
def _sub(a, b):
    return _lin(a, b, 1.0, -1.0, a[0] - b[0])


@njit(cache=True, error_model="numpy")
def _mul(a, b):
    return _lin(a, b, b[0], a[0], a[0] * b[0])


@njit(cache=True, error_model="numpy")
def _div(a, b):
    return _lin(a, b, 1.0 / b[0], -a[0] / (b[0] * b[0]), a[0] / b[0])


@njit(cache=True, error_model="numpy")
def _addc(a, c):
    return _chain(a, a[0] + c, 1.0)


@njit(cache=True, error_model="numpy")
def _mulc(a, c):
    return _chain(a, a[0] * c, c)


@njit(cache=True, error_model="numpy")
def _exp(a):
    e = math.exp(a[0])
    return _chain(a, e, e)


@njit(cache=True, error_model="numpy")
def _sqrt(a):
    s = math.sqrt(a[0])
    return _chain(a, s, 0.5 / s)


@njit(cache=True, error_model="numpy")
def _square(a):
    return _chain(a, a[0] * a[0], 2.0 * a[0])


@njit(cache=True, error_model="numpy")
def _power(a, exponent):
    value = a[0] ** exponent
    return _chain(a, value, exponent * value / a[0])


@njit(cache=True, error_model="numpy", inline="always")
def _table(a, xs, ys, n, extrapolate_right):
    """Piecewise-linear y(a) through the first n rows of (xs, ys) (dpc._table's rule: the
    segment is found by searchsorted-left, so a knot takes its left segment's slope; constant
    below xs[0]; above xs[n-1] constant or continued with the last slope)."""
    x = a[0]
    if x < xs[0]:
        return _const_like(a, ys[0])
    if x > xs[n - 1] and not extrapolate_right:
        return _const_like(a, ys[n - 1])
    i = 0                                   # searchsorted(xs, x, 'left') - 1, clipped
    while i < n - 1 and xs[i + 1] < x:
        i += 1
    i = min(max(i, 0), n - 2)
    slope = (ys[i + 1] - ys[i]) / (xs[i + 1] - xs[i])
    return _chain(a, ys[i] + slope * (x - xs[i]), slope)


# ------------------------------------------------------------------- material functions
@njit(cache=True, error_model="numpy", inline="always")
def _relative_density(kappa, s):
    return _mulc(_exp(_mulc(kappa, -1.0)), 1.0 - s[0])


@njit(cache=True, error_model="numpy", inline="always")
def _kirchhoff_moduli(kappa, modes, s, t, lengths):
    """J_p (K, G) of the card at the plastic state kappa (dpc._elastic_moduli)."""
    rd = _relative_density(kappa, s)
    if modes[0] == 1:
        n = lengths[0]
        youngs = _table(rd, t[0], t[1], n, False)
        nu = _table(rd, t[0], t[2], n, False)
    else:
        youngs = _mulc(_power(rd, s[2]), s[1])
        nu = _const_like(rd, s[3])
    bulk = _div(youngs, _mulc(_addc(_mulc(nu, -2.0), 1.0), 3.0))
    shear = _div(youngs, _mulc(_addc(nu, 1.0), 2.0))
    volume_ratio = _div(_const_like(rd, 1.0 - s[0]), rd)            # J_p = exp(kappa)
    return _mul(volume_ratio, bulk), _mul(volume_ratio, shear)


@njit(cache=True, error_model="numpy", inline="always")
def _cap_pressure(kappa, modes, s, t, lengths):
    """p_b(kappa), held at its initial value for kappa > 0 (dpc.cap_pressure)."""
    if modes[2] == 1:
        return _table(_mulc(kappa, -1.0), t[7], t[8], lengths[2], True)
    if kappa[0] < 0.0:
        return _addc(_mulc(_exp(_mulc(kappa, s[10])), -s[9]), s[8] + s[9])
    return _const_like(kappa, s[8])


@njit(cache=True, error_model="numpy", inline="always")
def _geometry(kappa, modes, s, t, lengths):
    """(d, tan beta, cos beta, R, p_a, height, c, p_t) as duals at the plastic state kappa
    (dpc._geometry); p_t, where the transition circle meets the shear line, as a float."""
    if modes[1] == 1:
        rd = _relative_density(kappa, s)
        n = lengths[1]
        d = _table(rd, t[3], t[4], n, False)
        beta = _mulc(_table(rd, t[3], t[5], n, False), math.pi / 180.0)
        r = _table(rd, t[3], t[6], n, False)
        cos_beta, sin_beta = math.cos(beta[0]), math.sin(beta[0])
        tanb = _chain(beta, sin_beta / cos_beta, 1.0 / cos_beta ** 2)
        cosb = _chain(beta, cos_beta, -sin_beta)
    else:
        d = _const_like(kappa, s[4])
        r = _const_like(kappa, s[6])
        tanb = _const_like(kappa, s[12])
        cosb = _const_like(kappa, s[13])
    alpha = s[7]
    p_b = _cap_pressure(kappa, modes, s, t, lengths)
    p_a = _div(_sub(p_b, _mul(r, d)), _addc(_mul(r, tanb), 1.0))
    height = _add(d, _mul(p_a, tanb))
    c = _addc(_mulc(_div(_const_like(cosb, 1.0), cosb), -alpha), 1.0 + alpha)
    p_t = p_a[0] - alpha * height[0] * tanb[0] * cosb[0]
    return d, tanb, cosb, r, p_a, height, c, p_t


@njit(cache=True, error_model="numpy")
def _yield_value(p, q, geometry, arm, alpha):
    """(F, surface code) of one arm at Cauchy (p, q) (dpc._yield_value); geometry from
    `_geometry`, alpha the transition parameter."""
    d, tanb, cosb, r, p_a, height, c, p_t = geometry
    if arm == CAP:
        f = _sub(_sqrt(_add(_square(_sub(p, p_a)), _square(_div(_mul(r, q), c)))),
                 _mul(r, height))
        return f, CAP
    f_line = _mul(_sub(_sub(q, _mul(p, tanb)), d), cosb)
    if alpha == 0.0:
        return f_line, SHEAR
    q_centre = _mul(_addc(_mulc(_div(_const_like(cosb, 1.0), cosb), -alpha), 1.0), height)
    if p[0] > p_t and q[0] > q_centre[0]:
        f_circle = _sub(_sqrt(_add(_square(_sub(p, p_a)), _square(_sub(q, q_centre)))),
                        _mulc(height, alpha))
        return f_circle, TRANSITION
    return f_line, SHEAR


@njit(cache=True, error_model="numpy")
def _potential_gradient(p, q, geometry, arm):
    """(dG/dp, dG/dq / q) of an arm's flow potential (dpc._potential_gradient)."""
    d, tanb, cosb, r, p_a, height, c, p_t = geometry
    if arm == CAP:
        b2 = _square(_div(r, c))
        g = _sqrt(_addc(_add(_square(_sub(p, p_a)), _mul(b2, _square(q))), 1e-300))
        return _div(_sub(p, p_a), g), _div(b2, g)
    b2 = _div(_const_like(c, 1.0), _square(c))
    g = _sqrt(_addc(_add(_square(_mul(_sub(p_a, p), tanb)), _mul(b2, _square(q))), 1e-300))
    return _mulc(_div(_mul(_sub(p_a, p), _square(tanb)), g), -1.0), _div(b2, g)


@njit(cache=True, error_model="numpy")
def _residual(x, eps_v, eps_q, kappa_n, scale_k, scale_g, arm, modes, s, t, lengths,
              value, jac_x, jac_args):
    """Scaled local residual (dpc._residual) at x = (p, q, d_lambda, kappa): value (4,),
    d r/d x (4, 4) and d r/d (eps_v, eps_q, kappa_n) (4, 3), written into the arrays given."""
    p = _var(x[0], 1)
    q = _var(x[1], 2)
    dlam = _var(x[2], 3)
    kappa = _var(x[3], 4)
    ev = _var(eps_v, 5)
    eq = _var(eps_q, 6)
    kn = _var(kappa_n, 7)
    kappa_2 = (x[3], 1.0)                            # the material functions of kappa
    bulk_2, shear_2 = _kirchhoff_moduli(kappa_2, modes, s, t, lengths)
    bulk, shear = _lift(bulk_2, kappa), _lift(shear_2, kappa)
    d, tanb, cosb, r, p_a, height, c, p_t = _geometry(kappa_2, modes, s, t, lengths)
    geometry = (_lift(d, kappa), _lift(tanb, kappa), _lift(cosb, kappa), _lift(r, kappa),
                _lift(p_a, kappa), _lift(height, kappa), _lift(c, kappa), p_t)
    jac_det = _exp(_add(ev, kn))
    pc = _div(p, jac_det)
    qc = _div(q, jac_det)
    g_p, g_q_over_q = _potential_gradient(pc, qc, geometry, arm)
    f, _ = _yield_value(pc, qc, geometry, arm, s[7])
    r1 = _mulc(_add(p, _mul(bulk, _sub(ev, _sub(kappa, kn)))), 1.0 / scale_k)
    r2 = _mulc(_sub(q, _mul(_mulc(shear, 3.0),
                            _sub(eq, _mul(_mul(dlam, g_q_over_q), qc)))), 1.0 / scale_g)
    r3 = _add(_sub(kappa, kn), _mul(dlam, g_p))
    r4 = _mulc(f, 1.0 / scale_k)
    rows = (r1, r2, r3, r4)
    for i in range(4):
        r = rows[i]
        value[i] = r[0]
        for j in range(4):
            jac_x[i, j] = r[1 + j]
        for j in range(3):
            jac_args[i, j] = r[5 + j]


@njit(cache=True, error_model="numpy", inline="always")
def _solve(a, b, out, work):
    """out = a^-1 b for a (4, 4) and b (4, k) by Gaussian elimination with partial pivoting;
    False if a is singular or not finite. a is left unchanged (work holds the factors)."""
    k = b.shape[1]
    for i in range(4):
        for j in range(4):
            work[i, j] = a[i, j]
        for j in range(k):
            work[i, 4 + j] = b[i, j]
    for col in range(4):
        pivot = col
        for row in range(col + 1, 4):
            if abs(work[row, col]) > abs(work[pivot, col]):
                pivot = row
        if not work[pivot, col] != 0.0 or not math.isfinite(work[pivot, col]):
            return False
        if pivot != col:
            for j in range(4 + k):
                work[col, j], work[pivot, j] = work[pivot, j], work[col, j]
        for row in range(col + 1, 4):
            factor = work[row, col] / work[col, col]
            for j in range(col, 4 + k):
                work[row, j] -= factor * work[col, j]
    for j in range(k):
        for row in range(3, -1, -1):
            acc = work[row, 4 + j]
            for m in range(row + 1, 4):
                acc -= work[row, m] * out[m, j]
            out[row, j] = acc / work[row, row]
    return True


@njit(cache=True, error_model="numpy", inline="always")
def _max_abs(v):
    """max |v_i| of a 4-vector; NaN if any entry is NaN."""
    m = 0.0
    for i in range(4):
        a = abs(v[i])
        if not a <= m:          # NaN propagates
            m = a
    return m


@njit(cache=True, error_model="numpy")
def _solve_arm(x, eps_v, eps_q, kappa_n, scale_k, scale_g, arm, modes, s, t, lengths, w):
    """Safeguarded Newton with Armijo backtracking on one arm (dpc._solve_arm); x is updated
    in place. True if converged."""
    jac, jac_t, jarg, jarg_t, lu = w.jac, w.jac_t, w.jarg, w.jarg_t, w.lu
    res, res_t, rhs, step, trial = w.res, w.res_t, w.rhs, w.step, w.trial
    _residual(x, eps_v, eps_q, kappa_n, scale_k, scale_g, arm, modes, s, t, lengths,
              res, jac, jarg)
    for _ in range(_MAX_ITER):
        err = _max_abs(res)
        for i in range(4):
            rhs[i, 0] = -res[i]
        if err < _TOL:                      # one polishing step: round-off accuracy
            if _solve(jac, rhs, step, lu):
                for i in range(4):
                    trial[i] = x[i] + step[i, 0]
                _residual(trial, eps_v, eps_q, kappa_n, scale_k, scale_g, arm, modes, s, t,
                          lengths, res_t, jac_t, jarg_t)
                if _max_abs(res_t) <= err:
                    for i in range(4):
                        x[i] = trial[i]
            return True
        if not _solve(jac, rhs, step, lu):
            return False
        merit0 = 0.0
        for i in range(4):
            merit0 += 0.5 * res[i] * res[i]
        length = 1.0
        accepted = False
        for _ls in range(_MAX_HALVINGS):
            for i in range(4):
                trial[i] = x[i] + length * step[i, 0]
            _residual(trial, eps_v, eps_q, kappa_n, scale_k, scale_g, arm, modes, s, t,
                      lengths, res_t, jac_t, jarg_t)
            merit = 0.0
            for i in range(4):
                merit += 0.5 * res_t[i] * res_t[i]
            if math.isfinite(merit) and merit <= (1.0 - 2e-4 * length) * merit0 + 1e-30:
                accepted = True
                break
            length *= 0.5
        if not accepted:
            return False
        for i in range(4):
            x[i] = trial[i]
            res[i] = res_t[i]
            for j in range(4):
                jac[i, j] = jac_t[i, j]
    return False


@njit(cache=True, error_model="numpy", inline="always")
def _invariants(eps, n_dir):
    """eps_v, eps_q and the unit deviator n (0 if the deviator vanishes) of a Mandel strain."""
    eps_v = eps[0] + eps[1] + eps[2]
    norm2 = 0.0
    for i in range(6):
        e = eps[i] - (eps_v / 3.0 if i < 3 else 0.0)
        n_dir[i] = e
        norm2 += e * e
    norm = math.sqrt(norm2)
    for i in range(6):
        n_dir[i] = n_dir[i] / norm if norm > 1e-300 else 0.0
    return eps_v, SQ23 * norm


@njit(cache=True, error_model="numpy")
def _linearise(x, arm, eps_trial, eps_v, eps_q, kappa_n, scale_k, scale_g, modes, s, t,
               lengths, w):
    """Elastic strain, kappa and their derivatives at a converged local solution, by the
    implicit-function theorem (dpc._linearise): fills w.eps_e, w.a_mat = d eps_e/d eps_trial,
    w.dk_de = d kappa/d eps_trial, w.de_dkn = d eps_e/d kappa_n. Returns
    (ok, kappa, d kappa/d kappa_n, surface code)."""
    a_mat, de_dkn, dk_de, dx, eps_e = w.a_mat, w.de_dkn, w.dk_de, w.dx, w.eps_e
    jac, jarg, lu, n_dir, res = w.jac, w.jarg, w.lu, w.n_dir, w.res
    _residual(x, eps_v, eps_q, kappa_n, scale_k, scale_g, arm, modes, s, t, lengths,
              res, jac, jarg)
    # dx = jac^-1 jarg = -d(p, q, dlam, kappa)/d(eps_v, eps_q, kappa_n)
    if not _solve(jac, jarg, dx, lu):
        return False, kappa_n, 1.0, ELASTIC
    p, q, dlam, kappa = x[0], x[1], x[2], x[3]
    shear, dshear = _kirchhoff_moduli((kappa, 1.0), modes, s, t, lengths)[1]
    jac_det = math.exp(eps_v + kappa_n)
    pc, qc = (p / jac_det,), (q / jac_det,)
    geometry = _geometry((kappa,), modes, s, t, lengths)
    g_q_over_q = _potential_gradient(pc, qc, geometry, arm)[1][0]
    ratio = 1.0 / (1.0 + 3.0 * shear * dlam * g_q_over_q / jac_det)    # eps_q_e / eps_q_tr
    # eps_q_e = q / (3 G(kappa)); dx holds -d/d(eps_v, eps_q, kappa_n)
    deq0 = -(dx[1, 0] / (3.0 * shear) - q * dshear / (3.0 * shear ** 2) * dx[3, 0])
    deq1 = -(dx[1, 1] / (3.0 * shear) - q * dshear / (3.0 * shear ** 2) * dx[3, 1])
    deq2 = -(dx[1, 2] / (3.0 * shear) - q * dshear / (3.0 * shear ** 2) * dx[3, 2])
    dk0, dk1, dk2 = -dx[3, 0], -dx[3, 1], -dx[3, 2]
    n_dir = n_dir
    eps_v_e = eps_v - kappa + kappa_n
    for i in range(6):
        unit = 1.0 if i < 3 else 0.0
        eps_e[i] = eps_v_e / 3.0 * unit + ratio * (eps_trial[i] - eps_v / 3.0 * unit)
        dk_de[i] = dk0 * unit + SQ23 * dk1 * n_dir[i]
        de_dkn[i] = (1.0 - dk2) / 3.0 * unit + SQ32 * deq2 * n_dir[i]
    for i in range(6):
        unit_i = 1.0 if i < 3 else 0.0
        for j in range(6):
            unit_j = 1.0 if j < 3 else 0.0
            p_dev = (1.0 if i == j else 0.0) - unit_i * unit_j / 3.0
            a_mat[i, j] = (unit_i / 3.0 * (unit_j - dk_de[j])
                             + SQ32 * deq0 * n_dir[i] * unit_j
                             + deq1 * n_dir[i] * n_dir[j]
                             + ratio * (p_dev - n_dir[i] * n_dir[j]))
    code = CAP
    if arm != CAP:
        code = _yield_value(pc, qc, geometry, SHEAR, s[7])[1]
    return True, kappa, dk2, code


@njit(cache=True, error_model="numpy", inline="always")
def _trial_check(eps_trial, kappa_n, n_dir, modes, s, t, lengths):
    """Is the trial state inside the yield surface (dpc._return_map's test)? Returns
    (elastic, eps_v, eps_q, J_p K_n, J_p G_n, the arm it points to); fills n_dir."""
    eps_v, eps_q = _invariants(eps_trial, n_dir)
    kn = (kappa_n,)
    bulk_n, shear_n = _kirchhoff_moduli(kn, modes, s, t, lengths)
    jac_det = math.exp(eps_v + kappa_n)
    p_tr = (-bulk_n[0] * eps_v / jac_det,)                # Cauchy trial invariants
    q_tr = (3.0 * shear_n[0] * eps_q / jac_det,)
    geometry = _geometry(kn, modes, s, t, lengths)
    first_arm = CAP if p_tr[0] > geometry[4][0] else SHEAR
    f_trial = _yield_value(p_tr, q_tr, geometry, first_arm, s[7])[0][0]
    stress_scale = abs(_cap_pressure(kn, modes, s, t, lengths)[0]) + abs(geometry[0][0])
    elastic = not f_trial > 1e-10 * stress_scale
    return elastic, eps_v, eps_q, bulk_n[0], shear_n[0], first_arm


@njit(cache=True, error_model="numpy")
def _return_map(eps_trial, kappa_n, modes, s, t, lengths, w):
    """One rate-independent return of one point from (eps_trial, kappa_n) (dpc._return_map):
    elastic, or the arm the trial state points to, else the other arm. Fills w.eps_e, w.a_mat,
    w.dk_de, w.de_dkn; returns (ok, kappa, d kappa/d kappa_n, surface code)."""
    a_mat, de_dkn, dk_de, eps_e, n_dir, x = w.a_mat, w.de_dkn, w.dk_de, w.eps_e, w.n_dir, w.x
    elastic, eps_v, eps_q, bulk_n, shear_n, first_arm = _trial_check(
        eps_trial, kappa_n, n_dir, modes, s, t, lengths)
    if elastic:
        for i in range(6):
            eps_e[i] = eps_trial[i]
            dk_de[i] = 0.0
            de_dkn[i] = 0.0
            for j in range(6):
                a_mat[i, j] = 1.0 if i == j else 0.0
        return True, kappa_n, 1.0, ELASTIC
    jac_det = math.exp(eps_v + kappa_n)
    scale_k, scale_g = bulk_n, 3.0 * shear_n
    x = x
    for attempt in range(2):
        arm = first_arm if attempt == 0 else (SHEAR if first_arm == CAP else CAP)
        x[0], x[1], x[2], x[3] = -bulk_n * eps_v, 3.0 * shear_n * eps_q, 0.0, kappa_n
        if not _solve_arm(x, eps_v, eps_q, kappa_n, scale_k, scale_g, arm, modes, s, t,
                          lengths, w):
            continue
        p = x[0] / jac_det
        p_a = _geometry((x[3],), modes, s, t, lengths)[4][0]
        slack = 1e-9 * (1.0 + abs(p_a))
        side = p >= p_a - slack if arm == CAP else p <= p_a + slack
        dense = (1.0 - s[0]) * math.exp(-x[3]) < 1.0
        if side and x[2] >= -1e-12 and x[1] >= -1e-12 and dense:
            return _linearise(x, arm, eps_trial, eps_v, eps_q, kappa_n, scale_k, scale_g,
                              modes, s, t, lengths, w)
    return False, kappa_n, 1.0, ELASTIC


@njit(cache=True, error_model="numpy")
def _rate_independent(eps_trial, eps_e_n, kappa_n, modes, s, t, lengths, w):
    """The return with sub-stepping (dpc._rate_independent): if the whole increment fails, it
    is split into 2, 4, ..., 64 equal parts from (eps_e_n, kappa_n), with the derivatives
    chained through the parts. Fills w.eps_e, w.t_mat = d eps_e/d eps_trial, w.kd = d kappa/d
    eps_trial; returns (status, kappa, surface code)."""
    a_mat, d_trial, de_dkn, dk_de, eps_e = w.a_mat, w.d_trial, w.de_dkn, w.dk_de, w.eps_e
    increment, kd, kd_new, sub_e, sub_trial = w.increment, w.kd, w.kd_new, w.sub_e, w.sub_trial
    t_mat, t_new = w.t_mat, w.t_new
    ok, kappa, _, code = _return_map(eps_trial, kappa_n, modes, s, t, lengths, w)
    if ok:
        for i in range(6):
            kd[i] = dk_de[i]
            for j in range(6):
                t_mat[i, j] = a_mat[i, j]
        return OK, kappa, code
    solid = (1.0 - s[0]) * math.exp(-(eps_trial[0] + eps_trial[1] + eps_trial[2] + kappa_n))
    if solid >= 1.0:                 # no return can reach a state denser than solid
        return BEYOND_FULL_DENSITY, kappa_n, ELASTIC
    n_sub = 1
    for _level in range(6):
        n_sub *= 2
        for i in range(6):
            increment[i] = (eps_trial[i] - eps_e_n[i]) / n_sub
            sub_e[i] = eps_e_n[i]
            kd[i] = 0.0
            for j in range(6):
                t_mat[i, j] = 0.0
        kappa = kappa_n
        code = ELASTIC
        sub_ok = True
        for _part in range(n_sub):
            for i in range(6):
                sub_trial[i] = sub_e[i] + increment[i]
            ok, kappa_k, dk_dkn, code = _return_map(sub_trial, kappa, modes, s, t, lengths,
                                                    w)
            if not ok:
                sub_ok = False
                break
            for i in range(6):                   # d trial_k / d eps_trial
                for j in range(6):
                    d_trial[i, j] = t_mat[i, j] + (1.0 / n_sub if i == j else 0.0)
            for i in range(6):
                for j in range(6):
                    value = de_dkn[i] * kd[j]
                    for m in range(6):
                        value += a_mat[i, m] * d_trial[m, j]
                    t_new[i, j] = value
            for j in range(6):
                value = dk_dkn * kd[j]
                for m in range(6):
                    value += dk_de[m] * d_trial[m, j]
                kd_new[j] = value
            for i in range(6):
                kd[i] = kd_new[i]
                sub_e[i] = eps_e[i]
                for j in range(6):
                    t_mat[i, j] = t_new[i, j]
            kappa = kappa_k
        if sub_ok:
            for i in range(6):
                eps_e[i] = sub_e[i]
            return OK, kappa, code
    return FAILED, kappa_n, ELASTIC


@njit(cache=True, error_model="numpy")
def dpc_update(eps_trial, eps_e_n, kappa_n, eq_plastic_n, plastic_n, dt, modes, s, t, lengths,
               tau, tangent, eps_e, kappa, eq_plastic, cap_pressure, plastic, code, status):
    """DruckerPragerCap.update for every point in one compiled pass: the return (with
    sub-steps), Duvaut-Lions relaxation, Kirchhoff stress, consistent tangent and new history
    written into the output arrays; status[p] is OK, FAILED or BEYOND_FULL_DENSITY."""
    w = _scratch()
    elastic, t_mat, kd, stress_slope, n_dir = w.eps_e, w.t_mat, w.kd, w.increment, w.n_dir
    relaxation_time = s[11]
    weight = 1.0
    if relaxation_time > 0.0:
        ratio = dt / relaxation_time
        weight = ratio / (1.0 + ratio)
    for pt in range(eps_trial.shape[0]):
        if _trial_check(eps_trial[pt], kappa_n[pt], n_dir, modes, s, t, lengths)[0]:
            result, kap, surface = OK, kappa_n[pt], ELASTIC       # elastic: T = I, kd = 0
            for i in range(6):
                elastic[i] = eps_trial[pt, i]
                kd[i] = 0.0
                for j in range(6):
                    t_mat[i, j] = 1.0 if i == j else 0.0
        else:
            result, kap, surface = _rate_independent(eps_trial[pt], eps_e_n[pt], kappa_n[pt],
                                                     modes, s, t, lengths, w)
        status[pt] = result
        if result != OK:
            continue
        if relaxation_time > 0.0:                      # Duvaut-Lions
            for i in range(6):
                elastic[i] = (1.0 - weight) * eps_trial[pt, i] + weight * elastic[i]
                kd[i] *= weight
                for j in range(6):
                    t_mat[i, j] = ((1.0 - weight) * (1.0 if i == j else 0.0)
                                     + weight * t_mat[i, j])
            kap = (1.0 - weight) * kappa_n[pt] + weight * kap
        (bulk, dbulk), (shear, dshear) = _kirchhoff_moduli((kap, 1.0), modes, s, t, lengths)
        eps_v_e = elastic[0] + elastic[1] + elastic[2]
        for i in range(6):
            unit = 1.0 if i < 3 else 0.0
            dev = elastic[i] - eps_v_e / 3.0 * unit
            tau[pt, i] = bulk * eps_v_e * unit + 2.0 * shear * dev
            stress_slope[i] = dbulk * eps_v_e * unit + 2.0 * dshear * dev   # d tau / d kappa
        # D = C(kappa) T + (d tau/d kappa) (x) kd, C = (K - 2G/3) I (x) I + 2G Id
        lame = bulk - 2.0 * shear / 3.0
        for j in range(6):
            trace_j = t_mat[0, j] + t_mat[1, j] + t_mat[2, j]
            for i in range(6):
                tangent[pt, i, j] = (2.0 * shear * t_mat[i, j] + stress_slope[i] * kd[j]
                                     + (lame * trace_j if i < 3 else 0.0))
        norm2 = 0.0
        for i in range(6):
            eps_e[pt, i] = elastic[i]
            increment = eps_trial[pt, i] - elastic[i]
            plastic[pt, i] = plastic_n[pt, i] + increment
            norm2 += increment * increment
        kappa[pt] = kap
        eq_plastic[pt] = eq_plastic_n[pt] + SQ23 * math.sqrt(norm2)
        cap_pressure[pt] = _cap_pressure((kap,), modes, s, t, lengths)[0]
        code[pt] = surface
