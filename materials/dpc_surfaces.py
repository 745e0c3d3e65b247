r"""The Drucker-Prager-Cap material functions and surfaces, compiled, in dual numbers
(``dual.py``): the same equations as ``dpc.py`` (moduli, cap hardening, yield surfaces and
flow potentials; see its docstring for the equations and sources), written once for every
dual width, so that the return map in ``dpc_kernel.py`` gets their derivatives with their
values and a new function needs no hand-written derivative.

Layout of the compiled material description (built by ``DruckerPragerCap.kernel_data``):

    modes   int64[3]   elasticity (0 Gibson-Ashby, 1 table), yield (0 scalars, 1 table),
                       hardening (0 exponential, 1 table)
    scalars float64[15] initial_porosity, solid_youngs_modulus, gibson_ashby_exponent,
                       poisson_ratio, cohesion, friction_angle [rad], cap_eccentricity,
                       transition_alpha, cap_pressure_initial, cap_hardening_A,
                       cap_hardening_B, relaxation_time, tan and cos of friction_angle,
                       (1 - initial_porosity)^gibson_ashby_exponent
    tables  float64[9, n] rows: elasticity RD, E, nu; yield RD, d, beta [deg], R;
                       hardening compaction strain, p_b (each padded with its last value)
    lengths int64[3]   number of rows used by the elasticity, yield and hardening tables
"""
from __future__ import annotations

import math

from numba import njit

from .dual import add, addc, chain, const_like, div, dexp, dsqrt, mul, mulc, square, sub, table

#: active-surface codes (stored in the history as ``active_surface``)
ELASTIC, SHEAR, TRANSITION, CAP = 0, 1, 2, 3


@njit(cache=True, error_model="numpy", inline="always")
def relative_density(kappa, s):
    """RD = (1 - phi0) exp(-kappa)."""
    return mulc(dexp(mulc(kappa, -1.0)), 1.0 - s[0])


@njit(cache=True, error_model="numpy", inline="always")
def kirchhoff_moduli(kappa, modes, s, t, lengths):
    """J_p (K, G) of the card at the plastic state kappa (dpc._elastic_moduli)."""
    rd = relative_density(kappa, s)
    if modes[0] == 1:
        n = lengths[0]
        youngs = table(rd, t[0], t[1], n, False)
        nu = table(rd, t[0], t[2], n, False)
    else:
        # E_s RD^n = E_s (1 - phi0)^n exp(-n kappa): one exp instead of a power
        youngs = mulc(dexp(mulc(kappa, -s[2])), s[1] * s[14])
        nu = const_like(rd, s[3])
    bulk = div(youngs, mulc(addc(mulc(nu, -2.0), 1.0), 3.0))
    shear = div(youngs, mulc(addc(nu, 1.0), 2.0))
    volume_ratio = div(const_like(rd, 1.0 - s[0]), rd)            # J_p = exp(kappa)
    return mul(volume_ratio, bulk), mul(volume_ratio, shear)


@njit(cache=True, error_model="numpy", inline="always")
def cap_pressure(kappa, modes, s, t, lengths):
    """p_b(kappa), held at its initial value for kappa > 0 (dpc.cap_pressure)."""
    if modes[2] == 1:
        return table(mulc(kappa, -1.0), t[7], t[8], lengths[2], True)
    if kappa[0] < 0.0:
        return addc(mulc(dexp(mulc(kappa, s[10])), -s[9]), s[8] + s[9])
    return const_like(kappa, s[8])


@njit(cache=True, error_model="numpy", inline="always")
def geometry(kappa, modes, s, t, lengths):
    """(d, tan beta, cos beta, R, p_a, height, c, p_t) as duals at the plastic state kappa
    (dpc._geometry); p_t, where the transition circle meets the shear line, as a float."""
    if modes[1] == 1:
        rd = relative_density(kappa, s)
        n = lengths[1]
        d = table(rd, t[3], t[4], n, False)
        beta = mulc(table(rd, t[3], t[5], n, False), math.pi / 180.0)
        r = table(rd, t[3], t[6], n, False)
        cos_beta, sin_beta = math.cos(beta[0]), math.sin(beta[0])
        tanb = chain(beta, sin_beta / cos_beta, 1.0 / cos_beta ** 2)
        cosb = chain(beta, cos_beta, -sin_beta)
    else:
        d = const_like(kappa, s[4])
        r = const_like(kappa, s[6])
        tanb = const_like(kappa, s[12])
        cosb = const_like(kappa, s[13])
    alpha = s[7]
    p_b = cap_pressure(kappa, modes, s, t, lengths)
    p_a = div(sub(p_b, mul(r, d)), addc(mul(r, tanb), 1.0))
    height = add(d, mul(p_a, tanb))
    c = addc(mulc(div(const_like(cosb, 1.0), cosb), -alpha), 1.0 + alpha)
    p_t = p_a[0] - alpha * height[0] * tanb[0] * cosb[0]
    return d, tanb, cosb, r, p_a, height, c, p_t


@njit(cache=True, error_model="numpy")
def yield_value(p, q, surfaces, arm, alpha):
    """(F, surface code) of one arm at Cauchy (p, q) (dpc._yield_value); surfaces from
    `geometry`, alpha the transition parameter."""
    d, tanb, cosb, r, p_a, height, c, p_t = surfaces
    if arm == CAP:
        f = sub(dsqrt(add(square(sub(p, p_a)), square(div(mul(r, q), c)))), mul(r, height))
        return f, CAP
    f_line = mul(sub(sub(q, mul(p, tanb)), d), cosb)
    if alpha == 0.0:
        return f_line, SHEAR
    q_centre = mul(addc(mulc(div(const_like(cosb, 1.0), cosb), -alpha), 1.0), height)
    if p[0] > p_t and q[0] > q_centre[0]:
        f_circle = sub(dsqrt(add(square(sub(p, p_a)), square(sub(q, q_centre)))),
                       mulc(height, alpha))
        return f_circle, TRANSITION
    return f_line, SHEAR


@njit(cache=True, error_model="numpy")
def potential_gradient(p, q, surfaces, arm):
    """(dG/dp, dG/dq / q) of an arm's flow potential (dpc._potential_gradient)."""
    d, tanb, cosb, r, p_a, height, c, p_t = surfaces
    if arm == CAP:
        b2 = square(div(r, c))
        g = dsqrt(addc(add(square(sub(p, p_a)), mul(b2, square(q))), 1e-300))
        return div(sub(p, p_a), g), div(b2, g)
    b2 = div(const_like(c, 1.0), square(c))
    g = dsqrt(addc(add(square(mul(sub(p_a, p), tanb)), mul(b2, square(q))), 1e-300))
    return mulc(div(mul(sub(p_a, p), square(tanb)), g), -1.0), div(b2, g)
