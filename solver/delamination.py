r"""Delamination specimens: a cohesive interface between two elastic arms, loaded to fracture.

Two fracture-mechanics tests that check the cohesive band interfaces of the stack
(``nipstack.interfaces``) against linear-elastic fracture mechanics (LEFM), and that measure
the toughness of a bonded interface (coating/foil, laminated separator) from a simulated test.

Double cantilever beam (DCB, mode I)::

         P, delta/2 ^ (pin)
                    +---------------------------------------------------+
                    |  upper arm (h)                                     |
      pre-crack a0  +- - - - - - - - - -+=================================+  cohesive band
                    |  lower arm (h)                                     |
                    +---------------------------------------------------+
         P, delta/2 v (pin)  x = 0: load line                           x = L

End-notched flexure (ENF, mode II), three-point bending over the span 2L::

                                          | delta (punch: one node)
                    +---------------------v-----------------------------+
                    |  upper arm                                         |
      pre-crack a0  +- - - - - - - - - - -+==============================+  cohesive band
                    |  lower arm                                         |
                    +---------------------------------------------------+
                    ^ pin (u = 0)                           roller (u_y = 0) ^
                    x = 0                   x = L                         x = 2L

Both arms are plane-strain elastic layers of thickness h (``meshes.stack.build_stack``, Q1,
finite strain); the interface between them is a one-element band with a cohesive law
(``materials.cohesive_bilinear``: Camanho-Davila, BK mixed mode; or the exponential law). Over
the pre-crack, X < a0, the interface starts fully damaged (``InterfaceTerm.set_state``): it
carries no traction in opening or shear, but the law's contact penalty still acts in
compression, so the ENF arms slide on each other without interpenetrating. The pre-crack is a
film insert h/1000 thick (``PrecrackInsert``; real specimens use a ~13 um PTFE film).

Loading by displacement control (Dirichlet conditions move with the opening; the load is the
reaction, the internal force summed over the loaded degrees of freedom):
  * DCB: a pin at the mid-thickness node of each arm's end face (x = 0): u_x = 0 and
    u_y = +-delta/2 (upper/lower arm); the end sections rotate freely about the pins.
  * ENF: the punch moves the top-face node at mid-span down by delta (u_x free); a pin
    (u_x = u_y = 0) at the bottom node of x = 0 and a roller (u_y = 0) at the bottom node of
    x = 2L.
  Why single-node pins: a Dirichlet condition on a whole end face would keep the face from
  rotating freely at finite rotation (a uniform u_y stretches the rotated face by
  h (1/cos(theta) - 1)): measured on a DCB at theta = 0.05, the stored energy exceeded
  P delta / 2 by 2 %. The local indentation under a point force in plane strain grows only
  like P / (pi E') ln(h / element), ~1e-5 of the bending deflection of these slender arms.
Forces are per unit depth times the specimen width B (plane strain, N for B in mm).

Closed forms (corrected beam theory, E' = E / (1 - nu^2), arm thickness h, width B):

    DCB:  C = delta / P = 8 (a + chi h)^3 / (E' B h^3),
          G_I = 12 P^2 (a + chi h)^2 / (E' B^2 h^3)  ->  P = B sqrt(E' h^3 G_Ic / 12) / (a + chi h)
    ENF:  C = (3 (a + chi_II h)^3 + 2 L^3) / (8 E' B h^3),
          G_II = 9 P^2 (a + chi_II h)^2 / (16 E' B^2 h^3)
                ->  P = 4 B sqrt(E' h^3 G_IIc) / (3 (a + chi_II h))

The root-rotation correction chi (``root_rotation``): "kanninen" (default), chi = 6^(-1/4) =
0.639, the intact arm as a beam on an elastic foundation (Kanninen, Int. J. Fract. 9:83,
1973; plane strain: E' throughout); "williams", Williams' fit for orthotropic arms
(Compos. Sci. Technol. 35:367, 1989, the one of ISO 15024 / ASTM D5528) with the plane-strain
constants E11 = E22 = E', G13 = G: chi = sqrt(E11 / (11 G13)) [3 - 2 (Gamma / (1 + Gamma))^2],
Gamma = 1.18 sqrt(E11 E22) / G13, 0.92 for nu = 0.3; or a number. Measured on the isotropic
plane-strain continuum (G from dC/da of two elastic models, a0 = 29.5 and 30.5 mm, h = 1.5):
chi = 0.61 with h/8 elements, 0.67 with h/16 -- Kanninen's value, not Williams' (fitted to
laminates with E11/G13 ~ 30). ENF: chi_II = 0.42 chi (Wang & Williams, Compos. Sci. Technol.
43:251, 1992), 0.27; the same measurement gives 0.56 (h/8) and 0.65 (h/16), a 1 % shift of
the load at a = 37 mm.

The DCB peak comes right before propagation: it is compared with P(a0); on the propagation
branch the load is compared with P(a) at the crack length of the model, a = the furthest X
where the damage reached 1 (a lags the "effective" LEFM tip by part of the cohesive zone:
the loads come out ~3 % low). The DCB propagation branch in the (delta, P) plane,
delta = 8 K^3 / (E' B h^3 P^2) with K = B sqrt(E' h^3 G_Ic / 12), does not depend on chi;
the compliance crack length a_C (CBT compliance solved for a) is recorded as well, and for
the ENF the load at a_C is the (delta, P) branch. The ENF branch is stable (no snap-back)
only for a >= (1/3)^(1/3) L = 0.69 L. Compliances need columns no longer than ~h/2 outside
the crack path: fully integrated Q1 locks in bending (h-long columns: DCB 12 % too stiff).

Cohesive-zone length (the softening zone must be resolved by a few elements; Turon et al.,
Eng. Fract. Mech. 74:1665, 2007):  l_cz = M E' G_c / tau0^2 with M = 1 (Hillerborg), and for
slender arms (l_cz > h) the shorter l_cz,beam = (E' G_c / tau0^2)^(1/4) h^(3/4) (Yang & Cox,
Int. J. Fract. 133:107, 2005, mode I); the length actually reached in the model (from the
furthest point with damage > 0 to the crack tip, damage = 1) is recorded at every step.

Numerics
  * The band is integrated at its nodes (``InterfaceTerm(..., quadrature="nodal")``): with
    Gauss points the closed ENF pre-crack chattered between the two points of a cell.
  * Newton with the consistent tangent, full steps (the line search only backs off from
    inadmissible iterates), started from the secant predictor; a Newton that cycles between
    two states is stopped at once (``CycleDetectingNewton``). Increments adapt: x1.5 after an
    easy one, halved after a hard or failed one.
  * Snap-through: a discretised cohesive zone can let go of a column faster than the opening
    can follow (a local snap-back). An increment that still fails at 1/32 of the largest
    is relaxed at the fixed opening (``_relax``: the law's viscous regularisation in
    pseudo-time until the damage lag is < 1e-9, then solved without viscosity; records with
    phase "snap"). The loading never sees a viscosity: equilibrium states are rate
    independent. The optional viscosity of the law itself (``viscosity``, s, pseudo-time 0 ..
    ``loading_time`` over the opening) is reported when used.

Units mm, N, MPa, s.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import dolfinx_solver  # noqa: F401  (loads MPI before dolfinx/petsc4py)
import numpy as np
from dolfinx import fem
from dolfinx.fem import petsc as fem_petsc
from mpi4py import MPI
from petsc4py import PETSc

from .interfaces import InterfaceTerm
from .materials.cards import load_card
from .materials.cohesive_bilinear import BilinearCohesive
from .materials.cohesive_exponential import ExponentialCohesive
from .materials.elastic import LinearElastic
from .mechanics import MechanicsProblem, RunIncomplete, StepFailure
from .output import rank_zero, write_table
from .meshes.stack import StackInterface, StackLayer, build_stack
from .newton import NewtonSolver

TESTS = ("dcb", "enf")
LOWER, UPPER = "lower_arm", "upper_arm"
INTERFACE = f"interface_{LOWER}_{UPPER}"
#: default cohesive penalty K = factor x E' / h (Turon et al. 2007: alpha = 50 keeps the
#: compliance the interface adds to the arms below ~2 %)
PENALTY_FACTOR = 50.0
#: step control: Newton iterations of an easy / a hard increment
EASY, HARD = 4, 10
#: snap-through: an increment that still fails after SNAP_CUTBACKS halvings is taken as a
#: snap (see Delamination._relax), relaxed with this viscosity (s, pseudo-time)
SNAP_CUTBACKS = 5
RELAXATION_VISCOSITY = 1.0
#: ENF: chi_II / chi (Wang & Williams 1992)
MODE_II_ROOT_FACTOR = 0.42


class CycleDetectingNewton(NewtonSolver):
    """Newton (full steps) that gives up as soon as it cycles between two states: the
    residual returns to within 1 % of its value two iterations earlier, twice in a row. With
    a cohesive zone this is a column jumping between two branches of the law (softening and
    fully separated, or open and in contact) while the opening cannot follow; more iterations
    never help, so the step is handed back at once (to the cut-back or the snap relaxation,
    see ``Delamination.advance``) instead of after max_iterations."""

    def _line_search(self, residual, dx, force_control, report):
        result = super()._line_search(residual, dx, force_control, report)
        r = report.residuals + [result[0] / max(result[1], report.force_scale, 1e-300)]
        if len(r) >= 5 and all(abs(r[-k] - r[-k - 2]) <= 1e-2 * r[-k] for k in (1, 2)) \
                and r[-1] > 1e3 * self.rtol:
            raise StepFailure(f"Newton cycles between two states (relative residuals "
                              f"{r[-2]:.2e}, {r[-1]:.2e})")
        return result


# --- closed forms -------------------------------------------------------------------------------
def plane_strain_modulus(youngs_modulus: float, poisson_ratio: float) -> float:
    """E' = E / (1 - nu^2), MPa."""
    return youngs_modulus / (1.0 - poisson_ratio ** 2)


def kanninen_root_rotation() -> float:
    """Kanninen's (1973) crack-length correction chi = 1 / (lambda h) = 6^(-1/4) (-): the
    intact arm as a beam on an elastic foundation of springs h/2 long (stiffness 2 E' B / h),
    lambda^4 = 6 / h^4, for which G = 12 P^2 (a + chi h)^2 / (E' B^2 h^3) exactly."""
    return 6.0 ** -0.25


def williams_root_rotation(axial_modulus: float, transverse_modulus: float,
                           shear_modulus: float) -> float:
    """Williams' (1989) crack-length correction chi (-): a -> a + chi h for a DCB arm.
    For an isotropic arm in plane strain pass E', E', G."""
    gamma = 1.18 * np.sqrt(axial_modulus * transverse_modulus) / shear_modulus
    return float(np.sqrt(axial_modulus / (11.0 * shear_modulus))
                 * (3.0 - 2.0 * (gamma / (1.0 + gamma)) ** 2))


def dcb_load(crack_length, modulus, thickness, toughness, width=1.0, chi=0.0):
    """LEFM (corrected beam theory) load of a DCB at G_I = toughness, N (N/mm for B = 1)."""
    return width * np.sqrt(modulus * thickness ** 3 * toughness / 12.0) / (
        np.asarray(crack_length, dtype=float) + chi * thickness)


def dcb_compliance(crack_length, modulus, thickness, width=1.0, chi=0.0):
    """delta / P of a DCB (total opening of the load points), mm/N."""
    return 8.0 * (np.asarray(crack_length, dtype=float) + chi * thickness) ** 3 / (
        modulus * width * thickness ** 3)


def dcb_propagation_load(opening, modulus, thickness, toughness, width=1.0):
    """P(delta) on the DCB propagation branch, delta = 8 K^3 / (E' B h^3 P^2) (chi-free)."""
    k = width * np.sqrt(modulus * thickness ** 3 * toughness / 12.0)
    return np.sqrt(8.0 * k ** 3 / (modulus * width * thickness ** 3
                                   * np.asarray(opening, dtype=float)))


def enf_load(crack_length, modulus, thickness, toughness, width=1.0, chi_ii=0.0):
    """LEFM (corrected beam theory) load of an ENF specimen at G_II = toughness, N."""
    return 4.0 * width * np.sqrt(modulus * thickness ** 3 * toughness) / (
        3.0 * (np.asarray(crack_length, dtype=float) + chi_ii * thickness))


def enf_compliance(crack_length, half_span, modulus, thickness, width=1.0, chi_ii=0.0):
    """Load-point deflection / P of an ENF specimen (span 2L), mm/N."""
    a = np.asarray(crack_length, dtype=float) + chi_ii * thickness
    return (3.0 * a ** 3 + 2.0 * half_span ** 3) / (8.0 * modulus * width * thickness ** 3)


def cohesive_zone_length(modulus, toughness, strength, factor=1.0):
    """l_cz = M E' G_c / tau0^2 (mm); M = 1 Hillerborg (Turon et al. 2007)."""
    return factor * modulus * toughness / strength ** 2


def slender_cohesive_zone_length(modulus, toughness, strength, thickness):
    """Mode I cohesive-zone length of a slender arm, (E' G_c / tau0^2)^(1/4) h^(3/4), mm."""
    return (modulus * toughness / strength ** 2) ** 0.25 * thickness ** 0.75


# --- mesh ----------------------------------------------------------------------------------------
def graded_columns(length: float, fine_start: float, fine_end: float, fine_size: float,
                   coarse_size: float, ratio: float = 1.2, anchor: float | None = None):
    """Column positions 0 .. length: uniform `fine_size` over [fine_start, fine_end] (with a
    node at `anchor`, default fine_start), growing by `ratio` per element outside up to
    `coarse_size`. The outermost element on each side absorbs the remainder."""
    anchor = fine_start if anchor is None else anchor
    left = int(np.floor((anchor - max(fine_start, 0.0)) / fine_size + 1e-9))
    right = int(np.floor((min(fine_end, length) - anchor) / fine_size + 1e-9))
    fine = anchor + fine_size * np.arange(-left, right + 1)

    def outward(start, stop):
        direction = np.sign(stop - start)
        points, size, x = [], fine_size, start
        while True:
            size = min(size * ratio, coarse_size)
            if direction * (stop - (x + direction * size)) <= 0.5 * size:
                break
            x += direction * size
            points.append(x)
        return points

    below = outward(fine[0], 0.0)[::-1] if fine[0] > 1e-12 * length else []
    above = outward(fine[-1], length) if fine[-1] < length * (1 - 1e-12) else []
    xs = np.concatenate([[0.0] if below or fine[0] > 1e-12 * length else [],
                         below, fine, above,
                         [length] if fine[-1] < length * (1 - 1e-12) else []])
    xs[0], xs[-1] = 0.0, length
    return np.unique(xs)


@dataclass
class PrecrackInsert:
    """The profile of a pre-crack film insert for ``meshes.stack`` (as a roughness of the upper
    face): an initial gap `thickness` (mm) between the faces for x < `length`, none beyond.
    A tiny gap (default 1e-9 of the arm thickness) lets the first Newton iterate see the
    pre-crack open (a fully damaged cohesive point at exactly zero gap takes the closed,
    contact branch of its normal tangent: the DCB arms would start tied and Newton would
    open the pre-crack a few points per iteration)."""

    length: float
    thickness: float

    def heights(self, x, z=None, width=None, depth=None):
        return np.where(np.asarray(x, dtype=float) < self.length, -self.thickness, 0.0)


# --- records -------------------------------------------------------------------------------------
@dataclass
class DelaminationRecord:
    step: int
    phase: str
    time: float                       # pseudo-time, s
    opening: float                    # DCB: load-point opening; ENF: punch deflection, mm
    load: float                       # reaction P, N (N/mm per unit depth x B)
    crack_length: float               # furthest X with damage 1 (from the load line / pin), mm
    process_zone_tip: float           # furthest X with damage > 0, mm
    compliance_crack_length: float    # a from the CBT compliance, mm
    lefm_load: float                  # closed-form P at crack_length, N
    dissipated_energy: float          # by the interface law, N mm
    external_work: float              # int P d(opening), N mm
    penetration: float                # largest interpenetration of the faces, -min(g_n), mm
    newton_iterations: int
    cutbacks: int
    residuals: list = field(default_factory=list)


#: history.csv: (DelaminationRecord field, column with its unit)
HISTORY_COLUMNS = [
    ("step", "step"), ("phase", "phase"), ("time", "time_s"), ("opening", "opening_mm"),
    ("load", "load_N"), ("crack_length", "crack_length_mm"),
    ("process_zone_tip", "process_zone_tip_mm"),
    ("compliance_crack_length", "compliance_crack_length_mm"), ("lefm_load", "lefm_load_N"),
    ("dissipated_energy", "dissipated_energy_Nmm"), ("external_work", "external_work_Nmm"),
    ("penetration", "penetration_mm"), ("newton_iterations", "newton_iterations"),
    ("cutbacks", "cutbacks"), ("residuals", "relative_residuals")]


class Delamination:
    """A DCB (mode I) or ENF (mode II) specimen with a cohesive interface (Python API).

    test : "dcb" | "enf".
    arm_thickness h (mm, each arm); length (mm; DCB: from the load line to the free end;
    ENF: the span 2L between the supports); width B (mm: the depth multiplying the
    plane-strain forces); precrack a0 (mm, from the load line / the left support; ENF:
    a0 >= 0.7 L for a stable branch).
    material : elastic card (name or path) or law object; or youngs_modulus (MPa) and
        poisson_ratio.
    cohesive : a law object (BilinearCohesive, ExponentialCohesive), or the parameters of the
        bilinear law (normal_strength, shear_strength, mode_i_toughness, mode_ii_toughness,
        bk_exponent[, viscosity, penalty_stiffness]); penalty_stiffness defaults to
        penalty_factor x E' / h (50: Turon et al. 2007).
    element_length (mm): column width over the crack path (ENF: adjusted so that mid-span is
        a node); elements_through: rows per arm; coarse_length (mm, default h / 2) and
        grading (growth ratio of neighbouring columns) outside; fine_region (x0, x1) in mm,
        default from 3 h before the pre-crack front to 3 h past the crack front LEFM predicts
        at the final opening (DCB) or past mid-span (ENF).
    opening (mm): final load-point opening (DCB) or punch deflection (ENF); steps: the
        largest increment is opening / steps (see ``advance``); loading_time (s):
        pseudo-time over the opening (matters only with the law's viscosity).
    insert_ratio: pre-crack film thickness / h; root_rotation: "kanninen" | "williams" | a
        number (see the module docstring); interface_quadrature: "nodal" | "gauss";
        predictor: secant predictor of each increment; relax_snaps: relax snap-throughs at
        fixed opening (bilinear law without viscosity).
    max_cutbacks: halvings of an increment before the run stops (RunIncomplete, records
        kept); newton_rtol, newton_atol (N/mm, default 1e-10 of the LEFM peak per depth),
        max_iterations, petsc_options (MUMPS LU by default), comm, log.
    """

    def __init__(self, test: str = "dcb", arm_thickness: float = 1.5, length: float = 60.0,
                 width: float = 1.0, precrack: float = 30.0, material=None,
                 youngs_modulus: float | None = None, poisson_ratio: float | None = None,
                 cohesive=None, penalty_factor: float = PENALTY_FACTOR,
                 element_length: float = 0.25, elements_through: int = 4,
                 coarse_length: float | None = None, grading: float = 1.25,
                 fine_region: tuple | None = None, opening: float = 1.0, steps: int = 50,
                 loading_time: float = 1.0,
                 insert_ratio: float = 1e-3, root_rotation="kanninen", predictor: bool = True,
                 interface_quadrature: str = "nodal", relax_snaps: bool = True,
                 max_cutbacks: int = 10, newton_rtol: float = 1e-9,
                 newton_atol: float | None = None,
                 max_iterations: int = 12, petsc_options: dict | None = None,
                 comm=MPI.COMM_WORLD, log=print):
        if test not in TESTS:
            raise ValueError(f"test must be one of {TESTS}, got {test!r}")
        self.test, self.comm = test, comm
        self.log = rank_zero(log, comm)
        h, L, a0 = float(arm_thickness), float(length), float(precrack)
        for key, value in (("arm_thickness", h), ("length", L), ("width", width),
                           ("element_length", element_length), ("opening", opening)):
            if not value > 0.0:
                raise ValueError(f"{key} must be > 0 mm, got {value}")
        if not 0.0 < a0 < L:
            raise ValueError(f"precrack must lie in (0, length) = (0, {L}) mm, got {a0}")
        if test == "enf" and not a0 < 0.5 * L:
            raise ValueError(f"ENF: the pre-crack ({a0} mm) must end before mid-span "
                             f"({0.5 * L} mm)")
        if test == "enf" and a0 < 0.7 * 0.5 * L:
            self.log(f"  note: ENF pre-crack {a0} mm < 0.7 L = {0.35 * L} mm: the load drops "
                     "with a snap-back after the peak (displacement control cannot follow)")
        if int(steps) < 1 or int(elements_through) < 1:
            raise ValueError("steps and elements_through must be >= 1")
        self.h, self.length, self.width, self.precrack = h, L, float(width), a0
        self.half_span = 0.5 * L
        self.target_opening, self.steps = float(opening), int(steps)
        self.loading_time, self.max_cutbacks = float(loading_time), int(max_cutbacks)

        # arms
        if material is None:
            if youngs_modulus is None or poisson_ratio is None:
                raise ValueError("give a material (card or law) or youngs_modulus and "
                                 "poisson_ratio")
            law = LinearElastic(float(youngs_modulus), float(poisson_ratio))
        elif isinstance(material, (str, Path)):
            law = load_card(material)
        else:
            law = material
        if getattr(law, "name", None) != "elastic":
            raise ValueError("the arms must be linear elastic (LEFM reference); got law "
                             f"{getattr(law, 'name', type(law).__name__)!r}")
        self.arm_law = law
        E, nu = float(law.youngs_modulus), float(law.poisson_ratio)
        self.modulus = plane_strain_modulus(E, nu)                  # E'
        self.shear_modulus = E / (2.0 * (1.0 + nu))
        if root_rotation == "kanninen":
            self.chi = kanninen_root_rotation()
        elif root_rotation == "williams":
            self.chi = williams_root_rotation(self.modulus, self.modulus, self.shear_modulus)
        else:
            self.chi = float(root_rotation)
        self.root_rotation = root_rotation
        self.chi_ii = MODE_II_ROOT_FACTOR * self.chi

        # interface law
        if cohesive is None:
            raise ValueError("give the cohesive law (object) or the bilinear law's parameters "
                             "(normal_strength, shear_strength, mode_i_toughness, "
                             "mode_ii_toughness, bk_exponent)")
        if isinstance(cohesive, dict):
            parameters = dict(cohesive)
            parameters.setdefault("penalty_stiffness", penalty_factor * self.modulus / h)
            self.interface_law = BilinearCohesive(**parameters)
        else:
            self.interface_law = cohesive
        self.toughness = self._toughness()
        self.strength = self._strength()

        # mesh: fine columns over the crack path
        coarse = 0.5 * h if coarse_length is None else float(coarse_length)
        if fine_region is None:
            fine_region = self._default_fine_region()
        anchors = [a0] + ([self.half_span] if test == "enf" else [])
        x0, x1 = min(float(fine_region[0]), a0), max(float(fine_region[1]), max(anchors))
        self.rows = int(elements_through)
        if test == "enf":
            # the fine columns must put nodes on the pre-crack front and on mid-span
            n = max(int(round((self.half_span - a0) / element_length)), 1)
            element_length = (self.half_span - a0) / n
        self.element_length = float(element_length)
        self.x_nodes = graded_columns(L, x0, x1, self.element_length, coarse, grading,
                                      anchor=a0)
        fine = np.flatnonzero(np.abs(np.diff(self.x_nodes) - self.element_length)
                              <= 1e-9 * self.element_length)
        self.fine_region = (float(self.x_nodes[fine[0]]), float(self.x_nodes[fine[-1] + 1]))
        layers = [StackLayer(LOWER, h, int(elements_through)),
                  StackLayer(UPPER, h, int(elements_through))]
        self.insert = PrecrackInsert(a0, insert_ratio * h)
        self.stack_mesh = build_stack(layers, L, len(self.x_nodes) - 1,
                                      [StackInterface(LOWER, UPPER, roughness=self.insert)],
                                      x_nodes=self.x_nodes, comm=comm)
        self.problem = problem = MechanicsProblem(self.stack_mesh, {LOWER: law, UPPER: law},
                                                  degree=1, petsc_options=petsc_options,
                                                  bands=(INTERFACE,))
        self.interfaces = InterfaceTerm(problem, self.stack_mesh,
                                        {INTERFACE: self.interface_law},
                                        quadrature=interface_quadrature)
        self.precrack_points = self.interfaces.set_state(
            INTERFACE, self._precrack_state(), where=lambda X: X[:, 0] < a0)
        self.band = self.interfaces.bands[INTERFACE]

        # loading
        self.load_value = fem.Constant(problem.mesh, 0.0)      # prescribed u_y of the load
        self.counter_value = fem.Constant(problem.mesh, 0.0)   # DCB: the lower arm
        V = problem.V
        self._bs = V.dofmap.index_map_bs
        self._n_owned = V.dofmap.index_map.size_local * self._bs
        band = self.stack_mesh.bands[INTERFACE].thickness
        rows = int(elements_through)
        middle = round(rows / 2) / rows        # the end-face node nearest mid-thickness
        if test == "dcb":
            # the upper arm spans from the insert (raised by its thickness) to the top face
            bottom = h + band + self.insert.thickness
            self._loaded = self._pin((0.0, bottom + (2.0 * h + band - bottom) * middle),
                                     self.load_value)
            self._pin((0.0, h * middle), self.counter_value)
            self._reaction_sign = 1.0
        else:
            self._loaded = self._pin((self.half_span, 2.0 * h + band), self.load_value,
                                     fix_x=False)
            self.problem.fix_node((0.0, 0.0), 0)
            self.problem.fix_node((0.0, 0.0), 1)
            self.problem.fix_node((L, 0.0), 1)
            self._reaction_sign = -1.0
        self._loaded_owned = self._loaded[self._loaded < self._n_owned]

        # the residual's round-off floor (the band is 1e-6 h thin: its jump is a difference of
        # nearly equal displacements) is ~1e-11 of the peak load: atol 1e-10 of it, per depth
        self.reference_load = float(self.lefm_load(a0))
        if newton_atol is None:
            newton_atol = 1e-10 * self.reference_load / self.width
        # full Newton steps (the line search only backs off from inadmissible iterates): with
        # contact and damage switching on and off the residual norm is a poor merit function;
        # measured on the ENF: the monotone line search (NewtonSolver's default) cycled on the
        # open/closed switch of the cracked faces and took 4x the evaluations
        self.newton = CycleDetectingNewton(problem, newton_rtol, newton_atol, max_iterations,
                                           divergence=np.inf)
        self._reaction_vector = None
        self.records: list[DelaminationRecord] = []
        self.on_step = None
        self.time = 0.0
        self._opening = 0.0
        self._work = 0.0
        self.predictor = predictor
        self.relax_snaps = relax_snaps
        self.snaps = 0          # snap-throughs relaxed (records with phase "snap")
        self._last_increment = None
        n_cells = problem.mesh.topology.index_map(problem.mesh.topology.dim).size_global
        self.log(f"delamination ({test.upper()}): arms {h} mm, length {L} mm, pre-crack {a0} "
                 f"mm, E' = {self.modulus:.6g} MPa, chi = {self.chi:.4f}; "
                 f"{len(self.x_nodes) - 1} columns (fine {self.element_length:.4g} mm), "
                 f"{elements_through} rows per arm, {n_cells} cells, "
                 f"{V.dofmap.index_map.size_global * self._bs} dofs")

    # --- set-up helpers --------------------------------------------------------------------------
    def _toughness(self) -> float:
        law = self.interface_law
        if isinstance(law, BilinearCohesive):
            return float(law.mode_i_toughness if self.test == "dcb" else law.mode_ii_toughness)
        if isinstance(law, ExponentialCohesive):
            return float(law.toughness)
        raise TypeError(f"unsupported interface law {law!r}")

    def _strength(self) -> float:
        law = self.interface_law
        if isinstance(law, BilinearCohesive):
            return float(law.normal_strength if self.test == "dcb" else law.shear_strength)
        return float(law.strength)

    def _precrack_state(self) -> dict:
        """History of a fully separated point: no traction in opening or shear."""
        law = self.interface_law
        if isinstance(law, BilinearCohesive):
            return {"damage": 1.0, "damage_inviscid": 1.0}
        # exponential: the secant stiffness K0 exp(-x) is 1e-22 K0 at x = 50
        return {"max_opening": 50.0 * law.critical_opening,
                "damage": 1.0 - np.exp(-50.0)}

    def _default_fine_region(self):
        """From 3 h before the pre-crack front to 3 h past the crack front predicted by LEFM at
        the final opening (DCB), or to mid-span (ENF)."""
        h, a0 = self.h, self.precrack
        if self.test == "enf":
            return a0 - 3.0 * h, self.half_span + 3.0 * h
        # the DCB propagation branch: a + chi h = K / P(delta)
        k = self.width * np.sqrt(self.modulus * h ** 3 * self.toughness / 12.0)
        p = dcb_propagation_load(self.target_opening, self.modulus, h, self.toughness,
                                 self.width)
        a_end = max(k / p - self.chi * h, a0)
        return a0 - 3.0 * h, min(a_end + 3.0 * h, self.length - 2.0 * h)

    def _pin(self, point, displacement, fix_x=True):
        """A pin at a node: u_y = displacement (a fem.Constant), u_x = 0 unless fix_x is
        False (a roller-guided punch). Returns the u_y dofs (the loaded ones)."""
        if fix_x:
            self.problem.fix_node(point, 0)
        return self.problem.fix_node(point, 1, displacement)

    # --- measures -------------------------------------------------------------------------------
    def load(self) -> float:
        """The reaction P (N, B x per unit depth) of the converged state: the internal force
        summed over the loaded dofs (DCB: upper arm, upward; ENF: the punch, downward)."""
        residual_form = self.newton.residual_form
        if self._reaction_vector is None:
            self._reaction_vector = fem_petsc.create_vector(self.problem.V)
        vector = self._reaction_vector
        with vector.localForm() as local:
            local.set(0.0)
        fem_petsc.assemble_vector(vector, residual_form)
        vector.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        local = float(np.sum(vector.getArray(readonly=True)[self._loaded_owned]))
        return self._reaction_sign * self.width * self.comm.allreduce(local, op=MPI.SUM)

    def _damage_thresholds(self) -> tuple[float, float]:
        """(onset, separated): damage above `onset` is in the softening (process) zone, at or
        above `separated` the faces are apart. Bilinear: 0 and 1; exponential (no finite
        separation): past the peak traction (1 - 1/e) and 0.99 (T = 0.05 sigma_max)."""
        if isinstance(self.interface_law, ExponentialCohesive):
            return 1.0 - np.exp(-1.0), 0.99
        return 0.0, 1.0 - 1e-12

    def crack_state(self) -> tuple[float, float, float]:
        """(crack length: the furthest X where the damage reached 1, process-zone tip: the
        furthest X with damage > 0 (thresholds: ``_damage_thresholds``), dissipated energy in
        N mm) of the current trial state, X from the load line / the pin; collective."""
        band = self.band
        own = band.owned
        onset, separated = self._damage_thresholds()
        damage = np.asarray(band.trial["damage"], dtype=float)[own]
        X = band.coordinates[own, 0]
        tip = self.comm.allreduce(float(np.max(X[damage >= separated], initial=-np.inf)),
                                  op=MPI.MAX)
        zone = self.comm.allreduce(float(np.max(X[damage > onset], initial=-np.inf)),
                                   op=MPI.MAX)
        energy = band.trial.get("dissipated_energy")
        local = float(np.sum(np.asarray(energy)[own] * band.area[own])) \
            if energy is not None else 0.0
        dissipated = self.width * self.comm.allreduce(local, op=MPI.SUM)
        return max(tip, self.precrack), max(zone, tip, self.precrack), dissipated

    def penetration(self) -> float:
        """Largest interpenetration -g_n of the interface faces (mm, >= 0); collective."""
        band = self.band
        g_n = band.jump[band.owned, 0]
        return max(-self.comm.allreduce(float(np.min(g_n, initial=np.inf)), op=MPI.MIN), 0.0)

    def lefm_load(self, crack_length) -> float:
        """The closed-form load at a crack length (mm), N."""
        if self.test == "dcb":
            return dcb_load(crack_length, self.modulus, self.h, self.toughness, self.width,
                            self.chi)
        return enf_load(crack_length, self.modulus, self.h, self.toughness, self.width,
                        self.chi_ii)

    def compliance_crack_length(self, opening: float, load: float) -> float:
        """a from the measured compliance and the CBT compliance formula (NaN if undefined).
        ENF: includes the (small) indentation at the punch and the supports."""
        if not load > 0.0:
            return float("nan")
        C, h, E, B = opening / load, self.h, self.modulus, self.width
        if self.test == "dcb":
            return float(np.cbrt(C * E * B * h ** 3 / 8.0) - self.chi * h)
        cube = (8.0 * E * B * h ** 3 * C - 2.0 * self.half_span ** 3) / 3.0
        return float(np.cbrt(cube) - self.chi_ii * h) if cube > 0.0 else float("nan")

    # --- stepping --------------------------------------------------------------------------------
    def _apply(self, opening: float):
        if self.test == "dcb":
            self.load_value.value = 0.5 * opening
            self.counter_value.value = -0.5 * opening
        else:
            self.load_value.value = -opening

    def run(self):
        """Open the specimen to `opening` (mm) by displacement control, see ``advance``."""
        started = time.perf_counter()
        try:
            self.advance(self.target_opening, self.target_opening / self.steps)
        finally:
            self.wall_time = time.perf_counter() - started
        return self.records

    def advance(self, opening: float, max_step: float):
        """Increase the opening to `opening` (mm) in increments of at most `max_step`: an
        increment that Newton solves easily (<= EASY iterations) lets the next one grow by 1.5,
        a hard one (>= HARD) halves it, a failed one is undone (u and the interface state
        restored) and retried with half the increment, down to max_step / 2^max_cutbacks.
        Each increment starts from the secant predictor (the last converged increment of u,
        scaled) unless ``predictor`` is False."""
        problem = self.problem
        step, smallest = max_step, max_step * 0.5 ** self.max_cutbacks
        snap_increment = max_step * 0.5 ** SNAP_CUTBACKS
        previous = self._opening
        rate = self.loading_time / self.target_opening
        failures = 0
        while previous < opening * (1.0 - 1e-12):
            target = min(previous + step, opening)
            if opening - target < 0.1 * step:         # no sliver of a last increment
                target = opening
            saved_u = problem.u.x.array.copy()
            saved_state = self.interfaces.save_state()
            problem.dt = (target - previous) * rate
            self._apply(target)
            if self.predictor and self._last_increment is not None:
                du, last = self._last_increment
                problem.u.x.array[:] += du * ((target - previous) / last)
            phase = "load"
            try:
                report = self.newton.solve()
            except StepFailure as failure:
                problem.u.x.array[:] = saved_u
                self.interfaces.restore_state(saved_state)
                report = None
                if target - previous <= snap_increment and self._relaxable():
                    # a snap-through (the cohesive zone lets go of a column faster than the
                    # opening can follow): relax the damage at the fixed opening
                    try:
                        report = self._relax(target)
                        phase = "snap"
                        self.snaps += 1
                    except StepFailure:
                        problem.u.x.array[:] = saved_u
                        self.interfaces.restore_state(saved_state)
                if report is None:
                    self._apply(previous)
                    if 0.5 * (target - previous) < smallest * (1.0 - 1e-9):
                        raise RunIncomplete(f"opening increment from {previous:.6g} mm failed "
                                            f"down to {target - previous:.3g} mm: {failure}") \
                            from None
                    step = 0.5 * (target - previous)
                    failures += 1
                    self.log(f"  cut-back: {failure}; increment {step:.4g} mm")
                    continue
            problem.commit()
            # (the jump of a snap is no guide to the next increment)
            self._last_increment = (problem.u.x.array - saved_u, target - previous) \
                if phase == "load" else None
            self.time += (target - previous) * rate
            self._record(target, previous, report, failures, phase)
            failures = 0
            if phase == "snap" or report.iterations <= EASY:
                step = min(1.5 * step, max_step)
            elif report.iterations >= HARD:
                step = 0.5 * step
            previous = self._opening = target

    def _relaxable(self) -> bool:
        law = self.interface_law
        return self.relax_snaps and isinstance(law, BilinearCohesive) and law.viscosity == 0.0

    def _relax(self, opening: float):
        """Snap-through at a fixed opening: the damage is relaxed with the law's viscous
        regularisation (viscosity RELAXATION_VISCOSITY s, damage lagging the rate-independent
        one, d_v' = (d - d_v) / eta) in pseudo-time steps growing from 1e-2 eta (x 4) until
        the lag max(d - d_v) is below 1e-9 (at most ~1e4 eta), then solved once more without
        viscosity: the state is a rate-independent equilibrium after the snap. The loading
        itself never sees the viscosity. Returns a NewtonReport summing the iterations; raises
        StepFailure if a relaxation step cannot be solved at the smallest pseudo-time step."""
        from .newton import NewtonReport

        problem, law, band = self.problem, self.interface_law, self.band
        self._apply(opening)
        total = NewtonReport(iterations=0)
        law.viscosity = RELAXATION_VISCOSITY
        try:
            dt = 1e-2 * RELAXATION_VISCOSITY
            halvings = 0
            while True:
                saved_u = problem.u.x.array.copy()
                saved_state = self.interfaces.save_state()
                problem.dt = dt
                try:
                    report = self.newton.solve()
                except StepFailure:
                    problem.u.x.array[:] = saved_u
                    self.interfaces.restore_state(saved_state)
                    halvings += 1
                    if halvings > self.max_cutbacks:
                        raise
                    dt *= 0.5
                    continue
                problem.commit()
                total.iterations += report.iterations
                own = band.owned
                lag = float(np.max(band.history["damage_inviscid"][own]
                                   - band.history["damage"][own], initial=0.0))
                lag = self.comm.allreduce(lag, op=MPI.MAX)
                if lag <= 1e-9 or dt > 1e4 * RELAXATION_VISCOSITY:
                    break
                dt *= 4.0
        finally:
            law.viscosity = 0.0
        report = self.newton.solve()
        report.iterations += total.iterations
        return report

    def _record(self, opening, previous, report, cutbacks, phase="load"):
        load = self.load()
        last_load = self.records[-1].load if self.records else 0.0
        self._work += 0.5 * (load + last_load) * (opening - previous)
        crack, zone, dissipated = self.crack_state()
        record = DelaminationRecord(
            step=len(self.records) + 1, phase=phase, time=self.time, opening=opening,
            load=load, crack_length=crack, process_zone_tip=zone,
            compliance_crack_length=self.compliance_crack_length(opening, load),
            lefm_load=float(self.lefm_load(crack)), dissipated_energy=dissipated,
            external_work=self._work, penetration=self.penetration(),
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
        end = self.fine_region[1]
        if self.test == "enf":
            end = min(end, self.half_span - 2.0 * self.h)
        return [r for r in self.records
                if r.crack_length >= self.precrack + self.element_length * (1.0 - 1e-9)
                and r.process_zone_tip <= end]

    def branch_load(self, record: DelaminationRecord) -> float:
        """DCB: the LEFM propagation branch at the record's opening, P(delta) (chi-free); ENF:
        the LEFM load at the compliance crack length (also a point of the (delta, P) branch)."""
        if self.test == "dcb":
            return float(dcb_propagation_load(record.opening, self.modulus, self.h,
                                              self.toughness, self.width))
        return float(self.lefm_load(record.compliance_crack_length))

    def summary(self) -> dict:
        records = self.records
        base = {"test": self.test, "mpi_ranks": self.comm.size,
                "wall_time_s": getattr(self, "wall_time", None)}
        if not records:
            return {**base, "steps": 0, "status": "no step converged"}
        law = self.interface_law
        peak = max(records, key=lambda r: r.load)
        lefm_peak = float(self.lefm_load(self.precrack))
        branch = self.propagation_branch()
        onset, _ = self._damage_thresholds()
        zone_lengths = [r.process_zone_tip - r.crack_length for r in branch]
        l_cz = cohesive_zone_length(self.modulus, self.toughness, self.strength)
        out = {
            **base,
            "arm_thickness_mm": self.h, "length_mm": self.length, "width_mm": self.width,
            "precrack_mm": self.precrack,
            "arm_material": getattr(self.arm_law, "card_name", "elastic (moduli)"),
            "youngs_modulus_MPa": float(self.arm_law.youngs_modulus),
            "poisson_ratio": float(self.arm_law.poisson_ratio),
            "plane_strain_modulus_MPa": self.modulus,
            "root_rotation": self.root_rotation, "chi": self.chi,
            "chi_mode_ii": self.chi_ii,
            "interface_law": getattr(law, "name", type(law).__name__),
            "interface_parameters": {k: v for k, v in vars(law).items()
                                     if isinstance(v, (int, float)) and not isinstance(v, bool)},
            "toughness_N_per_mm": self.toughness, "strength_MPa": self.strength,
            "viscosity_s": float(getattr(law, "viscosity", 0.0)),
            "snap_relaxations": self.snaps,
            "relaxation_viscosity_s": RELAXATION_VISCOSITY if self.snaps else 0.0,
            "mesh": {"columns": len(self.x_nodes) - 1,
                     "fine_element_length_mm": self.element_length,
                     "fine_region_mm": list(self.fine_region),
                     "rows_per_arm": self.rows,
                     "cells": int(self.problem.mesh.topology.index_map(2).size_global),
                     "interface_quadrature": self.interfaces.quadrature},
            "peak_load_N": peak.load, "opening_at_peak_mm": peak.opening,
            "lefm_peak_load_N": lefm_peak,
            "peak_load_error": peak.load / lefm_peak - 1.0,
            "cohesive_zone_length_hillerborg_mm": l_cz,
            "cohesive_zone_elements_hillerborg": l_cz / self.element_length,
            "final_opening_mm": records[-1].opening, "final_load_N": records[-1].load,
            "final_crack_length_mm": records[-1].crack_length,
            "dissipated_energy_Nmm": records[-1].dissipated_energy,
            "external_work_Nmm": records[-1].external_work,
            "max_penetration_mm": max(r.penetration for r in records),
            "steps": len(records),
            "newton_iterations_total": int(sum(r.newton_iterations for r in records)),
        }
        convergence = quadratic_convergence([r for r in records if r.phase == "load"])
        out.update({f"newton_{key}": value for key, value in convergence.items()})
        if self.test == "dcb":
            slender = slender_cohesive_zone_length(self.modulus, self.toughness,
                                                   self.strength, self.h)
            out["cohesive_zone_length_slender_mm"] = slender
            out["cohesive_zone_elements_slender"] = slender / self.element_length
        if branch:
            errors = [r.load / r.lefm_load - 1.0 for r in branch]
            curve = [r.load / self.branch_load(r) - 1.0 for r in branch]
            out.update({
                "branch_records": len(branch),
                "branch_crack_length_mm": [branch[0].crack_length, branch[-1].crack_length],
                "branch_load_error_min": min(errors), "branch_load_error_max": max(errors),
                "branch_curve_error_min": min(curve), "branch_curve_error_max": max(curve),
                "process_zone_length_mm": max(zone_lengths),
                "process_zone_elements": max(zone_lengths) / self.element_length,
            })
            if len(branch) >= 2 and branch[-1].crack_length > branch[0].crack_length:
                a = np.array([r.crack_length for r in branch])
                D = np.array([r.dissipated_energy for r in branch])
                out["toughness_from_dissipation_N_per_mm"] = float(
                    np.polyfit(a, D, 1)[0] / self.width)
        W, D = records[-1].external_work, records[-1].dissipated_energy
        stored = 0.5 * records[-1].load * records[-1].opening
        out["energy_balance_error"] = (W - stored - D) / W if W > 0 else 0.0
        return out

    def step_outputs(self, record, folder):
        """Nothing per step: the load-displacement curve is written at the end."""

    def final_outputs(self, folder):
        """load_displacement.csv, interface_profile.csv (damage, gap, traction along x at the
        end) and load_displacement.png with the closed form (collective)."""
        folder = Path(folder)
        profile = self.interfaces.profile(INTERFACE)
        if self.comm.rank != 0:
            return
        keys = ("opening", "load", "crack_length", "process_zone_tip",
                "compliance_crack_length", "lefm_load", "dissipated_energy", "external_work")
        units = {"opening": "mm", "load": "N", "crack_length": "mm", "process_zone_tip": "mm",
                 "compliance_crack_length": "mm", "lefm_load": "N",
                 "dissipated_energy": "Nmm", "external_work": "Nmm"}
        write_table(folder / "load_displacement.csv",
                    ["step", "phase"] + [f"{k}_{units[k]}" for k in keys] + ["load_over_lefm"],
                    ([r.step, r.phase] + [float(getattr(r, k)) for k in keys]
                     + [r.load / r.lefm_load] for r in self.records))
        if profile is not None:
            header, rows = profile
            write_table(folder / "interface_profile.csv", header,
                        ([float(v) for v in row] for row in rows))
        self.plot(folder / "load_displacement.png")

    def lefm_curve(self, points: int = 200):
        """(opening, load) of the closed form: the elastic line of the pre-crack up to the
        peak, then the propagation branch (crack lengths a0 .. the fine region's end)."""
        a = np.linspace(self.precrack, self.fine_region[1], points)
        if self.test == "enf":
            a = a[a <= self.half_span]
            compliance = enf_compliance(a, self.half_span, self.modulus, self.h, self.width,
                                        self.chi_ii)
        else:
            compliance = dcb_compliance(a, self.modulus, self.h, self.width, self.chi)
        load = self.lefm_load(a)
        opening = compliance * load
        return np.concatenate([[0.0], opening]), np.concatenate([[0.0], load])

    def plot(self, path):
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
        opening, load = self.lefm_curve()
        left.plot(opening, load, "k--", lw=1, label="LEFM, corrected beam theory")
        left.plot([r.opening for r in self.records], [r.load for r in self.records], "o-",
                  ms=2.5, lw=1, label="cohesive FE")
        left.set_xlabel("DCB opening (mm)" if self.test == "dcb" else "ENF deflection (mm)")
        left.set_ylabel("load P (N)")
        left.grid(alpha=0.3)
        left.legend()
        left.set_title(f"{self.test.upper()}: load against "
                       f"{'opening' if self.test == 'dcb' else 'deflection'}")
        branch = self.propagation_branch()
        right.plot([r.crack_length for r in self.records],
                   [r.load / r.lefm_load for r in self.records], ".", color="0.6",
                   label="all steps")
        right.plot([r.crack_length for r in branch], [r.load / r.lefm_load for r in branch],
                   "o", ms=3, label="propagation branch")
        right.axhline(1.0, color="k", lw=0.8)
        for bound in (0.95, 1.05):
            right.axhline(bound, color="k", lw=0.5, ls=":")
        right.set_ylim(0.85, 1.1)
        right.set_xlabel("crack length a, where damage = 1 (mm)")
        right.set_ylabel("P / P_LEFM(a) (-)")
        right.grid(alpha=0.3)
        right.legend()
        right.set_title(f"{self.test.upper()}: FE load over the LEFM load (band: ±5 %)")
        fig.tight_layout()
        fig.savefig(path, dpi=130)
        plt.close(fig)

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
        from .output import interface_field_writer

        return interface_field_writer(self.problem, self.interfaces, [INTERFACE], Path(path))

    @staticmethod
    def describe(summary) -> str:
        text = (f"done in {summary['wall_time_s']:.1f} s: {summary['test'].upper()} peak load "
                f"{summary['peak_load_N']:.4g} N (LEFM {summary['lefm_peak_load_N']:.4g} N, "
                f"{100 * summary['peak_load_error']:+.1f} %), crack "
                f"{summary['precrack_mm']:.4g} -> {summary['final_crack_length_mm']:.4g} mm")
        if "branch_load_error_min" in summary:
            text += (f", propagation branch P/P_LEFM(a) - 1 in "
                     f"[{100 * summary['branch_load_error_min']:+.1f}, "
                     f"{100 * summary['branch_load_error_max']:+.1f}] %")
        return text


def quadratic_convergence(records, small: float = 1e-2, floor: float = 1e-9,
                          constant: float = 10.0) -> dict:
    """How Newton converged on the records (relative residuals r_k after the first
    iteration): a pair (r_k, r_k+1) with floor < r_k <= small is quadratic if
    r_k+1 <= max(constant r_k^2, floor) (`floor`: above the thin band's round-off, ~1e-11).
    Returns the number of such pairs, the fraction that is quadratic, and the fraction of
    steps whose last pair is (with contact or damage switching inside a step the first
    iterations hunt for the active set; once it is found the rate must be quadratic)."""
    pairs = quadratic = steps = terminal = 0
    for record in records:
        r = list(record.residuals[1:])
        last = None
        for a, b in zip(r, r[1:]):
            if floor < a <= small:
                ok = b <= max(constant * a * a, floor)
                pairs += 1
                quadratic += ok
                last = ok
        if last is not None:
            steps += 1
            terminal += last
    return {"pairs": pairs, "quadratic_fraction": quadratic / pairs if pairs else None,
            "terminal_quadratic_fraction": terminal / steps if steps else None}
