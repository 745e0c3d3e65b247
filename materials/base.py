"""The contract every constitutive law in nipstack fulfils, and the tensor algebra they share.

A law is a small-strain return map carried over to finite strain in logarithmic-strain space
(Simo 1992; Miehe, Apel & Lambrecht 2002). The finite-strain layer (``nipstack.kinematics``)
turns the deformation gradient into the *trial elastic logarithmic strain*

    eps_trial = 1/2 ln( F Cp^-1 F^T )

and the law returns, for every quadrature point at once,

    tau        Kirchhoff stress (tension positive), MPa
    D          consistent algorithmic tangent d tau / d eps_trial, MPa
    eps_e      the elastic logarithmic strain after the return (coaxial with eps_trial for the
               isotropic laws here); the kinematics layer stores Cp^-1 = F^-1 exp(2 eps_e) F^-T
    state      the new history (a dict of arrays, first axis = point)

Because tr(eps_trial) = ln J - ln J_p,n, a law that keeps tr(eps_e) + eps_v^p = tr(eps_trial) +
eps_v^p,n conserves solid mass exactly: porosity = 1 - (1 - porosity0) / J.

Notation
--------
Symmetric tensors are stored in **Mandel** form, a vector of 6 components

    [a11, a22, a33, sqrt2*a23, sqrt2*a13, sqrt2*a12]

so that a:b = a_M . b_M and fourth-order tensors with minor symmetries become 6x6 matrices that
compose by ordinary matrix products. Mean stress p = -tr(tau)/3 is positive in compression;
equivalent stress q = sqrt(3/2 s:s).
"""
from __future__ import annotations

from typing import Protocol

import numpy as np

SQRT2 = np.sqrt(2.0)
_PAIRS = ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1))
_WEIGHT = np.array([1.0, 1.0, 1.0, SQRT2, SQRT2, SQRT2])

#: Second-order identity in Mandel form.
IDENTITY = np.array([1.0, 1.0, 1.0, 0.0, 0.0, 0.0])
#: Volumetric and deviatoric projectors (6x6, Mandel): P_vol = 1/3 I(x)I, P_dev = Id - P_vol.
P_VOL = np.outer(IDENTITY, IDENTITY) / 3.0
P_DEV = np.eye(6) - P_VOL


def to_mandel(tensor: np.ndarray) -> np.ndarray:
    """(n, 3, 3) symmetric tensors -> (n, 6) Mandel vectors."""
    out = np.empty(tensor.shape[:-2] + (6,))
    for k, (i, j) in enumerate(_PAIRS):
        out[..., k] = _WEIGHT[k] * tensor[..., i, j]
    return out


def from_mandel(vector: np.ndarray) -> np.ndarray:
    """(n, 6) Mandel vectors -> (n, 3, 3) symmetric tensors."""
    out = np.empty(vector.shape[:-1] + (3, 3))
    for k, (i, j) in enumerate(_PAIRS):
        out[..., i, j] = vector[..., k] / _WEIGHT[k]
        out[..., j, i] = out[..., i, j]
    return out


def fourth_from_mandel(matrix: np.ndarray) -> np.ndarray:
    """(n, 6, 6) Mandel matrices -> (n, 3, 3, 3, 3) tensors with minor symmetries."""
    out = np.empty(matrix.shape[:-2] + (3, 3, 3, 3))
    for a, (i, j) in enumerate(_PAIRS):
        for b, (k, l) in enumerate(_PAIRS):
            value = matrix[..., a, b] / (_WEIGHT[a] * _WEIGHT[b])
            out[..., i, j, k, l] = value
            out[..., j, i, k, l] = value
            out[..., i, j, l, k] = value
            out[..., j, i, l, k] = value
    return out


def mean_stress(tau: np.ndarray) -> np.ndarray:
    """p = -tr(tau)/3 (compression positive) of (n, 6) Mandel stresses."""
    return -(tau[..., 0] + tau[..., 1] + tau[..., 2]) / 3.0


def deviator(a: np.ndarray) -> np.ndarray:
    """Deviatoric part of (n, 6) Mandel tensors."""
    return a - (a[..., :3].sum(axis=-1) / 3.0)[..., None] * IDENTITY


def equivalent_stress(tau: np.ndarray) -> np.ndarray:
    """q = sqrt(3/2 s:s) of (n, 6) Mandel stresses."""
    s = deviator(tau)
    return np.sqrt(1.5 * np.einsum("...i,...i->...", s, s))


def isotropic_stiffness(bulk_modulus, shear_modulus) -> np.ndarray:
    """C = 3K P_vol + 2G P_dev as (n, 6, 6) Mandel matrices (K, G arrays of shape (n,))."""
    bulk = np.asarray(bulk_modulus, dtype=float)[..., None, None]
    shear = np.asarray(shear_modulus, dtype=float)[..., None, None]
    return 3.0 * bulk * P_VOL + 2.0 * shear * P_DEV


def bulk_shear_from_young(youngs_modulus, poisson_ratio):
    """(K, G) from Young's modulus E and Poisson's ratio nu."""
    youngs_modulus = np.asarray(youngs_modulus, dtype=float)
    poisson_ratio = np.asarray(poisson_ratio, dtype=float)
    bulk = youngs_modulus / (3.0 * (1.0 - 2.0 * poisson_ratio))
    shear = youngs_modulus / (2.0 * (1.0 + poisson_ratio))
    return bulk, shear


class MaterialLaw(Protocol):
    """What the finite-strain layer and the material-point driver need from a law.

    Attributes
    ----------
    name : str
        Short law name as written in material cards (``"elastic"``, ``"j2"``, ``"dpc"``).
    output_fields : dict[str, str]
        History entries worth writing for ParaView, mapped to their unit ("-" or "MPa").
    initial_porosity : float
        Porosity of the unstrained material (0 for dense solids); the kinematics layer
        turns it into the porosity field with ``1 - (1 - porosity0) / J``.
    symmetric_tangent : bool, optional (absent = False)
        True if the consistent tangent dP/dF is major-symmetric at every state (the law
        derives from an incremental potential: Hencky elasticity, associated J2 return, Norton
        creep on the same direction). A problem whose every term is symmetric is factorised
        by LDL^T instead of LU (`linear_solver.symmetric_factorisation`);
        tests/test_finite_strain_tangent.py holds every law that claims it to round-off.
    """

    name: str
    output_fields: dict[str, str]
    initial_porosity: float

    def initial_state(self, n_points: int) -> dict[str, np.ndarray]:
        """History of n_points virgin material points (arrays with first axis n_points)."""
        ...

    def stiffest_youngs_modulus(self) -> float:
        """The largest Young's modulus the material reaches, MPa (scales contact penalties)."""
        ...

    def virgin_elastic_moduli(self) -> tuple[float, float]:
        """(Young's modulus MPa, Poisson's ratio) of the unstrained material (elastic
        predictors: the constrained modulus of a layer)."""
        ...

    def update(self, eps_trial: np.ndarray, state: dict[str, np.ndarray], dt: float
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """Return map over a batch of points.

        eps_trial : (n, 6) trial elastic log strain (Mandel); state : history at the start of
        the step (never modified in place); dt : step time in s (rate-dependent laws only).
        Returns (tau (n, 6), D (n, 6, 6), eps_e (n, 6), new_state).
        """
        ...
