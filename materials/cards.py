"""Material cards: TOML files that carry a law's parameter values *and where each comes from*.

A card lives in ``materials/library/<name>.toml`` (or at any path) and has three tables::

    [material]    name, law ("elastic" | "j2" | "j2_creep" | "viscoelastic" | "dpc"), description
    [parameters]  scalars (units: MPa, s, 1/s, degrees, -) and, for the DPC law, nested tables
                  (elasticity_table, yield_table, hardening_table) of equal-length arrays
    [sources]     one string per key of [parameters] (a nested table counts as one key);
                  a value that is an assumption says "assumption: why"

Lithiation swelling (``swelling.py``) is not a law of its own but an eigenstrain added to the
card's law: a nested table ``[parameters.swelling]`` in any card (one [sources] entry
``swelling``), or, without touching the card, the override ``{"swelling": {...}}`` of a layer
(its keys replace or add to the card's table)::

    [parameters.swelling]
    vegard_coefficient = 0.033          # log strain per unit of c (here: per unit SOC)
    reference_concentration = 0.0       # c of the meshed layer
    times = [0.0, 3600.0]               # s
    concentration = [0.0, 1.0]          # c at those times (piecewise linear)
    concentration_gradient = [0.0, 2.0] # optional: dc/dx at those times, per mm
    gradient_origin = 0.0               # optional: x_ref, mm
    gradient_axis = 0                   # optional: 0 = x, 1 = y, 2 = z

``load_card`` then returns ``LithiationSwelling(inner=<the card's law>, ...)``.

Every parameter is declared once below with its meaning, unit, admissible range and default
(MOOSE ``validParams`` style), and ``load_card`` rejects a bad card early with a ``CardError``
naming the card, the key and what was expected.
"""
from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .dpc import DruckerPragerCap
from .elastic import LinearElastic
from .j2 import J2Plasticity
from .j2_creep import J2NortonCreep
from .swelling import LithiationSwelling
from .viscoelastic import StandardLinearSolid

LIBRARY = Path(__file__).parent / "library"
REQUIRED = object()


class CardError(ValueError):
    """A material card is malformed; the message names the card and the offending key."""


@dataclass(frozen=True)
class Parameter:
    meaning: str
    unit: str
    low: float = -math.inf          # admissible range: low <(=) value <(=) high
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False
    default: object = REQUIRED

    def expected(self) -> str:
        left = "(" if self.low_open else "["
        right = ")" if self.high_open else "]"
        return f"a finite number in {left}{self.low}, {self.high}{right} {self.unit}".rstrip()

    def admits(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        return above and below


def _positive(meaning, unit, **kw):
    return Parameter(meaning, unit, low=0.0, low_open=True, **kw)


def _non_negative(meaning, unit, **kw):
    return Parameter(meaning, unit, low=0.0, **kw)


_POISSON = Parameter("Poisson's ratio", "-", low=-1.0, high=0.5, low_open=True, high_open=True)
_RELATIVE_DENSITY = Parameter("relative density 1 - porosity", "-", low=0.0, high=1.0,
                              low_open=True)

_J2 = {
    "youngs_modulus": _positive("Young's modulus", "MPa"),
    "poisson_ratio": _POISSON,
    "yield_stress": _positive("initial yield stress", "MPa"),
    "hardening_modulus": _non_negative("linear hardening modulus", "MPa", default=0.0),
    "voce_stress": _non_negative("Voce saturation stress increment", "MPa", default=0.0),
    "voce_rate": _non_negative("Voce rate (per unit plastic strain)", "-", default=0.0),
}

#: law name -> parameter name -> declaration
PARAMETERS: dict[str, dict[str, Parameter]] = {
    "elastic": {
        "youngs_modulus": _positive("Young's modulus", "MPa"),
        "poisson_ratio": _POISSON,
    },
    "j2": _J2,
    "j2_creep": {
        **_J2,
        "creep_coefficient": _non_negative("Norton coefficient A: equivalent creep rate at the "
                                           "reference stress", "1/s"),
        "creep_exponent": Parameter("Norton stress exponent n", "-", low=1.0, high=20.0),
        "creep_reference_stress": _positive("Norton reference stress sigma_0 in "
                                            "A (q/sigma_0)^n", "MPa", default=1.0),
    },
    "viscoelastic": {
        "long_term_modulus": _positive("equilibrium-spring Young's modulus E2 (t -> oo)", "MPa"),
        "maxwell_modulus": _non_negative("Maxwell-arm spring Young's modulus E1 (relaxes away)",
                                         "MPa"),
        "relaxation_time": _positive("Maxwell-arm relaxation time tau = eta / E1", "s"),
        "poisson_ratio": _POISSON,
    },
    "dpc": {
        "initial_porosity": Parameter("porosity of the unstrained coating", "-", low=0.0,
                                      high=1.0, high_open=True),
        "solid_youngs_modulus": _positive("Gibson-Ashby solid Young's modulus E_s", "MPa",
                                          default=None),
        "gibson_ashby_exponent": _non_negative("Gibson-Ashby exponent n in E_s RD^n", "-",
                                               default=None),
        "poisson_ratio": Parameter("Poisson's ratio", "-", low=-1.0, high=0.5, low_open=True,
                                   high_open=True, default=None),
        "cohesion": _non_negative("shear-line intercept d", "MPa", default=None),
        "friction_angle": Parameter("shear-line angle beta in the p-q plane", "degrees",
                                    low=0.0, high=90.0, high_open=True, default=None),
        "cap_eccentricity": _positive("cap eccentricity R", "-", default=None),
        "transition_alpha": Parameter("transition-surface parameter alpha", "-", low=0.0,
                                      high=1.0, high_open=True, default=0.01),
        "cap_pressure_initial": _positive("initial hydrostatic yield pressure p_b0", "MPa",
                                          default=None),
        "cap_hardening_A": _non_negative("cap hardening amplitude A", "MPa", default=None),
        "cap_hardening_B": _positive("cap hardening rate B (per unit log strain)", "-",
                                     default=None),
        "relaxation_time": _non_negative("Duvaut-Lions relaxation time", "s", default=0.0),
    },
}

#: DPC tables: name -> column -> declaration (the first column is the abscissa)
TABLES: dict[str, dict[str, Parameter]] = {
    "elasticity_table": {
        "relative_density": _RELATIVE_DENSITY,
        "youngs_modulus": _positive("Young's modulus", "MPa"),
        "poisson_ratio": _POISSON,
    },
    "yield_table": {
        "relative_density": _RELATIVE_DENSITY,
        "cohesion": _non_negative("shear-line intercept d", "MPa"),
        "friction_angle": Parameter("shear-line angle beta", "degrees", low=0.0, high=90.0,
                                    high_open=True),
        "cap_eccentricity": _positive("cap eccentricity R", "-"),
    },
    "hardening_table": {
        "compaction_strain": Parameter("compaction strain -ln J_p = ln(RD/RD0)", "-"),
        "cap_pressure": _positive("hydrostatic yield pressure p_b", "MPa"),
    },
}

#: DPC parameter groups: a group is given either as its scalars or as its table
DPC_GROUPS = {
    "elasticity_table": ("solid_youngs_modulus", "gibson_ashby_exponent", "poisson_ratio"),
    "yield_table": ("cohesion", "friction_angle", "cap_eccentricity"),
    "hardening_table": ("cap_pressure_initial", "cap_hardening_A", "cap_hardening_B"),
}

#: the swelling table (any law): scalars, then the history arrays (times first)
SWELLING: dict[str, Parameter] = {
    "vegard_coefficient": Parameter("Vegard coefficient beta: log strain per unit "
                                    "concentration (or per unit state of charge)", "1/[c]"),
    "reference_concentration": Parameter("concentration c0 of the meshed, unswollen layer",
                                         "[c]", default=0.0),
    "gradient_origin": Parameter("x_ref of the linear concentration profile", "mm",
                                 default=0.0),
    "gradient_axis": Parameter("axis of the concentration gradient (0 = x, 1 = y, 2 = z)", "-",
                               low=0.0, high=2.0, default=0.0),
}
SWELLING_HISTORY: dict[str, Parameter] = {
    "times": Parameter("times of the concentration history", "s"),
    "concentration": Parameter("concentration c(t) at those times (linear in between)", "[c]"),
    "concentration_gradient": Parameter("gradient dc/dx at those times", "[c]/mm",
                                        default=None),
}

LAWS = {"elastic": LinearElastic, "j2": J2Plasticity, "j2_creep": J2NortonCreep,
        "viscoelastic": StandardLinearSolid, "dpc": DruckerPragerCap}


def list_cards() -> list[str]:
    """Names of the cards in the library."""
    return sorted(path.stem for path in LIBRARY.glob("*.toml"))


def _locate(name_or_path) -> Path:
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        if not path.exists():
            raise CardError(f"material card file {path} does not exist")
        return path
    path = LIBRARY / f"{name_or_path}.toml"
    if not path.exists():
        raise CardError(f"no material card '{name_or_path}' in {LIBRARY}; "
                        f"available: {', '.join(list_cards()) or 'none'}")
    return path


def card_path(name_or_path) -> Path:
    """The file of a material card given by library name or path (CardError if none)."""
    return _locate(name_or_path).resolve()


def _number(card, key, value, declaration: Parameter) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CardError(f"card '{card}': parameter '{key}' = {value!r}: expected "
                        f"{declaration.expected()}")
    value = float(value)
    if not declaration.admits(value):
        raise CardError(f"card '{card}': parameter '{key}' = {value}: expected "
                        f"{declaration.expected()} ({declaration.meaning})")
    return value


def _table(card, name, table) -> dict[str, np.ndarray]:
    columns = TABLES[name]
    if not isinstance(table, dict):
        raise CardError(f"card '{card}': '{name}' must be a table with arrays "
                        f"{', '.join(columns)}")
    for key in table:
        if key not in columns:
            raise CardError(f"card '{card}': unknown column '{name}.{key}'; expected "
                            f"{', '.join(columns)}")
    out = {}
    for key, declaration in columns.items():
        if key not in table:
            raise CardError(f"card '{card}': missing column '{name}.{key}'")
        values = table[key]
        if not isinstance(values, (list, tuple, np.ndarray)) or len(values) < 2:
            raise CardError(f"card '{card}': '{name}.{key}' must be an array of at least "
                            "2 numbers")
        out[key] = np.array([_number(card, f"{name}.{key}", v, declaration) for v in values])
    lengths = {key: len(values) for key, values in out.items()}
    if len(set(lengths.values())) != 1:
        raise CardError(f"card '{card}': '{name}' columns have unequal lengths {lengths}")
    abscissa = next(iter(columns))
    if np.any(np.diff(out[abscissa]) <= 0.0):
        raise CardError(f"card '{card}': '{name}.{abscissa}' must be strictly increasing, "
                        f"got {out[abscissa].tolist()}")
    return out


def _swelling(card, table) -> dict:
    """Validate a swelling table (see the module docstring) -> LithiationSwelling arguments."""
    known = {**SWELLING, **SWELLING_HISTORY}
    if not isinstance(table, dict):
        raise CardError(f"card '{card}': 'swelling' must be a table with keys "
                        f"{', '.join(known)}")
    for key in table:
        if key not in known:
            raise CardError(f"card '{card}': unknown key 'swelling.{key}'; expected one of "
                            f"{', '.join(known)}")
    values = {}
    for key, declaration in SWELLING.items():
        if key in table:
            values[key] = _number(card, f"swelling.{key}", table[key], declaration)
        elif declaration.default is REQUIRED:
            raise CardError(f"card '{card}': missing 'swelling.{key}' ({declaration.meaning})")
        else:
            values[key] = declaration.default
    axis = values["gradient_axis"]
    if axis != int(axis):
        raise CardError(f"card '{card}': 'swelling.gradient_axis' = {axis}: expected 0, 1 or 2")
    values["gradient_axis"] = int(axis)
    length = None
    for key, declaration in SWELLING_HISTORY.items():
        if key not in table:
            if declaration.default is REQUIRED:
                raise CardError(f"card '{card}': missing 'swelling.{key}' ({declaration.meaning};"
                                " a layer can give the history in its overrides)")
            continue
        array = table[key]
        if not isinstance(array, (list, tuple, np.ndarray)) or len(array) < 1:
            raise CardError(f"card '{card}': 'swelling.{key}' must be an array of numbers")
        values[key] = np.array([_number(card, f"swelling.{key}", v, declaration)
                                for v in array])
        if length is not None and len(array) != length:
            raise CardError(f"card '{card}': 'swelling.{key}' has {len(array)} values, "
                            f"'swelling.times' has {length}")
        length = len(array)
    if np.any(np.diff(values["times"]) <= 0.0):
        raise CardError(f"card '{card}': 'swelling.times' must be strictly increasing, got "
                        f"{values['times'].tolist()}")
    return values


def parse_card(data: dict, card: str = "<card>", overrides: dict | None = None):
    """Validate a parsed card (a dict as read from TOML) and build its law."""
    for section in ("material", "parameters", "sources"):
        if not isinstance(data.get(section), dict):
            raise CardError(f"card '{card}': missing table [{section}]")
    for key in data:
        if key not in ("material", "parameters", "sources"):
            raise CardError(f"card '{card}': unknown table [{key}]")
    material = data["material"]
    law = material.get("law")
    if law not in PARAMETERS:
        raise CardError(f"card '{card}': [material] law = {law!r}: expected one of "
                        f"{', '.join(repr(k) for k in PARAMETERS)}")
    for key in ("name", "description"):
        if not isinstance(material.get(key), str) or not material[key].strip():
            raise CardError(f"card '{card}': [material] {key} must be a non-empty string")
    declarations = PARAMETERS[law]
    tables = TABLES if law == "dpc" else {}
    parameters = dict(data["parameters"])
    sources = data["sources"]
    overrides = dict(overrides or {})
    known = set(declarations) | set(tables) | {"swelling"}

    for key in list(parameters) + list(overrides):
        if key not in known:
            raise CardError(f"card '{card}': unknown parameter '{key}' for law '{law}'; "
                            f"expected one of {', '.join(sorted(known))}")
    for key in parameters:
        source = sources.get(key)
        if not isinstance(source, str) or not source.strip():
            raise CardError(f"card '{card}': [sources] has no source for parameter '{key}' "
                            "(a string; an assumption says 'assumption: why')")
    for key in sources:
        if key not in parameters:
            raise CardError(f"card '{card}': [sources] names '{key}', which is not a "
                            "parameter of the card")
    swelling = parameters.pop("swelling", None)
    if "swelling" in overrides:           # merged key by key into the card's table
        swelling = {**(swelling if isinstance(swelling, dict) else {}),
                    **(overrides.pop("swelling") or {})}
    parameters.update(overrides)

    values = {}
    for key, declaration in declarations.items():
        if key in parameters:
            values[key] = _number(card, key, parameters[key], declaration)
        elif declaration.default is REQUIRED:
            raise CardError(f"card '{card}': missing parameter '{key}' "
                            f"({declaration.meaning}, {declaration.unit})")
        elif declaration.default is not None:
            values[key] = declaration.default
    for name in tables:
        if name in parameters:
            values[name] = _table(card, name, parameters[name])
    if law == "dpc":
        for table, scalars in DPC_GROUPS.items():
            given = [s for s in scalars if s in values]
            if table in values and given:
                raise CardError(f"card '{card}': give either '{table}' or "
                                f"{', '.join(given)}, not both")
            if table not in values and len(given) != len(scalars):
                missing = [s for s in scalars if s not in values]
                raise CardError(f"card '{card}': missing parameter '{missing[0]}' "
                                f"(or give '{table}' instead of {', '.join(scalars)})")
    try:
        result = LAWS[law](**values)
        if swelling is not None:
            result = LithiationSwelling(result, **_swelling(card, swelling))
    except ValueError as error:
        raise CardError(f"card '{card}': {error}") from error
    result.card_name = material["name"]
    result.description = material["description"]
    result.sources = {key: sources.get(key, "override") for key in parameters}
    for key in overrides:
        result.sources[key] = "override"
    if swelling is not None:
        result.sources["swelling"] = sources.get("swelling", "override")
    return result


def load_card(name_or_path, overrides: dict | None = None):
    """Load a material card by library name or path and return its law.

    overrides : {parameter: value} replacing card values (e.g. {"initial_porosity": 0.37});
        {"swelling": {...}} adds lithiation swelling to the card's law (or changes the card's
        swelling table key by key), see the module docstring.
    """
    path = _locate(name_or_path)
    card = path.stem
    try:
        with open(path, "rb") as stream:
            data = tomllib.load(stream)
    except tomllib.TOMLDecodeError as error:
        raise CardError(f"card '{card}' ({path}): not valid TOML: {error}") from error
    return parse_card(data, card, overrides)
