"""A calender web with interfaces ([[interfaces]]), e.g. lithium laminated onto rough copper.

The web is ``meshes.stack.build_stack`` with the columns of the layered strip and a
zero-thickness band for every interface (with its roughness), the interface laws of the stack
(``interface_laws.build_interface_laws``: contact k_n = E_soft / h_min, ...) and the
InterfaceTerm on a degree-1 problem. Per interface:

- a point is *closed* (its void has closed) where its normal gap is below CLOSURE_TOLERANCE x
  the roughness amplitude (half the largest initial gap; a flat interface: x the neighbouring
  element height); the augmented-Lagrangian loop updates the multipliers while a contact's
  penetration exceeds the same bound (`worst_violation`);
- a contact carries an *incremental* regularisation spring k_r (g - g_step_start)
  (`commit_regularisation`), REGULARISATION_FACTOR x its normal stiffness unless the case sets
  one (docs/lamination.md: why not the stack's 1e-9);
- after each converged step the points closed so far, the smallest open gap of every point
  (void closure by volume: 1 - sum a min_t max(g, 0) / sum a g0) and the statistics under the
  roll are kept (`after_step`).
"""
from __future__ import annotations

import dolfinx_solver  # noqa: F401
import numpy as np
import ufl
from dolfinx import fem
from mpi4py import MPI

from ..interface_laws import build_interface_laws, interface_specs
from ..interfaces import InterfaceTerm
from ..mechanics import MechanicsProblem
from ..meshes.partition import law_costs
from ..meshes.stack import StackInterface, StackLayer, build_stack

#: a point of an interface is closed (its void has closed) where the normal gap is below this
#: fraction of the roughness amplitude (half the largest initial gap); the augmented-
#: Lagrangian loop keeps the penetration below the same bound
CLOSURE_TOLERANCE = 0.01
#: default incremental regularisation spring of a contact interface in a calender web, as a
#: fraction of its normal stiffness (see Lamination.commit_regularisation)
REGULARISATION_FACTOR = 1e-3


def node_columns(segments) -> np.ndarray:
    """x of the node columns of the graded web: `segments` of (length, elements)."""
    xs, start = [0.0], 0.0
    for length, elements in segments:
        xs.extend(start + length * np.arange(1, elements + 1) / elements)
        start += length
    return np.array(xs)


class Lamination:
    """The banded web and the state of its interfaces (see the module)."""

    def __init__(self, case, laws: dict, web_length: float, segments, comm):
        self.case, self.comm = case, comm
        self.specs = interface_specs(case)
        xs = node_columns(segments)
        stack_layers = [StackLayer(layer.name, layer.thickness, layer.elements)
                        for layer in case.layers]
        stack_interfaces = [StackInterface(s.lower, s.upper, s.band_thickness, s.band_ratio,
                                           s.roughness, s.rough_face, s.shape)
                            for s in self.specs]
        self.mesh_data = build_stack(stack_layers, web_length, len(xs) - 1, stack_interfaces,
                                     x_nodes=xs, comm=comm, costs=law_costs(laws))
        self.height = self.mesh_data.height        # layers + bands (+ an upper rough gap)
        element_height = {layer.name: layer.thickness / layer.elements for layer in case.layers}
        self.laws, self.law_names, self.regularisation = build_interface_laws(
            self.specs, laws, element_height)
        for spec in self.specs:
            if spec.regularisation is None and hasattr(self.laws[spec.name], "augment"):
                self.regularisation[spec.name] = REGULARISATION_FACTOR * \
                    self.laws[spec.name].normal_stiffness
        self.problem = MechanicsProblem(self.mesh_data, laws, case.solver.element_degree,
                                        case.solver.petsc_options, bands=tuple(self.laws))
        self.term = InterfaceTerm(self.problem, self.mesh_data, self.laws, self.regularisation)
        h_min = {s.name: min(element_height[s.lower], element_height[s.upper])
                 for s in self.specs}
        #: a Newton step may change an interface jump by at most a quarter of the smallest
        #: neighbouring element height (JumpLimitedNewton, as in the stack)
        self.jump_limit = 0.25 * min(h_min.values())
        self.closure_tolerance = {}
        for spec in self.specs:
            info = self.mesh_data.bands[spec.name]
            scale = 0.5 * info.max_initial_gap if info.max_initial_gap > 0 else h_min[spec.name]
            self.closure_tolerance[spec.name] = CLOSURE_TOLERANCE * scale
        self.contact_bands = [name for name, band in self.term.bands.items()
                              if band.is_contact]
        self.al_updates = 0                    # multiplier updates over the run
        self.regularisation_traction_max = 0.0
        self.history = []                      # per step: {name: under-roll statistics}
        self._track_voids()

    def _track_voids(self):
        """The points closed so far (none), and per band point the initial void height g0 (the
        rough face's opening as built) and the smallest open gap it has had (g0 so far)."""
        mesh = self.problem.mesh
        self.reached = {name: np.zeros(len(band.area), dtype=bool)
                        for name, band in self.term.bands.items()}
        self.band_position = fem.Expression(ufl.SpatialCoordinate(mesh) + self.problem.u,
                                            self.problem.points)
        initial = fem.Expression(self.term.initial_gap, self.problem.points)
        self.void0, self.void_min = {}, {}
        for name, band in self.term.bands.items():
            g0 = initial.eval(mesh, band.cells).reshape(-1) if len(band.cells) else np.zeros(0)
            self.void0[name] = np.maximum(g0, 0.0)
            self.void_min[name] = self.void0[name].copy()

    def worst_violation(self) -> float:
        """The largest penetration of a contact interface over its closure tolerance."""
        return max(self.term.constraint_violation(name) / self.closure_tolerance[name]
                   for name in self.contact_bands)

    def commit_regularisation(self):
        """The regularisation spring of a calender web's interfaces is incremental: it acts on
        the change of the jump within a step, k_r (g - g_step_start) (a viscous-like
        regularisation), so it steadies Newton where the foils touch lightly (outside the nip
        the faces float on a few crests: chatter of the contact set) without holding the faces
        to their initial positions. The largest traction it carried at a converged step is
        kept (`regularisation_traction_max`, MPa; reported)."""
        worst = 0.0
        for band in self.term.bands.values():
            if band.regularisation > 0.0 and len(band.cells):
                change = np.abs(band.jump - band.g_ref)[band.owned]
                worst = max(worst, band.regularisation * float(np.max(change, initial=0.0)))
            band.g_ref = band.jump.copy()
        self.regularisation_traction_max = max(self.regularisation_traction_max,
                                               self.comm.allreduce(worst, op=MPI.MAX))

    def band_state(self, name, fields=None):
        """Per point of band `name` (this rank's owned points): reference X, current x, area,
        normal gap, tangential gap, pressure, traction contact (t_n < 0), closed (gap below
        the closure tolerance), closed at some time, g0, smallest open gap. `fields`: the
        band's point_fields, if already evaluated."""
        band = self.term.bands[name]
        if len(band.cells):
            x = self.band_position.eval(self.problem.mesh, band.cells).reshape(-1, 2)[:, 0]
        else:
            x = np.zeros(0)
        fields = self.term.point_fields(name) if fields is None else fields
        own = band.owned
        closed = fields["gap_normal"] <= self.closure_tolerance[name]
        return {"X": band.coordinates[own, 0], "x": x[own], "area": band.area[own],
                "gap": fields["gap_normal"][own], "slip": fields["gap_tangential"][own],
                "pressure": fields["pressure"][own], "contact": fields["contact"][own] > 0,
                "closed": closed[own], "reached": self.reached[name][own],
                "void0": self.void0[name][own], "void_min": self.void_min[name][own]}

    def after_step(self, arc, nip_x) -> dict:
        """After a converged step: mark the points closed now, keep the smallest open gaps,
        and record (and return) the statistics of each interface under the roll (points whose
        current x lies in the top roll's contact `arc`, x from the roll centre line `nip_x`):
        contact fraction (t_n < 0), closed fraction, mean and max pressure, void closure, max
        penetration. Collective."""
        out = {}
        for name in self.laws:
            fields = self.term.point_fields(name)
            closed_now = (fields["contact"] > 0) | \
                (fields["gap_normal"] <= self.closure_tolerance[name])
            self.reached[name] |= closed_now
            self.void_min[name] = np.minimum(self.void_min[name],
                                             np.maximum(fields["gap_normal"], 0.0))
            state = self.band_state(name, fields)
            if arc is None:
                under = np.zeros(len(state["X"]), dtype=bool)
            else:
                offset = state["x"] - nip_x
                under = (offset >= arc[0]) & (offset <= arc[1])
            out[name] = self._under_roll(state, under)
        self.history.append(out)
        return out

    def _under_roll(self, state, under) -> dict:
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
        return {
            "contact_fraction_under_roll": sums[1] / total if total > 0 else 0.0,
            "closed_fraction_under_roll": sums[2] / total if total > 0 else 0.0,
            "mean_pressure_under_roll_MPa": sums[3] / total if total > 0 else 0.0,
            "void_closure_under_roll": 1.0 - sums[5] / sums[4] if sums[4] > 0 else np.nan,
            "max_pressure_MPa": float(high[0]),
            "max_penetration_mm": float(max(high[1], 0.0)),
        }

    def body_mid_heights(self) -> list[float]:
        """Mid-heights of the bodies the band interfaces separate (nominal levels, mm)."""
        layers = self.case.layers
        bottoms = self.mesh_data.layer_bottoms
        names = [layer.name for layer in layers]
        cuts = [0] + [names.index(s.upper) for s in self.specs] + [len(names)]
        cuts = sorted(set(cuts))
        heights = []
        for first, end in zip(cuts[:-1], cuts[1:]):
            low = bottoms[names[first]]
            high = bottoms[names[end - 1]] + layers[end - 1].thickness
            heights.append(0.5 * (low + high))
        return heights
