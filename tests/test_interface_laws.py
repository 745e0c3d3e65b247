"""Material-point verification of the interface (traction-separation) laws (seconds):
the contract every law keeps, tangents against finite differences, contact with friction and
the augmented Lagrangian, the bonded interface. The cohesive laws' energies, irreversibility
and viscosity: test_cohesive_laws.py.

Every check states its tolerance and why. Units: mm, MPa, N/mm.
"""
from __future__ import annotations

import numpy as np
import pytest
from interface_law_paths import bilinear, contact, exponential, run_path, tangent_error

from nipstack.materials.interface_base import contact_fraction, in_contact, split_jump
from nipstack.materials.interface_bonded import BondedInterface

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


# ================================================================== contact
@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize("friction", [0.0, 0.3])
def test_compiled_contact_gives_the_numpy_bits(dim, friction, monkeypatch):
    """`update` (the compiled kernel) against `update_numpy` (the reference), over open,
    closed, stick and slip points with augmented multipliers and shifted slip origins, on 1
    and 3 threads: identical to the bit (the kernel repeats NumPy's order of operations)."""
    from nipstack import threads
    law = contact(friction_coefficient=friction)
    rng = np.random.default_rng(5 + dim)
    n = 3000
    state = law.initial_state(n)
    state["lambda_n"][:] = np.minimum(rng.normal(0.0, 5.0, n), 0.0)
    state["plastic_slip"][:, :dim - 1] = rng.normal(0.0, 1e-4, (n, dim - 1))
    state["accumulated_slip"][:] = 1e-4 * rng.random(n)
    jump = rng.normal(0.0, 1e-4, (n, dim))
    jump[:20] = 0.0                                     # exactly touching, no slip
    reference = law.update_numpy(jump, state, 1.0)
    if friction:
        slipping = reference[2]["slipping"]
        closed = reference[0][:, 0] < 0.0
        assert slipping.sum() > 100 and (closed & (slipping == 0.0)).sum() > 100
    for count in (1, 3):
        monkeypatch.setattr(threads, "_threads", count)
        monkeypatch.setattr(threads, "MIN_POINTS_PER_THREAD", 10)
        compiled = law.update(jump, state, 1.0)
        np.testing.assert_array_equal(compiled[0], reference[0])
        np.testing.assert_array_equal(compiled[1], reference[1])
        assert sorted(compiled[2]) == sorted(reference[2])
        for key, value in reference[2].items():
            np.testing.assert_array_equal(compiled[2][key], value, err_msg=key)


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
