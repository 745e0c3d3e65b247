"""The report folder of a calibration: the card, the fit table, the data with the model.

    <name>.toml            the fitted card in the library format ([material], [parameters],
                           [sources]; every value's source line says how it was obtained)
    fit_table.csv          one row per fitted entry: start, value, sd (from the residuals),
                           sd at 1 % noise (identifiability), bounds, status
    correlation.csv        correlation matrix of the fitted entries
    fit.json               all of the above plus R^2 per data set and column, warnings
    data_<set>.csv         the data, the model at each row, the relative residual
    fit_<set>.png          the data with the model's curve;  residuals_<set>.png
    report.md              the summary a person reads first
"""
from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np

UNIT = {"axial_stress": "MPa", "radial_stress": "MPa", "thickness": "mm", "q": "MPa",
        "thickness_after": "mm", "porosity_after": "-"}


def r_squared(model, data) -> float | None:
    total = float(np.sum((data - data.mean()) ** 2))
    return 1.0 - float(np.sum((model - data) ** 2)) / total if total > 0 else None


def write_card(path: Path, card: dict, header: list[str]):
    import tomli_w

    text = "".join(f"# {line}\n" for line in header) + "\n"
    body = {"material": card["material"], "parameters": card["parameters"],
            "sources": {k: card["sources"][k] for k in card["parameters"]}}
    path.write_text(text + tomli_w.dumps(_plain(body)))


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return float(f"{float(value):.6g}")
    return value


def fit_table(path: Path, result, status: list[str]):
    with open(path, "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["parameter", "start", "value", "sd", "sd_at_1pct_noise", "low", "high",
                         "status"])
        for i, e in enumerate(result.entries):
            writer.writerow([e.key, f"{e.start:.6g}", f"{result.values[i]:.8g}",
                             f"{result.sd[i]:.3g}", f"{result.sd_design[i]:.3g}", e.low, e.high,
                             status[i]])


def correlation_table(path: Path, result):
    keys = [e.key for e, free in zip(result.entries, result.free) if free]
    with open(path, "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow([""] + keys)
        for key, row in zip(keys, result.correlation):
            writer.writerow([key] + [f"{v:.4f}" for v in row])


def data_table(path: Path, ds, prediction: dict, measured: dict, extra: dict | None = None):
    from .data import unit_hint

    columns = {f"{k} [{unit_hint(k)}]".replace(" []", ""): ds.columns[k] for k in ds.columns}
    for key in measured:
        columns[f"model_{key} [{UNIT[key]}]"] = prediction[key]
        columns[f"residual_{key} [%]"] = 100.0 * (prediction[key] - measured[key]) \
            / np.maximum(np.abs(measured[key]), 1e-12)
    for key, values in (extra or {}).items():
        columns[key] = values
    with open(path, "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(list(columns))
        for i in range(ds.rows):
            writer.writerow([v[i] if isinstance(v[i], str) else f"{float(v[i]):.8g}"
                             for v in columns.values()])


def _x_axis(ds):
    c = ds.columns
    if ds.kind == "die":
        return c["relative_density"], "relative density [-]"
    if ds.kind == "flat_press":
        return c["pressure"], "pressure [MPa]"
    if ds.kind == "failure":
        from .model import failure_points
        return failure_points(c)[0], "p at failure [MPa]"
    return np.arange(ds.rows), "row"


def plot_dataset(folder: Path, ds, prediction: dict, measured: dict, r2: dict,
                 extra_curves: dict | None = None):
    """fit_<set>.png (data as markers, model as a line through the rows in test order) and
    residuals_<set>.png (relative residual in per cent)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x, label = _x_axis(ds)
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for key in measured:
        text = f"R² {r2[key]:.5f}" if r2.get(key) is not None else "no R²"
        points = ax.plot(x, measured[key], "o", ms=4, mfc="none", label=f"{key} data")[0]
        line = "-" if ds.kind in ("die", "flat_press") else "x"
        ax.plot(x, prediction[key], line, color=points.get_color(),
                label=f"{key} model (point driver), {text}")
    for name, (xs, ys) in (extra_curves or {}).items():
        ax.plot(xs, ys, "s", ms=5, mfc="none", color="k", label=name)
    ax.set_xlabel(label)
    ax.set_ylabel(", ".join(f"{k} [{UNIT[k]}]" for k in measured))
    ax.set_title(f"{ds.name} ({ds.kind}, {ds.file.name})")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(folder / f"fit_{ds.name}.png", dpi=110)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    for key in measured:
        ax.plot(x, 100.0 * (prediction[key] - measured[key])
                / np.maximum(np.abs(measured[key]), 1e-12), "o", ms=4, label=key)
    ax.axhline(0.0, color="k", lw=0.8)
    ax.set_xlabel(label)
    ax.set_ylabel("(model - data)/data [%]")
    ax.set_title(f"residuals: {ds.name}")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(folder / f"residuals_{ds.name}.png", dpi=110)
    plt.close(fig)


def write_json(path: Path, data: dict):
    def default(value):
        if isinstance(value, (np.floating, np.integer)):
            return value.item()
        if isinstance(value, np.ndarray):
            return value.tolist()
        return str(value)

    def clean(value):
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    path.write_text(json.dumps(clean(json.loads(json.dumps(data, default=default))),
                               indent=2) + "\n")
