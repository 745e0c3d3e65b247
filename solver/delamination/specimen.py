r"""The specimen: two elastic arms with a cohesive band between them, meshed and supported.

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
finite strain); the interface between them is a one-element band with the bilinear cohesive
law (``materials.cohesive_bilinear``: Camanho-Davila, BK mixed mode), integrated at the band's
nodes (``InterfaceTerm(..., quadrature="nodal")``). Over the pre-crack, X < a0, the interface
starts fully damaged (``InterfaceTerm.set_state``): it carries no traction in opening or shear,
but the law's contact penalty still acts in compression, so the ENF arms slide on each other
without interpenetrating. The pre-crack is a film insert h/1000 thick (``PrecrackInsert``).

Columns: uniform over the crack path (``graded_columns``: the fine region, with nodes on the
pre-crack front and, ENF, on mid-span), growing by GRADING per column to h/2 outside (longer
columns lock in bending: fully integrated Q1).

Loading by displacement control (Dirichlet conditions move with the opening; the load is the
reaction, the internal force summed over the loaded degrees of freedom, times the width B):
  * DCB: a pin at the mid-thickness node of each arm's end face (x = 0): u_x = 0 and
    u_y = +-delta/2 (upper/lower arm); the end sections rotate freely about the pins.
  * ENF: the punch moves the top-face node at mid-span down by delta (u_x free); a pin
    (u_x = u_y = 0) at the bottom node of x = 0 and a roller (u_y = 0) at the bottom node of
    x = 2L.
Single-node pins, not conditions on whole end faces, let the end sections rotate freely at
finite rotation (docs/delamination.md).

Units mm, N, MPa.
"""
from __future__ import annotations

from dataclasses import dataclass

import dolfinx_solver  # noqa: F401  (loads MPI before dolfinx/petsc4py)
import numpy as np
from dolfinx import fem
from dolfinx.fem import petsc as fem_petsc
from mpi4py import MPI
from petsc4py import PETSc

from ..interfaces import InterfaceTerm
from ..mechanics import MechanicsProblem
from ..meshes.stack import StackInterface, StackLayer, build_stack

LOWER, UPPER = "lower_arm", "upper_arm"
INTERFACE = f"interface_{LOWER}_{UPPER}"
#: growth ratio of neighbouring columns outside the fine region
GRADING = 1.25
#: the longest column outside the fine region, x h (compliances need columns no longer than
#: ~h/2: fully integrated Q1 locks in bending)
COARSE_FRACTION = 0.5
#: pre-crack film insert thickness / h (real specimens use a ~13 um PTFE film)
INSERT_RATIO = 1e-3
#: band integration at its nodes (with Gauss points the closed ENF pre-crack chatters)
INTERFACE_QUADRATURE = "nodal"
#: the history of a fully separated point of the bilinear law: no traction in opening or shear
PRECRACK_STATE = {"damage": 1.0, "damage_inviscid": 1.0}


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
    A tiny gap (INSERT_RATIO of the arm thickness) lets the first Newton iterate see the
    pre-crack open (a fully damaged cohesive point at exactly zero gap takes the closed,
    contact branch of its normal tangent: the DCB arms would start tied and Newton would
    open the pre-crack a few points per iteration)."""

    length: float
    thickness: float

    def heights(self, x, z=None, width=None, depth=None):
        return np.where(np.asarray(x, dtype=float) < self.length, -self.thickness, 0.0)


def fine_region(spec, beam) -> tuple[float, float]:
    """The crack path to mesh finely: from 3 h before the pre-crack front to 3 h past the crack
    front LEFM predicts at the final opening (DCB, at most 2 h before the free end), or past
    mid-span (ENF)."""
    h, a0 = spec.arm_thickness, spec.precrack
    if spec.test == "enf":
        return a0 - 3.0 * h, 0.5 * spec.length + 3.0 * h
    a_end = max(beam.dcb_branch_crack_length(spec.opening), a0)
    return a0 - 3.0 * h, min(a_end + 3.0 * h, spec.length - 2.0 * h)


def columns(spec, beam) -> tuple[float, np.ndarray, tuple[float, float]]:
    """(fine column width, column positions, fine region as meshed) of a specimen. ENF: the
    fine width is adjusted so that the pre-crack front and mid-span are nodes."""
    h, L, a0 = spec.arm_thickness, spec.length, spec.precrack
    half_span = 0.5 * L
    region = fine_region(spec, beam)
    anchors = [a0] + ([half_span] if spec.test == "enf" else [])
    x0, x1 = min(float(region[0]), a0), max(float(region[1]), max(anchors))
    element_length = spec.element_length
    if spec.test == "enf":
        n = max(int(round((half_span - a0) / element_length)), 1)
        element_length = (half_span - a0) / n
    element_length = float(element_length)
    x_nodes = graded_columns(L, x0, x1, element_length, COARSE_FRACTION * h, GRADING,
                             anchor=a0)
    fine = np.flatnonzero(np.abs(np.diff(x_nodes) - element_length)
                          <= 1e-9 * element_length)
    return element_length, x_nodes, (float(x_nodes[fine[0]]), float(x_nodes[fine[-1] + 1]))


class Specimen:
    """The meshed DCB or ENF specimen of a ``DelaminationSpec``: the arms (`arm_law`), the
    cohesive band (`interface_law`) with its pre-crack, the supports and the moving load
    (``apply``), and the reaction (``reaction``)."""

    def __init__(self, spec, arm_law, interface_law, beam, petsc_options, comm):
        self.test, self.comm = spec.test, comm
        self.h, self.length, self.width = spec.arm_thickness, spec.length, spec.width
        self.precrack, self.half_span = spec.precrack, 0.5 * spec.length
        self.rows = spec.elements_through
        self.element_length, self.x_nodes, self.fine_region = columns(spec, beam)
        self.insert = PrecrackInsert(self.precrack, INSERT_RATIO * self.h)
        layers = [StackLayer(LOWER, self.h, self.rows), StackLayer(UPPER, self.h, self.rows)]
        self.stack_mesh = build_stack(layers, self.length, len(self.x_nodes) - 1,
                                      [StackInterface(LOWER, UPPER, roughness=self.insert)],
                                      x_nodes=self.x_nodes, comm=comm)
        self.problem = MechanicsProblem(self.stack_mesh, {LOWER: arm_law, UPPER: arm_law},
                                        degree=1, petsc_options=petsc_options,
                                        bands=(INTERFACE,))
        self.interfaces = InterfaceTerm(self.problem, self.stack_mesh,
                                        {INTERFACE: interface_law},
                                        quadrature=INTERFACE_QUADRATURE)
        a0 = self.precrack
        self.precrack_points = self.interfaces.set_state(
            INTERFACE, dict(PRECRACK_STATE), where=lambda X: X[:, 0] < a0)
        self.band = self.interfaces.bands[INTERFACE]
        self.load_value = fem.Constant(self.problem.mesh, 0.0)     # prescribed u_y of the load
        self.counter_value = fem.Constant(self.problem.mesh, 0.0)  # DCB: the lower arm
        self._supports()
        self._reaction_vector = None

    def _supports(self):
        """The pins, the punch and the roller (see the module)."""
        h, problem = self.h, self.problem
        V = problem.V
        bs = V.dofmap.index_map_bs
        n_owned = V.dofmap.index_map.size_local * bs
        band = self.stack_mesh.bands[INTERFACE].thickness
        middle = round(self.rows / 2) / self.rows    # the end-face node nearest mid-thickness
        if self.test == "dcb":
            # the upper arm spans from the insert (raised by its thickness) to the top face
            bottom = h + band + self.insert.thickness
            loaded = self._pin((0.0, bottom + (2.0 * h + band - bottom) * middle),
                               self.load_value)
            self._pin((0.0, h * middle), self.counter_value)
            self.reaction_sign = 1.0
        else:
            loaded = self._pin((self.half_span, 2.0 * h + band), self.load_value, fix_x=False)
            problem.fix_node((0.0, 0.0), 0)
            problem.fix_node((0.0, 0.0), 1)
            problem.fix_node((self.length, 0.0), 1)
            self.reaction_sign = -1.0
        self.loaded_owned = loaded[loaded < n_owned]

    def _pin(self, point, displacement, fix_x=True):
        """A pin at a node: u_y = displacement (a fem.Constant), u_x = 0 unless fix_x is
        False (a roller-guided punch). Returns the u_y dofs (the loaded ones)."""
        if fix_x:
            self.problem.fix_node(point, 0)
        return self.problem.fix_node(point, 1, displacement)

    def apply(self, opening: float):
        """Move the load to an opening (DCB, +-opening/2 at the pins) or a deflection (ENF)."""
        if self.test == "dcb":
            self.load_value.value = 0.5 * opening
            self.counter_value.value = -0.5 * opening
        else:
            self.load_value.value = -opening

    def reaction(self, residual_form) -> float:
        """The reaction P (N, B x per unit depth) of the converged state: the internal force
        summed over the loaded dofs (DCB: upper arm, upward; ENF: the punch, downward)."""
        if self._reaction_vector is None:
            self._reaction_vector = fem_petsc.create_vector(self.problem.V)
        vector = self._reaction_vector
        with vector.localForm() as local:
            local.set(0.0)
        fem_petsc.assemble_vector(vector, residual_form)
        vector.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        local = float(np.sum(vector.getArray(readonly=True)[self.loaded_owned]))
        return self.reaction_sign * self.width * self.comm.allreduce(local, op=MPI.SUM)

    def dofs(self) -> int:
        V = self.problem.V
        return V.dofmap.index_map.size_global * V.dofmap.index_map_bs

    def cells(self) -> int:
        topology = self.problem.mesh.topology
        return int(topology.index_map(topology.dim).size_global)
