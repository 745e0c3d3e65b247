"""The [calender] table: the two-roll nip, its control and the web's path through it."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from .base import MAX_LENGTH, StrictModel


class CalenderSpec(StrictModel):
    roll_radius: float = Field(gt=0, le=MAX_LENGTH, description="Radius of both rolls, mm "
                                                              "(typically 100-400).")
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
    rolling_predictor: Literal["steady", "kinematic"] = Field(
        "steady", description="Start of each rolling step's Newton: 'steady' - the increment "
                              "the web took one element downstream (a steady nip; 4 Newton "
                              "iterations a step on calender_nmc), where that state exists, "
                              "else 'kinematic' - the web moved rigidly with the rolls and "
                              "fitted into the gap.")
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
                                "reference modulus (-); 0 = the plain penalty <d>_+. Keep it "
                                "small: on calender_nmc 1e-2 moves the exit porosity by "
                                "0.02 pp and 2e-2 the line load by 14 % (docs/benchmarks.md).")
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



class NipGeometry(StrictModel):
    """[geometry] of a calender case: the 2D cross-section (default) or a 3D slab through
    the web's width with the coating's edge (meshes/nip_slab.py)."""

    dimension: Literal[2, 3] = Field(2, description="2 = plane-strain cross-section of the "
                                     "web; 3 = a slab through the width: the lane from its "
                                     "centre (a symmetry plane), the tapered edge zone and the "
                                     "bare foil margin.")
    lane_width: float = Field(0.5, gt=0, le=MAX_LENGTH, description="3D: coated lane from its "
                              "centre line (z = 0) to the start of the edge zone, mm.")
    elements_lane: int = Field(2, ge=1, le=10000, description="3D: elements across the lane.")
    edge_width: float = Field(0.0, ge=0, le=MAX_LENGTH, description="3D: edge zone over which "
                              "the coating thins linearly, mm (0: the coating ends square).")
    elements_edge: int = Field(2, ge=1, le=10000, description="3D: elements across the edge "
                               "zone.")
    edge_thickness: float = Field(0.5, gt=0, le=2, description="3D: coating thickness at the "
                                  "outer end of the edge zone (or at the crest, see "
                                  "edge_crest), a fraction of the nominal (-): below 1 the "
                                  "coating thins across the edge zone, above 1 it thickens (a "
                                  "heavy edge, its rim at the coating's end; the rolls first "
                                  "touch the rim).")
    edge_crest: float = Field(1.0, gt=0, le=1, description="3D: where across the edge zone "
                              "the coating reaches edge_thickness, a fraction of the zone from "
                              "the lane (-): 1 = at the coating's end face (a straight taper "
                              "or rim); below 1 a bead whose crest lies inside the edge zone, "
                              "falling from there to edge_end_thickness at the end face (a "
                              "node column is put on the crest).")
    edge_end_thickness: float | None = Field(None, gt=0, le=2, description="3D, with "
                                             "edge_crest < 1: the coating's thickness at its "
                                             "end face, a fraction of the nominal (-).")
    margin_width: float = Field(0.0, ge=0, le=MAX_LENGTH, description="3D: bare foil beyond "
                                "the coating's edge, mm (0: none).")
    elements_margin: int = Field(2, ge=1, le=10000, description="3D: elements across the "
                                 "margin.")
    outer_face: Literal["free", "symmetry"] = Field(
        "free", description="3D: the slab's outer face (z = lane + edge + margin): 'free' (the "
                            "web's edge) or 'symmetry' (u_z = 0: with no edge zone and no "
                            "margin, a slab of the uniform web in plane strain, which must "
                            "give the 2D nip).")

    @model_validator(mode="after")
    def _slab_only_in_3d(self):
        if self.dimension == 2:
            set_3d = sorted(self.model_fields_set - {"dimension"})
            if set_3d:
                raise ValueError(f"geometry: {', '.join(set_3d)} describe a 3D slab; set "
                                 f"geometry.dimension = 3")
        if self.edge_crest < 1.0:
            if self.edge_end_thickness is None:
                raise ValueError("geometry.edge_crest < 1 puts the crest inside the edge zone: "
                                 "give geometry.edge_end_thickness, the coating's thickness at "
                                 "its end face (a fraction of the nominal)")
            if self.elements_edge < 2:
                raise ValueError("geometry.edge_crest < 1 needs geometry.elements_edge >= 2 "
                                 "(elements on both sides of the crest)")
        elif self.edge_end_thickness is not None and \
                self.edge_end_thickness != self.edge_thickness:
            raise ValueError("geometry.edge_end_thickness: with edge_crest = 1 the crest is the "
                             "end face, whose thickness is geometry.edge_thickness")
        return self
