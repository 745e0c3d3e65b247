"""Interface laws of a layered model (stack or calendered web): from an interface's
specification (law name and parameters, as the case file gives them) to the law object, with
the penalty stiffnesses a case leaves out scaled from the neighbouring layers.

Default penalty stiffness, by law: contact (augmented Lagrangian) k_n = factor x E_soft / h_min
with E_soft the softer neighbour's Young's modulus and h_min the smallest neighbouring element
height; bonded and cohesive k = factor x E_max / h_min (a stiff tie). The factors are at
DEFAULT_STIFFNESS_FACTOR; docs/stacks.md gives the measurements behind them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .materials.cohesive_bilinear import BilinearCohesive
from .materials.cohesive_exponential import ExponentialCohesive
from .materials.interface_bonded import BondedInterface
from .materials.interface_contact import FrictionalContact
from .materials.interface_cards import interface_law_parameters
from .materials.interface_interphase import InterphaseGrowth


#: interface law names -> classes
INTERFACE_LAWS = {"contact": FrictionalContact, "bonded": BondedInterface,
                  "cohesive_bilinear": BilinearCohesive,
                  "cohesive_exponential": ExponentialCohesive,
                  "interphase": InterphaseGrowth}
#: default penalty factor, by law: contact (augmented Lagrangian) k_n = factor x E_soft / h_min
#: with E_soft the softer neighbour's modulus and h_min the smallest neighbouring element
#: height; factor 1 when a neighbour is plastic (J2, DPC), ELASTIC_CONTACT_FACTOR between
#: elastic layers (the Uzawa update contracts by ~ K_local / (K_local + k_n)).
#: Bonded and cohesive: k = factor x E_max / h_min (a stiff tie).
DEFAULT_STIFFNESS_FACTOR = {"contact": 1.0, "bonded": 100.0, "cohesive_bilinear": 100.0}
ELASTIC_CONTACT_FACTOR = 10.0
#: default regularisation of a contact: k_r = REGULARISATION_FACTOR x its normal stiffness, a
#: spring on the jump that removes the rigid-body modes of a layer held only by open contacts
REGULARISATION_FACTOR = 1e-9


def make_interface_law(spec, soft_scale: float, stiff_scale: float,
                       elastic_pair: bool = False):
    """The law object of an interface spec (a law object is returned as it is). A missing
    stiffness is factor x scale (MPa/mm): soft_scale = E_soft / h_min for contact,
    stiff_scale = E_max / h_min for bonded and cohesive (see DEFAULT_STIFFNESS_FACTOR)."""
    law = spec.law
    if not isinstance(law, str):
        return law
    if law not in INTERFACE_LAWS:
        raise ValueError(f"interface {spec.name}: unknown law {law!r}; expected one of "
                         f"{', '.join(INTERFACE_LAWS)} or a law object")
    parameters = interface_law_parameters(law, spec.parameters)     # validated, flags as bool
    default = ELASTIC_CONTACT_FACTOR if (law == "contact" and elastic_pair) else \
        DEFAULT_STIFFNESS_FACTOR.get(law, 100.0)
    factor = parameters.pop("stiffness_factor", default)
    if law == "contact":
        parameters.setdefault("normal_stiffness", factor * soft_scale)
    elif law == "bonded":
        parameters.setdefault("normal_stiffness", factor * stiff_scale)
    elif law == "cohesive_bilinear":
        parameters.setdefault("penalty_stiffness", factor * stiff_scale)
    return INTERFACE_LAWS[law](**parameters)


def build_interface_laws(specs, laws: dict, element_height: dict):
    """Interface laws of `specs` (InterfaceSpec list) between layers with bulk `laws` (by layer
    name) and smallest element heights `element_height` (mm, by layer name). Returns
    ({name: law}, {name: law name}, {name: regularisation k_r in MPa/mm}); the default k_r of
    a contact is REGULARISATION_FACTOR x its normal stiffness (see InterfaceSpec)."""
    interface_laws, law_names, regularisation = {}, {}, {}
    for spec in specs:
        lower, upper = laws[spec.lower], laws[spec.upper]
        h_min = min(element_height[spec.lower], element_height[spec.upper])
        elastic_pair = all(getattr(law_, "name", "") == "elastic" for law_ in (lower, upper))
        moduli = (lower.stiffest_youngs_modulus(), upper.stiffest_youngs_modulus())
        law = make_interface_law(spec, min(moduli) / h_min, max(moduli) / h_min, elastic_pair)
        interface_laws[spec.name] = law
        law_names[spec.name] = getattr(law, "name", type(law).__name__)
        if spec.regularisation is not None:
            regularisation[spec.name] = spec.regularisation
        elif hasattr(law, "augment"):
            regularisation[spec.name] = REGULARISATION_FACTOR * law.normal_stiffness
    return interface_laws, law_names, regularisation


@dataclass
class InterfaceSpec:
    """An interface between neighbouring layers `lower` and `upper`, represented by a band.

    law: "contact" (FrictionalContact: normal_stiffness, friction_coefficient,
    tangential_stiffness), "bonded", "cohesive_bilinear", "cohesive_exponential" (their
    parameters in `parameters`; a missing normal_stiffness / penalty_stiffness defaults to
    factor x E / h_min of the two neighbours, see DEFAULT_STIFFNESS_FACTOR), or a law object.
    roughness / rough_face / shape / band_ratio / band_thickness: see meshes.stack.
    regularisation (MPa/mm): spring on the jump that removes rigid-body modes of layers held
    only by open contact; default REGULARISATION_FACTOR x the normal stiffness for contact, 0
    otherwise.
    """

    lower: str
    upper: str
    law: object = "contact"
    parameters: dict = field(default_factory=dict)
    roughness: object | None = None
    rough_face: str = "upper"
    shape: object | None = None
    band_ratio: float = 1e-6
    band_thickness: float | None = None
    regularisation: float | None = None

    @property
    def name(self) -> str:
        return f"interface_{self.lower}_{self.upper}"


def interface_specs(case) -> list[InterfaceSpec]:
    """The case file's [[interfaces]] as the model's InterfaceSpecs (stack and calender web)."""
    return [InterfaceSpec(i.lower, i.upper, i.law, dict(i.parameters),
                          roughness=i.roughness.build() if i.roughness else None,
                          rough_face=i.rough_face,
                          shape=i.shape.build() if i.shape else None,
                          band_thickness=i.band_thickness,
                          regularisation=i.regularisation)
            for i in case.interfaces]
