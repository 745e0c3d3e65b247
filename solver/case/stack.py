"""The [stack] table (the plate's loading programme) and [contact_loss] (when contact counts
as lost) of a cell stack."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from .base import StrictModel


class StackLoading(StrictModel):
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



class ContactLoss(StrictModel):
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

