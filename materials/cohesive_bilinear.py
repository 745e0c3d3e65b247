r"""Bilinear mixed-mode cohesive law with Benzeggagh-Kenane propagation, for delamination of
bonded stack interfaces (coating/foil adhesion, laminated separators).

Source: P. P. Camanho and C. G. Davila, "Mixed-mode decohesion finite elements for the
simulation of delamination in composite materials", NASA/TM-2002-211737 (2002); the
Benzeggagh-Kenane criterion from M. L. Benzeggagh and M. Kenane, Compos. Sci. Technol.
56:439-449 (1996); viscous regularisation after Y. F. Gao and A. F. Bower, Modell. Simul. Mater.
Sci. Eng. 12:453-463 (2004) (the form used by Abaqus' cohesive elements).

With a single penalty stiffness K (MPa/mm) in all modes, the local jump [g_n, g_t] (g_t one or
two shear components, treated alike: mode III = mode II as in the paper) gives

    delta_3 = <g_n> = max(g_n, 0),     delta_shear = |g_t|,
    delta_m = sqrt(delta_3^2 + delta_shear^2),     beta = delta_shear / delta_3,
    B = G_II / G_T = beta^2 / (1 + beta^2) = delta_shear^2 / delta_m^2.

Damage onset (quadratic traction criterion), with delta_3^0 = N / K and delta_1^0 = S / K:

    delta_m^0 = delta_3^0 delta_1^0 sqrt((1 + beta^2) / ((delta_1^0)^2 + (beta delta_3^0)^2))
                                                                     (delta_3 > 0)
    delta_m^0 = delta_1^0                                            (delta_3 <= 0)

and complete decohesion from the BK criterion G_c = G_Ic + (G_IIc - G_Ic) B^eta:

    delta_m^f = 2 / (K delta_m^0) [G_Ic + (G_IIc - G_Ic) B^eta]     (delta_3 > 0)
    delta_m^f = 2 G_IIc / S                                          (delta_3 <= 0).

Both branches are the same smooth expression of (delta_3, delta_shear),

  delta_m^0 = delta_3^0 delta_1^0 delta_m / sqrt((delta_3 delta_1^0)^2 + (delta_shear delta_3^0)^2)

so the law is evaluated with one formula. The scalar damage

    d = delta_m^f (delta_m - delta_m^0) / (delta_m (delta_m^f - delta_m^0))   clipped to [0, d_max]

is irreversible: the state holds d and d_new = max(d_old, d(jump)), which for proportional
loading is the paper's use of the maximum mixed-mode displacement reached. Tractions

    t_t = (1 - d) K g_t,
    t_n = (1 - d) K g_n   (g_n > 0),      t_n = K g_n   (g_n <= 0: contact, for any damage),

so a proportional path dissipates exactly G_c(B) = 1/2 K delta_m^0 delta_m^f, and unloading is
linear to the origin with the secant stiffness (1 - d) K.

Viscous regularisation (viscosity eta_v in s; 0 = off): the traction uses a damage d_v that
relaxes towards the rate-independent d,

    d_v' = (d - d_v) / eta_v,
    backward Euler:   d_v,new = (d_v,old + dt/eta_v d_new) / (1 + dt/eta_v),

which lags d (damage "lags" and the traction overshoots the envelope) and tends to d as
eta_v / dt -> 0. Report its value with results: it adds viscous dissipation.

Consistent tangent (derivatives of delta_m^0, delta_m^f and B with respect to the jump
included, so it is non-symmetric in mixed mode):

    d t / d g = K diag(1 - d_v | 1 for g_n <= 0, 1 - d_v, ...) - K [<g_n>, g_t] (x) d d_v / d g,
    d d_v / d g = dt/eta_v / (1 + dt/eta_v) d d / d g      (= d d / d g when eta_v = 0),

with d d / d g = 0 when the damage does not grow in the step (elastic, unloading, d = d_max).

``dissipated_energy`` (N/mm) accumulates int Y dd with Y = 1/2 K delta_m(d)^2 the energy release
rate on the damage surface at the step's mode ratio, in closed form: exact (= G_c at full
separation) for the inviscid law under proportional loading; with viscosity it counts the
rate-independent part only. ``max_damage`` < 1 keeps a residual stiffness (1 - d_max) K in
opening, which can help a global Newton with fully separated interfaces.

Caveat (Turon et al., Mech. Mater. 38:1072, 2006): with the paper's quadratic onset and BK
propagation, the damage computed from a *changing* mode ratio can decrease; storing d and
taking the maximum keeps it irreversible, but the law is then not thermodynamically consistent
under strongly non-proportional loading.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .interface_base import check_state, gap_fields, split_jump

_STATE_KEYS = ("damage", "damage_inviscid", "dissipated_energy")


@dataclass
class BilinearCohesive:
    """Camanho-Davila bilinear cohesive law with BK mixed-mode propagation.

    penalty_stiffness K (MPa/mm), normal_strength N and shear_strength S (MPa), mode_i_toughness
    G_Ic and mode_ii_toughness G_IIc (N/mm), bk_exponent eta (-), viscosity (s, 0 = off),
    max_damage (-, in (0, 1]).
    """

    penalty_stiffness: float
    normal_strength: float
    shear_strength: float
    mode_i_toughness: float
    mode_ii_toughness: float
    bk_exponent: float
    viscosity: float = 0.0
    max_damage: float = 1.0
    name: str = "cohesive_bilinear"
    output_fields: dict = field(default_factory=lambda: {
        "damage": "-", "gap_normal": "mm", "gap_tangential": "mm", "dissipated_energy": "N/mm"})

    def __post_init__(self):
        for key, unit in (("penalty_stiffness", "MPa/mm"), ("normal_strength", "MPa"),
                          ("shear_strength", "MPa"), ("mode_i_toughness", "N/mm"),
                          ("mode_ii_toughness", "N/mm"), ("bk_exponent", "")):
            if not getattr(self, key) > 0.0:
                unit = f" {unit}" if unit else ""
                raise ValueError(f"{key} must be > 0{unit}, got {getattr(self, key)}")
        if not self.viscosity >= 0.0:
            raise ValueError(f"viscosity must be >= 0 s, got {self.viscosity}")
        if not 0.0 < self.max_damage <= 1.0:
            raise ValueError(f"max_damage must lie in (0, 1], got {self.max_damage}")
        K, N, S = self.penalty_stiffness, self.normal_strength, self.shear_strength
        if not self.mode_i_toughness > N ** 2 / (2.0 * K):
            raise ValueError(
                f"mode_i_toughness must exceed normal_strength^2 / (2 penalty_stiffness) = "
                f"{N ** 2 / (2.0 * K):.6g} N/mm (else the softening branch snaps back), "
                f"got {self.mode_i_toughness}")
        if not self.mode_ii_toughness > S ** 2 / (2.0 * K):
            raise ValueError(
                f"mode_ii_toughness must exceed shear_strength^2 / (2 penalty_stiffness) = "
                f"{S ** 2 / (2.0 * K):.6g} N/mm (else the softening branch snaps back), "
                f"got {self.mode_ii_toughness}")
        ratio = np.linspace(0.0, 1.0, 1001)
        onset, final = self.onset_and_final(ratio)
        if np.any(final <= onset):
            bad = ratio[np.argmax(final <= onset)]
            raise ValueError(
                f"bk_exponent {self.bk_exponent} with these toughnesses and strengths gives a "
                f"snap-back (final <= onset displacement) at mode ratio B = {bad:.3f}; raise "
                f"penalty_stiffness or the toughnesses")

    # ------------------------------------------------------------------ mixed-mode envelope
    def mixed_mode_toughness(self, mode_ratio):
        """BK toughness G_c(B) = G_Ic + (G_IIc - G_Ic) B^eta, B = G_II / G_T (N/mm)."""
        mode_ratio = np.asarray(mode_ratio, dtype=float)
        return self.mode_i_toughness + (self.mode_ii_toughness - self.mode_i_toughness) * (
            mode_ratio ** self.bk_exponent)

    def onset_and_final(self, mode_ratio):
        """Mixed-mode onset and final displacements (delta_m^0, delta_m^f), mm, at B."""
        mode_ratio = np.asarray(mode_ratio, dtype=float)
        K = self.penalty_stiffness
        d3, d1 = self.normal_strength / K, self.shear_strength / K
        onset = d3 * d1 / np.sqrt((1.0 - mode_ratio) * d1 ** 2 + mode_ratio * d3 ** 2)
        return onset, 2.0 * self.mixed_mode_toughness(mode_ratio) / (K * onset)

    def _envelope(self, a, s):
        """delta_m, delta_m^0, delta_m^f and their derivatives with respect to a = <g_n> and
        (per unit s) to s = |g_t|, for delta_m > 0. Returns a dict of (n,) arrays."""
        K, eta = self.penalty_stiffness, self.bk_exponent
        g1, g2 = self.mode_i_toughness, self.mode_ii_toughness
        d3, d1 = self.normal_strength / K, self.shear_strength / K
        dm2 = a * a + s * s
        dm = np.sqrt(dm2)
        r2 = a * a * d1 ** 2 + s * s * d3 ** 2
        d0 = d3 * d1 * dm / np.sqrt(r2)
        d0_a = d0 * a * (1.0 / dm2 - d1 ** 2 / r2)
        d0_s = d0 * (1.0 / dm2 - d3 ** 2 / r2)                 # (d d0 / d s) / s
        ratio = s * s / dm2
        ratio_eta = ratio ** eta
        gc = g1 + (g2 - g1) * ratio_eta
        gc_a = -2.0 * eta * (g2 - g1) * ratio_eta * a / dm2
        positive = ratio > 0.0
        gc_s = np.where(positive, 2.0 * eta * (g2 - g1) * a * a / (dm2 * dm2)
                        * np.where(positive, ratio, 1.0) ** (eta - 1.0), 0.0)
        df = 2.0 * gc / (K * d0)
        df_a = df * (gc_a / gc - d0_a / d0)
        df_s = df * (gc_s / gc - d0_s / d0)
        return {"dm": dm, "d0": d0, "df": df, "d0_a": d0_a, "d0_s": d0_s,
                "df_a": df_a, "df_s": df_s}

    def _dissipation(self, damage, d0, df):
        """int_0^d Y dd with Y = 1/2 K delta_m(d)^2 on the damage surface (N/mm)."""
        gap = df - d0
        return 0.5 * self.penalty_stiffness * d0 ** 2 * df ** 2 / gap * (
            1.0 / (df - damage * gap) - 1.0 / df)

    # ------------------------------------------------------------------ contract
    def initial_state(self, n_points: int) -> dict[str, np.ndarray]:
        return {"damage": np.zeros(n_points), "damage_inviscid": np.zeros(n_points),
                "dissipated_energy": np.zeros(n_points),
                "gap_normal": np.zeros(n_points), "gap_tangential": np.zeros(n_points)}

    def update(self, jump, state, dt):
        g_n, g_t = split_jump(jump)
        n_points, m = g_n.shape[0], g_t.shape[1] + 1
        check_state(state, _STATE_KEYS, n_points, self.name)
        if self.viscosity > 0.0 and not dt >= 0.0:
            raise ValueError(f"{self.name}: dt must be >= 0 s with viscosity, got {dt}")
        K = self.penalty_stiffness
        a = np.maximum(g_n, 0.0)
        s = np.sqrt(np.einsum("ij,ij->i", g_t, g_t))
        opened = (a * a + s * s) > 0.0
        # at a zero jump the mode is undefined: evaluate the (unused) envelope in mode I
        env = self._envelope(np.where(opened, a, 1.0), np.where(opened, s, 0.0))
        dm, d0, df = env["dm"], env["d0"], env["df"]
        raw = np.where(opened, df * (dm - d0) / (dm * (df - d0)), 0.0)
        trial = np.clip(raw, 0.0, self.max_damage)
        d_old = state["damage_inviscid"]
        growing = trial > d_old
        d_new = np.where(growing, trial, d_old)

        # d d / d g where damage grows strictly inside (0, d_max)
        dd_dg = np.zeros((n_points, m))
        active = growing & (raw < self.max_damage)
        if np.any(active):
            dm_, d0_, df_ = dm[active], d0[active], df[active]
            gap = df_ - d0_
            dd_ddm = df_ * d0_ / (dm_ ** 2 * gap)
            dd_dd0 = df_ * (dm_ - df_) / (dm_ * gap ** 2)
            dd_ddf = -d0_ * (dm_ - d0_) / (dm_ * gap ** 2)
            a_ = a[active]
            dd_da = (dd_ddm * a_ / dm_ + dd_dd0 * env["d0_a"][active]
                     + dd_ddf * env["df_a"][active])
            dd_ds = dd_ddm / dm_ + dd_dd0 * env["d0_s"][active] + dd_ddf * env["df_s"][active]
            dd_dg[active, 0] = np.where(g_n[active] > 0.0, dd_da, 0.0)
            dd_dg[active, 1:] = dd_ds[:, None] * g_t[active]

        if self.viscosity > 0.0:
            rate = dt / self.viscosity
            d_used = (state["damage"] + rate * d_new) / (1.0 + rate)
            dd_dg *= rate / (1.0 + rate)
        else:
            d_used = d_new

        tension = g_n > 0.0
        secant = (1.0 - d_used) * K
        traction = np.empty((n_points, m))
        traction[:, 0] = np.where(tension, secant, K) * g_n
        traction[:, 1:] = secant[:, None] * g_t
        tangent = np.zeros((n_points, m, m))
        tangent[:, 0, 0] = np.where(tension, secant, K)
        for i in range(1, m):
            tangent[:, i, i] = secant
        effective = np.concatenate([a[:, None], g_t], axis=1)
        tangent -= K * np.einsum("ki,kj->kij", effective, dd_dg)

        dissipated = state["dissipated_energy"] + (
            self._dissipation(d_used, d0, df) - self._dissipation(state["damage"], d0, df))
        new_state = {"damage": d_used, "damage_inviscid": d_new,
                     "dissipated_energy": dissipated, **gap_fields(jump)}
        return traction, tangent, new_state
