"""The flat press's sections: the strip it presses ([geometry], also the stack's), the load
programme ([loading]) and the platen contact ([contact])."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from .base import MAX_LENGTH, StrictModel


class Geometry(StrictModel):
    dimension: Literal[2, 3] = Field(2, description="2 = plane strain cross-section, 3 = 3D slab.")
    width: float = Field(0.2, gt=0, le=MAX_LENGTH, description="Width of the modelled strip "
                                                               "along x, mm.")
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



class Loading(StrictModel):
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



class Contact(StrictModel):
    penalty_factor: float = Field(
        100.0, gt=0, description="Platen penalty stiffness = factor x E_ref / h_element, with "
                                 "E_ref the stiffest modulus of the pressed layer (-). The "
                                 "penetration p/k is reported (max_penetration_mm); much larger "
                                 "factors only add round-off to the contact force.")

