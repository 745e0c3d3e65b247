"""A case is one of five kinds, told apart by `case.kind` in its [case] table. Each kind's
model holds only the sections that kind reads; [case] and [output] are every kind's, declared
once in `Case`, and [solver] has each kind's defaults (solver.py).

    flat_press      [geometry] [[layers]] [loading] [contact] [solver]
    calender        [[layers]] [calender] [[interfaces]] (roll lamination) [solver]
    calender_width  [[layers]] [calender] [width] [solver]
    stack           [geometry] [[layers]] [stack] [[interfaces]] [contact_loss] [solver]
    delamination    [delamination] [solver]

`CASE_MODELS` validates a parsed case file with pydantic's callable Discriminator on
`case.kind` (the kind lives in the [case] table, not at the top level). A section of another
kind is refused with one message naming the section and the kinds it applies to.
"""
from __future__ import annotations

from typing import Annotated, ClassVar, Union

from pydantic import Discriminator, Field, Tag, TypeAdapter, field_validator, model_validator

from .base import MAX_CELLS, CaseInfo, Output, StrictModel
from .calender import CalenderSpec, NipGeometry
from .delamination import DelaminationSpec
from .interfaces import InterfaceSpec, check_interfaces
from .layers import LayerSpec, StackLayerSpec
from .press import Contact, Geometry, Loading
from .solver import CalenderSolver, DelaminationSolver, MeshSolver, StackSolver
from .stack import ContactLoss, StackLoading
from .width import WidthSpec


def _table(section: str) -> str:
    return f"[[{section}]]" if section in ("layers", "interfaces") else f"[{section}]"


class Case(StrictModel):
    """What every kind has: the [case] table and the [output] table."""

    kind: ClassVar[str]
    case: CaseInfo
    output: Output = Field(default_factory=Output)

    @model_validator(mode="before")
    @classmethod
    def _sections_of_this_kind(cls, data):
        """A section that another kind reads: say so, not just 'extra input'."""
        if isinstance(data, dict):
            for section in data:
                kinds = SECTION_KINDS.get(section, ())
                if section not in cls.model_fields and kinds:
                    raise ValueError(f"{_table(section)} only applies to kind = "
                                     f"{' or '.join(repr(k) for k in kinds)} (this case is "
                                     f"kind = {cls.kind!r})")
        return data

    def card_names(self) -> list[str]:
        """The material cards the case uses (as given, or resolved by load_case)."""
        return [layer.material for layer in getattr(self, "layers", [])]


class LayeredCase(Case):
    """A case with layers, bottom to top (every kind but delamination)."""

    layers: list[LayerSpec] = Field(min_length=1, description="Layers, bottom to top; the "
                                    "top layer meets the platen or the roll.")

    @field_validator("layers")
    @classmethod
    def _unique_names(cls, layers):
        names = [layer.name for layer in layers]
        if len(set(names)) != len(names):
            raise ValueError(f"layer names must be unique, got {names}")
        return layers

    def _check_cells(self, geometry: Geometry):
        cells = geometry.elements_width * sum(layer.elements for layer in self.layers)
        if geometry.dimension == 3:
            cells *= geometry.elements_depth
        if cells > MAX_CELLS:
            depth = " x elements_depth" if geometry.dimension == 3 else ""
            raise ValueError(f"the mesh would have {cells:.3g} cells (geometry.elements_width "
                             f"x the layers' elements{depth}); at most {MAX_CELLS:.3g}")

    def _check_gap(self, calender: CalenderSpec):
        total = sum(layer.thickness for layer in self.layers)
        if calender.gap is not None and not calender.gap < total:
            raise ValueError(f"calender.gap ({calender.gap} mm) must be smaller than the web "
                             f"({total} mm)")


class FlatPressCase(LayeredCase):
    """kind = 'flat_press': a coated foil between flat rigid platens (laboratory press),
    loaded, held and unloaded."""

    kind: ClassVar[str] = "flat_press"
    geometry: Geometry = Field(default_factory=Geometry)
    loading: Loading = Field(description="Load, hold, unload.")
    contact: Contact = Field(default_factory=Contact)
    solver: MeshSolver = Field(default_factory=MeshSolver)

    @model_validator(mode="after")
    def _target_fits(self):
        self._check_cells(self.geometry)
        top = self.layers[-1]
        if self.loading.control != "pressure" and not self.loading.target < top.thickness:
            raise ValueError(f"loading.target ({self.loading.target} mm) must be smaller than "
                             f"the top layer's thickness ({top.thickness} mm)")
        if self.loading.hold_time > 0 and self.loading.hold_steps == 0:
            raise ValueError("loading.hold_steps must be >= 1 when loading.hold_time > 0")
        return self


class CalenderCase(LayeredCase):
    """kind = 'calender': the web drawn through a two-roll nip; with [[interfaces]] a
    laminated web (roll lamination, e.g. lithium on rough copper)."""

    kind: ClassVar[str] = "calender"
    calender: CalenderSpec = Field(description="The roll nip.")
    geometry: NipGeometry = Field(default_factory=NipGeometry)
    interfaces: list[InterfaceSpec] = Field(default_factory=list, description="Interfaces "
                                            "between neighbouring layers of a laminated web.")
    solver: CalenderSolver = Field(default_factory=CalenderSolver)

    @model_validator(mode="after")
    def _web_fits(self):
        self._check_gap(self.calender)
        if self.geometry.dimension == 3:
            self._check_slab()
        if not self.interfaces:
            return self
        check_interfaces(self.layers, self.interfaces)
        if "element_degree" in self.solver.model_fields_set and \
                self.solver.element_degree != 1:
            raise ValueError("solver.element_degree: a calender web with [[interfaces]] uses "
                             "degree 1 (the interface bands need it)")
        self.solver.element_degree = 1
        for index, interface in enumerate(self.interfaces):
            if interface.constriction is not None:
                raise ValueError(f"interfaces.{index}.constriction: the constriction "
                                 "resistance is computed for kind = 'stack' only")
        return self


    def _check_slab(self):
        geometry = self.geometry
        if self.interfaces:
            raise ValueError("geometry.dimension = 3: a laminated web ([[interfaces]]) is "
                             "solved in 2D only")
        if (geometry.edge_width > 0 or geometry.margin_width > 0) and len(self.layers) < 2:
            raise ValueError("geometry.edge_width / margin_width: a coating edge and a bare "
                             "margin need a coating on a foil (two or more layers)")
        across = geometry.elements_lane + (geometry.elements_edge if geometry.edge_width > 0
                                           else 0)
        cells = 10 * across * sum(layer.elements for layer in self.layers)
        if cells > MAX_CELLS:       # (10 x: a lower bound of the elements along the web)
            raise ValueError(f"the slab would have more than {cells:.3g} cells; at most "
                             f"{MAX_CELLS:.3g}")


class CalenderWidthCase(LayeredCase):
    """kind = 'calender_width': the nip across the full web width - roll bending and crown
    with the local nip response from 2D calender runs."""

    kind: ClassVar[str] = "calender_width"
    calender: CalenderSpec = Field(description="The roll nip (and the 2D runs' settings).")
    width: WidthSpec = Field(description="The rolls as beams, the web across its width.")
    solver: CalenderSolver = Field(default_factory=CalenderSolver)

    @model_validator(mode="after")
    def _web_fits(self):
        self._check_gap(self.calender)
        if len(self.layers) > 3:
            raise ValueError("calender_width: the web is a free film, a coating on a foil, "
                             "or a foil coated on both faces (at most three layers)")
        spec = self.width
        web = spec.coated_width + sum(spec.margins)
        for roll in ("top_roll", "bottom_roll"):
            face = getattr(spec, roll).face_length
            left = spec.lane_offset - 0.5 * spec.coated_width - spec.margins[0]
            if left < -0.5 * face - 1e-9 or left + web > 0.5 * face + 1e-9:
                raise ValueError(f"width: the web ({web} mm with margins) does not fit on the "
                                 f"{roll.replace('_', ' ')}'s face ({face} mm)")
        return self


class CellStackCase(LayeredCase):
    """kind = 'stack': a cell stack with contact / cohesive / bonded interfaces under a rigid
    plate."""

    kind: ClassVar[str] = "stack"
    geometry: Geometry = Field(default_factory=Geometry)
    layers: list[StackLayerSpec] = Field(min_length=1, description="Layers, bottom to top; "
                                         "the top layer meets the plate.")
    stack: StackLoading = Field(description="The plate's loading programme.")
    interfaces: list[InterfaceSpec] = Field(default_factory=list, description="Interfaces "
                                            "between neighbouring layers.")
    contact_loss: ContactLoss | None = Field(None, description="When is contact lost (t*, "
                                             "reported in summary.json)?")
    solver: StackSolver = Field(default_factory=StackSolver)

    @model_validator(mode="after")
    def _stack_fits(self):
        if self.geometry.mesh_file is not None:
            raise ValueError("geometry.mesh_file: a mesh file is read for kind = 'flat_press' "
                             "only")
        self._check_cells(self.geometry)
        check_interfaces(self.layers, self.interfaces)
        for index, interface in enumerate(self.interfaces):
            if interface.constriction and interface.constriction.laplace and \
                    self.geometry.dimension != 2:
                raise ValueError(f"interfaces.{index}.constriction.laplace: the Laplace solve "
                                 f"is 2D; in 3D the Holm sum over the contact patches is "
                                 f"reported")
        if self.contact_loss and self.contact_loss.interface is not None:
            known = [f"{i.lower}_{i.upper}" for i in self.interfaces]
            if self.contact_loss.interface not in known:
                raise ValueError(f"contact_loss.interface '{self.contact_loss.interface}' is not "
                                 f"an interface of the case ({', '.join(known) or 'none'})")
        if self.stack.control == "displacement" and \
                not self.stack.displacement < sum(layer.thickness for layer in self.layers):
            raise ValueError("stack.displacement must be smaller than the stack height")
        return self


class DelaminationCase(Case):
    """kind = 'delamination': a DCB (mode I) or ENF (mode II) specimen with a cohesive
    interface, opened to fracture."""

    kind: ClassVar[str] = "delamination"
    delamination: DelaminationSpec = Field(description="The specimen.")
    solver: DelaminationSolver = Field(default_factory=DelaminationSolver)

    def card_names(self) -> list[str]:
        arm = self.delamination.arm_material
        return [arm] if arm else []


KIND_MODELS: tuple[type[Case], ...] = (FlatPressCase, CalenderCase, CalenderWidthCase,
                                       CellStackCase, DelaminationCase)
#: every section some kind reads -> those kinds
SECTION_KINDS: dict[str, tuple[str, ...]] = {
    section: tuple(model.kind for model in KIND_MODELS if section in model.model_fields)
    for model in KIND_MODELS for section in model.model_fields}


def case_kind(data) -> str | None:
    """The kind of a case given as data (a parsed file) or as a model: `case.kind`."""
    info = data.get("case") if isinstance(data, dict) else getattr(data, "case", None)
    return info.get("kind") if isinstance(info, dict) else getattr(info, "kind", None)


AnyCase = Annotated[Union[tuple(Annotated[model, Tag(model.kind)] for model in KIND_MODELS)],
                    Discriminator(case_kind, custom_error_type="case_kind",
                                  custom_error_message="case.kind must name the kind of case")]
CASE_MODELS = TypeAdapter(AnyCase)
