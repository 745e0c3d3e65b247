r"""The Drucker-Prager-Cap return map of ``dpc.py``, compiled: one pass per material point.

Same equations, same local Newton, same sub-stepping and the same consistent tangent as the
NumPy implementation (``DruckerPragerCap.update_numpy``, the reference the tests hold this to);
only the derivatives are taken differently.  The NumPy code differentiates the local residual
by complex steps (one complex residual evaluation per input).  Here every scalar of the local
problem is a *dual number* (``dual.py``) and the material functions and surfaces are those of
``dpc_surfaces.py``.  Inside the local Newton the residual r(x; eps_v, eps_q, kappa_n) is
evaluated in duals of width 5,

    (value, d/dp, d/dq, d/d_lambda, d/dkappa),

which is all the Newton needs (dr/dx, 4x4); only at the converged point, for the
implicit-function tangent, is it evaluated once more in width 8, adding
d/d(eps_v, eps_q, kappa_n) (4x3).  Both are exact to round-off like the complex step.  (The
narrower duals cut the cap return from 3.7 to ~3.0 us per point, docs/benchmarks.md.)
The card's layout is in ``dpc_surfaces.py``'s docstring.

Warm start.  The local Newton of a plastic point starts from the trial stress, no plastic
multiplier and kappa_n; in a global Newton iteration the strain has moved little since the
previous iterate, whose local solution (p, q, d_lambda, kappa) is then a far better start.
`update` returns it per point as the history entry ``return_start`` (with the arm it solved,
-1 for a sub-stepped point; an elastic point keeps the one it had), and
``mechanics.warm_started`` hands the latest trial update's to the next update (the law's
``iterate_keys``). The local solution is a function of (eps_v, eps_q, kappa_n) alone, and the
linearisation already has its derivatives (the implicit-function tangent), so the start keeps
them too (`START_WIDTH` columns) and the next return starts from the first-order prediction
x + dx/d(eps_v, eps_q, kappa_n) . (the change since): off by the square of the strain change,
where the earlier solution itself is off by the change. The warm start is tried on the same
arm only; if it fails or its answer is not admissible the point takes the cold start as
before, so the answer is the cold start's to round-off (tests/test_materials.py).

Numba inlines the small helpers that run inside the local Newton (``inline="always"``: the
residual rows, the 4x4 solve, the arm's Newton, the linearisation) but compiles the two
return drivers (`_plastic_return`, `_rate_independent`) as functions of their own: inlining
those as well made the first compilation take 65-75 s instead of 35 s (a cold cache: a fresh
checkout, CI, a container) for 3 % less time per plastic point (3.60-3.67 against 3.74-3.78 us,
`benchmarks/law_cost.py --cards nmc_cathode`, one thread).

The kernel's working memory, scratch arrays and views of its inputs that numba does not
reference-count, is made in ``dpc_scratch.py``.
"""
from __future__ import annotations

import math

from numba import njit

from .dpc_scratch import scratch, unowned
from .dpc_surfaces import (CAP, ELASTIC, SHEAR, cap_pressure, geometry, kirchhoff_moduli,
                           potential_gradient, yield_value)
from .dual import add, chain, div, lift, mul, mulc, sub, variable5, variable8

_TOL = 1e-12          # local Newton tolerance on the scaled residual (as in dpc.py)
_MAX_ITER = 40
_MAX_HALVINGS = 30
SQ23 = math.sqrt(2.0 / 3.0)
SQ32 = math.sqrt(1.5)
#: kernel status codes per point
OK, FAILED, BEYOND_FULL_DENSITY = 0, 1, 2
#: a point's warm start: (p, q, d_lambda, kappa), arm, (eps_v, eps_q, kappa_n) it solved for,
#: and the solution's derivatives d(p, q, d_lambda, kappa)/d eps_v, / d eps_q, / d kappa_n
START_WIDTH = 20


@njit(cache=True, error_model="numpy", inline="always")
def _rows(p, q, dlam, kappa, ev, eq, kn, point, arm, modes, s, t, lengths):
    """The scaled local residual (NumPy _residual) as four duals of the width of the inputs;
    point = (eps_v, eps_q, kappa_n, scale_k, scale_g, J = exp(eps_v + kappa_n))."""
    scale_k, scale_g, jac_det_value = point[3], point[4], point[5]
    kappa_2 = (kappa[0], 1.0)                        # the material functions of kappa
    bulk_2, shear_2 = kirchhoff_moduli(kappa_2, modes, s, t, lengths)
    bulk, shear = lift(bulk_2, kappa), lift(shear_2, kappa)
    d, tanb, cosb, r, p_a, height, c, p_t = geometry(kappa_2, modes, s, t, lengths)
    surfaces = (lift(d, kappa), lift(tanb, kappa), lift(cosb, kappa), lift(r, kappa),
                lift(p_a, kappa), lift(height, kappa), lift(c, kappa), p_t)
    jac_det = chain(add(ev, kn), jac_det_value, jac_det_value)     # J = J_e J_p, fixed
    pc = div(p, jac_det)
    qc = div(q, jac_det)
    g_p, g_q_over_q = potential_gradient(pc, qc, surfaces, arm)
    f, _ = yield_value(pc, qc, surfaces, arm, s[7])
    r1 = mulc(add(p, mul(bulk, sub(ev, sub(kappa, kn)))), 1.0 / scale_k)
    r2 = mulc(sub(q, mul(mulc(shear, 3.0), sub(eq, mul(mul(dlam, g_q_over_q), qc)))),
              1.0 / scale_g)
    r3 = add(sub(kappa, kn), mul(dlam, g_p))
    r4 = mulc(f, 1.0 / scale_k)
    return r1, r2, r3, r4


@njit(cache=True, error_model="numpy")
def _residual(x, point, arm, modes, s, t, lengths, value, jac_x):
    """Scaled local residual at x = (p, q, d_lambda, kappa): value (4,) and d r/d x (4, 4),
    written into the arrays given (width-5 duals)."""
    rows = _rows(variable5(x[0], 1), variable5(x[1], 2), variable5(x[2], 3),
                 variable5(x[3], 4), (point[0], 0.0, 0.0, 0.0, 0.0),
                 (point[1], 0.0, 0.0, 0.0, 0.0), (point[2], 0.0, 0.0, 0.0, 0.0), point, arm,
                 modes, s, t, lengths)
    for i in range(4):
        r = rows[i]
        value[i] = r[0]
        for j in range(4):
            jac_x[i, j] = r[1 + j]


@njit(cache=True, error_model="numpy")
def _residual_with_inputs(x, point, arm, modes, s, t, lengths, value, jac_x, jac_args):
    """`_residual` and also d r/d (eps_v, eps_q, kappa_n) (4, 3) (width-8 duals)."""
    rows = _rows(variable8(x[0], 1), variable8(x[1], 2), variable8(x[2], 3),
                 variable8(x[3], 4), variable8(point[0], 5), variable8(point[1], 6),
                 variable8(point[2], 7), point, arm, modes, s, t, lengths)
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


@njit(cache=True, error_model="numpy", inline="always")
def _solve_arm(x, point, arm, modes, s, t, lengths, w):
    """Safeguarded Newton with Armijo backtracking on one arm (NumPy _solve_arm); x is updated
    in place. True if converged."""
    jac, jac_t, lu = w.jac, w.jac_t, w.lu
    res, res_t, rhs, step, trial = w.res, w.res_t, w.rhs, w.step, w.trial
    _residual(x, point, arm, modes, s, t, lengths, res, jac)
    for _ in range(_MAX_ITER):
        err = _max_abs(res)
        for i in range(4):
            rhs[i, 0] = -res[i]
        if err < _TOL:                      # one polishing step: round-off accuracy
            if _solve(jac, rhs, step, lu):
                for i in range(4):
                    trial[i] = x[i] + step[i, 0]
                _residual(trial, point, arm, modes, s, t, lengths, res_t, jac_t)
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
            _residual(trial, point, arm, modes, s, t, lengths, res_t, jac_t)
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


@njit(cache=True, error_model="numpy", inline="always")
def _linearise(x, arm, eps_trial, point, modes, s, t, lengths, w):
    """Elastic strain, kappa and their derivatives at a converged local solution, by the
    implicit-function theorem (NumPy _linearise): fills w.eps_e, w.a_mat = d eps_e/d eps_trial,
    w.dk_de = d kappa/d eps_trial, w.de_dkn = d eps_e/d kappa_n. Returns
    (ok, kappa, d kappa/d kappa_n, surface code)."""
    a_mat, de_dkn, dk_de, dx, eps_e = w.a_mat, w.de_dkn, w.dk_de, w.dx, w.eps_e
    jac, jarg, lu, n_dir, res = w.jac, w.jarg, w.lu, w.n_dir, w.res
    eps_v, eps_q, kappa_n, _, _, jac_det = point
    _residual_with_inputs(x, point, arm, modes, s, t, lengths, res, jac, jarg)
    # dx = jac^-1 jarg = -d(p, q, dlam, kappa)/d(eps_v, eps_q, kappa_n)
    if not _solve(jac, jarg, dx, lu):
        return False, kappa_n, 1.0, ELASTIC
    p, q, dlam, kappa = x[0], x[1], x[2], x[3]
    shear, dshear = kirchhoff_moduli((kappa, 1.0), modes, s, t, lengths)[1]
    pc, qc = (p / jac_det,), (q / jac_det,)
    surfaces = geometry((kappa,), modes, s, t, lengths)
    g_q_over_q = potential_gradient(pc, qc, surfaces, arm)[1][0]
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
        code = yield_value(pc, qc, surfaces, SHEAR, s[7])[1]
    return True, kappa, dk2, code


@njit(cache=True, error_model="numpy", inline="always")
def _trial_check(eps_trial, kappa_n, n_dir, modes, s, t, lengths):
    """Is the trial state inside the yield surface (NumPy _return_map's test)? Returns
    (elastic, eps_v, eps_q, J_p K_n, J_p G_n, the arm it points to); fills n_dir."""
    eps_v, eps_q = _invariants(eps_trial, n_dir)
    kn = (kappa_n,)
    bulk_n, shear_n = kirchhoff_moduli(kn, modes, s, t, lengths)
    jac_det = math.exp(eps_v + kappa_n)
    p_tr = (-bulk_n[0] * eps_v / jac_det,)                # Cauchy trial invariants
    q_tr = (3.0 * shear_n[0] * eps_q / jac_det,)
    surfaces = geometry(kn, modes, s, t, lengths)
    first_arm = CAP if p_tr[0] > surfaces[4][0] else SHEAR
    f_trial = yield_value(p_tr, q_tr, surfaces, first_arm, s[7])[0][0]
    stress_scale = abs(cap_pressure(kn, modes, s, t, lengths)[0]) + abs(surfaces[0][0])
    elastic = not f_trial > 1e-10 * stress_scale
    return elastic, eps_v, eps_q, bulk_n[0], shear_n[0], first_arm


@njit(cache=True, error_model="numpy")
def _return_map(eps_trial, kappa_n, modes, s, t, lengths, w):
    """One rate-independent return of one point from (eps_trial, kappa_n) (NumPy _return_map):
    elastic, or `_plastic_return`. Fills w.eps_e, w.a_mat, w.dk_de, w.de_dkn; returns (ok,
    kappa, d kappa/d kappa_n, surface code)."""
    a_mat, de_dkn, dk_de, eps_e = w.a_mat, w.de_dkn, w.dk_de, w.eps_e
    check = _trial_check(eps_trial, kappa_n, w.n_dir, modes, s, t, lengths)
    if check[0]:
        for i in range(6):
            eps_e[i] = eps_trial[i]
            dk_de[i] = 0.0
            de_dkn[i] = 0.0
            for j in range(6):
                a_mat[i, j] = 1.0 if i == j else 0.0
        return True, kappa_n, 1.0, ELASTIC
    return _plastic_return(eps_trial, kappa_n, check, w.cold, modes, s, t, lengths, w)


@njit(cache=True, error_model="numpy")
def _plastic_return(eps_trial, kappa_n, check, start, modes, s, t, lengths, w):
    """The return of a point outside the yield surface (`_trial_check`'s results in check, its
    n_dir in w): the arm the trial state points to, else the other arm. The local Newton
    starts from the trial stress, no plastic multiplier and kappa_n, or, if `start` holds a
    solution on the arm tried first (start[4] is that arm, -1 if none), first from it (a
    warm start: the previous global iterate's solution moved along its tangent, see the
    module). Fills w.solved with the next warm start (`START_WIDTH` entries: the solution
    (p, q, d_lambda, kappa), its arm, the (eps_v, eps_q, kappa_n) it solved for and its
    derivatives by them)."""
    _, eps_v, eps_q, bulk_n, shear_n, first_arm = check
    x = w.x
    jac_det = math.exp(eps_v + kappa_n)
    point = (eps_v, eps_q, kappa_n, bulk_n, 3.0 * shear_n, jac_det)
    warm = start[4] == first_arm
    for attempt in range(3 if warm else 2):
        cold = attempt - (1 if warm else 0)     # -1: the warm start
        arm = first_arm if cold <= 0 else (SHEAR if first_arm == CAP else CAP)
        if cold < 0:        # the earlier solution, moved along its tangent (see the module)
            d_v, d_q, d_k = eps_v - start[5], eps_q - start[6], kappa_n - start[7]
            for i in range(4):
                x[i] = start[i] + start[8 + i] * d_v + start[12 + i] * d_q + start[16 + i] * d_k
        else:
            x[0], x[1], x[2], x[3] = -bulk_n * eps_v, 3.0 * shear_n * eps_q, 0.0, kappa_n
        if not _solve_arm(x, point, arm, modes, s, t, lengths, w):
            continue
        p = x[0] / jac_det
        p_a = geometry((x[3],), modes, s, t, lengths)[4][0]
        slack = 1e-9 * (1.0 + abs(p_a))
        side = p >= p_a - slack if arm == CAP else p <= p_a + slack
        dense = (1.0 - s[0]) * math.exp(-x[3]) < 1.0
        if side and x[2] >= -1e-12 and x[1] >= -1e-12 and dense:
            solved = w.solved
            for i in range(4):
                solved[i] = x[i]
            solved[4] = arm
            solved[5], solved[6], solved[7] = eps_v, eps_q, kappa_n
            result = _linearise(x, arm, eps_trial, point, modes, s, t, lengths, w)
            for i in range(4):          # w.dx = -d x / d(eps_v, eps_q, kappa_n)
                solved[8 + i] = -w.dx[i, 0]
                solved[12 + i] = -w.dx[i, 1]
                solved[16 + i] = -w.dx[i, 2]
            return result
    return False, kappa_n, 1.0, ELASTIC


@njit(cache=True, error_model="numpy")
def _rate_independent(eps_trial, eps_e_n, kappa_n, check, start, modes, s, t, lengths, w):
    """The return of a plastic trial state (`_trial_check`'s results in check) with
    sub-stepping (NumPy _rate_independent): if the whole increment fails, it
    is split into 2, 4, ..., 64 equal parts from (eps_e_n, kappa_n), with the derivatives
    chained through the parts. Fills w.eps_e, w.t_mat = d eps_e/d eps_trial, w.kd = d kappa/d
    eps_trial; returns (status, kappa, surface code)."""
    a_mat, d_trial, de_dkn, dk_de, eps_e = w.a_mat, w.d_trial, w.de_dkn, w.dk_de, w.eps_e
    increment, kd, kd_new, sub_e, sub_trial = w.increment, w.kd, w.kd_new, w.sub_e, w.sub_trial
    t_mat, t_new = w.t_mat, w.t_new
    ok, kappa, _, code = _plastic_return(eps_trial, kappa_n, check, start, modes, s, t,
                                         lengths, w)
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
            w.solved[4] = -1.0          # a sub-stepped return leaves no warm start
            return OK, kappa, code
    return FAILED, kappa_n, ELASTIC


@njit(cache=True, error_model="numpy", nogil=True)
def dpc_update(eps_trial, eps_e_n, kappa_n, eq_plastic_n, plastic_n, start, dt, modes, s, t,
               lengths, tau, tangent, eps_e, kappa, eq_plastic, p_b, plastic, code, solution,
               status):
    """DruckerPragerCap.update for every point in one compiled pass: the return (with
    sub-steps), Duvaut-Lions relaxation, Kirchhoff stress, consistent tangent and new history
    written into the output arrays; status[p] is OK, FAILED or BEYOND_FULL_DENSITY.
    start[p] = (p, q, d_lambda, kappa, arm) is a warm start for the local Newton (arm -1:
    none); solution[p] receives this return's (arm -1: elastic or sub-stepped)."""
    w = scratch()
    # the arrays the per-point functions pass around, without reference counts (`unowned`;
    # the caller holds them for the whole call)
    eps_trial, eps_e_n, start = unowned(eps_trial), unowned(eps_e_n), unowned(start)
    modes, s, t, lengths = unowned(modes), unowned(s), unowned(t), unowned(lengths)
    elastic, t_mat, kd, stress_slope, n_dir = w.eps_e, w.t_mat, w.kd, w.increment, w.n_dir
    relaxation_time = s[11]
    weight = 1.0
    if relaxation_time > 0.0:
        ratio = dt / relaxation_time
        weight = ratio / (1.0 + ratio)
    for pt in range(eps_trial.shape[0]):
        check = _trial_check(eps_trial[pt], kappa_n[pt], n_dir, modes, s, t, lengths)
        for i in range(START_WIDTH):     # (an elastic point keeps its last solution)
            solution[pt, i] = start[pt, i]
        if check[0]:
            result, kap, surface = OK, kappa_n[pt], ELASTIC       # elastic: T = I, kd = 0
            for i in range(6):
                elastic[i] = eps_trial[pt, i]
                kd[i] = 0.0
                for j in range(6):
                    t_mat[i, j] = 1.0 if i == j else 0.0
        else:
            result, kap, surface = _rate_independent(eps_trial[pt], eps_e_n[pt], kappa_n[pt],
                                                     check, start[pt], modes, s, t, lengths, w)
            if result == OK:
                for i in range(START_WIDTH):
                    solution[pt, i] = w.solved[i]
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
        (bulk, dbulk), (shear, dshear) = kirchhoff_moduli((kap, 1.0), modes, s, t, lengths)
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
        p_b[pt] = cap_pressure((kap,), modes, s, t, lengths)[0]
        code[pt] = surface
