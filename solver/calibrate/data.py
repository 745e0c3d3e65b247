"""DATA.toml and its CSV files: what each test is, read and checked before anything runs.

A calibration input is one TOML file (units mm, N, MPa, s)::

    [calibration]
    name = "my_slurry"                 # name of the fitted card (and the report folder)
    description = "..."                # one line for the card
    source = "lab notebook 12, p. 4"   # where the data come from (goes into every source line)

    [model]                            # the card being fitted: library format
    base_card = "nmc_cathode"          # optional: start values and defaults (and their sources)
    [model.parameters]                 # optional: replaces/adds card parameters (library format)
    [model.sources]                    # optional: the source of a default given here

    [fit]
    parameters = ["cap_pressure_initial", "hardening_table.cap_pressure", ...]
    [fit.bounds]                       # optional, per key: [low, high] in card units
    "cap_eccentricity" = [0.1, 3.0]

    [[data]]                           # one table per data set
    name = "die_1"
    kind = "die" | "flat_press" | "failure" | "pairs"
    file = "die_1.csv"                 # relative to DATA.toml
    weight = 1.0                       # optional: multiplies the data set's squared residuals

CSV headers name the quantity and its unit in brackets, ``axial_stress [MPa]``.  Stresses and
pressures are magnitudes in compression (a die or press reading: positive).  Known units are
converted (kPa, GPa, Pa, N/mm^2; um, m; %), anything else is refused.  Columns per kind:

    die        relative_density [-] or porosity [-]; axial_stress [MPa]; radial_stress [MPa]
               (optional).  Rows in test order, loading and unloading segments as measured.
    flat_press pressure [MPa]; thickness [mm] (the coating alone, under load; rows in test
               order, the last row at pressure 0 is the released thickness).  The [[data]]
               table gives initial_thickness (mm) and may give foil_card, foil_thickness (mm).
    failure    relative_density [-]; test (diametral | uniaxial | triaxial); strength [MPa]
               (diametral: tensile splitting strength 2F/(pi D t); uniaxial: compressive
               strength; triaxial: axial stress at failure); confining_pressure [MPa] (triaxial)
    pairs      thickness_before [mm]; porosity_before [-]; thickness_after [mm];
               porosity_after [-]; pressure [MPa] (the peak press pressure)

Bad input raises ``CalibrationError`` naming the file and the column (the CLI: exit 2).
"""
from __future__ import annotations

import csv
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


class CalibrationError(ValueError):
    """DATA.toml or one of its CSV files cannot be used; the message names file and column."""


KINDS = ("die", "flat_press", "failure", "pairs")
#: unit -> (dimension, factor to the project's unit)
UNITS = {
    "MPa": ("stress", 1.0), "N/mm^2": ("stress", 1.0), "N/mm2": ("stress", 1.0),
    "kPa": ("stress", 1e-3), "Pa": ("stress", 1e-6), "GPa": ("stress", 1e3),
    "mm": ("length", 1.0), "um": ("length", 1e-3), "µm": ("length", 1e-3),
    "m": ("length", 1e3),
    "-": ("fraction", 1.0), "%": ("fraction", 0.01),
    "": ("text", 1.0),
}
#: column -> its dimension
DIMENSION = {
    "relative_density": "fraction", "porosity": "fraction", "axial_stress": "stress",
    "radial_stress": "stress", "pressure": "stress", "thickness": "length",
    "strength": "stress", "confining_pressure": "stress", "test": "text",
    "thickness_before": "length", "porosity_before": "fraction",
    "thickness_after": "length", "porosity_after": "fraction",
}
#: kind -> (required columns, alternatives: one of each group, optional columns)
COLUMNS = {
    "die": (("axial_stress",), (("relative_density", "porosity"),), ("radial_stress",)),
    "flat_press": (("pressure", "thickness"), (), ()),
    "failure": (("relative_density", "test", "strength"), (), ("confining_pressure",)),
    "pairs": (("thickness_before", "porosity_before", "thickness_after", "porosity_after",
               "pressure"), (), ()),
}
#: fewest rows a data set needs to say anything
MIN_ROWS = {"die": 5, "flat_press": 4, "failure": 2, "pairs": 1}
FAILURE_TESTS = ("diametral", "uniaxial", "triaxial")
_HEADER = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\[([^\]]*)\])?\s*$")


@dataclass
class DataSet:
    """One data set: its table (project units) and what the test was."""
    name: str
    kind: str
    file: Path
    columns: dict[str, np.ndarray]
    weight: float = 1.0
    options: dict = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return len(next(iter(self.columns.values())))


@dataclass
class CalibrationInput:
    path: Path
    name: str
    description: str
    source: str
    base_card: str | None
    parameters: dict
    sources: dict
    fit: list[str]
    bounds: dict
    data: list[DataSet]


def _header(path: Path, text: str) -> tuple[str, float, str]:
    """(column name, factor to project units, dimension) of one CSV header cell."""
    match = _HEADER.match(text)
    if not match:
        raise CalibrationError(f"{path}: column header '{text}': expected 'name [unit]', "
                               f"e.g. 'axial_stress [MPa]'")
    name, unit = match.group(1), (match.group(2) or "").strip()
    if name not in DIMENSION:
        return name, 1.0, "unknown"
    wanted = DIMENSION[name]
    if unit not in UNITS or UNITS[unit][0] != wanted:
        example = {"stress": "MPa", "length": "mm", "fraction": "-", "text": "no unit"}[wanted]
        raise CalibrationError(f"{path}: column '{text}': unit '{unit or 'none'}' is not a "
                               f"{wanted} unit (expected e.g. [{example}]; known: "
                               + ", ".join(u for u, (d, _) in UNITS.items() if d == wanted)
                               + ")")
    return name, UNITS[unit][1], wanted


def read_csv(path: Path) -> dict[str, np.ndarray]:
    """The columns of a CSV with 'name [unit]' headers, converted to mm, MPa and fractions."""
    try:
        with open(path, newline="") as stream:
            rows = [row for row in csv.reader(stream)
                    if row and not row[0].lstrip().startswith("#")]
    except OSError as exc:
        raise CalibrationError(f"{path}: cannot read the data file: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise CalibrationError(f"{path}: not a text (UTF-8) CSV file") from None
    if not rows:
        raise CalibrationError(f"{path}: no header row and no data")
    headers = [_header(path, cell) for cell in rows[0]]
    columns = {}
    for j, (name, factor, dimension) in enumerate(headers):
        values = []
        for i, row in enumerate(rows[1:], start=2):
            if j >= len(row) or not row[j].strip():
                raise CalibrationError(f"{path}: line {i}, column '{rows[0][j].strip()}': "
                                       "missing value")
            cell = row[j].strip()
            if dimension == "text":
                values.append(cell.lower())
                continue
            try:
                value = float(cell) * factor
            except ValueError:
                raise CalibrationError(f"{path}: line {i}, column '{rows[0][j].strip()}': "
                                       f"'{cell}' is not a number") from None
            if not math.isfinite(value):
                raise CalibrationError(f"{path}: line {i}, column '{rows[0][j].strip()}': "
                                       f"'{cell}' is not finite")
            values.append(value)
        columns[name] = np.array(values, dtype=object if dimension == "text" else float)
    return columns


def _check_columns(path: Path, kind: str, columns: dict):
    required, groups, optional = COLUMNS[kind]
    for name in required:
        if name not in columns:
            raise CalibrationError(f"{path}: missing column '{name} [{unit_hint(name)}]' "
                                   f"(a '{kind}' data set needs "
                                   f"{', '.join(required + tuple(' or '.join(g) for g in groups))})")
    for group in groups:
        if not any(name in columns for name in group):
            raise CalibrationError(f"{path}: missing column: give one of "
                                   + " or ".join(f"'{n} [{unit_hint(n)}]'" for n in group)
                                   + f" (a '{kind}' data set)")
    known = set(required) | {n for g in groups for n in g} | set(optional)
    for name in columns:
        if name not in known:
            raise CalibrationError(f"{path}: column '{name}' is not used by a '{kind}' data "
                                   f"set (expected {', '.join(sorted(known))})")


def unit_hint(name: str) -> str:
    return {"stress": "MPa", "length": "mm", "fraction": "-", "text": ""}[DIMENSION[name]]


def _check_range(path, name, values, low, high, hint=""):
    bad = np.flatnonzero((values < low) | (values > high))
    if bad.size:
        raise CalibrationError(f"{path}: column '{name}', line {bad[0] + 2}: {values[bad[0]]:g} "
                               f"outside [{low:g}, {high:g}]{hint}")


#: a stress step against the density step smaller than this (relative) is taken as noise
MONOTONE_TOLERANCE = 0.03


def _check_monotone(path, stress_name, stress, density_name, density, sign=1.0):
    """Under uniaxial compression density and stress rise and fall together: a row where the
    stress goes up by more than MONOTONE_TOLERANCE of its level and the density down (or the
    reverse) is a data error (rows out of order, a wrong column)."""
    d_stress, d_density = np.diff(stress), sign * np.diff(density)
    level = np.maximum(np.abs(stress[1:]), np.abs(stress[:-1]))
    bad = np.flatnonzero((d_stress * d_density < 0.0)
                         & (np.abs(d_stress) > MONOTONE_TOLERANCE * level))
    if bad.size:
        i = bad[0] + 1
        raise CalibrationError(
            f"{path}: column '{density_name}' is not monotone with '{stress_name}' at line "
            f"{i + 2}: {stress_name} {stress[i - 1]:g} -> {stress[i]:g} MPa while "
            f"{density_name} {density[i - 1]:g} -> {density[i]:g} (under uniaxial compression "
            "they rise and fall together)")


def _check_die(path, columns):
    key = "relative_density" if "relative_density" in columns else "porosity"
    _check_range(path, key, columns[key], 0.0, 1.0,
                 " (a fraction: write [%] for per cent)")
    if key == "porosity":
        columns["relative_density"] = 1.0 - columns.pop("porosity")
    for name in ("axial_stress", "radial_stress"):
        if name in columns:      # a load cell at zero may read slightly negative: 1 % of peak
            _check_range(path, name, columns[name], -0.01 * float(np.max(columns[name])),
                         1e5, " (compression-positive magnitude, MPa)")
    _check_monotone(path, "axial_stress", columns["axial_stress"], key,
                    columns["relative_density"])


def _check_flat_press(path, columns, options):
    _check_range(path, "pressure", columns["pressure"], 0.0, 1e5,
                 " (compression-positive magnitude, MPa)")
    h0 = options.get("initial_thickness")
    if not isinstance(h0, (int, float)) or not h0 > 0:
        raise CalibrationError(f"{path}: the [[data]] table of a flat_press data set needs "
                               f"initial_thickness (mm, > 0), got {h0!r}")
    _check_range(path, "thickness", columns["thickness"], 1e-9, float(h0),
                 f" (thickness of the coating in mm, at most initial_thickness {h0:g} mm; "
                 "um? write [um])")
    _check_monotone(path, "pressure", columns["pressure"], "thickness", columns["thickness"],
                    sign=-1.0)


def _check_failure(path, columns):
    _check_range(path, "relative_density", columns["relative_density"], 0.0, 1.0)
    tests = columns["test"]
    for i, test in enumerate(tests):
        if test not in FAILURE_TESTS:
            raise CalibrationError(f"{path}: column 'test', line {i + 2}: '{test}': expected "
                                   f"{', '.join(FAILURE_TESTS)}")
        if test == "triaxial" and "confining_pressure" not in columns:
            raise CalibrationError(f"{path}: missing column 'confining_pressure [MPa]' "
                                   f"(line {i + 2} is a triaxial test)")
    _check_range(path, "strength", columns["strength"], 1e-12, 1e5)


def _check_pairs(path, columns):
    for name in ("porosity_before", "porosity_after"):
        _check_range(path, name, columns[name], 0.0, 0.999,
                     " (a fraction: write [%] for per cent)")
    bad = np.flatnonzero(columns["porosity_after"] > columns["porosity_before"])
    if bad.size:
        raise CalibrationError(f"{path}: column 'porosity_after', line {bad[0] + 2}: higher "
                               "than porosity_before (calendering compacts)")


def load_dataset(base: Path, index: int, table: dict) -> DataSet:
    where = f"{base.name}: [[data]] {index + 1}"
    if not isinstance(table, dict):
        raise CalibrationError(f"{where}: expected a table")
    kind = table.get("kind")
    if kind not in KINDS:
        raise CalibrationError(f"{where}: kind = {kind!r}: expected one of {', '.join(KINDS)}")
    if not isinstance(table.get("file"), str):
        raise CalibrationError(f"{where}: file = {table.get('file')!r}: give the CSV file")
    path = (base.parent / table["file"]).resolve()
    name = str(table.get("name", path.stem))
    weight = table.get("weight", 1.0)
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not weight > 0:
        raise CalibrationError(f"{where}: weight = {weight!r}: expected a number > 0")
    columns = read_csv(path)
    _check_columns(path, kind, columns)
    rows = len(next(iter(columns.values()))) if columns else 0
    if rows < MIN_ROWS[kind]:
        raise CalibrationError(f"{path}: {rows} data row(s): a '{kind}' data set needs at "
                               f"least {MIN_ROWS[kind]} (too few points)")
    options = {k: v for k, v in table.items() if k not in ("kind", "file", "name", "weight")}
    {"die": lambda: _check_die(path, columns),
     "flat_press": lambda: _check_flat_press(path, columns, options),
     "failure": lambda: _check_failure(path, columns),
     "pairs": lambda: _check_pairs(path, columns)}[kind]()
    return DataSet(name, kind, path, columns, float(weight), options)


def load_input(path: str | Path) -> CalibrationInput:
    """Read and check DATA.toml and every CSV it names (CalibrationError on any problem)."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except OSError as exc:
        raise CalibrationError(f"cannot read '{path}': {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CalibrationError(f"'{path}' is not valid TOML: {exc}") from None
    for key in data:
        if key not in ("calibration", "model", "fit", "data"):
            raise CalibrationError(f"{path}: unknown table [{key}] (expected [calibration], "
                                   "[model], [fit], [[data]])")
    head, model, fit = (data.get(k, {}) for k in ("calibration", "model", "fit"))
    if not isinstance(head.get("name"), str) or not re.fullmatch(r"[A-Za-z0-9_.-]+",
                                                                 head.get("name", "")):
        raise CalibrationError(f"{path}: [calibration] name must be a file-name-safe string")
    if not isinstance(fit.get("parameters"), list) or not fit["parameters"]:
        raise CalibrationError(f"{path}: [fit] parameters must list the card keys to fit")
    if not isinstance(data.get("data"), list) or not data["data"]:
        raise CalibrationError(f"{path}: no [[data]] tables: nothing to fit")
    datasets = [load_dataset(path, i, t) for i, t in enumerate(data["data"])]
    names = [d.name for d in datasets]
    if len(set(names)) != len(names):
        raise CalibrationError(f"{path}: [[data]] names must be unique, got {names}")
    return CalibrationInput(
        path=path, name=head["name"], description=str(head.get("description", head["name"])),
        source=str(head.get("source", path.name)), base_card=model.get("base_card"),
        parameters=dict(model.get("parameters", {})), sources=dict(model.get("sources", {})),
        fit=[str(k) for k in fit["parameters"]], bounds=dict(fit.get("bounds", {})),
        data=datasets)
