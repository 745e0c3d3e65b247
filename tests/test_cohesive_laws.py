"""Material-point verification of the cohesive laws (bilinear with Benzeggagh-Kenane mixed
mode, exponential): the energy dissipated to full separation, irreversibility (unloading,
reloading, compression after damage) and viscous regularisation (pure NumPy, seconds).

Every check states its tolerance and why. Units: mm, MPa, N/mm.
"""
from __future__ import annotations

import numpy as np
import pytest
from interface_law_paths import bilinear, exponential, mixed_direction, proportional, run_path, work

from nipstack.materials.interface_base import in_contact

# ================================================================== bilinear: energies
@pytest.mark.parametrize("mode", ["I", "II", "III"])
def test_bilinear_pure_mode_dissipates_the_toughness(mode):
    """Mode I / II paths to full separation: int t dg = G_Ic / G_IIc within 0.5 % (the
    trapezoidal rule on 1000 steps is exact on the linear pieces; the error comes from the two
    steps holding a kink, ~1e-5), and the tracked dissipated energy equals it (closed form,
    rel. 1e-9); the traction at the onset displacement is the strength (rel. 1e-12) and the
    path never exceeds it."""
    law = bilinear()
    direction = {"I": [1.0, 0.0], "II": [0.0, 1.0], "III": [0.0, 0.0, -1.0]}[mode]
    toughness = law.mode_i_toughness if mode == "I" else law.mode_ii_toughness
    _, final = law.onset_and_final(0.0 if mode == "I" else 1.0)
    jumps = proportional(direction, 1.1 * final, 1000)
    tractions, states = run_path(law, jumps)
    assert states[-1]["damage"][0] == 1.0
    np.testing.assert_allclose(work(jumps, tractions), toughness, rtol=5e-3)
    np.testing.assert_allclose(states[-1]["dissipated_energy"][0], toughness, rtol=1e-9)
    strength = law.normal_strength if mode == "I" else law.shear_strength
    onset, _ = law.onset_and_final(0.0 if mode == "I" else 1.0)
    peak, _, _ = law.update(onset * jumps[-1:] / np.linalg.norm(jumps[-1]),
                            law.initial_state(1), 1.0)
    np.testing.assert_allclose(np.abs(peak).max(), strength, rtol=1e-12)
    assert np.abs(tractions).max() <= strength * (1.0 + 1e-12)


@pytest.mark.parametrize("eta", [2.0, 1.45])
@pytest.mark.parametrize("mode_ratio", [0.1, 0.3, 0.5, 0.8, 0.95])
@pytest.mark.parametrize("dim", [2, 3])
def test_bilinear_mixed_mode_dissipates_the_bk_toughness(eta, mode_ratio, dim):
    """Proportional mixed-mode path with G_II/G_T = B: int t . dg = G_Ic + (G_IIc - G_Ic) B^eta
    within 1 % (trapezoidal rule, 1000 steps: actual error ~1e-5); the tracked dissipated
    energy equals it (closed form, rel. 1e-9); the traction at the mixed-mode onset
    displacement satisfies the quadratic criterion (rel. 1e-12)."""
    law = bilinear(bk_exponent=eta)
    onset, final = law.onset_and_final(mode_ratio)
    jumps = proportional(mixed_direction(mode_ratio, dim), 1.1 * final, 1000)
    tractions, states = run_path(law, jumps)
    expected = law.mode_i_toughness + (law.mode_ii_toughness - law.mode_i_toughness) * (
        mode_ratio ** eta)
    np.testing.assert_allclose(work(jumps, tractions), expected, rtol=1e-2)
    np.testing.assert_allclose(states[-1]["dissipated_energy"][0], expected, rtol=1e-9)
    # the onset follows the quadratic criterion (t_n/N)^2 + (t_s/S)^2 = 1 at the peak
    peak, _, new = law.update(onset * mixed_direction(mode_ratio, dim)[None, :],
                              law.initial_state(1), 1.0)
    assert new["damage"][0] <= 1e-12
    peak = peak[0]
    criterion = (peak[0] / law.normal_strength) ** 2 + np.sum(
        (peak[1:] / law.shear_strength) ** 2)
    np.testing.assert_allclose(criterion, 1.0, rtol=1e-12)


# ================================================================== bilinear: irreversibility
@pytest.mark.parametrize("direction", [[1.0, 0.0], [1.0, 0.8], [0.0, 1.0]])
def test_bilinear_unloads_to_the_origin_and_reloads_along_the_secant(direction):
    """After partial damage, unloading and reloading are linear with the secant stiffness
    (1 - d) K (rel. 1e-12: the same arithmetic), damage is frozen, and beyond the previous
    maximum the response rejoins the monotonic envelope (rel. 1e-12)."""
    law = bilinear()
    ratio = np.sum(np.asarray(direction)[1:] ** 2) / np.sum(np.asarray(direction) ** 2)
    onset, final = law.onset_and_final(ratio)
    peak = 0.2 * final
    up = proportional(direction, peak, 40)
    tractions, states = run_path(law, up)
    damage = states[-1]["damage"][0]
    assert 0.3 < damage < 0.95
    down = up[::-1][1:]
    down = np.vstack([down, 0.0 * up[0], up])            # to the origin and back up
    further = proportional(direction, 0.6 * final, 80)[40:]
    path = np.vstack([down, further])
    t2, s2 = run_path(law, path, state=states[-1])
    n_cycle = down.shape[0]
    secant = (1.0 - damage) * law.penalty_stiffness
    np.testing.assert_allclose(t2[:n_cycle], secant * path[:n_cycle], rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal([s["damage"][0] for s in s2[:n_cycle]], damage)
    monotonic, _ = run_path(law, np.vstack([up, further]))
    np.testing.assert_allclose(t2[n_cycle:], monotonic[40:], rtol=1e-12)


def test_bilinear_compression_after_full_damage_is_contact():
    """A fully separated interface still resists interpenetration, t_n = K g_n (exact), and
    carries no shear (C&D: no friction in the law)."""
    law = bilinear()
    _, final = law.onset_and_final(0.0)
    _, states = run_path(law, proportional([1.0, 0.0], 1.2 * final, 50))
    assert states[-1]["damage"][0] == 1.0
    jump = np.array([[-3e-3, 1e-2], [-1e-4, 0.0], [5e-3, 2e-3]])
    state = {key: np.repeat(value, 3, axis=0) for key, value in states[-1].items()}
    traction, tangent, new = law.update(jump, state, 1.0)
    np.testing.assert_array_equal(traction[:2, 0], law.penalty_stiffness * jump[:2, 0])
    np.testing.assert_array_equal(traction[:, 1], 0.0)
    np.testing.assert_array_equal(traction[2], 0.0)
    np.testing.assert_array_equal(tangent[:2, 0, 0], law.penalty_stiffness)
    np.testing.assert_array_equal(new["damage"], 1.0)
    mask = in_contact(jump, traction)
    np.testing.assert_array_equal(mask, [True, True, False])


def test_bilinear_compression_does_not_damage_and_shear_under_compression_softens_in_mode_ii():
    """Pure compression leaves d = 0 (exact); shear under compression follows the mode II
    envelope exactly as pure shear does (rel. 1e-12), with t_n = K g_n."""
    law = bilinear()
    _, _, new = law.update(np.array([[-0.05, 0.0]]), law.initial_state(1), 1.0)
    assert new["damage"][0] == 0.0
    shear = proportional([0.0, 1.0], 0.05, 60)
    pressed = shear + np.array([-1e-3, 0.0])
    t_shear, _ = run_path(law, shear)
    t_pressed, _ = run_path(law, pressed)
    np.testing.assert_allclose(t_pressed[:, 1], t_shear[:, 1], rtol=1e-12)
    np.testing.assert_allclose(t_pressed[:, 0], -10.0, rtol=1e-12)


# ================================================================== bilinear: viscosity
def test_bilinear_viscous_regularisation():
    """viscosity / dt = 1e-12: same tractions as the inviscid law (rel. 1e-9, the relaxation
    error is ~1e-12 of the damage); viscosity / dt = 10: damage lags the inviscid one and the
    traction lies above the envelope during softening; holding the jump relaxes d_v to d
    (backward Euler, factor (1 + dt/eta)^-1 per step: 200 steps of dt/eta = 0.1 -> 5e-9)."""
    _, final = bilinear().onset_and_final(0.5)
    path = proportional(mixed_direction(0.5), 0.5 * final, 200)
    inviscid, states_0 = run_path(bilinear(), path, dt=1.0)
    nearly, _ = run_path(bilinear(viscosity=1e-12), path, dt=1.0)
    np.testing.assert_allclose(nearly, inviscid, rtol=1e-9, atol=1e-12)

    slow = bilinear(viscosity=10.0)
    lagging, states = run_path(slow, path, dt=1.0)
    d_v = np.array([s["damage"][0] for s in states])
    d = np.array([s["damage_inviscid"][0] for s in states])
    np.testing.assert_allclose(d, [s["damage"][0] for s in states_0], rtol=1e-12)
    softening = d > 0.05
    assert np.all(d_v[softening] < d[softening])
    assert np.all(np.diff(d_v) >= 0.0)
    assert np.all(np.linalg.norm(lagging[softening], axis=1)
                  > np.linalg.norm(inviscid[softening], axis=1))
    hold = np.repeat(path[-1:], 200, axis=0)
    _, held = run_path(slow, hold, dt=1.0, state=states[-1])
    np.testing.assert_allclose(held[-1]["damage"][0], d[-1], rtol=1e-7)


# ================================================================== exponential
def test_exponential_peak_and_energy():
    """Peak traction = sigma_max (at Delta = delta_c exactly: rel. 1e-12; on a 2000-step path
    within 0.5 %), and mode I, mode II and mixed paths to 40 delta_c dissipate G_c within 0.5 %
    (missing tail 41 e^-40 G_c ~ 2e-16, trapezoidal error ~5e-5)."""
    for beta in (1.0, 0.7):
        law = exponential(shear_weight=beta)
        dc = law.critical_opening
        traction, _, _ = law.update(np.array([[dc, 0.0]]), law.initial_state(1), 1.0)
        np.testing.assert_allclose(traction[0, 0], law.strength, rtol=1e-12)
        for direction in ([1.0, 0.0], [0.0, 1.0], [0.6, 0.8], [0.5, 0.5, -0.7]):
            jumps = proportional(direction, 40.0 * dc / min(beta, 1.0), 2000)
            tractions, states = run_path(law, jumps)
            np.testing.assert_allclose(work(jumps, tractions), law.toughness, rtol=5e-3)
            np.testing.assert_allclose(states[-1]["dissipated_energy"][0], law.toughness,
                                       rtol=5e-3)
            if direction == [1.0, 0.0]:
                np.testing.assert_allclose(tractions[:, 0].max(), law.strength, rtol=5e-3)


def test_exponential_irreversibility_and_compression():
    """Unloading is linear to the origin with the secant stiffness K_0 exp(-Delta_max/delta_c)
    and reloading follows it, then rejoins the envelope (rel. 1e-12); in compression
    t_n = k_c g_n whatever the damage (exact)."""
    law = exponential(compression_stiffness=5e4)
    dc = law.critical_opening
    direction = [0.8, 0.6]
    up = proportional(direction, 2.0 * dc, 40)
    _, states = run_path(law, up)
    secant = law.initial_stiffness * np.exp(-2.0)
    np.testing.assert_allclose(states[-1]["damage"][0], 1.0 - np.exp(-2.0), rtol=1e-12)
    cycle = np.vstack([up[::-1][1:], 0.0 * up[:1], up])
    further = proportional(direction, 4.0 * dc, 80)[40:]
    path = np.vstack([cycle, further])
    tractions, _ = run_path(law, path, state=states[-1])
    n = cycle.shape[0]
    np.testing.assert_allclose(tractions[:n], secant * path[:n], rtol=1e-12, atol=1e-12)
    monotonic, _ = run_path(law, np.vstack([up, further]))
    np.testing.assert_allclose(tractions[n:], monotonic[40:], rtol=1e-12)
    jump = np.array([[-1e-3, 0.0], [-1e-3, 0.5 * dc]])
    state = {key: np.repeat(value, 2, axis=0) for key, value in states[-1].items()}
    traction, _, _ = law.update(jump, state, 1.0)
    np.testing.assert_array_equal(traction[:, 0], 5e4 * jump[:, 0])
    np.testing.assert_allclose(traction[1, 1], secant * 0.5 * dc, rtol=1e-12)
