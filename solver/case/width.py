"""The [width] table of kind calender_width: the rolls as beams on their bearings (crown,
bending) and the web across its width (coated lane, margins, entry profiles)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from .base import MAX_LENGTH, StrictModel


class CrownSpec(StrictModel):
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


class RollBeamSpec(StrictModel):
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


class WidthSpec(StrictModel):
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
    bottom_coating_thickness: list[list[float]] = Field(
        default_factory=list, description="A double-sided web: [x_mm, thickness_mm] pairs of "
        "the coating under the foil, its own cross-web profile (e.g. another edge taper); "
        "empty: coating_thickness scaled to that coating's nominal thickness.")
    bottom_coating_porosity: list[list[float]] = Field(
        default_factory=list, description="A double-sided web: [x_mm, porosity] pairs of the "
        "coating under the foil; empty: coating_porosity shifted by the difference of the two "
        "coatings' nominal entry porosities.")
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
    bottom_thicknesses: list[float] = Field(default_factory=list, description="Thicknesses of "
                                            "the coating under the foil in the 2D runs, mm, "
                                            "when bottom_coating_thickness is given; empty: "
                                            "its least and greatest.")
    bottom_porosities: list[float] = Field(default_factory=list, description="Entry porosities "
                                           "of the coating under the foil in the 2D runs, when "
                                           "bottom_coating_porosity is given; empty: its least "
                                           "and greatest.")
    response_overrides: list[str] = Field(default_factory=list, description="--set style "
                                          "overrides for the 2D runs only, e.g. a coarser mesh "
                                          "'calender.elements_per_contact_length=4'.")
    ranks_per_run: int = Field(1, ge=1, le=100000, description="MPI ranks per 2D run: under "
                               "mpirun the ranks split into groups of this size, and the groups "
                               "run different 2D nips at the same time (it must divide the "
                               "number of ranks).")
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
        for name in ("coating_thickness", "coating_porosity", "bottom_coating_thickness",
                     "bottom_coating_porosity"):
            table = getattr(self, name)
            if table and (any(len(row) != 2 for row in table) or any(
                    b[0] <= a[0] for a, b in zip(table, table[1:]))):
                raise ValueError(f"{name}: [x_mm, value] pairs with x increasing")
            if table and (table[0][0] > -0.5 * self.coated_width + 1e-9 or
                          table[-1][0] < 0.5 * self.coated_width - 1e-9):
                raise ValueError(f"{name}: the table must cover the lane, x from "
                                 f"{-0.5 * self.coated_width} to {0.5 * self.coated_width} mm")
        return self

