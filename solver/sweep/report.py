"""What a sweep writes (rank 0): sweep.csv, the compaction fit (compaction_fit.json and
.png), the threshold crossings, sweep.json and, if some point stopped, INCOMPLETE."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from .compaction import DEFAULT_Y_KEYS, compaction_fit, plot_fit
from .points import quantity_unit


def threshold_crossing(rows: list[dict], key: str, y_key: str, level: float) -> dict:
    """Where the summary entry `y_key` first reaches `level` as `key` rises (`key`: the swept
    parameter or a numeric summary entry, e.g. the measured line load): the complete points
    are taken in increasing `key`; between the first point at or above the level and the
    point before it, `key` is interpolated linearly in y_key.
    Returns {y, level, x, value (None if the level is not bracketed), bracket, monotonic
    (y_key never falls from one point to the next), points, reason}."""
    complete = sorted((row for row in rows if row.get("status") == "complete"
                       and isinstance(row.get(y_key), (int, float))
                       and isinstance(row.get(key), (int, float))),
                      key=lambda row: row[key])
    xs = [float(row[key]) for row in complete]
    ys = [float(row[y_key]) for row in complete]
    out = {"y": y_key, "level": level, "x": key, "value": None, "bracket": None,
           "monotonic": all(b >= a for a, b in zip(ys, ys[1:])) if len(ys) > 1 else None,
           "points": [[x, y] for x, y in zip(xs, ys)], "reason": None}
    if not complete:
        out["reason"] = f"no complete point has numeric {y_key!r} and {key!r}"
        return out
    for k, (x, y) in enumerate(zip(xs, ys)):
        if y >= level:
            if k == 0:
                out["reason"] = (f"{y_key} = {y:.6g} >= {level:g} already at the first point "
                                 f"({key} = {x:g}): lower the smallest value")
                return out
            x0, y0 = xs[k - 1], ys[k - 1]
            out["value"] = x0 + (x - x0) * (level - y0) / (y - y0)
            out["bracket"] = [x0, x]
            return out
    out["reason"] = (f"{y_key} stays below {level:g} (largest {max(ys):.6g} at {key} = "
                     f"{xs[int(np.argmax(ys))]:g}): raise the largest value")
    return out



def write_table(rows: list[dict], key: str, path: Path):
    columns = ["index", key, "status", "exit_code"]
    for row in rows:
        columns += [name for name in row if name not in columns and name not in ("folder",
                                                                                "reason")]
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([f"{row[c]:.12g}" if isinstance(row.get(c), float) else row.get(c, "")
                             for c in columns])



def write_fit(fit: dict, q, porosity, folder: Path, log=print):
    """compaction_fit.json and .png of a fit record with a curve, and its line in the log."""
    x_key, y_key, unit = fit["x"], fit["y"], fit["q_unit"]
    (folder / "compaction_fit.json").write_text(json.dumps(fit, indent=2) + "\n")
    plot_fit(q, porosity, fit, f"{x_key} ({unit})", y_key, folder / "compaction_fit.png")
    values = (f"porosity_0 = {fit['porosity_0']:.4f}, porosity_min = "
              f"{fit['porosity_min']:.4f}, gamma_c = {fit['gamma_c']:.4g} {unit}")
    if fit["fitted"]:
        log(f"compaction fit ({y_key} against {x_key}, {len(q)} points): {values}, "
            f"R^2 = {fit['r_squared']:.5f}")
    else:
        log(f"compaction curve ({y_key} against {x_key}): {fit['note']}: {values}")


def write_results(rows: list[dict], case_path, key: str, values: list[float],
                  overrides: list[str], ranks_per_run: int, fit_keys, case, folder: Path,
                  log=print, thresholds=()) -> dict:
    """sweep.csv, the fit (json + png when possible), sweep.json (with the threshold
    crossings of `thresholds`, (y_key, level, x_key or None) triples), INCOMPLETE (rank 0 only).
    Returns the fit record (compaction.compaction_fit)."""
    write_table(rows, key, folder / "sweep.csv")
    x_key, y_key = fit_keys
    x_key = x_key or key
    complete = [row for row in rows if row["status"] == "complete"]
    if y_key is None:
        y_key = next((name for name in DEFAULT_Y_KEYS if complete and name in complete[0]),
                     DEFAULT_Y_KEYS[-1])
    fit, q, porosity = compaction_fit(rows, x_key, y_key, quantity_unit(x_key, case))
    if q is not None:       # a fit, or an exact interpolation (3 points): written
        write_fit(fit, q, porosity, folder, log)
    else:
        log(f"no compaction fit: {fit['reason'].removeprefix('not fitted: ')}")
    crossings = [threshold_crossing(rows, x or key, y, level) for y, level, x in thresholds]
    for crossing in crossings:
        unit = quantity_unit(crossing["x"], case)
        trend = {True: "rises monotonically", False: "does NOT rise monotonically",
                 None: "one point"}[crossing["monotonic"]]
        if crossing["value"] is not None:
            log(f"threshold: {crossing['y']} reaches {crossing['level']:g} at {crossing['x']} = "
                f"{crossing['value']:.6g} {unit} (between {crossing['bracket'][0]:g} and "
                f"{crossing['bracket'][1]:g}; {trend})")
        else:
            log(f"threshold: {crossing['y']} = {crossing['level']:g} not bracketed: "
                f"{crossing['reason']} ({trend})")
    record = {"case": str(case_path), "parameter": key, "values": values,
              "overrides": overrides, "ranks_per_run": ranks_per_run, "points": rows, "fit": fit,
              "thresholds": crossings}
    (folder / "sweep.json").write_text(json.dumps(record, indent=2, default=float) + "\n")
    stopped = [row for row in rows if row["status"] != "complete"]
    if stopped:
        (folder / "INCOMPLETE").write_text("".join(
            f"{row['folder']}: {row.get('reason', 'stopped early')}\n" for row in stopped))
    return fit
