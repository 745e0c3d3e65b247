"""The [parameters] of a material card: one pydantic model per bulk law, chosen by the law name.

Every parameter is declared once below with its meaning and unit (the field description),
its admissible range and its default (MOOSE ``validParams`` style). ``LAW_PARAMETERS``
validates ``{"law": <name>, **parameters}`` as a union discriminated on the law name; the card
loader (``cards.py``) builds the law object from the validated model.

Laws: elastic (``elastic.py``), j2 (``j2.py``), j2_creep (``j2_creep.py``), viscoelastic
(``viscoelastic.py``), dpc (``dpc.py``: each parameter group as scalars or as a table of
equal-length arrays over its first column). Any law may carry lithiation swelling
(``swelling.py``) as the nested table ``swelling``.
"""
from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field, TypeAdapter, field_validator, model_validator

from .parameter_models import (Fraction, NonNegative, ParameterModel, PoissonRatio, Positive,
                               Range, admissible_range, field_range, strictly_increasing)

RelativeDensity = Annotated[float, Field(gt=0.0, le=1.0)]
FrictionAngle = Annotated[float, Field(ge=0.0, lt=90.0)]
CreepExponent = Annotated[float, Field(ge=1.0, le=20.0)]


class Swelling(ParameterModel):
    """Lithiation swelling: the Vegard eigenstrain beta (c(x, t) - c0) added to the card's law,
    c(x, t) = c(t) + dc/dx(t) (x - x_ref), piecewise linear in time (``swelling.py``)."""

    vegard_coefficient: float = Field(description="Vegard coefficient beta: log strain per "
                                      "unit concentration (or per unit state of charge), 1/[c]")
    reference_concentration: float = Field(0.0, description="concentration c0 of the meshed, "
                                           "unswollen layer, [c]")
    gradient_origin: float = Field(0.0, description="x_ref of the linear concentration "
                                   "profile, mm")
    gradient_axis: int = Field(0, ge=0, le=2, description="axis of the concentration gradient "
                               "(0 = x, 1 = y, 2 = z)")
    times: list[float] = Field(min_length=1, description="times of the concentration history, "
                               "s (a layer can give the history in its overrides)")
    concentration: list[float] = Field(min_length=1, description="concentration c(t) at those "
                                       "times (linear in between), [c]")
    concentration_gradient: list[float] | None = Field(None, description="gradient dc/dx at "
                                                       "those times, [c]/mm (default 0)")

    @field_validator("times")
    @classmethod
    def _increasing_times(cls, times):
        return strictly_increasing(times)

    @model_validator(mode="after")
    def _one_value_per_time(self):
        for key in ("concentration", "concentration_gradient"):
            values = getattr(self, key)
            if values is not None and len(values) != len(self.times):
                raise ValueError(f"'{key}' has {len(values)} values, 'times' has "
                                 f"{len(self.times)}")
        return self


class Table(ParameterModel):
    """A DPC table: equal-length arrays (columns) over the first column, which increases."""

    @field_validator("*")
    @classmethod
    def _increasing_abscissa(cls, values, info):
        return strictly_increasing(values) if info.field_name == next(iter(cls.model_fields)) \
            else values

    @model_validator(mode="after")
    def _equal_lengths(self):
        lengths = {key: len(values) for key, values in self}
        if len(set(lengths.values())) != 1:
            raise ValueError(f"columns have unequal lengths {lengths}")
        return self


class ElasticityTable(Table):
    relative_density: list[RelativeDensity] = Field(min_length=2, description="relative "
                                                    "density 1 - porosity, -")
    youngs_modulus: list[Positive] = Field(min_length=2, description="Young's modulus, MPa")
    poisson_ratio: list[PoissonRatio] = Field(min_length=2, description="Poisson's ratio, -")


class YieldTable(Table):
    relative_density: list[RelativeDensity] = Field(min_length=2, description="relative "
                                                    "density 1 - porosity, -")
    cohesion: list[NonNegative] = Field(min_length=2, description="shear-line intercept d, MPa")
    friction_angle: list[FrictionAngle] = Field(min_length=2, description="shear-line angle "
                                                "beta, degrees")
    cap_eccentricity: list[Positive] = Field(min_length=2, description="cap eccentricity R, -")


class HardeningTable(Table):
    compaction_strain: list[float] = Field(min_length=2, description="compaction strain "
                                           "-ln J_p = ln(RD/RD0), -")
    cap_pressure: list[Positive] = Field(min_length=2, description="hydrostatic yield "
                                         "pressure p_b, MPa")


class LawParameters(ParameterModel):
    """What every law's [parameters] may hold besides its own: lithiation swelling."""

    swelling: Swelling | None = Field(None, description="lithiation swelling added to the law")


class Elastic(LawParameters):
    """Isotropic Hencky elasticity (``elastic.py``)."""

    law: Literal["elastic"]
    youngs_modulus: Positive = Field(description="Young's modulus, MPa")
    poisson_ratio: PoissonRatio = Field(description="Poisson's ratio, -")


class J2(LawParameters):
    """J2 plasticity with linear + Voce isotropic hardening (``j2.py``)."""

    law: Literal["j2"]
    youngs_modulus: Positive = Field(description="Young's modulus, MPa")
    poisson_ratio: PoissonRatio = Field(description="Poisson's ratio, -")
    yield_stress: Positive = Field(description="initial yield stress, MPa")
    hardening_modulus: NonNegative = Field(0.0, description="linear hardening modulus, MPa")
    voce_stress: NonNegative = Field(0.0, description="Voce saturation stress increment, MPa")
    voce_rate: NonNegative = Field(0.0, description="Voce rate (per unit plastic strain), -")


class J2Creep(J2):
    """J2 plasticity with Norton creep, rate A (q / sigma_0)^n (``j2_creep.py``)."""

    law: Literal["j2_creep"]
    creep_coefficient: NonNegative = Field(description="Norton coefficient A: equivalent creep "
                                           "rate at the reference stress, 1/s")
    creep_exponent: CreepExponent = Field(description="Norton stress exponent n, -")
    creep_reference_stress: Positive = Field(1.0, description="Norton reference stress sigma_0 "
                                             "in A (q/sigma_0)^n, MPa")


class Viscoelastic(LawParameters):
    """Standard linear solid: an equilibrium spring and one Maxwell arm (``viscoelastic.py``)."""

    law: Literal["viscoelastic"]
    long_term_modulus: Positive = Field(description="equilibrium-spring Young's modulus E2 "
                                        "(t -> oo), MPa")
    maxwell_modulus: NonNegative = Field(description="Maxwell-arm spring Young's modulus E1 "
                                         "(relaxes away), MPa")
    relaxation_time: Positive = Field(description="Maxwell-arm relaxation time tau = eta / E1, s")
    poisson_ratio: PoissonRatio = Field(description="Poisson's ratio, -")


#: DPC parameter groups: a group is given either as its scalars or as its table
DPC_GROUPS = {
    "elasticity_table": ("solid_youngs_modulus", "gibson_ashby_exponent", "poisson_ratio"),
    "yield_table": ("cohesion", "friction_angle", "cap_eccentricity"),
    "hardening_table": ("cap_pressure_initial", "cap_hardening_A", "cap_hardening_B"),
}


class Dpc(LawParameters):
    """Drucker-Prager cap with Gibson-Ashby elasticity and tabulated or exponential cap
    hardening (``dpc.py``); None: the group is given as its table."""

    law: Literal["dpc"]
    initial_porosity: Fraction = Field(description="porosity of the unstrained coating, -")
    solid_youngs_modulus: Positive | None = Field(None, description="Gibson-Ashby solid "
                                                  "Young's modulus E_s, MPa")
    gibson_ashby_exponent: NonNegative | None = Field(None, description="Gibson-Ashby exponent "
                                                      "n in E_s RD^n, -")
    poisson_ratio: PoissonRatio | None = Field(None, description="Poisson's ratio, -")
    elasticity_table: ElasticityTable | None = Field(None, description="E and nu over the "
                                                     "relative density")
    cohesion: NonNegative | None = Field(None, description="shear-line intercept d, MPa")
    friction_angle: FrictionAngle | None = Field(None, description="shear-line angle beta in "
                                                 "the p-q plane, degrees")
    cap_eccentricity: Positive | None = Field(None, description="cap eccentricity R, -")
    yield_table: YieldTable | None = Field(None, description="d, beta and R over the relative "
                                           "density")
    transition_alpha: Fraction = Field(0.01, description="transition-surface parameter alpha, -")
    cap_pressure_initial: Positive | None = Field(None, description="initial hydrostatic yield "
                                                  "pressure p_b0, MPa")
    cap_hardening_A: NonNegative | None = Field(None, description="cap hardening amplitude A, "
                                                "MPa")
    cap_hardening_B: Positive | None = Field(None, description="cap hardening rate B (per unit "
                                             "log strain), -")
    hardening_table: HardeningTable | None = Field(None, description="p_b over the compaction "
                                                   "strain")
    relaxation_time: NonNegative = Field(0.0, description="Duvaut-Lions relaxation time, s")

    @model_validator(mode="after")
    def _each_group_once(self):
        for table, scalars in DPC_GROUPS.items():
            given = [s for s in scalars if getattr(self, s) is not None]
            if getattr(self, table) is not None and given:
                raise ValueError(f"give either '{table}' or {', '.join(given)}, not both")
            if getattr(self, table) is None and len(given) != len(scalars):
                missing = [s for s in scalars if s not in given]
                raise ValueError(f"missing parameter '{missing[0]}' (or give '{table}' instead "
                                 f"of {', '.join(scalars)})")
        return self


#: law name -> its parameter model
LAW_MODELS: dict[str, type[LawParameters]] = {
    model.model_fields["law"].annotation.__args__[0]: model
    for model in (Elastic, J2, J2Creep, Viscoelastic, Dpc)}
#: validates {"law": name, **parameters} into the model of that law
LAW_PARAMETERS = TypeAdapter(Annotated[Union[Elastic, J2, J2Creep, Viscoelastic, Dpc],
                                       Field(discriminator="law")])
#: DPC tables: name -> column -> admissible range (the first column is the abscissa)
TABLES: dict[str, dict[str, Range]] = {
    name: {column: admissible_range(info.annotation.__args__[0])
           for column, info in Dpc.model_fields[name].annotation.__args__[0].model_fields.items()}
    for name in DPC_GROUPS}
#: law name -> scalar parameter -> admissible range
PARAMETERS: dict[str, dict[str, Range]] = {
    law: {name: field_range(info) for name, info in model.model_fields.items()
          if name not in ("law", "swelling", *TABLES)}
    for law, model in LAW_MODELS.items()}
