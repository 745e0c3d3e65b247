"""The plane-strain kernels (`plane_strain_kernels`, what a 2D mesh's update runs) against the
general compiled kernels (`kinematics_kernels`, themselves held to the NumPy reference in
test_kinematics_kernels.py).

The plane kernels leave out only terms that are exact zeros, so P, the in-plane dP/dF, tau, the
new plastic metric and the law's history must be identical to the bit (zeros compared without
their sign), for every kind of law, over plastic steps, at repeated stretches. A batch that is
not block-diagonal, or a law that returns an out-of-plane shear, must get the general answer.
"""
from __future__ import annotations

import numpy as np
import pytest

from nipstack import kinematics
from nipstack.kinematics_kernels import DeferredTangent, stress_update_compiled
from nipstack.materials.cards import load_card
from nipstack.plane_strain_kernels import (PlaneDeferredMetric, PlaneDeferredTangent,
                                           plane_strain_update)

CARDS = ["aluminium_foil", "nmc_cathode", "mcc_avicel_ph102", "lithium_metal_creep", "llzo",
         "polymer_pad_viscoelastic"]


def _plane_deformations(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    F = np.eye(3) + 0.06 * rng.standard_normal((n, 3, 3))
    F[:, 2, :2] = F[:, :2, 2] = 0.0
    F[:, 2, 2] = 1.0
    F[:, 1, 1] -= 0.15                      # through-thickness compaction
    F[0] = np.eye(3)                        # three equal stretches
    F[1] = np.diag([0.9, 0.9, 1.0])         # two equal in-plane
    F[2] = np.diag([0.8, 1.0, 1.0])         # one in-plane equal to the out-of-plane one
    return F


def _same_bits(a, b) -> bool:
    """Identical arrays, a zero equal to a negative zero."""
    return np.array_equal(np.where(a == 0.0, 0.0, a), np.where(b == 0.0, 0.0, b))


@pytest.mark.parametrize("card", CARDS)
def test_plane_kernels_give_the_general_kernels_bits(card):
    law = load_card(card)
    n = 300
    F = _plane_deformations(n, seed=11)
    metric = kinematics.initial_plastic_metric_inverse(n)
    history = law.initial_state(n)
    for step in range(4):                   # later steps start from plastic states
        general = stress_update_compiled(law, F, metric, history, 0.05, with_tangent=False,
                                         in_plane=True)
        plane = plane_strain_update(law, F, metric, history, 0.05)
        assert isinstance(plane[1], PlaneDeferredTangent)
        for name, a, b in (("P", general[0], plane[0]), ("tau", general[2], plane[2]),
                           ("metric", general[3], plane[3]),
                           ("dP/dF", general[1].compute(), plane[1].compute())):
            assert _same_bits(a, b), (card, step, name, np.abs(a - b).max())
        for key, value in general[4].items():
            assert _same_bits(np.asarray(value), np.asarray(plane[4][key])), (card, step, key)
        deferred = plane_strain_update(law, F, metric, history, 0.05, defer_metric=True)
        assert isinstance(deferred[3], PlaneDeferredMetric)
        assert _same_bits(deferred[3].compute(), plane[3]), (card, step)
        metric, history = plane[3], plane[4]
        F = F @ np.diag([1.0, 0.97, 1.0])


def test_stress_update_takes_the_plane_kernels_with_or_without_tangent():
    law = load_card("nmc_cathode")
    n = 50
    F = _plane_deformations(n, seed=2)
    metric = kinematics.initial_plastic_metric_inverse(n)
    deferred = kinematics.stress_update(law, F, metric, law.initial_state(n), 0.1,
                                        with_tangent=False, in_plane=True)
    assert isinstance(deferred[1], PlaneDeferredTangent)
    at_once = kinematics.stress_update(law, F, metric, law.initial_state(n), 0.1,
                                       in_plane=True)
    general = stress_update_compiled(law, F, metric, law.initial_state(n), 0.1, in_plane=True)
    assert _same_bits(at_once[1][:, :2, :2, :2, :2], general[1][:, :2, :2, :2, :2])
    assert _same_bits(deferred[1].compute(), general[1][:, :2, :2, :2, :2])
    assert _same_bits(at_once[0], general[0])


def test_a_batch_that_is_not_block_diagonal_takes_the_general_kernels():
    law = load_card("aluminium_foil")
    n = 20
    F = _plane_deformations(n, seed=4)
    metric = kinematics.initial_plastic_metric_inverse(n)
    metric[7, 0, 2] = metric[7, 2, 0] = 1e-3         # one point with an out-of-plane shear
    assert plane_strain_update(law, F, metric, law.initial_state(n), 0.0) is None
    result = kinematics.stress_update(law, F, metric, law.initial_state(n), 0.0,
                                      with_tangent=False, in_plane=True)
    assert isinstance(result[1], DeferredTangent)


class _ShearingLaw:
    """An elastic card that also returns an out-of-plane shear stress and strain."""

    def __init__(self):
        self._law = load_card("llzo")

    def update(self, eps_trial, history, dt):
        tau, tangent, eps_e, new_history = self._law.update(eps_trial, history, dt)
        tau, eps_e = tau.copy(), eps_e.copy()
        tau[:, 3] += 1.0
        eps_e[:, 4] += 1e-4
        return tau, tangent, eps_e, new_history


def test_a_law_leaving_the_plane_is_finished_by_the_general_kernels():
    law = _ShearingLaw()
    n = 30
    F = _plane_deformations(n, seed=6)
    metric = kinematics.initial_plastic_metric_inverse(n)
    history = law._law.initial_state(n)
    plane = plane_strain_update(law, F, metric, history, 0.0)
    general = stress_update_compiled(law, F, metric, history, 0.0, with_tangent=False,
                                     in_plane=True)
    assert isinstance(plane[1], DeferredTangent)
    assert abs(plane[3][:, 0, 2]).max() > 0.0          # the metric did leave the plane
    for a, b in ((plane[0], general[0]), (plane[3], general[3]),
                 (plane[1].compute(), general[1].compute())):
        assert np.array_equal(a, b)


def test_inverted_plane_element_is_reported():
    law = load_card("llzo")
    F = np.eye(3)[None].repeat(2, axis=0)
    F[1, 1, 1] = 0.0                       # b singular in-plane
    with pytest.raises(FloatingPointError, match="not positive definite"):
        plane_strain_update(law, F, kinematics.initial_plastic_metric_inverse(2),
                            law.initial_state(2), 0.0)


def test_plane_kernels_on_threads_give_the_same_bits(monkeypatch):
    """One chunk per thread (`nipstack.threads`), 1 and 3 threads: identical to the bit."""
    from nipstack import threads
    law = load_card("nmc_cathode")
    n = 301
    F = _plane_deformations(n, seed=7)
    metric = kinematics.initial_plastic_metric_inverse(n)
    results = []
    for count in (1, 3):
        monkeypatch.setattr(threads, "_threads", count)
        monkeypatch.setattr(threads, "MIN_POINTS_PER_THREAD", 10)
        P, deferred, tau, new_metric, _ = plane_strain_update(law, F, metric,
                                                              law.initial_state(n), 0.05)
        results.append((P, deferred.compute(), tau, new_metric))
    for one, three in zip(*results):
        assert np.array_equal(one, three)
