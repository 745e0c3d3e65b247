r"""Drucker-Prager-Cap plasticity with cap hardening (Abaqus "modified Drucker-Prager/Cap").

The law of a porous, granular electrode coating (or a pharmaceutical powder) under calendering:
it yields in shear along a pressure-dependent Drucker-Prager line and compacts irreversibly when
the mean stress pushes against an elliptical cap that moves out as the material densifies.

Sources: Abaqus Theory Manual, "Modified Drucker-Prager/Cap model" (surfaces, flow potentials,
hardening); Simo & Hughes, *Computational Inelasticity* (1998), ch. 3-4 (closest-point
projection, consistent tangent, Duvaut-Lions); nipstack seed 000 (exponential cap hardening
with negative compaction strain, relaxation kinetics of porosity).

Stress measure.  The law returns the Kirchhoff stress (the contract of ``base.py``)

    tau = J_p C(kappa) : eps_e,      J_p = exp(kappa),

so that the Cauchy stress sigma = tau / J = C(kappa) : eps_e / J_e is Hencky elasticity of the
*compacted* solid: E(phi_p) and nu of a card are the moduli an unloading test on the compacted
material measures, and the springback is p_max / E_eff (seed 000), not J_p p_max / E_eff as a
Kirchhoff law tau = C : eps_e would give (a 25-65 % error at calendering densities).  The yield
surfaces and flow potentials are written in the invariants of the **Cauchy** stress
sigma = tau / J (tension positive):
p = -tr(sigma)/3 (compression positive), q = sqrt(3/2 s:s).  Calibrations (Abaqus' DPC,
die-compaction pressure = force / current area) are in Cauchy stress, and for a powder J is far
from 1 (J = 0.35 at RD 0.85 from a 0.30 fill: Kirchhoff invariants would put the cap at a third of
the measured pressure).  J = J_e J_p = exp(tr eps_trial + kappa_n) is fixed during a return, so
this only rescales p and q inside F and G.  (For J = 1 the two measures coincide.)

Yield surfaces (meridional plane, parameters d, beta, R, alpha, p_b)
---------------------------------------------------------------------
    shear line   F_s = q - p tan(beta) - d
    cap          F_c = sqrt((p - p_a)^2 + (R q / c)^2) - R (d + p_a tan(beta))
    transition   F_t = sqrt((p - p_a)^2 + (q - (1 - alpha/cos(beta)) (d + p_a tan(beta)))^2)
                       - alpha (d + p_a tan(beta))
    with c = 1 + alpha - alpha/cos(beta) and p_a = (p_b - R d) / (1 + R tan(beta)).

The cap governs p > p_a, the transition circle p_t < p <= p_a (its upper arc, above its
centre), the shear line p <= p_t, where p_t = p_a - alpha (d + p_a tan(beta)) sin(beta) is where
the circle touches the line.  With alpha > 0 the surface is C1 everywhere.

Flow rule (Abaqus): associated on the cap, elliptical potential in the shear/transition region,

    G_c = sqrt((p - p_a)^2 + (R q / c)^2),      G_s = sqrt(((p_a - p) tan(beta))^2 + (q / c)^2),

so the plastic flow direction is continuous across p = p_a (vertical in the p-q plane there:
purely deviatoric), shear flow is dilatant left of p_a and compactive flow lives on the cap.
Caution (a property of the Abaqus potential, not of this code): far left of the apex the shear
flow is almost purely volumetric; its plastic dissipation q eps_q^p - p eps_v^p is negative where
(q/c)^2 < p (p_a - p) tan(beta)^2, i.e. roughly for shear yield at p < p_a/2 when d is small.
There, under mixed (stress-controlled lateral) loading, no equilibrium may exist.
Because the flow direction is continuous at the cap/shear junction, *alpha = 0 needs no corner
return*: every trial state is mapped onto one smooth arm, and only trial states with p_trial = p_a
exactly map onto the corner itself.  The return therefore tries the arm that the trial state
points to (region-based first guess: cap if p_trial > p_a, shear/transition otherwise), accepts
it only if the converged point lies on that arm's side of p_a with d_lambda >= 0, otherwise tries
the other arm, and sub-steps the strain increment if neither is admissible.

Hardening variable: kappa = eps_v^p = ln J_p, the plastic volumetric log strain (negative in
compaction).  Cap pressure
    exponential (seed 000):  p_b = cap_pressure_initial + A (1 - exp(B kappa)),  B > 0
    tabulated:               p_b(compaction_strain), compaction_strain = -kappa = ln(RD/RD0),
                             linear interpolation; beyond the last point linear extrapolation with
                             the last slope.
In both, dilatation beyond the initial density (kappa > 0, or below the table's first point) holds
the cap at its initial position: shear dilatancy softens a compacted material back to p_b0 but
not further.  (Left free, the exponential law makes p_b negative after a few per cent of
dilatation in tension, the cap collapses onto the shear apex and no return exists.)
Porosity-dependent properties are evaluated at the plastic relative density
    RD = 1 - phi_p = (1 - phi0) exp(-kappa)
(so unloading at fixed plastic state is linear):
    Gibson-Ashby  E = solid_youngs_modulus RD^gibson_ashby_exponent, constant poisson_ratio, or a
    table (relative_density, youngs_modulus, poisson_ratio); optionally a yield table
    (relative_density, cohesion, friction_angle [deg], cap_eccentricity).  Property tables are
    linearly interpolated and held constant outside their range (the Abaqus convention).
All of them are evaluated **implicitly** at the end-of-step kappa inside the local Newton.

Return map (closest-point projection in invariants)
---------------------------------------------------
Elasticity is isotropic, tau = C(kappa) : eps_e, so the return keeps the trial deviator's
direction n and solves for x = (p, q, d_lambda, kappa):

    r1 = p + K(kappa) (eps_v_trial - (kappa - kappa_n))              (volumetric elasticity)
    r2 = q - 3 G(kappa) (eps_q_trial - d_lambda dG/dq)                (deviatoric elasticity)
    r3 = kappa - kappa_n + d_lambda dG/dp                             (plastic volume change)
    r4 = F(p, q, kappa)                                               (consistency)

with eps_v = tr(eps), eps_q = sqrt(2/3 e:e).  The plastic volumetric strain is
tr(eps_trial) - tr(eps_e) = kappa - kappa_n, so solid mass is conserved exactly.  A Newton
iteration with a backtracking (Armijo) line search solves it; if it fails, the strain increment
eps_trial - eps_e,n is split into 2, 4, ..., 64 sub-steps.  The partial derivatives of the local
residual (and of K, G in kappa) are taken by complex-step differentiation (Martins, Sturdza &
Alonso 2003), which is exact to round-off, so the Jacobian is the true one and the consistent
tangent follows from the implicit-function theorem at the converged point, chained through
sub-steps:  d eps_e / d eps_trial and d kappa / d eps_trial, then

    D = C(kappa) : d eps_e/d eps_trial + (C'(kappa) : eps_e) (x) d kappa/d eps_trial.

The tangent is non-symmetric in the shear region (non-associated flow).

Two implementations of the same equations: `update` runs the compiled kernel of
``dpc_kernel.py`` (one pass per point; the derivatives by forward-mode dual numbers instead of
complex steps), `update_numpy` the batched NumPy code of ``dpc_reference.py``, which is the
reference the tests hold the kernel to (1e-12).

Rate dependence (Duvaut-Lions, Simo & Hughes sec. 2.7): with relaxation_time tau_r > 0 and
w = (dt/tau_r) / (1 + dt/tau_r), the elastic strain and kappa are
    eps_e = (1 - w) eps_trial + w eps_e_inf,   kappa = (1 - w) kappa_n + w kappa_inf
(the stress follows from elasticity at that kappa; for constant moduli this is the stress
average).  At fixed strain this integrates d kappa/dt = -(kappa - kappa_inf)/tau_r by backward
Euler, i.e. the plastic porosity relaxes with time constant tau_r towards the rate-independent
value (seed 000).  Under a *held pressure* the same law relaxes with the longer apparent time
constant tau_r (1 + K / |dp_b/dkappa|), since the elastic strain changes as well.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..threads import over_chunks, point_chunks
from .base import IDENTITY
from .dpc_kernel import BEYOND_FULL_DENSITY, OK, START_WIDTH, dpc_update
from .dpc_reference import SUBSTEPS, NumpyReturnMapping
from .dpc_surfaces import CAP, ELASTIC, SHEAR, TRANSITION
from .errors import MaterialPointError

__all__ = ["DruckerPragerCap", "ELASTIC", "SHEAR", "TRANSITION", "CAP"]


def _table(x, xs, ys, extrapolate_right=False):
    """Piecewise-linear y(x) through (xs, ys), complex-step safe; constant below xs[0];
    above xs[-1] constant or (extrapolate_right) continued with the last slope."""
    xs = np.asarray(xs, dtype=float)
    ys = np.asarray(ys, dtype=float)
    xr = np.real(x)
    i = np.clip(np.searchsorted(xs, xr) - 1, 0, len(xs) - 2)
    slope = (ys[i + 1] - ys[i]) / (xs[i + 1] - xs[i])
    y = ys[i] + slope * (x - xs[i])
    y = np.where(xr < xs[0], ys[0] + 0.0 * x, y)
    if not extrapolate_right:
        y = np.where(xr > xs[-1], ys[-1] + 0.0 * x, y)
    return y


@dataclass
class DruckerPragerCap(NumpyReturnMapping):
    """Drucker-Prager-Cap with cap hardening; see the module docstring for the equations.

    Units MPa, s; friction angles in degrees. Give one of each parameter group:
    elasticity (solid_youngs_modulus, gibson_ashby_exponent, poisson_ratio | elasticity_table),
    yield (cohesion, friction_angle, cap_eccentricity | yield_table),
    hardening (cap_pressure_initial, cap_hardening_A, cap_hardening_B | hardening_table).
    Tables are dicts of equal-length 1-D arrays keyed by the names in the module docstring.
    """

    initial_porosity: float
    solid_youngs_modulus: float | None = None
    gibson_ashby_exponent: float | None = None
    poisson_ratio: float | None = None
    elasticity_table: dict | None = None
    cohesion: float | None = None
    friction_angle: float | None = None
    cap_eccentricity: float | None = None
    yield_table: dict | None = None
    transition_alpha: float = 0.01
    cap_pressure_initial: float | None = None
    cap_hardening_A: float | None = None
    cap_hardening_B: float | None = None
    hardening_table: dict | None = None
    relaxation_time: float = 0.0
    name: str = "dpc"
    output_fields: dict = field(default_factory=lambda: {
        "plastic_volumetric_strain": "-", "equivalent_plastic_strain": "-",
        "cap_pressure": "MPa"})

    def __post_init__(self):
        if not 0.0 <= self.initial_porosity < 1.0:
            raise ValueError(f"initial_porosity must lie in [0, 1), got {self.initial_porosity}")
        self._tabulated_elasticity = self.elasticity_table is not None
        self._tabulated_yield = self.yield_table is not None
        self._tabulated_hardening = self.hardening_table is not None
        for group, table, scalars in (
                ("elasticity", self.elasticity_table,
                 (self.solid_youngs_modulus, self.gibson_ashby_exponent, self.poisson_ratio)),
                ("yield", self.yield_table,
                 (self.cohesion, self.friction_angle, self.cap_eccentricity)),
                ("hardening", self.hardening_table,
                 (self.cap_pressure_initial, self.cap_hardening_A, self.cap_hardening_B))):
            given = [s is not None for s in scalars]
            if table is None and not all(given):
                raise ValueError(f"{group}: give all three scalars or the {group}_table")
            if table is not None and any(given):
                raise ValueError(f"{group}: give either the scalars or the {group}_table, not both")
        if not 0.0 <= self.transition_alpha < 1.0:
            raise ValueError(f"transition_alpha must lie in [0, 1), got {self.transition_alpha}")
        if not self.relaxation_time >= 0.0:
            raise ValueError(f"relaxation_time must be >= 0 s, got {self.relaxation_time}")
        betas = (np.asarray(self.yield_table["friction_angle"], float) if self._tabulated_yield
                 else np.array([self.friction_angle], float))
        if np.any(1.0 + self.transition_alpha - self.transition_alpha / np.cos(np.radians(betas))
                  <= 0.0):
            raise ValueError("transition_alpha too large for the friction angle: "
                             "1 + alpha - alpha/cos(beta) must be > 0")
        self._last_newton_residuals: list[float] = []

    # ----------------------------------------------------------------- material functions
    # All are analytic in kappa so that complex-step derivatives are exact.
    def relative_density(self, kappa):
        """Plastic relative density RD = 1 - phi_p = (1 - phi0) exp(-kappa)."""
        return (1.0 - self.initial_porosity) * np.exp(-kappa)

    def _elastic_moduli(self, kappa):
        """Kirchhoff bulk and shear moduli J_p (K, G) at the plastic state kappa: tau = J_p C eps_e."""
        bulk, shear = self._material_moduli(kappa)
        plastic_volume_ratio = np.exp(kappa)
        return plastic_volume_ratio * bulk, plastic_volume_ratio * shear

    def _material_moduli(self, kappa):
        """Bulk and shear modulus (K, G) of the card, E(phi_p) and nu, at the plastic state."""
        rd = self.relative_density(kappa)
        if self._tabulated_elasticity:
            t = self.elasticity_table
            youngs = _table(rd, t["relative_density"], t["youngs_modulus"])
            nu = _table(rd, t["relative_density"], t["poisson_ratio"])
        else:
            youngs = self.solid_youngs_modulus * rd ** self.gibson_ashby_exponent
            nu = self.poisson_ratio + 0.0 * rd
        return youngs / (3.0 * (1.0 - 2.0 * nu)), youngs / (2.0 * (1.0 + nu))

    def yield_parameters(self, kappa):
        """(d, tan beta, cos beta, R) at the plastic state kappa."""
        if self._tabulated_yield:
            t = self.yield_table
            rd = self.relative_density(kappa)
            d = _table(rd, t["relative_density"], t["cohesion"])
            beta = _table(rd, t["relative_density"], t["friction_angle"]) * (np.pi / 180.0)
            r = _table(rd, t["relative_density"], t["cap_eccentricity"])
        else:
            zero = 0.0 * kappa
            d = self.cohesion + zero
            beta = np.radians(self.friction_angle) + zero
            r = self.cap_eccentricity + zero
        return d, np.tan(beta), np.cos(beta), r

    def cap_pressure(self, kappa):
        """Hydrostatic yield pressure p_b(kappa), MPa."""
        if self._tabulated_hardening:
            t = self.hardening_table
            return _table(-kappa, t["compaction_strain"], t["cap_pressure"],
                          extrapolate_right=True)
        compaction = np.where(np.real(kappa) < 0.0, kappa, 0.0 * kappa)   # held for kappa > 0
        return (self.cap_pressure_initial
                + self.cap_hardening_A * (1.0 - np.exp(self.cap_hardening_B * compaction)))

    def effective_youngs_modulus(self, state):
        """Current Young's modulus E(phi_p) at each point, MPa (for springback p_max/E_eff)."""
        bulk, shear = self._material_moduli(state["plastic_volumetric_strain"])
        return 9.0 * bulk * shear / (3.0 * bulk + shear)

    # --------------------------------------------------------------------- surfaces
    def _geometry(self, kappa):
        d, tanb, cosb, r = self.yield_parameters(kappa)
        alpha = self.transition_alpha
        p_a = (self.cap_pressure(kappa) - r * d) / (1.0 + r * tanb)
        height = d + p_a * tanb                     # shear-line q at p_a
        c = 1.0 + alpha - alpha / cosb
        sinb = tanb * cosb
        p_t = p_a - alpha * height * sinb           # where the transition circle meets the line
        return d, tanb, cosb, r, p_a, height, c, p_t

    def _yield_value(self, p, q, kappa, arm):
        """Yield function of one arm: CAP, or the shear region (line + transition circle).

        The shear line is scaled by cos(beta) so that, like the circle, it measures distance;
        the two then join smoothly at p_t.  Returns (F, code)."""
        d, tanb, cosb, r, p_a, height, c, p_t = self._geometry(kappa)
        if arm == CAP:
            f = np.sqrt((p - p_a) ** 2 + (r * q / c) ** 2) - r * height
            return f, np.full(np.shape(np.real(p)), CAP)
        alpha = self.transition_alpha
        f_line = (q - p * tanb - d) * cosb
        if alpha == 0.0:
            return f_line, np.full(np.shape(np.real(p)), SHEAR)
        q_centre = (1.0 - alpha / cosb) * height
        f_circle = np.sqrt((p - p_a) ** 2 + (q - q_centre) ** 2) - alpha * height
        # the circle is the yield surface only on its upper arc; below its centre the point is
        # inside and the (negative) line function is used
        on_circle = (np.real(p) > np.real(p_t)) & (np.real(q) > np.real(q_centre))
        return np.where(on_circle, f_circle, f_line), np.where(on_circle, TRANSITION, SHEAR)

    def _potential_gradient(self, p, q, kappa, arm):
        """(dG/dp, dG/dq / q) of the flow potential of an arm (the ratio is finite at q = 0)."""
        d, tanb, cosb, r, p_a, height, c, p_t = self._geometry(kappa)
        if arm == CAP:
            b2 = (r / c) ** 2
            g = np.sqrt((p - p_a) ** 2 + b2 * q ** 2 + 1e-300)
            return (p - p_a) / g, b2 / g
        b2 = 1.0 / c ** 2
        g = np.sqrt(((p_a - p) * tanb) ** 2 + b2 * q ** 2 + 1e-300)
        return -(p_a - p) * tanb ** 2 / g, b2 / g

    def yield_functions(self, tau, state):
        """Unscaled F_s, F_c, F_t (MPa) of the Cauchy stress tau/J, J = exp(tr eps_e + kappa),
        for Kirchhoff stresses tau and the history `state` returned with them, and the cap apex
        pressure p_a; for checks and the material-point driver."""
        kappa = state["plastic_volumetric_strain"]
        sigma = tau / np.exp(state["elastic_strain"][:, :3].sum(axis=1) + kappa)[:, None]
        p = -(sigma[:, 0] + sigma[:, 1] + sigma[:, 2]) / 3.0
        s = sigma - (-p)[:, None] * IDENTITY
        q = np.sqrt(1.5 * np.einsum("ij,ij->i", s, s))
        d, tanb, cosb, r, p_a, height, c, p_t = self._geometry(kappa)
        alpha = self.transition_alpha
        return {
            "shear_function": q - p * tanb - d,
            "cap_function": np.sqrt((p - p_a) ** 2 + (r * q / c) ** 2) - r * height,
            "transition_function": (np.sqrt((p - p_a) ** 2 + (q - (1 - alpha / cosb) * height)
                                            ** 2) - alpha * height),
            "cap_apex_pressure": p_a,
        }

    # --------------------------------------------------------------------- protocol
    def admissibility(self, state) -> tuple[list[str], list[tuple[str, float, str]]]:
        """(errors, warnings) of a trial state. An error makes the state inadmissible (the
        Newton iterate or the load step fails): a plastic relative density above 1, i.e. pores
        that the compaction has made negative. A warning, (what, value, text with {value}),
        names loading past the end of a card's table (the property is then held or
        extrapolated, see the module docstring)."""
        kappa = np.asarray(state["plastic_volumetric_strain"])
        if kappa.size == 0:
            return [], []
        densest = float(self.relative_density(kappa.min()))
        errors, warnings = [], []
        if densest > 1.0 + 1e-12:
            errors.append(f"porosity limit: plastic relative density {densest:.6f} > 1 "
                          f"(plastic porosity < 0): the load compacts the coating past fully "
                          f"dense, which the card's law cannot represent")
        for group in ("elasticity", "yield"):
            table = getattr(self, f"{group}_table")
            if table is not None and densest > max(table["relative_density"]) + 1e-9:
                end = max(table["relative_density"])
                warnings.append((f"{group}_table", densest,
                                 f"relative density up to {{value:.4f}}, past the end of the "
                                 f"card's {group}_table ({end:g}): its last row was held"))
        if self.hardening_table is not None:
            strain = float(-kappa.min())
            end = max(self.hardening_table["compaction_strain"])
            if strain > end + 1e-9:
                warnings.append(("hardening_table", strain,
                                 f"compaction strain up to {{value:.4f}}, past the end of the "
                                 f"card's hardening_table ({end:g}): the cap pressure was "
                                 f"extrapolated with the last slope"))
        return errors, warnings

    def stiffest_youngs_modulus(self) -> float:
        """The largest Young's modulus the powder reaches, MPa: the dense solid's (Gibson-Ashby
        E_s) or the stiffest row of the elasticity table (scales contact penalties)."""
        if self.solid_youngs_modulus:
            return float(self.solid_youngs_modulus)
        return float(max(self.elasticity_table["youngs_modulus"]))

    def virgin_elastic_moduli(self) -> tuple[float, float]:
        """(Young's modulus MPa, Poisson's ratio) at the initial porosity."""
        youngs = float(self.effective_youngs_modulus(self.initial_state(1))[0])
        nu = self.poisson_ratio if self.poisson_ratio is not None else \
            float(self.elasticity_table["poisson_ratio"][0])
        return youngs, float(nu)

    #: history entries carried from one Newton iterate to the next (mechanics.warm_started)
    iterate_keys = ("return_start",)

    def initial_state(self, n_points: int) -> dict[str, np.ndarray]:
        kappa = np.zeros(n_points)
        return {
            "plastic_volumetric_strain": kappa,
            "equivalent_plastic_strain": np.zeros(n_points),
            "cap_pressure": self.cap_pressure(kappa) + 0.0 * kappa,
            "plastic_strain": np.zeros((n_points, 6)),
            "elastic_strain": np.zeros((n_points, 6)),
            "active_surface": np.zeros(n_points),
            "return_start": np.full((n_points, START_WIDTH), -1.0),
        }

    def __setattr__(self, name, value):
        self.__dict__.pop("_kernel_arrays", None)   # a parameter changed: `_kernel_data` anew
        super().__setattr__(name, value)

    def _kernel_data(self):
        """The card as the compiled kernel reads it (layout in ``dpc_surfaces``'s docstring),
        made at the first update and kept (every update of a run reads the same card)."""
        if "_kernel_arrays" not in self.__dict__:
            self.__dict__["_kernel_arrays"] = self._card_arrays()
        return self.__dict__["_kernel_arrays"]

    def _card_arrays(self):
        groups = [(self.elasticity_table, ("relative_density", "youngs_modulus",
                                           "poisson_ratio")),
                  (self.yield_table, ("relative_density", "cohesion", "friction_angle",
                                      "cap_eccentricity")),
                  (self.hardening_table, ("compaction_strain", "cap_pressure"))]
        lengths = np.array([len(t[keys[0]]) if t is not None else 2 for t, keys in groups],
                           dtype=np.int64)
        tables = np.zeros((9, int(lengths.max())))
        row = 0
        for (table, keys), n in zip(groups, lengths):
            for key in keys:
                if table is not None:
                    values = np.asarray(table[key], dtype=float)
                    tables[row, :n] = values
                    tables[row, n:] = values[-1]
                row += 1
        modes = np.array([self._tabulated_elasticity, self._tabulated_yield,
                          self._tabulated_hardening], dtype=np.int64)
        scalars = np.array([
            self.initial_porosity, self.solid_youngs_modulus or 0.0,
            self.gibson_ashby_exponent or 0.0, self.poisson_ratio or 0.0,
            self.cohesion or 0.0, np.radians(self.friction_angle or 0.0),
            self.cap_eccentricity or 0.0, self.transition_alpha,
            self.cap_pressure_initial or 0.0, self.cap_hardening_A or 0.0,
            self.cap_hardening_B or 0.0, self.relaxation_time,
            np.tan(np.radians(self.friction_angle or 0.0)),
            np.cos(np.radians(self.friction_angle or 0.0)),
            (1.0 - self.initial_porosity) ** (self.gibson_ashby_exponent or 0.0)], dtype=float)
        return modes, scalars, tables, lengths

    def update(self, eps_trial, state, dt):
        """Every point's return in one compiled pass (``dpc_kernel.dpc_update``: the same
        equations with forward-mode derivatives); `update_numpy` is the reference it is
        tested against."""
        eps_trial = np.ascontiguousarray(eps_trial, dtype=float)
        n = eps_trial.shape[0]
        tau, tangent, eps_e, plastic = (np.empty((n, 6)), np.empty((n, 6, 6)),
                                        np.empty((n, 6)), np.empty((n, 6)))
        kappa, eq_plastic, cap_pressure = np.empty(n), np.empty(n), np.empty(n)
        code, status = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)

        def column(key, shape):
            value = state[key]
            if (isinstance(value, np.ndarray) and value.shape == shape
                    and value.dtype == np.float64 and value.flags.c_contiguous
                    and value.flags.writeable):
                return value                # (a history array as the update left it)
            # (a writable copy: a read-only array is another type to numba, and the return
            # would be compiled a second time for it)
            return np.array(np.broadcast_to(value, shape), dtype=float, order="C")

        eps_e_n, kappa_n = column("elastic_strain", (n, 6)), column("plastic_volumetric_strain",
                                                                     (n,))
        eq_plastic_n, plastic_n = (column("equivalent_plastic_strain", (n,)),
                                   column("plastic_strain", (n, 6)))
        given = state.get("return_start")       # (absent, or from an older version: cold)
        start = column("return_start", (n, START_WIDTH)) if np.shape(given)[-1:] == \
            (START_WIDTH,) else np.full((n, START_WIDTH), -1.0)
        solution = np.empty((n, START_WIDTH))
        data = self._kernel_data()
        over_chunks(dpc_update, point_chunks(n, cost=4.0), lambda c: (
            eps_trial[c], eps_e_n[c], kappa_n[c], eq_plastic_n[c], plastic_n[c], start[c],
            float(dt), *data, tau[c], tangent[c], eps_e[c], kappa[c], eq_plastic[c],
            cap_pressure[c], plastic[c], code[c], solution[c], status[c]))
        if np.any(status != OK):
            bad = np.flatnonzero(status != OK)
            raise MaterialPointError(
                self.name, bad, n,
                f"{int(np.sum(status == BEYOND_FULL_DENSITY))} of them are compressed beyond "
                f"full density (porosity < 0); the others failed after {SUBSTEPS[-1]} "
                "sub-steps (pressure beyond the reach of the hardening law, or no admissible "
                "return)")
        new_state = {"plastic_volumetric_strain": kappa,
                     "equivalent_plastic_strain": eq_plastic, "cap_pressure": cap_pressure,
                     "plastic_strain": plastic, "elastic_strain": eps_e.copy(),
                     "active_surface": code.astype(float), "return_start": solution}
        return tau, tangent, eps_e, new_state
