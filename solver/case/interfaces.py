"""[[interfaces]]: the zero-thickness interfaces between neighbouring layers of a stack or a
calender web (roll lamination), their laws and the constriction resistance."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from ..materials.interface_cards import interface_law_parameters
from .base import StrictModel
from .layers import Profile


class Constriction(StrictModel):
    electrolyte: str = Field(description="The layer the ions cross the interface into (a "
                                         "layer next to the interface).")
    conductivity: float = Field(gt=0, description="Ionic conductivity of the electrolyte, S/mm "
                                                  "(1 mS/cm = 1e-4 S/mm).")
    laplace: bool = Field(False, description="Also solve the Laplace problem for the ionic "
                                             "potential in the electrolyte layer with the "
                                             "contact patches as the only conducting part of "
                                             "the interface (2D).")


class InterfaceSpec(StrictModel):
    lower: str = Field(description="Layer below the interface (name).")
    upper: str = Field(description="Layer directly above it (name).")
    law: Literal["contact", "bonded", "cohesive_bilinear", "cohesive_exponential",
                 "interphase"] = Field(
        "contact", description="'contact': non-penetration (penalty + augmented-Lagrangian "
                               "updates) with Coulomb friction; 'bonded': a stiff tie; "
                               "'cohesive_bilinear': Camanho-Davila mixed-mode damage with "
                               "Benzeggagh-Kenane propagation; 'cohesive_exponential': Xu-"
                               "Needleman type. Cohesive laws act as contact in compression; "
                               "'interphase': a growing SEI/CEI layer, h^2 = h0^2 + 2 Omega D c "
                               "t, a spring E'/h(t) in compression.")
    parameters: dict[str, float] = Field(
        default_factory=dict, description="Law parameters (MPa, mm, N/mm): contact "
        "{friction_coefficient, normal_stiffness, tangential_stiffness, stiffness_factor}; bonded "
        "{normal_stiffness, tangential_stiffness, stiffness_factor}; cohesive_bilinear "
        "{normal_strength, shear_strength, mode_i_toughness, mode_ii_toughness, bk_exponent, "
        "penalty_stiffness, viscosity, max_damage, stiffness_factor}; cohesive_exponential "
        "{strength, toughness, shear_weight, compression_stiffness}; interphase {normal_modulus "
        "(MPa), initial_thickness (mm), molar_volume (mm^3/mol), diffusivity (mm^2/s), "
        "concentration (mol/mm^3), shear_modulus, growth_expansion, adhesive (0/1)}. A missing "
        "stiffness is "
        "stiffness_factor x E / h_element of the neighbours.")
    roughness: Profile | None = Field(None, description="Initial gap profile carved into the "
                                      "rough face (highest asperity touching).")
    rough_face: Literal["upper", "lower"] = Field("upper", description="Which face is rough.")
    shape: Profile | None = Field(None, description="Conforming shape of both faces (a wavy "
                                  "interface without gap).")
    band_thickness: float | None = Field(None, gt=0, description="Thickness of the band that "
                                         "carries the interface, mm (default 1e-6 of the "
                                         "thinner neighbour).")
    regularisation: float | None = Field(None, ge=0, description="Spring on the jump that "
                                         "holds layers touching only by open contact, MPa/mm "
                                         "(default 1e-9 x the contact stiffness).")
    constriction: Constriction | None = Field(None, description="Constriction resistance of "
                                              "this interface (seed 003).")

    @model_validator(mode="after")
    def _known_parameters(self):
        # the law's parameters: names, bounds, required ones (materials/interface_cards.py)
        interface_law_parameters(self.law, self.parameters)
        if self.constriction and self.constriction.electrolyte not in (self.lower, self.upper):
            raise ValueError(f"constriction.electrolyte '{self.constriction.electrolyte}' must "
                             f"be '{self.lower}' or '{self.upper}'")
        return self

    @property
    def name(self) -> str:
        return f"interface_{self.lower}_{self.upper}"



def check_interfaces(layers, interfaces: list[InterfaceSpec]):
    """Each interface joins a layer to the one directly above it, once."""
    names = [layer.name for layer in layers]
    if len(names) < 2 and interfaces:
        raise ValueError("interfaces need at least two layers")
    seen = set()
    for index, interface in enumerate(interfaces):
        where = f"interfaces.{index}"
        for side in ("lower", "upper"):
            if getattr(interface, side) not in names:
                raise ValueError(f"{where}.{side}: no layer named "
                                 f"'{getattr(interface, side)}' (layers: {', '.join(names)})")
        if names.index(interface.upper) != names.index(interface.lower) + 1:
            raise ValueError(f"{where}: '{interface.upper}' must be the layer directly above "
                             f"'{interface.lower}' (layers bottom to top: "
                             f"{', '.join(names)})")
        if interface.name in seen:
            raise ValueError(f"{where}: interface {interface.lower} | {interface.upper} "
                             f"listed twice")
        seen.add(interface.name)
