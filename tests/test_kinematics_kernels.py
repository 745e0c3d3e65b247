"""The compiled finite-strain kernels (what `kinematics.stress_update` runs) against the NumPy
reference (`kinematics.stress_update_numpy`).

Same P, dP/dF, tau and new plastic metric to 1e-12 (relative to the largest entry) for every
kind of law, in 3D and plane strain, on virgin and on plastically deformed points, including
repeated principal stretches (the Daleckii-Krein divided differences at a tie).
"""
from __future__ import annotations

import numpy as np
import pytest

from nipstack import kinematics
from nipstack.kinematics_kernels import stress_update_compiled
from nipstack.materials.cards import load_card

CARDS = ["aluminium_foil", "nmc_cathode", "mcc_avicel_ph102", "lithium_metal_creep", "llzo",
         "polymer_pad_viscoelastic"]


def _deformations(n: int, plane: bool, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    F = np.eye(3) + 0.06 * rng.standard_normal((n, 3, 3))
    F[:, 2, 2] -= 0.1                       # some compaction
    if plane:
        F[:, 2, :2] = F[:, :2, 2] = 0.0
        F[:, 2, 2] = 1.0
    F[0] = np.eye(3)                        # b = I: three equal stretches
    F[1] = np.diag([0.9, 0.9, 1.0])         # two equal
    F[2] = np.diag([0.8, 1.0, 1.0])
    return F


def _relative(a, b) -> float:
    return float(np.abs(a - b).max() / max(np.abs(a).max(), 1e-300))


@pytest.mark.parametrize("plane", [False, True], ids=["3d", "plane-strain"])
@pytest.mark.parametrize("card", CARDS)
def test_compiled_update_equals_numpy(card, plane):
    law = load_card(card)
    n = 200
    F = _deformations(n, plane, seed=3)
    metric = kinematics.initial_plastic_metric_inverse(n)
    history = law.initial_state(n)
    for step in range(3):                   # the second and third start from plastic states
        reference = kinematics.stress_update_numpy(law, F, metric, history, 0.05)
        compiled = stress_update_compiled(law, F, metric, history, 0.05)
        for name, a, b in zip(("P", "A", "tau", "metric"), reference[:4], compiled[:4]):
            assert _relative(a, b) < 1e-12, (card, step, name, _relative(a, b))
        metric, history = reference[3], reference[4]
        F = F @ (np.eye(3) + np.diag([0.0, 0.0, -0.02]))


@pytest.mark.parametrize("in_plane", [False, True])
def test_stress_without_tangent_is_the_same_stress_and_defers_the_same_tangent(in_plane):
    """A stress-only update (a line-search trial) gives bit-identical P and Cp^-1, and its
    deferred tangent, computed later without a new return map, is bit-identical to the one
    computed at once (the entries a plane-strain mesh reads, if in_plane)."""
    law = load_card("nmc_cathode")
    F = _deformations(50, True, seed=5)
    metric = kinematics.initial_plastic_metric_inverse(50)
    with_tangent = stress_update_compiled(law, F, metric, law.initial_state(50), 0.1,
                                          in_plane=in_plane)
    without = stress_update_compiled(law, F, metric, law.initial_state(50), 0.1,
                                     with_tangent=False, in_plane=in_plane)
    assert np.array_equal(with_tangent[0], without[0])
    assert np.array_equal(with_tangent[3], without[3])
    g = 2 if in_plane else 3
    assert np.array_equal(with_tangent[1][:, :g, :g, :g, :g],
                          without[1].compute()[:, :g, :g, :g, :g])


def test_inverted_element_is_reported():
    law = load_card("llzo")
    F = np.eye(3)[None].repeat(2, axis=0)
    F[1, 2, 2] = 0.0                       # b singular
    with pytest.raises(FloatingPointError, match="not positive definite|inverted"):
        stress_update_compiled(law, F, kinematics.initial_plastic_metric_inverse(2),
                               law.initial_state(2), 0.0)


def test_in_plane_tangent_is_the_plane_block_of_the_full_one():
    """A plane-strain mesh assembles A[:2, :2, :2, :2]; in_plane=True computes just those,
    bit-identical to the full computation."""
    law = load_card("nmc_cathode")
    F = _deformations(100, True, seed=8)
    metric = kinematics.initial_plastic_metric_inverse(100)
    full = stress_update_compiled(law, F, metric, law.initial_state(100), 0.1)[1]
    plane = stress_update_compiled(law, F, metric, law.initial_state(100), 0.1,
                                   in_plane=True)[1]
    assert np.array_equal(full[:, :2, :2, :2, :2], plane[:, :2, :2, :2, :2])


@pytest.mark.parametrize("card", ["aluminium_foil", "nmc_cathode"])
def test_threads_give_bit_identical_updates(card, monkeypatch):
    """The kernels split the points into one chunk per thread (`nipstack.threads`): with 1 and
    with 3 threads (chunks forced small) the stresses, the deferred tangent, the new history and
    a failing point's report are identical to the bit."""
    from nipstack import threads
    law = load_card(card)
    n = 301                                 # not a multiple of the thread count
    F = _deformations(n, True, seed=7)
    metric = kinematics.initial_plastic_metric_inverse(n)
    results = []
    for count in (1, 3):
        monkeypatch.setattr(threads, "_threads", count)
        monkeypatch.setattr(threads, "MIN_POINTS_PER_THREAD", 10)
        assert len(threads.point_chunks(n)) == count
        history = law.initial_state(n)
        P, deferred, tau, new_metric, new_history = stress_update_compiled(
            law, F, metric, history, 0.05, with_tangent=False, in_plane=True)
        results.append((P, deferred.compute(), tau, new_metric, new_history))
    for one, three in zip(*results):
        if isinstance(one, dict):
            for key in one:
                assert np.array_equal(one[key], three[key]), key
        else:
            assert np.array_equal(one, three)


def test_each_thread_gets_a_chunk_spread_over_the_region(monkeypatch):
    """`spread_over_threads` puts every thread-th cell in one block, so that a contiguous chunk
    of points samples the whole region (a plastic zone a few columns wide is shared); one
    thread keeps the order. The first chunk runs on the calling thread, the rest on the pool,
    the results in chunk order. A kernel 4x the cheap ones' cost splits at a quarter of their
    size."""
    import threading

    from nipstack import threads
    cells = np.arange(11, dtype=np.int32)
    monkeypatch.setattr(threads, "_threads", 1)
    assert threads.spread_over_threads(cells) is cells
    monkeypatch.setattr(threads, "_threads", 3)
    spread = threads.spread_over_threads(cells)
    assert spread.tolist() == [0, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8]
    assert sorted(spread.tolist()) == cells.tolist()
    monkeypatch.setattr(threads, "MIN_POINTS_PER_THREAD", 100)
    assert len(threads.point_chunks(299)) == 2 and len(threads.point_chunks(99)) == 1
    assert len(threads.point_chunks(99, cost=4.0)) == 3
    chunks = threads.point_chunks(300)
    who = threads.over_chunks(lambda start: (start, threading.get_ident()), chunks,
                              lambda c: (c.start,))
    assert [start for start, _ in who] == [0, 100, 200]
    assert who[0][1] == threading.get_ident() != who[1][1]


@pytest.mark.parametrize("gdim", [2, 3])
def test_deformation_gradients_embed_the_mesh_gradient_and_give_its_determinant(gdim):
    from nipstack.kinematics_kernels import deformation_gradients
    rng = np.random.default_rng(4)
    gradients = np.eye(gdim) + 0.1 * rng.standard_normal((50, gdim, gdim))
    F, J = np.empty((50, 3, 3)), np.empty(50)
    deformation_gradients(gradients.reshape(50, -1), gdim, F, J)
    expected = np.tile(np.eye(3), (50, 1, 1))
    expected[:, :gdim, :gdim] = gradients
    assert np.array_equal(F, expected)
    assert np.allclose(J, np.linalg.det(expected), rtol=1e-14, atol=0)


def test_point_values_are_scattered_to_their_dofs_and_a_nan_is_reported():
    from nipstack.kinematics_kernels import scatter_point_values
    values = np.arange(4 * 9, dtype=float).reshape(4, 9)
    columns = np.array([0, 1, 3, 4])             # the in-plane entries of a 3x3 P
    dofs = np.array([2, 0, 3, 1])
    out = np.full(16, -1.0)
    assert scatter_point_values(values, columns, dofs, out)
    for p, dof in enumerate(dofs):
        assert np.array_equal(out[4 * dof:4 * dof + 4], values[p, columns])
    values[2, 3] = np.nan
    assert not scatter_point_values(values, columns, dofs, out)
    values[2, 3] = 0.0
    values[2, 2] = np.inf                        # not a column written: not reported
    assert scatter_point_values(values, columns, dofs, out)
