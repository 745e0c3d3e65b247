r"""Delamination specimens: a cohesive interface between two elastic arms, loaded to fracture.

Two fracture-mechanics tests that check the cohesive band interfaces of the stack
(``nipstack.interfaces``) against linear-elastic fracture mechanics (LEFM), and that measure
the toughness of a bonded interface (coating/foil, laminated separator) from a simulated test:
the double cantilever beam (DCB, mode I) and the end-notched flexure (ENF, mode II). The
specimen (mesh, pre-crack, supports) is ``specimen.py``, the closed forms it is compared with
``closed_forms.py``, the loading ``opening.py``, the summary and files ``results.py``;
docs/delamination.md tells what was measured.

The model is built from the case's ``[delamination]`` table (``DelaminationSpec``) and its
``[solver]`` table (``DelaminationSolver``): newton_rtol, petsc_options, and max_cutbacks, the
halvings of the largest increment (a floor on the increment, see ``opening.py``). Q1 elements
always (the interface band needs them), at most MAX_ITERATIONS Newton iterations per
increment, and an absolute Newton tolerance of ATOL_FRACTION of the LEFM peak load per depth
(the band is 1e-6 h thin: its jump is a difference of nearly equal displacements, the
residual's round-off floor is ~1e-11 of the peak load).

The crack length a is the furthest X where the damage reached 1, the process-zone tip the
furthest X with damage > 0 (X from the load line / the left support). The load on the
propagation branch is compared with the LEFM load P(a) at the model's crack length (a lags
the "effective" LEFM tip by part of the cohesive zone); the compliance crack length a_C (the
CBT compliance solved for a) is recorded as well.

Units mm, N, MPa, s.
"""
from __future__ import annotations

import time
from pathlib import Path

import dolfinx_solver  # noqa: F401  (loads MPI before dolfinx/petsc4py)
import numpy as np
from mpi4py import MPI

from ..case import DelaminationSolver
from ..materials.cards import load_card
from ..materials.cohesive_bilinear import BilinearCohesive
from ..materials.elastic import LinearElastic
from ..output import interface_field_writer, rank_zero, write_table
from . import results
from .closed_forms import BeamTheory, plane_strain_modulus, root_rotation
from .opening import CycleDetectingNewton, Opening
from .records import HISTORY_COLUMNS, DelaminationRecord
from .specimen import INTERFACE, Specimen

#: default cohesive penalty K = factor x E' / h (Turon et al. 2007: alpha = 50 keeps the
#: compliance the interface adds to the arms below ~2 %)
PENALTY_FACTOR = 50.0
#: Newton iterations per increment (a cycling Newton is stopped earlier, see opening.py)
MAX_ITERATIONS = 12
#: the absolute Newton tolerance, x the LEFM peak load per depth (N/mm)
ATOL_FRACTION = 1e-10
#: damage at or above which the faces are apart (the crack), above which softening (the
#: process zone)
SEPARATED, PROCESS_ZONE_ONSET = 1.0 - 1e-12, 0.0


def arm_law(spec):
    """The arms' linear elastic law: the card `arm_material`, or E and nu."""
    if spec.arm_material is None:
        law = LinearElastic(float(spec.youngs_modulus), float(spec.poisson_ratio))
    else:
        law = load_card(spec.arm_material)
    if getattr(law, "name", None) != "elastic":
        raise ValueError("the arms must be linear elastic (LEFM reference); got law "
                         f"{getattr(law, 'name', type(law).__name__)!r}")
    return law


def cohesive_law(spec, modulus: float) -> BilinearCohesive:
    """The bilinear law of `cohesive`; penalty_stiffness defaults to PENALTY_FACTOR E' / h."""
    parameters = dict(spec.cohesive)
    parameters.setdefault("penalty_stiffness", PENALTY_FACTOR * modulus / spec.arm_thickness)
    return BilinearCohesive(**parameters)


def check_enf(spec, log):
    """The ENF pre-crack must end before mid-span; below 0.7 L the branch snaps back."""
    a0, L = spec.precrack, spec.length
    if not a0 < 0.5 * L:
        raise ValueError(f"ENF: the pre-crack ({a0} mm) must end before mid-span "
                         f"({0.5 * L} mm)")
    if a0 < 0.7 * 0.5 * L:
        log(f"  note: ENF pre-crack {a0} mm < 0.7 L = {0.35 * L} mm: the load drops "
            "with a snap-back after the peak (displacement control cannot follow)")


class Delamination:
    """A DCB (mode I) or ENF (mode II) specimen with a cohesive interface.

    spec : the case's ``DelaminationSpec`` (every parameter with its unit and default there);
    solver : the case's ``DelaminationSolver`` (default: its defaults);
    relax_snaps : relax snap-throughs at a fixed opening (``opening.relax_snap``; only without
        the law's own viscosity).
    """

    def __init__(self, spec, solver: DelaminationSolver | None = None, comm=MPI.COMM_WORLD,
                 log=print, relax_snaps: bool = True):
        solver = DelaminationSolver() if solver is None else solver
        self.spec, self.test, self.comm = spec, spec.test, comm
        self.log = rank_zero(log, comm)
        if self.test == "enf":
            check_enf(spec, self.log)
        self.target_opening, self.steps = spec.opening, spec.steps
        self.max_cutbacks = solver.max_cutbacks
        self.arm_law = arm_law(spec)
        E, nu = float(self.arm_law.youngs_modulus), float(self.arm_law.poisson_ratio)
        self.modulus = plane_strain_modulus(E, nu)                  # E'
        self.chi = root_rotation(spec.root_rotation, self.modulus, E / (2.0 * (1.0 + nu)))
        self.interface_law = cohesive_law(spec, self.modulus)
        dcb = self.test == "dcb"
        law = self.interface_law
        self.toughness = float(law.mode_i_toughness if dcb else law.mode_ii_toughness)
        self.strength = float(law.normal_strength if dcb else law.shear_strength)
        self.beam = BeamTheory(self.test, self.modulus, spec.arm_thickness, spec.width,
                               self.toughness, self.chi, 0.5 * spec.length)
        self.specimen = Specimen(spec, self.arm_law, law, self.beam,
                                 dict(solver.petsc_options) or None, comm)
        self.problem, self.interfaces = self.specimen.problem, self.specimen.interfaces
        self.band = self.specimen.band
        self.reference_load = float(self.beam.load(spec.precrack))
        # full Newton steps (the line search only backs off from inadmissible iterates): with
        # contact and damage switching the residual norm is a poor merit function
        self.newton = CycleDetectingNewton(
            self.problem, solver.newton_rtol, ATOL_FRACTION * self.reference_load / spec.width,
            MAX_ITERATIONS, divergence=np.inf)
        self.relax_snaps = relax_snaps
        self.records: list[DelaminationRecord] = []
        self.on_step = None
        self.time = 0.0                 # pseudo-time, s
        self.current_opening = 0.0      # the last opening reached, mm
        self.work = 0.0                 # int P d(opening), N mm
        self.snaps = 0                  # snap-throughs relaxed (records with phase "snap")
        self.last_increment = None      # (du, d opening) of the last "load" increment
        self.wall_time = None
        self.log(f"delamination ({self.test.upper()}): arms {spec.arm_thickness} mm, length "
                 f"{spec.length} mm, pre-crack {spec.precrack} mm, E' = {self.modulus:.6g} "
                 f"MPa, chi = {self.chi:.4f}; {len(self.specimen.x_nodes) - 1} columns (fine "
                 f"{self.specimen.element_length:.4g} mm), {spec.elements_through} rows per "
                 f"arm, {self.specimen.cells()} cells, {self.specimen.dofs()} dofs")

    @classmethod
    def from_case(cls, case, comm, log=print) -> "Delamination":
        """The model of a delamination case: its [delamination] and [solver] tables."""
        return cls(case.delamination, case.solver, comm, log)

    # --- measures -------------------------------------------------------------------------------
    def load(self) -> float:
        """The reaction P (N) of the converged state (``Specimen.reaction``)."""
        return self.specimen.reaction(self.newton.residual_form)

    def crack_state(self) -> tuple[float, float, float]:
        """(crack length: the furthest X where the damage reached 1, process-zone tip: the
        furthest X with damage > 0, dissipated energy in N mm) of the current trial state, X
        from the load line / the pin; collective."""
        band, precrack = self.band, self.spec.precrack
        own = band.owned
        damage = np.asarray(band.trial["damage"], dtype=float)[own]
        X = band.coordinates[own, 0]
        tip = self.comm.allreduce(float(np.max(X[damage >= SEPARATED], initial=-np.inf)),
                                  op=MPI.MAX)
        zone = self.comm.allreduce(float(np.max(X[damage > PROCESS_ZONE_ONSET],
                                                initial=-np.inf)), op=MPI.MAX)
        energy = band.trial.get("dissipated_energy")
        local = float(np.sum(np.asarray(energy)[own] * band.area[own])) \
            if energy is not None else 0.0
        dissipated = self.spec.width * self.comm.allreduce(local, op=MPI.SUM)
        return max(tip, precrack), max(zone, tip, precrack), dissipated

    def penetration(self) -> float:
        """Largest interpenetration -g_n of the interface faces (mm, >= 0); collective."""
        band = self.band
        g_n = band.jump[band.owned, 0]
        return max(-self.comm.allreduce(float(np.min(g_n, initial=np.inf)), op=MPI.MIN), 0.0)

    # --- loading ---------------------------------------------------------------------------------
    def run(self):
        """Open the specimen to the case's opening (mm) by displacement control in increments
        of at most opening / steps (``opening.Opening``)."""
        started = time.perf_counter()
        try:
            self.advance(self.target_opening, self.target_opening / self.steps)
        finally:
            self.wall_time = time.perf_counter() - started
        return self.records

    def advance(self, opening: float, max_step: float):
        """Increase the opening to `opening` (mm) in adaptive increments of at most
        `max_step` (see ``opening.py``)."""
        Opening(self, opening, max_step).run()

    def relaxable(self) -> bool:
        """Snap-throughs are relaxed unless switched off or the law has its own viscosity."""
        return self.relax_snaps and self.interface_law.viscosity == 0.0

    def record_step(self, opening, previous, report, cutbacks, phase="load"):
        """Record the converged state at `opening` (mm), reached from `previous`."""
        load = self.load()
        last_load = self.records[-1].load if self.records else 0.0
        self.work += 0.5 * (load + last_load) * (opening - previous)
        crack, zone, dissipated = self.crack_state()
        record = DelaminationRecord(
            step=len(self.records) + 1, phase=phase, time=self.time, opening=opening,
            load=load, crack_length=crack, process_zone_tip=zone,
            compliance_crack_length=self.beam.compliance_crack_length(opening, load),
            lefm_load=float(self.beam.load(crack)), dissipated_energy=dissipated,
            external_work=self.work, penetration=self.penetration(),
            newton_iterations=report.iterations, cutbacks=cutbacks,
            residuals=list(report.residuals))
        self.records.append(record)
        rates = report.rates()
        self.log(f"step {record.step:3d} {phase:4s} opening {opening:9.5f} mm  "
                 f"P = {load:9.5g} N  a = {crack:8.4f} mm  zone {zone - crack:7.4f} mm  "
                 f"P/P_lefm(a) = {load / record.lefm_load:6.4f}  newton={report.iterations} "
                 f"|r|/|f|: " + " ".join(f"{r:.1e}" for r in report.residuals)
                 + (f"  rate {rates[-1]:.2f}" if rates else ""))
        if self.on_step is not None:
            self.on_step(record, self)

    # --- results ---------------------------------------------------------------------------------
    def propagation_branch(self) -> list[DelaminationRecord]:
        """The records on the propagation branch: the crack has grown by at least one column
        past the pre-crack, its process zone still lies in the fine columns, and (ENF) ends
        2 h before the punch, whose compression changes the tip field."""
        specimen = self.specimen
        end = specimen.fine_region[1]
        if self.test == "enf":
            end = min(end, specimen.half_span - 2.0 * specimen.h)
        return [r for r in self.records
                if r.crack_length >= specimen.precrack
                + specimen.element_length * (1.0 - 1e-9) and r.process_zone_tip <= end]

    def branch_load(self, record: DelaminationRecord) -> float:
        """DCB: the LEFM propagation branch at the record's opening, P(delta) (chi-free); ENF:
        the LEFM load at the compliance crack length (also a point of the (delta, P) branch)."""
        return self.beam.branch_load(record.opening, record.compliance_crack_length)

    def summary(self) -> dict:
        return results.summary(self)

    def step_outputs(self, record, folder):
        """Nothing per step: the load-displacement curve is written at the end."""

    def final_outputs(self, folder):
        """load_displacement.csv, interface_profile.csv and load_displacement.png
        (``results.write_curves``; collective)."""
        results.write_curves(self, folder)

    def history_csv(self, path):
        write_table(path, [column for _, column in HISTORY_COLUMNS],
                    ([getattr(r, name) for name, _ in HISTORY_COLUMNS] for r in self.records))

    def picture_view(self) -> dict:
        """The pictures show the specimen at the last step: the crack opened furthest."""
        return {"title": f"{self.test.upper()} specimen", "interface_step": "last"}

    def field_writer(self, path):
        """The volume fields with the interface gap, pressure, damage and contact on the band
        cells, and the interface at its (nodal) points as fields/<interface>.pvd
        (``output.interface_field_writer``)."""
        return interface_field_writer(self.problem, self.interfaces, [INTERFACE], Path(path))

    describe = staticmethod(results.describe)
