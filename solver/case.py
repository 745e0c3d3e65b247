"""The case file: a TOML description of one run, validated before anything is computed.

Every field is declared once below with its meaning, unit and default (the MOOSE `validParams`
habit), so `nipstack check CASE` can tell a user exactly which field is wrong. Units: mm, N,
MPa, s. A malformed case raises CaseError with one message naming the field; the CLI turns it
into exit code 2 with no traceback and no results folder.
"""
from __future__ import annotations

import math
import re
import tomllib
from pathlib import Path
from typing import Literal, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator


NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+=-]*")


class CaseError(ValueError):
    """A case file that cannot be run; the message names the file and the field."""


#: the largest magnitude of any number in a case file: beyond it lengths, times and forces
#: overflow the mesh generator and the solver (|x| <= 1e12 in mm, s, MPa, N).
MAX_MAGNITUDE = 1e12
#: the largest length of a model, mm (a 10 m strip is far beyond any cell or web section).
MAX_LENGTH = 1e4
#: the most cells a case may ask for (a 3D slab of this size needs a cluster).
MAX_CELLS = 20_000_000


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


class _Strict(BaseModel):
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


class CaseInfo(_Strict):
    name: str = Field(description="Short name of the run; names the default results folder "
                                  "results/<name> (letters, digits, '_', '-', '.', '+', '='; "
                                  "no path separators, no '..').", min_length=1, max_length=120)
    kind: Literal["flat_press", "calender", "stack", "delamination", "calender_width"] = Field(
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


class Geometry(_Strict):
    dimension: Literal[2, 3] = Field(2, description="2 = plane strain cross-section, 3 = 3D slab.")
    width: float = Field(0.2, gt=0, le=MAX_LENGTH, description="Width of the modelled strip along x, mm.")
    depth: float = Field(0.1, gt=0, le=MAX_LENGTH, description="Depth along z (3D only), mm.")
    elements_width: int = Field(4, ge=1, le=100000, description="Elements along the width.")
    elements_depth: int = Field(2, ge=1, le=10000, description="Elements along the depth (3D).")
    mesh_file: str | None = Field(
        None, description="Flat press: your own mesh of the section instead of the built strip "
        "(Gmsh .msh, or any format meshio reads with named cell sets): cell groups named as "
        "the layers; facet groups bottom, top, left, right (front, back in 3D) and "
        "interface_<layer below the top>_<top layer>; mm, bottom at y = 0, each layer as high "
        "as its thickness. A relative path is from the case file's folder; width, depth and "
        "elements_* are then not used.")


class Profile(_Strict):
    """A height profile h(x[, z]) in mm: a sinusoid or a seeded random surface."""

    kind: Literal["sinusoid", "random"] = Field(
        description="'sinusoid': amplitude cos(2 pi x / wavelength + phase) [cos(2 pi z / "
                    "wavelength_z)]; 'random': Gaussian surface with a Gaussian spectrum "
                    "(rms, correlation_length, seed).")
    amplitude: float | None = Field(None, gt=0, description="Sinusoid amplitude, mm.")
    wavelength: float | None = Field(None, gt=0, description="Sinusoid wavelength along x, mm.")
    phase: float = Field(0.0, description="Sinusoid phase, rad.")
    wavelength_z: float | None = Field(None, gt=0, description="Sinusoid wavelength along z "
                                                               "(3D; none: uniform in z), mm.")
    rms: float | None = Field(None, gt=0, description="Random surface: RMS height, mm.")
    correlation_length: float | None = Field(None, gt=0, description="Random surface: "
                                             "correlation length, mm.")
    seed: int = Field(0, ge=0, description="Random surface: seed (same seed, same surface).")

    @model_validator(mode="after")
    def _complete(self):
        needed = ("amplitude", "wavelength") if self.kind == "sinusoid" else \
            ("rms", "correlation_length")
        missing = [key for key in needed if getattr(self, key) is None]
        if missing:
            raise ValueError(f"a {self.kind} profile needs {' and '.join(missing)}")
        return self

    def build(self):
        from .meshes.stack import RandomRoughness, Sinusoid

        if self.kind == "sinusoid":
            return Sinusoid(self.amplitude, self.wavelength, self.phase, self.wavelength_z)
        return RandomRoughness(self.rms, self.correlation_length, self.seed)


class SwellingSpec(_Strict):
    """Lithiation swelling of a layer: an isotropic eigenstrain beta (c - c0), c(x, t) =
    c(t) + dc/dx(t) (x - x_ref), piecewise linear in time (materials/swelling.py)."""

    vegard_coefficient: float = Field(description="beta: log strain per unit concentration "
                                      "(or per unit state of charge) (-).")
    times: list[float] = Field(min_length=1, description="Times of the history, s (increasing).")
    concentration: list[float] = Field(min_length=1, description="c at those times (mol/mm^3, "
                                       "or state of charge 0..1); held beyond the ends.")
    concentration_gradient: list[float] | None = Field(None, description="dc/dx at those times, "
                                                       "per mm (default 0).")
    reference_concentration: float = Field(0.0, description="c0: the concentration of the "
                                           "layer as meshed (unswollen).")
    gradient_origin: float = Field(0.0, description="x_ref of the gradient, mm.")
    gradient_axis: int = Field(0, ge=0, le=2, description="Axis of the gradient (0 = x).")

    @model_validator(mode="after")
    def _history(self):
        n = len(self.times)
        if any(b <= a for a, b in zip(self.times, self.times[1:])):
            raise ValueError("swelling.times must increase")
        for key in ("concentration", "concentration_gradient"):
            values = getattr(self, key)
            if values is not None and len(values) != n:
                raise ValueError(f"swelling.{key} needs {n} values (one per time), got "
                                 f"{len(values)}")
        return self


class LayerSpec(_Strict):
    name: str = Field(description="Region name (a Gmsh physical group), e.g. 'coating', 'foil'.",
                      pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    material: str = Field(description="Material card: a name in materials/library or a path "
                                      "to a .toml card.")
    thickness: float = Field(gt=0, le=MAX_LENGTH, description="Initial thickness, mm.")
    elements: int = Field(4, ge=1, le=10000, description="Elements through the thickness.")
    initial_porosity: float | None = Field(
        None, ge=0, lt=1, description="Overrides the card's initial porosity (-), porous laws.")
    parameters: dict[str, float] = Field(
        default_factory=dict, description="Overrides of the card's scalar parameters for this "
                                          "layer, e.g. {relaxation_time = 0.01} (card units).")
    grading: float = Field(1.0, gt=0, description="Stack: ratio of successive element heights "
                           "through the layer, bottom to top (< 1 finest at the top) (-).")
    waviness: Profile | None = Field(None, description="Stack: thickness waviness - the "
                                     "layer's top face displaced by this profile (the uneven "
                                     "coating hot spot), e.g. {kind = 'sinusoid', amplitude = "
                                     "0.002, wavelength = 0.5}.")
    swelling: SwellingSpec | None = Field(None, description="Stack: lithiation swelling "
                                          "history of this layer (an eigenstrain added to its "
                                          "card's law).")
    waviness_mode: Literal["thickness", "face"] = Field(
        "thickness", description="Stack: 'thickness' = the layer is thicker where the profile "
                                 "rises and lifts the layers above (the stack is thicker "
                                 "there); 'face' = only its top face moves and the layer above "
                                 "is thinner there (flat stack top).")

    def card_overrides(self) -> dict | None:
        """The card values this layer replaces (None: the card as it is)."""
        overrides = dict(self.parameters)
        if self.swelling is not None:
            overrides["swelling"] = self.swelling.model_dump(exclude_none=True)
        if self.initial_porosity is not None:
            overrides["initial_porosity"] = self.initial_porosity
        return overrides or None


class Loading(_Strict):
    control: Literal["thickness", "final_thickness", "pressure"] = Field(
        "thickness",
        description="'thickness': press the top layer to `target` mm under load; "
                    "'final_thickness': find the press depth whose unloaded top-layer thickness "
                    "is `target` mm (secant iteration over whole load-unload runs); "
                    "'pressure': press to a peak platen pressure of `target` MPa.")
    target: float = Field(gt=0, description="Target: mm for the thickness controls, MPa for "
                                            "pressure control.")
    load_steps: int = Field(20, ge=1, le=100000, description="Load steps of the loading ramp.")
    load_time: float = Field(1.0, gt=0, description="Duration of the loading ramp, s "
                                                    "(matters for rate-dependent laws).")
    hold_time: float = Field(0.0, ge=0, description="Hold at peak load, s.")
    hold_steps: int = Field(0, ge=0, le=100000, description="Steps of the hold.")
    unload_steps: int = Field(10, ge=1, le=100000, description="Steps of the unloading ramp "
                                                               "(pressure-controlled to zero).")
    unload_time: float = Field(1.0, gt=0, description="Duration of the unloading ramp, s.")
    lateral: Literal["confined", "free"] = Field(
        "confined", description="'confined': lateral faces on rollers (uniaxial strain, the "
                                "state of a wide sheet away from its edges); 'free': one "
                                "symmetry face, the other free (a narrow strip).")


class CalenderSpec(_Strict):
    roll_radius: float = Field(gt=0, le=MAX_LENGTH, description="Radius of both rolls, mm (typically 100-400).")
    control: Literal["gap", "line_load"] = Field(
        "gap", description="'gap': fixed roll positions; 'line_load': the roll position is "
                           "found so that the top roll's force per unit width is `line_load`.")
    gap: float | None = Field(None, gt=0, description="Distance between the roll surfaces, mm "
                                                      "(gap control).")
    line_load: float | None = Field(None, gt=0, description="Roll force per unit width, N/mm "
                                                            "(line-load control).")
    line_speed: float = Field(83.33, gt=0, description="Web / roll surface speed, mm/s "
                                                       "(1 m/min = 16.67 mm/s).")
    friction: float = Field(0.2, ge=0, le=2, description="Coulomb coefficient roll/web (-).")
    slip_length: float = Field(1e-4, gt=0, description="Regularisation of the roll friction: "
                               "the slip per step (mm) over which the shear traction rises to "
                               "mu p; with the default step (half an element) 1e-4 mm is a slip "
                               "speed of ~0.1 % of the line speed.")
    web_drive: Literal["rolls", "winder"] = Field(
        "rolls", description="What moves the web: 'rolls' - friction with the turning rolls "
                             "draws it through the nip (needs friction > 0); 'winder' - the "
                             "outlet end is pulled at the line speed (a frictionless nip, or a "
                             "web driven by the winder with the rolls idling).")
    back_tension: float = Field(0.0, ge=0, description="Web tension at the inlet end, MPa.")
    front_tension: float = Field(0.0, ge=0, description="Web tension at the outlet end, MPa.")
    elements_per_contact_length: int = Field(12, ge=3, le=400, description="Mesh density "
                                             "along the web, elements per (estimated) contact "
                                             "length sqrt(R dh).")
    travel_contact_lengths: float = Field(4.0, ge=2.5, le=100, description="How far the web "
                                          "is drawn through the nip, in contact lengths (>= 3.5 "
                                          "leaves a steady exit zone of 2 contact lengths).")
    exit_distance: float = Field(0.5, gt=0, le=10, description="How far past the roll "
                                 "centre line a column of the web counts as having left the "
                                 "nip (sprung back), in contact lengths. A foil-backed coating "
                                 "recovers within ~0.5; a free-standing film takes longer.")
    step_fraction: float = Field(0.5, gt=0, le=2, description="Web advance per step, in "
                                                             "elements.")
    closing_steps: int = Field(8, ge=1, le=1000, description="Steps to close the nip.")
    closing_time: float = Field(10.0, gt=0, description="Time over which the nip closes on the "
                                "standing web before it moves, s. Only a rate-dependent coating "
                                "sees it; the default is slow (the start-up material is near "
                                "its long-time state; the exit zone is material that entered "
                                "later at the line speed).")
    penalty_factor: float = Field(5.0, gt=0, description="Roll penalty = factor x E_ref / "
                                  "h_element (-). 5 keeps the penetration below ~0.5 % of the "
                                  "thickness reduction (reported: max_penetration_mm); stiffer "
                                  "penalties make the contact set chatter in Newton.")
    contact_smoothing: float = Field(
        1e-3, ge=0, description="Smoothing of the roll contact's penalty kink: the pressure at "
                                "zero gap, (k delta)/2, is half this fraction of the coating's "
                                "reference modulus (-); 0 = the plain penalty <d>_+.")
    guide_stiffness: float = Field(
        0.1, ge=0, description="The idlers that guide the web, as a weak elastic foundation "
                               "under it, N/mm^3. Without it a first Newton iterate bends the "
                               "free spans (~200x longer than thick) wildly; 0.1 gives a "
                               "beam-on-foundation length of ~0.6 mm and takes ~1e-4 of the "
                               "line load (reported: foundation_force_N_per_mm).")
    controller_gain: float = Field(
        0.5, gt=0, le=1, description="Line-load control while rolling: the fraction of the "
                                     "secant correction of the closure applied per step (-).")
    controller_step_limit: float = Field(
        0.003, gt=0, le=0.1, description="Line-load control while rolling: the largest closure "
                                         "change per step, a fraction of the web thickness "
                                         "(-).")
    closing_fraction: float = Field(
        0.9, gt=0, le=1, description="Line-load control: the nip first closes by geometry to "
                                     "this fraction of the estimated closure, then drives the "
                                     "load (-).")
    closing_fraction_plastic: float = Field(
        0.5, gt=0, le=1, description="The same for a dense plastic layer (e.g. lithium), whose "
                                     "slab estimate is soft against the Q1 web (measured: 0.9 "
                                     "overshot a 4 N/mm target by 90 %) (-).")
    closing_stop_plastic: float = Field(
        0.7, gt=0, le=1, description="A dense plastic layer under line-load control stops the "
                                     "geometric closing once the roll carries this fraction "
                                     "of the target (a plastic nip cannot be unloaded back "
                                     "under force control) (-).")
    tortuosity_exponent_through_plane: float = Field(
        1.0, ge=0, description="Bruggeman exponent alpha (tortuosity = porosity^-alpha) through "
                               "the thickness; larger than in-plane after calendering (seed "
                               "000), 1.0 an assumption (-).")
    tortuosity_exponent_in_plane: float = Field(0.5, ge=0, description="Bruggeman exponent "
                                                "in the plane (isotropic value 0.5) (-).")
    reference_pressure: float = Field(1.0, gt=0, description="Pressure the electronic "
                                      "conductance ratio (p/p_ref)^(1/3) refers to, MPa.")

    @model_validator(mode="after")
    def _control_value(self):
        if self.control == "gap" and self.gap is None:
            raise ValueError("calender.gap (mm) is required for gap control")
        if self.control == "line_load" and self.line_load is None:
            raise ValueError("calender.line_load (N/mm) is required for line-load control")
        if self.web_drive == "rolls" and self.friction == 0.0:
            raise ValueError("a frictionless nip cannot draw the web: set calender.web_drive "
                             "= 'winder' (the outlet end is pulled at the line speed) or give "
                             "calender.friction > 0")
        return self


INTERFACE_LAW_PARAMETERS = {
    "contact": ("normal_stiffness", "friction_coefficient", "tangential_stiffness",
                "stiffness_factor"),
    "bonded": ("normal_stiffness", "tangential_stiffness", "stiffness_factor"),
    "cohesive_bilinear": ("penalty_stiffness", "normal_strength", "shear_strength",
                          "mode_i_toughness", "mode_ii_toughness", "bk_exponent", "viscosity",
                          "max_damage", "stiffness_factor"),
    "cohesive_exponential": ("strength", "toughness", "shear_weight", "compression_stiffness"),
    "interphase": ("normal_modulus", "initial_thickness", "molar_volume", "diffusivity",
                   "concentration", "shear_modulus", "growth_expansion", "adhesive"),
}


class Constriction(_Strict):
    electrolyte: str = Field(description="The layer the ions cross the interface into (a "
                                         "layer next to the interface).")
    conductivity: float = Field(gt=0, description="Ionic conductivity of the electrolyte, S/mm "
                                                  "(1 mS/cm = 1e-4 S/mm).")
    laplace: bool = Field(False, description="Also solve the Laplace problem for the ionic "
                                             "potential in the electrolyte layer with the "
                                             "contact patches as the only conducting part of "
                                             "the interface (2D).")


class InterfaceSpec(_Strict):
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
        allowed = INTERFACE_LAW_PARAMETERS[self.law]
        unknown = sorted(set(self.parameters) - set(allowed))
        if unknown:
            raise ValueError(f"law '{self.law}' has no parameter(s) {', '.join(unknown)}; "
                             f"it takes {', '.join(allowed)}")
        required = {"cohesive_bilinear": ("normal_strength", "shear_strength",
                                          "mode_i_toughness", "mode_ii_toughness",
                                          "bk_exponent"),
                    "cohesive_exponential": ("strength", "toughness"),
                    "interphase": ("normal_modulus", "initial_thickness", "molar_volume",
                                   "diffusivity", "concentration")}.get(self.law, ())
        missing = [key for key in required if key not in self.parameters]
        if missing:
            raise ValueError(f"law '{self.law}' needs parameters {', '.join(missing)}")
        if self.constriction and self.constriction.electrolyte not in (self.lower, self.upper):
            raise ValueError(f"constriction.electrolyte '{self.constriction.electrolyte}' must "
                             f"be '{self.lower}' or '{self.upper}'")
        return self

    @property
    def name(self) -> str:
        return f"interface_{self.lower}_{self.upper}"


class StackLoading(_Strict):
    control: Literal["pressure", "displacement"] = Field(
        "pressure", description="'pressure': a force-controlled rigid plate at `pressure` MPa "
                                "(stack pressure); 'displacement': a clamp moved down by "
                                "`displacement` mm.")
    pressure: float | None = Field(None, gt=0, description="Peak stack pressure, MPa.")
    displacement: float | None = Field(None, gt=0, description="Clamp travel, mm.")
    load_steps: int = Field(5, ge=1, le=100000, description="Steps of the loading ramp (the "
                            "contact fraction and hot-spot ratio are recorded at each: a "
                            "pressure window is swept by one run).")
    load_time: float = Field(1.0, gt=0, description="Duration of the loading ramp, s.")
    hold_time: float = Field(0.0, ge=0, description="Hold at peak (pressure control: the "
                             "pressure is held; displacement control: the clamp is held), s. "
                             "Seconds to months (1 month = 2.63e6 s).")
    hold_steps: int = Field(0, ge=0, le=100000, description="Steps of the hold (equal, or "
                            "growing from hold_first_step).")
    hold_first_step: float | None = Field(None, gt=0, description="First hold step, s: the "
                                          "steps then grow geometrically to cover hold_time "
                                          "in hold_steps steps (a log time axis).")
    hold_max_change: float | None = Field(None, gt=0, lt=1, description="Adaptive hold steps: "
                                          "each step is sized so that the watched pressure "
                                          "(contact_loss.interface's mean interfacial pressure, "
                                          "else the plate pressure) changes by about this "
                                          "fraction; starts at hold_first_step.")
    pressure_history: list[list[float]] = Field(
        default_factory=list, description="After the load (and hold): [[time s, pressure MPa], "
                                          "...] followed one step per entry, linear in between "
                                          "(pressure control).")
    unload_steps: int = Field(0, ge=0, le=100000, description="Steps of the unloading ramp (0: "
                              "no unloading); the last releases the plate.")
    unload_time: float = Field(1.0, gt=0, description="Duration of the unloading, s.")
    lateral: Literal["confined", "free", "symmetric"] = Field(
        "confined", description="Lateral faces: 'confined' = rollers on both (a wide stack), "
                                "'free' = free edges (one point held), 'symmetric' = rollers "
                                "on the left face only (a symmetry plane).")
    cell_type: Literal["quadrilateral", "crossed_triangle"] = Field(
        "quadrilateral", description="2D cells: Q1 quadrilaterals, or crossed triangles (free "
                                     "of volumetric locking under plastic flow).")
    platen_penalty_factor: float = Field(10.0, gt=0, description="Plate penalty = factor x E "
                                         "/ h_element of the top layer (-).")
    al_rtol: float = Field(1e-3, gt=0, lt=1, description="Augmented-Lagrangian tolerance: "
                           "contact gap left at closed points / plate displacement (-).")
    pressure_method: Literal["auto", "bordered", "secant"] = Field(
        "auto", description="Pressure control: 'bordered' Newton (plate position an unknown), "
                            "'secant' on the plate position, 'auto' (secant for rough "
                            "contacts).")

    @model_validator(mode="after")
    def _target(self):
        if self.control == "pressure" and self.pressure is None:
            raise ValueError("stack.pressure (MPa) is required for pressure control")
        if self.control == "displacement" and self.displacement is None:
            raise ValueError("stack.displacement (mm) is required for displacement control")
        if self.hold_time > 0 and self.hold_steps == 0 and self.hold_max_change is None:
            raise ValueError("stack.hold_steps must be >= 1 when stack.hold_time > 0")
        if self.hold_max_change is not None and self.hold_first_step is None:
            raise ValueError("stack.hold_max_change (adaptive steps) needs stack.hold_first_step")
        if self.hold_first_step is not None and self.hold_max_change is None and \
                not self.hold_first_step * self.hold_steps < self.hold_time:
            raise ValueError("stack.hold_first_step x stack.hold_steps must be shorter than "
                             "stack.hold_time (the steps grow from the first)")
        if any(len(entry) != 2 for entry in self.pressure_history):
            raise ValueError("stack.pressure_history: each entry is [time s, pressure MPa]")
        if self.pressure_history:
            if self.control != "pressure":
                raise ValueError("stack.pressure_history needs control = 'pressure'")
            times = [t for t, _ in self.pressure_history]
            if any(b <= a for a, b in zip(times, times[1:])):
                raise ValueError("stack.pressure_history: times must increase")
            if any(p < 0 for _, p in self.pressure_history):
                raise ValueError("stack.pressure_history: pressures must be >= 0 MPa")
        return self


class DelaminationSpec(_Strict):
    test: Literal["dcb", "enf"] = Field("dcb", description="'dcb': double cantilever beam, "
                                        "mode I; 'enf': end-notched flexure, mode II.")
    arm_material: str | None = Field(None, description="Elastic card of both arms (or give "
                                     "youngs_modulus and poisson_ratio).")
    youngs_modulus: float | None = Field(None, gt=0, description="Arm Young's modulus, MPa.")
    poisson_ratio: float | None = Field(None, ge=0, lt=0.5, description="Arm Poisson ratio.")
    arm_thickness: float = Field(gt=0, le=MAX_LENGTH, description="Thickness h of each arm, mm.")
    length: float = Field(gt=0, le=MAX_LENGTH, description="DCB: load line to free end; ENF: span 2L, mm.")
    width: float = Field(1.0, gt=0, le=MAX_LENGTH, description="Specimen width B, mm (forces are N).")
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


class ContactLoss(_Strict):
    interface: str | None = Field(None, description="Watched interface, 'lower_upper' (its "
                                  "mean interfacial pressure or contact fraction); none: the "
                                  "plate pressure.")
    pressure_threshold: float | None = Field(None, gt=0, description="Contact is lost when "
                                             "the mean interfacial pressure falls below this, "
                                             "MPa.")
    fraction_threshold: float | None = Field(None, gt=0, le=1, description="Or when the "
                                             "contact fraction falls below this (-).")

    @model_validator(mode="after")
    def _one_threshold(self):
        if (self.pressure_threshold is None) == (self.fraction_threshold is None):
            raise ValueError("give one of pressure_threshold (MPa) and fraction_threshold")
        if self.fraction_threshold is not None and self.interface is None:
            raise ValueError("fraction_threshold needs an interface")
        return self


class Contact(_Strict):
    penalty_factor: float = Field(
        100.0, gt=0, description="Platen penalty stiffness = factor x E_ref / h_element, with "
                                 "E_ref the stiffest modulus of the pressed layer (-). The "
                                 "penetration p/k is reported (max_penetration_mm); much larger "
                                 "factors only add round-off to the contact force.")


class Solver(_Strict):
    element_degree: Literal[1, 2] = Field(2, description="Lagrange degree of the displacement.")
    newton_rtol: float = Field(1e-9, gt=0, lt=1, description="Newton tolerance, relative to "
                                                             "the internal-force norm (-).")
    newton_atol: float = Field(1e-10, gt=0, description="Absolute residual tolerance, N.")
    max_iterations: int | None = Field(None, ge=1, le=200, description="Newton iterations "
                                       "per step (default: 12 flat press, 25 calender, where "
                                       "contact edges move through the mesh every step).")
    max_cutbacks: int = Field(6, ge=0, le=30, description="Consecutive step halvings allowed "
                                                          "before the run stops.")
    petsc_options: dict[str, str | int | float] = Field(
        default_factory=dict, description="PETSc options for the linear solve, e.g. "
                                          "{ksp_type='gmres', pc_type='gamg'} (default: MUMPS "
                                          "LU; on several ranks up to 60 000 dofs the whole "
                                          "matrix on every rank, which is reproducible run to "
                                          "run; from 300 000 dofs on GMRES with GAMG and the "
                                          "rigid-body near-nullspace). Options not given keep "
                                          "the defaults of the chosen kind (LU or GAMG).")


class CrownSpec(_Strict):
    kind: Literal["none", "parabolic", "cosine", "table"] = Field(
        "none", description="Roll crown shape across the face: 'parabolic' A (1 - (2x/F)^2), "
                            "'cosine' A cos(pi x / F) (x from the face centre, F the face "
                            "length), 'table' (x, crown) pairs, 'none'.")
    amplitude: float = Field(0.0, ge=-1, le=1, description="Crown on the diameter, mm: the "
                             "diameter at the face centre minus at the face edges (industry "
                             "convention); the roll radius, and each roll's share of the gap, "
                             "changes by half of it.")
    table: list[list[float]] = Field(default_factory=list, description="kind = 'table': "
                                     "[x_mm, diameter crown mm] pairs across the face, x from "
                                     "the face centre (linear between them).")

    @model_validator(mode="after")
    def _shape(self):
        if self.kind == "table":
            if len(self.table) < 2 or any(len(row) != 2 for row in self.table):
                raise ValueError("a crown table needs at least two [x_mm, crown_mm] pairs")
            if any(b[0] <= a[0] for a, b in zip(self.table, self.table[1:])):
                raise ValueError("crown table: x must increase")
        return self


class RollBeamSpec(_Strict):
    face_length: float = Field(600.0, gt=0, le=MAX_LENGTH, description="Length of the roll "
                               "body (face), mm; its diameter is 2 x calender.roll_radius.")
    bearing_positions: list[float] = Field(default_factory=lambda: [-450.0, 450.0],
                                           description="[left, right] bearing centres, mm "
                                           "from the face centre (outside the face).")
    journal_diameter: float = Field(250.0, gt=0, le=MAX_LENGTH, description="Diameter of the "
                                    "journals between the face and the bearings and beyond, mm.")
    youngs_modulus: float = Field(210000.0, gt=0, description="Roll (shell) Young's modulus, "
                                  "MPa (steel 210000).")
    poisson_ratio: float = Field(0.3, ge=0, lt=0.5, description="Roll Poisson ratio (-).")
    core_diameter: float = Field(0.0, ge=0, description="Diameter of a core or bore inside the "
                                 "shell, mm (0: solid roll).")
    core_modulus: float = Field(0.0, ge=0, description="Young's modulus of the core, MPa "
                                "(0: a hollow roll with a bore).")
    bending_arm: float = Field(0.0, ge=0, le=MAX_LENGTH, description="Distance from each "
                               "bearing out to where the bending (compensation) force acts on "
                               "the journal end, mm.")
    bending_force: float = Field(0.0, description="Bending force at each journal end, N; "
                                 "positive pushes the journal ends away from the web, which "
                                 "bends the face toward it (closes the gap in the middle).")
    crown: CrownSpec = Field(default_factory=CrownSpec)

    @model_validator(mode="after")
    def _layout(self):
        left, right = (self.bearing_positions + [0.0, 0.0])[:2]
        if len(self.bearing_positions) != 2 or not left <= -0.5 * self.face_length or \
                not right >= 0.5 * self.face_length:
            raise ValueError("bearing_positions: two positions [left, right], mm, at or outside "
                             "the face edges")
        if self.bending_force != 0.0 and self.bending_arm == 0.0:
            raise ValueError("a bending_force needs a bending_arm > 0 (where it acts)")
        return self


class WidthSpec(_Strict):
    coated_width: float = Field(gt=0, le=MAX_LENGTH, description="Width of the coated lane, mm.")
    margins: list[float] = Field(default_factory=lambda: [20.0, 20.0], description="[left, "
                                 "right] widths of the bare foil beside the lane, mm.")
    lane_offset: float = Field(0.0, description="Lane centre from the face centre, mm.")
    coating_thickness: list[list[float]] = Field(
        default_factory=list, description="[x_mm, thickness_mm] pairs across the lane (x from "
        "the lane centre, linear between them): the entry coating thickness, e.g. a thinner "
        "edge zone; empty: the coating layer's thickness everywhere.")
    coating_porosity: list[list[float]] = Field(
        default_factory=list, description="[x_mm, porosity] pairs across the lane: the entry "
        "porosity (-); empty: the coating's initial porosity everywhere.")
    points: int = Field(101, ge=5, le=5001, description="Cross-sections across the coated lane.")
    element_length: float = Field(10.0, gt=0, description="Longest roll beam element outside "
                                  "the lane, mm.")
    top_roll: RollBeamSpec = Field(default_factory=RollBeamSpec)
    bottom_roll: RollBeamSpec = Field(default_factory=RollBeamSpec)
    reductions: list[float] = Field(default_factory=list, description="Thickness reductions "
                                    "(web thickness - gap, mm) of the 2D runs that tabulate the "
                                    "nip; empty: 4, 8, 12, 16, 20, 24 % of the thickest coating.")
    thicknesses: list[float] = Field(default_factory=list, description="Coating thicknesses of "
                                     "the 2D runs, mm; empty: the least and greatest of "
                                     "coating_thickness.")
    porosities: list[float] = Field(default_factory=list, description="Entry porosities of the "
                                    "2D runs; empty: the least and greatest of coating_porosity.")
    response_overrides: list[str] = Field(default_factory=list, description="--set style "
                                          "overrides for the 2D runs only, e.g. a coarser mesh "
                                          "'calender.elements_per_contact_length=4'.")
    response_cache: str = Field("", description="Folder caching the 2D runs ('': "
                                "$NIPSTACK_CACHE_DIR/nip_response or "
                                "~/.cache/nipstack/nip_response).")
    optimise_crown: Literal["none", "parabolic", "cosine"] = Field(
        "none", description="Also find the crown amplitude (same on both rolls, this shape, "
                            "replacing their crowns) that makes the exit porosity most uniform "
                            "across the lane at the run's total load.")
    crown_limit: float = Field(0.05, gt=0, le=1, description="Largest crown amplitude the "
                               "optimiser tries, mm on the diameter.")
    tolerance: float = Field(1e-10, gt=0, description="Coupled solve: largest change of the "
                             "gap between Newton iterations, mm.")

    @model_validator(mode="after")
    def _tables(self):
        if len(self.margins) != 2 or min(self.margins) < 0:
            raise ValueError("margins: two widths [left, right] >= 0, mm")
        for name in ("coating_thickness", "coating_porosity"):
            table = getattr(self, name)
            if table and (any(len(row) != 2 for row in table) or any(
                    b[0] <= a[0] for a, b in zip(table, table[1:]))):
                raise ValueError(f"{name}: [x_mm, value] pairs with x increasing")
            if table and (table[0][0] > -0.5 * self.coated_width + 1e-9 or
                          table[-1][0] < 0.5 * self.coated_width - 1e-9):
                raise ValueError(f"{name}: the table must cover the lane, x from "
                                 f"{-0.5 * self.coated_width} to {0.5 * self.coated_width} mm")
        return self


class Output(_Strict):
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


class Case(_Strict):
    case: CaseInfo
    geometry: Geometry = Field(default_factory=Geometry)
    layers: list[LayerSpec] = Field(default_factory=list, description="Layers, bottom to top; "
                                    "the top layer meets the platen (every kind but "
                                    "delamination needs at least one).")
    loading: Loading | None = Field(None, description="Flat press: load, hold, unload.")
    calender: CalenderSpec | None = Field(None, description="Calendering: the roll nip.")
    stack: StackLoading | None = Field(None, description="Stack: plate loading programme.")
    delamination: DelaminationSpec | None = Field(None, description="Delamination specimen.")
    width: WidthSpec | None = Field(None, description="calender_width: the rolls as beams, "
                                    "the web across its width.")
    interfaces: list[InterfaceSpec] = Field(default_factory=list, description="Stack: "
                                            "interfaces between neighbouring layers.")
    contact_loss: ContactLoss | None = Field(None, description="Stack: when is contact lost "
                                             "(t*, reported in summary.json)?")
    contact: Contact = Field(default_factory=Contact)
    solver: Solver = Field(default_factory=Solver)
    output: Output = Field(default_factory=Output)

    @field_validator("layers")
    @classmethod
    def _unique_names(cls, layers):
        names = [layer.name for layer in layers]
        if len(set(names)) != len(names):
            raise ValueError(f"layer names must be unique, got {names}")
        return layers

    @model_validator(mode="after")
    def _target_fits(self):
        if self.case.kind == "delamination":
            if self.delamination is None:
                raise ValueError("a delamination case needs a [delamination] table")
            return self
        if not self.layers:
            raise ValueError("field required: layers (at least one [[layers]] table)")
        if self.case.kind != "calender":
            cells = self.geometry.elements_width * sum(layer.elements for layer in self.layers)
            if self.geometry.dimension == 3:
                cells *= self.geometry.elements_depth
            if cells > MAX_CELLS:
                raise ValueError(f"the mesh would have {cells:.3g} cells (geometry.elements_"
                                 f"width x the layers' elements{' x elements_depth' if self.geometry.dimension == 3 else ''}); "
                                 f"at most {MAX_CELLS:.3g}")
        if self.case.kind != "stack":
            used = [f"layers.{i}.{key}" for i, layer in enumerate(self.layers)
                    for key in ("waviness", "grading", "waviness_mode", "swelling")
                    if getattr(layer, key) != LayerSpec.model_fields[key].default]
            if (self.interfaces and self.case.kind != "calender") or used or \
                    self.contact_loss:
                what = "interfaces" if self.interfaces else (
                    "contact_loss" if self.contact_loss else used[0])
                raise ValueError(f"{what} only applies to kind = 'stack'"
                                 + (" or 'calender'" if what == "interfaces" else ""))
        if self.case.kind == "stack":
            return self._check_stack()
        if self.interfaces:
            # a calender web with interfaces (roll lamination, e.g. lithium on rough copper):
            # the bands need degree-1 elements, the constriction solve is the stack's
            self._check_interfaces()
            if "element_degree" in self.solver.model_fields_set and \
                    self.solver.element_degree != 1:
                raise ValueError("solver.element_degree: a calender web with [[interfaces]] "
                                 "uses degree 1 (the interface bands need it)")
            self.solver.element_degree = 1
            for index, interface in enumerate(self.interfaces):
                if interface.constriction is not None:
                    raise ValueError(f"interfaces.{index}.constriction: the constriction "
                                     "resistance is computed for kind = 'stack' only")
        if self.case.kind == "calender_width":
            self._check_width()
        if self.case.kind in ("calender", "calender_width"):
            if self.calender is None:
                raise ValueError("a calender case needs a [calender] table")
            total = sum(layer.thickness for layer in self.layers)
            if self.calender.gap is not None and not self.calender.gap < total:
                raise ValueError(f"calender.gap ({self.calender.gap} mm) must be smaller than "
                                 f"the web ({total} mm)")
            return self
        if self.loading is None:
            raise ValueError("a flat_press case needs a [loading] table (field required)")
        top = self.layers[-1]
        if self.loading.control != "pressure" and not self.loading.target < top.thickness:
            raise ValueError(f"loading.target ({self.loading.target} mm) must be smaller than "
                             f"the top layer's thickness ({top.thickness} mm)")
        if self.loading.hold_time > 0 and self.loading.hold_steps == 0:
            raise ValueError("loading.hold_steps must be >= 1 when loading.hold_time > 0")
        return self


    def _check_width(self):
        if self.width is None or self.calender is None:
            raise ValueError("a calender_width case needs [calender] and [width] tables")
        if self.interfaces or len(self.layers) > 2:
            raise ValueError("calender_width: the web is a coating on a foil, or a free film "
                             "(at most two layers, no interfaces)")
        spec = self.width
        web = spec.coated_width + sum(spec.margins)
        for roll in ("top_roll", "bottom_roll"):
            face = getattr(spec, roll).face_length
            left = spec.lane_offset - 0.5 * spec.coated_width - spec.margins[0]
            if left < -0.5 * face - 1e-9 or left + web > 0.5 * face + 1e-9:
                raise ValueError(f"width: the web ({web} mm with margins) does not fit on the "
                                 f"{roll.replace('_', ' ')}'s face ({face} mm)")

    def _check_stack(self):
        if self.stack is None:
            raise ValueError("a stack case needs a [stack] table")
        self._check_interfaces()
        if self.contact_loss and self.contact_loss.interface is not None:
            known = [f"{i.lower}_{i.upper}" for i in self.interfaces]
            if self.contact_loss.interface not in known:
                raise ValueError(f"contact_loss.interface '{self.contact_loss.interface}' is not "
                                 f"an interface of the case ({', '.join(known) or 'none'})")
        if "element_degree" in self.solver.model_fields_set and self.solver.element_degree != 1:
            raise ValueError("solver.element_degree: a stack uses degree 1 (the interface bands "
                             "need it)")
        self.solver.element_degree = 1
        if self.stack.control == "displacement" and \
                not self.stack.displacement < sum(layer.thickness for layer in self.layers):
            raise ValueError("stack.displacement must be smaller than the stack height")
        return self

    def _check_interfaces(self):
        names = [layer.name for layer in self.layers]
        if len(names) < 2 and self.interfaces:
            raise ValueError("interfaces need at least two layers")
        seen = set()
        for index, interface in enumerate(self.interfaces):
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
            if interface.constriction and interface.constriction.laplace and \
                    self.geometry.dimension != 2:
                raise ValueError(f"{where}.constriction.laplace: the Laplace solve is 2D; in 3D "
                                 f"the Holm sum over the contact patches is reported")


def _format_location(loc) -> str:
    return ".".join(str(part) for part in loc)


def _apply_override(data: dict, assignment: str):
    if "=" not in assignment:
        raise CaseError(f"--set '{assignment}': expected key=value, e.g. loading.target=0.06")
    key, raw = assignment.split("=", 1)
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw  # a bare string
    node = data
    parts = key.strip().split(".")
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
    last = parts[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


def load_case(path: str | Path, overrides: list[str] | None = None) -> Case:
    """Read, override and validate a case file, or raise CaseError naming what is wrong."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CaseError(f"cannot read case file '{path}': {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CaseError(f"case file '{path}' is not a text file (not UTF-8 at byte "
                        f"{exc.start})") from None
    if "\x00" in text:
        raise CaseError(f"case file '{path}' is not a text file (it holds NUL bytes)")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CaseError(f"case file '{path}' is not valid TOML: {_toml_problem(text, exc)}"
                        ) from None
    for assignment in overrides or []:
        try:
            _apply_override(data, assignment)
        except CaseError:
            raise
        except (IndexError, ValueError, TypeError, AttributeError):
            raise CaseError(f"--set '{assignment}': no such field in '{path}'") from None
    try:
        case = Case.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = _format_location(first["loc"]) or "(top level)"
        got = first.get("input")
        got_text = "" if isinstance(got, dict) else f" (got {got!r})"
        extra = f" [{len(exc.errors()) - 1} more problem(s)]" if len(exc.errors()) > 1 else ""
        raise CaseError(f"case file '{path}': field '{where}': {first['msg']}{got_text}{extra}"
                        ) from None
    _resolve_card_paths(case, path)
    _check_materials(case, path)
    _resolve_mesh_file(case, path)
    return case


def _resolve_card_paths(case: Case, case_path: Path):
    """A material given as a relative path to a .toml card is looked up next to the case file
    first (then, as before, from the working directory): a case and its own cards can be
    moved together."""
    folder = case_path.resolve().parent
    specs = list(case.layers)
    for spec in specs:
        given = Path(spec.material)
        if given.suffix == ".toml" and not given.is_absolute() and (folder / given).is_file():
            spec.material = str(folder / given)
    arm = case.delamination.arm_material if case.delamination is not None else None
    if arm and Path(arm).suffix == ".toml" and not Path(arm).is_absolute() and \
            (folder / arm).is_file():
        case.delamination.arm_material = str(folder / arm)


def _resolve_mesh_file(case: Case, case_path: Path):
    """geometry.mesh_file as an absolute path (from the case file's folder), or CaseError."""
    given = case.geometry.mesh_file
    if given is None:
        return
    if case.case.kind != "flat_press":
        raise CaseError(f"case file '{case_path}': field 'geometry.mesh_file': a mesh file is "
                        f"read for kind = 'flat_press' only (got {case.case.kind!r})")
    mesh_path = Path(given).expanduser()
    if not mesh_path.is_absolute():
        mesh_path = case_path.resolve().parent / mesh_path
    if not mesh_path.is_file():
        raise CaseError(f"case file '{case_path}': field 'geometry.mesh_file': no file "
                        f"'{mesh_path}'")
    from .meshes.external import MeshFileError, check_mesh_file
    try:
        check_mesh_file(mesh_path, case.layers, case.geometry.dimension)
    except MeshFileError as exc:
        raise CaseError(f"case file '{case_path}': field 'geometry.mesh_file': {exc}") \
            from None
    case.geometry.mesh_file = str(mesh_path)


def _toml_problem(text: str, exc: tomllib.TOMLDecodeError) -> str:
    """tomllib's message, with the key named where it only gives a position (a key or table
    given twice)."""
    message = str(exc)
    line_number = getattr(exc, "lineno", None)
    if line_number is None:
        found = re.search(r"line (\d+)", message)
        line_number = int(found.group(1)) if found else None
    if line_number is None or not ("overwrite" in message or "declare" in message):
        return message
    lines = text.splitlines()
    line = lines[line_number - 1].strip() if 0 < line_number <= len(lines) else ""
    table = re.fullmatch(r"\[\[?\s*([^\]]+?)\s*\]\]?(\s*#.*)?", line)
    if table:
        return f"table [{table.group(1)}] is defined twice (line {line_number})"
    key = line.split("=", 1)[0].strip() if "=" in line else line
    section = ""
    for previous in reversed(lines[:line_number - 1]):
        header = re.fullmatch(r"\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?", previous)
        if header:
            section = header.group(1) + "."
            break
    return f"key '{section}{key}' is given twice (line {line_number})"


def dump_resolved(case: Case) -> str:
    """The case as TOML with every default filled in and every override applied: running it
    repeats the run. Material cards given as paths are written as absolute paths."""
    import tomli_w

    from .materials.cards import CardError, card_path

    data = case.model_dump(mode="python", exclude_none=True)
    for layer in data.get("layers", []):
        material = layer["material"]
        if material.endswith(".toml") or Path(material).exists():
            try:
                layer["material"] = str(card_path(material))
            except CardError:
                pass
    header = ("# nipstack: the resolved case (every default filled in, every --set applied).\n"
              "# `nipstack run THIS_FILE --out NEW_FOLDER` repeats the run.\n")
    return header + tomli_w.dumps(data)


def layer_laws(layers: list[LayerSpec]) -> dict:
    """The constitutive law of every layer, by layer name, from its card (with the layer's
    overrides)."""
    from .materials.cards import load_card

    return {layer.name: load_card(layer.material, overrides=layer.card_overrides())
            for layer in layers}


def _check_materials(case: Case, path: Path):
    from .materials.cards import CardError, load_card

    for index, layer in enumerate(case.layers):
        try:
            load_card(layer.material, overrides=layer.card_overrides())
        except CardError as exc:
            raise CaseError(f"case file '{path}': field 'layers.{index}.material': {exc}") from None
    spec = case.delamination
    if case.case.kind == "delamination" and spec.arm_material is not None:
        try:
            law = load_card(spec.arm_material)
        except CardError as exc:
            raise CaseError(f"case file '{path}': field 'delamination.arm_material': {exc}"
                            ) from None
        if getattr(law, "name", "") != "elastic":
            raise CaseError(f"case file '{path}': field 'delamination.arm_material': the arms "
                            f"must be elastic (card '{spec.arm_material}' is '{law.name}')")


def _model_of(annotation):
    """The pydantic model inside an annotation (Model, Model | None, list[Model]), or None."""
    if getattr(annotation, "model_fields", None) is not None:
        return annotation
    for argument in get_args(annotation):
        model = _model_of(argument)
        if model is not None:
            return model
    return None


def schema_markdown() -> str:
    """Every field with its default and description, for the README and `nipstack check
    --schema` (nested tables such as layers.waviness and interfaces.constriction included)."""
    lines = []

    def describe(model, prefix, indent):
        for name, info in model.model_fields.items():
            default = "required" if info.is_required() else repr(info.get_default(
                call_default_factory=True))
            lines.append(f"{indent}{name} = {default}   # {info.description}")
            nested = _model_of(info.annotation)
            if nested is not None and nested is not Profile:
                lines.append(f"{indent}[{prefix}{name}]")
                describe(nested, f"{prefix}{name}.", indent + "  ")

    for section, info in Case.model_fields.items():
        model = _model_of(info.annotation)
        is_list = get_origin(info.annotation) is list
        lines.append(f"[[{section}]]" if is_list else f"[{section}]")
        if model is not None:
            describe(model, f"{section}.", "  ")
    lines.append("[profile]   (layers.waviness, interfaces.roughness, interfaces.shape)")
    describe(Profile, "profile.", "  ")
    return "\n".join(lines)


def finite(x: float) -> bool:
    return math.isfinite(x)
