r"""Cell-stack compaction: layers with material cards, zero-thickness interfaces, a rigid plate.

    rigid plate (penalty contact; pressure control: its position is an unknown of Newton)
      +----------------------------------------+  top
      |  layer n-1                             |
      +========================================+  interface (band: contact / cohesive / bonded)
      |  ...                                   |
      +----------------------------------------+  bottom: rollers (u_y = 0)
    lateral faces: rollers ("confined", uniaxial strain of a wide stack), "free" (one corner
    held in x [and z]), or "symmetric" (rollers on the left face only)

The stack is meshed by ``meshes.stack.build_stack`` (structured, degree 1: see
``nipstack.interfaces`` for why) and every listed interface becomes a thin band on which an
interface law acts (``nipstack.interfaces.InterfaceTerm``). Loading: load (pressure or plate
displacement in steps), hold (time passes at constant pressure), unload (pressure down in
steps, then the plate is released). Each step is solved by Newton with the consistent tangent;
with contact interfaces an augmented-Lagrangian loop updates the multipliers after Newton
converges until the constraint violation (|g_n| at points in contact, and any penetration) is
below max(al_atol, al_rtol x plate displacement); the AL iterations are reported. A failed step
is halved and retried (cut-backs).

Pressure control, two methods (``pressure_method``; "auto": the secant when a contact
interface is rough or a layer's thickness waviness makes the plate touch a crest first, else
the bordered Newton with the secant as the fallback of a failed step):
  * "bordered": the plate position is an unknown of Newton with the force equation
    (``NewtonSolver.solve(force_control=...)``); used for stacks whose interfaces start closed;
  * "secant": a secant iteration on the plate position, each iterate a position-controlled
    Newton solve from the step-start history; used when a contact interface is rough. Measured
    on rough lithium on LLZO: the bordered Newton chatters without converging (the force-
    displacement response of a perfectly plastic layer touching at a few asperities is nearly
    flat and kinked), the secant converges in a few solves.
A stack with rough contacts is first *seated* (plate displacement doubled from 1e-3 of the
largest initial gap until every rough contact carries load). Newton steps that would change an
interface jump by more than 0.25 x the smallest neighbouring element height are scaled down
(force control and a released plate only: there a layer held by open contacts is a near
rigid-body mode; see JumpLimitedNewton).

After ``unload`` the plate is released: a layer held only by open frictionless contacts then
floats, its position set by the weak regularisation spring of the interface, so the plate
displacement of the release step says nothing physical.

Results: ``records`` (one per step: pressure, plate displacement, per-interface contact
fraction, max/mean interfacial pressure, max gap, ...), ``summary()`` (per-layer thickness and
porosity change, per-interface contact fraction and j_loc/j_app = 1/fraction, seed 003), and
``write_results(folder)`` (history.csv, interface profiles along x, summary.json, fields for
ParaView). Units mm, N, MPa, s; in 2D forces are per unit depth (N/mm).
"""
from __future__ import annotations

import copy
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import dolfinx_solver  # noqa: F401
import numpy as np
import ufl
from dolfinx import fem
from mpi4py import MPI

from .checkpoint import PhaseJournal, enter_phase
from .interfaces import InterfaceTerm
from .kinematics import porosity_from_jacobian
from .materials.cards import load_card
from .mechanics import MechanicsProblem, StepFailure, constrained_modulus
from .meshes.stack import StackInterface, StackLayer, build_stack
from .newton import JumpLimitedNewton
from .output import interface_field_writer, rank_zero, write_table
from .stepping import Stepper
from .interface_laws import InterfaceSpec, build_interface_laws, make_interface_law

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


@dataclass
class StackRecord:
    step: int
    phase: str
    time: float
    pressure: float                  # plate force / apparent area, MPa
    plate_displacement: float        # descent of the highest point of the top face, mm
    platen_position: float
    platen_penetration: float        # penalty penetration of the plate, mm
    plate_contact_fraction: float    # top-face area the plate presses / top-face area
    newton_iterations: int           # all Newton iterations of the step (AL solves included)
    al_iterations: int               # multiplier updates in the step
    constraint_violation: float      # |g_n| left at contact points after the AL loop, mm
    interfaces: dict = field(default_factory=dict)     # name -> statistics
    layers: dict = field(default_factory=dict)         # name -> {thickness, porosity}
    residuals: list = field(default_factory=list)


def plastic_hardness(law, dim: int) -> float | None:
    """Indentation hardness H of a perfectly plastic (J2) layer, MPa, for the seed-003 estimate
    fraction = P / H: plane strain (2D) the Prandtl flat-punch / flattened-wedge value
    (2 + pi) k with k = Y / sqrt(3) (von Mises), i.e. 2.97 Y; 3D Tabor's H = 3 Y."""
    if getattr(law, "name", None) not in ("j2", "j2_creep"):   # (creep: its rate-free limit)
        return None
    Y = float(law.yield_stress)
    return (2.0 + np.pi) * Y / np.sqrt(3.0) if dim == 2 else 3.0 * Y


def _geometric_ratio(first: float, steps: int, total: float) -> float:
    """r > 1 with first (r^steps - 1) / (r - 1) = total (bisection on ln r)."""
    low, high = 1e-12, 50.0 / steps

    def covered(log_r):
        return first * np.expm1(steps * log_r) / np.expm1(log_r)
    for _ in range(200):
        middle = 0.5 * (low + high)
        if covered(middle) < total:
            low = middle
        else:
            high = middle
    return float(np.exp(0.5 * (low + high)))


def contact_loss_time(records, interface: str | None = None,
                      pressure_threshold: float | None = None,
                      fraction_threshold: float | None = None) -> dict:
    """The time t* at which the contact is lost: the first time the mean interfacial
    pressure of `interface` (the plate pressure if None) falls below `pressure_threshold`
    (MPa), or its contact fraction below `fraction_threshold`, after it had been above it;
    linear interpolation between the two steps that bracket the crossing. t* is None when the
    threshold is never crossed (the contact holds over the simulated time)."""
    if (pressure_threshold is None) == (fraction_threshold is None):
        raise ValueError("give one of pressure_threshold and fraction_threshold")

    def value(record):
        if fraction_threshold is not None:
            return record.interfaces[interface]["contact_fraction"]
        if interface is None:
            return record.pressure
        return record.interfaces[interface]["mean_pressure"]
    threshold = fraction_threshold if fraction_threshold is not None else pressure_threshold
    loaded = False
    previous = None
    t_star = None
    for record in records:
        if record.phase in ("seat", "unload", "release"):
            previous = None if record.phase != "seat" else previous
            continue
        v = value(record)
        if v >= threshold:
            loaded = True
        elif loaded and previous is not None:
            (t0, v0), t1 = previous, record.time
            t_star = t0 + (t1 - t0) * (v0 - threshold) / (v0 - v) if v0 != v else t1
            break
        previous = (record.time, v)
    quantity = "contact_fraction" if fraction_threshold is not None else (
        "mean_interfacial_pressure_MPa" if interface else "plate_pressure_MPa")
    return {"interface": interface, "quantity": quantity, "threshold": threshold,
            "reached_threshold_before": loaded,
            "t_star_s": t_star, "t_star_days": t_star / 86400.0 if t_star is not None else None,
            "simulated_time_s": records[-1].time if records else 0.0}


class StackCompaction:
    """A stack of layers with band interfaces under a rigid plate (Python API).

    layers : LayerSpec list, bottom to top.  interfaces : InterfaceSpec list (levels not
    listed are perfectly bonded through shared nodes).  width (mm), elements_width, dim 2|3,
    depth and elements_depth (3D), x_nodes (optional column positions), cell_type
    ("quadrilateral" | "crossed_triangle", 2D), lateral ("confined" | "free" | "symmetric").
    """

    def __init__(self, layers, interfaces=(), width: float = 0.1, elements_width: int = 10,
                 dim: int = 2, depth: float | None = None, elements_depth: int = 1,
                 x_nodes=None, cell_type: str = "quadrilateral", lateral: str = "confined",
                 platen_penalty_factor: float = 10.0, newton_rtol: float = 1e-9,
                 newton_atol: float = 1e-12, max_iterations: int = 30,
                 al_rtol: float = 1e-3, al_atol: float = 1e-10, max_al_iterations: int = 30,
                 max_cutbacks: int = 8, gap_tolerance: float | None = None,
                 jump_step_limit: float | None = 0.25, pressure_method: str = "auto",
                 pressure_rtol: float = 1e-9, max_secant_iterations: int = 30,
                 petsc_options: dict | None = None, comm=MPI.COMM_WORLD, log=print):
        self.comm = comm
        self.log = rank_zero(log, comm)
        self.layer_specs = [layer if isinstance(layer, LayerSpec) else LayerSpec(**layer)
                            for layer in layers]
        self.interface_specs = [spec if isinstance(spec, InterfaceSpec) else InterfaceSpec(**spec)
                                for spec in interfaces]
        if lateral not in ("confined", "free", "symmetric"):
            raise ValueError(f"lateral must be 'confined', 'free' or 'symmetric', got {lateral!r}")
        self.dim, self.lateral = dim, lateral
        self.al_rtol, self.al_atol = al_rtol, al_atol
        if pressure_method not in ("auto", "bordered", "secant"):
            raise ValueError(f"pressure_method must be 'auto', 'bordered' or 'secant', got "
                             f"{pressure_method!r}")
        self.pressure_rtol, self.max_secant_iterations = pressure_rtol, max_secant_iterations
        self.max_al_iterations, self.max_cutbacks = max_al_iterations, max_cutbacks

        # materials
        self.laws = {}
        for spec in self.layer_specs:
            law = load_card(spec.material, spec.overrides) if isinstance(
                spec.material, (str, Path)) else spec.material
            self.laws[spec.name] = law
        names = [spec.name for spec in self.layer_specs]

        # mesh
        stack_layers = [StackLayer(s.name, s.thickness, s.elements, s.waviness, s.grading,
                                   s.waviness_mode)
                        for s in self.layer_specs]
        stack_interfaces = [StackInterface(s.lower, s.upper, s.band_thickness, s.band_ratio,
                                           s.roughness, s.rough_face, s.shape)
                            for s in self.interface_specs]
        self.stack_mesh = build_stack(stack_layers, width, elements_width, stack_interfaces,
                                      dim=dim, depth=depth, elements_depth=elements_depth,
                                      x_nodes=x_nodes, cell_type=cell_type, comm=comm)
        self.width, self.depth = width, depth
        self.apparent_area = width * (depth if dim == 3 else 1.0)

        # interface laws
        element_height = {s.name: s.thickness * self._smallest_fraction(s)
                          for s in self.layer_specs}
        self.interface_laws, self.interface_law_names, regularisation = build_interface_laws(
            self.interface_specs, self.laws, element_height)
        self.regularisation = regularisation
        if pressure_method == "auto":
            rough_contact = any(spec.roughness is not None and
                                hasattr(self.interface_laws[spec.name], "augment")
                                for spec in self.interface_specs)
            # a stack thicker in places (thickness waviness): the plate first presses a crest
            # and its contact spreads with the load, the same kinked response
            rough_contact = rough_contact or any(
                s.waviness is not None and s.waviness_mode == "thickness"
                for s in self.layer_specs)
            # bordered first, the secant as a fallback within the same step (auto_fallback)
            pressure_method = "secant" if rough_contact else "bordered"
            self.auto_fallback = not rough_contact
        else:
            self.auto_fallback = False
        self.pressure_method = pressure_method
        self.fallbacks = 0      # steps the bordered Newton failed and the secant solved

        # problem
        problem = MechanicsProblem(self.stack_mesh, self.laws, degree=1,
                                   petsc_options=petsc_options,
                                   bands=tuple(self.interface_laws))
        self.problem = problem
        self.interfaces = InterfaceTerm(problem, self.stack_mesh, self.interface_laws,
                                        regularisation, gap_tolerance)
        problem.fix_component("bottom", 1)
        if lateral == "confined":
            problem.fix_component("left", 0)
            problem.fix_component("right", 0)
            if dim == 3:
                problem.fix_component("front", 2)
                problem.fix_component("back", 2)
        elif lateral == "symmetric":
            problem.fix_component("left", 0)
            if dim == 3:
                problem.fix_component("front", 2)
        else:
            self.problem.fix_node((0.0, 0.0, 0.0), 0)
        if dim == 3 and lateral != "confined":
            self.problem.fix_node((0.0, 0.0, 0.0), 2)
            if lateral == "free":
                self.problem.fix_node((width, 0.0, 0.0), 2)

        top_name = names[-1]
        self.height0 = self.stack_mesh.height
        self.platen_position = fem.Constant(problem.mesh, self.height0)
        self.platen_penalty = platen_penalty_factor * self.laws[top_name].stiffest_youngs_modulus() \
            / element_height[top_name]
        self.platen = problem.add_rigid_platen(
            "top", self.platen_position, fem.Constant(problem.mesh, self.platen_penalty))
        # the jump may change by at most jump_step_limit x the smallest element height of the
        # layers next to a band per Newton iteration (None: no limit)
        limit = None
        if jump_step_limit and self.interface_specs:
            limit = jump_step_limit * min(min(element_height[s.lower], element_height[s.upper])
                                          for s in self.interface_specs)
        self.jump_limit = limit
        self.newton = JumpLimitedNewton(problem, self.interfaces, limit, newton_rtol,
                                        newton_atol, max_iterations)
        self._force = fem.form(self.platen.force)
        # the plate's contact fraction: top-face area it presses / top-face area (reference)
        top_tag = problem.region_tag("top", problem.gdim - 1)
        X = ufl.SpatialCoordinate(problem.mesh)
        pressed = ufl.conditional(ufl.gt(X[1] + problem.u[1] - self.platen_position, 0.0),
                                  1.0, 0.0)
        self._plate_contact = fem.form(pressed * problem.ds(top_tag))
        self._top_area = self.comm.allreduce(
            fem.assemble_scalar(fem.form(self.platen.measure_length)), op=MPI.SUM)

        # measures: top-face dofs (component 1), reference volume per point of each layer
        V = problem.V
        fdim = problem.gdim - 1
        top_dofs = fem.locate_dofs_topological(V.sub(1), fdim, problem.boundary_facets("top"))
        n_owned = V.dofmap.index_map.size_local * V.dofmap.index_map_bs
        self._top_dofs = top_dofs[top_dofs < n_owned]
        coordinates = V.tabulate_dof_coordinates()
        self._top_Y = coordinates[self._top_dofs // V.dofmap.index_map_bs, 1]
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
        self._layer_V0 = {name: self.comm.allreduce(dv.sum(), op=MPI.SUM)
                          for name, dv in self._layer_dV.items()}
        self.compliance_estimate = sum(s.thickness / constrained_modulus(self.laws[s.name])
                                       for s in self.layer_specs)
        self.records: list[StackRecord] = []
        self.snapshots: dict[str, dict] = {}     # phase -> {interface: (header, rows)}
        self.time = 0.0
        self._last_position = self.height0
        self.writer = None
        self.on_step = None       # hook called with each new record (the case runner's)
        self.journal = PhaseJournal()
        self.stepper = Stepper(self.max_cutbacks, self.log)
        self.replay = None        # a checkpoint being replayed (checkpoint.Replay)
        self.log(f"stack: {len(names)} layers ({', '.join(names)}), "
                 f"{len(self.interface_laws)} band interfaces, "
                 f"{problem.mesh.topology.index_map(problem.mesh.topology.dim).size_global} "
                 f"cells, {V.dofmap.index_map.size_global * 2 if dim == 2 else V.dofmap.index_map.size_global * 3} dofs")

    @staticmethod
    def _smallest_fraction(spec):
        r, n = float(spec.grading), spec.elements
        if abs(r - 1.0) < 1e-12:
            return 1.0 / n
        return min(1.0, r ** (n - 1)) * (r - 1.0) / (r ** n - 1.0)

    # --- set-up helpers ------------------------------------------------------------------------
    def _make_interface_law(self, spec, soft_scale, stiff_scale, elastic_pair=False):
        return make_interface_law(spec, soft_scale, stiff_scale, elastic_pair)

    # --- measures -------------------------------------------------------------------------------
    def platen_force(self) -> float:
        return self.comm.allreduce(fem.assemble_scalar(self._force), op=MPI.SUM)

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
            V0 = self._layer_V0[region.name]
            porosity0 = region.law.initial_porosity
            if porosity0 > 0 and "porosity" in getattr(region.law, "output_fields", {}):
                # the law knows the porosity (a swelling skeleton: 1 - (1 - phi0) J_sw / J):
                # its current-volume average
                pores = float((region.trial_history["porosity"].reshape(-1) * region.J * dv)
                              .sum()) if len(dv) else 0.0
                porosity = self.comm.allreduce(pores, op=MPI.SUM) / volume
            elif porosity0 > 0:
                porosity = float(porosity_from_jacobian(volume / V0, porosity0))
            else:
                porosity = 0.0
            out[region.name] = {"thickness": volume / self.apparent_area, "porosity": porosity}
        return out

    # --- one step ---------------------------------------------------------------------------------
    def _solve(self, mode: str, target: float, dt: float):
        """One step: an augmented-Lagrangian loop around the inner solve (mode "position":
        Newton with the plate at `target` mm; "pressure": the bordered Newton or the secant on
        the plate position, to `target` MPa). After each converged inner solve the multipliers
        are updated (Uzawa) until the violation is below max(al_atol, al_rtol x plate
        displacement). Returns (Newton reports, AL updates, violation)."""
        problem, newton = self.problem, self.newton
        problem.dt = dt
        reports, al = [], 0
        contact = any(b.is_contact for b in self.interfaces.bands.values())
        while True:
            if mode == "position":
                reports.append(self._newton(target))
            elif self.pressure_method == "secant":
                reports += self._secant(target)
            else:
                # the jump-step limit guards force control (layers held only by their contacts
                # until they touch); under position control the plate anchors the stack
                newton.limit = self.jump_limit
                if al == 0:    # (an AL re-solve starts from the converged position)
                    self.platen_position.value = self._pressure_guess(target)
                reports.append(newton.solve(force_control=(self.platen,
                                                           target * self.apparent_area)))
            violation = self.interfaces.constraint_violation() if contact else 0.0
            compression = abs(self.height0 - self.top_height())
            tolerance = max(self.al_atol, self.al_rtol * compression)
            if violation <= tolerance:
                return reports, al, violation
            if al >= self.max_al_iterations:
                raise StepFailure(f"augmented Lagrangian: violation {violation:.3e} mm > "
                                  f"{tolerance:.3e} mm after {al} updates")
            self.interfaces.augment()
            al += 1

    def _newton(self, position):
        """Newton with the plate at `position` (the jump-step limit only for a released plate,
        which leaves layers held by their contacts alone)."""
        self.newton.limit = self.jump_limit if position > self.height0 else None
        self.platen_position.value = position
        return self.newton.solve()

    def _secant(self, target: float):
        """Pressure control by a secant iteration on the plate position, each iterate solved
        by Newton under position control from the step-start history (the trials of one step
        do not accumulate plastic flow; the multipliers are fixed). Robust where the bordered
        Newton chatters: a soft plastic layer meeting a stiff one at a few asperities has a
        nearly flat, kinked force-displacement response. Converged when
        |P - target| <= pressure_rtol x target."""
        area = self.apparent_area
        x_a = self._last_position
        P_a = self.records[-1].pressure if self.records else 0.0
        slope = getattr(self, "_secant_slope", None)      # d position / d pressure, mm/MPa
        if slope is None or not slope < 0.0:
            slope = -self.compliance_estimate
        x = float(self.platen_position.value) if self._secant_restart else \
            x_a + (target - P_a) * slope
        reports = []
        tolerance = self.pressure_rtol * max(abs(target), 1e-12)
        for _ in range(self.max_secant_iterations):
            reports.append(self._newton(x))
            P = self.platen_force() / area
            if abs(P - target) <= tolerance:
                if P != P_a and x != x_a and (x - x_a) / (P - P_a) < 0.0:
                    self._secant_slope = (x - x_a) / (P - P_a)
                self._secant_restart = True       # an AL re-solve starts from here
                return reports
            if P != P_a and (x - x_a) / (P - P_a) < 0.0:
                slope = (x - x_a) / (P - P_a)
            change = (target - P) * slope
            previous = abs(x - x_a)
            if previous > 0.0 and abs(change) > 4.0 * previous:   # a flat stretch: go carefully
                change = np.sign(change) * 4.0 * previous
            x_a, P_a = x, P
            x = x + change
        raise StepFailure(f"pressure {target:.6g} MPa not reached by the secant on the plate "
                          f"position in {self.max_secant_iterations} solves (at {P:.6g} MPa)")

    def _pressure_guess(self, pressure):
        if self.records and self.records[-1].pressure > 0.0:
            return self._last_position
        # first touch: an elastic estimate of the travel (keeps the plate in contact)
        return self._last_position - max(pressure, 0.0) * self.compliance_estimate - \
            1e-9 * self.height0

    # --- restart (checkpoint.py) -------------------------------------------------------------
    resume_attributes = ("time", "_last_position", "_secant_slope", "pressure_method",
                         "fallbacks", "snapshots")

    def controls(self) -> dict:
        out = {name: copy.deepcopy(getattr(self, name, None))
               for name in self.resume_attributes}
        out["platen_position"] = float(self.platen_position.value)
        return out

    def set_controls(self, controls: dict):
        for name in self.resume_attributes:
            if controls.get(name) is not None or name == "_secant_slope":
                setattr(self, name, copy.deepcopy(controls.get(name)))
        self.platen_position.value = controls["platen_position"]

    def run_phase(self, phase: str, targets, times, mode: str):
        """Advance through targets (pressures in MPa or platen positions in mm) reached at the
        given times, halving a failed increment (stepping.Stepper; a step restores u, the
        interface state and the plate). Where the phase is lives in the journal's running
        PhaseState (checkpoint.py)."""
        state = enter_phase(self, phase, targets, times, self._current_target(mode))
        if state is None:                               # finished before the checkpoint
            return

        def attempt(target_time, previous):
            target, dt = target_time[0], target_time[1] - previous[1]
            saved = self._save()
            self._secant_restart = False
            try:
                return self._solve(mode, target, dt)
            except StepFailure as first:
                if not (mode == "pressure" and self.auto_fallback):
                    raise
                # e.g. frictional stick/slip on a sloped interface makes the bordered Newton
                # cycle (it only cuts inadmissible iterates); the secant's position-controlled
                # Newton has the monotone line search
                self._restore(saved)
                self.log(f"  bordered Newton failed ({first}); secant on the plate")
                self.pressure_method = "secant"
                try:
                    solved = self._solve(mode, target, dt)
                finally:
                    self.pressure_method = "bordered"
                self.fallbacks += 1
                return solved

        def accept(target_time, previous, solved):
            self.problem.commit()
            self.time = target_time[1]
            self._last_position = float(self.platen_position.value)
            self._record(phase, *solved)

        self.stepper.run(state, save=self._save, restore=self._restore, attempt=attempt,
                         accept=accept)
        self.journal.end(len(self.records), self.controls())

    def _save(self):
        return self.problem.u.x.array.copy(), self.interfaces.save_state()

    def _restore(self, saved):
        self.problem.u.x.array[:] = saved[0]
        self.interfaces.restore_state(saved[1])
        self.platen_position.value = self._last_position

    def _current_target(self, mode):
        if mode == "position":
            return float(self.platen_position.value)
        return self.records[-1].pressure if self.records else 0.0

    def _record(self, phase, reports, al, violation):
        force = self.platen_force()
        top = self.top_height()
        position = float(self.platen_position.value)
        record = StackRecord(
            step=len(self.records) + 1, phase=phase, time=self.time,
            pressure=force / self.apparent_area, plate_displacement=self.height0 - top,
            platen_position=position, platen_penetration=max(top - position, 0.0),
            plate_contact_fraction=self.comm.allreduce(
                fem.assemble_scalar(self._plate_contact), op=MPI.SUM) / self._top_area,
            newton_iterations=int(sum(r.iterations for r in reports)), al_iterations=al,
            constraint_violation=violation,
            interfaces={name: self.interfaces.statistics(name) for name in self.interface_laws},
            layers=self.layer_measures(), residuals=reports[-1].residuals)
        self.records.append(record)
        parts = [f"{name[10:]}: f={s['contact_fraction']:.4f} pmax={s['max_pressure']:.4g}"
                 for name, s in record.interfaces.items()]
        self.log(f"step {record.step:3d} {phase:7s} t={record.time:8.4g} s  "
                 f"p={record.pressure:9.4g} MPa  w={record.plate_displacement * 1e3:9.4f} um  "
                 f"newton={record.newton_iterations} AL={al}  " + "  ".join(parts))
        if self.writer is not None:
            self.writer.write(self.time)
        if self.on_step is not None:
            self.on_step(record)

    def _snapshot(self, phase):
        self.snapshots[phase] = {name: self.interfaces.profile(name)
                                 for name in self.interface_laws}

    # --- loading programme --------------------------------------------------------------------------
    def seat(self, displacement: float | None = None):
        """Bring the plate onto the stack under position control until every rough contact
        interface touches (carries compression at one point at least): the pressure-controlled
        steps then start from a closed contact. The plate displacement starts at 1e-3 of the
        largest initial gap (or `displacement`) and doubles until contact."""
        rough = [name for name, info in self.stack_mesh.bands.items()
                 if info.max_initial_gap > 0 and self.interfaces.bands[name].is_contact]
        if displacement is None:
            if not rough:
                return
            displacement = 1e-3 * max(self.stack_mesh.bands[n].max_initial_gap for n in rough)
        largest = 2.0 * max([self.stack_mesh.bands[n].max_initial_gap for n in rough] + [0.0])
        while True:
            self.run_phase("seat", [self.height0 - displacement], [self.time], "position")
            stats = self.records[-1].interfaces
            if all(stats[name]["contact_fraction"] > 0 for name in rough) or \
                    displacement > largest:
                return
            displacement *= 2.0

    def load(self, pressure: float, steps: int = 5, duration: float = 1.0):
        """Ramp the plate pressure (MPa) from its current value to `pressure` in equal steps
        (a stack with rough interfaces is seated first, see `seat`)."""
        if not self.records:
            self.seat()
        start = self.records[-1].pressure if self.records else 0.0
        targets = [start + (pressure - start) * (k + 1) / steps for k in range(steps)]
        times = [self.time + duration * (k + 1) / steps for k in range(steps)]
        self.run_phase("load", targets, times, "pressure")
        self._snapshot("load")

    def compress(self, displacement: float, steps: int = 5, duration: float = 1.0):
        """Clamp: move the plate down to `displacement` (mm below the initial top)."""
        start = float(self.platen_position.value)
        end = self.height0 - displacement
        targets = [start + (end - start) * (k + 1) / steps for k in range(steps)]
        times = [self.time + duration * (k + 1) / steps for k in range(steps)]
        self.run_phase("load", targets, times, "position")
        self._snapshot("load")

    def hold(self, duration: float, steps: int = 1, mode: str = "pressure",
             first_step: float | None = None, max_change: float | None = None,
             watch: str | None = None):
        """Let time pass at the current pressure (mode "pressure") or plate position
        ("position": a clamp). Steps:
          * equal (default), `steps` of them;
          * geometric, with `first_step` (s): dt_k = first_step r^k, r chosen so that `steps`
            steps cover `duration` (seconds to months in a few dozen steps);
          * adaptive, with `max_change`: starting from `first_step`, each next step is scaled
            by 0.8 max_change / change (between 0.5x and 2x), `change` the relative change of
            the watched quantity over the last step (the mean interfacial pressure of the
            interface `watch`, else the plate pressure); a step whose Newton fails is halved
            (run_phase's cut-backs). The watched pressure then changes by about max_change per
            step wherever it moves, and the steps grow where it has settled.
        """
        current = self.records[-1]
        target = current.pressure if mode == "pressure" else current.platen_position
        start = self.time
        if max_change is not None:
            if not first_step:
                raise ValueError("an adaptive hold needs a first_step (s)")
            dt = first_step

            def watched(record):
                if watch is None:
                    return record.pressure
                return record.interfaces[watch]["mean_pressure"]

            while self.time < start + duration * (1 - 1e-12):
                before = watched(self.records[-1])
                t_next = min(self.time + dt, start + duration)
                if start + duration - t_next < 0.05 * dt:     # no sliver of a last step
                    t_next = start + duration
                self.run_phase("hold", [target], [t_next], mode)
                after = watched(self.records[-1])
                change = abs(after - before) / max(abs(before), 1e-12)
                dt *= min(2.0, max(0.5, 0.8 * max_change / max(change, 1e-300)))
            self._snapshot("hold")
            return
        if first_step:
            if first_step * steps >= duration:
                raise ValueError(f"first_step x steps ({first_step * steps:g} s) must be "
                                 f"shorter than the hold ({duration:g} s) for growing steps")
            ratio = _geometric_ratio(first_step, steps, duration)
            ends = first_step * (ratio ** np.arange(1, steps + 1) - 1.0) / (ratio - 1.0)
            times = [start + t for t in ends[:-1]] + [start + duration]
        else:
            times = [start + duration * (k + 1) / steps for k in range(steps)]
        self.run_phase("hold", [target] * steps, times, mode)
        self._snapshot("hold")

    def pressure_history(self, times, pressures):
        """Follow a stack-pressure history: pressures (MPa) reached at times (s, increasing,
        after the current time), linearly in between, one step per entry."""
        times, pressures = list(map(float, times)), list(map(float, pressures))
        if len(times) != len(pressures) or not times:
            raise ValueError("a pressure history needs as many times as pressures")
        if any(b <= a for a, b in zip([self.time] + times, times)):
            raise ValueError("pressure-history times must increase from the current time")
        if not self.records:
            self.seat()
        self.run_phase("history", pressures, times, "pressure")
        self._snapshot("history")

    def unload(self, steps: int = 4, duration: float = 1.0, release: bool = True):
        """Ramp the pressure down to zero; the last step releases the plate (moves it back to
        where it started) so that the stack is free."""
        start = self.records[-1].pressure
        times = [self.time + duration * (k + 1) / steps for k in range(steps)]
        pressures = [start * (1.0 - (k + 1) / steps) for k in range(steps - 1)]
        if pressures:
            self.run_phase("unload", pressures, times[:-1], "pressure")
        if release:
            self.run_phase("release", [self.height0 + 1e-3 * self.height0], [times[-1]],
                           "position")
        self._snapshot("unload")

    def run(self, pressure: float, load_steps: int = 5, load_time: float = 1.0,
            hold_time: float = 0.0, hold_steps: int = 0, unload_steps: int = 0,
            unload_time: float = 1.0, output: str | Path | None = None):
        """Load to `pressure` (MPa), hold, unload; optionally write results to `output`."""
        started = time.perf_counter()
        if output is not None:
            self.open_fields(Path(output) / "fields" / "fields.pvd")
        try:
            self.load(pressure, load_steps, load_time)
            if hold_steps:
                self.hold(hold_time, hold_steps)
            if unload_steps:
                self.unload(unload_steps, unload_time)
        finally:
            self.wall_time = time.perf_counter() - started
            if output is not None:
                self.close_fields()
                self.write_results(output)
        return self.records

    # --- results ------------------------------------------------------------------------------------
    def summary(self) -> dict:
        records = self.records
        if not records:
            return {"dimension": self.dim, "steps": 0, "mpi_ranks": self.comm.size,
                    "status": "no step converged"}
        peak = max(records, key=lambda r: r.pressure)
        final = records[-1]
        layers = {}
        for spec in self.layer_specs:
            law = self.laws[spec.name]
            h0 = self._layer_V0[spec.name] / self.apparent_area
            entry = {"material": getattr(law, "card_name", type(law).__name__),
                     "thickness_mm": h0,
                     "thickness_change_at_peak_mm": peak.layers[spec.name]["thickness"] - h0,
                     "thickness_change_final_mm": final.layers[spec.name]["thickness"] - h0}
            porosity0 = getattr(law, "initial_porosity", 0.0) or 0.0
            if porosity0 > 0:
                entry.update({"porosity_initial": porosity0,
                              "porosity_at_peak": peak.layers[spec.name]["porosity"],
                              "porosity_final": final.layers[spec.name]["porosity"],
                              "porosity_change_at_peak": peak.layers[spec.name]["porosity"]
                              - porosity0,
                              "porosity_change_final": final.layers[spec.name]["porosity"]
                              - porosity0})
            layers[spec.name] = entry
        interfaces = {}
        for spec in self.interface_specs:
            name = spec.name
            s_peak, s_final = peak.interfaces[name], final.interfaces[name]
            law = self.interface_laws[name]
            fraction = s_peak["contact_fraction"]
            entry = {
                "law": self.interface_law_names[name],
                "normal_stiffness_MPa_per_mm": float(getattr(law, "normal_stiffness", getattr(
                    law, "penalty_stiffness", getattr(law, "initial_stiffness", np.nan)))),
                "regularisation_MPa_per_mm": self.regularisation.get(name, 0.0),
                "band_thickness_mm": self.stack_mesh.bands[name].thickness,
                "max_initial_gap_mm": self.stack_mesh.bands[name].max_initial_gap,
                "contact_fraction_at_peak": fraction,
                "j_loc_over_j_app_at_peak": 1.0 / fraction if fraction > 0 else float("inf"),
                "max_pressure_at_peak_MPa": s_peak["max_pressure"],
                "mean_contact_pressure_at_peak_MPa": s_peak["mean_contact_pressure"],
                "max_gap_at_peak_mm": s_peak["max_gap"],
                "max_penetration_at_peak_mm": s_peak["max_penetration"],
                "max_damage": max(r.interfaces[name]["max_damage"] for r in records),
                "contact_fraction_final": s_final["contact_fraction"],
                "max_gap_final_mm": s_final["max_gap"],
            }
            hardness = [plastic_hardness(self.laws[layer], self.dim)
                        for layer in (spec.lower, spec.upper)]
            hardness = [h for h in hardness if h is not None]
            if hardness:
                H = min(hardness)
                entry["plastic_hardness_MPa"] = H
                entry["seed003_fraction_P_over_H"] = min(peak.pressure / H, 1.0)
            interfaces[name] = entry
        return {
            "dimension": self.dim,
            "lateral": self.lateral,
            "width_mm": self.width,
            "apparent_area": self.apparent_area,
            "peak_pressure_MPa": peak.pressure,
            "plate_displacement_at_peak_mm": peak.plate_displacement,
            "plate_displacement_final_mm": final.plate_displacement,
            "plate_displacement_before_release_mm": [
                r for r in records if r.phase != "release"][-1].plate_displacement,
            "platen_penalty_MPa_per_mm": self.platen_penalty,
            "plate_contact_fraction_at_peak": peak.plate_contact_fraction,
            "layers": layers,
            "interfaces": interfaces,
            "steps": len(records),
            "newton_iterations_total": int(sum(r.newton_iterations for r in records)),
            "al_iterations_total": int(sum(r.al_iterations for r in records)),
            "al_iterations_max_per_step": int(max(r.al_iterations for r in records)),
            "max_constraint_violation_mm": max(r.constraint_violation for r in records),
            "wall_time_s": getattr(self, "wall_time", None),
            "mpi_ranks": self.comm.size,
        }

    def open_fields(self, path: Path):
        self.writer = self.field_writer(path)

    def field_writer(self, path: Path):
        """A FieldWriter for `path` (fields.pvd) that adds the interface fields on the bands."""
        return interface_field_writer(self.problem, self.interfaces, self.interface_laws, path)

    def close_fields(self):
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def write_results(self, folder):
        """history.csv, interface_<name>_<phase>.csv (profiles along x), summary.json."""
        folder = Path(folder)
        if self.comm.rank == 0:
            folder.mkdir(parents=True, exist_ok=True)
            self.write_history(folder / "history.csv")
            self.write_profiles(folder)
            (folder / "summary.json").write_text(
                json.dumps(self.summary(), indent=2, default=float) + "\n")
        self.comm.barrier()

    def write_history(self, path):
        """One row per step: pressure, plate, AL, per-interface and per-layer measures (rank 0)."""
        names = list(self.interface_laws)
        layer_names = [s.name for s in self.layer_specs]
        interface_keys = ("contact_fraction", "max_pressure", "mean_pressure",
                          "mean_contact_pressure", "max_gap", "max_damage")
        units = {"max_pressure": "_MPa", "mean_pressure": "_MPa", "mean_contact_pressure":
                 "_MPa", "max_gap": "_mm"}
        header = ["step", "phase", "time_s", "pressure_MPa", "plate_displacement_mm",
                  "platen_penetration_mm", "plate_contact_fraction", "newton_iterations",
                  "al_iterations", "constraint_violation_mm"]
        header += [f"{name}_{key}{units.get(key, '')}" for name in names
                   for key in interface_keys]
        header += [f"{name}_{key}" for name in layer_names
                   for key in ("thickness_mm", "porosity")]
        rows = ([r.step, r.phase, r.time, r.pressure, r.plate_displacement,
                 r.platen_penetration, r.plate_contact_fraction, r.newton_iterations,
                 r.al_iterations, r.constraint_violation]
                + [r.interfaces[name][key] for name in names for key in interface_keys]
                + [r.layers[name][key] for name in layer_names
                   for key in ("thickness", "porosity")]
                for r in self.records)
        write_table(path, header, rows)

    def write_profiles(self, folder):
        """interface_<name>_<phase>.csv: the fields along the interface at the end of each
        phase (rank 0)."""
        for phase, profiles in self.snapshots.items():
            for name, profile in profiles.items():
                if profile is None:
                    continue
                header, rows = profile
                write_table(Path(folder) / f"{name}_{phase}.csv", header,
                            ([float(v) for v in row] for row in rows))
