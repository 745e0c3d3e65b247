r"""Linear-elastic fracture mechanics of the DCB and ENF specimens: corrected beam theory.

Arms of thickness h, width B, plane-strain modulus E' = E / (1 - nu^2):

    DCB:  C = delta / P = 8 (a + chi h)^3 / (E' B h^3),
          G_I = 12 P^2 (a + chi h)^2 / (E' B^2 h^3)  ->  P = B sqrt(E' h^3 G_Ic / 12) / (a + chi h)
    ENF:  C = (3 (a + chi_II h)^3 + 2 L^3) / (8 E' B h^3)   (span 2L),
          G_II = 9 P^2 (a + chi_II h)^2 / (16 E' B^2 h^3)
                ->  P = 4 B sqrt(E' h^3 G_IIc) / (3 (a + chi_II h))

The root-rotation correction chi: "kanninen", chi = 6^(-1/4) = 0.639, the intact arm as a beam
on an elastic foundation (Kanninen, Int. J. Fract. 9:83, 1973; plane strain: E' throughout);
"williams", Williams' fit for orthotropic arms (Compos. Sci. Technol. 35:367, 1989, the one of
ISO 15024 / ASTM D5528) with the plane-strain constants E11 = E22 = E', G13 = G:
chi = sqrt(E11 / (11 G13)) [3 - 2 (Gamma / (1 + Gamma))^2], Gamma = 1.18 sqrt(E11 E22) / G13,
0.92 for nu = 0.3. ENF: chi_II = 0.42 chi (Wang & Williams, Compos. Sci. Technol. 43:251,
1992).

The DCB propagation branch in the (delta, P) plane, delta = 8 K^3 / (E' B h^3 P^2) with
K = B sqrt(E' h^3 G_Ic / 12), does not depend on chi. The ENF branch is stable (no snap-back)
only for a >= (1/3)^(1/3) L = 0.69 L.

Cohesive-zone length (the softening zone must be resolved by a few elements; Turon et al.,
Eng. Fract. Mech. 74:1665, 2007): l_cz = M E' G_c / tau0^2 with M = 1 (Hillerborg), and for
slender arms (l_cz > h) the shorter l_cz,beam = (E' G_c / tau0^2)^(1/4) h^(3/4) (Yang & Cox,
Int. J. Fract. 133:107, 2005, mode I).

Units mm, N, MPa.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: ENF: chi_II / chi (Wang & Williams 1992)
MODE_II_ROOT_FACTOR = 0.42


def plane_strain_modulus(youngs_modulus: float, poisson_ratio: float) -> float:
    """E' = E / (1 - nu^2), MPa."""
    return youngs_modulus / (1.0 - poisson_ratio ** 2)


def kanninen_root_rotation() -> float:
    """Kanninen's (1973) crack-length correction chi = 1 / (lambda h) = 6^(-1/4) (-): the
    intact arm as a beam on an elastic foundation of springs h/2 long (stiffness 2 E' B / h),
    lambda^4 = 6 / h^4, for which G = 12 P^2 (a + chi h)^2 / (E' B^2 h^3) exactly."""
    return 6.0 ** -0.25


def williams_root_rotation(axial_modulus: float, transverse_modulus: float,
                           shear_modulus: float) -> float:
    """Williams' (1989) crack-length correction chi (-): a -> a + chi h for a DCB arm.
    For an isotropic arm in plane strain pass E', E', G."""
    gamma = 1.18 * np.sqrt(axial_modulus * transverse_modulus) / shear_modulus
    return float(np.sqrt(axial_modulus / (11.0 * shear_modulus))
                 * (3.0 - 2.0 * (gamma / (1.0 + gamma)) ** 2))


def root_rotation(choice: str, modulus: float, shear_modulus: float) -> float:
    """chi of an isotropic plane-strain arm (E', G): "kanninen" or "williams"."""
    if choice == "kanninen":
        return kanninen_root_rotation()
    if choice == "williams":
        return williams_root_rotation(modulus, modulus, shear_modulus)
    raise ValueError(f"root_rotation must be 'kanninen' or 'williams', got {choice!r}")


def dcb_load(crack_length, modulus, thickness, toughness, width=1.0, chi=0.0):
    """LEFM (corrected beam theory) load of a DCB at G_I = toughness, N (N/mm for B = 1)."""
    return width * np.sqrt(modulus * thickness ** 3 * toughness / 12.0) / (
        np.asarray(crack_length, dtype=float) + chi * thickness)


def dcb_compliance(crack_length, modulus, thickness, width=1.0, chi=0.0):
    """delta / P of a DCB (total opening of the load points), mm/N."""
    return 8.0 * (np.asarray(crack_length, dtype=float) + chi * thickness) ** 3 / (
        modulus * width * thickness ** 3)


def dcb_propagation_load(opening, modulus, thickness, toughness, width=1.0):
    """P(delta) on the DCB propagation branch, delta = 8 K^3 / (E' B h^3 P^2) (chi-free)."""
    k = width * np.sqrt(modulus * thickness ** 3 * toughness / 12.0)
    return np.sqrt(8.0 * k ** 3 / (modulus * width * thickness ** 3
                                   * np.asarray(opening, dtype=float)))


def enf_load(crack_length, modulus, thickness, toughness, width=1.0, chi_ii=0.0):
    """LEFM (corrected beam theory) load of an ENF specimen at G_II = toughness, N."""
    return 4.0 * width * np.sqrt(modulus * thickness ** 3 * toughness) / (
        3.0 * (np.asarray(crack_length, dtype=float) + chi_ii * thickness))


def enf_compliance(crack_length, half_span, modulus, thickness, width=1.0, chi_ii=0.0):
    """Load-point deflection / P of an ENF specimen (span 2L), mm/N."""
    a = np.asarray(crack_length, dtype=float) + chi_ii * thickness
    return (3.0 * a ** 3 + 2.0 * half_span ** 3) / (8.0 * modulus * width * thickness ** 3)


def cohesive_zone_length(modulus, toughness, strength, factor=1.0):
    """l_cz = M E' G_c / tau0^2 (mm); M = 1 Hillerborg (Turon et al. 2007)."""
    return factor * modulus * toughness / strength ** 2


def slender_cohesive_zone_length(modulus, toughness, strength, thickness):
    """Mode I cohesive-zone length of a slender arm, (E' G_c / tau0^2)^(1/4) h^(3/4), mm."""
    return (modulus * toughness / strength ** 2) ** 0.25 * thickness ** 0.75


@dataclass(frozen=True)
class BeamTheory:
    """The corrected beam theory of one specimen: test "dcb" | "enf", E' (MPa), arm
    thickness h and width B (mm), the toughness G_c of its mode (N/mm), chi, and the ENF half
    span L (mm)."""

    test: str
    modulus: float
    thickness: float
    width: float
    toughness: float
    chi: float
    half_span: float

    @property
    def chi_ii(self) -> float:
        """chi_II = 0.42 chi (Wang & Williams 1992)."""
        return MODE_II_ROOT_FACTOR * self.chi

    def load(self, crack_length):
        """The closed-form load at a crack length (mm), N."""
        if self.test == "dcb":
            return dcb_load(crack_length, self.modulus, self.thickness, self.toughness,
                            self.width, self.chi)
        return enf_load(crack_length, self.modulus, self.thickness, self.toughness,
                        self.width, self.chi_ii)

    def compliance(self, crack_length):
        """Load-point opening (DCB) or deflection (ENF) per load, mm/N."""
        if self.test == "dcb":
            return dcb_compliance(crack_length, self.modulus, self.thickness, self.width,
                                  self.chi)
        return enf_compliance(crack_length, self.half_span, self.modulus, self.thickness,
                              self.width, self.chi_ii)

    def compliance_crack_length(self, opening: float, load: float) -> float:
        """a from a measured compliance opening / load and the CBT compliance formula (NaN if
        undefined). ENF: includes the (small) indentation at the punch and the supports."""
        if not load > 0.0:
            return float("nan")
        C, h, E, B = opening / load, self.thickness, self.modulus, self.width
        if self.test == "dcb":
            return float(np.cbrt(C * E * B * h ** 3 / 8.0) - self.chi * h)
        cube = (8.0 * E * B * h ** 3 * C - 2.0 * self.half_span ** 3) / 3.0
        return float(np.cbrt(cube) - self.chi_ii * h) if cube > 0.0 else float("nan")

    def dcb_branch_crack_length(self, opening: float) -> float:
        """The DCB crack length on the propagation branch at an opening: a + chi h = K / P."""
        h = self.thickness
        k = self.width * np.sqrt(self.modulus * h ** 3 * self.toughness / 12.0)
        p = dcb_propagation_load(opening, self.modulus, h, self.toughness, self.width)
        return k / p - self.chi * h

    def branch_load(self, opening: float, compliance_crack_length: float) -> float:
        """DCB: the propagation branch P(delta) (chi-free); ENF: the load at the compliance
        crack length (also a point of the (delta, P) branch)."""
        if self.test == "dcb":
            return float(dcb_propagation_load(opening, self.modulus, self.thickness,
                                              self.toughness, self.width))
        return float(self.load(compliance_crack_length))
