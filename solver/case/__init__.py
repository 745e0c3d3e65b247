"""The case file: a TOML description of one run, validated before anything is computed.

A case is one of five kinds (`case.kind`: flat_press, calender, calender_width, stack,
delamination), each a model with only the sections it reads (kinds.py). Every field is declared
once with its meaning, unit and default; units mm, N, MPa, s. `load_case` reads a file and
raises CaseError with one message naming the field (load.py); `schema_markdown` documents
every kind (schema_doc.py).

    base.py          strict input, limits, CaseError, [case] and [output]
    layers.py        [[layers]] (and a stack layer's waviness, grading, swelling), profiles
    press.py         [geometry], [loading], [contact]
    calender.py      [calender]
    interfaces.py    [[interfaces]]
    stack.py         [stack], [contact_loss]
    delamination.py  [delamination]
    width.py         [width]
    solver.py        [solver], with each kind's defaults
    kinds.py         the model of each kind and the union over `case.kind`
    load.py          reading, overrides, validation, paths; dump_resolved, layer_laws
    schema_doc.py    schema_markdown
"""
from .base import MAX_CELLS, MAX_LENGTH, MAX_MAGNITUDE, CaseError, CaseInfo, Output
from .calender import CalenderSpec
from .delamination import DelaminationSpec
from .interfaces import Constriction, InterfaceSpec
from .kinds import (CalenderCase, CalenderWidthCase, Case, CellStackCase, DelaminationCase,
                    FlatPressCase)
from .layers import LayerSpec, Profile, StackLayerSpec, SwellingSpec
from .load import apply_override, dump_resolved, layer_laws, load_case, validate_case
from .press import Contact, Geometry, Loading
from .schema_doc import schema_markdown
from .solver import CalenderSolver, DelaminationSolver, MeshSolver, Solver, StackSolver
from .stack import ContactLoss, StackLoading
from .width import CrownSpec, RollBeamSpec, WidthSpec

__all__ = ["MAX_CELLS", "MAX_LENGTH", "MAX_MAGNITUDE", "CaseError", "CaseInfo", "Output",
           "CalenderSpec", "DelaminationSpec", "Constriction",
           "InterfaceSpec", "CalenderCase", "CalenderWidthCase", "Case", "CellStackCase",
           "DelaminationCase", "FlatPressCase", "LayerSpec", "Profile", "StackLayerSpec",
           "SwellingSpec", "apply_override", "dump_resolved", "layer_laws", "load_case",
           "validate_case", "Contact", "Geometry", "Loading", "schema_markdown",
           "CalenderSolver", "DelaminationSolver", "MeshSolver", "Solver", "StackSolver",
           "ContactLoss", "StackLoading", "CrownSpec", "RollBeamSpec", "WidthSpec"]
