"""A calender roll as a Timoshenko beam on two bearings.

The roll axis is x (mm, 0 at the centre of the face). Each roll carries, on its body (the face,
|x| <= face/2, outer diameter D, optionally a shell on a core of another modulus or a bore) the
line load q(x) of the nip (N/mm), is held at two bearings (w = 0, free to rotate) on journals of
diameter D_j, and may carry bending (compensation) forces F_b at the journal ends, a distance
`bending_arm` outboard of each bearing. The deflection w is counted positive *away from the
web* for either roll: the nip load pushes the body to +w (the gap opens in the middle); a
positive bending force (the journal end pushed to +w) levers the body to -w (the gap closes
in the middle).

Element: the two-node Timoshenko beam with the exact ("interdependent interpolation") stiffness
(Przemieniecki, Theory of Matrix Structural Analysis, McGraw-Hill 1968, sect. 5.6; Friedman &
Kosmatka, Comput. Struct. 47 (1993) 473-481), dofs (w1, theta1, w2, theta2):

    k = EI / ((1 + Phi) L^3) [[ 12,          6L,  -12,          6L ],
                              [ 6L, (4 + Phi)L^2,  -6L, (2 - Phi)L^2 ],
                              [-12,         -6L,   12,         -6L ],
                              [ 6L, (2 - Phi)L^2,  -6L, (4 + Phi)L^2 ]],   Phi = 12 EI / (kGA L^2)

It reproduces nodal displacements exactly for nodal loads and for a uniform load (whose
work-equivalent nodal loads qL/2, +-qL^2/12 are the fixed-end forces of a Timoshenko beam as
well: a uniform load is symmetric, so shear deformation does not change its fixed-end moments).
A linearly varying load uses the Hermite (Euler-Bernoulli) work-equivalent loads; the error of
that choice in the antisymmetric part vanishes with the element length (elements of a few mm).

Shear coefficient k (Cowper, J. Appl. Mech. 33 (1966) 335-340): a solid circle
k = 6(1 + nu) / (7 + 6 nu); a tube with m = d_i / D
k = 6(1 + nu)(1 + m^2)^2 / ((7 + 6 nu)(1 + m^2)^2 + (20 + 12 nu) m^2).
A shell on a core of another modulus: EI = E_s (I_D - I_c) + E_c I_c and
kGA = k_tube G_s A_shell + k_solid G_c A_core (exact for a bore, E_c = 0, or E_c = E_s; an
approximation in between, where shear is a small part of the deflection anyway).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class Section:
    """Bending stiffness EI (N mm^2) and shear stiffness kGA (N) of a cross-section."""
    EI: float
    kGA: float


def cowper_solid(nu: float) -> float:
    return 6.0 * (1.0 + nu) / (7.0 + 6.0 * nu)


def cowper_tube(nu: float, m: float) -> float:
    s = (1.0 + m * m) ** 2
    return 6.0 * (1.0 + nu) * s / ((7.0 + 6.0 * nu) * s + (20.0 + 12.0 * nu) * m * m)


def circular_section(diameter: float, youngs_modulus: float, poisson_ratio: float,
                     core_diameter: float = 0.0, core_modulus: float = 0.0) -> Section:
    """EI and kGA of a solid circle, a tube (core_modulus 0) or a shell on a core."""
    E, nu = youngs_modulus, poisson_ratio
    G = E / (2.0 * (1.0 + nu))
    I_outer, I_core = math.pi * diameter ** 4 / 64.0, math.pi * core_diameter ** 4 / 64.0
    A_outer, A_core = math.pi * diameter ** 2 / 4.0, math.pi * core_diameter ** 2 / 4.0
    if core_diameter == 0.0 or core_modulus == E:
        return Section(E * I_outer, cowper_solid(nu) * G * A_outer)
    m = core_diameter / diameter
    G_core = core_modulus / (2.0 * (1.0 + nu))
    EI = E * (I_outer - I_core) + core_modulus * I_core
    kGA = cowper_tube(nu, m) * G * (A_outer - A_core) + cowper_solid(nu) * G_core * A_core
    return Section(EI, kGA)


def element_stiffness(section: Section, length: float) -> np.ndarray:
    L, EI = length, section.EI
    phi = 12.0 * EI / (section.kGA * L * L)
    c = EI / ((1.0 + phi) * L ** 3)
    return c * np.array([
        [12.0, 6 * L, -12.0, 6 * L],
        [6 * L, (4 + phi) * L * L, -6 * L, (2 - phi) * L * L],
        [-12.0, -6 * L, 12.0, -6 * L],
        [6 * L, (2 - phi) * L * L, -6 * L, (4 + phi) * L * L]])


def element_load(length: float) -> np.ndarray:
    """Work-equivalent nodal loads (4 x 2) of a load varying linearly from q1 to q2."""
    L = length
    return np.array([[7 * L / 20, 3 * L / 20],
                     [L * L / 20, L * L / 30],
                     [3 * L / 20, 7 * L / 20],
                     [-L * L / 30, -L * L / 20]])


@dataclass
class RollGeometry:
    """One roll: sizes in mm, moduli in MPa, bending force in N per journal (+ = away from the
    web at the journal ends), crown as the radius excess c(x) in mm (a callable)."""
    diameter: float
    face_length: float
    bearing_positions: tuple[float, float]
    journal_diameter: float
    youngs_modulus: float = 210000.0
    poisson_ratio: float = 0.3
    core_diameter: float = 0.0
    core_modulus: float = 0.0
    bending_arm: float = 0.0
    bending_force: float = 0.0
    crown: Callable[[np.ndarray], np.ndarray] = field(default=lambda x: np.zeros_like(x))

    def body(self) -> Section:
        return circular_section(self.diameter, self.youngs_modulus, self.poisson_ratio,
                                self.core_diameter, self.core_modulus)

    def journal(self) -> Section:
        return circular_section(self.journal_diameter, self.youngs_modulus, self.poisson_ratio)

    def ends(self) -> tuple[float, float]:
        """The beam's extent: the journal ends where the bending forces act (or the bearings)."""
        left, right = self.bearing_positions
        return left - self.bending_arm, right + self.bending_arm


class Roll:
    """The FE model of one roll on the nodes `x` (sorted; they must include the bearings, the
    face edges and the journal ends). Loads: a piecewise linear line load given by its values
    at the nodes on the elements flagged `loaded`, and the bending forces."""

    def __init__(self, geometry: RollGeometry, x: np.ndarray, loaded: np.ndarray):
        self.geometry, self.x = geometry, np.asarray(x, dtype=float)
        n = len(self.x)
        if np.any(np.diff(self.x) <= 0):
            raise ValueError("roll nodes must be strictly increasing")
        self.loaded = np.asarray(loaded, dtype=bool)        # per element
        body, journal = geometry.body(), geometry.journal()
        half_face = 0.5 * geometry.face_length
        K = np.zeros((2 * n, 2 * n))
        self.P = np.zeros((2 * n, n))                        # nodal q -> nodal forces
        for e in range(n - 1):
            L = self.x[e + 1] - self.x[e]
            middle = 0.5 * (self.x[e] + self.x[e + 1])
            section = body if abs(middle) <= half_face + 1e-9 else journal
            dofs = slice(2 * e, 2 * e + 4)
            K[dofs, dofs] += element_stiffness(section, L)
            if self.loaded[e]:
                self.P[dofs, e:e + 2] += element_load(L)
        supports = [self.node(p) for p in geometry.bearing_positions]
        self.free = np.setdiff1d(np.arange(2 * n), [2 * k for k in supports])
        self.K = K
        self.K_free_inverse = np.linalg.inv(K[np.ix_(self.free, self.free)])

    def node(self, position: float) -> int:
        k = int(np.argmin(np.abs(self.x - position)))
        if abs(self.x[k] - position) > 1e-9 * max(1.0, abs(position)):
            raise ValueError(f"no roll node at x = {position} mm")
        return k

    def solve(self, forces: np.ndarray) -> np.ndarray:
        """Nodal dofs (w, theta interleaved) under the nodal force vector (bearings w = 0)."""
        u = np.zeros(2 * len(self.x))
        u[self.free] = self.K_free_inverse @ forces[self.free]
        return u

    def deflection(self, q: np.ndarray) -> np.ndarray:
        """w at every node under the line load with nodal values q (N/mm) and the bending
        forces."""
        return self.solve(self.P @ q + self.bending_forces())[0::2]

    def influence(self, nodes: np.ndarray, load_map: np.ndarray) -> np.ndarray:
        """G[i, j]: w at node nodes[i] per unit value q_j of a line load whose nodal values
        are load_map @ q (mm per N/mm); w = G q + w_bending on those nodes."""
        W = np.zeros((2 * len(self.x), load_map.shape[1]))
        W[self.free] = self.K_free_inverse @ (self.P @ load_map)[self.free]
        return W[0::2][nodes]

    def bending_forces(self) -> np.ndarray:
        f = np.zeros(2 * len(self.x))
        g = self.geometry
        if g.bending_force != 0.0:
            for end in g.ends():
                f[2 * self.node(end)] += g.bending_force
        return f

    def bending_deflection(self) -> np.ndarray:
        return self.solve(self.bending_forces())[0::2]

    def reactions(self, q: np.ndarray) -> np.ndarray:
        """Bearing forces (N, toward the web: they hold the roll against the nip)."""
        forces = self.P @ q + self.bending_forces()
        residual = self.K @ self.solve(forces) - forces   # what the bearings apply, along +w
        return np.array([-residual[2 * self.node(p)] for p in self.geometry.bearing_positions])


def roll_nodes(geometry: RollGeometry, web_points: np.ndarray,
               element_length: float = 10.0) -> np.ndarray:
    """The beam's nodes: the web points, the face edges, bearings and journal ends, and enough
    nodes between them that no element is longer than `element_length` (mm)."""
    left, right = geometry.ends()
    half = 0.5 * geometry.face_length
    keys = np.unique(np.concatenate([
        web_points, [left, right, -half, half], geometry.bearing_positions]))
    nodes = [keys[0]]
    for a, b in zip(keys[:-1], keys[1:]):
        parts = max(1, math.ceil((b - a) / element_length - 1e-9))
        nodes.extend(a + (b - a) * np.arange(1, parts + 1) / parts)
    out = np.array(nodes)
    keep = np.concatenate([[True], np.diff(out) > 1e-9])
    return out[keep]
