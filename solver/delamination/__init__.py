"""Delamination specimens (DCB, mode I; ENF, mode II): a cohesive interface between two
elastic arms opened to fracture and compared with corrected beam theory.

``model.Delamination`` (the scenario, built from the case by ``Delamination.from_case``),
``specimen.py`` (mesh, pre-crack, supports), ``closed_forms.py`` (LEFM), ``opening.py`` (the
adaptive loading with snap-through relaxation), ``records.py``, ``results.py`` (summary,
curves, plot). The measurements behind the choices: docs/delamination.md.
"""
from .closed_forms import (BeamTheory, cohesive_zone_length, dcb_compliance, dcb_load,
                           dcb_propagation_load, enf_compliance, enf_load,
                           kanninen_root_rotation, plane_strain_modulus,
                           slender_cohesive_zone_length, williams_root_rotation)
from .model import Delamination
from .records import DelaminationRecord
from .specimen import graded_columns

__all__ = ["BeamTheory", "Delamination", "DelaminationRecord", "cohesive_zone_length",
           "dcb_compliance", "dcb_load", "dcb_propagation_load", "enf_compliance", "enf_load",
           "graded_columns", "kanninen_root_rotation", "plane_strain_modulus",
           "slender_cohesive_zone_length", "williams_root_rotation"]
