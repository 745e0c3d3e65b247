r"""Frictional contact between stack layers: penalty / augmented-Lagrangian normal contact with
Coulomb friction, regularised by an elastic (penalty) stick.

Normal contact (Wriggers 2006, *Computational Contact Mechanics*, ch. 5 and 10.3; Simo & Laursen
1992, Comput. Struct. 42:97-116, for the augmented Lagrangian)

    t_n = min(lambda_n + k_n g_n, 0),

with k_n the normal penalty (MPa/mm) and lambda_n <= 0 the augmented-Lagrangian multiplier held
in the state (lambda_n = 0: pure penalty, t_n = k_n min(g_n, 0)). Between Newton solves of one
load step the FE driver calls ``augment`` (Uzawa update)

    lambda_n <- min(lambda_n + k_n g_n, 0)

on the converged jump and re-solves, until the penetration is below its tolerance; lambda_n then
converges to the exact contact pressure and g_n to zero.

Coulomb friction with a tangential penalty k_t (Wriggers 2006, sec. 10.4.1; Laursen 2002, ch. 6;
a return map identical in structure to perfect plasticity). With s the plastic (irreversible)
slip at the start of the step,

    t_t^trial = k_t (g_t - s),        f = |t_t^trial| - mu |t_n|,
    stick  (f <= 0):   t_t = t_t^trial,                        s_new = s
    slip   (f >  0):   t_t = mu |t_n| e,   e = t_t^trial / |t_t^trial|,
                       s_new = s + (|t_t^trial| - mu |t_n|) / k_t e,

so |t_t| <= mu |t_n| always, with equality while slipping. The consistent tangent is

    stick:  d t_n/d g_n = k_n [active],   d t_t / d g_t = k_t I,
    slip:   d t_t / d g_t = mu |t_n| k_t / |t_t^trial| (I - e (x) e),
            d t_t / d g_n = -mu k_n e [active],   d t_n / d g_t = 0,

which is non-symmetric in slip. A point out of contact (t_n = 0) or with mu = 0 (frictionless)
carries no tangential traction and its plastic slip follows g_t, so on re-closing the stick
reference is the position where it closed. ``accumulated_slip`` sums |s_new - s| over the points
in contact (frictional slip only, not the free sliding of open points).

`update` runs every point in one compiled pass (`_contact_kernel`, numba); `update_numpy` is the
NumPy reference it is tested against, to the bit (tests/test_interface_laws.py).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numba import njit

from ..threads import over_chunks, point_chunks
from .interface_base import TANGENTIAL_COMPONENTS, check_state, gap_fields, split_jump

_STATE_KEYS = ("lambda_n", "plastic_slip", "accumulated_slip")


@dataclass
class FrictionalContact:
    """Penalty / augmented-Lagrangian normal contact + Coulomb friction with elastic stick.

    normal_stiffness k_n and tangential_stiffness k_t in MPa/mm (k_t defaults to k_n),
    friction_coefficient mu >= 0 dimensionless (0 = frictionless).
    """

    normal_stiffness: float
    friction_coefficient: float = 0.0
    tangential_stiffness: float | None = None
    name: str = "contact"
    output_fields: dict = field(default_factory=lambda: {
        "gap_normal": "mm", "gap_tangential": "mm", "contact_pressure": "MPa",
        "accumulated_slip": "mm", "slipping": "-"})

    def __post_init__(self):
        if not self.normal_stiffness > 0.0:
            raise ValueError(f"normal_stiffness must be > 0 MPa/mm, got {self.normal_stiffness}")
        if not self.friction_coefficient >= 0.0:
            raise ValueError(
                f"friction_coefficient must be >= 0, got {self.friction_coefficient}")
        if self.tangential_stiffness is None:
            self.tangential_stiffness = self.normal_stiffness
        if not self.tangential_stiffness > 0.0:
            raise ValueError(
                f"tangential_stiffness must be > 0 MPa/mm, got {self.tangential_stiffness}")

    def initial_state(self, n_points: int) -> dict[str, np.ndarray]:
        return {"lambda_n": np.zeros(n_points),
                "plastic_slip": np.zeros((n_points, TANGENTIAL_COMPONENTS)),
                "accumulated_slip": np.zeros(n_points),
                "gap_normal": np.zeros(n_points), "gap_tangential": np.zeros(n_points),
                "contact_pressure": np.zeros(n_points), "slipping": np.zeros(n_points)}

    def normal_traction(self, g_n, lambda_n):
        """(t_n, d t_n / d g_n) of the augmented penalty, both (n,)."""
        trial = lambda_n + self.normal_stiffness * g_n
        active = trial < 0.0
        return np.where(active, trial, 0.0), np.where(active, self.normal_stiffness, 0.0)

    def update(self, jump, state, dt):
        """Every point's traction, tangent and new state in one compiled pass
        (`_contact_kernel`; the same arithmetic as `update_numpy`)."""
        split_jump(jump)                                    # (checks the shape)
        jump = np.ascontiguousarray(jump, dtype=float)
        n_points, m = jump.shape
        check_state(state, _STATE_KEYS, n_points, self.name)
        inputs = [np.ascontiguousarray(state[key], dtype=float) for key in _STATE_KEYS]
        traction, tangent = np.zeros((n_points, m)), np.zeros((n_points, m, m))
        plastic_slip = inputs[1].copy()
        accumulated, tangential_gap = np.empty(n_points), np.empty(n_points)
        pressure, slipping = np.empty(n_points), np.empty(n_points)
        over_chunks(_contact_kernel, point_chunks(n_points), lambda c: (
            jump[c], inputs[0][c], inputs[1][c], inputs[2][c], self.normal_stiffness,
            self.friction_coefficient, self.tangential_stiffness, traction[c], tangent[c],
            plastic_slip[c], accumulated[c], tangential_gap[c], pressure[c], slipping[c]))
        return traction, tangent, {
            "lambda_n": inputs[0].copy(), "plastic_slip": plastic_slip,
            "accumulated_slip": accumulated, "gap_normal": jump[:, 0].copy(),
            "gap_tangential": tangential_gap, "contact_pressure": pressure,
            "slipping": slipping}

    def update_numpy(self, jump, state, dt):
        g_n, g_t = split_jump(jump)
        n_points, m = g_n.shape[0], g_t.shape[1] + 1
        check_state(state, _STATE_KEYS, n_points, self.name)
        mu, k_t = self.friction_coefficient, self.tangential_stiffness
        t_n, dtn_dgn = self.normal_traction(g_n, state["lambda_n"])
        slip_old = state["plastic_slip"][:, :m - 1]

        traction = np.zeros((n_points, m))
        tangent = np.zeros((n_points, m, m))
        traction[:, 0] = t_n
        tangent[:, 0, 0] = dtn_dgn

        trial = k_t * (g_t - slip_old)
        norm = np.sqrt(np.einsum("ij,ij->i", trial, trial))
        limit = -mu * t_n                                   # mu |t_n| >= 0
        loaded = limit > 0.0                                # in contact with friction
        stick = loaded & (norm <= limit)
        slip = loaded & ~stick
        slip_new = g_t.copy()                               # free points follow g_t

        if np.any(stick):
            traction[stick, 1:] = trial[stick]
            slip_new[stick] = slip_old[stick]
            tangent[stick, 1:, 1:] = k_t * np.eye(m - 1)
        if np.any(slip):
            e = trial[slip] / norm[slip, None]
            lim, nrm = limit[slip], norm[slip]
            traction[slip, 1:] = lim[:, None] * e
            slip_new[slip] = slip_old[slip] + ((nrm - lim) / k_t)[:, None] * e
            ee = np.einsum("ki,kj->kij", e, e)
            tangent[slip, 1:, 1:] = (lim * k_t / nrm)[:, None, None] * (np.eye(m - 1) - ee)
            tangent[slip, 1:, 0] = -mu * dtn_dgn[slip, None] * e

        increment = slip_new - slip_old
        in_contact = t_n < 0.0
        plastic_slip = state["plastic_slip"].copy()
        plastic_slip[:, :m - 1] = slip_new
        new_state = {
            "lambda_n": state["lambda_n"].copy(),
            "plastic_slip": plastic_slip,
            "accumulated_slip": state["accumulated_slip"] + np.where(
                in_contact, np.sqrt(np.einsum("ij,ij->i", increment, increment)), 0.0),
            **gap_fields(jump),
            "contact_pressure": -t_n,
            "slipping": slip.astype(float),
        }
        return traction, tangent, new_state

    def augment(self, jump, state):
        """Uzawa update of the multiplier, lambda_n <- min(lambda_n + k_n g_n, 0).

        Call it on the *start-of-step* state with the converged jump of a Newton solve; it
        returns a copy of that state with only lambda_n changed (the plastic slip stays at the
        start-of-step value), to be passed to ``update`` in the next Newton solve.
        """
        g_n, _ = split_jump(jump)
        check_state(state, ("lambda_n",), g_n.shape[0], self.name)
        new_state = {key: np.array(value, copy=True) for key, value in state.items()}
        new_state["lambda_n"] = np.minimum(state["lambda_n"] + self.normal_stiffness * g_n, 0.0)
        return new_state


@njit(cache=True, error_model="numpy", nogil=True)
def _contact_kernel(jump, lambda_n, slip_n, accumulated_n, k_n, mu, k_t, traction, tangent,
                    slip, accumulated, tangential_gap, pressure, slipping):
    """`FrictionalContact.update_numpy` point by point, in its order of operations: traction
    and tangent (zeroed by the caller), the new plastic slip (a copy of slip_n, its first m - 1
    columns overwritten), accumulated slip, |g_t|, contact pressure and the slip flag."""
    m = jump.shape[1]
    e = np.empty(2)
    trial = np.empty(2)
    for p in range(jump.shape[0]):
        g_n = jump[p, 0]
        normal_trial = lambda_n[p] + k_n * g_n
        active = normal_trial < 0.0
        t_n = normal_trial if active else 0.0
        dtn_dgn = k_n if active else 0.0
        traction[p, 0] = t_n
        tangent[p, 0, 0] = dtn_dgn
        norm2 = 0.0
        gap2 = 0.0
        for i in range(m - 1):
            trial[i] = k_t * (jump[p, 1 + i] - slip_n[p, i])
            norm2 += trial[i] * trial[i]
            gap2 += jump[p, 1 + i] * jump[p, 1 + i]
        norm = math.sqrt(norm2)
        limit = -mu * t_n
        loaded = limit > 0.0
        stick = loaded and norm <= limit
        sliding = loaded and not stick
        increment2 = 0.0
        for i in range(m - 1):
            new = jump[p, 1 + i]                    # free points follow g_t
            if stick:
                traction[p, 1 + i] = trial[i]
                new = slip_n[p, i]
                tangent[p, 1 + i, 1 + i] = k_t * 1.0
            elif sliding:
                e[i] = trial[i] / norm
                traction[p, 1 + i] = limit * e[i]
                new = slip_n[p, i] + ((norm - limit) / k_t) * e[i]
            slip[p, i] = new
            increment = new - slip_n[p, i]
            increment2 += increment * increment
        if sliding:
            scale = limit * k_t / norm
            for i in range(m - 1):
                for j in range(m - 1):
                    tangent[p, 1 + i, 1 + j] = scale * ((1.0 if i == j else 0.0) - e[i] * e[j])
                tangent[p, 1 + i, 0] = (-mu * dtn_dgn) * e[i]
        accumulated[p] = accumulated_n[p] + (math.sqrt(increment2) if t_n < 0.0 else 0.0)
        tangential_gap[p] = math.sqrt(gap2)
        pressure[p] = -t_n
        slipping[p] = 1.0 if sliding else 0.0
