"""StackCompaction: the layers, the band interfaces, the rigid plate, and what is measured on
them. The loading programme is ``stack.loading``, the pressure control of one step
``stack.pressure``, the records and results ``stack.records``.

Boundary conditions: the bottom on rollers (u_y = 0); the lateral faces on rollers
("confined": uniaxial strain of a wide stack), "free" (one corner held in x [and z]), or
"symmetric" (rollers on the left face only). The plate is a penalty contact on the top face
with stiffness k = platen_penalty_factor x E_top / h_top (E_top the stiffest Young's modulus
of the top layer, h_top its smallest element height).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import dolfinx_solver  # noqa: F401
import numpy as np
import ufl
from dolfinx import fem
from mpi4py import MPI

from ..checkpoint import PhaseJournal
from ..interface_laws import InterfaceSpec, build_interface_laws
from ..interfaces import InterfaceTerm
from ..kinematics import porosity_from_jacobian
from ..materials.cards import load_card
from ..mechanics import MechanicsProblem, constrained_modulus
from ..meshes.stack import StackInterface, StackLayer, build_stack
from ..newton import JumpLimitedNewton
from ..output import rank_zero
from ..stepping import Stepper
from .loading import LoadingProgramme
from .pressure import PlatePressureControl, choose_pressure_method
from .records import StackResults
from .settings import StackSettings

LATERAL_CONDITIONS = ("confined", "free", "symmetric")


@dataclass
class LayerSpec:
    """One layer: a material card (name or path) or a law object, thickness (mm), elements
    through the thickness, optional waviness of its top face, optional card overrides."""

    name: str
    material: object
    thickness: float
    elements: int
    waviness: object | None = None
    overrides: dict | None = None
    grading: float = 1.0      # ratio of successive element heights, bottom to top
    waviness_mode: str = "thickness"    # see meshes.stack.StackLayer


def layer_law(spec: LayerSpec):
    """The material law of a layer: its card (with the overrides) or the law object given."""
    if isinstance(spec.material, (str, Path)):
        return load_card(spec.material, spec.overrides)
    return spec.material


def smallest_element_fraction(spec: LayerSpec) -> float:
    """Smallest element height / thickness of a layer of n elements whose heights grow by the
    ratio r = grading: h_k = h_1 r^(k-1), so h_min / H = min(1, r^(n-1)) (r - 1) / (r^n - 1)."""
    r, n = float(spec.grading), spec.elements
    if abs(r - 1.0) < 1e-12:
        return 1.0 / n
    return min(1.0, r ** (n - 1)) * (r - 1.0) / (r ** n - 1.0)


def largest_jump_change(fraction, interface_specs, element_height) -> float | None:
    """The largest change of an interface jump per Newton iteration, mm: `fraction` x the
    smallest element height of the layers next to a band (None: no limit)."""
    if not (fraction and interface_specs):
        return None
    return fraction * min(min(element_height[s.lower], element_height[s.upper])
                          for s in interface_specs)


class StackCompaction(PlatePressureControl, LoadingProgramme, StackResults):
    """A stack of layers with band interfaces under a rigid plate (Python API).

    layers : LayerSpec list, bottom to top.  interfaces : InterfaceSpec list (levels not
    listed are perfectly bonded through shared nodes).  width (mm), elements_width, dim 2|3,
    depth and elements_depth (3D), x_nodes (optional column positions), cell_type
    ("quadrilateral" | "crossed_triangle", 2D), lateral ("confined" | "free" | "symmetric").
    Keywords `settings` are the fields of StackSettings (tolerances and limits; defaults the
    case schema's).
    """

    def __init__(self, layers, interfaces=(), width: float = 0.1, elements_width: int = 10,
                 dim: int = 2, depth: float | None = None, elements_depth: int = 1,
                 x_nodes=None, cell_type: str = "quadrilateral", lateral: str = "confined",
                 petsc_options: dict | None = None, comm=MPI.COMM_WORLD, log=print,
                 **settings):
        self.comm = comm
        self.log = rank_zero(log, comm)
        self.settings = StackSettings(**settings)
        self.layer_specs = [layer if isinstance(layer, LayerSpec) else LayerSpec(**layer)
                            for layer in layers]
        self.interface_specs = [spec if isinstance(spec, InterfaceSpec) else InterfaceSpec(**spec)
                                for spec in interfaces]
        if lateral not in LATERAL_CONDITIONS:
            raise ValueError(f"lateral must be 'confined', 'free' or 'symmetric', got {lateral!r}")
        self.dim, self.lateral = dim, lateral
        self.laws = {spec.name: layer_law(spec) for spec in self.layer_specs}
        self.stack_mesh = build_stack(
            [StackLayer(s.name, s.thickness, s.elements, s.waviness, s.grading, s.waviness_mode)
             for s in self.layer_specs], width, elements_width,
            [StackInterface(s.lower, s.upper, s.band_thickness, s.band_ratio, s.roughness,
                            s.rough_face, s.shape) for s in self.interface_specs],
            dim=dim, depth=depth, elements_depth=elements_depth, x_nodes=x_nodes,
            cell_type=cell_type, comm=comm)
        self.width, self.depth = width, depth
        self.apparent_area = width * (depth if dim == 3 else 1.0)
        self.element_height = {s.name: s.thickness * smallest_element_fraction(s)
                               for s in self.layer_specs}
        self.interface_laws, self.interface_law_names, self.regularisation = \
            build_interface_laws(self.interface_specs, self.laws, self.element_height)
        self.pressure_method, self.auto_fallback = choose_pressure_method(
            self.settings.pressure_method, self.interface_specs, self.interface_laws,
            self.layer_specs)
        self.fallbacks = 0      # steps the bordered Newton failed and the secant solved
        self.problem = MechanicsProblem(self.stack_mesh, self.laws, degree=1,
                                        petsc_options=petsc_options,
                                        bands=tuple(self.interface_laws))
        self.interfaces = InterfaceTerm(self.problem, self.stack_mesh, self.interface_laws,
                                        self.regularisation, self.settings.gap_tolerance)
        self.hold_faces()
        self.add_plate()
        self.jump_limit = largest_jump_change(self.settings.jump_step_limit,
                                              self.interface_specs, self.element_height)
        self.newton = JumpLimitedNewton(self.problem, self.interfaces, self.jump_limit,
                                        self.settings.newton_rtol, self.settings.newton_atol,
                                        self.settings.max_iterations)
        self.prepare_measures()
        self.compliance_estimate = sum(s.thickness / constrained_modulus(self.laws[s.name])
                                       for s in self.layer_specs)
        self.start_programme()
        self.log(self.describe_model())

    def hold_faces(self):
        """The bottom on rollers; the lateral faces as `lateral` says (see the module)."""
        problem, dim = self.problem, self.dim
        problem.fix_component("bottom", 1)
        if self.lateral == "confined":
            problem.fix_component("left", 0)
            problem.fix_component("right", 0)
            if dim == 3:
                problem.fix_component("front", 2)
                problem.fix_component("back", 2)
        elif self.lateral == "symmetric":
            problem.fix_component("left", 0)
            if dim == 3:
                problem.fix_component("front", 2)
        else:
            problem.fix_node((0.0, 0.0, 0.0), 0)
        if dim == 3 and self.lateral != "confined":
            problem.fix_node((0.0, 0.0, 0.0), 2)
            if self.lateral == "free":
                problem.fix_node((self.width, 0.0, 0.0), 2)

    def add_plate(self):
        """The rigid plate on the top face, at the initial stack height."""
        problem = self.problem
        top = self.layer_specs[-1].name
        self.height0 = self.stack_mesh.height
        self.platen_position = fem.Constant(problem.mesh, self.height0)
        self.platen_penalty = self.settings.platen_penalty_factor * \
            self.laws[top].stiffest_youngs_modulus() / self.element_height[top]
        self.platen = problem.add_rigid_platen(
            "top", self.platen_position, fem.Constant(problem.mesh, self.platen_penalty))

    # --- measures -------------------------------------------------------------------------------
    def prepare_measures(self):
        """Forms and point data of the measures: plate force, plate contact, top-face dofs
        (component 1), reference volume per quadrature point of each layer."""
        problem = self.problem
        self._force = fem.form(self.platen.force)
        # the plate's contact fraction: top-face area it presses / top-face area (reference)
        top_tag = problem.region_tag("top", problem.gdim - 1)
        X = ufl.SpatialCoordinate(problem.mesh)
        pressed = ufl.conditional(ufl.gt(X[1] + problem.u[1] - self.platen_position, 0.0),
                                  1.0, 0.0)
        self._plate_contact = fem.form(pressed * problem.ds(top_tag))
        self._top_area = self.comm.allreduce(
            fem.assemble_scalar(fem.form(self.platen.measure_length)), op=MPI.SUM)
        V = problem.V
        top_dofs = fem.locate_dofs_topological(V.sub(1), problem.gdim - 1,
                                               problem.boundary_facets("top"))
        n_owned = V.dofmap.index_map.size_local * V.dofmap.index_map_bs
        self._top_dofs = top_dofs[top_dofs < n_owned]
        self._top_Y = V.tabulate_dof_coordinates()[self._top_dofs // V.dofmap.index_map_bs, 1]
        detJ = fem.Expression(abs(ufl.JacobianDeterminant(problem.mesh)), problem.points)
        n_owned_cells = problem.mesh.topology.index_map(problem.mesh.topology.dim).size_local
        self._layer_dV = {}
        for region in problem.regions:
            if len(region.cells):
                dv = detJ.eval(problem.mesh, region.cells) * problem.weights[None, :]
                dv[region.cells >= n_owned_cells] = 0.0
                self._layer_dV[region.name] = dv.reshape(-1)
            else:
                self._layer_dV[region.name] = np.zeros(0)
        self.layer_volume0 = {name: self.comm.allreduce(dv.sum(), op=MPI.SUM)
                              for name, dv in self._layer_dV.items()}

    def platen_force(self) -> float:
        return self.comm.allreduce(fem.assemble_scalar(self._force), op=MPI.SUM)

    def plate_contact_fraction(self) -> float:
        """Top-face area the plate presses / top-face area (reference)."""
        pressed = self.comm.allreduce(fem.assemble_scalar(self._plate_contact), op=MPI.SUM)
        return pressed / self._top_area

    def top_height(self) -> float:
        """Highest point of the top face (current), mm."""
        y = self._top_Y + self.problem.u.x.array[self._top_dofs]
        return self.comm.allreduce(float(np.max(y, initial=-np.inf)), op=MPI.MAX)

    def layer_measures(self) -> dict:
        """Mean thickness (current volume / apparent area) and porosity of every layer, from
        det F at the quadrature points of the last material update."""
        out = {}
        for region in self.problem.regions:
            dv = self._layer_dV[region.name]
            volume = self.comm.allreduce(float((region.J * dv).sum()) if len(dv) else 0.0,
                                         op=MPI.SUM)
            porosity0 = region.law.initial_porosity
            if porosity0 > 0 and "porosity" in getattr(region.law, "output_fields", {}):
                # the law knows the porosity (a swelling skeleton: 1 - (1 - phi0) J_sw / J):
                # its current-volume average
                pores = float((region.trial_history["porosity"].reshape(-1) * region.J * dv)
                              .sum()) if len(dv) else 0.0
                porosity = self.comm.allreduce(pores, op=MPI.SUM) / volume
            elif porosity0 > 0:
                porosity = float(porosity_from_jacobian(
                    volume / self.layer_volume0[region.name], porosity0))
            else:
                porosity = 0.0
            out[region.name] = {"thickness": volume / self.apparent_area, "porosity": porosity}
        return out

    def start_programme(self):
        """The state of the loading programme before its first step."""
        self.records = []
        self.snapshots: dict[str, dict] = {}     # phase -> {interface: (header, rows)}
        self.time = 0.0
        self.last_position = self.height0        # plate position at the last converged step
        self.secant_slope = None                 # d position / d pressure, mm/MPa
        self.writer = None
        self.on_step = None       # hook called with each new record (the case runner's)
        self.journal = PhaseJournal()
        self.stepper = Stepper(self.settings.max_cutbacks, self.log)
        self.replay = None        # a checkpoint being replayed (checkpoint.Replay)

    def describe_model(self) -> str:
        names = [spec.name for spec in self.layer_specs]
        topology = self.problem.mesh.topology
        dofs = self.problem.V.dofmap.index_map.size_global * self.dim
        return (f"stack: {len(names)} layers ({', '.join(names)}), "
                f"{len(self.interface_laws)} band interfaces, "
                f"{topology.index_map(topology.dim).size_global} cells, {dofs} dofs")
