"""Machine-direction elongation across the web, the in-plane stress it leaves, and wrinkling.

Each cross-section leaves the nip with its own free machine-direction stretch lambda(x) (the 2D
run's `machine_direction_elongation`, interpolated; the bare margins: 1, they are not touched).
The web is one sheet, so the lanes cannot keep different lengths.

Compatibility (plane sections of the web stay plane; Bernoulli in the web's plane): the
machine-direction strain is eps(x) = eps0 + kappa x, and each strip carries the membrane force
per unit width N(x) = EA(x) (eps(x) - eps_n(x)), eps_n = lambda - 1 (N/mm), with

    EA(x) = E_f t_f + E_c(phi) h_exit           (foil + the calendered coating, uniaxial;
                                                 E_c = the coating card's E at the exit porosity;
                                                 a double-sided web adds its bottom coating)

Equilibrium: int N dx = T (the front tension, MPa, times the web's exit cross-section) and, for a
free web, int N x dx = 0. In the line the web is guided and held straight (kappa = 0): that is
the stress reported. The curvature a free web would take (in-plane camber, 1/mm) is reported as
well; it is zero for a symmetric layout. Foil stress: sigma_f(x) = E_f (eps(x) - eps_n(x)).

Wrinkling: a strip in compression (N < 0) of width b buckles as a long plate when
N < -N_cr with

    N_cr = k pi^2 D / b^2,   D = sum_i E_i / (1 - nu_i^2) (t_i^3 / 12 + t_i (z_i - z_n)^2)

(the plate bending stiffness of the foil and coating about their neutral plane z_n); for a
homogeneous strip sigma_cr = N_cr / t = k pi^2 E / (12 (1 - nu^2)) (t / b)^2. k = 4.0 for a
long plate whose two unloaded edges are simply supported (a compressed zone between two tensile
ones) and k = 0.425 for one edge simply supported and the other free (a compressed zone at the
web's edge): Timoshenko & Gere, Theory of Elastic Stability, 2nd ed., McGraw-Hill 1961,
sect. 9.2 and 9.3. Taking the neighbouring tensile strips as simple supports (not clamps) is
the conservative choice.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

K_BOTH_EDGES_SUPPORTED = 4.0      # Timoshenko & Gere 1961, sect. 9.2
K_ONE_EDGE_FREE = 0.425           # Timoshenko & Gere 1961, sect. 9.3


@dataclass
class Strip:
    """A part of the web across its width: x (mm), the free stretch strain eps_n, the coating
    thickness and modulus at each x (the foil's are the web's), and those of a double-sided
    web's coating under the foil (None: single-sided)."""
    x: np.ndarray
    strain: np.ndarray
    coating_thickness: np.ndarray
    coating_modulus: np.ndarray
    bottom_thickness: np.ndarray | None = None
    bottom_modulus: np.ndarray | None = None

    def __post_init__(self):
        if self.bottom_thickness is None:
            self.bottom_thickness = np.zeros_like(self.coating_thickness)
            self.bottom_modulus = np.zeros_like(self.coating_thickness)

    @property
    def EA(self) -> np.ndarray:
        """Axial stiffness of the coatings per unit width (N/mm), the foil's not included."""
        return self.coating_modulus * self.coating_thickness + \
            self.bottom_modulus * self.bottom_thickness

    @property
    def coatings_thickness(self) -> np.ndarray:
        return self.coating_thickness + self.bottom_thickness


def plate_stiffness(layers) -> float:
    """D (N mm) of stacked layers [(E, nu, t), ...] bottom to top, about their neutral plane."""
    stiff = [(E / (1 - nu * nu), t) for E, nu, t in layers if t > 0]
    z, top = [], 0.0
    for _, t in stiff:
        z.append(top + 0.5 * t)
        top += t
    neutral = sum(E * t * zi for (E, t), zi in zip(stiff, z)) / sum(E * t for E, t in stiff)
    return sum(E * (t ** 3 / 12 + t * (zi - neutral) ** 2) for (E, t), zi in zip(stiff, z))


def integrate(x: np.ndarray, f: np.ndarray) -> float:
    return float(np.trapezoid(f, x)) if len(x) > 1 else 0.0


def membrane_state(strips: list[Strip], foil: tuple[float, float, float], coating_nu: float,
                   tension: float = 0.0) -> dict:
    """The held-straight web: strain, membrane force, foil stress per strip; the free camber;
    and the wrinkling check of every compressed zone. foil = (E_f, nu_f, t_f)."""
    E_f, nu_f, t_f = foil
    EA = [E_f * t_f + s.EA for s in strips]
    area = sum(integrate(s.x, t_f + s.coatings_thickness) for s in strips)
    force = tension * area
    M0, M1, M2 = (sum(integrate(s.x, ea * s.x ** p) for s, ea in zip(strips, EA))
                  for p in (0, 1, 2))
    load = np.array([force + sum(integrate(s.x, ea * s.strain) for s, ea in zip(strips, EA)),
                     sum(integrate(s.x, ea * s.strain * s.x) for s, ea in zip(strips, EA))])
    m = np.array([[M0, M1], [M1, M2]])
    eps0_straight = load[0] / m[0, 0]
    eps0_free, kappa = np.linalg.solve(m, load)
    moment_scale = sum(integrate(s.x, np.abs(ea * s.strain * s.x)) for s, ea in zip(strips, EA))
    if abs(kappa) * M2 <= 1e-12 * moment_scale:
        kappa = 0.0          # a symmetric web: the first moment of the strain is round-off
    out = []
    for s, ea in zip(strips, EA):
        N = ea * (eps0_straight - s.strain)
        D = np.array([plate_stiffness([(Eb, coating_nu, hb), (E_f, nu_f, t_f),
                                       (Ec, coating_nu, h)])
                      for Eb, hb, Ec, h in zip(s.bottom_modulus, s.bottom_thickness,
                                               s.coating_modulus, s.coating_thickness)])
        out.append({"x": s.x, "membrane_force": N, "foil_stress": E_f * (eps0_straight - s.strain),
                    "bending_stiffness": D, "thickness": t_f + s.coatings_thickness})
    return {"strain": float(eps0_straight), "camber_curvature_per_mm": float(kappa),
            "strips": out, "zones": compressed_zones(out)}


def compressed_zones(strips: list[dict]) -> list[dict]:
    """Contiguous compressed parts of the web (N < 0) and their buckling check."""
    x = np.concatenate([s["x"] for s in strips])
    N = np.concatenate([s["membrane_force"] for s in strips])
    D = np.concatenate([s["bending_stiffness"] for s in strips])
    t = np.concatenate([s["thickness"] for s in strips])
    sigma_f = np.concatenate([s["foil_stress"] for s in strips])
    order = np.argsort(x, kind="stable")
    x, N, D, t, sigma_f = x[order], N[order], D[order], t[order], sigma_f[order]
    zones, compressed = [], N < 0
    start = None
    for i in range(len(x) + 1):
        if i < len(x) and compressed[i]:
            start = i if start is None else start
            continue
        if start is not None:
            zones.append(_zone(x, N, D, t, sigma_f, start, i - 1))
            start = None
    return zones


def _zone(x, N, D, t, sigma_f, first, last) -> dict:
    """One compressed zone: width b, k, N_cr = k pi^2 D / b^2 and the flag."""
    sl = slice(first, last + 1)

    def crossing(inside, outside):        # where N changes sign between two points
        return x[inside] + (x[outside] - x[inside]) * N[inside] / (N[inside] - N[outside])

    left = crossing(first, first - 1) if first > 0 else x[first]
    right = crossing(last, last + 1) if last + 1 < len(x) else x[last]
    b = float(right - left)
    at_edge = first == 0 or last == len(x) - 1
    k = K_ONE_EDGE_FREE if at_edge else K_BOTH_EDGES_SUPPORTED
    D_mean = float(np.mean(D[sl]))
    N_cr = k * math.pi ** 2 * D_mean / b ** 2 if b > 0 else math.inf
    N_mean = float(np.mean(N[sl]))
    t_mean = float(np.mean(t[sl]))
    return {"x_from_mm": float(left), "x_to_mm": float(right), "width_mm": b,
            "at_web_edge": at_edge, "k": k, "membrane_force_N_per_mm": N_mean,
            "membrane_stress_MPa": N_mean / t_mean,
            "critical_membrane_force_N_per_mm": N_cr,
            "critical_stress_MPa": N_cr / t_mean,
            "foil_stress_min_MPa": float(np.min(sigma_f[sl])),
            "wrinkles": bool(-N_mean > N_cr)}
