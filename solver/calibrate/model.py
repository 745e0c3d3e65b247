r"""The card being fitted, its free parameters, and what it predicts for each kind of test.

Every prediction runs the project's own code: the material-point driver of ``point.py``
(its `MaterialPoint`, the same Newton on stress components and the same compiled DPC update that a
mesh calls), so the fitted card reproduces the data through the code that will use it.

Tests and what the model computes (stresses compression-positive, as a die or press reads):

* **die** (instrumented die, uniaxial strain): each row's relative density RD fixes the axial
  log strain, the lateral ones are zero (rigid die wall):

      eps_zz = ln(RD0 / RD),   RD0 = 1 - initial_porosity,   eps_xx = eps_yy = 0

  and the model gives sigma_zz (axial) and sigma_xx (radial) at that strain, loading and
  unloading segments in the order measured.  Residuals (sigma_model - sigma)/max(sigma, 2 %
  of the data set's peak).
* **flat_press** (a wide coating on its foil, pressed between flat platens): away from the
  edges the coating is in uniaxial strain, so the point driver holds eps_xx = 0 and drives the
  axial Cauchy stress to -p row by row; thickness h = h0 exp(eps_zz).  Residual (h_model - h)/h.
  (`flat_press_check` verifies the fitted card with a real FE flat press of coating on foil.)
* **failure** (diametral, uniaxial or triaxial strength at a density): each test is one
  failure point (p, q) on the shear line q = d(RD) + p tan(beta(RD)):

      diametral (Brazilian disc centre, plane stress sigma_1 = s_t, sigma_2 = -3 s_t):
                  p = 2 s_t / 3,  q = sqrt(13) s_t
      uniaxial:   p = s_c / 3,    q = s_c
      triaxial:   p = (s_a + 2 s_r) / 3,  q = s_a - s_r

  (Procopio, Zavaliangos & Cunningham 2003, J. Mater. Sci. 38, 3629; Han et al. 2008, Powder
  Technol. 188, 183).  Residual (q_model - q)/q with d, beta of the card's law at RD.
* **pairs** (thickness and porosity before and after a press to a stated pressure): the
  point driver loads to the pressure and unloads to 0 from porosity_before; residuals on the
  thickness and porosity after.
"""
from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass

import numpy as np

from ..materials.cards import PARAMETERS, TABLES, CardError, card_path, parse_card
from ..materials.errors import MaterialPointError
from ..point import AXIAL, MaterialPoint
from .data import CalibrationError, CalibrationInput, DataSet

#: card keys that are fitted in log space (positive moduli, pressures, R, exponents)
_LINEAR = {"friction_angle", "poisson_ratio", "initial_porosity", "transition_alpha",
           "compaction_strain", "relative_density"}
_ENTRY = re.compile(r"^([A-Za-z_]+)(?:\.([a-z_]+))?(?:\[(\d+)\])?$")
_STRAIN_STEP = 0.01          # largest axial log-strain increment of one driver step (-)
_PRESSURE_STEPS = 40         # a flat-press path from 0 to the peak in at least this many steps


@dataclass
class Entry:
    """One fitted number: a scalar of [parameters] or one row of a table column."""
    key: str                 # as written in the report: 'cap_eccentricity', 'x_table.col[3]'
    card_key: str            # the [parameters] key (the table's name for a table entry)
    column: str | None
    index: int | None
    start: float
    low: float
    high: float
    log: bool

    def get(self, parameters: dict) -> float:
        if self.column is None:
            return float(parameters[self.card_key])
        return float(parameters[self.card_key][self.column][self.index])

    def set(self, parameters: dict, value: float):
        if self.column is None:
            parameters[self.card_key] = float(value)
        else:
            parameters[self.card_key][self.column][self.index] = float(value)

    def to_x(self, value: float) -> float:
        return math.log(value) if self.log else value / self.scale

    def from_x(self, x: float) -> float:
        return math.exp(x) if self.log else x * self.scale

    @property
    def scale(self) -> float:
        return max(abs(self.start), 1e-3 * (self.high - self.low)
                   if math.isfinite(self.high - self.low) else 1.0, 1e-12)


def start_card(inp: CalibrationInput) -> dict:
    """The starting card (library format): the base card, then [model.parameters] over it (a
    group given as a table replaces that group's scalars and vice versa), with sources."""
    from ..materials.cards import DPC_GROUPS
    import tomllib

    card = {"parameters": {}, "sources": {}}
    if inp.base_card:
        try:
            path = card_path(inp.base_card if not str(inp.base_card).endswith(".toml")
                             else inp.path.parent / inp.base_card)
        except CardError as exc:
            raise CalibrationError(f"{inp.path}: [model] base_card: {exc}") from None
        with open(path, "rb") as stream:
            base = tomllib.load(stream)
        if base["material"].get("law") != "dpc":
            raise CalibrationError(f"{inp.path}: [model] base_card '{inp.base_card}' is not a "
                                   "DPC card")
        card["parameters"] = copy.deepcopy(base["parameters"])
        card["sources"] = {k: f"default from card {path.stem}: {v}"
                           for k, v in base["sources"].items()}
    for key, value in inp.parameters.items():
        for table, scalars in DPC_GROUPS.items():        # a group given the other way
            if key == table:
                for s in scalars:
                    card["parameters"].pop(s, None)
                    card["sources"].pop(s, None)
            elif key in scalars:
                card["parameters"].pop(table, None)
                card["sources"].pop(table, None)
        card["parameters"][key] = copy.deepcopy(value)
        card["sources"][key] = inp.sources.get(
            key, f"start value given in {inp.path.name} (not changed where the data do not "
                 "determine it)")
    card["material"] = {"name": inp.name, "law": "dpc", "description": inp.description}
    make_law(card["parameters"], inp.path)
    return card


def make_law(parameters: dict, where="card", overrides=None):
    """The DruckerPragerCap law of a [parameters] table (validated by the card loader)."""
    data = {"material": {"name": "fit", "law": "dpc", "description": "fit"},
            "parameters": parameters, "sources": {k: "fit" for k in parameters}}
    try:
        return parse_card(data, "fit", overrides)
    except CardError as exc:
        raise CalibrationError(f"{where}: [model]: {exc}") from None


def _declaration(card_key: str, column: str | None):
    if column is None:
        return PARAMETERS["dpc"].get(card_key)
    return TABLES.get(card_key, {}).get(column)


def fit_entries(inp: CalibrationInput, parameters: dict) -> list[Entry]:
    """The fitted numbers named by [fit] parameters ('key', 'table.column', 'table.column[i]'),
    with bounds from [fit.bounds] or else the card loader's admissible range."""
    entries = []
    for text in inp.fit:
        match = _ENTRY.match(text)
        card_key, column, index = (match.groups() if match else (None, None, None))
        declaration = _declaration(card_key, column) if match else None
        if declaration is None or (column is None and card_key in TABLES):
            raise CalibrationError(f"{inp.path}: [fit] parameters: '{text}' is not a DPC card "
                                   "parameter ('cohesion', 'hardening_table.cap_pressure', "
                                   "'elasticity_table.youngs_modulus[2]', ...)")
        if card_key not in parameters:
            raise CalibrationError(f"{inp.path}: [fit] parameters: '{text}': the starting card "
                                   f"has no '{card_key}' (give it in [model.parameters])")
        if column is not None and column == next(iter(TABLES[card_key])):
            raise CalibrationError(f"{inp.path}: [fit] parameters: '{text}' is the table's "
                                   "abscissa (the nodes are chosen, not fitted)")
        size = len(parameters[card_key][column]) if column is not None else None
        indices = [None] if column is None else ([int(index)] if index is not None
                                                 else list(range(size)))
        for i in indices:
            if i is not None and i >= size:
                raise CalibrationError(f"{inp.path}: [fit] parameters: '{text}': the table has "
                                       f"{size} rows")
            key = card_key if column is None else f"{card_key}.{column}[{i}]"
            bounds = inp.bounds.get(text, inp.bounds.get(f"{card_key}.{column}" if column
                                                         else card_key))
            low, high = (bounds if bounds is not None else (declaration.low, declaration.high))
            entry = Entry(key, card_key, column, i, 0.0, float(low), float(high),
                          log=(column or card_key) not in _LINEAR)
            entry.start = entry.get(parameters)
            if entry.log and not entry.start > 0.0:
                raise CalibrationError(f"{inp.path}: [fit] '{key}': start value {entry.start} "
                                       "must be > 0 (fitted in log space)")
            if not low <= entry.start <= high:
                raise CalibrationError(f"{inp.path}: [fit] '{key}': start value {entry.start} "
                                       f"outside its bounds [{low}, {high}]")
            entries.append(entry)
    keys = [e.key for e in entries]
    if len(set(keys)) != len(keys):
        raise CalibrationError(f"{inp.path}: [fit] parameters name an entry twice")
    return entries


# --- what the model predicts --------------------------------------------------------------
def die_response(law, relative_density) -> tuple[np.ndarray, np.ndarray]:
    """Axial and radial stress (MPa, compression +) of the uniaxial-strain point driver at
    each relative density, in the order given (loading and unloading as measured)."""
    rd0 = 1.0 - law.initial_porosity
    point = MaterialPoint(law, 1.0)
    axial, radial = [], []
    for target in np.log(rd0 / np.asarray(relative_density, dtype=float)):
        start = point.strain[2]
        n = max(1, int(math.ceil(abs(target - start) / _STRAIN_STEP)))
        for k in range(1, n + 1):
            point.advance(np.array([0.0, 0.0, start + (target - start) * k / n]))
        sigma = point.tau[:3] / math.exp(point.strain.sum())
        axial.append(-sigma[2])
        radial.append(-sigma[0])
    return np.array(axial), np.array(radial)


def press_response(law, pressures, peak: float | None = None) -> np.ndarray:
    """Axial log strain of the uniaxial-strain point driver under each pressure (MPa), in the
    order given; pressure increments are split so that 0 -> peak takes _PRESSURE_STEPS."""
    pressures = np.asarray(pressures, dtype=float)
    peak = float(peak if peak is not None else pressures.max())
    point = MaterialPoint(law, 1.0)
    strains, current = [], 0.0
    for target in pressures:
        n = max(1, int(math.ceil(abs(target - current) / (peak / _PRESSURE_STEPS))))
        for k in range(1, n + 1):
            point.advance(point.strain, [(AXIAL, -(current + (target - current) * k / n))])
        current = target
        strains.append(point.strain[2])
    return np.array(strains)


def failure_points(columns) -> tuple[np.ndarray, np.ndarray]:
    """(p, q) at failure of each strength test (module docstring)."""
    s = columns["strength"]
    confining = columns.get("confining_pressure", np.zeros_like(s))
    p, q = np.empty_like(s), np.empty_like(s)
    for i, test in enumerate(columns["test"]):
        if test == "diametral":
            p[i], q[i] = 2.0 * s[i] / 3.0, math.sqrt(13.0) * s[i]
        elif test == "uniaxial":
            p[i], q[i] = s[i] / 3.0, s[i]
        else:
            p[i], q[i] = (s[i] + 2.0 * confining[i]) / 3.0, s[i] - confining[i]
    return p, q


def shear_line(law, relative_density, p) -> np.ndarray:
    """q = d(RD) + p tan(beta(RD)) of the card's law."""
    rd0 = 1.0 - law.initial_porosity
    kappa = np.log(rd0 / np.asarray(relative_density, dtype=float))
    d, tan_beta, _, _ = law.yield_parameters(kappa)
    return d + np.asarray(p) * tan_beta


def predict(law, parameters: dict, ds: DataSet) -> dict[str, np.ndarray]:
    """The model's value of each measured column of a data set (project units)."""
    c = ds.columns
    if ds.kind == "die":
        axial, radial = die_response(law, c["relative_density"])
        out = {"axial_stress": axial}
        if "radial_stress" in c:
            out["radial_stress"] = radial
        return out
    if ds.kind == "flat_press":
        strain = press_response(law, c["pressure"])
        return {"thickness": float(ds.options["initial_thickness"]) * np.exp(strain)}
    if ds.kind == "failure":
        p, _ = failure_points(c)
        q_model = shear_line(law, c["relative_density"], p)
        return {"q": q_model}
    thickness, porosity = [], []
    for i in range(ds.rows):
        row_law = make_law(parameters, ds.file,
                           overrides={"initial_porosity": float(c["porosity_before"][i])})
        strain = press_response(row_law, [c["pressure"][i], 0.0])[-1]
        thickness.append(c["thickness_before"][i] * math.exp(strain))
        porosity.append(1.0 - (1.0 - c["porosity_before"][i]) * math.exp(-strain))
    return {"thickness_after": np.array(thickness), "porosity_after": np.array(porosity)}


def measured(ds: DataSet) -> dict[str, np.ndarray]:
    """The measured values matching `predict`'s keys."""
    c = ds.columns
    if ds.kind == "failure":
        return {"q": failure_points(c)[1]}
    keys = {"die": ("axial_stress", "radial_stress"), "flat_press": ("thickness",),
            "pairs": ("thickness_after", "porosity_after")}[ds.kind]
    return {k: c[k] for k in keys if k in c}


def residual_scale(ds: DataSet, key: str, values: np.ndarray,
                   coarse: bool = False) -> np.ndarray:
    """What a residual of 1 means, per row: stresses (die) relative to max(|value|, 2 % of
    the highest value so far in the test), so that unloading to 0 does not divide by 0 while
    the low-density rows at the start keep their weight (coarse: 2 % of the test's peak, the
    first stage of ``fit.fit``); a flat-press thickness
    relative to the compaction of the test, h0 - min(h) (a thickness error relative to the
    thickness itself would make 1 % noise a third of the signal); the rest relative to the
    value."""
    if ds.kind == "die":
        peak = np.max(np.abs(values)) if coarse else np.maximum.accumulate(np.abs(values))
        return np.maximum(np.abs(values), np.maximum(0.02 * peak, 1e-12))
    if ds.kind == "flat_press":
        return np.full(values.shape, float(ds.options["initial_thickness"]) - values.min())
    return np.maximum(np.abs(values), 1e-12)


def residuals(prediction: dict, data: dict, ds: DataSet, coarse: bool = False) -> np.ndarray:
    """Residuals of a data set in units of residual_scale, times sqrt(weight)."""
    parts = []
    for key, values in data.items():
        parts.append((prediction[key] - values) / residual_scale(ds, key, values, coarse))
    return math.sqrt(ds.weight) * np.concatenate(parts)


def evaluate(parameters: dict, datasets: list[DataSet], where="fit"):
    """Predictions of every data set for one [parameters] table; MaterialPointError or a
    stress control that did not converge propagates."""
    law = make_law(parameters, where)
    return [predict(law, parameters, ds) for ds in datasets]


MODEL_ERRORS = (MaterialPointError, RuntimeError, np.linalg.LinAlgError, CalibrationError)
