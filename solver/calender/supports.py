"""How the web is held: guides at its ends, the hold on the nip mid-line while the rolls close,
back/front tension and the winder while it rolls, and the guide foundation under it.

- Guides: u_y = 0 at one node of each end face, at mid-height (and at the mid-height of every
  body a band interface separates: a foil held only by open contacts would otherwise float, a
  rigid-body mode of the first Newton steps).
- While the nip closes the web is held in x on the nip mid-line, not at an end: a held end
  puts the slender span between it and the squeezed nip in compression and the span buckles.
  While rolling only friction holds it (or the winder, which pulls the outlet end face by the
  web travel), with optional back/front tension (MPa) on the end faces.
- The guide foundation: a weak elastic foundation k_f (N/mm^3, `calender.guide_stiffness`)
  under the web, standing for the idlers that guide it. The free spans are ~200x longer than
  thick, so without it a small vertical imbalance in a first Newton iterate bends them wildly;
  its beam-on-foundation length is (4 EI / k_f)^(1/4), and the force it takes is reported
  (`foundation_force_N_per_mm`).
"""
from __future__ import annotations

import dolfinx_solver  # noqa: F401
import numpy as np
import ufl
from dolfinx import fem


class ResidualTerm:
    """An extra residual term: a dead load (web tension) or a linear spring (foundation)."""

    def __init__(self, residual, linear=False):
        self.residual = residual
        self.independent_of_displacement = not linear
        self.symmetric = True           # a dead load, or a spring k u . v


def column_bc(problem, comm, x0, component):
    """u_component = 0 on the nodes of the web column nearest to x = x0."""
    V = problem.V
    sub, _ = V.sub(component).collapse()
    xs = sub.tabulate_dof_coordinates()[:, 0]
    local_best = xs[np.argmin(np.abs(xs - x0))] if len(xs) else np.inf
    target_x = min(comm.allgather(local_best), key=lambda x: abs(x - x0))
    dofs = fem.locate_dofs_geometrical((V.sub(component), sub),
                                       lambda x: np.isclose(x[0], target_x))
    return fem.dirichletbc(np.float64(0.0), dofs[0], V.sub(component))


def guide_bc(problem, point):
    """u_y = 0 at the node nearest to `point` (x, y) of the cross-section; in 3D along the
    line of nodes through the width at that node's x and y (the 2D guide's line)."""
    if problem.gdim == 2:
        return problem.node_bc(point, 1)[0]
    _, dofs = problem.node_bc((point[0], point[1], 0.0), 1)
    V = problem.V
    local = V.tabulate_dof_coordinates()[dofs[:1] // V.dofmap.index_map_bs, :2]
    nearest = next(p for p in problem.comm.allgather(local) if len(p))[0]
    tol = 1e-9 * max(1.0, float(np.max(np.abs(nearest))))
    sub, _ = V.sub(1).collapse()
    line = fem.locate_dofs_geometrical(
        (V.sub(1), sub), lambda x: (np.abs(x[0] - nearest[0]) <= tol)
        & (np.abs(x[1] - nearest[1]) <= tol))
    return fem.dirichletbc(np.float64(0.0), line[0], V.sub(1))


class WebSupports:
    """The guides, the nip hold, the tensions, the foundation and the winder (see the module).
    Installs the closing-phase conditions on `problem`; `release` switches to rolling."""

    def __init__(self, problem, comm, height, web_length, nip_x, body_heights,
                 guide_stiffness, fixed=()):
        self.problem = problem
        guide_y = height / 2.0
        self.guides = [guide_bc(problem, (x_end, guide_y)) for x_end in (0.0, web_length)]
        for y in body_heights:
            if abs(y - guide_y) > 1e-9 * height:
                for x_end in (0.0, web_length):
                    self.guides.append(guide_bc(problem, (x_end, y)))
        self.guides += list(fixed)      # held throughout (a 3D slab's symmetry planes)
        self.nip_hold = column_bc(problem, comm, nip_x, component=0)
        problem.bcs[:] = self.guides + [self.nip_hold]
        self.back_tension = fem.Constant(problem.mesh, 0.0)
        self.front_tension = fem.Constant(problem.mesh, 0.0)
        v = ufl.TestFunction(problem.V)
        facets = problem.mesh.topology.dim - 1
        tension = (self.back_tension * v[0] * problem.ds(problem.region_tag("left", facets))
                   - self.front_tension * v[0]
                   * problem.ds(problem.region_tag("right", facets)))
        problem.contacts.append(ResidualTerm(tension))
        bottom = problem.ds(problem.region_tag("bottom", facets))
        self.foundation_stiffness = fem.Constant(problem.mesh, float(guide_stiffness))
        problem.contacts.append(ResidualTerm(
            self.foundation_stiffness * problem.u[1] * v[1] * bottom, linear=True))
        self.foundation_force_form = fem.form(self.foundation_stiffness * problem.u[1] * bottom)
        self.winder = None

    def foundation_force(self, comm) -> float:
        """The vertical force the guide foundation takes (N/mm)."""
        return comm.allreduce(fem.assemble_scalar(self.foundation_force_form))

    def release(self, spec):
        """Start of rolling: the nip hold is released, the tensions are applied, and a winder
        that drives the web (`spec.web_drive`) holds the outlet end face where it is."""
        self.problem.bcs[:] = self.guides
        if spec.web_drive == "winder":
            self.winder = Winder(self.problem)
            self.problem.bcs.append(self.winder.bc)
        self.back_tension.value = spec.back_tension
        self.front_tension.value = spec.front_tension


class Winder:
    """u_x of the outlet end face follows its position at the start of rolling plus the web
    travel."""

    def __init__(self, problem):
        facets = problem.boundary_facets("right")
        sub, _ = problem.V.sub(0).collapse()
        dofs = fem.locate_dofs_topological((problem.V.sub(0), sub),
                                           problem.mesh.topology.dim - 1, facets)
        parent, self.collapsed = dofs
        self.value = fem.Function(sub)
        self.bc = fem.dirichletbc(self.value, dofs, problem.V.sub(0))
        self.start = np.zeros_like(self.value.x.array)
        self.start[self.collapsed] = problem.u.x.array[parent]
        self.set(0.0)

    def set(self, travel):
        """The outlet end face at its start position plus `travel` (mm)."""
        self.value.x.array[self.collapsed] = self.start[self.collapsed] + travel
        self.value.x.scatter_forward()
