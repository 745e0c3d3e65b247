"""The layers of a web or a stack ([[layers]], bottom to top) and the height profiles that
shape a stack layer's face or an interface."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from .base import MAX_LENGTH, StrictModel


class Profile(StrictModel):
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
        from ..meshes.stack import RandomRoughness, Sinusoid

        if self.kind == "sinusoid":
            return Sinusoid(self.amplitude, self.wavelength, self.phase, self.wavelength_z)
        return RandomRoughness(self.rms, self.correlation_length, self.seed)



class SwellingSpec(StrictModel):
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



class LayerSpec(StrictModel):
    """One layer of a flat press, a calender web or a roll width model."""

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

    @model_validator(mode="before")
    @classmethod
    def _stack_fields(cls, data):
        """A stack layer's own fields given to another kind's layer: one clear message."""
        if isinstance(data, dict):
            for key in data:
                if key not in cls.model_fields and key in StackLayerSpec.model_fields:
                    raise ValueError(f"{key} only applies to the layers of kind = 'stack'")
        return data

    def card_overrides(self) -> dict | None:
        """The card values this layer replaces (None: the card as it is)."""
        overrides = dict(self.parameters)
        if self.initial_porosity is not None:
            overrides["initial_porosity"] = self.initial_porosity
        return overrides or None


class StackLayerSpec(LayerSpec):
    """A layer of a cell stack: the web layer's fields, its mesh grading, the waviness of its
    top face and its lithiation swelling."""

    grading: float = Field(1.0, gt=0, description="Ratio of successive element heights "
                           "through the layer, bottom to top (< 1 finest at the top) (-).")
    waviness: Profile | None = Field(None, description="Thickness waviness - the "
                                     "layer's top face displaced by this profile (the uneven "
                                     "coating hot spot), e.g. {kind = 'sinusoid', amplitude = "
                                     "0.002, wavelength = 0.5}.")
    swelling: SwellingSpec | None = Field(None, description="Lithiation swelling "
                                          "history of this layer (an eigenstrain added to its "
                                          "card's law).")
    waviness_mode: Literal["thickness", "face"] = Field(
        "thickness", description="'thickness' = the layer is thicker where the profile "
                                 "rises and lifts the layers above (the stack is thicker "
                                 "there); 'face' = only its top face moves and the layer above "
                                 "is thinner there (flat stack top).")

    def card_overrides(self) -> dict | None:
        overrides = super().card_overrides() or {}
        if self.swelling is not None:
            overrides["swelling"] = self.swelling.model_dump(exclude_none=True)
        return overrides or None
