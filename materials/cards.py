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

Every parameter is declared once, with its meaning, unit, admissible range and default, in the
pydantic model of its law (``card_models.py``, MOOSE ``validParams`` style); the card file
itself (its three tables and their sources) is the model ``CardFile`` below. ``load_card``
rejects a bad card early with one ``CardError`` naming the card (and its file, outside the
library), the key, the value given and what was expected.
"""
from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
from pydantic import Field, ValidationError, field_validator

from .card_models import DPC_GROUPS, LAW_MODELS, LAW_PARAMETERS, PARAMETERS, TABLES, Table
from .dpc import DruckerPragerCap
from .elastic import LinearElastic
from .errors import CardError
from .j2 import J2Plasticity
from .j2_creep import J2NortonCreep
from .parameter_models import ParameterModel, dotted, first_problem, problem_text
from .swelling import LithiationSwelling
from .viscoelastic import StandardLinearSolid

__all__ = ["CardError", "DPC_GROUPS", "LAWS", "LIBRARY", "PARAMETERS", "TABLES", "card_path",
           "list_cards", "load_card", "parse_card"]

LIBRARY = Path(__file__).parent / "library"
LAWS = {"elastic": LinearElastic, "j2": J2Plasticity, "j2_creep": J2NortonCreep,
        "viscoelastic": StandardLinearSolid, "dpc": DruckerPragerCap}


class Material(ParameterModel):
    """The [material] table: what the card describes and which law it uses."""

    name: str = Field(description="the material, as a reader would name it")
    law: str = Field(description=f"the constitutive law: {', '.join(LAW_MODELS)}")
    description: str = Field(description="what the material is and what the law captures")

    @field_validator("name", "description")
    @classmethod
    def _non_blank(cls, text: str) -> str:
        if not text.strip():
            raise ValueError("must be a non-empty string")
        return text


class CardFile(ParameterModel):
    """A card file: [material], [parameters] (validated by the law's model) and [sources], one
    non-empty string per key of [parameters] (a nested table counts as one key; checked by
    `source_problem` after the parameters, so that an unknown parameter is reported as such
    and not as a parameter without a source)."""

    material: Material = Field(description="name, law, description")
    parameters: dict[str, object] = Field(description="the law's parameter values")
    sources: dict[str, str] = Field(description="where each parameter value comes from; an "
                                    "assumption says 'assumption: why'")


def source_problem(parameters: dict, sources: dict) -> str:
    """What is wrong with a card's [sources] (one non-empty string per key of [parameters],
    no other key), or ''."""
    for key in parameters:
        if not sources.get(key, "").strip():
            return (f"[sources] has no source for parameter '{key}' (a string; an assumption "
                    "says 'assumption: why')")
    for key in sources:
        if key not in parameters:
            return f"[sources] names '{key}', which is not a parameter of the card"
    return ""


def list_cards() -> list[str]:
    """Names of the cards in the library."""
    return sorted(path.stem for path in LIBRARY.glob("*.toml"))


def card_path(name_or_path) -> Path:
    """The file of a material card given by library name or path (CardError if none)."""
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        if not path.exists():
            raise CardError(f"material card file {path} does not exist")
        return path.resolve()
    path = LIBRARY / f"{name_or_path}.toml"
    if not path.exists():
        raise CardError(f"no material card '{name_or_path}' in {LIBRARY}; "
                        f"available: {', '.join(list_cards()) or 'none'}")
    return path.resolve()


def _card_place(loc: tuple, kind: str) -> str:
    """Where in a card file a problem is: 'table [material]', '[sources] cohesion'."""
    if not loc:
        return ""
    return f"table [{loc[0]}]" if len(loc) == 1 else f"[{loc[0]}] {dotted(loc[1:])}"


def _law_parameters(card: str, law: str, parameters: dict):
    """The validated parameter model of `law` (CardError naming the first problem)."""
    def place(loc, kind):
        key = dotted(loc)
        if not key:
            return ""
        if kind == "extra_forbidden":
            return f"parameter '{key}' for law '{law}'" if len(loc) == 1 else f"key '{key}'"
        return f"parameter '{key}'"

    def describe(problem):
        if problem["type"].startswith("union_tag"):
            return f"[material] law = {law!r}: expected one of " + \
                ", ".join(repr(name) for name in LAW_MODELS)
        inside = {**problem, "loc": problem["loc"][1:]}       # below the law's tag
        return problem_text(inside, LAW_MODELS[problem["loc"][0]], place)

    if "law" in parameters:
        raise CardError(f"card {card}: unknown parameter 'law' (the law is named in [material])")
    try:
        return LAW_PARAMETERS.validate_python({"law": law, **parameters})
    except ValidationError as error:
        raise CardError(f"card {card}: {first_problem(error, describe)}") from None


def _arguments(model) -> dict:
    """The keyword arguments of a law from its validated parameters (tables and histories as
    float arrays; parameters left at None are the law's own defaults)."""
    values = {}
    for key, value in model:
        if key in ("law", "swelling") or value is None:
            continue
        if isinstance(value, Table):
            value = {column: np.array(array, dtype=float) for column, array in value}
        elif isinstance(value, list):
            value = np.array(value, dtype=float)
        values[key] = value
    return values


def parse_card(data: dict, card: str = "<card>", overrides: dict | None = None,
               path: Path | None = None):
    """Validate a parsed card (a dict as read from TOML) and build its law.

    card : the card's name in messages; path : its file, named in messages when given.
    overrides : {parameter: value} replacing card values; {"swelling": {...}} is merged key by
        key into the card's swelling table.
    """
    label = f"'{card}'" + (f" ({path})" if path is not None else "")
    try:
        card_file = CardFile.model_validate(data)
    except ValidationError as error:
        raise CardError(f"card {label}: "
                        f"{first_problem(error, lambda p: problem_text(p, CardFile, _card_place))}"
                        ) from None
    parameters, sources = card_file.parameters, card_file.sources
    overrides = dict(overrides or {})
    if isinstance(overrides.get("swelling"), dict) and isinstance(parameters.get("swelling"),
                                                                   dict):
        overrides["swelling"] = {**parameters["swelling"], **overrides["swelling"]}
    model = _law_parameters(label, card_file.material.law, {**parameters, **overrides})
    problem = source_problem(parameters, sources)
    if problem:
        raise CardError(f"card {label}: {problem}")
    try:
        result = LAWS[model.law](**_arguments(model))
        if model.swelling is not None:
            result = LithiationSwelling(result, **_arguments(model.swelling))
    except ValueError as error:
        raise CardError(f"card {label}: {error}") from error
    result.card_name = card_file.material.name
    result.description = card_file.material.description
    result.sources = {key: "override" if key in overrides else sources[key]
                      for key in [*parameters, *overrides] if key != "swelling"}
    if model.swelling is not None:
        result.sources["swelling"] = sources.get("swelling", "override")
    return result


def load_card(name_or_path, overrides: dict | None = None):
    """Load a material card by library name or path and return its law.

    overrides : {parameter: value} replacing card values (e.g. {"initial_porosity": 0.37});
        {"swelling": {...}} adds lithiation swelling to the card's law (or changes the card's
        swelling table key by key), see the module docstring.
    """
    path = card_path(name_or_path)
    try:
        with open(path, "rb") as stream:
            data = tomllib.load(stream)
    except tomllib.TOMLDecodeError as error:
        raise CardError(f"card '{path.stem}' ({path}): not valid TOML: {error}") from error
    return parse_card(data, path.stem, overrides,
                      path=None if path.parent == LIBRARY.resolve() else path)
