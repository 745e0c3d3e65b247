"""`nipstack calibrate DATA.toml`: a DPC card fitted to a user's own compaction data.

The data (``data.py``: die compaction, flat-press thickness-pressure curves, strength tests,
thickness/porosity pairs) are fitted by weighted least squares (``fit.py``) through the
project's material-point driver (``model.py``); coating-on-foil curves are then checked with a
real FE flat press (``check.py``); ``report.py`` writes the card and the evidence into an
atomic results folder (``results_folder.ResultsFolder``).
"""
from __future__ import annotations

import copy
import time
from pathlib import Path

import numpy as np

from .data import CalibrationError, load_input
from .fit import DESIGN_LIMIT, IDENTIFIABLE, fit
from .model import evaluate, fit_entries, measured, residual_scale, residuals, start_card

__all__ = ["CalibrationError", "calibrate", "run_fit"]


def _parameters_with(card: dict, values: dict, entries) -> dict:
    parameters = copy.deepcopy(card["parameters"])
    for e in entries:
        if e.key in values:
            e.set(parameters, values[e.key])
    return parameters


def run_fit(inp, log=print) -> dict:
    """Fit the card of a CalibrationInput; returns the start card, the fitted [parameters],
    the FitResult, the predictions and measured values per data set, R^2 and sensitivities."""
    card = start_card(inp)
    entries = fit_entries(inp, card["parameters"])
    targets = [measured(ds) for ds in inp.data]

    def residual_of(values, coarse=False):
        predictions = evaluate(_parameters_with(card, values, entries), inp.data, inp.path)
        return np.concatenate([residuals(p, t, ds, coarse)
                               for p, t, ds in zip(predictions, targets, inp.data)])

    started = time.perf_counter()
    log(f"calibrate {inp.name}: {len(entries)} unknowns, "
        f"{sum(ds.rows for ds in inp.data)} data rows in {len(inp.data)} data set(s)")
    result = fit(entries, residual_of, log=log)
    values = {e.key: v for e, v in zip(entries, result.values)}
    parameters = _parameters_with(card, values, entries)
    predictions = evaluate(parameters, inp.data, inp.path)
    sizes = [residuals(p, t, ds).size for p, t, ds in zip(predictions, targets, inp.data)]
    sensitive = _sensitivity(result, sizes)
    stats = _statistics(inp, predictions, targets, sensitive)
    log(f"  fit: {result.evaluations} model evaluations, {time.perf_counter() - started:.1f} s, "
        f"{result.message}")
    return {"card": card, "entries": entries, "result": result, "parameters": parameters,
            "predictions": predictions, "targets": targets, "sensitive": sensitive,
            "statistics": stats, "wall_time_s": time.perf_counter() - started}


def _sensitivity(result, sizes) -> np.ndarray:
    """sensitive[k, i]: data set k's residuals depend on free entry i (|column| > 1e-8 of the
    entry's whole column)."""
    free = np.flatnonzero(result.free)
    out = np.zeros((len(sizes), len(result.entries)), bool)
    if free.size == 0:
        return out
    edges = np.cumsum([0] + sizes)
    total = np.linalg.norm(result.jac, axis=0)
    for k in range(len(sizes)):
        block = np.linalg.norm(result.jac[edges[k]:edges[k + 1]], axis=0)
        out[k, free] = block > 1e-8 * np.maximum(total, 1e-300)
    return out


def _statistics(inp, predictions, targets, sensitive) -> list[dict]:
    """Per data set and column: points, parameters it informs, R^2 (fit_verdict decides if an
    R^2 means anything), largest relative residual."""
    from ..output import fit_verdict
    from .report import r_squared

    out = []
    for k, (ds, prediction, target) in enumerate(zip(inp.data, predictions, targets)):
        n_par = int(sensitive[k].sum())
        for key, data in target.items():
            verdict = fit_verdict(len(data), n_par, data)
            r2 = r_squared(prediction[key], data) if verdict["fitted"] else None
            worst = float(np.max(np.abs(prediction[key] - data)
                                 / residual_scale(ds, key, data)))
            out.append({"data_set": ds.name, "file": ds.file.name, "kind": ds.kind,
                        "column": key, "points": len(data), "parameters_informed": n_par,
                        "r_squared": r2, "verdict": verdict["note"] + _mass_note(ds),
                        "max_relative_residual": worst})
    return out


def _mass_note(ds) -> str:
    """Before/after pairs: solid thickness h (1 - porosity) before and after (equal if the
    layer kept its area and mass); a mismatch means thickness and porosity residuals cannot
    both vanish."""
    if ds.kind != "pairs":
        return ""
    c = ds.columns
    before = c["thickness_before"] * (1.0 - c["porosity_before"])
    after = c["thickness_after"] * (1.0 - c["porosity_after"])
    worst = float(np.max(np.abs(after / before - 1.0)))
    return (f"; solid thickness h(1-porosity) after/before differs by up to {100 * worst:.2f} % "
            "(mass balance of the data)")


def _status(result) -> list[str]:
    out = []
    for i, e in enumerate(result.entries):
        if result.free[i]:
            out.append("fitted")
        else:
            out.append(f"not determined (sd > {IDENTIFIABLE:.0%} or sd at 1 % noise > "
                       f"{DESIGN_LIMIT:.0%}): start value kept")
    return out


def _source_lines(inp, fitted: dict) -> dict:
    """One source line per card key: fitted entries say what they were fitted to, with R^2,
    their value and sd; undetermined ones say so and keep the stated default's source."""
    card, result = fitted["card"], fitted["result"]

    def r2(names):
        return "; ".join(f"{s['data_set']}.{s['column']} R^2 "
                         + (f"{s['r_squared']:.5f}" if s["r_squared"] is not None else "n/a")
                         for s in fitted["statistics"] if s["data_set"] in names)

    sources = dict(card["sources"])
    by_key: dict[str, list[int]] = {}
    for i, e in enumerate(result.entries):
        by_key.setdefault(e.card_key, []).append(i)
    for key, indices in by_key.items():
        fit_part = [i for i in indices if result.free[i]]
        held = [i for i in indices if not result.free[i]]
        parts = []
        if fit_part:
            values = ", ".join(f"{result.entries[i].key.split('.')[-1]} = "
                               f"{result.values[i]:.5g} +- {result.sd[i]:.2g}" for i in fit_part)
            used = sorted({inp.data[k].name for k in range(len(inp.data))
                           if fitted["sensitive"][k, fit_part].any()})
            parts.append(f"fitted by nipstack calibrate to {inp.path.name} (data set(s) "
                         f"{', '.join(used)}; {r2(used)}): {values} (1 sd); data: "
                         f"{inp.source}")
        if held:
            parts.append("NOT DETERMINED by the data, start value kept for "
                         + ", ".join(result.entries[i].key for i in held)
                         + f"; that value's source: {card['sources'].get(key, 'not given')}")
        sources[key] = " | ".join(parts)
    return sources


def _write_report(inp, fitted: dict, folder: Path, checks: dict) -> dict:
    from . import report

    result = fitted["result"]
    card = {"material": fitted["card"]["material"], "parameters": fitted["parameters"],
            "sources": _source_lines(inp, fitted)}
    card_file = folder / f"{inp.name}.toml"
    report.write_card(card_file, card, [
        f"{inp.description}",
        f"Fitted by `nipstack calibrate {inp.path.name}`; data: {inp.source}.",
        "Every [sources] line says which values were fitted (with their sd) and which the "
        "data did not determine (start values kept). See fit_table.csv and report.md."])
    status = _status(result)
    report.fit_table(folder / "fit_table.csv", result, status)
    report.correlation_table(folder / "correlation.csv", result)
    for k, ds in enumerate(inp.data):
        prediction, target = fitted["predictions"][k], fitted["targets"][k]
        r2 = {s["column"]: s["r_squared"] for s in fitted["statistics"]
              if s["data_set"] == ds.name}
        check = checks.get(ds.name)
        extra = {"fe_flat_press_thickness [mm]": check["thickness"]} if check else None
        report.data_table(folder / f"data_{ds.name}.csv", ds, prediction, target, extra)
        curves = ({"FE flat press, fitted card": (ds.columns["pressure"], check["thickness"])}
                  if check else None)
        report.plot_dataset(folder, ds, prediction, target, r2, curves)
    summary = {"name": inp.name, "data_file": str(inp.path), "card": card_file.name,
               "entries": [{"parameter": e.key, "start": e.start, "value": result.values[i],
                            "sd": result.sd[i], "sd_at_1pct_noise": result.sd_design[i],
                            "bounds": [e.low, e.high], "status": status[i]}
                           for i, e in enumerate(result.entries)],
               "correlation": result.correlation,
               "data_sets": fitted["statistics"], "flat_press_checks": checks,
               "model_evaluations": result.evaluations, "fit_wall_time_s":
                   fitted["wall_time_s"], "optimizer": result.message}
    report.write_json(folder / "fit.json", summary)
    (folder / "report.md").write_text(_markdown(summary))
    return summary


def _markdown(summary: dict) -> str:
    lines = [f"# Calibration {summary['name']}", "", f"Data: `{summary['data_file']}`; card: "
             f"`{summary['card']}`; {summary['model_evaluations']} model evaluations.", "",
             "| parameter | start | value | sd | sd at 1 % noise | status |", "|---|---|---|---|---|---|"]
    for e in summary["entries"]:
        lines.append(f"| {e['parameter']} | {e['start']:.5g} | {e['value']:.6g} | "
                     f"{e['sd']:.2g} | {e['sd_at_1pct_noise']:.2g} | {e['status']} |")
    lines += ["", "| data set | column | points | R^2 | max rel. residual | verdict |",
              "|---|---|---|---|---|---|"]
    for s in summary["data_sets"]:
        r2 = f"{s['r_squared']:.6f}" if s["r_squared"] is not None else "-"
        lines.append(f"| {s['data_set']} | {s['column']} | {s['points']} | {r2} | "
                     f"{100 * s['max_relative_residual']:.3g} % | {s['verdict']} |")
    for name, check in summary["flat_press_checks"].items():
        lines += ["", f"FE flat press with the fitted card, data set {name}: largest thickness "
                      f"error {100 * check['max_error_vs_data']:.3g} % of the measured "
                      f"thickness; FE vs point driver {100 * check['max_fe_vs_point']:.3g} %; "
                      f"{check['wall_time_s']:.1f} s."]
    return "\n".join(lines) + "\n"


def _flat_press_checks(inp, fitted, folder: Path, comm, log) -> dict:
    from .check import flat_press_check
    from . import report

    checks = {}
    card_file = folder / f"{inp.name}.toml"
    report.write_card(card_file, {"material": fitted["card"]["material"],
                                  "parameters": fitted["parameters"],
                                  "sources": _source_lines(inp, fitted)}, [])
    for k, ds in enumerate(inp.data):
        if ds.kind != "flat_press":
            continue
        out = flat_press_check(card_file, ds, folder, comm, log)
        data = ds.columns["thickness"]
        point = fitted["predictions"][k]["thickness"]
        out["max_error_vs_data"] = float(np.max(np.abs(out["thickness"] - data) / data))
        out["max_fe_vs_point"] = float(np.max(np.abs(out["thickness"] - point) / point))
        log(f"  FE flat press vs data: largest thickness error "
            f"{100 * out['max_error_vs_data']:.3f} %, FE vs point driver "
            f"{100 * out['max_fe_vs_point']:.3f} %")
        checks[ds.name] = out
    return checks


def calibrate(data_file, out=None, comm=None, overwrite: bool = False, check: bool = True,
              log=print) -> dict:
    """`nipstack calibrate`: read and check DATA.toml (CalibrationError), fit, write the report
    folder atomically (results_folder.ResultsFolder; OutputError if it may not be written).
    Returns the summary (fit.json) with the folder in 'folder'."""
    from ..results_folder import ResultsFolder

    if comm is None:
        import dolfinx_solver  # noqa: F401
        from mpi4py import MPI
        comm = MPI.COMM_WORLD
    inp = load_input(data_file)
    out = Path(out or f"results/calibrate_{inp.name}")
    folder = ResultsFolder(out, comm, overwrite=overwrite, case_name=f"calibrate_{inp.name}")
    try:
        # every rank fits (deterministic, seconds): no rank waits on another's exception
        fitted = run_fit(inp, log if comm.rank == 0 else (lambda message: None))
        checks = _flat_press_checks(inp, fitted, folder.path, comm, log) if check else {}
        summary = _write_report(inp, fitted, folder.path, checks) if comm.rank == 0 else None
    except BaseException:
        folder.discard()
        raise
    where = folder.complete()
    summary = comm.bcast(summary, root=0)
    summary["folder"] = str(where)
    log(f"wrote {where}/{inp.name}.toml, fit_table.csv, report.md and the plots")
    return summary
