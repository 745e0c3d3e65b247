"""What every case section is built on: strict input, the limits of a case, the [case] and
[output] tables that every kind has, and CaseError.

Units: mm, N, MPa, s. Every field is declared once with its meaning, unit and default (the
MOOSE `validParams` habit), so `nipstack check CASE` can name exactly which field is wrong.
"""
from __future__ import annotations

import re
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+=-]*")

#: the largest magnitude of any number in a case file: beyond it lengths, times and forces
#: overflow the mesh generator and the solver (|x| <= 1e12 in mm, s, MPa, N).
MAX_MAGNITUDE = 1e12
#: the largest length of a model, mm (a 10 m strip is far beyond any cell or web section).
MAX_LENGTH = 1e4
#: the most cells a case may ask for (a 3D slab of this size needs a cluster).
MAX_CELLS = 20_000_000


class CaseError(ValueError):
    """A case file that cannot be run; the message names the file and the field."""


def _numbers(value):
    if isinstance(value, bool):
        return
    if isinstance(value, (int, float)):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _numbers(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _numbers(item)


class StrictModel(BaseModel):
    """Strict input: unknown fields are errors, no coercion between types (true is not 1,
    "yes" is not true), no NaN or infinity, and no number beyond MAX_MAGNITUDE."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, validate_default=True,
                              strict=True)

    @field_validator("*", mode="after")
    @classmethod
    def _representable(cls, value):
        for number in _numbers(value):
            if abs(number) > MAX_MAGNITUDE:
                raise ValueError(f"{number:g} is beyond what the solver can represent "
                                 f"(|value| <= {MAX_MAGNITUDE:g})")
        return value


#: the scenarios a case file can describe (case.kind); kinds.py has one model for each
Kind = Literal["flat_press", "calender", "stack", "delamination", "calender_width"]
KINDS: tuple[str, ...] = get_args(Kind)


class CaseInfo(StrictModel):
    """The [case] table: the run's name and kind (every kind)."""

    name: str = Field(description="Short name of the run; names the default results folder "
                                  "results/<name> (letters, digits, '_', '-', '.', '+', '='; "
                                  "no path separators, no '..').", min_length=1, max_length=120)
    kind: Kind = Field(
        description="Scenario: 'flat_press' = a coated foil between flat rigid platens "
                    "(laboratory press), loaded, held and unloaded; 'calender' = the web drawn "
                    "through a two-roll nip (needs a [calender] table); 'stack' = a cell stack "
                    "with contact / cohesive / bonded interfaces under a rigid plate (needs a "
                    "[stack] table and [[interfaces]]); 'delamination' = a DCB (mode I) or ENF "
                    "(mode II) specimen with a cohesive interface, opened to fracture (needs a "
                    "[delamination] table); 'calender_width' = the nip across the full web width: "
                    "roll bending and crown with the local nip response from 2D calender runs "
                    "(needs [calender] and [width] tables).")
    description: str = Field("", description="What the case shows (free text).")

    @field_validator("name")
    @classmethod
    def _folder_name(cls, name):
        if not NAME_PATTERN.fullmatch(name) or ".." in name:
            raise ValueError(f"'{name}' cannot name a results folder: use letters, digits, "
                             f"'_', '-', '.', '+', '=' (no path separators, no '..', not "
                             f"starting with '.')")
        return name


class Output(StrictModel):
    """The [output] table: what a run writes besides summary.json and history.csv (every
    kind)."""

    directory: str | None = Field(None, description="Results folder (default results/<name>).")
    fields: bool = Field(True, description="Write the fields for ParaView (VTK: "
                                           "fields/fields.pvd).")
    plots: bool = Field(True, description="Write PNG plots.")
    checkpoint_every_steps: int = Field(20, ge=0, le=1_000_000, description="Write a restart "
                                        "checkpoint every this many converged steps (0: not "
                                        "on a step count); one is always written when a run "
                                        "stops early or is interrupted (flat press and stack; "
                                        "`nipstack run --resume FOLDER`).")
    checkpoint_every_minutes: float = Field(10.0, ge=0, description="And at least this often, "
                                            "minutes of wall time (0: not on a clock).")

