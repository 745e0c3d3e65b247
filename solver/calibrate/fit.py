r"""Weighted least squares of card parameters against all data sets, with an honest verdict.

Unknowns x: ln(value) for positive quantities (moduli, pressures, R, d), value/scale for the
others (friction angle, Poisson's ratio); bounds from [fit.bounds] or the card loader's range.
Residuals r(x): the relative residuals of every data set (``model.residuals``), stacked;
scipy.optimize.least_squares (trust-region reflective, 2-point Jacobian) minimises
1/2 sum r^2.

Uncertainty (linearised at the optimum, Bates & Watts 1988, ch. 2): with the Jacobian
J = U S V^T,

    Cov(x) = s^2 V S^-2 V^T,      s^2 = r.r / (m - n)        (m residuals, n unknowns)

and correlations Cov_ij / sqrt(Cov_ii Cov_jj).  A singular value below 1e-10 S_max is floored
there (not dropped), so a direction the data do not see gets a huge variance instead of none.

Identifiability.  An unknown is *not determined by these data* if

    sd / value > IDENTIFIABLE (10 %)            (the fit's own uncertainty), or
    sd_1% / value > DESIGN_LIMIT (100 %)        (the design: sd_1% = 0.01 sqrt(diag((J^T J)^-1)),
                                                 its spread if every residual had 1 % noise)

(for linear unknowns: relative to their scale).  The first catches what noisy data leave open,
the second what no data of this design can fix, even noise-free ones (a table node beyond the
tested density: a zero column of J; two parameters that only act as one combination).
Undetermined unknowns are removed one at a time, the worst first (of a correlated pair only
one needs fixing), the others re-judged on the remaining columns of J, and the fit repeated
with the removed ones held at their stated start values (the card says so).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

from .model import MODEL_ERRORS, Entry

IDENTIFIABLE = 0.10          # relative sd (from the fit) above which an unknown is undetermined
DESIGN_LIMIT = 1.0           # relative sd at 1 % noise above which it is undetermined
_FLOOR = 1e-10               # smallest singular value kept, relative to the largest
_FAILED = 10.0               # a failed path: every residual 10 x the largest at the start


@dataclass
class FitResult:
    entries: list[Entry]        # every requested entry
    values: np.ndarray          # fitted (or, if undetermined, start) value of each entry
    free: np.ndarray            # bool: fitted in the final fit
    sd: np.ndarray              # standard deviation from the fit's residuals (nan if held)
    sd_design: np.ndarray       # standard deviation at 1 % noise (identifiability measure)
    correlation: np.ndarray     # of the free entries
    jac: np.ndarray             # d residual / d x of the free entries at the optimum
    residual: np.ndarray        # at the optimum
    cost: float
    evaluations: int
    message: str


def _covariance(jac: np.ndarray, scale: float) -> np.ndarray:
    _, s, vt = np.linalg.svd(jac, full_matrices=False)
    if s.size == 0 or s[0] == 0.0:
        return np.full((jac.shape[1], jac.shape[1]), np.inf)
    s = np.maximum(s, _FLOOR * s[0])
    return scale * (vt.T / s ** 2) @ vt


def relative_sd(entries, x, cov) -> np.ndarray:
    """sd of each value relative to its size (log unknowns) or its scale (linear ones)."""
    sd = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    return np.array([sd[i] if e.log else sd[i] * e.scale / max(abs(e.from_x(x[i])), 1e-300)
                     for i, e in enumerate(entries)])


def undetermined(entries, x, jac, variance: float) -> list[int]:
    """Indices (into entries) the data do not determine, removed worst first (docstring);
    variance: the residual variance s^2 of the fit."""
    keep = list(range(len(entries)))
    removed = []
    while keep:
        sub = [entries[i] for i in keep]
        fitted = relative_sd(sub, x[keep], _covariance(jac[:, keep], variance)) / IDENTIFIABLE
        design = relative_sd(sub, x[keep], _covariance(jac[:, keep], 0.01 ** 2)) / DESIGN_LIMIT
        badness = np.maximum(fitted, design)
        worst = int(np.argmax(badness))
        if badness[worst] <= 1.0:
            break
        removed.append(keep.pop(worst))
    return removed


def _bounds(entries) -> tuple[np.ndarray, np.ndarray]:
    """Bounds of the unknowns x (log unknowns: ln of the bounds; a bound at 0 is -inf)."""
    low = np.array([(np.log(e.low) if e.low > 0 else -np.inf) if e.log else
                    (e.to_x(e.low) if np.isfinite(e.low) else -np.inf) for e in entries])
    high = np.array([(np.log(e.high) if e.log else e.to_x(e.high)) if np.isfinite(e.high)
                     else np.inf for e in entries])
    return low, high


def _solve(function, entries, x0):
    low, high = _bounds(entries)
    inside = np.where(np.isfinite(low), low + 1e-9 * (1 + np.abs(np.nan_to_num(low))), x0)
    x0 = np.maximum(x0, inside)
    inside = np.where(np.isfinite(high), high - 1e-9 * (1 + np.abs(np.nan_to_num(high))), x0)
    x0 = np.minimum(x0, inside)
    return least_squares(function, x0, bounds=(low, high), method="trf", xtol=1e-14,
                         ftol=1e-14, gtol=1e-14, max_nfev=200 * (len(entries) + 1))


def fit(entries: list[Entry], residual_of, log=print) -> FitResult:
    """Fit the entries. residual_of(values: dict key -> value, coarse: bool) -> residual
    vector; a MODEL_ERRORS exception counts as a failed path (large residuals).

    Continuation: a first solve with the coarse residuals (``model.residual_scale``: die
    stresses relative to 2 % of the test's peak, so the stiff high-density rows lead and the
    small low-density stresses cannot trap the start), then the fine ones from there."""
    n_res = [None]

    def function_for(active, held, coarse=False):
        def function(x):
            values = dict(held)
            values.update({entries[i].key: entries[i].from_x(x[k]) for k, i in enumerate(active)})
            try:
                r = residual_of(values, coarse)
            except MODEL_ERRORS:          # worse than any state the path can follow
                return np.full(n_res[0], failed[0])
            n_res[0] = r.size
            return r
        return function

    starts = {e.key: e.start for e in entries}
    x_start = np.array([e.to_x(e.start) for e in entries])
    active = list(range(len(entries)))
    r_start = residual_of(starts, False)
    n_res[0] = r_start.size
    failed = [_FAILED * max(1.0, float(np.max(np.abs(r_start))))]
    first = _solve(function_for(active, {}, coarse=True), entries, x_start)
    result = _solve(function_for(active, {}), entries, first.x)
    evaluations = first.nfev + result.nfev
    for _ in range(len(entries)):            # until the refit leaves nothing undetermined
        sub = [entries[i] for i in active]
        variance = float(result.fun @ result.fun) / max(result.fun.size - len(active), 1)
        removed = [active[i] for i in undetermined(sub, result.x, result.jac, variance)]
        if not removed:
            break
        log("  not determined by the data (held at their start values): "
            + ", ".join(entries[i].key for i in removed))
        x_free = dict(zip(active, result.x))
        active = [i for i in active if i not in removed]
        held = {entries[i].key: entries[i].start for i in range(len(entries))
                if i not in active}
        if not active:
            break
        result = _solve(function_for(active, held), [entries[i] for i in active],
                        np.array([x_free[i] for i in active]))
        evaluations += result.nfev
    return _result(entries, active, result, x_start, evaluations)


def _result(entries, active, result, x_start, evaluations) -> FitResult:
    n = len(entries)
    x = x_start.copy()
    if active:
        x[active] = result.x
    values = np.array([e.from_x(x[i]) for i, e in enumerate(entries)])
    free = np.zeros(n, bool)
    free[active] = True
    sd, sd_design = np.full(n, np.nan), np.full(n, np.nan)
    correlation = np.zeros((len(active), len(active)))
    if active:
        m = result.fun.size
        dof = max(m - len(active), 1)
        cov = _covariance(result.jac, float(result.fun @ result.fun) / dof)
        design = _covariance(result.jac, 0.01 ** 2)
        sub = [entries[i] for i in active]
        sd[active] = relative_sd(sub, result.x, cov) * np.abs(values[active])
        sd_design[active] = relative_sd(sub, result.x, design) * np.abs(values[active])
        d = np.sqrt(np.clip(np.diag(cov), 1e-300, None))
        correlation = np.clip(cov / np.outer(d, d), -1.0, 1.0)
    return FitResult(entries, values, free, sd, sd_design, correlation,
                     result.jac if active else np.zeros((0, 0)),
                     result.fun if active else np.array([]), float(result.cost) if active
                     else 0.0, evaluations, str(result.message) if active else "nothing fitted")
