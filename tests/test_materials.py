"""Material-point verification of the constitutive laws (pure NumPy, seconds).

Each check states its tolerance and why.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nipstack.materials.base import IDENTITY
from nipstack.materials.cards import CardError, list_cards, load_card, parse_card
from nipstack.materials.dpc import CAP, ELASTIC, SHEAR, TRANSITION, DruckerPragerCap
from nipstack.materials.dpc_kernel import START_WIDTH
from nipstack.materials.errors import MaterialPointError
from nipstack.materials.j2 import J2Plasticity
from nipstack.point import HOLD, LOAD, UNLOAD, run_path

ROOT_TESTS = Path(__file__).resolve().parent

# A generic electrode-like powder: Gibson-Ashby elasticity and exponential cap hardening
# (seed 000 sign convention, B > 0, compaction strain negative).
GA_EXP = dict(initial_porosity=0.45, solid_youngs_modulus=8000.0, gibson_ashby_exponent=2.0,
              poisson_ratio=0.25, cohesion=1.0, friction_angle=60.0, cap_eccentricity=0.6,
              cap_pressure_initial=3.0, cap_hardening_A=300.0, cap_hardening_B=2.5)


def ga_exp(**changes):
    return DruckerPragerCap(**{**GA_EXP, **changes})


def oedometric_modulus(youngs, nu):
    return youngs * (1.0 - nu) / ((1.0 + nu) * (1.0 - 2.0 * nu))


# ------------------------------------------------------------------ paths vs closed forms
@pytest.mark.parametrize("card", ["ga_exp", "mcc_avicel_ph102"])
def test_hydrostatic_path_follows_the_hardening_law(card):
    """On hydrostatic compaction the Cauchy mean stress equals p_b(eps_vp) (rel. 1e-8: the
    local Newton converges to round-off, 1e-8 leaves room for the driver's stress control)."""
    law = ga_exp() if card == "ga_exp" else load_card(card)
    result = run_path(law, "hydrostatic", steps=30, max_strain=0.12, unload=False)
    on_cap = result["on_cap"] == 1
    assert on_cap.sum() >= 20
    p, kappa = result["mean_stress"][on_cap], result["plastic_volumetric_strain"][on_cap]
    if card == "ga_exp":
        p_b = GA_EXP["cap_pressure_initial"] + GA_EXP["cap_hardening_A"] * (
            1.0 - np.exp(GA_EXP["cap_hardening_B"] * kappa))
    else:
        table = law.hardening_table
        p_b = np.interp(-kappa, table["compaction_strain"], table["cap_pressure"])
    assert np.all(kappa < 0.0)
    np.testing.assert_allclose(p, p_b, rtol=1e-8)
    # solid mass: porosity from J equals porosity from plastic + elastic volume change
    assert np.all(np.diff(result["porosity"]) < 0.0)


@pytest.mark.parametrize("card", ["ga_exp", "mcc_avicel_ph102"])
def test_uniaxial_strain_is_monotone_and_ends_on_the_cap(card):
    """Oedometer: axial stress and porosity decrease monotonically; the last loaded state is on
    the cap, |F_c| <= 1e-8 p_b (round-off level of the return)."""
    law = ga_exp() if card == "ga_exp" else load_card(card)
    result = run_path(law, "uniaxial-strain", steps=40, max_strain=0.5)
    load = result["stage"] == LOAD
    assert np.all(np.diff(result["axial_stress"][load]) < 0.0)
    assert np.all(np.diff(result["porosity"][load]) < 0.0)
    last = np.flatnonzero(load)[-1]
    assert result["on_cap"][last] == 1
    assert abs(result["cap_function"][last]) <= 1e-8 * result["cap_pressure"][last]


def test_triaxial_at_low_confinement_ends_on_the_shear_line():
    """Sheared at 0.1 MPa confinement the powder fails on the shear line (left of the cap apex),
    |F_s| <= 1e-8 (d + p tan beta).  (Shear yield at p < p_a/2 would be strongly dilatant with
    the Abaqus potential; see the dpc module docstring.)"""
    law = ga_exp()
    result = run_path(law, "triaxial", steps=40, max_strain=0.01, confining_pressure=0.1,
                      unload=False)
    assert result["on_shear"][-1] == 1
    assert result["mean_stress"][-1] < result["cap_apex_pressure"][-1]
    assert np.allclose(result["lateral_stress"][1 + 40:], -0.1, rtol=1e-9)
    strength = 1.0 + result["mean_stress"][-1] * np.tan(np.radians(60.0))
    assert abs(result["shear_function"][-1]) <= 1e-8 * strength
    # shear flow with the elliptical potential left of the cap is dilatant
    assert result["plastic_volumetric_strain"][-1] > 0.0


def _oedometer_under_shear(law, axial_stress, shear_ratio, steps=60):
    """A row of coating under a roll: no lateral strain, the axial Cauchy stress ramped to
    -axial_stress with a shear stress sigma_13 = shear_ratio * |sigma_33| (what a sliding roll
    with friction coefficient shear_ratio exerts), then both released. Mixed control on
    (eps_33, eps_13) with the law's tangent; the strain increments are added in the law's
    log-strain space (the law is what is tested here, not the kinematics of rotating axes).
    Returns the porosity after release."""
    root2 = np.sqrt(2.0)
    state, eps_e, strain = law.initial_state(1), np.zeros((1, 6)), np.zeros(6)
    loads = [(s, shear_ratio * s) for s in np.linspace(0.0, axial_stress, steps + 1)[1:]]
    loads += [(s, 0.0) for s in np.linspace(axial_stress, 0.0, 11)[1:]]
    for axial, shear in loads:
        target, trial = np.array([-axial, shear]), strain.copy()
        for _ in range(40):
            eps_trial = eps_e + (trial - strain)
            tau, tangent, eps_e_new, state_new = law.update(eps_trial, state, 0.0)
            jac_det = np.exp(trial[:3].sum())
            residual = np.array([tau[0, 2], tau[0, 4] / root2]) / jac_det - target
            if np.max(np.abs(residual)) < 1e-10 * axial_stress:
                break
            d = tangent[0][np.ix_([2, 4], [2, 4])] / jac_det
            d[1] /= root2
            d[:, 0] -= np.array([tau[0, 2], tau[0, 4] / root2]) / jac_det   # d(1/J)/d eps_33
            step = np.linalg.solve(d, -residual)
            trial[2] += step[0]
            trial[4] += step[1]
        else:
            raise AssertionError(f"stress control failed at sigma_33 = -{axial}")
        eps_e, state, strain = eps_e_new, state_new, trial
    return 1.0 - (1.0 - law.initial_porosity) / np.exp(strain[:3].sum())


def test_shear_on_the_cap_compacts_more_and_the_effect_is_quadratic_in_friction():
    """Shear-enhanced compaction, the only way roll friction can densify a coating's surface in
    this model: on the cap a shear stress tau = mu |sigma_33| on top of the same axial stress
    leaves the row denser after release. The cap function depends on q^2 = q_0^2 + 3 tau^2, so
    the densification grows as mu^2: at mu = 0.05 it is 1/16 of that at mu = 0.2 (measured
    0.056; bounds 0.03-0.10 leave room for the higher-order terms). NMC card, 60 MPa:
    36.92 % without shear, 36.21 % at mu = 0.2 (-0.71 pp)."""
    law = load_card("nmc_cathode")
    porosity = {mu: _oedometer_under_shear(law, 60.0, mu) for mu in (0.0, 0.05, 0.2)}
    denser_02 = porosity[0.0] - porosity[0.2]
    denser_005 = porosity[0.0] - porosity[0.05]
    assert 0.004 < denser_02 < 0.015
    assert 0.03 < denser_005 / denser_02 < 0.10


@pytest.mark.parametrize("card", ["ga_exp", "mcc_avicel_ph102"])
def test_unloading_is_elastic_with_the_porosity_dependent_modulus(card):
    """Oedometric unloading: plastic state frozen, and the axial stress of the compacted solid,
    tau / J_p = J_e sigma, linear in the axial log strain with slope
    M = E(phi_p)(1-nu)/((1+nu)(1-2nu)) (rel. 1e-8: exact linear elasticity)."""
    law = ga_exp() if card == "ga_exp" else load_card(card)
    result = run_path(law, "uniaxial-strain", steps=30, max_strain=0.4)
    unload = result["stage"] == UNLOAD
    kappa = result["plastic_volumetric_strain"][unload]
    assert np.ptp(kappa) == 0.0
    tau_axial = result["axial_stress"] * np.exp(result["axial_strain"]
                                               + 2.0 * result["lateral_strain"])
    stress_of_solid = tau_axial[unload] / np.exp(kappa)       # tau / J_p
    slope = np.diff(stress_of_solid) / np.diff(result["axial_strain"][unload])
    rd = (1.0 - law.initial_porosity) * np.exp(-kappa[0])
    if card == "ga_exp":
        youngs = GA_EXP["solid_youngs_modulus"] * rd ** GA_EXP["gibson_ashby_exponent"]
        nu = GA_EXP["poisson_ratio"]
    else:
        table = law.elasticity_table
        youngs = np.interp(rd, table["relative_density"], table["youngs_modulus"])
        nu = np.interp(rd, table["relative_density"], table["poisson_ratio"])
    state = {"plastic_volumetric_strain": kappa[:1]}
    np.testing.assert_allclose(law.effective_youngs_modulus(state), youngs, rtol=1e-12)
    np.testing.assert_allclose(slope, oedometric_modulus(youngs, nu), rtol=1e-8)
    assert abs(result["axial_stress"][-1]) < 1e-9 * abs(result["axial_stress"]).max()


# ------------------------------------------------------------------ consistent tangent
def finite_difference_tangent(law, eps, state, dt, h=1e-7):
    columns = []
    for j in range(6):
        plus, minus = eps.copy(), eps.copy()
        plus[:, j] += h
        minus[:, j] -= h
        columns.append((law.update(plus, state, dt)[0] - law.update(minus, state, dt)[0])
                       / (2.0 * h))
    return np.stack(columns, axis=2)


def random_states(law, n, rng, preload, spread):
    """n points preloaded along a random non-coaxial path, then given random increments."""
    state = law.initial_state(n)
    eps_e = np.zeros((n, 6))
    for _ in range(3):
        increment = preload * rng.normal(size=(n, 6)) * np.array([1, 1, 1, .3, .3, .3])
        increment[:, :3] -= np.abs(preload) * 1.0            # compress on the way
        _, _, eps_e, state = law.update(eps_e + increment / 3.0, state, 1.0)
    increment = spread * rng.normal(size=(n, 6))
    increment[:, :3] += rng.uniform(-2.0, 1.0, (n, 1)) * spread   # some compaction, some not
    return eps_e + increment, state


def check_tangent(law, eps, state, dt=1.0, tol=1e-6):
    tau, tangent, eps_e, new_state = law.update(eps, state, dt)
    numeric = finite_difference_tangent(law, eps, state, dt)
    error = (np.linalg.norm(tangent - numeric, axis=(1, 2))
             / np.linalg.norm(tangent, axis=(1, 2)))
    assert np.all(error <= tol), f"max tangent error {error.max():.2e}"
    return error, new_state


@pytest.mark.parametrize("alpha", [0.05, 0.0])
def test_dpc_tangent_matches_finite_differences_in_every_regime(alpha):
    """Gibson-Ashby + exponential: elastic, shear, transition (alpha > 0), cap, and the
    cap/shear junction (alpha = 0), random non-coaxial increments; rel. error <= 1e-6 (central
    differences with h = 1e-7 have truncation and round-off errors ~1e-9)."""
    law = ga_exp(transition_alpha=alpha)
    rng = np.random.default_rng(1)
    eps, state = random_states(law, 300, rng, preload=0.004, spread=0.004)
    # trial states aimed at the cap/shear junction: p_trial at the cap apex, high q
    junction = law.initial_state(40)
    p_a = law._geometry(junction["plastic_volumetric_strain"])[4]
    bulk, shear = law._elastic_moduli(junction["plastic_volumetric_strain"])
    eps_v = -p_a / bulk * rng.uniform(0.98, 1.02, 40)
    deviator = np.array([-1.0, -1.0, 2.0, 0.0, 0.0, 0.0]) / np.sqrt(6.0)
    eps_q = rng.uniform(1.0, 3.0, 40) * (1.0 + p_a * np.sqrt(3.0)) / (3.0 * shear)
    eps_j = eps_v[:, None] / 3.0 * IDENTITY + (eps_q / np.sqrt(2.0 / 3.0))[:, None] * deviator
    # elastic unloading of the preloaded points
    eps_u = 0.5 * state["elastic_strain"][:40]
    eps = np.vstack([eps, eps_j, eps_u])
    state = {k: np.concatenate([state[k], junction[k], state[k][:40]]) for k in state}
    error, new_state = check_tangent(law, eps, state)
    codes = new_state["active_surface"]
    wanted = {ELASTIC, SHEAR, CAP} | ({TRANSITION} if alpha > 0 else set())
    counts = {code: int(np.sum(codes == code)) for code in wanted}
    assert all(count >= 3 for count in counts.values()), counts
    # the junction points returned next to the apex p_a on either arm
    assert np.all(np.isin(codes[-80:-40], [SHEAR, TRANSITION, CAP]))
    # mass conservation: tr(eps_trial) - tr(eps_e) = plastic volume change, to round-off
    _, _, eps_e, _ = law.update(eps, state, 1.0)
    np.testing.assert_allclose(
        eps[:, :3].sum(1) - eps_e[:, :3].sum(1),
        new_state["plastic_volumetric_strain"] - state["plastic_volumetric_strain"],
        atol=1e-14)


def test_dpc_tangent_with_the_mcc_tables():
    """Full density-dependent MCC set (tabulated E, nu, d, beta, R, p_b): rel. error <= 1e-6."""
    law = load_card("mcc_avicel_ph102")
    rng = np.random.default_rng(2)
    eps, state = random_states(law, 300, rng, preload=0.05, spread=0.01)
    error, new_state = check_tangent(law, eps, state)
    codes = new_state["active_surface"]
    assert np.sum(codes == CAP) >= 10 and np.sum(codes == ELASTIC) >= 10
    assert np.sum(np.isin(codes, [SHEAR, TRANSITION])) >= 3


def test_dpc_rate_dependent_tangent():
    """Duvaut-Lions (tau_r = 2 s, dt = 0.5 s): rel. error <= 1e-6."""
    law = ga_exp(relaxation_time=2.0)
    rng = np.random.default_rng(3)
    eps, state = random_states(law, 200, rng, preload=0.004, spread=0.004)
    check_tangent(law, eps, state, dt=0.5)


def test_j2_tangent_and_quadratic_convergence():
    """J2 with linear + Voce hardening: rel. error <= 1e-6; the radial-return Newton
    converges quadratically (e_k+1 <= 100 e_k^2 once e_k < 1e-3)."""
    law = J2Plasticity(youngs_modulus=70e3, poisson_ratio=0.33, yield_stress=100.0,
                       hardening_modulus=500.0, voce_stress=80.0, voce_rate=20.0)
    rng = np.random.default_rng(4)
    state = law.initial_state(200)
    eps = 3e-3 * rng.normal(size=(200, 6))
    _, _, eps_e, state = law.update(eps, state, 1.0)
    eps = eps_e + 2e-3 * rng.normal(size=(200, 6))
    error, new_state = check_tangent(law, eps, state)
    plastic = new_state["equivalent_plastic_strain"] > state["equivalent_plastic_strain"]
    assert 20 <= plastic.sum() < 200
    law.update_numpy(eps, state, 1.0)      # the reference records its Newton residuals
    assert_quadratic(law._last_newton_residuals)


def test_compiled_j2_equals_the_numpy_reference():
    """The compiled radial return (what `update` runs) against `update_numpy`: 1e-12."""
    rng = np.random.default_rng(7)
    for law in (J2Plasticity(youngs_modulus=70e3, poisson_ratio=0.33, yield_stress=100.0,
                             hardening_modulus=500.0, voce_stress=80.0, voce_rate=20.0),
                J2Plasticity(youngs_modulus=7.82e3, poisson_ratio=0.38, yield_stress=0.8)):
        state = law.initial_state(500)
        state["equivalent_plastic_strain"] = np.abs(0.01 * rng.normal(size=500))
        eps = 0.02 * rng.normal(size=(500, 6))
        reference, compiled = law.update_numpy(eps, state, 1.0), law.update(eps, state, 1.0)
        for a, b in zip(reference[:3], compiled[:3]):
            assert np.abs(a - b).max() <= 1e-12 * np.abs(a).max()
        for key in reference[3]:
            assert np.abs(reference[3][key] - compiled[3][key]).max() <= 1e-14


def test_dpc_kernel_runs_as_plain_python_with_the_same_answer(tmp_path):
    """With NUMBA_DISABLE_JIT=1 the kernel runs as plain Python (its dual-number primitives'
    Python bodies instead of the compiled per-width versions): the same stress, tangent and
    local solution (the next iterate's warm start, which a wrong value would only slow down)
    as the compiled kernel, 1e-12, on 40 random points of every arm (a debugging path that
    must not rot)."""
    script = tmp_path / "plain.py"
    script.write_text(
        "import sys, numpy as np\n"
        f"sys.path.insert(0, {str(ROOT_TESTS)!r})\n"
        "from test_materials import ga_exp, random_states\n"
        "law = ga_exp(transition_alpha=0.05)\n"
        "eps, state = random_states(law, 40, np.random.default_rng(5), 0.004, 0.004)\n"
        "tau, tangent, _, new = law.update(eps, state, 1.0)\n"
        "np.save(sys.argv[1], np.concatenate([tau.ravel(), tangent.ravel(),\n"
        "                                     new['return_start'].ravel()]))\n")
    results = []
    for disabled in ("1", "0"):
        out = tmp_path / f"jit_disabled_{disabled}.npy"
        env = dict(os.environ, NUMBA_DISABLE_JIT=disabled)
        subprocess.run([sys.executable, str(script), str(out)], check=True, env=env)
        results.append(np.load(out))
    plain, compiled = results
    assert np.abs(plain - compiled).max() <= 1e-12 * np.abs(compiled).max()


def test_the_kept_kernel_card_follows_a_changed_parameter():
    """The card arrays the compiled kernel reads are made once per law and kept; setting a
    parameter afterwards makes them again, so an update never runs on a stale card."""
    law = load_card("nmc_cathode")
    first = law._kernel_data()
    assert law._kernel_data() is first
    eps = np.zeros((1, 6))
    eps[0, :3] = -0.01                              # on the cap
    state = law.initial_state(1)
    before = law.update(eps, state, 1.0)[0]
    law.relaxation_time = 10.0                      # Duvaut-Lions: part of the way back
    assert law._kernel_data() is not first
    assert law._kernel_data()[1][11] == 10.0
    after = law.update(eps, state, 1.0)[0]
    fresh = load_card("nmc_cathode")
    fresh.relaxation_time = 10.0
    assert np.array_equal(after, fresh.update(eps, fresh.initial_state(1), 1.0)[0])
    assert not np.array_equal(after, before)


def test_unowned_views_share_memory_and_refuse_strided_arrays():
    """`dpc_kernel.unowned` (the kernel's arrays without reference counts): in compiled code
    a view of the same memory (a write through it lands in the owner), the identity in plain
    Python, and an error for an array that is not C-contiguous."""
    from numba import njit

    from nipstack.materials.dpc_kernel import unowned

    @njit
    def write_through(array):
        view = unowned(array)
        view[1, 2] = 7.0
        return view.sum()

    owner = np.arange(12.0).reshape(3, 4)
    total = write_through(owner)
    assert owner[1, 2] == 7.0 and total == owner.sum()
    assert unowned(owner) is owner
    with pytest.raises(ValueError, match="C-contiguous"):
        write_through(np.zeros((4, 6))[:, ::2])


def assert_quadratic(history):
    errors = [e for e in history if e > 0.0]
    pairs = [(a, b) for a, b in zip(errors, errors[1:]) if a < 1e-3]
    assert pairs, history
    for a, b in pairs:
        assert b <= 100.0 * a * a + 1e-15, history


def test_dpc_local_newton_converges_quadratically():
    """One cap return of a single point: e_k+1 <= 100 e_k^2 in the terminal iterations
    (scaled residual in strain units; a linearly converging Newton fails this by orders)."""
    law = ga_exp()
    state = law.initial_state(1)
    eps = np.array([[-0.002, -0.002, -0.02, 0.001, 0.0, 0.0]])
    _, _, _, new_state = law.update_numpy(eps, state, 1.0)  # the reference records them
    assert new_state["active_surface"][0] == CAP
    assert_quadratic(law._last_newton_residuals)


DPC_CARDS = [name for name in list_cards() if isinstance(load_card(name), DruckerPragerCap)]


@pytest.mark.parametrize("case", ["alpha=0.05", "alpha=0", "duvaut-lions", "sub-steps"]
                         + DPC_CARDS)
def test_compiled_dpc_equals_the_numpy_reference(case):
    """The compiled return (what `update` runs: forward-mode derivatives, one pass per point)
    against `update_numpy` (complex-step derivatives, batched): stress, elastic strain and
    tangent to 1e-12 of their largest entry, history to 1e-12, the same active surfaces; over
    random non-coaxial states on every arm (elastic, shear, transition, cap), with sub-stepped
    large increments, for every DPC card in the library."""
    rng = np.random.default_rng(11)
    dt = 1.0
    if case.startswith("alpha"):
        law = ga_exp(transition_alpha=0.05 if case == "alpha=0.05" else 0.0)
        eps, state = random_states(law, 300, rng, preload=0.004, spread=0.004)
    elif case == "duvaut-lions":
        law, dt = ga_exp(relaxation_time=2.0), 0.5
        eps, state = random_states(law, 300, rng, preload=0.004, spread=0.004)
    elif case == "sub-steps":
        law = load_card("mcc_avicel_ph102")
        paths = [[0, 0, -1, 0, 0, 0], [-1 / 3, -1 / 3, -1 / 3, 0, 0, 0], [0, -0.2, -1, 0.3, 0, 0]]
        eps = np.array([m * np.array(p, float) for m in (0.3, 0.4, 0.5) for p in paths] * 4)
        state = law.initial_state(len(eps))
    else:
        law = load_card(case)
        eps, state = random_states(law, 300, rng, preload=0.05, spread=0.01)
    reference, compiled = law.update_numpy(eps, state, dt), law.update(eps, state, dt)
    for a, b in zip(reference[:3], compiled[:3]):
        assert np.abs(a - b).max() <= 1e-12 * np.abs(a).max()
    for key in reference[3]:
        scale = max(np.abs(reference[3][key]).max(), 1.0)
        assert np.abs(reference[3][key] - compiled[3][key]).max() <= 1e-12 * scale, key
    codes = compiled[3]["active_surface"]
    assert np.sum(codes == CAP) >= 10
    assert case == "sub-steps" or np.sum(codes != CAP) >= 10


@pytest.mark.parametrize("case", ["alpha=0.05", "duvaut-lions", "nmc_cathode"])
def test_warm_started_dpc_return_gives_the_cold_answer(case):
    """A Newton iterate's local returns start from the previous iterate's solution
    (`return_start`, mechanics.warm_started). Moved by a small strain change (1e-5, what a
    converging global Newton does) or started from another point's solution (a bad guess: it
    must fall back to the cold start), the compiled return gives the cold start's stress,
    tangent and history to 1e-12 of their largest entry, on every arm."""
    rng = np.random.default_rng(7)
    dt = 0.5 if case == "duvaut-lions" else 1.0
    if case == "nmc_cathode":
        law = load_card(case)
        eps, state = random_states(law, 300, rng, preload=0.05, spread=0.01)
    else:
        law = ga_exp(transition_alpha=0.05) if case == "alpha=0.05" else \
            ga_exp(relaxation_time=2.0)
        eps, state = random_states(law, 300, rng, preload=0.004, spread=0.004)
    previous = law.update(eps, state, dt)[3]["return_start"]
    assert np.sum(previous[:, 4] >= 0) >= 100           # plastic points leave a start
    moved = eps + 1e-5 * rng.standard_normal(eps.shape)
    cold = law.update(moved, {**state, "return_start": np.full((len(eps), START_WIDTH), -1.0)},
                      dt)
    for start in (previous, previous[rng.permutation(len(eps))]):
        warm = law.update(moved, {**state, "return_start": start}, dt)
        for a, b in zip(cold[:3], warm[:3]):
            assert np.abs(a - b).max() <= 1e-12 * np.abs(a).max()
        for key in cold[3]:
            if key == "return_start":
                continue
            scale = max(np.abs(cold[3][key]).max(), 1.0)
            assert np.abs(cold[3][key] - warm[3][key]).max() <= 1e-12 * scale, key
        assert np.array_equal(cold[3]["active_surface"], warm[3]["active_surface"])


def test_a_warm_start_of_another_width_is_a_cold_start():
    """A checkpoint written before the warm start carried its derivatives holds 5 columns per
    point: the update takes it as no warm start and gives the cold answer, bit for bit."""
    law = ga_exp(transition_alpha=0.05)
    eps, state = random_states(law, 50, np.random.default_rng(9), 0.004, 0.004)
    cold = law.update(eps, {**state, "return_start": np.full((50, START_WIDTH), -1.0)}, 1.0)
    old = law.update(eps, {**state, "return_start": np.zeros((50, 5))}, 1.0)
    for a, b in zip(cold[:3], old[:3]):
        assert np.array_equal(a, b)
    assert old[3]["return_start"].shape == (50, START_WIDTH)


def test_warm_start_moved_along_its_tangent_saves_local_iterations(tmp_path):
    """The warm start carries the local solution's derivatives and the next return starts from
    the first-order prediction (dpc_kernel's module). Counted in the plain-Python kernel
    (NUMBA_DISABLE_JIT=1), after a 1e-5 strain move: residual evaluations per plastic point
    from the prediction < from the previous solution itself (derivatives zeroed) < cold. A
    wrong derivative would change no answer (the cold start catches a bad guess), only the
    cost: this is what notices."""
    script = tmp_path / "count.py"
    script.write_text(
        "import sys, numpy as np\n"
        f"sys.path.insert(0, {str(ROOT_TESTS)!r})\n"
        "from test_materials import ga_exp, random_states\n"
        "import nipstack.materials.dpc_kernel as kernel\n"
        "calls, residual = [0], kernel._residual\n"
        "def counted(*args):\n"
        "    calls[0] += 1\n"
        "    return residual(*args)\n"
        "kernel._residual = counted\n"
        "law = ga_exp(transition_alpha=0.05)\n"
        "rng = np.random.default_rng(3)\n"
        "eps, state = random_states(law, 120, rng, 0.004, 0.004)\n"
        "first = law.update(eps, state, 1.0)[3]['return_start']\n"
        "moved = eps + 1e-5 * rng.standard_normal(eps.shape)\n"
        "previous = first.copy()\n"
        "previous[:, 8:] = 0.0\n"
        "counts = []\n"
        "for start in (first, previous, np.full_like(first, -1.0)):\n"
        "    calls[0] = 0\n"
        "    law.update(moved, {**state, 'return_start': start}, 1.0)\n"
        "    counts.append(calls[0] / np.sum(first[:, 4] >= 0))\n"
        "np.save(sys.argv[1], counts)\n")
    out = tmp_path / "counts.npy"
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    subprocess.run([sys.executable, str(script), str(out)], check=True, env=env)
    predicted, previous, cold = np.load(out)
    assert predicted <= previous - 0.5 and previous <= cold - 2.0, (predicted, previous, cold)


# ------------------------------------------------------------------ rate dependence
def test_duvaut_lions_hold_relaxes_with_the_relaxation_time():
    """Fast hydrostatic compaction (dt = 1e-4 tau_r per step), then a hold at fixed strain:
    the plastic porosity follows phi_inf + (phi_0 - phi_inf) exp(-t/tau_r) to 1 % of the
    relaxed amount (backward Euler with dt = tau_r/200 and the exp(kappa) -> porosity
    nonlinearity each contribute < 0.5 %); phi_inf is the rate-independent value."""
    tau_r = 10.0
    law = ga_exp(relaxation_time=tau_r)
    loaded = run_path(law, "hydrostatic", steps=10, max_strain=0.01, dt=1e-4 * tau_r,
                      hold_time=3.0 * tau_r, hold_steps=600, unload=False)
    reference = run_path(ga_exp(), "hydrostatic", steps=10, max_strain=0.01, unload=False)

    def plastic_porosity(kappa):
        return 1.0 - (1.0 - law.initial_porosity) * np.exp(-kappa)

    hold = loaded["stage"] == HOLD
    t = loaded["time"][hold] - loaded["time"][~hold][-1]
    phi = plastic_porosity(loaded["plastic_volumetric_strain"])
    phi_0 = phi[~hold][-1]
    phi_inf = plastic_porosity(reference["plastic_volumetric_strain"][-1])
    assert phi_0 - phi_inf > 0.005                       # a real relaxation, not round-off
    normalised = (phi[hold] - phi_inf) / (phi_0 - phi_inf)
    assert np.max(np.abs(normalised - np.exp(-t / tau_r))) < 0.01
    # porosity (from J) is fixed during a strain hold; the stress relaxes to the RI value
    assert np.ptp(loaded["porosity"][hold]) < 1e-12
    p, p_inf = loaded["mean_stress"], reference["mean_stress"][-1]
    assert abs(p[-1] - p_inf) <= 0.1 * abs(p[~hold][-1] - p_inf)     # e^-3 = 5 % left


# ------------------------------------------------------------------ failure reporting
def test_compaction_beyond_full_density_raises_a_material_point_error():
    law = load_card("mcc_avicel_ph102")
    state = law.initial_state(3)
    eps = np.zeros((3, 6))
    eps[1, :3] = -0.6                                    # J = exp(-1.8) < 0.30: porosity < 0
    with pytest.raises(MaterialPointError, match="1 of 3 material points"):
        law.update(eps, state, 1.0)


def test_large_increments_are_sub_stepped_or_reported():
    """A single 30 % oedometric increment is returned (by sub-stepping if needed) to the same
    cap state as many small ones within 5 % in p (the return map is path dependent)."""
    law = load_card("mcc_avicel_ph102")
    state = law.initial_state(1)
    tau, _, _, big = law.update(np.array([[0, 0, -0.3, 0, 0, 0.0]]), state, 1.0)
    assert big["active_surface"][0] == CAP
    small = run_path(law, "uniaxial-strain", steps=30, max_strain=0.3, unload=False)
    p_big = -tau[0, :3].mean() / np.exp(-0.3)
    assert abs(p_big / small["mean_stress"][-1] - 1.0) < 0.05


# ------------------------------------------------------------------ material cards
def test_library_cards_load_and_mcc_card_matches_its_source():
    assert "mcc_avicel_ph102" in list_cards()
    for name in list_cards():
        load_card(name)
    law = load_card("mcc_avicel_ph102")
    assert law.initial_porosity == 0.70
    np.testing.assert_allclose(law.hardening_table["compaction_strain"][1:],
                               np.log(np.array([.4, .5, .6, .7, .8, .9, .99]) / 0.30),
                               atol=1e-6)
    assert law.yield_table["friction_angle"][3] == 68.0
    assert "taha-re" in law.sources["hardening_table"]
    porous = load_card("mcc_avicel_ph102", overrides={"initial_porosity": 0.37})
    assert porous.initial_porosity == 0.37 and porous.sources["initial_porosity"] == "override"


def good_card():
    return {
        "material": {"name": "t", "law": "dpc", "description": "test powder"},
        "parameters": {"initial_porosity": 0.4, "solid_youngs_modulus": 5000.0,
                       "gibson_ashby_exponent": 2.0, "poisson_ratio": 0.25, "cohesion": 1.0,
                       "friction_angle": 60.0, "cap_eccentricity": 0.5,
                       "hardening_table": {"compaction_strain": [0.0, 0.2, 0.4],
                                           "cap_pressure": [2.0, 20.0, 80.0]}},
        "sources": {},
    }


def with_sources(card):
    card["sources"] = {key: "assumption: test" for key in card["parameters"]}
    return card


@pytest.mark.parametrize("breakage, key", [
    (lambda c: c["material"].update(law="cam-clay"), "law"),
    (lambda c: c["parameters"].update(friction_coefficient=0.3), "friction_coefficient"),
    (lambda c: c["parameters"].pop("cohesion"), "cohesion"),
    (lambda c: c["parameters"].update(solid_youngs_modulus=-1.0), "solid_youngs_modulus"),
    (lambda c: c["parameters"].update(initial_porosity=1.0), "initial_porosity"),
    (lambda c: c["parameters"].update(poisson_ratio=float("nan")), "poisson_ratio"),
    (lambda c: c["parameters"].update(friction_angle="sixty"), "friction_angle"),
    (lambda c: c["parameters"]["hardening_table"].update(cap_pressure=[2.0, 20.0]),
     "hardening_table"),
    (lambda c: c["parameters"]["hardening_table"].update(compaction_strain=[0.0, 0.4, 0.2]),
     "hardening_table.compaction_strain"),
    (lambda c: c["parameters"].update(cap_pressure_initial=2.0), "cap_pressure_initial"),
])
def test_card_loader_rejects_bad_cards_naming_the_key(breakage, key):
    card = with_sources(good_card())
    breakage(card)
    card["sources"] = {k: "x" for k in card["parameters"]}
    with pytest.raises(CardError, match=key):
        parse_card(card, "t")


def test_card_loader_requires_a_source_for_every_parameter(tmp_path):
    card = with_sources(good_card())
    parse_card(card, "t")                                    # the good card is good
    del card["sources"]["friction_angle"]
    with pytest.raises(CardError, match="source for parameter 'friction_angle'"):
        parse_card(card, "t")
    path = tmp_path / "bad.toml"
    path.write_text('[material]\nname = "bad"\nlaw = "elastic"\ndescription = "x"\n'
                    '[parameters]\nyoungs_modulus = 1e3\n[sources]\nyoungs_modulus = "x"\n')
    with pytest.raises(CardError, match="'bad'.*poisson_ratio"):
        load_card(path)
    with pytest.raises(CardError, match="no material card 'unobtainium'"):
        load_card("unobtainium")
    with pytest.raises(CardError, match="unknown parameter 'yield_strength'"):
        load_card("mcc_avicel_ph102", overrides={"yield_strength": 1.0})
