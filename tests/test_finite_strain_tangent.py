"""The finite-strain consistent tangent A = dP/dF equals central finite differences.

This is the tangent Newton uses on the mesh: the law's algorithmic tangent chained through the
exponential-map kinematics (matrix log derivative, Cp^-1 history, P = tau F^-T). Checked in 3D
and in plane strain (F_33 = 1, only in-plane components perturbed), for elastic, cap, shear and
transition/corner states of the DPC law and for J2 plasticity. Tolerance: relative error
<= 1e-6 (max-norm over all components); central differences with h = 1e-7 leave ~1e-8.
"""
from __future__ import annotations

import numpy as np
import pytest

from nipstack.kinematics import initial_plastic_metric_inverse, stress_update
from nipstack.materials.cards import list_cards, load_card

H = 1e-7
TOL = 1e-6


def _fd_tangent(law, F, metric, history, dims):
    A_fd = np.zeros((F.shape[0], 3, 3, 3, 3))
    for m in range(dims):
        for N in range(dims):
            Fp, Fm = F.copy(), F.copy()
            Fp[:, m, N] += H
            Fm[:, m, N] -= H
            Pp = stress_update(law, Fp, metric, history, 0.0)[0]
            Pm = stress_update(law, Fm, metric, history, 0.0)[0]
            A_fd[:, :, :, m, N] = (Pp - Pm) / (2 * H)
    return A_fd


def _compressed_history(law, F_path):
    """Commit a loading path so that the test state starts from a compacted, plastic history."""
    n = F_path[0].shape[0]
    metric = initial_plastic_metric_inverse(n)
    history = law.initial_state(n)
    for F in F_path:
        _, _, _, metric, history = stress_update(law, F, metric, history, 0.0)
    return metric, history


def _stretch(axial, lateral=1.0, shear=0.0, n=1):
    F = np.zeros((n, 3, 3))
    F[:, 0, 0] = lateral
    F[:, 1, 1] = axial
    F[:, 2, 2] = lateral
    F[:, 0, 1] = shear
    return F


def _states(kind):
    """(F_history_path, F_test) for the requested state; F_test adds a non-coaxial increment."""
    rng = np.random.default_rng(7)
    n = 4
    noise = 2e-3 * rng.standard_normal((n, 3, 3))
    if kind == "cap":          # uniaxial compaction, continuing
        path = [_stretch(1 - 0.05 * k, n=n) for k in range(1, 5)]
        test = _stretch(0.78, n=n) + noise
    elif kind == "shear":      # light compaction, then strong simple shear at low pressure
        path = [_stretch(0.97, n=n)]
        test = _stretch(0.985, shear=0.12, n=n) + noise
    elif kind == "corner":     # compaction, slight unloading and shear: the transition
        path = [_stretch(1 - 0.04 * k, n=n) for k in range(1, 5)]   # surface at the cap/shear
        test = _stretch(0.8484, 1.0, shear=0.08, n=n) + 0.1 * noise  # junction (checked below)
    elif kind == "unloading":  # elastic unloading from a compacted state
        path = [_stretch(1 - 0.05 * k, n=n) for k in range(1, 5)]
        test = _stretch(0.81, n=n) + 0.2 * noise
    else:
        raise ValueError(kind)
    return path, test


@pytest.mark.parametrize("dims", [3, 2], ids=["3D", "plane-strain"])
@pytest.mark.parametrize("card,kind", [
    ("nmc_cathode", "cap"), ("nmc_cathode", "shear"), ("nmc_cathode", "corner"),
    ("nmc_cathode", "unloading"), ("mcc_avicel_ph102", "cap"), ("mcc_avicel_ph102", "shear"),
    ("aluminium_foil", "shear"), ("aluminium_foil", "cap"),
])
def test_finite_strain_tangent_matches_finite_differences(card, kind, dims):
    law = load_card(card)
    path, F = _states(kind)
    if dims == 2:   # plane strain: no out-of-plane shear, F_33 = 1
        for G in path + [F]:
            G[:, 2, :2] = 0.0
            G[:, :2, 2] = 0.0
            G[:, 2, 2] = 1.0
    metric, history = _compressed_history(law, path)
    P, A, tau, _, new_history = stress_update(law, F, metric, history, 0.0)
    A_fd = _fd_tangent(law, F, metric, history, dims)
    block = (slice(None),) + (slice(0, dims),) * 4
    error = np.abs(A[block] - A_fd[block]).max() / np.abs(A[block]).max()
    assert error <= TOL, f"{card} {kind} {dims}D: relative tangent error {error:.2e}"
    surfaces = {"cap": 3, "shear": 1, "corner": 2, "unloading": 0}
    if "active_surface" in new_history:    # the state is where the test says it is
        assert np.any(new_history["active_surface"] == surfaces[kind]), new_history["active_surface"]
    if kind == "cap" and "cap_pressure" in new_history:
        assert np.all(new_history["plastic_volumetric_strain"]
                      < history["plastic_volumetric_strain"]), "state should be compacting"


def _major_asymmetry(law, dt: float) -> float:
    """max |A_iJkL - A_kLiJ| / max |A| of dP/dF over loaded states: a compaction path, then
    compaction with shear (plastic for J2 and DPC cards, creeping with dt > 0)."""
    worst = 0.0
    for kind in ("cap", "shear"):
        path, F = _states(kind)
        n = F.shape[0]
        metric, history = initial_plastic_metric_inverse(n), law.initial_state(n)
        for G in path:
            _, _, _, metric, history = stress_update(law, G, metric, history, dt)
        A = stress_update(law, F, metric, history, dt)[1].reshape(n, 9, 9)
        worst = max(worst, float(np.abs(A - np.swapaxes(A, 1, 2)).max() / np.abs(A).max()))
    return worst


@pytest.mark.parametrize("card", list_cards())
def test_a_law_claims_a_symmetric_tangent_exactly_when_it_has_one(card):
    """A problem whose laws all claim `symmetric_tangent` (and whose contact is frictionless)
    is factorised by LDL^T, which reads one triangle of the Jacobian: a false claim would
    break Newton's quadratic rate. Elastic, J2 and Norton-creep cards are symmetric to
    round-off (<= 1e-12 relative); DPC (non-associated shear arm, Cauchy-invariant surfaces)
    and the standard linear solid (~5e-8) are not (> 1e-10), and do not claim it."""
    law = load_card(card)
    asymmetry = _major_asymmetry(law, dt=10.0)
    if getattr(law, "symmetric_tangent", False):
        assert asymmetry <= 1e-12, f"{card} claims a symmetric tangent: {asymmetry:.2e}"
    else:
        assert asymmetry > 1e-10, f"{card} has a symmetric tangent ({asymmetry:.2e}): claim it"
