r"""The contract every interface (traction-separation) law in nipstack fulfils.

Interface laws act on zero-thickness interfaces between stack layers (coating/foil,
electrode/separator, ...). They work in the **local frame** of the interface, with the unit
normal n pointing from the lower face (-) to the upper face (+), and the displacement jump

    [[u]] = u+ - u-,      jump = [g_n, g_t]          (2D, m = 2)
                          jump = [g_n, g_t1, g_t2]   (3D, m = 3)

as an array of shape (n, m) over a batch of interface points; g_n > 0 is opening, g_n < 0 is
interpenetration. Units are mm for the jump and MPa for the traction, so stiffnesses are MPa/mm
and energies per area are N/mm (= mJ/mm^2, the unit of G_c).

Traction sign convention
------------------------
The traction is work-conjugate to the jump: the interface contributes

    delta W_int = int_Gamma t . delta[[u]] dGamma

to the internal virtual work, i.e. t = d psi / d[[u]] for a law with a free energy psi. Hence
t_n > 0 is tensile and *resists opening* (a cohesive bond), t_n < 0 is a *contact pressure*
(resists interpenetration), and the force the interface exerts on the upper face is -t (on the
lower face +t). The tangential components resist slip in the same way.

Each law returns, for every point at once,

    traction   (n, m)      t, MPa
    tangent    (n, m, m)   d t / d jump, MPa/mm: the algorithmic tangent consistent with the
                           update (damage evolution and slip within the step included); it is
                           non-symmetric for friction and for mixed-mode damage
    new_state  dict of arrays, first axis = point (the input state is never modified)

Vector-valued tangential history (the plastic slip of friction) is stored with **two**
components whatever the dimension -- the second stays zero in 2D -- so that the state layout of
a law does not depend on the mesh dimension.

``in_contact`` and ``contact_fraction`` are the post-processing helpers for the contact
fraction: a point is in contact when it is closed (g_n <= gap_tolerance) *and* carries a
compressive normal traction (t_n < 0).
"""
from __future__ import annotations

from typing import Protocol

import numpy as np

#: Number of columns used for vector tangential history (two tangential directions in 3D).
TANGENTIAL_COMPONENTS = 2


class InterfaceLaw(Protocol):
    """What an interface assembler and the material-point tests need from an interface law.

    Attributes
    ----------
    name : str
        Short law name as written in material cards (``"contact"``, ``"bonded"``,
        ``"cohesive_bilinear"``, ``"cohesive_exponential"``).
    output_fields : dict[str, str]
        State entries worth writing as interface fields, mapped to their unit (``"-"``,
        ``"mm"``, ``"MPa"``, ``"N/mm"``); every key is a key of the state.
    """

    name: str
    output_fields: dict[str, str]

    def initial_state(self, n_points: int) -> dict[str, np.ndarray]:
        """History of n_points virgin interface points (arrays with first axis n_points)."""
        ...

    def update(self, jump: np.ndarray, state: dict[str, np.ndarray], dt: float
               ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """Traction update over a batch of points.

        jump : (n, m) local jump [g_n, g_t(1), (g_t2)], mm; state : history at the start of the
        step (never modified in place); dt : step time in s (rate-dependent laws only).
        Returns (traction (n, m) MPa, tangent (n, m, m) MPa/mm, new_state).
        """
        ...


def split_jump(jump) -> tuple[np.ndarray, np.ndarray]:
    """Validate a (n, m) jump (m = 2 or 3) and return (g_n (n,), g_t (n, m - 1)) as floats."""
    jump = np.asarray(jump, dtype=float)
    if jump.ndim != 2 or jump.shape[1] not in (2, 3):
        raise ValueError(f"jump must have shape (n, 2) or (n, 3), got {jump.shape}")
    return jump[:, 0], jump[:, 1:]


def gap_fields(jump) -> dict[str, np.ndarray]:
    """The normal gap g_n and the tangential slip magnitude |g_t| (mm) of a batch of jumps."""
    g_n, g_t = split_jump(jump)
    return {"gap_normal": g_n.copy(), "gap_tangential": np.sqrt(np.einsum("ij,ij->i", g_t, g_t))}


def check_state(state: dict[str, np.ndarray], keys, n_points: int, law: str) -> None:
    """Raise ValueError if the state misses a key or has the wrong number of points."""
    for key in keys:
        if key not in state:
            raise ValueError(f"{law}: state has no entry {key!r} (use initial_state)")
        if np.shape(state[key])[0] != n_points:
            raise ValueError(f"{law}: state[{key!r}] has {np.shape(state[key])[0]} points, "
                             f"the jump has {n_points}")


def in_contact(jump, traction, gap_tolerance: float = 0.0) -> np.ndarray:
    """Boolean (n,): the point is closed (g_n <= gap_tolerance, mm) and carries compression
    (t_n < 0). With an augmented-Lagrangian contact the converged gap of a loaded point may be
    a round-off above zero: pass the penetration tolerance of the driver as gap_tolerance."""
    g_n, _ = split_jump(jump)
    t_n = np.asarray(traction, dtype=float)[:, 0]
    return (g_n <= gap_tolerance) & (t_n < 0.0)


def contact_fraction(mask, weights=None) -> float:
    """Area fraction of an interface in contact: sum(w * mask) / sum(w) (weights = quadrature
    weights times the interface Jacobian; uniform when None). Returns 0 for an empty batch.
    Under MPI, reduce the two sums over the ranks' owned points instead of averaging fractions."""
    mask = np.asarray(mask, dtype=float)
    weights = np.ones_like(mask) if weights is None else np.asarray(weights, dtype=float)
    total = weights.sum()
    return float((weights * mask).sum() / total) if total > 0.0 else 0.0
