"""The tables of a results folder: history.csv (and its kind) and summary.json."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np


def table_cell(value) -> str:
    """How a history table writes a value: floats with 9 significant digits, a sequence (a
    step's Newton residuals) as space-separated 3-digit exponents, anything else as it is."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return " ".join(f"{float(v):.3e}" for v in value)
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.9g}"
    return str(value)


def write_table(path: Path, header: list[str], rows):
    """A CSV table (history.csv and its kind): `header` names every column with its unit,
    each row is a list of values formatted by `table_cell`. Rank 0 calls it."""
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows:
            writer.writerow([table_cell(value) for value in row])


#: the flat press's history.csv: (StepRecord field, column with its unit)
FLAT_PRESS_HISTORY = [
    ("step", "step"), ("phase", "phase"), ("time", "time_s"),
    ("platen_position", "platen_position_mm"), ("top_thickness", "top_thickness_mm"),
    ("stack_thickness", "stack_thickness_mm"), ("mean_porosity", "mean_porosity"),
    ("platen_force", "platen_force_N_or_N_per_mm"), ("pressure", "pressure_MPa"),
    ("newton_iterations", "newton_iterations"), ("newton_solves", "newton_solves"),
    ("residuals", "relative_residuals"), ("max_penetration", "max_penetration_mm")]


def write_history(records, path: Path):
    """The flat press's history.csv, one row per step."""
    write_table(path, [column for _, column in FLAT_PRESS_HISTORY],
                ([getattr(r, name) for name, _ in FLAT_PRESS_HISTORY] for r in records))


def write_summary(summary: dict, path: Path):
    path.write_text(json.dumps(summary, indent=2, default=float) + "\n")
