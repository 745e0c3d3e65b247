"""Material-point verification of the interface (traction-separation) laws (pure NumPy, seconds).

Every check states its tolerance and why. Units: mm, MPa, N/mm.
"""
from __future__ import annotations

import numpy as np
import pytest

from nipstack.materials.cohesive_bilinear import BilinearCohesive
from nipstack.materials.cohesive_exponential import ExponentialCohesive
from nipstack.materials.interface_base import contact_fraction, in_contact, split_jump
from nipstack.materials.interface_bonded import BondedInterface
from nipstack.materials.interface_contact import FrictionalContact

# Bilinear: onset 1.0e-3 mm (mode I) / 1.5e-3 mm (shear), final 0.04 mm / 0.08 mm.
BILINEAR = dict(penalty_stiffness=1.0e4, normal_strength=10.0, shear_strength=15.0,
                mode_i_toughness=0.2, mode_ii_toughness=0.6, bk_exponent=2.0)
# Exponential: delta_c = G_c / (e sigma_max) = 3.68e-3 mm.
EXPONENTIAL = dict(strength=20.0, toughness=0.2)
CONTACT = dict(normal_stiffness=1.0e5, tangential_stiffness=2.0e4, friction_coefficient=0.3)


def bilinear(**changes):
    return BilinearCohesive(**{**BILINEAR, **changes})


def exponential(**changes):
    return ExponentialCohesive(**{**EXPONENTIAL, **changes})


def contact(**changes):
    return FrictionalContact(**{**CONTACT, **changes})


def tangent_error(law, jump, state, dt=1.0, step=1e-9, reference=None):
    """Per-point max |D - D_fd| / max |D| with central differences of absolute step `step` mm
    (1e-9 mm is ~1e-6 of the smallest characteristic opening here: truncation ~1e-12 and
    round-off ~1e-16 / 1e-6 = 1e-10, both far below the 1e-6 asserted). `reference`
    replaces max |D| where the exact tangent is zero (open contact, full damage)."""
    jump = np.asarray(jump, dtype=float)
    _, tangent, _ = law.update(jump, state, dt)
    numeric = np.empty_like(tangent)
    for j in range(jump.shape[1]):
        delta = np.zeros(jump.shape[1])
        delta[j] = step
        plus, _, _ = law.update(jump + delta, state, dt)
        minus, _, _ = law.update(jump - delta, state, dt)
        numeric[:, :, j] = (plus - minus) / (2.0 * step)
    scale = np.abs(tangent).max(axis=(1, 2))
    if reference is not None:
        scale = np.where(scale > 0.0, scale, reference)
    return np.abs(tangent - numeric).max(axis=(1, 2)) / scale


def run_path(law, jumps, dt=1.0, state=None):
    """One point through a sequence of jumps (steps, m); returns tractions and the states."""
    jumps = np.asarray(jumps, dtype=float)
    state = law.initial_state(1) if state is None else state
    tractions, states = [], []
    for jump in jumps:
        traction, _, state = law.update(jump[None, :], state, dt)
        tractions.append(traction[0])
        states.append(state)
    return np.array(tractions), states


def work(jumps, tractions):
    """Trapezoidal int t . dg along a path, starting from a zero jump and zero traction."""
    g = np.vstack([np.zeros(jumps.shape[1]), jumps])
    t = np.vstack([np.zeros(tractions.shape[1]), tractions])
    return float(np.sum(0.5 * (t[1:] + t[:-1]) * np.diff(g, axis=0)))


def proportional(direction, stop, steps):
    direction = np.asarray(direction, dtype=float)
    direction = direction / np.linalg.norm(direction)
    return np.linspace(0.0, stop, steps + 1)[1:, None] * direction


def mixed_direction(mode_ratio, dim=2):
    """Unit jump direction with G_II / G_T = B for equal penalties: |g_t|^2 / |g|^2 = B."""
    normal, shear = np.sqrt(1.0 - mode_ratio), np.sqrt(mode_ratio)
    if dim == 2:
        return np.array([normal, shear])
    return np.array([normal, 0.6 * shear, -0.8 * shear])


# ================================================================== common contract
ALL_LAWS = [bilinear(), bilinear(viscosity=0.5), exponential(), contact(),
            contact(friction_coefficient=0.0), BondedInterface(normal_stiffness=1.0e4)]


@pytest.mark.parametrize("law", ALL_LAWS, ids=lambda law: law.name)
@pytest.mark.parametrize("dim", [2, 3])
def test_contract_shapes_outputs_and_state_not_modified(law, dim):
    """Shapes follow the contract, output fields are state entries, and update never writes
    into the state it is given (exact comparison)."""
    rng = np.random.default_rng(3)
    jump = 2e-3 * rng.standard_normal((7, dim))
    state = law.update(jump, law.initial_state(7), 0.1)[2]
    before = {key: np.array(value, copy=True) for key, value in state.items()}
    traction, tangent, new_state = law.update(1.5 * jump, state, 0.1)
    assert traction.shape == (7, dim) and tangent.shape == (7, dim, dim)
    assert set(law.output_fields) <= set(new_state)
    for key, value in before.items():
        np.testing.assert_array_equal(state[key], value)
        assert new_state[key].shape == value.shape
        assert new_state[key] is not state[key]


def test_bad_jump_shape_is_refused():
    with pytest.raises(ValueError, match="jump must have shape"):
        bilinear().update(np.zeros((3, 4)), bilinear().initial_state(3), 1.0)
    with pytest.raises(ValueError, match="jump must have shape"):
        split_jump(np.zeros(3))
    with pytest.raises(ValueError, match="state has no entry 'lambda_n'"):
        contact().update(np.zeros((2, 2)), {}, 1.0)


@pytest.mark.parametrize("factory, changes, parameter", [
    (bilinear, {"penalty_stiffness": 0.0}, "penalty_stiffness"),
    (bilinear, {"normal_strength": -1.0}, "normal_strength"),
    (bilinear, {"shear_strength": 0.0}, "shear_strength"),
    (bilinear, {"mode_i_toughness": 0.0}, "mode_i_toughness"),
    (bilinear, {"mode_i_toughness": 0.004}, "mode_i_toughness must exceed"),
    (bilinear, {"mode_ii_toughness": 0.01}, "mode_ii_toughness must exceed"),
    (bilinear, {"bk_exponent": 0.0}, "bk_exponent"),
    (bilinear, {"viscosity": -1.0}, "viscosity"),
    (bilinear, {"max_damage": 1.5}, "max_damage"),
    (bilinear, {"mode_i_toughness": 0.0051, "mode_ii_toughness": 2.0, "bk_exponent": 20.0},
     "snap-back"),
    (exponential, {"strength": 0.0}, "strength"),
    (exponential, {"toughness": -0.1}, "toughness"),
    (exponential, {"shear_weight": 0.0}, "shear_weight"),
    (exponential, {"compression_stiffness": -1.0}, "compression_stiffness"),
    (contact, {"normal_stiffness": 0.0}, "normal_stiffness"),
    (contact, {"tangential_stiffness": -1.0}, "tangential_stiffness"),
    (contact, {"friction_coefficient": -0.1}, "friction_coefficient"),
    (BondedInterface, {"normal_stiffness": 0.0}, "normal_stiffness"),
])
def test_invalid_parameters_name_the_parameter(factory, changes, parameter):
    with pytest.raises(ValueError, match=parameter):
        factory(**changes)


def test_contact_helpers():
    """in_contact: closed and compressed; contact_fraction: weighted area fraction (exact)."""
    jump = np.array([[-1e-4, 0.0], [0.0, 1e-3], [1e-4, 0.0], [-1e-6, 0.0]])
    traction = np.array([[-5.0, 0.0], [0.0, 0.0], [0.0, 0.0], [-1.0, 0.3]])
    mask = in_contact(jump, traction)
    np.testing.assert_array_equal(mask, [True, False, False, True])
    assert contact_fraction(mask) == 0.5
    assert contact_fraction(mask, weights=[1.0, 1.0, 1.0, 3.0]) == pytest.approx(4.0 / 6.0)
    assert contact_fraction(np.array([], dtype=bool)) == 0.0
    # augmented Lagrangian: compressed with a round-off positive gap counts with a tolerance
    assert not in_contact([[1e-14, 0.0]], [[-3.0, 0.0]])[0]
    assert in_contact([[1e-14, 0.0]], [[-3.0, 0.0]], gap_tolerance=1e-12)[0]


# ================================================================== tangents vs finite differences
def bilinear_onset_jump(law, direction, factor):
    """factor x the onset displacement along a direction (mode ratio taken from it)."""
    direction = np.asarray(direction, dtype=float) / np.linalg.norm(direction)
    ratio = np.sum(direction[1:] ** 2) / (max(direction[0], 0.0) ** 2
                                          + np.sum(direction[1:] ** 2))
    onset, _ = law.onset_and_final(ratio)
    return factor * onset * direction


@pytest.mark.parametrize("eta", [2.0, 1.45])
@pytest.mark.parametrize("dim", [2, 3])
def test_bilinear_tangent_all_regimes(eta, dim):
    """Elastic, softening (mode I, II, mixed, compression + shear), unloading, compression,
    fully damaged and viscous points: relative error <= 1e-6 (see tangent_error)."""
    law = bilinear(bk_exponent=eta)
    if dim == 2:
        dirs = {"I": [1.0, 0.0], "II-": [-0.01, 1.0], "II+": [0.01, -1.0],
                "mixed": [1.0, 0.7], "mixed_b": [0.3, -1.0], "comp": [-0.4, 1.0]}
    else:
        dirs = {"I": [1.0, 0.0, 0.0], "II-": [-0.01, 0.6, -0.8], "II+": [0.01, 0.6, 0.8],
                "mixed": [1.0, 0.5, 0.4], "mixed_b": [0.3, -1.0, 0.2], "comp": [-0.4, 0.6, 0.7]}
    # (g_n = 0 exactly is a kink between the contact and the damaged tension branch, so the
    # shear points carry a small normal jump, 1 % of the shear, on either side)
    jumps, states = [], []
    # elastic (no damage) in every mode
    for direction in dirs.values():
        jumps.append(bilinear_onset_jump(law, direction, 0.6))
        states.append({})
    # softening from a virgin state, and from a state already damaged a little
    for factor in (2.0, 6.0):
        for direction in dirs.values():
            jumps.append(bilinear_onset_jump(law, direction, factor))
            states.append({})
    for direction in dirs.values():
        jumps.append(bilinear_onset_jump(law, direction, 10.0))
        states.append({"damage": 0.5, "damage_inviscid": 0.5})
    # unloading with damage 0.7 (elastic with the damaged secant stiffness)
    for direction in dirs.values():
        jumps.append(bilinear_onset_jump(law, direction, 1.5))
        states.append({"damage": 0.7, "damage_inviscid": 0.7})
    # pure compression, undamaged and damaged
    jumps.append(np.eye(dim)[0] * -2e-3)
    states.append({"damage": 0.8, "damage_inviscid": 0.8})
    jumps.append(np.eye(dim)[0] * -2e-3)
    states.append({})
    n = len(jumps)
    state = law.initial_state(n)
    for i, values in enumerate(states):
        for key, value in values.items():
            state[key][i] = value
    jump = np.array(jumps)
    error = tangent_error(law, jump, state)
    assert error.max() <= 1e-6, error
    # the softening points really are softening (damage grows) and unloading ones are not
    _, _, new = law.update(jump, state, 1.0)
    k = len(dirs)
    assert np.all(new["damage"][k:4 * k] > state["damage"][k:4 * k])
    np.testing.assert_array_equal(new["damage"][4 * k:], state["damage"][4 * k:])

    # fully damaged: zero tangent in opening/shear (normalised by K)
    full = law.initial_state(2)
    full["damage"][:] = 1.0
    full["damage_inviscid"][:] = 1.0
    open_jump = np.array([bilinear_onset_jump(law, dirs["mixed"], 80.0),
                          bilinear_onset_jump(law, dirs["II+"], 80.0)])
    assert tangent_error(law, open_jump, full, reference=law.penalty_stiffness).max() <= 1e-6

    # viscous regularisation: softening with dt / viscosity = 0.2
    viscous = bilinear(bk_exponent=eta, viscosity=0.5)
    vstate = viscous.initial_state(n)
    for i, values in enumerate(states):
        for key, value in values.items():
            vstate[key][i] = value
    assert tangent_error(viscous, jump, vstate, dt=0.1).max() <= 1e-6


def test_bilinear_mixed_mode_tangent_is_non_symmetric():
    """The damage derivative makes the mixed-mode softening tangent non-symmetric
    (asymmetry > 1 % of the norm: a symmetric tangent here would be a wrong one)."""
    law = bilinear()
    jump = bilinear_onset_jump(law, [1.0, 0.7], 5.0)[None, :]
    _, tangent, _ = law.update(jump, law.initial_state(1), 1.0)
    assert abs(tangent[0, 0, 1] - tangent[0, 1, 0]) > 1e-2 * np.abs(tangent).max()


@pytest.mark.parametrize("dim", [2, 3])
def test_exponential_tangent_all_regimes(dim):
    """Loading (mode I, II, mixed, compression + shear), unloading, pure compression, with
    shear weights 1 and 0.7: relative error <= 1e-6."""
    for beta in (1.0, 0.7):
        law = exponential(shear_weight=beta, compression_stiffness=3e4)
        dc = law.critical_opening
        base = [[1.0, 0.0, 0.0], [-0.01, 0.6, 0.8], [0.01, -0.6, 0.8], [1.0, 0.5, -0.3],
                [-0.5, 0.4, 0.9], [0.7, -0.2, 0.6]]            # no point at the g_n = 0 kink
        directions = np.array(base)[:, :dim]
        directions /= np.linalg.norm(directions, axis=1)[:, None]
        jump = np.vstack([0.3 * dc * directions, 2.5 * dc * directions, 0.8 * dc * directions,
                          [np.eye(dim)[0] * -0.01 * dc]])
        state = law.initial_state(jump.shape[0])
        state["max_opening"][12:18] = 3.0 * dc          # unloading points
        state["max_opening"][18] = 1.0 * dc             # compression after damage
        error = tangent_error(law, jump, state, step=1e-9)
        assert error.max() <= 1e-6, error


@pytest.mark.parametrize("dim", [2, 3])
def test_contact_tangent_all_regimes(dim):
    """Open, stick, slip, augmented multiplier with a positive gap, frictionless:
    relative error <= 1e-6 (zero tangents normalised by k_n)."""
    law = contact()
    kn, kt, mu = law.normal_stiffness, law.tangential_stiffness, law.friction_coefficient
    g_press = -1e-4                                    # t_n = -10 MPa, stick limit 3 MPa
    limit_slip = mu * kn * abs(g_press) / kt           # 1.5e-4 mm of elastic stick
    t1 = np.array([1.0, 0.0]) if dim == 2 else np.array([0.6, 0.8])
    t2 = np.array([-1.0, 0.0]) if dim == 2 else np.array([-0.8, 0.3]) / np.hypot(0.8, 0.3)
    t1, t2 = t1[:dim - 1], t2[:dim - 1]
    rows = [
        np.concatenate([[2e-4], 3e-4 * t1]),                    # open
        np.concatenate([[g_press], 0.5 * limit_slip * t1]),     # stick
        np.concatenate([[g_press], 3.0 * limit_slip * t1]),     # slip
        np.concatenate([[g_press], 2.0 * limit_slip * t2]),     # slip, other direction
        np.concatenate([[2e-5], 0.2 * limit_slip * t1]),        # AL: lambda = -5 MPa, gap > 0
        np.concatenate([[2e-5], 5.0 * limit_slip * t2]),        # AL slip
    ]
    jump = np.array(rows)
    state = law.initial_state(len(rows))
    state["lambda_n"][4:] = -5.0
    state["plastic_slip"][3, :dim - 1] = 0.5 * limit_slip * t2  # slip from a shifted origin
    error = tangent_error(law, jump, state, reference=kn)
    assert error.max() <= 1e-6, error
    _, tangent, new = law.update(jump, state, 1.0)
    np.testing.assert_array_equal(new["slipping"], [0, 0, 1, 1, 0, 1])
    if dim == 3:      # slip tangent is non-symmetric (d t_t / d g_n != 0 = d t_n / d g_t)
        assert np.abs(tangent[2, 1:, 0]).max() > 0.0 and np.all(tangent[2, 0, 1:] == 0.0)
    frictionless = contact(friction_coefficient=0.0)
    assert tangent_error(frictionless, jump, state, reference=kn).max() <= 1e-6
    bonded = BondedInterface(normal_stiffness=1e4, tangential_stiffness=3e3)
    assert tangent_error(bonded, jump, bonded.initial_state(len(rows))).max() <= 1e-6


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


# ================================================================== contact
def test_contact_penalty_pressure_and_opening():
    """t_n = k_n min(g_n, 0), no traction when open, contact pressure = -t_n (exact)."""
    law = contact()
    jump = np.array([[-2e-4, 0.0], [0.0, 0.0], [3e-4, 1e-3]])
    traction, _, new = law.update(jump, law.initial_state(3), 1.0)
    np.testing.assert_array_equal(traction[:, 0], [-20.0, 0.0, 0.0])
    np.testing.assert_array_equal(traction[:, 1], 0.0)
    np.testing.assert_array_equal(new["contact_pressure"], [20.0, 0.0, 0.0])
    np.testing.assert_array_equal(in_contact(jump, traction), [True, False, False])


@pytest.mark.parametrize("spring_ratio", [0.1, 1.0])
def test_augmented_lagrangian_removes_the_penetration(spring_ratio):
    """A point pressed by p = 50 MPa onto the interface with a parallel spring k_s (the rest of
    the structure): equilibrium t_n(g) + k_s g + p = 0 solved by Newton with the law's tangent
    (to 1e-14 p), then Uzawa updates. The penetration falls below 1e-10 of the pure-penalty
    penetration p / k_n, t_n -> -p (rel. 1e-10), in at most 40 augmentations (the contraction
    factor is k_s / (k_n + k_s))."""
    law = contact()
    p, k_s = 50.0, spring_ratio * law.normal_stiffness
    state = law.initial_state(1)
    g = np.zeros(1)
    penalty_penetration = p / law.normal_stiffness
    history = []
    for _ in range(40):
        for _newton in range(20):
            jump = np.array([[g[0], 0.0]])
            traction, tangent, _ = law.update(jump, state, 1.0)
            residual = traction[0, 0] + k_s * g[0] + p
            if abs(residual) < 1e-14 * p:
                break
            g = g - residual / (tangent[0, 0, 0] + k_s)
        history.append(abs(min(g[0], 0.0)) / penalty_penetration)
        if history[-1] < 1e-10:
            break
        state = law.augment(jump, state)
    assert history[0] == pytest.approx(1.0 / (1.0 + spring_ratio), rel=1e-12)
    assert history[-1] < 1e-10, history
    assert np.all(np.diff(history) < 0.0)
    traction, _, _ = law.update(np.array([[g[0], 0.0]]), state, 1.0)
    np.testing.assert_allclose(traction[0, 0], -p, rtol=1e-10)
    np.testing.assert_allclose(state["lambda_n"][0], -p, rtol=1e-9)


def test_augment_changes_only_the_multiplier():
    law = contact()
    state = law.initial_state(2)
    state["plastic_slip"][:, 0] = [1e-4, -2e-4]
    new = law.augment(np.array([[-1e-4, 0.0], [1e-4, 0.0]]), state)
    np.testing.assert_array_equal(new["lambda_n"], [-10.0, 0.0])
    np.testing.assert_array_equal(new["plastic_slip"], state["plastic_slip"])
    np.testing.assert_array_equal(state["lambda_n"], 0.0)


def test_coulomb_stick_slip_and_reversal_2d():
    """At constant pressure p: stick (t_t = k_t g_t) while |t_t| < mu p, slip at |t_t| = mu p
    (rel. 1e-12), reversal sticks again over 2 mu p / k_t of travel then slips the other way;
    the accumulated slip equals the plastic travel (rel. 1e-12)."""
    law = contact()
    kn, kt, mu = law.normal_stiffness, law.tangential_stiffness, law.friction_coefficient
    g_n = -1e-4
    p = -kn * g_n
    stick = mu * p / kt
    top = 4.1 * stick                                   # no step lands on a stick limit
    forward = np.linspace(0.0, top, 41)[1:]
    backward = np.linspace(top, -top, 81)[1:]
    g_t = np.concatenate([forward, backward])
    jumps = np.column_stack([np.full_like(g_t, g_n), g_t])
    tractions, states = run_path(law, jumps)
    np.testing.assert_allclose(tractions[:, 0], -p, rtol=1e-12)
    t_t = tractions[:, 1]
    assert np.all(np.abs(t_t) <= mu * p * (1.0 + 1e-12))
    first = g_t[:40] < stick
    np.testing.assert_allclose(t_t[:40][first], kt * g_t[:40][first], rtol=1e-12)
    np.testing.assert_allclose(t_t[:40][~first], mu * p, rtol=1e-12)
    back = g_t[40:]
    back_stick = back > top - 2.0 * stick
    np.testing.assert_allclose(t_t[40:][back_stick],
                               mu * p - kt * (top - back[back_stick]),
                               rtol=1e-12, atol=1e-12 * mu * p)
    np.testing.assert_allclose(t_t[40:][~back_stick], -mu * p, rtol=1e-12)
    slipping = np.array([s["slipping"][0] for s in states])
    np.testing.assert_array_equal(slipping[:40], ~first)
    np.testing.assert_array_equal(slipping[40:], ~back_stick)
    plastic = (top - stick) + (2.0 * top - 2.0 * stick)   # forward, then backward travel
    np.testing.assert_allclose(states[-1]["accumulated_slip"][0], plastic, rtol=1e-12)
    np.testing.assert_allclose(states[-1]["plastic_slip"][0, 0], -(top - stick), rtol=1e-12)


def test_coulomb_slip_direction_3d_and_frictionless():
    """3D: the slip traction is mu p along the trial direction (rel. 1e-12); opening releases
    the shear and re-closing sticks from the new position; mu = 0 gives zero shear (exact)."""
    law = contact()
    kn, kt, mu = law.normal_stiffness, law.tangential_stiffness, law.friction_coefficient
    g_n, p = -1e-4, 1e-4 * kn
    stick = mu * p / kt
    direction = np.array([0.6, -0.8])
    jumps = np.array([[g_n, *(0.5 * stick * direction)], [g_n, *(5.0 * stick * direction)],
                      [2e-4, *(8.0 * stick * direction)], [g_n, *(8.0 * stick * direction)],
                      [g_n, *(8.0 * stick * direction + [0.5 * stick, 0.0])]])
    tractions, states = run_path(law, jumps)
    np.testing.assert_allclose(tractions[0, 1:], kt * 0.5 * stick * direction, rtol=1e-12)
    np.testing.assert_allclose(tractions[1, 1:], mu * p * direction, rtol=1e-12)
    np.testing.assert_array_equal(tractions[2], 0.0)
    np.testing.assert_allclose(tractions[3, 1:], 0.0, atol=1e-12)
    np.testing.assert_allclose(tractions[4, 1:], [kt * 0.5 * stick, 0.0], rtol=1e-12,
                               atol=1e-12)
    frictionless = contact(friction_coefficient=0.0)
    tractions, states = run_path(frictionless, jumps)
    np.testing.assert_array_equal(tractions[:, 1:], 0.0)
    np.testing.assert_allclose(tractions[:, 0], [-p, -p, 0.0, -p, -p], rtol=1e-12)


def test_bonded_interface_is_linear():
    law = BondedInterface(normal_stiffness=1e4, tangential_stiffness=2e3)
    jump = np.array([[1e-3, -2e-3, 5e-4], [-1e-3, 0.0, 0.0]])
    traction, tangent, _ = law.update(jump, law.initial_state(2), 1.0)
    np.testing.assert_allclose(traction, jump * [1e4, 2e3, 2e3], rtol=1e-15)
    np.testing.assert_array_equal(tangent[0], np.diag([1e4, 2e3, 2e3]))
