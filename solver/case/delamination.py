"""The [delamination] table: a DCB (mode I) or ENF (mode II) specimen with a bilinear
cohesive interface."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from .base import MAX_LENGTH, StrictModel


class DelaminationSpec(StrictModel):
    test: Literal["dcb", "enf"] = Field("dcb", description="'dcb': double cantilever beam, "
                                        "mode I; 'enf': end-notched flexure, mode II.")
    arm_material: str | None = Field(None, description="Elastic card of both arms (or give "
                                     "youngs_modulus and poisson_ratio).")
    youngs_modulus: float | None = Field(None, gt=0, description="Arm Young's modulus, MPa.")
    poisson_ratio: float | None = Field(None, ge=0, lt=0.5, description="Arm Poisson ratio.")
    arm_thickness: float = Field(gt=0, le=MAX_LENGTH, description="Thickness h of each arm, mm.")
    length: float = Field(gt=0, le=MAX_LENGTH, description="DCB: load line to free end; ENF: "
                                                         "span 2L, mm.")
    width: float = Field(1.0, gt=0, le=MAX_LENGTH, description="Specimen width B, mm (forces "
                                                               "are N).")
    precrack: float = Field(gt=0, description="Pre-crack a0 from the load line (ENF: from "
                                              "the left support), mm; ENF needs a0 >= 0.7 L.")
    opening: float = Field(gt=0, description="Final load-point opening (DCB) or punch "
                                             "deflection (ENF), mm.")
    steps: int = Field(50, ge=1, le=100000, description="The largest increment is opening / "
                                                       "steps (cut back where the crack runs).")
    element_length: float = Field(0.25, gt=0, description="Column width along the crack "
                                                         "path, mm.")
    elements_through: int = Field(4, ge=1, le=1000, description="Element rows per arm.")
    root_rotation: Literal["kanninen", "williams"] = Field(
        "kanninen", description="Crack-length correction chi h of the closed form: Kanninen "
                                "(isotropic arms) or Williams (laminates).")
    cohesive: dict[str, float] = Field(description="Bilinear cohesive law: normal_strength, "
                                       "shear_strength (MPa), mode_i_toughness, "
                                       "mode_ii_toughness (N/mm), bk_exponent [, viscosity s, "
                                       "penalty_stiffness MPa/mm].")

    @model_validator(mode="after")
    def _complete(self):
        if self.arm_material is None and (self.youngs_modulus is None or
                                          self.poisson_ratio is None):
            raise ValueError("give arm_material, or youngs_modulus and poisson_ratio")
        if not self.precrack < self.length:
            raise ValueError("precrack must be shorter than length")
        allowed = ("normal_strength", "shear_strength", "mode_i_toughness",
                   "mode_ii_toughness", "bk_exponent", "viscosity", "penalty_stiffness")
        unknown = sorted(set(self.cohesive) - set(allowed))
        missing = [k for k in allowed[:5] if k not in self.cohesive]
        if unknown or missing:
            raise ValueError(f"cohesive: {'unknown ' + ', '.join(unknown) if unknown else ''}"
                             f"{'; ' if unknown and missing else ''}"
                             f"{'missing ' + ', '.join(missing) if missing else ''} "
                             f"(takes {', '.join(allowed)})")
        return self

