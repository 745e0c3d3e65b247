"""The compaction-resistance model of Meyer, Bockholt, Haselrieder, Kwade (2017) (package
docstring), its least-squares fit through a sweep's points and the plot of both."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..output import fit_verdict, uniform_to_roundoff

MODEL = "porosity(q) = porosity_min + (porosity_0 - porosity_min) * exp(-q / gamma_c)"
SOURCE = ("Meyer, Bockholt, Haselrieder, Kwade (2017), J. Mater. Process. Technol. 249, "
          "172-178")
#: the porosity a fit uses unless told (the calender's, else the flat press's)
DEFAULT_Y_KEYS = ("exit_porosity", "final_porosity")
#: what `--fit X,Y` can name, by case kind (summary.json entries): X a compaction load q (or
#: the swept parameter, the default), Y a porosity. A kind without porosities (stack,
#: delamination) has no compaction fit.
FIT_LOADS = {
    "flat_press": ("peak_pressure_MPa", "final_platen_force"),
    "calender": ("line_load_N_per_mm", "line_load_exit_zone_N_per_mm", "peak_nip_pressure_MPa"),
    "calender_width": ("line_load_mean_N_per_mm", "line_load_lane_centre_N_per_mm",
                       "line_load_min_N_per_mm", "line_load_max_N_per_mm"),
}
FIT_POROSITIES = {
    "flat_press": ("final_porosity", "porosity_under_load"),
    "calender": ("exit_porosity", "porosity_under_roll"),
    "calender_width": ("exit_porosity_mean", "exit_porosity_lane_centre",
                       "bottom_exit_porosity_mean", "bottom_exit_porosity_lane_centre"),
}
#: the porosities of a calender's 3D slab across the web (geometry.dimension = 3 only)
SLAB_FIT_POROSITIES = ("exit_porosity_lane_centre", "exit_porosity_coated_min",
                       "exit_porosity_coated_max", "exit_porosity_at_coating_edge")


def compaction_model(q, porosity_0, porosity_min, gamma_c):
    """porosity(q) = porosity_min + (porosity_0 - porosity_min) exp(-q / gamma_c)."""
    return porosity_min + (porosity_0 - porosity_min) * np.exp(-np.asarray(q) / gamma_c)


def fit_compaction_resistance(q, porosity) -> dict:
    """Least-squares fit of Meyer et al.'s model (module docstring) to points (q, porosity).

    Bounds 0 <= porosity_min <= porosity_0 <= 1 and gamma_c > 0 are kept by fitting
    porosity_0 in [0, 1], s = porosity_min / porosity_0 in [0, 1] and gamma_c in (0, inf).
    The start: for 60 trial gamma_c log-spaced over the q range, porosity is linear in
    (porosity_min, porosity_0 - porosity_min); the best linear fit starts the nonlinear one.
    Returns porosity_0, porosity_min, gamma_c (unit of q), kind ('fit', or 'interpolation'
    for exactly 3 points) and r_squared (None for an interpolation: 3 parameters through 3
    points leave no residual to judge); raises ValueError with fewer than 3 points, with a
    porosity that does not change (to round-off, output.uniform_to_roundoff) or if the fit
    fails."""
    from scipy.optimize import curve_fit

    q = np.asarray(q, dtype=float)
    y = np.asarray(porosity, dtype=float)
    if len(q) < 3:
        raise ValueError(f"{len(q)} point(s): the model has 3 parameters and needs at least 3")
    if uniform_to_roundoff(y):
        raise ValueError(f"not fitted: the porosity is the same at every point ({y[0]:.6g}, "
                         f"spread {np.ptp(y):.1e}): nothing to fit (a dense layer, e.g. "
                         "lithium foil, does not compact)")
    scale = float(np.max(np.abs(q))) or 1.0
    best = None
    for gamma in np.logspace(-2, 2, 60) * scale:
        basis = np.column_stack([np.ones_like(q), np.exp(-q / gamma)])
        (a, b), *_ = np.linalg.lstsq(basis, y, rcond=None)
        error = float(np.sum((basis @ [a, b] - y) ** 2))
        if best is None or error < best[0]:
            best = (error, a, b, gamma)
    _, a, b, gamma = best
    p0 = float(np.clip(a + b, 1e-6, 1.0 - 1e-9))
    s = float(np.clip(a / p0, 1e-9, 1.0 - 1e-9))

    def scaled(q, porosity_0, s, gamma_c):
        return compaction_model(q, porosity_0, s * porosity_0, gamma_c)

    import warnings

    from scipy.optimize import OptimizeWarning
    try:
        with warnings.catch_warnings():     # the covariance is not used (and with 3 points
            warnings.simplefilter("ignore", OptimizeWarning)     # for 3 parameters, none)
            (p0, s, gamma), _ = curve_fit(scaled, q, y, p0=[p0, s, gamma],
                                          bounds=([0.0, 0.0, 1e-12 * scale],
                                                  [1.0, 1.0, np.inf]),
                                          xtol=1e-15, ftol=1e-15, gtol=1e-15, max_nfev=20000)
    except (RuntimeError, ValueError) as exc:
        raise ValueError(f"the least-squares fit failed: {exc}") from None
    residual = y - scaled(q, p0, s, gamma)
    total = float(np.sum((y - y.mean()) ** 2))
    ss_res = float(np.sum(residual ** 2))
    r_squared = 1.0 - ss_res / total if total > 0 else (1.0 if ss_res == 0 else float("nan"))
    kind = fit_verdict(len(q), 3, y)["kind"]
    return {"porosity_0": float(p0), "porosity_min": float(p0 * s), "gamma_c": float(gamma),
            "kind": kind, "r_squared": r_squared if kind == "fit" else None}



def fit_rows(rows: list[dict], x_key: str, y_key: str) -> tuple[np.ndarray, np.ndarray]:
    """(q, porosity) of the complete points; KeyError naming a key no complete row has."""
    complete = [row for row in rows if row["status"] == "complete"]
    for name in (x_key, y_key):
        if complete and not all(name in row for row in complete):
            raise KeyError(name)
    return (np.array([row[x_key] for row in complete], dtype=float),
            np.array([row[y_key] for row in complete], dtype=float))


def plot_fit(q, porosity, fit: dict, x_label: str, y_key: str, path: Path):
    """The points and the model curve; the legend says whether it is a least-squares fit
    (with R^2) or an exact interpolation (3 points, 3 parameters: no R^2)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.4))
    curve = np.linspace(0.0, 1.05 * float(np.max(q)), 200)
    ax.plot(q, porosity, "o", label=f"runs ({len(q)})", zorder=3)
    values = (f"$\\varepsilon_0$={fit['porosity_0']:.4f}, "
              f"$\\varepsilon_{{min}}$={fit['porosity_min']:.4f}, "
              f"$\\gamma_c$={fit['gamma_c']:.4g} {fit.get('q_unit', '')}")
    if fit.get("kind") == "interpolation":
        label = f"exact interpolation, not a fit (no $R^2$):\n{values}"
    else:
        label = f"least-squares fit, $R^2$={fit['r_squared']:.4f}:\n{values}"
    ax.plot(curve, compaction_model(curve, fit["porosity_0"], fit["porosity_min"],
                                    fit["gamma_c"]),
            "-" if fit.get("kind") != "interpolation" else "--", label=label)
    ax.set_xlabel(x_label)
    ax.set_ylabel(f"{y_key} (-)")
    ax.set_title("compaction resistance (Meyer et al. 2017)"
                 + ("\n3 points for 3 parameters: the curve is not a fit"
                    if fit.get("kind") == "interpolation" else ""), fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def compaction_fit(rows: list[dict], x_key: str, y_key: str, unit: str):
    """The fit record of a sweep's complete rows: (record, q, porosity). The record has the
    parameters with kind 'fit' ('fitted': True, r_squared) or 'interpolation' ('fitted':
    False, r_squared None, 'note'), or 'fitted': False and the 'reason' there is no curve
    (too few points, no change in the data, a flat best curve; q and porosity None)."""
    fit = {"fitted": False, "model": MODEL, "source": SOURCE, "x": x_key, "y": y_key,
           "q_unit": unit}
    try:
        q, porosity = fit_rows(rows, x_key, y_key)
        if len(q) < 3:
            raise ValueError(f"only {len(q)} of {len(rows)} point(s) complete; the model has "
                             "3 parameters and needs at least 3")
        result = fit_compaction_resistance(q, porosity)
        fit.update(points=len(q), q=q.tolist(), porosity=porosity.tolist())
        if uniform_to_roundoff(compaction_model(q, result["porosity_0"],
                                                result["porosity_min"], result["gamma_c"])):
            trend = "rises" if porosity[np.argmax(q)] > porosity[np.argmin(q)] else "changes"
            raise ValueError(
                f"not fitted: the best curve of the model is flat (porosity_0 = porosity_min "
                f"= {result['porosity_min']:.4g}; it explains none of the change): "
                f"{y_key} {trend} with {x_key} "
                f"({porosity[np.argmin(q)]:.4g} to {porosity[np.argmax(q)]:.4g}) and the "
                "model can only fall with q; q must be a compaction load (pressure or line "
                "load, e.g. --fit peak_pressure_MPa," + y_key + "), not a thickness")
    except KeyError as exc:
        fit["reason"] = f"no summary entry or parameter named {exc.args[0]!r}"
        return fit, None, None
    except ValueError as exc:
        fit["reason"] = str(exc)
        return fit, None, None
    fit.update(result)
    fit.update(fitted=result["kind"] == "fit", gamma_c_unit=unit,
               note=fit_verdict(len(q), 3, porosity)["note"])
    return fit, q, porosity
