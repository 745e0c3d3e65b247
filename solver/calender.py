"""Roll-nip calendering: a Lagrangian web drawn through two rigid rolls.

    inlet tail   |<-------------- fine process zone -------------->|   outlet tail
    ====coarse===|==================================================|===coarse====   -> x
                                     top roll (R, surface speed V)
                                         ___
                                       /     \\
    web: coating on foil ------------ > nip  > ------------- (springback after the exit)
                                       \\ ___ /
                                     bottom roll

The web (layers bottom to top; Gmsh `meshes.layered` with a graded x-direction) is long enough
that the material initially upstream of the contact passes through the whole nip during the run
(`travel_contact_lengths` contact lengths a = sqrt(R dh)), enters virgin, is compacted, leaves the
contact and springs back: the exit zone is material that has gone all the way through.

Configurations, from the layers: one layer = free-standing film (dry electrode, powder), rolls on
both faces moving symmetrically; three or more layers with porous outer layers = double-sided
coating, symmetric rolls; otherwise single-sided: the bottom roll (fixed) carries the foil, the
top roll presses the coating.

Phases. (1) closing: the web is held in x on the nip mid-line and guided at both ends (u_y = 0
at one node of each end face), and the rolls close to the gap (gap control) or to the line load
(line-load control, the closure is an unknown of a bordered Newton). (2) rolling: the hold
is released (optional back/front tension instead), and each step the roll surfaces advance by
V dt; friction draws the web through the nip. The dwell time is the contact length / V, so a
rate-dependent coating (DPC relaxation time) sees the real line speed.

Everything is quasi-static; each step is Newton with the consistent tangent.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field

import dolfinx_solver  # noqa: F401
import numpy as np
import ufl
from dolfinx import fem

from mpi4py import MPI

from .case import Case, layer_laws
from .interfaces import InterfaceTerm
from .mechanics import MechanicsProblem, RunIncomplete, StepFailure, constrained_modulus
from .meshes.layered import Layer, build_layered_strip
from .meshes.partition import law_costs
from .meshes.stack import StackInterface, StackLayer, build_stack
from .newton import JumpLimitedNewton, NewtonSolver
from .rolls import Roll, RollContact
from .output import interface_field_writer, rank_zero, write_table
from .interface_laws import build_interface_laws, interface_specs

#: a point of an interface is closed (its void has closed) where the normal gap is below this
#: fraction of the roughness amplitude (half the largest initial gap); the augmented-
#: Lagrangian loop keeps the penetration below the same bound
CLOSURE_TOLERANCE = 0.01
#: default incremental regularisation spring of a contact interface in a calender web, as a
#: fraction of its normal stiffness (see Calender._commit_regularisation). Measured on lithium
#: on rough copper: with the stack's 1e-9 the rolling steps chattered (the foils touch on a few
#: crests outside the nip) and the run stopped; 1e-4 carries < 2 % of the nip pressure.
REGULARISATION_FACTOR = 1e-3
#: multiplier updates allowed in one step
MAX_AL_UPDATES = 20
#: per-interface summary entries copied to the top level as <interface>_<key> (sweep tables)
FLAT_INTERFACE_KEYS = ("void_closure_in_nip", "void_closure_exit",
                       "contact_fraction_exit", "contact_fraction_exit_min",
                       "contact_fraction_exit_spread_pp", "contact_fraction_reached_in_nip",
                       "contact_fraction_under_roll_max", "max_void_height_exit_mm",
                       "max_penetration_mm", "max_pressure_MPa")


@dataclass
class CalenderStep:
    step: int
    phase: str
    time: float               # s
    travel: float             # web drawn through the nip (roll surface advance), mm
    closure: float            # roll closure s, mm
    gap: float                # distance between the roll surfaces, mm
    line_load: float          # top roll, N/mm
    line_load_bottom: float   # bottom roll, N/mm
    torque: float             # top roll, N mm/mm
    contact_length: float     # top roll, mm
    newton_iterations: int
    residuals: list = field(default_factory=list)


#: history.csv column of each CalenderStep field: its name with its unit
HISTORY_COLUMNS = {"time": "time_s", "travel": "travel_mm", "closure": "closure_mm",
                   "gap": "gap_mm", "line_load": "line_load_N_per_mm",
                   "line_load_bottom": "line_load_bottom_N_per_mm",
                   "torque": "torque_Nmm_per_mm", "contact_length": "contact_length_mm",
                   "residuals": "relative_residuals"}


def is_dense_plastic(law) -> bool:
    """A dense (non-porous) plastic layer, e.g. a J2 lithium foil: it does not compact, it
    thins only by flowing sideways."""
    return getattr(law, "initial_porosity", 0.0) == 0.0 and hasattr(law, "yield_stress")


def estimate_reduction(law, thickness: float, radius: float, line_load: float) -> float:
    """Thickness reduction dh (mm) a line load w should give, from the material point alone.

    Uniaxial-strain compaction gives the axial stress sigma(dh); over the entry arc of length
    a = sqrt(R dh) the pressure rises from 0 to sigma, so w ~ sigma a / 2. Solved by bisection.
    Used only to lay out the mesh before the real nip is solved.

    A dense (non-porous) plastic layer (J2: lithium foil) does not compact: it thins only by
    flowing sideways, and in uniaxial strain its stress would rise with the bulk modulus
    (a reduction ~100x too small). For it the slab estimate of a layer squeezed between
    sticking faces is used instead (see `plastic_layer_reduction`)."""
    from .point import run_path

    if is_dense_plastic(law):
        return plastic_layer_reduction(law, thickness, radius, line_load)

    path = run_path(law, "uniaxial-strain", steps=80, max_strain=0.7, unload=False)
    strains = -np.asarray(path["axial_strain"])
    stresses = -np.asarray(path["axial_stress"])

    def load(dh):
        strain = math.log(thickness / (thickness - dh))
        return 0.5 * np.interp(strain, strains, stresses) * math.sqrt(radius * dh)

    low, high = 1e-6 * thickness, (1 - math.exp(-strains.max())) * thickness
    for _ in range(80):
        middle = 0.5 * (low + high)
        low, high = (middle, high) if load(middle) < line_load else (low, middle)
    return 0.5 * (low + high)


def plastic_layer_reduction(law, thickness: float, radius: float, line_load: float) -> float:
    """Thickness reduction dh (mm) of a dense perfectly plastic layer (yield stress Y) on a
    stiff foil that a line load w gives, from the slab method (Johnson & Mellor, Engineering
    Plasticity, ch. 17): the roll indents the layer over a half-width b = sqrt(2 R dh) and the
    layer is squeezed out sideways between two sticking faces (tau = k = Y / sqrt(3): the
    roll's friction exceeds k at these pressures, the foil holds the bottom), so the pressure
    rises from 2k at the edges by 2k/h per unit length, p = 2k (1 + (b - |x|)/h), and

        w = 2k (2b + b^2 / h).

    A layer bonded to a foil that hardly stretches cannot thin by elongating, so rolling
    reaches about this static indentation (measured on lithium on copper: 1.1 N/mm at
    0.64 um, the estimate 1 N/mm at 0.36 um). Used only to lay out the mesh and close the
    nip: the nip itself is solved (the measured contact length is reported)."""
    k = float(law.yield_stress) / math.sqrt(3.0)
    b = thickness * (-1.0 + math.sqrt(1.0 + line_load / (2.0 * k * thickness)))
    return min(b * b / (2.0 * radius), 0.5 * thickness)


def roll_side_densification(through, free_standing: bool) -> float:
    """Porosity of the coating's inner layer minus that of its roll-side surface layer, in
    percentage points (> 0: the roll side leaves denser, as Etiemble et al. 2017 measured on
    LFP: 33.8 % at the surface against 37 % in the bulk). `through` is the exit porosity per
    element row, from the foil side (or the film's lower face) up to the roll side. A foil-backed
    coating compares its roll-side row with the row on the foil; a free-standing film touches a
    roll with both faces, so it compares the mean of its two surface rows with its mid-plane
    (the central row, or the mean of the two central rows)."""
    through = np.asarray(through, dtype=float)
    if not free_standing:
        return float(100.0 * (through[0] - through[-1]))
    n = len(through)
    middle = through[(n - 1) // 2: n // 2 + 1].mean()
    return float(100.0 * (middle - 0.5 * (through[0] + through[-1])))


class Calender:
    def __init__(self, case: Case, comm, log=print):
        self.case, self.comm = case, comm
        self.log = rank_zero(log, comm)
        spec = self.spec = case.calender
        self.laws = laws = layer_laws(case.layers)
        layers = case.layers
        porous = [laws[layer.name].initial_porosity > 0 for layer in layers]
        if len(layers) == 1:
            self.configuration = "free_standing"
        elif len(layers) >= 3 and porous[0] and porous[-1]:
            self.configuration = "double_sided"
        else:
            self.configuration = "single_sided"
        self.symmetric = self.configuration != "single_sided"
        self.coating = layers[-1]                       # the roll-side porous layer on top
        self.dense_plastic_coating = is_dense_plastic(laws[self.coating.name])
        self.thickness = sum(layer.thickness for layer in layers)

        # Nip geometry and mesh layout along the web.
        R = spec.roll_radius
        if spec.control == "gap":
            reduction = self.thickness - spec.gap
        else:
            reduction = estimate_reduction(laws[self.coating.name], self.coating.thickness, R,
                                           spec.line_load)
            if self.symmetric:
                reduction *= 2.0
        self.estimated_reduction = reduction
        per_roll = reduction / (2.0 if self.symmetric else 1.0)
        self.contact_estimate = a = math.sqrt(R * per_roll)
        self.element_length = a / spec.elements_per_contact_length
        if case.interfaces:
            # a rough interface is resolved whatever the contact length (the same roughness
            # sampling at every line load of a sweep): elements at most 1/8 of a sinusoid's
            # wavelength or 1/4 of a random surface's correlation length
            self.element_length = min([self.element_length] + [
                i.roughness.wavelength / 8.0 if i.roughness.kind == "sinusoid"
                else i.roughness.correlation_length / 4.0
                for i in case.interfaces if i.roughness is not None])
        self.travel = spec.travel_contact_lengths * a
        rough = [i.roughness for i in case.interfaces if i.roughness is not None]
        if rough:
            # the exit zone (about the travel less two contact lengths) must hold two whole
            # roughness windows from crest to crest (a sinusoid's wavelength, 5 correlation
            # lengths of a random surface) for its void closure and uniformity to mean anything
            # at any line load
            window = max(r.wavelength if r.kind == "sinusoid" else 5.0 * r.correlation_length
                         for r in rough)
            self.travel = max(self.travel, 2.0 * a + 4.0 * window)
        self.roughness_window = window if rough else None
        margin = 0.5 * a
        tail = 2.0 * a
        fine_length = self.travel + 2.0 * a + 2.0 * margin
        n_fine = max(int(math.ceil(fine_length / self.element_length)), 4)
        segments = [(tail, 3), (fine_length, n_fine), (tail, 3)]
        self.inlet_tail = tail
        self.nip_x = tail + margin + self.travel + a    # roll centres
        self.web_length = 2 * tail + fine_length
        self.interfaces = None           # the band interfaces ([[interfaces]]), if any
        self.interface_laws: dict = {}
        if case.interfaces:
            self._build_banded_web(segments)
            problem = self.problem
        else:
            mesh_layers = [Layer(layer.name, layer.thickness, layer.elements)
                           for layer in layers]
            self.mesh_data = build_layered_strip(mesh_layers, 0.0, 0, comm=comm,
                                                 segments=segments, costs=law_costs(laws))
            self.problem = problem = MechanicsProblem(self.mesh_data, laws,
                                                      case.solver.element_degree,
                                                      case.solver.petsc_options)
        # Rolls: the top roll touches the web's top face at zero closure.
        # Both rolls close symmetrically (each by s), so both touch the web from the first
        # iteration on and its mid-plane stays at the guides' height; gap = thickness - 2 s.
        self.rolls = [Roll("top_roll", "top", R, self.nip_x, self.thickness + R, +1, -1.0),
                      Roll("bottom_roll", "bottom", R, self.nip_x, -R, -1, +1.0)]
        element_height = min(layer.thickness / layer.elements for layer in layers)
        stiffest = max(law.stiffest_youngs_modulus() for law in laws.values())
        coating_modulus = laws[self.coating.name].stiffest_youngs_modulus()
        self.penalty = spec.penalty_factor * coating_modulus / element_height
        self.contact_smoothing_length = spec.contact_smoothing * coating_modulus / self.penalty
        self.nip = RollContact(problem, self.rolls, spec.friction, spec.slip_length,
                               self.penalty, self.contact_smoothing_length)
        self.stiffest_modulus = stiffest
        heights, compliance = [0.0], [0.0]
        for layer in layers:
            heights.append(heights[-1] + layer.thickness)
            compliance.append(compliance[-1] + layer.thickness
                              / constrained_modulus(laws[layer.name]))
        self._compliance_heights = np.array(heights)
        self._compliance_fractions = np.array(compliance) / compliance[-1]

        # Web ends: guided in y at one node of each end face; held in x at the inlet while the
        # nip closes; optional tensions while rolling.
        guide_y = self.thickness / 2.0
        self._guides = []
        for x_end in (0.0, self.web_length):
            self._guides.append(self.problem.node_bc((x_end, guide_y), 1)[0])
        if self.interfaces is not None:
            # the bodies between band interfaces (e.g. the copper foil under the lithium) are
            # guided too, each at its mid-height: otherwise a foil held only by open contacts
            # floats (a rigid-body mode of the first Newton steps)
            for y in self._body_mid_heights():
                if abs(y - guide_y) > 1e-9 * self.thickness:
                    for x_end in (0.0, self.web_length):
                        self._guides.append(self.problem.node_bc((x_end, y), 1)[0])
        # While the nip closes the web is held in x on the nip mid-line (not at an end: a held
        # end puts the slender span between it and the squeezed nip in compression and the
        # span buckles); while rolling only friction holds it.
        self._inlet_hold = self._column_bc(self.nip_x, component=0)
        problem.bcs[:] = self._guides + [self._inlet_hold]
        self.back_tension = fem.Constant(problem.mesh, 0.0)
        self.front_tension = fem.Constant(problem.mesh, 0.0)
        v = ufl.TestFunction(problem.V)
        tdim = problem.mesh.topology.dim
        tension = (self.back_tension * v[0] * problem.ds(problem.region_tag("left", tdim - 1))
                   - self.front_tension * v[0]
                   * problem.ds(problem.region_tag("right", tdim - 1)))
        problem.contacts.append(_ResidualTerm(tension))
        # Web guiding: a weak elastic foundation (k_f, N/mm^3) under the web, standing for the
        # idlers that guide it. The free spans are ~200x longer than thick, so without it a
        # small vertical imbalance in a first Newton iterate bends them wildly; its beam-on-
        # foundation length (4 EI / k_f)^(1/4) is ~0.6 mm and the force it takes is reported
        # (foundation_force_N_per_mm, ~1e-4 of the line load).
        bottom = problem.ds(problem.region_tag("bottom", tdim - 1))
        self.foundation_stiffness = fem.Constant(problem.mesh, float(self.spec.guide_stiffness))
        problem.contacts.append(_ResidualTerm(
            self.foundation_stiffness * problem.u[1] * v[1] * bottom, linear=True))
        self._foundation_force = fem.form(self.foundation_stiffness * problem.u[1] * bottom)

        if self.interfaces is None:
            self.newton = NewtonSolver(problem, case.solver.newton_rtol, case.solver.newton_atol,
                                       case.solver.max_iterations or 25)
        else:
            # a Newton step may change an interface jump by at most a quarter of the smallest
            # neighbouring element height (JumpLimitedNewton, as in the stack)
            self.newton = JumpLimitedNewton(problem, self.interfaces, self._jump_limit,
                                            case.solver.newton_rtol, case.solver.newton_atol,
                                            case.solver.max_iterations or 25)
        self.records: list[CalenderStep] = []
        self.on_step = None
        self.time = 0.0
        self.travelled = 0.0
        self.steady_state_step = None
        self.search = None

    # --- interfaces ([[interfaces]]) ------------------------------------------------------------
    def _build_banded_web(self, segments):
        """The web with zero-thickness interfaces: ``meshes.stack.build_stack`` with the same
        columns as the layered strip (x_nodes from the graded segments), a band for every
        listed interface (with its roughness), the interface laws of the stack
        (``interface_laws.build_interface_laws``: contact k_n = E_soft / h_min, ...), and the
        InterfaceTerm on a degree-1 problem."""
        case, comm = self.case, self.comm
        xs, start = [0.0], 0.0
        for length, elements in segments:
            xs.extend(start + length * np.arange(1, elements + 1) / elements)
            start += length
        self.interface_specs = interface_specs(case)
        stack_layers = [StackLayer(layer.name, layer.thickness, layer.elements)
                        for layer in case.layers]
        stack_interfaces = [StackInterface(s.lower, s.upper, s.band_thickness, s.band_ratio,
                                           s.roughness, s.rough_face, s.shape)
                            for s in self.interface_specs]
        self.mesh_data = build_stack(stack_layers, self.web_length, len(xs) - 1,
                                     stack_interfaces, x_nodes=np.array(xs), comm=comm,
                                     costs=law_costs(self.laws))
        self.thickness = self.mesh_data.height          # layers + bands (+ an upper rough gap)
        element_height = {layer.name: layer.thickness / layer.elements for layer in case.layers}
        laws, names, regularisation = build_interface_laws(self.interface_specs, self.laws,
                                                           element_height)
        for spec in self.interface_specs:     # (see _commit_regularisation)
            if spec.regularisation is None and hasattr(laws[spec.name], "augment"):
                regularisation[spec.name] = REGULARISATION_FACTOR * \
                    laws[spec.name].normal_stiffness
        self.interface_laws, self.interface_law_names = laws, names
        self.interface_regularisation = regularisation
        self.problem = MechanicsProblem(self.mesh_data, self.laws, case.solver.element_degree,
                                        case.solver.petsc_options, bands=tuple(laws))
        self.interfaces = InterfaceTerm(self.problem, self.mesh_data, laws, regularisation)
        h_min = {s.name: min(element_height[s.lower], element_height[s.upper])
                 for s in self.interface_specs}
        self._jump_limit = 0.25 * min(h_min.values())
        # tolerances, by interface: a point is *closed* (the void has closed) where its normal
        # gap is below CLOSURE_TOLERANCE x the roughness amplitude (half the largest initial
        # gap; a flat interface: x the neighbouring element height), and the augmented-
        # Lagrangian loop updates the multipliers while the penetration exceeds it
        self.closure_tolerance = {}
        for spec in self.interface_specs:
            info = self.mesh_data.bands[spec.name]
            scale = 0.5 * info.max_initial_gap if info.max_initial_gap > 0 else h_min[spec.name]
            self.closure_tolerance[spec.name] = CLOSURE_TOLERANCE * scale
        self._contact_bands = [name for name, band in self.interfaces.bands.items()
                               if band.is_contact]
        self.al_updates = 0                    # multiplier updates over the run
        self.regularisation_traction_max = 0.0
        self.interface_history = []            # per step: {name: under-roll statistics}
        self._reached = {name: np.zeros(len(band.area), dtype=bool)
                         for name, band in self.interfaces.bands.items()}
        points = self.interfaces._gap_expression.X()
        mesh = self.problem.mesh
        self._band_position = fem.Expression(ufl.SpatialCoordinate(mesh) + self.problem.u,
                                             points)
        # void closure by volume: the initial void height g0 at every band point (the rough
        # face's opening as built) and the smallest open gap each point has had over the run
        initial = fem.Expression(self.interfaces.initial_gap, points)
        self._void0, self._void_min = {}, {}
        for name, band in self.interfaces.bands.items():
            g0 = initial.eval(mesh, band.cells).reshape(-1) if len(band.cells) else np.zeros(0)
            self._void0[name] = np.maximum(g0, 0.0)
            self._void_min[name] = self._void0[name].copy()

    def _commit_regularisation(self):
        """The regularisation spring of a calender web's interfaces is incremental: it acts on
        the change of the jump within a step, k_r (g - g_step_start) (a viscous-like
        regularisation), so it steadies Newton where the foils touch lightly (outside the nip,
        the copper and lithium float on a few crests: chatter of the contact set) without
        holding the faces to their initial positions. The largest traction it carried at a
        converged step is kept (`regularisation_traction_max`, MPa; reported)."""
        worst = 0.0
        for band in self.interfaces.bands.values():
            if band.regularisation > 0.0 and len(band.cells):
                change = np.abs(band.jump - band.g_ref)[band.owned]
                worst = max(worst, band.regularisation * float(np.max(change, initial=0.0)))
            band.g_ref = band.jump.copy()
        self.regularisation_traction_max = max(self.regularisation_traction_max,
                                               self.comm.allreduce(worst, op=MPI.MAX))

    def _band_state(self, name, fields=None):
        """Per point of band `name` (this rank's owned points): reference X, current x, area,
        normal gap, tangential gap, pressure, traction contact (t_n < 0), closed (gap below
        the closure tolerance). `fields`: the band's point_fields, if already evaluated."""
        term = self.interfaces
        band = term.bands[name]
        if len(band.cells):
            x = self._band_position.eval(self.problem.mesh, band.cells).reshape(-1, 2)[:, 0]
        else:
            x = np.zeros(0)
        fields = term.point_fields(name) if fields is None else fields
        own = band.owned
        closed = fields["gap_normal"] <= self.closure_tolerance[name]
        return {"X": band.coordinates[own, 0], "x": x[own], "area": band.area[own],
                "gap": fields["gap_normal"][own], "slip": fields["gap_tangential"][own],
                "pressure": fields["pressure"][own], "contact": fields["contact"][own] > 0,
                "closed": closed[own], "reached": self._reached[name][own],
                "void0": self._void0[name][own], "void_min": self._void_min[name][own]}

    def _exit_mask(self, X, x):
        """The exit zone, as `exit_profile` defines it: material that started upstream of the
        nip (past the inlet tail) and is now past the roll centre by exit_distance contact
        lengths (sprung back)."""
        a = self.contact_estimate
        return (x > self.nip_x + self.spec.exit_distance * a) & (X < self.nip_x - 1.5 * a) & \
            (X > self.inlet_tail)

    def _contact_arc(self):
        """(entry, exit) x of the top roll's contact arc (current configuration, mm from the
        roll centre line), or None out of contact."""
        surface = self.surface_profile()
        touching = surface[:, 6] > 0
        if not touching.any():
            return None
        return float(surface[touching, 0].min()), float(surface[touching, 0].max())

    def _interface_step_statistics(self):
        """After a converged step: mark the points closed now (`_reached`), and the statistics
        of the interface under the roll (points whose current x lies in the top roll's contact
        arc): contact fraction (t_n < 0), closed fraction, max / mean pressure, max
        penetration. Collective."""
        arc = self._contact_arc()
        out = {}
        for name in self.interface_laws:
            fields = self.interfaces.point_fields(name)
            closed_now = (fields["contact"] > 0) | \
                (fields["gap_normal"] <= self.closure_tolerance[name])
            self._reached[name] |= closed_now
            self._void_min[name] = np.minimum(self._void_min[name],
                                              np.maximum(fields["gap_normal"], 0.0))
            state = self._band_state(name, fields)
            if arc is None:
                under = np.zeros(len(state["X"]), dtype=bool)
            else:
                offset = state["x"] - self.nip_x
                under = (offset >= arc[0]) & (offset <= arc[1])
            area = state["area"][under]
            sums = self.comm.allreduce(np.array([
                area.sum(), (area * state["contact"][under]).sum(),
                (area * state["closed"][under]).sum(),
                (area * state["pressure"][under]).sum(),
                (area * state["void0"][under]).sum(),
                (area * np.maximum(state["gap"][under], 0.0)).sum()]))
            high = [self.comm.allreduce(float(value), op=MPI.MAX) for value in (
                np.max(state["pressure"][under], initial=0.0),
                np.max(-state["gap"], initial=0.0))]
            total = sums[0]
            out[name] = {
                "contact_fraction_under_roll": sums[1] / total if total > 0 else 0.0,
                "closed_fraction_under_roll": sums[2] / total if total > 0 else 0.0,
                "mean_pressure_under_roll_MPa": sums[3] / total if total > 0 else 0.0,
                "void_closure_under_roll": 1.0 - sums[5] / sums[4] if sums[4] > 0 else np.nan,
                "max_pressure_MPa": float(high[0]),
                "max_penetration_mm": float(max(high[1], 0.0)),
            }
        return out

    def _exit_statistics(self, name):
        """The interface over the exit zone at the current state (collective): closed
        fraction (void closure), its spread over windows of one roughness wavelength along
        the web, the largest and mean remaining gap, the fraction that closed at some time in
        the pass, the tangential jump (sliding of the faces, small-sliding check)."""
        state = self._band_state(name)
        exited = self._exit_mask(state["X"], state["x"])
        columns = ("X", "area", "gap", "slip", "closed", "reached", "contact", "void0",
                   "void_min")
        local = np.column_stack([state[key][exited].astype(float) for key in columns]) \
            if exited.any() else np.zeros((0, len(columns)))
        data = np.vstack(self.comm.allgather(local))
        if not len(data):
            return None
        X, area, gap, slip, closed, reached, contact, void0, void_min = data.T
        total = area.sum()
        initial_void = np.sum(area * void0)
        window, phase = self._window_length(name)
        # windows from crest to crest of a sinusoid (phase: the first crest at X = -phase)
        start = X.min() if phase is None else \
            -phase + window * np.ceil((X.min() + phase) / window - 1e-9)
        index = np.floor((X - start) / window).astype(int)
        index[X < start] = -1
        complete = (index >= 0) & \
            (index < int(np.floor((X.max() - start) / window + 1e-9)))   # whole windows only
        fractions = [np.sum(area[(index == k)] * closed[index == k]) / np.sum(area[index == k])
                     for k in np.unique(index[complete])]
        return {
            "contact_fraction_exit": float(np.sum(area * closed) / total),
            "contact_fraction_exit_min": float(min(fractions)) if fractions else None,
            "contact_fraction_exit_max": float(max(fractions)) if fractions else None,
            "contact_fraction_exit_spread_pp": float(100 * np.ptp(fractions))
            if len(fractions) >= 2 else None,
            "exit_windows": len(fractions),
            "exit_window_length_mm": window,
            "compressed_fraction_exit": float(np.sum(area * contact) / total),
            "contact_fraction_reached_in_nip": float(np.sum(area * reached) / total),
            "initial_mean_void_height_exit_mm": float(initial_void / total),
            "void_closure_exit": float(1.0 - np.sum(area * np.maximum(gap, 0.0))
                                       / initial_void) if initial_void > 0 else None,
            "void_closure_in_nip": float(1.0 - np.sum(area * void_min) / initial_void)
            if initial_void > 0 else None,
            "max_void_height_exit_mm": float(max(gap.max(), 0.0)),
            "mean_void_height_exit_mm": float(np.sum(area * np.maximum(gap, 0.0)) / total),
            "max_tangential_jump_exit_mm": float(slip.max()),
            "exit_zone_length_mm": float(np.ptp(X)),
        }

    def _window_length(self, name):
        """(length, crest offset) of the windows the exit-zone uniformity is measured over:
        one wavelength of a sinusoidal roughness, from crest to crest (the offset: crests at
        X = k wavelength - offset), 5 correlation lengths of a random one, else 4 elements
        (offset None: from the start of the exit zone)."""
        spec = next(s for s in self.case.interfaces if f"interface_{s.lower}_{s.upper}" == name)
        rough = spec.roughness
        if rough is not None and rough.kind == "sinusoid":
            return float(rough.wavelength), float(rough.phase) * rough.wavelength / (2 * np.pi)
        if rough is not None:
            return 5.0 * float(rough.correlation_length), None
        return 4.0 * self.element_length, None

    def interface_summary(self) -> dict:
        """Per interface: law, stiffness, tolerances, the exit-zone void closure and its
        uniformity, the contact under the roll (at the end and the largest over the rolling
        steps), penetration and pressure maxima over the run. Collective."""
        out = {}
        rolling = [entry for entry, record in zip(self.interface_history, self.records)
                   if record.phase == "rolling"]
        for spec in self.interface_specs:
            name = spec.name
            law = self.interface_laws[name]
            info = self.mesh_data.bands[name]
            history = [entry[name] for entry in self.interface_history]
            entry = {
                "law": self.interface_law_names[name],
                "normal_stiffness_MPa_per_mm": float(getattr(law, "normal_stiffness", getattr(
                    law, "penalty_stiffness", getattr(law, "initial_stiffness", np.nan)))),
                "friction_coefficient": float(getattr(law, "friction_coefficient", np.nan)),
                "regularisation_MPa_per_mm": self.interface_regularisation.get(name, 0.0),
                "band_thickness_mm": info.thickness,
                "max_initial_gap_mm": info.max_initial_gap,
                "closure_tolerance_mm": self.closure_tolerance[name],
                "contact_fraction_under_roll": rolling[-1][name]["contact_fraction_under_roll"]
                if rolling else None,
                "contact_fraction_under_roll_max": max(
                    (e[name]["contact_fraction_under_roll"] for e in rolling), default=None),
                "closed_fraction_under_roll": rolling[-1][name]["closed_fraction_under_roll"]
                if rolling else None,
                "mean_pressure_under_roll_MPa": rolling[-1][name]["mean_pressure_under_roll_MPa"]
                if rolling else None,
                "void_closure_under_roll": rolling[-1][name]["void_closure_under_roll"]
                if rolling and np.isfinite(rolling[-1][name]["void_closure_under_roll"])
                else None,
                "max_pressure_MPa": max((h["max_pressure_MPa"] for h in history), default=0.0),
                "max_penetration_mm": max((h["max_penetration_mm"] for h in history),
                                          default=0.0),
            }
            if info.max_initial_gap > 0:
                entry["max_penetration_over_amplitude"] = entry["max_penetration_mm"] / (
                    0.5 * info.max_initial_gap)
            exit_stats = self._exit_statistics(name)
            if exit_stats is not None:
                entry.update(exit_stats)
                entry["max_tangential_jump_over_element"] = \
                    exit_stats["max_tangential_jump_exit_mm"] / self.element_length
            out[name] = entry
        return out

    def interface_profile(self, name):
        """Rows along the web (rank 0; None elsewhere): the band's points averaged over each
        column (same reference X): reference x, current x from the roll centre line, normal
        gap, tangential jump, pressure, contact (t_n < 0), closed, closed at some time in the
        pass, in the exit zone."""
        state = self._band_state(name)
        exited = self._exit_mask(state["X"], state["x"])
        keys = ("x", "gap", "slip", "pressure", "contact", "closed", "reached")
        local = np.column_stack([state["X"], state["area"]]
                                + [state[k].astype(float) for k in keys] + [exited])
        gathered = self.comm.gather(local, root=0)
        if self.comm.rank != 0:
            return None
        data = np.vstack(gathered)
        data = data[np.argsort(data[:, 0], kind="stable")]
        key = np.round(data[:, 0] / (1e-6 * self.element_length)).astype(np.int64)
        unique, start = np.unique(key, return_index=True)
        rows = []
        for k, first in enumerate(start):
            last = start[k + 1] if k + 1 < len(start) else len(data)
            members = data[first:last]
            weight = members[:, 1]
            mean = (members[:, 2:] * weight[:, None]).sum(axis=0) / weight.sum()
            mean[0] -= self.nip_x
            rows.append([members[0, 0], *mean])
        header = ["reference_x_mm", "x_from_nip_centre_mm", "gap_normal_mm",
                  "gap_tangential_mm", "pressure_MPa", "contact", "closed",
                  "closed_during_pass", "exit_zone"]
        return header, np.array(rows)

    def field_writer(self, path):
        """The ParaView writer (``run_case``): with interfaces, the interface gap, pressure,
        damage and contact on the band cells are added (``output.interface_field_writer``)."""
        from pathlib import Path

        from .output import FieldWriter

        if self.interfaces is None:
            return FieldWriter(self.problem, Path(path))
        return interface_field_writer(self.problem, self.interfaces, self.interface_laws, path)

    def picture_view(self) -> dict:
        """What the pictures show (``pictures``): the nip, three contact lengths each side of
        the roll centre, with x measured from it."""
        window = 3.0 * self.contact_estimate
        return {"case": self.case.case.name, "title": "nip region",
                "x_window_mm": [self.nip_x - window, self.nip_x + window],
                "x_origin_mm": self.nip_x,
                "x_label": "x from the roll centre (mm; the web moves to +x)"}

    def _body_mid_heights(self) -> list[float]:
        """Mid-heights of the bodies the band interfaces separate (nominal levels, mm)."""
        bottoms = self.mesh_data.layer_bottoms
        names = [layer.name for layer in self.case.layers]
        cuts = [0] + [names.index(s.upper) for s in self.interface_specs] + [len(names)]
        cuts = sorted(set(cuts))
        heights = []
        for first, end in zip(cuts[:-1], cuts[1:]):
            low = bottoms[names[first]]
            high = bottoms[names[end - 1]] + self.case.layers[end - 1].thickness
            heights.append(0.5 * (low + high))
        return heights

    def _coating_base(self) -> str:
        """Facet group of the roll-side coating's bottom face (its band's top face when the
        level below it is a band interface)."""
        if len(self.case.layers) == 1:
            return "bottom"
        name = f"interface_{self.case.layers[-2].name}_{self.coating.name}"
        return f"{name}_top" if name in self.interface_laws else name

    # --- boundary conditions ------------------------------------------------------------------
    def _column_bc(self, x0, component):
        """u_component = 0 on the nodes of the web column nearest to x = x0."""
        V = self.problem.V
        sub, _ = V.sub(component).collapse()
        xs = sub.tabulate_dof_coordinates()[:, 0]
        local_best = xs[np.argmin(np.abs(xs - x0))] if len(xs) else np.inf
        target_x = min(self.comm.allgather(local_best), key=lambda x: abs(x - x0))
        dofs = fem.locate_dofs_geometrical((V.sub(component), sub),
                                           lambda x: np.isclose(x[0], target_x))
        return fem.dirichletbc(np.float64(0.0), dofs[0], V.sub(component))

    def _winder_bc(self):
        """The winder: u_x of the outlet end face follows its position at the start of rolling
        plus the web travel (`self._winder_value`, a function on the x-component space)."""
        problem = self.problem
        facets = problem.boundary_facets("right")
        sub, collapse_map = problem.V.sub(0).collapse()
        dofs = fem.locate_dofs_topological((problem.V.sub(0), sub),
                                           problem.mesh.topology.dim - 1, facets)
        self._winder_value = fem.Function(sub)
        self._winder_dofs = dofs        # [parent dofs, collapsed dofs]
        return fem.dirichletbc(self._winder_value, dofs, problem.V.sub(0))

    def _set_winder(self, travel):
        parent, collapsed = self._winder_dofs
        self._winder_value.x.array[collapsed] = self._winder_start[collapsed] + travel
        self._winder_value.x.scatter_forward()

    # --- predictor -------------------------------------------------------------------------------
    def _fit_columns_into_gap(self):
        """Geometric predictor: squeeze each web column (nodes of equal reference x) linearly in
        y so that its top and bottom lie inside the roll surfaces at the current closure.
        Newton then starts without the large penetration a closing step would otherwise put
        on a few surface nodes (which inverts thin elements in the first iterate)."""
        V = self.problem.V
        coordinates = V.tabulate_dof_coordinates()[:, :2]
        u = self.problem.u.x.array.reshape(-1, 2)
        columns = np.round(coordinates[:, 0] / (1e-3 * self.element_length)).astype(np.int64)
        # current top and bottom of every column, over all ranks
        local = {}
        for key, y in zip(columns, coordinates[:, 1] + u[:, 1]):
            low, high = local.get(key, (np.inf, -np.inf))
            local[key] = (min(low, y), max(high, y))
        merged = {}
        for part in self.comm.allgather(local):
            for key, (low, high) in part.items():
                old_low, old_high = merged.get(key, (np.inf, -np.inf))
                merged[key] = (min(old_low, low), max(old_high, high))
        s = float(self.nip.position.value)
        top, bottom = self.rolls
        x = coordinates[:, 0] + u[:, 0]
        xi2 = (x - top.centre_x) ** 2
        inside = xi2 < top.radius ** 2
        sag = xi2 / (top.radius + np.sqrt(np.maximum(top.radius ** 2 - xi2, 0.0)))  # R - chord
        top_apex = top.centre_y0 - top.radius - s
        bottom_apex = bottom.centre_y0 + bottom.radius + s
        # a 1e-9 mm overlap (penalty pressure ~0.05 MPa): the surface must be *in* contact,
        # not on the kink of max(d, 0) where the contact stiffness is zero for Newton
        overlap = 1e-9
        ceiling = np.where(inside, top_apex + sag + overlap, np.inf)      # just inside the roll
        floor = np.where(inside, bottom_apex - sag - overlap, -np.inf)
        low = np.array([merged[key][0] for key in columns])
        high = np.array([merged[key][1] for key in columns])
        new_low = np.maximum(low, floor)
        new_high = np.minimum(high, ceiling)
        squeeze = (new_high > new_low) & ((new_low > low) | (new_high < high))
        # the squeeze goes where the compliance is: weight by the cumulative oedometric
        # compliance int_0^Y dY / M(Y) of the layers below a node (a stiff foil takes ~none)
        fraction = np.interp(coordinates[:, 1], self._compliance_heights,
                             self._compliance_fractions)
        shift = (new_low - low) + fraction * ((new_high - high) - (new_low - low))
        u[:, 1] = np.where(squeeze, u[:, 1] + shift, u[:, 1])
        self.problem.u.x.scatter_forward()

    def _control_line_load(self):
        """Line-load control while rolling, step by step like a calender's hydraulics: each
        step is solved at a fixed closure, and before it the closure is corrected by a secant
        on the (closure, line load) history of the rolling steps (relaxed by 0.5 and limited to
        0.3 % of the web thickness per step: larger jumps made steps fail; the first
        correction uses twice the closing stiffness dw/ds). At steady state the line load is
        the target and `gap_mm` is the gap it took. (The fully coupled bordered Newton works
        for the loading phase but not across the static-to-rolling change of the contact.)

        A rough interface in the web makes the load ripple at a fixed closure as the
        roughness passes through the nip (+-10 % on lithium on copper), and a secant between
        two steps is then noise: it can be ~0 and ask for a huge opening (measured at 4 N/mm:
        an opening of 0.11 um dropped 4.4 N/mm to 0.28, the plastic nip unloads elastically).
        There the controller acts on the mean load over the last roughness window and uses
        the static closing stiffness dw/ds as the slope (measured on the test copy of the
        lithium case: the exit zone rolled at 0.98 / 4.02 N/mm for 1 / 4 N/mm targets,
        within -8 / +5 % step to step)."""
        target = self.spec.line_load
        rolling = [r for r in self.records if r.phase == "rolling"]
        previous = rolling[-1] if rolling else self.records[-1]
        closing = [r for r in self.records if r.phase == "closing"]
        closing_slope = 2.0 * (closing[-1].line_load - closing[-2].line_load) / (
            closing[-1].closure - closing[-2].closure)
        if self.roughness_window is not None:
            advance = self.spec.step_fraction * self.element_length
            window = rolling[-max(1, int(round(self.roughness_window / advance))):] or [previous]
            measured = float(np.mean([r.line_load for r in window]))
            slope = 0.5 * closing_slope
        else:
            measured, slope = previous.line_load, None
            for older in reversed(rolling[:-1]):
                if abs(older.closure - previous.closure) > 1e-12 * self.thickness:
                    slope = (previous.line_load - older.line_load) / (previous.closure
                                                                       - older.closure)
                    break
            if slope is None or slope <= 0.0:
                slope = closing_slope
        correction = self.spec.controller_gain * (target - measured) / slope
        limit = self.spec.controller_step_limit * self.thickness
        self.nip.position.value = previous.closure + max(-limit, min(limit, correction))
        self._fit_columns_into_gap()

    # --- steps ---------------------------------------------------------------------------------
    def _solve(self, force_target=None):
        control = None if force_target is None else (self.nip, force_target)
        report = self.newton.solve(force_control=control)
        if self.interfaces is None or not self._contact_bands:
            return report
        # augmented Lagrangian (Uzawa): while the penetration of a contact interface exceeds
        # its closure tolerance, update the multipliers and solve again
        updates = 0
        while True:
            worst = max(self.interfaces.constraint_violation(name) / self.closure_tolerance[name]
                        for name in self._contact_bands)
            if worst <= 1.0:
                break
            if updates >= MAX_AL_UPDATES:
                raise StepFailure(f"augmented Lagrangian: penetration {worst:.3g} x the closure "
                                  f"tolerance after {updates} updates")
            self.interfaces.augment()
            updates += 1
            again = self.newton.solve(force_control=control)
            report.iterations += again.iterations
            report.residuals += again.residuals
        self.al_updates += updates
        return report

    def _advance(self, phase, set_load, values, dt_of, stop_when=None):
        """Advance through `values` (closure, line load or travel) with halving on failure;
        the remaining values are skipped once `stop_when()` is true after a step."""
        pending = list(values)
        previous = self._phase_start
        cutbacks = 0
        while pending:
            target = pending[0]
            saved_u = self.problem.u.x.array.copy()
            saved_closure = float(self.nip.position.value)
            saved_interfaces = self.interfaces.save_state() if self.interfaces else None
            try:
                force_target = set_load(target, previous, dt_of(target, previous))
                report = self._solve(force_target)
            except StepFailure as failure:
                self.problem.u.x.array[:] = saved_u
                self.nip.position.value = saved_closure
                if saved_interfaces is not None:      # (the AL updates change the history)
                    self.interfaces.restore_state(saved_interfaces)
                if cutbacks >= self.case.solver.max_cutbacks:
                    raise RunIncomplete(f"{phase} step towards {target:.6g} failed after "
                                        f"{cutbacks} cut-backs: {failure}") from None
                cutbacks += 1
                self.log(f"  cut-back {cutbacks}: {failure}; retrying with half the increment")
                pending.insert(0, 0.5 * (previous + target))
                continue
            self.problem.commit()
            self.nip.commit()
            if self.interfaces is not None:
                self._commit_regularisation()
            cutbacks = max(cutbacks - 1, 0)
            pending.pop(0)
            self._after_step(phase, target, previous, report)
            previous = target
            if stop_when is not None and pending and stop_when():
                break
        self._phase_start = previous

    def _close_to_line_load(self, close, closure, tolerance=0.03, max_steps=8):
        """Line-load control of a dense plastic layer's nip before it rolls: more geometric
        closing steps, each aimed by the secant of the last two (closure, line load) points
        (relaxed by 0.8, at most twice the previous increment), until the line load is within
        `tolerance` below the target or above it. (The force-controlled loading steps of a
        porous coating stall here: with the interface band, the bordered Newton's first
        closure change moves the interface jumps by more than the jump limit, and the limited
        steps make no progress - measured on lithium at 4 N/mm.) The rolling controller takes
        it from there."""
        target = self.spec.line_load
        for _ in range(max_steps):
            last = self.records[-1]
            if last.line_load >= (1.0 - tolerance) * target:
                return      # (an overshoot is left to the rolling controller: backing off
                #            unloads the plastic nip elastically, w falls steeply, the secant
                #            is then wrong)
            before = (self.records[-2].closure, self.records[-2].line_load) \
                if len(self.records) >= 2 else (0.0, 0.0)
            increment = last.closure - before[0]
            slope = (last.line_load - before[1]) / increment if increment else 0.0
            if slope <= 0.0:
                step = abs(increment)
            else:
                step = min(2.0 * abs(increment), 0.8 * (target - last.line_load) / slope)
            self._advance("closing", close, [last.closure + step],
                          lambda value, previous: self.spec.closing_time * abs(value - previous)
                          / closure)

    def _after_step(self, phase, target, previous, report):
        if phase == "rolling":
            self.travelled = target
        self.time += self.problem.dt
        loads = self.nip.line_loads()
        record = CalenderStep(
            step=len(self.records) + 1, phase=phase, time=self.time, travel=self.travelled,
            closure=float(self.nip.position.value), gap=self.gap(), line_load=loads[0],
            line_load_bottom=loads[1], torque=self.nip.converged_torques[0],
            contact_length=self.nip.contact_lengths()[0], newton_iterations=report.iterations,
            residuals=report.residuals)
        self.records.append(record)
        message = (f"step {record.step:3d} {phase:8s} t={record.time:9.4g} s  "
                   f"travel={record.travel:7.3f} mm  gap={record.gap * 1e3:8.3f} um  "
                   f"w={record.line_load:8.3f} N/mm  contact={record.contact_length:6.3f} mm  "
                   f"newton={report.iterations}  |r|/|f|: "
                   + " ".join(f"{r:.1e}" for r in report.residuals))
        if self.interfaces is not None:
            statistics = self._interface_step_statistics()
            self.interface_history.append(statistics)
            message += "".join(f"  {name[10:]}: f_roll={s['contact_fraction_under_roll']:.4f}"
                               for name, s in statistics.items())
        if phase == "rolling" and record.step % 5 == 0:
            profile = self.exit_profile()
            if profile is not None and len(profile[1]) >= 3:
                spread = 100 * (profile[1].max() - profile[1].min())
                message += f"  exit porosity {profile[1].mean():.4f} (spread {spread:.2f} pp)"
                if self.steady_state_step is None and spread < 0.5 and \
                        profile[0].max() - profile[0].min() >= self.contact_estimate:
                    self.steady_state_step = record.step
                    message += "  <- steady state"
        self.log(message)
        if self.on_step is not None:
            self.on_step(record, self)

    def gap(self) -> float:
        s = float(self.nip.position.value)
        return self.thickness - 2.0 * s

    def run(self):
        started = time.perf_counter()
        spec = self.spec
        self._phase_start = 0.0
        self.problem.dt = 0.0
        n = spec.closing_steps

        def close(value, previous, dt):
            self.nip.position.value = value
            self.problem.dt = dt
            self._fit_columns_into_gap()
            return None

        if spec.control == "gap":
            closure = (self.thickness - spec.gap) / 2.0
        else:   # close by geometry to 90 % of the estimated closure, then drive the load
            closure = spec.closing_fraction * self.estimated_reduction / 2.0
            if self.dense_plastic_coating:
                # (the slab estimate of a plastic layer is soft against the Q1 web: measured on
                # lithium on copper, 90 % of it overshot a 4 N/mm target by 90 %, and a
                # force-controlled unloading of the plastic nip does not converge)
                closure = spec.closing_fraction_plastic * self.estimated_reduction / 2.0
        # on a dense plastic layer under line-load control the geometric closing stops early
        # once the roll carries 70 % of the target (the slab estimate can be far off, and a
        # nip that has overshot would have to be unloaded under force control, which a plastic
        # nip does not follow: measured on lithium at 8 N/mm, the full closure gave 11.7 N/mm)
        enough = None if spec.control == "gap" or not self.dense_plastic_coating else \
            (lambda: self.records[-1].line_load >= spec.closing_stop_plastic * spec.line_load)
        self._advance("closing", close, [closure * (k + 1) / n for k in range(n)],
                      lambda value, previous: spec.closing_time * (value - previous) / closure,
                      stop_when=enough)
        if spec.control == "line_load" and self.dense_plastic_coating:
            self._close_to_line_load(close, closure)
        elif spec.control == "line_load":
            start = self.records[-1].line_load

            def press(value, previous, dt):
                self.problem.dt = dt
                return value
            self._phase_start = start
            m = max(2, n // 2)
            self._advance("loading", press,
                          [start + (spec.line_load - start) * (k + 1) / m for k in range(m)],
                          lambda value, previous: spec.closing_time / m)
        # rolling: release the inlet hold, apply tensions, advance the roll surfaces (the
        # winder, if it drives the web, pulls the outlet end by the same travel)
        self.problem.bcs[:] = self._guides
        if spec.web_drive == "winder":
            winder = self._winder_bc()
            parent, collapsed = self._winder_dofs
            self._winder_start = np.zeros_like(self._winder_value.x.array)
            self._winder_start[collapsed] = self.problem.u.x.array[parent]
            self._set_winder(0.0)
            self.problem.bcs.append(winder)
        self.back_tension.value = spec.back_tension
        self.front_tension.value = spec.front_tension
        advance = spec.step_fraction * self.element_length
        steps = int(math.ceil(self.travel / advance))
        travels = [self.travel * (k + 1) / steps for k in range(steps)]
        self._phase_start = 0.0

        def roll(value, previous, dt):
            advance = value - previous
            self.nip.surface_advance.value = advance
            self.problem.dt = dt
            # kinematic predictor: the web moves with the roll surfaces (no slip), and the
            # columns that now lie under the rolls are fitted into the gap
            u = self.problem.u.x.array.reshape(-1, 2)
            u[:, 0] += advance
            self.problem.u.x.scatter_forward()
            if spec.web_drive == "winder":
                self._set_winder(value)
            self._fit_columns_into_gap()
            if spec.control == "line_load":
                self._control_line_load()
            return None
        self._advance("rolling", roll, travels,
                      lambda value, previous: (value - previous) / spec.line_speed)
        self.wall_time = time.perf_counter() - started
        return self.records

    # --- post-processing --------------------------------------------------------------------
    def _cells(self, layer=None):
        """Per cell of a layer (default: the roll-side coating), gathered from all ranks:
        reference and current centroid, porosity, volume ratio J, plastic volumetric strain
        (quadrature-weighted cell averages)."""
        problem = self.problem
        name = (layer or self.coating).name
        region = next(r for r in problem.regions if r.name == name)
        mesh = problem.mesh
        n_owned = mesh.topology.index_map(mesh.topology.dim).size_local
        owned = region.cells < n_owned
        X_expr = fem.Expression(ufl.SpatialCoordinate(mesh), problem.points)
        x_expr = fem.Expression(ufl.SpatialCoordinate(mesh) + problem.u, problem.points)
        cells = region.cells[owned]
        w = problem.weights / problem.weights.sum()
        X = np.einsum("cqi,q->ci", X_expr.eval(mesh, cells), w)
        x = np.einsum("cqi,q->ci", x_expr.eval(mesh, cells), w)
        fields = problem.region_fields(region)
        average = {k: problem.cell_average(region, v)[owned] for k, v in fields.items()}
        data = np.column_stack([X, x, average["porosity"], average["volume_ratio"],
                                average.get("plastic_volumetric_strain",
                                            np.zeros(len(cells)))])
        gathered = self.comm.allgather(data)
        return np.vstack(gathered)

    def exit_profile(self, cells=None):
        """Exit porosity along the web: (X of each exited column, its mean porosity)."""
        cells = self._cells() if cells is None else cells
        a = self.contact_estimate
        X, x, porosity, J = cells[:, 0], cells[:, 2], cells[:, 4], cells[:, 5]
        exited = (x > self.nip_x + self.spec.exit_distance * a) & \
            (X < self.nip_x - 1.5 * a) & \
                 (X > self.inlet_tail)
        if not exited.any():
            return None
        columns = np.round(X[exited] / (0.5 * self.element_length)).astype(int)
        keys = np.unique(columns)
        column_x = np.array([X[exited][columns == k].mean() for k in keys])
        # volume-weighted (J) porosity of each column: 1 - solid volume / volume
        column_porosity = np.array([
            np.sum(J[exited][columns == k] * porosity[exited][columns == k])
            / np.sum(J[exited][columns == k]) for k in keys])
        return column_x, column_porosity, exited

    def surface_profile(self):
        """Nodal profile of the top surface, sorted along the web: x from the roll centre line,
        y, contact pressure p, roll normal (n_x, n_y), shear traction on the web (MPa, > 0
        drives it forward; the regularised Coulomb law on the last step's slip), penetration
        into the roll (mm, > 0 in contact). The values are the solver's own contact law
        (``RollContact.surface_values``) at the nodes."""
        problem = self.problem
        V = problem.V
        facets = problem.boundary_facets("top")
        dofs = fem.locate_dofs_topological(V.sub(1), problem.mesh.topology.dim - 1, facets)
        nodes = np.unique(dofs // V.dofmap.index_map_bs)       # unrolled dof -> node (block)
        nodes = nodes[nodes < V.dofmap.index_map.size_local]   # owned nodes only
        x = V.tabulate_dof_coordinates()[nodes, :2] + problem.u.x.array.reshape(-1, 2)[nodes]
        values = self.nip.surface_values(0).x.array.reshape(-1, 5)[nodes]
        data = np.column_stack([x[:, 0] - self.nip_x, x[:, 1], values])
        data = np.vstack(self.comm.allgather(data))
        order = np.argsort(data[:, 0])
        return data[order]

    def _boundary_nodes(self, name):
        """Reference and current (x, y) of the owned nodes on a named facet set, all ranks."""
        problem = self.problem
        V = problem.V
        tag = problem.region_tag(name, problem.mesh.topology.dim - 1)
        facets = problem.facet_tags.find(tag)
        dofs = fem.locate_dofs_topological(V.sub(0), problem.mesh.topology.dim - 1, facets)
        nodes = np.unique(dofs // V.dofmap.index_map_bs)
        nodes = nodes[nodes < V.dofmap.index_map.size_local]
        X = V.tabulate_dof_coordinates()[nodes, :2]
        x = X + problem.u.x.array.reshape(-1, 2)[nodes]
        return np.vstack(self.comm.allgather(np.column_stack([X, x])))

    def _exit_zone_loads(self) -> dict:
        """The line load the exit zone's material was rolled under: mean, min and max over
        the rolling steps during which it was in the nip (from one contact length before it
        reached the roll centre line until it passed it). The last step's line load can be off
        by the roughness passing through the nip (+-10 % on the lithium lamination) or a
        controller correction; a sweep should plot its results against this mean."""
        a = self.contact_estimate
        top = self._boundary_nodes("top")
        exited = top[self._exit_mask(top[:, 0], top[:, 2])]
        if not len(exited):
            return {}
        first, last = self.nip_x - exited[:, 0].max() - a, self.nip_x - exited[:, 0].min()
        loads = np.array([r.line_load for r in self.records if r.phase == "rolling"
                          and first <= r.travel <= last])
        if not len(loads):
            return {}
        return {"line_load_exit_zone_N_per_mm": float(loads.mean()),
                "line_load_exit_zone_min_N_per_mm": float(loads.min()),
                "line_load_exit_zone_max_N_per_mm": float(loads.max()),
                "line_load_exit_zone_steps": int(len(loads))}

    def exit_geometry(self, X_range):
        """Exit thickness of the roll-side coating and machine-direction elongation of the web
        over the material that started in X_range (reference x, mm) and has left the nip."""
        top = self._boundary_nodes("top")
        base = self._boundary_nodes(self._coating_base())
        chosen_top = top[(top[:, 0] >= X_range[0]) & (top[:, 0] <= X_range[1])]
        chosen_base = base[(base[:, 0] >= X_range[0]) & (base[:, 0] <= X_range[1])]
        thickness = chosen_top[:, 3].mean() - chosen_base[:, 3].mean()
        order = np.argsort(chosen_top[:, 0])
        first, last = chosen_top[order[0]], chosen_top[order[-1]]
        elongation = (last[2] - first[2]) / (last[0] - first[0])
        return thickness, elongation

    def summary(self) -> dict:
        spec = self.spec
        cells = self._cells()
        profile = self.exit_profile(cells)
        final = self.records[-1]
        out = {"case": self.case.case.name, "configuration": self.configuration,
               "control": spec.control, "roll_radius_mm": spec.roll_radius,
               "line_speed_mm_per_s": spec.line_speed, "friction": spec.friction,
               "initial_thickness_mm": self.thickness,
               "initial_porosity": self.laws[self.coating.name].initial_porosity,
               "gap_mm": final.gap, "line_load_N_per_mm": final.line_load,
               "line_load_bottom_N_per_mm": final.line_load_bottom,
               "roll_torque_Nmm_per_mm": final.torque,
               "roll_torque_bottom_Nmm_per_mm": self.nip.converged_torques[1],
               "web_drive": spec.web_drive,
               "contact_length_mm": final.contact_length,
               "dwell_time_s": final.contact_length / spec.line_speed,
               "steps": len(self.records), "mpi_ranks": self.comm.size,
               "wall_time_s": getattr(self, "wall_time", None),
               "newton_iterations_max": max(r.newton_iterations for r in self.records),
               "foundation_force_N_per_mm": self.comm.allreduce(
                   fem.assemble_scalar(self._foundation_force))}
        out.update(self._exit_zone_loads())
        if profile is not None:
            column_x, column_porosity, exited = profile
            out["exit_porosity"] = float(column_porosity.mean())
            out["exit_porosity_spread_pp"] = float(100 * np.ptp(column_porosity))
            out["exit_zone_length_mm"] = float(np.ptp(column_x))
            out["steady_state_step"] = self.steady_state_step
            # through-thickness profile of the exit zone (by reference height)
            Y = cells[exited, 1]
            levels = np.round((Y - Y.min()) / (self.coating.thickness / self.coating.elements)
                              ).astype(int)
            out["exit_porosity_through_thickness"] = through = [
                float(np.mean(cells[exited, 4][levels == k])) for k in np.unique(levels)]
            out["roll_side_densification_pp"] = roll_side_densification(
                through, self.configuration == "free_standing")
            out["exit_porosity_by_layer"] = {}
            for layer in self.case.layers:
                if self.laws[layer.name].initial_porosity > 0:
                    layer_profile = self.exit_profile(self._cells(layer))
                    if layer_profile is not None:
                        out["exit_porosity_by_layer"][layer.name] = float(
                            layer_profile[1].mean())
            X_range = (column_x.min(), column_x.max())
            thickness, elongation = self.exit_geometry(X_range)
            h0, porosity0 = self.coating.thickness, out["initial_porosity"]
            out["exit_thickness_mm"] = thickness
            out["machine_direction_elongation"] = elongation
            out["exit_mass_balance_error"] = (h0 * (1 - porosity0) - thickness * (
                1 - out["exit_porosity"]) * elongation) / (h0 * (1 - porosity0))
            porosity = out["exit_porosity"]
            alpha_tp = spec.tortuosity_exponent_through_plane
            alpha_ip = spec.tortuosity_exponent_in_plane
            if porosity > 0:      # (a dense roll-side layer, e.g. lithium foil, has none)
                out["tortuosity_through_plane"] = porosity ** -alpha_tp
                out["tortuosity_in_plane"] = porosity ** -alpha_ip
                out["effective_transport_through_plane"] = porosity ** (1 + alpha_tp)
                out["effective_transport_in_plane"] = porosity ** (1 + alpha_ip)
        surface = self.surface_profile()
        in_contact = surface[:, 6] > 0
        if in_contact.any():
            out["peak_nip_pressure_MPa"] = float(surface[:, 2].max())
            out["max_penetration_mm"] = float(surface[:, 6].max())
            contact_x = surface[in_contact, 0]
            out["contact_entry_x_mm"] = float(contact_x.min())   # from the roll centre line
            out["contact_exit_x_mm"] = float(contact_x.max())
            out["electronic_conductance_ratio"] = (out["peak_nip_pressure_MPa"]
                                                   / spec.reference_pressure) ** (1 / 3)
            out["nip_pressure_integral_N_per_mm"] = self.nip.pressure_integrals()[0]
            # neutral point: where the shear on the coating turns from driving (entry) to
            # braking (exit); the friction mobilised is max |t_t| / (mu p) over the arc
            contact = surface[in_contact]
            forward = contact[:, 5] > 0
            turns = np.nonzero(forward[:-1] & ~forward[1:])[0]
            if len(turns):
                k = turns[0]
                x0, x1, t0, t1 = contact[k, 0], contact[k + 1, 0], contact[k, 5], contact[k + 1, 5]
                out["neutral_point_x_mm"] = float(x0 + (x1 - x0) * t0 / (t0 - t1))
            else:
                out["neutral_point_x_mm"] = None
            if spec.friction > 0:
                out["friction_mobilised_max"] = float(np.max(
                    np.abs(contact[:, 5]) / (spec.friction * contact[:, 2])))
            out["shear_traction_max_MPa"] = float(np.max(np.abs(contact[:, 5])))
            # shear / pressure on the arc (where p >= 10 % of the peak) and at the peak: roll
            # friction can only densify the roll side through shear-enhanced compaction on
            # the cap, which grows as (t/p)^2, and the cap pressure is set at the peak
            peak = int(np.argmax(contact[:, 2]))
            loaded = contact[:, 2] >= 0.1 * contact[peak, 2]
            out["peak_nip_pressure_x_mm"] = float(contact[peak, 0])
            out["shear_to_pressure_at_peak"] = float(contact[peak, 5] / contact[peak, 2])
            out["shear_to_pressure_max"] = float(np.max(
                np.abs(contact[loaded, 5]) / contact[loaded, 2]))
            out["line_load_from_nodal_profile_N_per_mm"] = float(np.trapezoid(
                surface[:, 2] * -surface[:, 4], surface[:, 0]))
            # under the roll: the column nearest to the roll centre line
            top = self._boundary_nodes("top")
            base = self._boundary_nodes(self._coating_base())
            near = np.abs(top[:, 2] - self.nip_x) <= 0.5 * self.element_length
            near_base = np.abs(base[:, 2] - self.nip_x) <= 0.5 * self.element_length
            out["thickness_under_roll_mm"] = float(top[near, 3].mean() - base[near_base, 3].mean())
            under = np.abs(cells[:, 2] - self.nip_x) <= 0.5 * self.element_length
            out["porosity_under_roll"] = float(np.sum(cells[under, 5] * cells[under, 4])
                                               / np.sum(cells[under, 5]))
        if self.interfaces is not None:
            out["contact_length_estimate_mm"] = self.contact_estimate
            out["augmented_lagrangian_updates"] = self.al_updates
            out["interface_regularisation_traction_max_MPa"] = self.regularisation_traction_max
            out["interfaces"] = interfaces = self.interface_summary()
            # flat copies of the main numbers (sweep tables take top-level numbers only)
            for name, entry in interfaces.items():
                for key in FLAT_INTERFACE_KEYS:
                    if entry.get(key) is not None:
                        out[f"{name}_{key}"] = entry[key]
        return out

    # --- outputs ---------------------------------------------------------------------------------
    def step_outputs(self, record, folder):
        pass

    def final_outputs(self, folder):
        surface = self.surface_profile()
        layers = [(layer.name, self._cells(layer)) for layer in self.case.layers]
        cells = self._cells()
        profile = self.exit_profile(cells)
        summary = self.summary()
        interface_profiles = {name: self.interface_profile(name)
                              for name in self.interface_laws}
        if self.comm.rank != 0:
            return
        for name, (header, rows) in interface_profiles.items():
            np.savetxt(folder / f"{name}_profile.csv", rows, delimiter=",",
                       header=",".join(header), comments="", fmt="%.9g")
        np.savetxt(folder / "nip_profile.csv", surface[:, [0, 1, 2, 5]], delimiter=",",
                   header="x_from_nip_centre_mm,y_mm,pressure_MPa,shear_traction_MPa",
                   comments="")
        if profile is not None:
            np.savetxt(folder / "exit_porosity_along_web.csv",
                       np.column_stack(profile[:2]), delimiter=",",
                       header="reference_x_mm,exit_porosity", comments="")
        if not self.case.output.plots:
            return
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from .output import (POROSITY_MIN_SPAN, ColourScale, gauss_point_note, plain_ticks,
                             profile_limits)
        name_line = f"{self.case.case.name}: "
        fig, ax = plt.subplots(figsize=(6, 3.8))
        ax.plot(surface[:, 0], surface[:, 2], "-", label="pressure p (compression +)")
        ax.plot(surface[:, 0], surface[:, 5], "--", label="shear traction (+ forward)")
        ax.set_xlabel("x from the roll centre (mm; web moves to the right)")
        ax.set_ylabel("nip traction (MPa)")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
        ax.set_title(f"{name_line}roll traction on the web, line load "
                     f"{summary['line_load_N_per_mm']:.3g} N/mm", fontsize=9)
        fig.tight_layout()
        fig.savefig(folder / "nip_pressure.png", dpi=130)
        plt.close(fig)

        # porosity over the web around the nip (current configuration, cell centroids); the
        # vertical scale is stretched so that the thin web can be read
        porous = [(name, c) for name, c in layers if self.laws[name].initial_porosity > 0]
        if porous:       # (a web of dense layers, e.g. lithium on copper, has no porosity)
            fig, ax = plt.subplots(figsize=(8, 3.4))
            window = 3.0 * self.contact_estimate
            shown = np.concatenate([c[np.abs(c[:, 2] - self.nip_x) <= window, 4]
                                    for _, c in porous])
            scale = ColourScale(shown, min_span=POROSITY_MIN_SPAN)
            dense = False
            for name, layer_cells in layers:
                x = layer_cells[:, 2] - self.nip_x
                near = np.abs(x) <= window
                if self.laws[name].initial_porosity > 0:
                    image = ax.scatter(x[near], 1e3 * layer_cells[near, 3],
                                       c=layer_cells[near, 4], s=12, marker="s", cmap="viridis",
                                       vmin=scale.vmin, vmax=scale.vmax)
                else:
                    dense = True
                    ax.scatter(x[near], 1e3 * layer_cells[near, 3], c="0.6", s=12, marker="s")
            scale.colourbar(fig, ax, image, "porosity (-)")
            ax.set_xlabel("x from the roll centre (mm; web moves to the right)"
                          + ("; grey: dense layer" if dense else ""))
            ax.set_ylabel("height (µm)")
            ax.set_title(f"{name_line}porosity around the nip (cell centres)\n"
                         f"{scale.describe('porosity', '-')}", fontsize=9)
            fig.tight_layout()
            fig.savefig(folder / "porosity_field.png", dpi=130)
            plt.close(fig)

        for name, (header, rows) in interface_profiles.items():
            fig, (ax_gap, ax_p) = plt.subplots(2, 1, figsize=(7, 4.5), sharex=True)
            x = rows[:, 1]
            ax_gap.plot(x, 1e3 * rows[:, 2], "-", lw=0.8)
            ax_gap.set_ylabel("normal gap (µm)")
            ax_gap.grid(alpha=0.3)
            ax_p.plot(x, rows[:, 4], "-", lw=0.8)
            ax_p.set_ylabel("interface pressure (MPa)\n(compression +)")
            ax_p.set_xlabel("x from the roll centre (mm; web moves to the right)")
            ax_p.grid(alpha=0.3)
            entry = summary["interfaces"][name]
            fraction = entry.get("contact_fraction_exit")
            ax_gap.set_title(f"{name_line}{name[10:]}: exit contact fraction "
                             + (f"{fraction:.4f}" if fraction is not None else "n/a"),
                             fontsize=9)
            # the exit fraction is averaged over the columns of interface points that left
            # the nip: with few of them it moves in coarse steps
            note = gauss_point_note(fraction, int(np.sum(rows[:, 8] > 0.5))) \
                if fraction is not None else None
            if note:
                ax_p.annotate(note.replace("Gauss points", "interface point columns in the "
                                           "exit zone"), xy=(0, 0), xycoords="axes fraction",
                              xytext=(0, -36), textcoords="offset points", va="top",
                              fontsize=7, color="C3", wrap=True)   # below the x label
            fig.tight_layout()
            fig.savefig(folder / f"{name}.png", dpi=130)
            plt.close(fig)

        through = summary.get("exit_porosity_through_thickness")
        if through and self.laws[self.coating.name].initial_porosity > 0:
            heights = (np.arange(len(through)) + 0.5) / len(through)
            fig, ax = plt.subplots(figsize=(4.8, 4.4))
            ax.plot(through, heights, "o-")
            # at least 1 percentage point wide: a profile that varies by 0.01 pp is drawn
            # (nearly) straight, not stretched over the whole axis; the title gives the range
            ax.set_xlim(*profile_limits(through, POROSITY_MIN_SPAN))
            ax.set_ylim(0.0, 1.0)
            plain_ticks(ax.xaxis, 6)
            ax.set_xlabel("exit porosity (-)")
            ax.set_ylabel(f"relative height in {self.coating.name} (-)\n"
                          "0 = foil side, 1 = roll side")
            spread = float(np.ptp(through))
            ax.set_title(f"{name_line}exit porosity through the thickness\n"
                         + ("uniform to round-off" if ColourScale(through).uniform else
                            f"range {100 * spread:.3g} pp (max - min)"), fontsize=9)
            ax.grid(alpha=0.3)
            fig.tight_layout()
            fig.savefig(folder / "porosity_through_thickness.png", dpi=130)
            plt.close(fig)

    def history_csv(self, path):
        names = list(asdict(self.records[0]).keys())
        extra = [(name, key) for name in self.interface_laws
                 for key in ("contact_fraction_under_roll", "closed_fraction_under_roll",
                             "mean_pressure_under_roll_MPa", "max_pressure_MPa",
                             "max_penetration_mm")]
        header = [HISTORY_COLUMNS.get(name, name) for name in names] \
            + [f"{name}_{key}" for name, key in extra]
        write_table(path, header, ([getattr(record, key) for key in names]
                                   + [self.interface_history[k][name][key] for name, key in extra]
                                   for k, record in enumerate(self.records)))

    @staticmethod
    def describe(summary) -> str:
        exit_porosity = summary.get("exit_porosity", float("nan"))
        porosity = f"exit porosity {exit_porosity:.4f}, " \
            if summary.get("initial_porosity", 1.0) > 0 else ""
        text = (f"done in {summary['wall_time_s']:.1f} s: {porosity}"
                f"line load {summary['line_load_N_per_mm']:.2f} N/mm, gap "
                f"{summary['gap_mm'] * 1e3:.2f} um, contact {summary['contact_length_mm']:.3f} mm")
        for name, entry in summary.get("interfaces", {}).items():
            fraction = entry.get("contact_fraction_exit")
            if fraction is not None:
                reached = entry["contact_fraction_reached_in_nip"]
                closure = entry.get("void_closure_in_nip")
                text += (f"; {name[10:]}: "
                         + (f"void closure in the nip {closure:.4f}, " if closure is not None
                            else "")
                         + f"closed in the nip {reached:.4f}"
                         f", after springback {fraction:.4f}, largest void "
                         f"{entry['max_void_height_exit_mm'] * 1e3:.3f} um")
        return text


class _ResidualTerm:
    """An extra residual term: a dead load (web tension) or a linear spring (foundation)."""

    def __init__(self, residual, linear=False):
        self.residual = residual
        self.independent_of_displacement = not linear
