"""Rigid analytic rolls in contact with the web: normal penalty contact and Coulomb friction.

A roll is a cylinder of radius R whose centre c = (c_x, c_y0 + sign * s) moves with the nip
closure s (one scalar shared by the rolls of a nip, the unknown of line-load control). For a
point of the web surface at its current position x = X + u:

    r = x - c,   |r|,   n = r / |r|              outward normal of the roll at that point
    d = R - |r|                                 penetration (> 0 in contact)
    p = k <d>_+                                 contact pressure (penalty k, MPa/mm)
    e_t = side * (-n_y, n_x)                    tangent in the rolling direction (+x at the nip)
    slip = (u - u_n) . e_t - V dt               material tangential motion minus the roll
                                                surface's advance in this step (V: surface
                                                speed, mm/s; u_n: displacement at step start)
    t_t = -mu p slip / sqrt(slip^2 + eps^2)     regularised Coulomb friction (eps: slip length)

The smoothed law (delta > 0) takes the kink out of <d>_+: without it Newton can cycle between
two contact sets at the arc's ends (measured: the free-standing film and the double-sided web
failed their first rolling steps). It differs from <d>_+ by less than k_n delta / 2 anywhere
and decays within a few delta of the contact edge, i.e. within tens of micrometres of web.

so the traction on the web is  t = p n + t_t e_t  and the residual gets  -int t . v ds.
With |slip| >> eps the friction is mu p opposing the slip; in the stick zone around the neutral
point it is proportional to the slip. UFL differentiates all of it exactly (the Jacobian is
consistent), and the derivatives with respect to the closure s give the bordered system of
line-load control.

The line load of a roll is the vertical force it exerts per unit width,
    w = int p (-sign n_y) ds + friction part,  N/mm,
and the torque  T = -int t_t R ds  (N mm / mm) is what drives the web.

In 3D (a slab through the web's width, z across the web: the roll axis) the same law holds
with n and e_t in the x-y plane (zero z components); the integrals over the slab's face are
divided by the slab's width, so line load, torque and contact length are the means per unit
width, as in 2D.
"""
from __future__ import annotations

from dataclasses import dataclass

import dolfinx_solver  # noqa: F401
import ufl
from dolfinx import fem


@dataclass
class Roll:
    name: str             # "top_roll" / "bottom_roll"
    boundary: str         # the web boundary it touches ("top" / "bottom")
    radius: float         # mm
    centre_x: float       # mm
    centre_y0: float      # mm, centre height at zero closure
    side: int             # +1 above the web (pushes down), -1 below (pushes up)
    closure_sign: float   # dc_y/ds: -1 for a top roll moving down, +1 for a bottom roll moving
                          # up, 0 for a fixed roll


def surface_law(problem, roll: Roll, closure, u_previous, surface_advance, friction: float,
                slip_length: float, penalty: float, smoothing: float = 0.0) -> dict:
    """The contact law of one roll at the web surface, in UFL (the module docstring's
    equations): penetration d, pressure p, roll normal n, tangent e_t and shear traction t_t,
    with the closure as a ufl.variable `s` (for the closure derivatives). The solver's forms
    and the reported nip profile (`RollContact.surface_values`) both come from here."""
    mesh = problem.mesh
    X = ufl.SpatialCoordinate(mesh)
    u = problem.u
    s = ufl.variable(closure)
    # the numbers enter as constants, not literals: one compiled form serves every roll size,
    # penalty and friction (a literal would compile a new form for each value)
    constant = lambda value: fem.Constant(mesh, float(value))   # noqa: E731
    penalty, friction = constant(penalty), constant(friction)
    slip_length, smoothing_value = constant(slip_length), constant(smoothing)
    # Gap relative to the roll's apex (its point nearest the web), free of the cancellation in
    # R - |x - c| (R ~ 200 mm against a penetration ~ 1e-5 mm):
    #   xi = x - c_x,  zeta = side (y - y_apex)  (> 0: beyond the apex, towards the centre)
    #   |r|^2 = xi^2 + (R - zeta)^2,   d = R - |r| = (2 R zeta - zeta^2 - xi^2) / (R + |r|)
    R = constant(roll.radius)
    apex = constant(roll.centre_y0) - roll.side * R + roll.closure_sign * s
    xi = X[0] + u[0] - constant(roll.centre_x)
    zeta = roll.side * (X[1] + u[1] - apex)
    distance = ufl.sqrt(xi * xi + (R - zeta) ** 2)
    n = ufl.as_vector((xi, -roll.side * (R - zeta)) + (0.0,) * (mesh.geometry.dim - 2)) \
        / distance
    penetration = (2.0 * R * zeta - zeta * zeta - xi * xi) / (R + distance)
    if smoothing > 0.0:
        pressure = penalty * 0.5 * (penetration + ufl.sqrt(penetration ** 2
                                                           + smoothing_value ** 2))
    else:
        pressure = penalty * ufl.max_value(penetration, 0.0)
    e_t = roll.side * ufl.as_vector((-n[1], n[0]) + (0.0,) * (mesh.geometry.dim - 2))
    slip = ufl.dot(u - u_previous, e_t) - surface_advance
    shear = -friction * pressure * slip / ufl.sqrt(slip * slip + slip_length ** 2)
    return {"s": s, "R": R, "penetration": penetration, "pressure": pressure, "n": n,
            "e_t": e_t, "shear": shear}


def roll_terms(problem, roll: Roll, closure, u_previous, surface_advance, friction: float,
               slip_length: float, penalty: float, smoothing: float = 0.0,
               width: float = 1.0):
    """UFL pieces of one roll's contact: residual, force and derivative forms.

    closure: fem.Constant s; u_previous: fem.Function u_n; surface_advance: fem.Constant V dt;
    width: the slab's width in 3D (the reported integrals are per unit width), 1 in 2D.
    Returns a dict of UFL integrands/forms (see `RollContact`)."""
    mesh = problem.mesh
    u = problem.u
    v = ufl.TestFunction(problem.V)
    law = surface_law(problem, roll, closure, u_previous, surface_advance, friction,
                      slip_length, penalty, smoothing)
    s, R, n, e_t = law["s"], law["R"], law["n"], law["e_t"]
    penetration, pressure, shear = law["penetration"], law["pressure"], law["shear"]
    traction = pressure * n + shear * e_t
    tag = problem.region_tag(roll.boundary, mesh.topology.dim - 1)
    ds = problem.ds(tag, metadata={"quadrature_degree": problem.quadrature_degree})
    per_width = 1.0 / fem.Constant(mesh, float(width))
    line_load = -roll.side * traction[1] * per_width   # vertical force on the roll per width
    residual = -ufl.dot(traction, v)
    return {
        "residual": residual * ds,
        "residual_closure_derivative": ufl.diff(residual, s) * ds,
        "line_load": line_load * ds,
        "line_load_displacement_derivative": ufl.derivative(line_load * ds, u, v),
        "line_load_closure_derivative": ufl.diff(line_load, s) * ds,
        "torque": -shear * R * per_width * ds,
        "contact_length": ufl.conditional(ufl.gt(penetration, 0.0), 1.0, 0.0) * per_width * ds,
        "pressure_integral": pressure * per_width * ds,
        "ds": ds,
    }


class RollContact:
    """The rolls of one nip, seen by Newton as one contact term with a force control.

    Provides the attributes the bordered Newton uses (`position`, `residual_position_derivative`,
    `force`, `force_displacement_derivative`, `force_position_derivative`) with the closure s as
    the 'position' and the top roll's line load as the 'force'."""

    def __init__(self, problem, rolls: list[Roll], friction: float, slip_length: float,
                 penalty: float, smoothing: float = 0.0, width: float = 1.0):
        self.problem = problem
        self.rolls = rolls
        mesh = problem.mesh
        self.position = fem.Constant(mesh, 0.0)            # closure s, mm
        self.surface_advance = fem.Constant(mesh, 0.0)     # V dt, mm
        self.u_previous = fem.Function(problem.V, name="displacement_at_step_start")
        self.terms = [roll_terms(problem, roll, self.position, self.u_previous,
                                 self.surface_advance, friction, slip_length, penalty,
                                 smoothing, width)
                      for roll in rolls]
        # the reported profile: the same law, its slip over the last converged step
        self.u_step_start = fem.Function(problem.V, name="displacement_at_last_step_start")
        self._law_arguments = (friction, slip_length, penalty, smoothing)
        self._surface = {}          # roll index -> (Expression, Function), made when asked
        self.residual = sum(term["residual"] for term in self.terms)
        self.residual_position_derivative = sum(term["residual_closure_derivative"]
                                                for term in self.terms)
        lead = self.terms[0]   # the controlled roll: the first (top) roll
        self.force = lead["line_load"]
        self.force_displacement_derivative = lead["line_load_displacement_derivative"]
        self.force_position_derivative = lead["line_load_closure_derivative"]
        self.line_load_forms = [fem.form(term["line_load"]) for term in self.terms]
        self.torque_forms = [fem.form(term["torque"]) for term in self.terms]
        self.contact_length_forms = [fem.form(term["contact_length"]) for term in self.terms]
        self.pressure_integral_forms = [fem.form(term["pressure_integral"])
                                        for term in self.terms]
        # the normal penalty is an energy's Hessian; friction (regularised Coulomb) is not
        self.symmetric = float(friction) == 0.0
        problem.contacts.append(self)

    def commit(self):
        """Accept the converged step. The friction depends on the slip in the step, so the
        torques are taken now (after the commit the slip is measured from the new state), and
        the step's start is kept (`u_step_start`) for the shear-traction profile."""
        self.converged_torques = self.torques()
        self.u_step_start.x.array[:] = self.u_previous.x.array
        self.u_previous.x.array[:] = self.problem.u.x.array

    def _sum(self, form) -> float:
        return self.problem.comm.allreduce(fem.assemble_scalar(form))

    #: the columns of `surface_values`
    SURFACE_VALUES = ("pressure", "normal_x", "normal_y", "shear", "penetration")

    def surface_values(self, index: int = 0):
        """Pressure p (MPa), roll normal (n_x, n_y), shear traction t_t (MPa, > 0 drives the
        web forward; from the slip of the last converged step) and penetration d (mm) of roll
        `index`, the solver's own UFL law interpolated into the displacement's Lagrange space:
        a Function with those 5 components at every node (collective)."""
        if index not in self._surface:
            problem = self.problem
            law = surface_law(problem, self.rolls[index], self.position, self.u_step_start,
                              self.surface_advance, *self._law_arguments)
            values = ufl.as_vector([law["pressure"], law["n"][0], law["n"][1], law["shear"],
                                    law["penetration"]])
            element = problem.V.ufl_element()
            space = fem.functionspace(problem.mesh, ("Lagrange", element.embedded_superdegree,
                                                     (len(self.SURFACE_VALUES),)))
            expression = fem.Expression(values, space.element.interpolation_points)
            self._surface[index] = (expression, fem.Function(space))
        expression, function = self._surface[index]
        function.interpolate(expression)
        return function

    def line_loads(self) -> list[float]:
        return [self._sum(form) for form in self.line_load_forms]

    def torques(self) -> list[float]:
        """Roll torques (N mm/mm) at the current state and slip in the step; valid before
        `commit` (afterwards use `converged_torques`)."""
        return [self._sum(form) for form in self.torque_forms]

    def pressure_integrals(self) -> list[float]:
        """int p ds over each roll's contact arc, N/mm."""
        return [self._sum(form) for form in self.pressure_integral_forms]

    def contact_lengths(self) -> list[float]:
        return [self._sum(form) for form in self.contact_length_forms]
