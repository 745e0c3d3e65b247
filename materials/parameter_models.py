"""Parameter declarations shared by material cards and interface laws (pydantic v2, as the case).

A law's parameters are one pydantic model: each field declares the parameter once - its type,
its admissible bounds (``gt``/``ge``/``lt``/``le``), its default and, in the description, its
meaning and unit ("Young's modulus, MPa"). The bounded number types below carry the bounds a
field shares with others (a Poisson's ratio in (-1, 0.5) wherever it occurs).

``problem_text`` turns the first error of a pydantic validation into one sentence naming the
parameter, the value given, the admissible range and the parameter's meaning, e.g.
``parameter 'poisson_ratio' = 0.5: expected a finite number in (-1, 0.5) (Poisson's ratio, -)``.
"""
from __future__ import annotations

import math
import types
from dataclasses import dataclass
from typing import Annotated, Callable, Literal, Union, get_args, get_origin

from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.fields import FieldInfo

Positive = Annotated[float, Field(gt=0.0)]
NonNegative = Annotated[float, Field(ge=0.0)]
PoissonRatio = Annotated[float, Field(gt=-1.0, lt=0.5)]
#: a fraction of a whole that may be zero but not one (porosity, alpha of the DPC transition)
Fraction = Annotated[float, Field(ge=0.0, lt=1.0)]


class ParameterModel(BaseModel):
    """Strict parameters: an unknown name is an error, a number is a number (true is not 1,
    "2" is not 2; an integer is a number), NaN and infinity are not numbers."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)


def strictly_increasing(values: list[float]) -> list[float]:
    """The values, or ValueError if they do not strictly increase (an abscissa, a time axis)."""
    if any(b <= a for a, b in zip(values, values[1:])):
        raise ValueError(f"must be strictly increasing, got {values}")
    return values


@dataclass(frozen=True)
class Range:
    """The admissible range of a number: low <(=) value <(=) high."""

    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False

    def expected(self, kind: str = "a finite number") -> str:
        if self.low == -math.inf and self.high == math.inf:
            return kind
        if self.high == math.inf:
            return f"{kind} {'>' if self.low_open else '>='} {self.low:g}"
        if self.low == -math.inf:
            return f"{kind} {'<' if self.high_open else '<='} {self.high:g}"
        return (f"{kind} in {'(' if self.low_open else '['}{self.low:g}, {self.high:g}"
                f"{')' if self.high_open else ']'}")


def _strip_optional(annotation):
    """X from X | None (and from Optional[X])."""
    if get_origin(annotation) in (Union, types.UnionType):
        arguments = [a for a in get_args(annotation) if a is not type(None)]
        if len(arguments) == 1:
            return arguments[0]
    return annotation


def _constraints(annotation, metadata=()) -> tuple[type, list]:
    """The base type and the constraint objects of an annotation (Annotated, optional)."""
    annotation = _strip_optional(annotation)
    metadata = list(metadata)
    while get_origin(annotation) is Annotated:
        annotation, *extra = get_args(annotation)
        for item in extra:
            metadata.extend(item.metadata if isinstance(item, FieldInfo) else [item])
        annotation = _strip_optional(annotation)
    return annotation, metadata


def admissible_range(annotation, metadata=()) -> Range:
    """The Range of a number field from its bounds (unbounded if it has none)."""
    bounds = {}
    for item in _constraints(annotation, metadata)[1]:
        for name, kind in ((("gt", Gt), ("ge", Ge), ("lt", Lt), ("le", Le))):
            if isinstance(item, kind):
                bounds[name] = float(getattr(item, name))
    low = bounds.get("gt", bounds.get("ge", -math.inf))
    high = bounds.get("lt", bounds.get("le", math.inf))
    return Range(low, high, low_open="gt" in bounds, high_open="lt" in bounds)


def field_range(info: FieldInfo) -> Range:
    return admissible_range(info.annotation, info.metadata)


def _model_of(annotation):
    base = _constraints(annotation)[0]
    return base if isinstance(base, type) and issubclass(base, BaseModel) else None


def declaration_at(model: type[BaseModel], loc: tuple) -> tuple[type | None, FieldInfo | None,
                                                                 object]:
    """Walk a pydantic error location from `model`: (the model that holds the last named field,
    that field's FieldInfo, the annotation at the location - a list item for an index)."""
    holder, info, annotation = None, None, model
    for part in loc:
        if isinstance(part, int):
            base, _ = _constraints(annotation)
            annotation = get_args(base)[0] if get_args(base) else annotation
            continue
        inner = _model_of(annotation)
        if inner is None or part not in inner.model_fields:
            return inner, None, None
        holder, info = inner, inner.model_fields[part]
        annotation = info.annotation if not info.metadata else \
            Annotated[(info.annotation, *info.metadata)]
    return holder, info, annotation


def expectation(annotation) -> str:
    """What a value at a place of this annotation must be, in words."""
    base, metadata = _constraints(annotation)
    if get_origin(base) is list:
        least = next((m.min_length for m in metadata if hasattr(m, "min_length")), 0)
        return (f"an array of at least {least} number{'s' if least != 1 else ''}, "
                f"{expectation(get_args(base)[0])} each")
    if get_origin(base) is Literal:
        return "one of " + ", ".join(repr(v) for v in get_args(base))
    if base is bool:
        return "true or false"
    if base is str:
        return "a non-empty string"
    if _model_of(base) is not None:
        return "a table with keys " + ", ".join(public_fields(_model_of(base)))
    kind = "an integer" if base is int else "a finite number"
    return admissible_range(annotation).expected(kind)


def public_fields(model: type[BaseModel]) -> list[str]:
    """The names a user writes for a model, sorted (the law name is given elsewhere)."""
    return sorted(name for name in model.model_fields if name != "law")


def dotted(loc: tuple) -> str:
    """('hardening_table', 'cap_pressure', 1) -> 'hardening_table.cap_pressure[1]'."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def first_problem(error: ValidationError, describe: Callable[[dict], str]) -> str:
    """The first problem of a validation in words, describe(error dict), and how many more (an
    unknown name goes first: it often explains a missing one)."""
    problems = sorted(error.errors(), key=lambda p: p["type"] != "extra_forbidden")
    more = f" [{len(problems) - 1} more problem(s)]" if len(problems) > 1 else ""
    return describe(problems[0]) + more


def problem_text(error: dict, model: type[BaseModel],
                 name: Callable[[tuple, str], str]) -> str:
    """One sentence for a pydantic error (an entry of ValidationError.errors()) at a location
    inside `model`; name(loc, error type) says what the location is ("parameter 'x'")."""
    loc, kind = tuple(error["loc"]), error["type"]
    holder, info, annotation = declaration_at(model, loc)
    where = name(loc, kind)
    meaning = f" ({info.description})" if info is not None and info.description else ""
    if kind == "missing":
        return f"missing {where}{meaning}"
    if kind == "extra_forbidden":
        known = public_fields(holder) if holder is not None else []
        return f"unknown {where}; expected one of {', '.join(known)}"
    if kind in ("value_error", "assertion_error"):
        text = str(error["ctx"]["error"])
        return f"{where}: {text}" if where else text
    if annotation is None:
        return f"{where}: {error['msg']}"
    return f"{where} = {error['input']!r}: expected {expectation(annotation)}{meaning}"
