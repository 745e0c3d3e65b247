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
complex steps), `update_numpy` the batched NumPy code below, which is the reference the tests
hold the kernel to (1e-12).

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

from .base import IDENTITY, P_DEV, P_VOL
from .dpc_kernel import BEYOND_FULL_DENSITY, OK, dpc_update
from .errors import MaterialPointError

_H = 1e-30                      # complex-step size
_TOL = 1e-12                    # local Newton tolerance on the scaled residual (strain units)
_MAX_ITER = 40
_SUBSTEPS = (2, 4, 8, 16, 32, 64)
SQ23 = np.sqrt(2.0 / 3.0)
SQ32 = np.sqrt(1.5)

#: active-surface codes stored in the history as ``active_surface``
ELASTIC, SHEAR, TRANSITION, CAP = 0, 1, 2, 3


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


def _complex_derivative(function, x):
    """d function / d x of an analytic, batched function by complex step (exact to round-off)."""
    return np.imag(function(x + 1j * _H)) / _H


def _invariants(eps):
    """eps_v = tr(eps), e = dev(eps), eps_q = sqrt(2/3 e:e), unit deviator n (0 if e = 0)."""
    eps_v = eps[:, :3].sum(axis=1)
    e = eps - eps_v[:, None] / 3.0 * IDENTITY
    norm = np.sqrt(np.einsum("ij,ij->i", e, e))
    n = np.where(norm[:, None] > 1e-300, e / np.where(norm > 1e-300, norm, 1.0)[:, None], 0.0)
    return eps_v, e, SQ23 * norm, n


@dataclass
class DruckerPragerCap:
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

    def _yield_parameters(self, kappa):
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
        d, tanb, cosb, r = self._yield_parameters(kappa)
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

    # --------------------------------------------------------------------- local problem
    def _residual(self, x, eps_v, eps_q, kappa_n, scale_k, scale_g, arm):
        """Scaled residual (m, 4) of the local system; x = (p, q, d_lambda, kappa)."""
        p, q, dlam, kappa = x[:, 0], x[:, 1], x[:, 2], x[:, 3]
        bulk, shear = self._elastic_moduli(kappa)
        jac_det = np.exp(eps_v + kappa_n)          # J = J_e J_p, fixed during the return
        g_p, g_q_over_q = self._potential_gradient(p / jac_det, q / jac_det, kappa, arm)
        f, _ = self._yield_value(p / jac_det, q / jac_det, kappa, arm)
        return np.stack([
            (p + bulk * (eps_v - (kappa - kappa_n))) / scale_k,
            (q - 3.0 * shear * (eps_q - dlam * g_q_over_q * q / jac_det)) / scale_g,
            kappa - kappa_n + dlam * g_p,
            f / scale_k], axis=1)

    def _residual_and_jacobian(self, x, args, arm):
        m = x.shape[0]
        jac = np.empty((m, 4, 4))
        for j in range(4):
            xc = x.astype(complex)
            xc[:, j] += 1j * _H
            rc = self._residual(xc, *args, arm)
            jac[:, :, j] = rc.imag / _H
        return rc.real, jac

    def _solve_arm(self, x0, args, arm):
        """Safeguarded Newton on one arm. Returns (x, converged mask)."""
        x = x0.copy()
        m = x.shape[0]
        converged = np.zeros(m, bool)
        failed = np.zeros(m, bool)
        history = []
        res, jac = self._residual_and_jacobian(x, args, arm)
        for _ in range(_MAX_ITER):
            err = np.max(np.abs(res), axis=1)
            history.append(float(np.max(err[~(converged | failed)], initial=0.0)))
            newly = np.flatnonzero((err < _TOL) & ~converged & ~failed)
            if newly.size:                       # one polishing step: round-off accuracy
                with np.errstate(all="ignore"):
                    step = -np.linalg.solve(jac[newly], res[newly][..., None])[..., 0]
                    r_p, j_p = self._residual_and_jacobian(
                        x[newly] + step, tuple(a[newly] for a in args), arm)
                better = np.isfinite(r_p).all(axis=1) & (
                    np.max(np.abs(r_p), axis=1) <= err[newly])
                x[newly[better]] += step[better]
                res[newly[better]], jac[newly[better]] = r_p[better], j_p[better]
                converged[newly] = True
            work = np.flatnonzero(~converged & ~failed)
            if work.size == 0:
                break
            sub_args = tuple(a[work] for a in args)
            with np.errstate(all="ignore"):
                try:
                    step = -np.linalg.solve(jac[work], res[work][..., None])[..., 0]
                except np.linalg.LinAlgError:
                    step = np.full((work.size, 4), np.nan)
                    for k, i in enumerate(work):
                        try:
                            step[k] = -np.linalg.solve(jac[i], res[i])
                        except np.linalg.LinAlgError:
                            pass
            merit0 = 0.5 * np.sum(res[work] ** 2, axis=1)
            length = np.ones(work.size)
            pending = np.isfinite(step).all(axis=1)
            failed[work[~pending]] = True
            accepted_res = np.empty((work.size, 4))
            accepted_jac = np.empty((work.size, 4, 4))
            for _ls in range(30):
                idx = np.flatnonzero(pending)
                if idx.size == 0:
                    break
                trial = x[work[idx]] + length[idx, None] * step[idx]
                with np.errstate(all="ignore"):
                    r_t, j_t = self._residual_and_jacobian(
                        trial, tuple(a[idx] for a in sub_args), arm)
                merit = 0.5 * np.sum(r_t ** 2, axis=1)
                ok = np.isfinite(merit) & (merit <= (1.0 - 2e-4 * length[idx]) * merit0[idx]
                                          + 1e-30)
                good = idx[ok]
                x[work[good]] = trial[ok]
                accepted_res[good] = r_t[ok]
                accepted_jac[good] = j_t[ok]
                pending[good] = False
                length[idx[~ok]] *= 0.5
            failed[work[pending]] = True
            done = ~pending & np.isfinite(step).all(axis=1)
            res[work[done]] = accepted_res[done]
            jac[work[done]] = accepted_jac[done]
        self._last_newton_residuals = history
        return x, converged & ~failed

    def _plastic_return(self, eps_trial, kappa_n, eps_v, eps_q, n, scale_k, scale_g, first_arm):
        """Return of points known to be outside. Returns dict of results and an ok mask."""
        m = eps_trial.shape[0]
        args = (eps_v, eps_q, kappa_n, scale_k, scale_g)
        bulk_n, shear_n = self._elastic_moduli(kappa_n)
        x0 = np.stack([-bulk_n * eps_v, 3.0 * shear_n * eps_q, np.zeros(m), kappa_n], axis=1)
        x = np.full((m, 4), np.nan)
        arm_used = np.zeros(m, int)
        ok = np.zeros(m, bool)
        for attempt in range(2):
            for arm in (CAP, SHEAR):
                idx = np.flatnonzero(~ok & ((first_arm == arm) if attempt == 0
                                            else (first_arm != arm)))
                if idx.size == 0:
                    continue
                xa, conv = self._solve_arm(x0[idx], tuple(a[idx] for a in args), arm)
                p, q, dlam, kappa = xa.T
                p = p / np.exp(eps_v[idx] + kappa_n[idx])     # Cauchy mean stress
                p_a = self._geometry(kappa)[4]
                slack = 1e-9 * (1.0 + np.abs(p_a))
                side = (p >= p_a - slack) if arm == CAP else (p <= p_a + slack)
                dense = self.relative_density(kappa) < 1.0
                admissible = conv & side & (dlam >= -1e-12) & (q >= -1e-12) & dense
                good = idx[admissible]
                x[good] = xa[admissible]
                arm_used[good] = arm
                ok[good] = True
        out = self._linearise(x, arm_used, ok, eps_trial, eps_v, eps_q, n, kappa_n,
                              scale_k, scale_g)
        return out, ok

    def _linearise(self, x, arm_used, ok, eps_trial, eps_v, eps_q, n, kappa_n, scale_k,
                   scale_g):
        """Elastic strain, kappa and their derivatives at converged local solutions (IFT)."""
        m = x.shape[0]
        eps_e = np.full((m, 6), np.nan)
        kappa = np.full(m, np.nan)
        a_mat = np.full((m, 6, 6), np.nan)
        dk_de = np.full((m, 6), np.nan)
        de_dkn = np.full((m, 6), np.nan)
        dk_dkn = np.full(m, np.nan)
        code = np.zeros(m, int)
        for arm in (CAP, SHEAR):
            idx = np.flatnonzero(ok & (arm_used == arm))
            if idx.size == 0:
                continue
            xi = x[idx]
            args = [eps_v[idx], eps_q[idx], kappa_n[idx], scale_k[idx], scale_g[idx]]
            _, jac = self._residual_and_jacobian(xi, tuple(args), arm)
            b = np.empty((idx.size, 4, 3))
            for j in range(3):                   # inputs eps_v, eps_q, kappa_n
                ac = [a.astype(complex) for a in args]
                ac[j] = ac[j] + 1j * _H
                b[:, :, j] = self._residual(xi.astype(complex), *ac, arm).imag / _H
            dx = -np.linalg.solve(jac, b)        # (k, 4, 3): d(p, q, dlam, kappa)/d(inputs)
            p, q, dlam, kap = xi.T
            shear = self._elastic_moduli(kap)[1]
            dshear = _complex_derivative(lambda k: self._elastic_moduli(k)[1], kap)
            jac_det = np.exp(eps_v[idx] + kappa_n[idx])
            _, g_q_over_q = self._potential_gradient(p / jac_det, q / jac_det, kap, arm)
            ratio = 1.0 / (1.0 + 3.0 * shear * dlam * g_q_over_q / jac_det)  # eps_q_e/eps_q_tr
            # eps_q_e = q / (3 G(kappa))
            deq = dx[:, 1, :] / (3.0 * shear[:, None]) \
                - (q * dshear / (3.0 * shear ** 2))[:, None] * dx[:, 3, :]
            dk = dx[:, 3, :]
            ni = n[idx]
            eps_v_e = eps_v[idx] - kap + kappa_n[idx]
            eps_dev = eps_trial[idx] - (eps_v[idx] / 3.0)[:, None] * IDENTITY
            eps_e[idx] = (eps_v_e / 3.0)[:, None] * IDENTITY + ratio[:, None] * eps_dev
            kappa[idx] = kap
            dk_de[idx] = dk[:, 0, None] * IDENTITY + (SQ23 * dk[:, 1])[:, None] * ni
            nn = np.einsum("ki,kj->kij", ni, ni)
            a_mat[idx] = (np.einsum("i,kj->kij", IDENTITY / 3.0, IDENTITY - dk_de[idx])
                          + SQ32 * deq[:, 0, None, None] * np.einsum("ki,j->kij", ni, IDENTITY)
                          + deq[:, 1, None, None] * nn
                          + ratio[:, None, None] * (P_DEV - nn))
            de_dkn[idx] = ((1.0 - dk[:, 2]) / 3.0)[:, None] * IDENTITY \
                + (SQ32 * deq[:, 2])[:, None] * ni
            dk_dkn[idx] = dk[:, 2]
            code[idx] = np.where(arm == CAP, CAP, self._yield_value(
                p / jac_det, q / jac_det, kap, SHEAR)[1])
        return dict(eps_e=eps_e, kappa=kappa, A=a_mat, dk_de=dk_de, de_dkn=de_dkn,
                    dk_dkn=dk_dkn, code=code)

    def _return_map(self, eps_trial, kappa_n):
        """One rate-independent return from (eps_trial, kappa_n) for all points."""
        m = eps_trial.shape[0]
        eps_v, _, eps_q, n = _invariants(eps_trial)
        bulk_n, shear_n = self._elastic_moduli(kappa_n)
        jac_det = np.exp(eps_v + kappa_n)
        p_tr, q_tr = -bulk_n * eps_v / jac_det, 3.0 * shear_n * eps_q / jac_det   # Cauchy
        p_a = self._geometry(kappa_n)[4]
        first_arm = np.where(p_tr > p_a, CAP, SHEAR)
        f_cap = self._yield_value(p_tr, q_tr, kappa_n, CAP)[0]
        f_shear = self._yield_value(p_tr, q_tr, kappa_n, SHEAR)[0]
        f_trial = np.where(first_arm == CAP, f_cap, f_shear)
        stress_scale = np.abs(self.cap_pressure(kappa_n)) + np.abs(self._geometry(kappa_n)[0])
        plastic = f_trial > 1e-10 * stress_scale

        out = dict(eps_e=eps_trial.copy(), kappa=kappa_n.copy(),
                   A=np.broadcast_to(np.eye(6), (m, 6, 6)).copy(),
                   dk_de=np.zeros((m, 6)), de_dkn=np.zeros((m, 6)), dk_dkn=np.ones(m),
                   code=np.zeros(m, int))
        ok = np.ones(m, bool)
        idx = np.flatnonzero(plastic)
        if idx.size:
            res, ok_p = self._plastic_return(eps_trial[idx], kappa_n[idx], eps_v[idx],
                                             eps_q[idx], n[idx], bulk_n[idx], 3 * shear_n[idx],
                                             first_arm[idx])
            for key in out:
                out[key][idx] = res[key]
            ok[idx] = ok_p
        return out, ok

    def _rate_independent(self, eps_trial, eps_e_n, kappa_n):
        """Return map with sub-stepping; derivatives chained through the sub-steps."""
        m = eps_trial.shape[0]
        out, ok = self._return_map(eps_trial, kappa_n)
        result = dict(eps_e=out["eps_e"], kappa=out["kappa"], T=out["A"], kd=out["dk_de"],
                      code=out["code"])
        # total solid fraction (1 - phi0)/J of the step: >= 1 cannot be reached by any return
        solid = (1.0 - self.initial_porosity) * np.exp(-(eps_trial[:, :3].sum(axis=1) + kappa_n))
        impossible = solid >= 1.0
        for n_sub in _SUBSTEPS:
            bad = np.flatnonzero(~ok & ~impossible)
            if bad.size == 0:
                break
            increment = (eps_trial[bad] - eps_e_n[bad]) / n_sub
            eps_e, kappa = eps_e_n[bad].copy(), kappa_n[bad].copy()
            t_mat = np.zeros((bad.size, 6, 6))
            kd = np.zeros((bad.size, 6))
            sub_ok = np.ones(bad.size, bool)
            for _ in range(n_sub):
                step, ok_k = self._return_map(eps_e + increment, kappa)
                sub_ok &= ok_k
                d_trial = t_mat + np.eye(6) / n_sub
                t_mat = (step["A"] @ d_trial
                         + np.einsum("ki,kj->kij", step["de_dkn"], kd))
                kd = np.einsum("ki,kij->kj", step["dk_de"], d_trial) + step["dk_dkn"][:, None] * kd
                eps_e, kappa = step["eps_e"], step["kappa"]
                code = step["code"]
            good = bad[sub_ok]
            result["eps_e"][good] = eps_e[sub_ok]
            result["kappa"][good] = kappa[sub_ok]
            result["T"][good] = t_mat[sub_ok]
            result["kd"][good] = kd[sub_ok]
            result["code"][good] = code[sub_ok]
            ok[good] = True
        if not ok.all():
            bad = np.flatnonzero(~ok)
            raise MaterialPointError(
                self.name, bad, m,
                f"{int(np.sum(impossible))} of them are compressed beyond full density "
                f"(porosity < 0); the others failed after {_SUBSTEPS[-1]} sub-steps (pressure "
                "beyond the reach of the hardening law, or no admissible return)")
        return result

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

    def initial_state(self, n_points: int) -> dict[str, np.ndarray]:
        kappa = np.zeros(n_points)
        return {
            "plastic_volumetric_strain": kappa,
            "equivalent_plastic_strain": np.zeros(n_points),
            "cap_pressure": self.cap_pressure(kappa) + 0.0 * kappa,
            "plastic_strain": np.zeros((n_points, 6)),
            "elastic_strain": np.zeros((n_points, 6)),
            "active_surface": np.zeros(n_points),
        }

    def _kernel_data(self):
        """The card as the compiled kernel reads it (layout in ``dpc_kernel``'s docstring)."""
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
            np.cos(np.radians(self.friction_angle or 0.0))], dtype=float)
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
            return np.ascontiguousarray(np.broadcast_to(state[key], shape), dtype=float)

        dpc_update(eps_trial, column("elastic_strain", (n, 6)),
                   column("plastic_volumetric_strain", (n,)),
                   column("equivalent_plastic_strain", (n,)), column("plastic_strain", (n, 6)),
                   float(dt), *self._kernel_data(), tau, tangent, eps_e, kappa, eq_plastic,
                   cap_pressure, plastic, code, status)
        if np.any(status != OK):
            bad = np.flatnonzero(status != OK)
            raise MaterialPointError(
                self.name, bad, n,
                f"{int(np.sum(status == BEYOND_FULL_DENSITY))} of them are compressed beyond "
                f"full density (porosity < 0); the others failed after {_SUBSTEPS[-1]} "
                "sub-steps (pressure beyond the reach of the hardening law, or no admissible "
                "return)")
        new_state = {"plastic_volumetric_strain": kappa,
                     "equivalent_plastic_strain": eq_plastic, "cap_pressure": cap_pressure,
                     "plastic_strain": plastic, "elastic_strain": eps_e.copy(),
                     "active_surface": code.astype(float)}
        return tau, tangent, eps_e, new_state

    def update_numpy(self, eps_trial, state, dt):
        """The NumPy reference of `update` (complex-step derivatives, batched local Newton)."""
        eps_trial = np.asarray(eps_trial, dtype=float)
        n_points = eps_trial.shape[0]
        kappa_n = state["plastic_volumetric_strain"]
        ri = self._rate_independent(eps_trial, state["elastic_strain"], kappa_n)
        eps_e, kappa, t_mat, kd = ri["eps_e"], ri["kappa"], ri["T"], ri["kd"]
        if self.relaxation_time > 0.0:                          # Duvaut-Lions
            ratio = dt / self.relaxation_time
            w = ratio / (1.0 + ratio)
            eps_e = (1.0 - w) * eps_trial + w * eps_e
            kappa = (1.0 - w) * kappa_n + w * kappa
            t_mat = (1.0 - w) * np.eye(6) + w * t_mat
            kd = w * kd
        bulk, shear = self._elastic_moduli(kappa)
        dbulk = _complex_derivative(lambda k: self._elastic_moduli(k)[0], kappa)
        dshear = _complex_derivative(lambda k: self._elastic_moduli(k)[1], kappa)
        eps_v_e = eps_e[:, :3].sum(axis=1)
        eps_dev_e = eps_e - (eps_v_e / 3.0)[:, None] * IDENTITY
        tau = bulk[:, None] * eps_v_e[:, None] * IDENTITY + 2.0 * shear[:, None] * eps_dev_e
        stiffness = 3.0 * bulk[:, None, None] * P_VOL + 2.0 * shear[:, None, None] * P_DEV
        dstress_dkappa = (dbulk[:, None] * eps_v_e[:, None] * IDENTITY
                          + 2.0 * dshear[:, None] * eps_dev_e)
        tangent = stiffness @ t_mat + np.einsum("ki,kj->kij", dstress_dkappa, kd)
        plastic_increment = eps_trial - eps_e
        new_state = {
            "plastic_volumetric_strain": kappa,
            "equivalent_plastic_strain": state["equivalent_plastic_strain"]
            + SQ23 * np.sqrt(np.einsum("ij,ij->i", plastic_increment, plastic_increment)),
            "cap_pressure": self.cap_pressure(kappa) + 0.0 * kappa,
            "plastic_strain": state["plastic_strain"] + plastic_increment,
            "elastic_strain": eps_e,
            "active_surface": ri["code"].astype(float),
        }
        assert tau.shape == (n_points, 6)
        return tau, tangent, eps_e, new_state
