"""Flat press: a coated foil compacted between flat rigid platens, held, and unloaded.

The laboratory press of an electrode sheet, or the "supercalendering" of Etiemble et al. 2017
(seed 001, sample J -> K). The cross-section is a strip of the stack (Gmsh, `meshes.layered`):

    platen (rigid, moves in -y, penalty contact)  ->  +----- top layer (coating) -----+
                                                     |                               |
                                                     +------ foil -------------------+
    support (u_y = 0, frictionless)                 bottom
    lateral faces on rollers ("confined": uniaxial strain, a wide sheet) or one free face.

Why contact and not a prescribed displacement: the platen must be able to let go. On unloading
the coating springs back and separates; a contact constraint finds the unloaded thickness itself,
and the same penalty term carries the platen force for pressure control. With a flat platen and
full contact it is exact up to the penetration p/k, which is logged (k = factor E_ref / h_el).

Loading: the platen moves down (thickness control) or is driven to a pressure (pressure control:
the platen position is an extra unknown of Newton with the force equation, a bordered system);
it holds (time passes, for rate-dependent laws); then the pressure is ramped down to zero (force
control again) and the platen retracts to where it started.
Every step is solved by Newton with the consistent tangent; a failed step is halved and retried.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import dolfinx_solver  # noqa: F401
import ufl
from dolfinx import fem

from .case import Case, layer_laws
from .checkpoint import PhaseJournal, enter_phase
from .mechanics import MechanicsProblem, RunIncomplete, constrained_modulus
from .kinematics import porosity_from_jacobian
from .meshes.external import read_layered_mesh
from .meshes.layered import Layer, build_layered_strip
from .meshes.partition import law_costs
from .newton import NewtonSolver
from .output import plot_porosity_field, plot_pressure_thickness, rank_zero, write_history
from .stepping import Stepper


@dataclass
class StepRecord:
    step: int
    phase: str
    time: float
    platen_position: float
    top_thickness: float
    stack_thickness: float
    mean_porosity: float
    platen_force: float
    pressure: float
    newton_iterations: int          # most iterations of any Newton solve in the step
    newton_solves: int              # Newton solves in the step
    residuals: list = field(default_factory=list)
    max_penetration: float = 0.0


class FlatPress:
    """Builds the flat-press model of a case and runs it; results via `records`, `summary`."""

    def __init__(self, case: Case, comm, log=print):
        self.case, self.comm = case, comm
        self.log = rank_zero(log, comm)
        geometry = case.geometry
        layers = [Layer(spec.name, spec.thickness, spec.elements) for spec in case.layers]
        self.laws = laws = layer_laws(case.layers)
        if geometry.mesh_file:
            self.mesh_data = read_layered_mesh(geometry.mesh_file, geometry.dimension, comm)
        else:
            self.mesh_data = build_layered_strip(layers, geometry.width,
                                                 geometry.elements_width,
                                                 dim=geometry.dimension, depth=geometry.depth,
                                                 elements_depth=geometry.elements_depth,
                                                 comm=comm, costs=law_costs(laws))
        solver = case.solver
        self.problem = problem = MechanicsProblem(self.mesh_data, laws, solver.element_degree,
                                                  solver.petsc_options)
        dim = geometry.dimension
        problem.fix_component("bottom", 1)
        problem.fix_component("left", 0)
        if case.loading.lateral == "confined":
            problem.fix_component("right", 0)
        if dim == 3:
            problem.fix_component("front", 2)
            if case.loading.lateral == "confined":
                problem.fix_component("back", 2)

        self.top = case.layers[-1]
        self.top_name = self.top.name
        self.stack_height = sum(spec.thickness for spec in case.layers)
        self.top_bottom_y = self.stack_height - self.top.thickness
        self.platen_position = fem.Constant(problem.mesh, self.stack_height)
        element_height = min(spec.thickness / spec.elements for spec in case.layers)
        self.penalty = case.contact.penalty_factor * laws[self.top_name].stiffest_youngs_modulus() \
            / element_height
        self.contact = problem.add_rigid_platen("top", self.platen_position, self.penalty)
        self.newton = NewtonSolver(problem, solver.newton_rtol, solver.newton_atol,
                                   solver.max_iterations)

        # Measures of the current state, compiled once.
        X = ufl.SpatialCoordinate(problem.mesh)
        y = X[1] + problem.u[1]
        tdim = problem.mesh.topology.dim
        top_tag = problem.region_tag("top", tdim - 1)
        self.top_area = problem.assemble_scalar(fem.Constant(problem.mesh, 1.0)
                                                * problem.ds(top_tag))
        self._top_y = fem.form(y * problem.ds(top_tag))
        interface = f"interface_{case.layers[-2].name}_{self.top_name}" \
            if len(case.layers) > 1 else "bottom"
        self.interface_tag = problem.region_tag(interface, tdim - 1)
        if interface == "bottom":
            on_interface = problem.ds(self.interface_tag)
            self._interface_y = fem.form(y * on_interface)
        else:   # an interior facet set: integrate one side of it
            on_interface = ufl.Measure("dS", domain=problem.mesh,
                                       subdomain_data=problem.facet_tags)(self.interface_tag)
            self._interface_y = fem.form(y("+") * on_interface)
        self.interface_area = problem.assemble_scalar(
            fem.Constant(problem.mesh, 1.0) * on_interface)
        top_region = problem.region_tag(self.top_name, tdim)
        dx_top = problem.dx(subdomain_data=problem.cell_tags, subdomain_id=top_region)
        J = ufl.det(ufl.Identity(dim) + ufl.grad(problem.u))
        self._top_volume = fem.form(J * dx_top)
        self.top_reference_volume = problem.assemble_scalar(fem.Constant(problem.mesh, 1.0)
                                                            * dx_top)
        self._force = fem.form(self.contact.force)
        self._penetration = fem.form(self.contact.penetration)
        self.elastic_stiffness = self.top_area / sum(
            spec.thickness / constrained_modulus(laws[spec.name]) for spec in case.layers)
        self.records: list[StepRecord] = []
        self.journal = PhaseJournal()
        self.stepper = Stepper(case.solver.max_cutbacks, self.log)
        self.replay = None          # a checkpoint being replayed (checkpoint.Replay)
        self.search = None
        self.on_step = None
        self.time = 0.0

    # --- measures ------------------------------------------------------------------------
    def _sum(self, form) -> float:
        return self.problem.comm.allreduce(fem.assemble_scalar(form))

    def top_thickness(self) -> float:
        return self._sum(self._top_y) / self.top_area - self._sum(self._interface_y) \
            / self.interface_area

    def stack_thickness(self) -> float:
        return self._sum(self._top_y) / self.top_area

    def platen_force(self) -> float:
        return self._sum(self._force)

    def top_mean_porosity(self) -> float:
        """Volume-averaged porosity of the top layer: 1 - (solid volume) / (current volume)."""
        porosity0 = self.laws[self.top_name].initial_porosity
        return float(porosity_from_jacobian(self._sum(self._top_volume)
                                            / self.top_reference_volume, porosity0))

    # --- one step with cut-backs -------------------------------------------------------------
    def _solve_at(self, position: float, dt: float):
        """Newton with the platen at a given position (displacement control)."""
        self.platen_position.value = position
        self.problem.dt = dt
        return self.newton.solve()

    def _save(self):
        return self.problem.u.x.array.copy(), float(self.platen_position.value)

    def _restore(self, saved):
        self.problem.u.x.array[:] = saved[0]
        self.platen_position.value = saved[1]

    def _solve_pressure(self, pressure: float, dt: float, guess: float):
        """Force control: Newton on (u, platen position) with the platen force as the extra
        equation (bordered system, see newton.py), started from an elastic guess of the
        platen position that keeps the platen in contact."""
        self.platen_position.value = guess
        self.problem.dt = dt
        report = self.newton.solve(force_control=(self.contact, pressure * self.top_area))
        position = float(self.platen_position.value)
        return position, [report]

    # --- restart (checkpoint.py) -------------------------------------------------------------
    resume_attributes = ("time", "_last_position")

    def resumable(self) -> bool:
        """The final-thickness search reruns whole load cycles; it is not checkpointed."""
        return self.case.loading.control != "final_thickness"

    def controls(self) -> dict:
        out = {name: getattr(self, name) for name in self.resume_attributes}
        out["platen_position"] = float(self.platen_position.value)
        return out

    def set_controls(self, controls: dict):
        for name in self.resume_attributes:
            setattr(self, name, controls[name])
        self.platen_position.value = controls["platen_position"]

    def run_phase(self, phase: str, targets: list[float], times: list[float], mode: str):
        """Advance through `targets` (platen positions or pressures) reached at `times`,
        halving a failed increment (stepping.Stepper). Where the phase is lives in the
        journal's running PhaseState, so a checkpoint can continue it."""
        state = enter_phase(self, phase, targets, times, self._current_target(mode))
        if state is None:                               # finished before the checkpoint
            return

        def attempt(target_time, previous):
            target, t_end = target_time
            if mode == "position":
                return [self._solve_at(target, t_end - previous[1])]
            return self._solve_pressure(target, t_end - previous[1],
                                        self._pressure_guess(target))[1]

        def accept(target_time, previous, reports):
            self.problem.commit()
            self.time = target_time[1]
            self._last_position = float(self.platen_position.value)
            self._record(phase, reports)

        self.stepper.run(state, save=self._save, restore=self._restore, attempt=attempt,
                         accept=accept)
        self.journal.end(len(self.records), self.controls())

    def _current_target(self, mode):
        if mode == "position":
            return float(self.platen_position.value)
        return self.records[-1].pressure if self.records else 0.0

    def _pressure_guess(self, pressure):
        """Start of the force-controlled Newton: the last converged platen position while the
        platen is in contact (Newton then moves platen and surface together); at first contact,
        an elastic estimate of the travel, which undershoots (plastic flow is softer)."""
        if self.records and self.records[-1].platen_force > 0.0:
            return self._last_position
        return self._last_position - pressure * self.top_area / self.elastic_stiffness

    def _record(self, phase, reports):
        force = self.platen_force()
        report = reports[-1]
        record = StepRecord(
            step=len(self.records) + 1, phase=phase, time=self.time,
            platen_position=float(self.platen_position.value),
            top_thickness=self.top_thickness(), stack_thickness=self.stack_thickness(),
            mean_porosity=self.top_mean_porosity(), platen_force=force,
            pressure=force / self.top_area,
            newton_iterations=max(r.iterations for r in reports), newton_solves=len(reports),
            residuals=report.residuals,
            max_penetration=max(self.stack_thickness() - float(self.platen_position.value),
                                0.0))
        self.records.append(record)
        rates = report.rates()
        self.log(f"step {record.step:3d} {phase:7s} t={record.time:9.4g} s  "
                 f"h_top={record.top_thickness * 1e3:8.3f} um  p={record.pressure:9.4g} MPa  "
                 f"porosity={record.mean_porosity:.4f}  newton={report.iterations}"
                 + (f" ({len(reports)} solves)" if len(reports) > 1 else "") + "  "
                 "|r|/|f|: " + " ".join(f"{r:.1e}" for r in report.residuals)
                 + (f"  rate {rates[-1]:.2f}" if rates else ""))
        if self.on_step is not None:
            self.on_step(record, self)

    # --- the whole load-hold-unload cycle -------------------------------------------------------
    def reset(self):
        problem = self.problem
        problem.u.x.array[:] = 0.0
        for region in problem.regions:
            region.__post_init__()
        self.platen_position.value = self.stack_height
        self._last_position = self.stack_height
        self.records = []
        self.time = 0.0
        self.journal = PhaseJournal()

    def run_cycle(self, press_depth: float | None = None):
        """Load, hold, unload. press_depth (mm) overrides the thickness target."""
        loading = self.case.loading
        self.reset()
        n = loading.load_steps
        load_times = [loading.load_time * (k + 1) / n for k in range(n)]
        if loading.control == "pressure":
            pressures = [loading.target * (k + 1) / n for k in range(n)]
            # first touch: the platen starts at the surface
            self.run_phase("load", pressures, load_times, mode="pressure")
        else:
            depth = press_depth if press_depth is not None else self.top.thickness - loading.target
            positions = [self.stack_height - depth * (k + 1) / n for k in range(n)]
            self.run_phase("load", positions, load_times, mode="position")
        peak = self.records[-1]
        if loading.hold_steps:
            hold_times = [self.time + loading.hold_time * (k + 1) / loading.hold_steps
                          for k in range(loading.hold_steps)]
            self.run_phase("hold", [peak.platen_position] * loading.hold_steps, hold_times,
                           mode="position")
        start = self.records[-1]
        m = loading.unload_steps
        unload_times = [self.time + loading.unload_time * (k + 1) / m for k in range(m)]
        pressures = [start.pressure * (1.0 - (k + 1) / m) for k in range(m - 1)]
        if pressures:
            self.run_phase("unload", pressures, unload_times[:-1], mode="pressure")
        # release: the platen goes back to where it started; the sample is free
        self.run_phase("release", [self.stack_height], [unload_times[-1]], mode="position")
        return self.records

    def run(self):
        loading = self.case.loading
        started = time.perf_counter()
        if loading.control != "final_thickness":
            self.run_cycle()
        else:
            self.run_final_thickness(loading.target)
        self.wall_time = time.perf_counter() - started
        return self.records

    def run_final_thickness(self, target: float, tolerance: float = 1e-5):
        """Secant on the press depth until the unloaded top layer is `target` mm thick."""
        h0 = self.top.thickness
        depths = [h0 - target]
        finals = []
        self.search = []
        for iteration in range(12):
            self.log(f"final-thickness search {iteration + 1}: press depth "
                     f"{depths[-1] * 1e3:.4f} um")
            self.run_cycle(press_depth=depths[-1])
            finals.append(self.records[-1].top_thickness)
            error = finals[-1] - target
            self.search.append({"press_depth": depths[-1], "final_thickness": finals[-1]})
            self.log(f"  -> final thickness {finals[-1] * 1e3:.4f} um "
                     f"(target {target * 1e3:.4f} um)")
            if abs(error) <= tolerance * target:
                return
            if len(depths) == 1:
                depths.append(depths[-1] + error)
            else:
                slope = (finals[-1] - finals[-2]) / (depths[-1] - depths[-2])
                depths.append(depths[-1] - error / slope)
        raise RunIncomplete(f"final thickness {target} mm not reached in 12 press runs")

    # --- outputs -----------------------------------------------------------------------------
    def step_outputs(self, record, folder):
        if self.case.output.plots and record.phase == "load" and \
                record.step == self.case.loading.load_steps:
            plot_porosity_field(self.problem, folder / "porosity_under_load.png",
                                f"{self.case.case.name}: porosity under load "
                                f"({record.pressure:.1f} MPa)")

    def final_outputs(self, folder):
        if not self.case.output.plots:
            return
        plot_porosity_field(self.problem, folder / "porosity_final.png",
                            f"{self.case.case.name}: porosity after unloading")
        if self.comm.rank == 0:
            plot_pressure_thickness(self.records, folder / "pressure_thickness.png",
                                    self.top_name, self.top.thickness)

    def history_csv(self, path):
        write_history(self.records, path)

    @staticmethod
    def describe(summary) -> str:
        return (f"done in {summary['wall_time_s']:.1f} s: final thickness "
                f"{summary['final_thickness_mm'] * 1e3:.3f} um, final porosity "
                f"{summary['final_porosity']:.4f}, peak pressure "
                f"{summary['peak_pressure_MPa']:.2f} MPa, springback "
                f"{summary['springback_strain']:.4f}")

    # --- summary -----------------------------------------------------------------------------
    def summary(self) -> dict:
        """The run's numbers. The final ones (thickness, porosity, springback, platen force
        after the release) exist only once the sample was released: a run that stopped
        before (INCOMPLETE, INTERRUPTED) has None there, not its state under load."""
        records = self.records
        peak = max(records, key=lambda r: r.pressure)
        final = records[-1]
        released = final.phase == "release"
        loaded = [r for r in records if r.phase == "load"]
        top_law = self.laws[self.top_name]
        h0 = self.top.thickness
        porosity0 = top_law.initial_porosity
        iterations = [r.newton_iterations for r in records]
        out = {
            "case": self.case.case.name,
            "dimension": self.case.geometry.dimension,
            "top_layer": self.top_name,
            "initial_thickness_mm": h0,
            "initial_porosity": porosity0,
            "thickness_under_load_mm": peak.top_thickness,
            "porosity_under_load": peak.mean_porosity,
            "peak_pressure_MPa": peak.pressure,
            "final_thickness_mm": final.top_thickness if released else None,
            "final_porosity": final.mean_porosity if released else None,
            "springback_strain": (final.top_thickness - peak.top_thickness) / peak.top_thickness
            if released else None,
            "mass_balance_error": (h0 * (1 - porosity0)
                                   - final.top_thickness * (1 - final.mean_porosity))
            / (h0 * (1 - porosity0)),
            "final_platen_force": final.platen_force if released else None,
            "max_penetration_mm": max(r.max_penetration for r in loaded) if loaded else 0.0,
            "steps": len(records),
            "newton_solves_total": int(sum(r.newton_solves for r in records)),
            "newton_iterations_max_per_solve": int(max(iterations)),
            "wall_time_s": getattr(self, "wall_time", None),
            "mpi_ranks": self.comm.size,
        }
        if self.search:
            out["final_thickness_search"] = self.search
        return out
