"""Parameters of the interface laws, as a case's ``[[interfaces]]`` gives them (``law`` and
``parameters``): one pydantic model per law, chosen by the law name, each parameter declared
once with its meaning and unit (the field description), admissible range and default.

A penalty stiffness left out (normal_stiffness, tangential_stiffness, penalty_stiffness) is
not a fixed default: the model takes it from the neighbouring layers as stiffness_factor x E /
h_element (solver/interface_laws.py, DEFAULT_STIFFNESS_FACTOR), so these fields default to
None. ``interface_law_parameters`` validates one interface's parameters and returns them as
the law's constructor takes them; a bad one raises CardError naming the law and the parameter.

Laws: contact (``interface_contact.py``), bonded (``interface_bonded.py``), cohesive_bilinear
(``cohesive_bilinear.py``), cohesive_exponential (``cohesive_exponential.py``), interphase
(``interface_interphase.py``).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Literal, Union

from pydantic import Field, TypeAdapter, ValidationError, field_validator

from .errors import CardError
from .parameter_models import (NonNegative, ParameterModel, Positive, dotted, first_problem,
                               problem_text)

MaxDamage = Annotated[float, Field(gt=0.0, le=1.0)]

STIFFNESS_FACTOR = ("multiplies E / h_element of the neighbours for a stiffness left out "
                    "(default by law, see solver/interface_laws.py), -")


class PenaltyTie(ParameterModel):
    """The stick stiffness and the stiffness factor of the penalty laws (contact, bonded)."""

    tangential_stiffness: Positive | None = Field(None, description="tangential (stick) "
                                                  "stiffness k_t, MPa/mm (default k_n)")
    stiffness_factor: Positive | None = Field(None, description=STIFFNESS_FACTOR)


class Contact(PenaltyTie):
    """Penalty / augmented-Lagrangian normal contact with Coulomb friction and elastic stick."""

    law: Literal["contact"]
    normal_stiffness: Positive | None = Field(None, description="normal penalty stiffness k_n, "
                                              "MPa/mm (default stiffness_factor x E_soft / h)")
    friction_coefficient: NonNegative = Field(0.0, description="Coulomb friction coefficient "
                                              "mu (0 = frictionless), -")


class Bonded(PenaltyTie):
    """A linear elastic tie."""

    law: Literal["bonded"]
    normal_stiffness: Positive | None = Field(None, description="normal stiffness k_n, MPa/mm "
                                              "(default stiffness_factor x E_max / h)")


class CohesiveBilinear(ParameterModel):
    """Camanho-Davila bilinear mixed-mode damage with Benzeggagh-Kenane propagation."""

    law: Literal["cohesive_bilinear"]
    penalty_stiffness: Positive | None = Field(None, description="penalty stiffness K, MPa/mm "
                                               "(default stiffness_factor x E_max / h)")
    normal_strength: Positive = Field(description="normal strength N, MPa")
    shear_strength: Positive = Field(description="shear strength S, MPa")
    mode_i_toughness: Positive = Field(description="mode I toughness G_Ic, N/mm")
    mode_ii_toughness: Positive = Field(description="mode II toughness G_IIc, N/mm")
    bk_exponent: Positive = Field(description="Benzeggagh-Kenane exponent eta, -")
    viscosity: NonNegative = Field(0.0, description="viscous regularisation time, s (0 = off)")
    max_damage: MaxDamage = Field(1.0, description="largest damage reached, -")
    stiffness_factor: Positive | None = Field(None, description=STIFFNESS_FACTOR)


class CohesiveExponential(ParameterModel):
    """Ortiz-Pandolfi (Xu-Needleman type) exponential cohesive law."""

    law: Literal["cohesive_exponential"]
    strength: Positive = Field(description="cohesive strength sigma_max, MPa")
    toughness: Positive = Field(description="toughness G_c, N/mm")
    shear_weight: Positive = Field(1.0, description="weight beta of the sliding opening, -")
    compression_stiffness: Positive | None = Field(None, description="stiffness in "
                                                   "compression, MPa/mm (default the initial "
                                                   "slope e sigma_max / delta_c)")


class Interphase(ParameterModel):
    """A growing SEI/CEI layer, h^2 = h0^2 + 2 Omega D c t: a spring E'/h(t) in compression."""

    law: Literal["interphase"]
    normal_modulus: Positive = Field(description="interphase modulus E', MPa")
    initial_thickness: Positive = Field(description="thickness h0 at t = 0, mm")
    molar_volume: NonNegative = Field(description="molar volume Omega of the interphase, "
                                      "mm^3/mol")
    diffusivity: NonNegative = Field(description="diffusivity D through the interphase, mm^2/s")
    concentration: NonNegative = Field(description="concentration c of the diffusing species, "
                                       "mol/mm^3")
    shear_modulus: Positive | None = Field(None, description="interphase shear modulus G', MPa "
                                           "(default E'/2)")
    growth_expansion: NonNegative = Field(0.0, description="part chi of the growth that pushes "
                                          "the faces apart, -")
    adhesive: bool = Field(False, description="carry tension too (true/false, or 1/0)")

    @field_validator("adhesive", mode="before")
    @classmethod
    def _flag(cls, value):
        """A case file's parameters are numbers: 1 and 0 stand for true and false."""
        if not isinstance(value, bool) and isinstance(value, (int, float)) and value in (0, 1):
            return bool(value)
        return value


#: interface law name -> its parameter model
INTERFACE_MODELS = {model.model_fields["law"].annotation.__args__[0]: model
                    for model in (Contact, Bonded, CohesiveBilinear, CohesiveExponential,
                                  Interphase)}
#: validates {"law": name, **parameters} into the model of that law
INTERFACE_PARAMETERS = TypeAdapter(Annotated[Union[Contact, Bonded, CohesiveBilinear,
                                                   CohesiveExponential, Interphase],
                                             Field(discriminator="law")])


def interface_law_parameters(law: str, parameters: Mapping) -> dict:
    """The parameters of an interface law as its constructor takes them: the given ones,
    validated (adhesive as a bool); a stiffness left out stays out (the neighbours give it).
    CardError names the law and the parameter, e.g. "interface law 'cohesive_exponential':
    missing parameter 'toughness' (toughness G_c, N/mm)"."""
    def describe(problem):
        inside = {**problem, "loc": problem["loc"][1:]}       # below the law's tag
        return problem_text(inside, INTERFACE_MODELS[law],
                            lambda loc, kind: f"parameter '{dotted(loc)}'")

    if law not in INTERFACE_MODELS:
        raise CardError(f"unknown interface law {law!r}; expected one of "
                        f"{', '.join(map(repr, INTERFACE_MODELS))}")
    if "law" in parameters:
        raise CardError(f"interface law '{law}': unknown parameter 'law'")
    try:
        model = INTERFACE_PARAMETERS.validate_python({"law": law, **parameters})
    except ValidationError as error:
        raise CardError(f"interface law '{law}': {first_problem(error, describe)}") from None
    return model.model_dump(exclude={"law"}, exclude_unset=True)
