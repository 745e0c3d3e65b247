"""The interface laws under test (parameters with their characteristic openings) and the
material-point tools the interface-law tests share: finite-difference tangents, loading paths
and the work done along them. Units: mm, MPa, N/mm."""
from __future__ import annotations

import numpy as np

from nipstack.materials.cohesive_bilinear import BilinearCohesive
from nipstack.materials.cohesive_exponential import ExponentialCohesive
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
