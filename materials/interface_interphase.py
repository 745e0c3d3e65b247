r"""A growing interphase (SEI / CEI) between two stack layers: an elastic layer whose thickness
follows the parabolic growth law, under a clamp.

Seed 003 (solid-state contact loss, "growth of resistive interphases"):

    growth, diffusion-limited:   h(t)^2 - h0^2 = 2 Omega D c_inf t
    clamp pressure:              p(t) = E' delta / h(t)

h0 the initial thickness (mm), Omega the molar volume of the interphase (mm^3/mol), D the
diffusivity of the reacting species across it (mm^2/s), c_inf its concentration difference
(mol/mm^3; Omega c_inf is dimensionless), so 2 Omega D c_inf is a parabolic rate constant in
mm^2/s.  The seed's set-up: a stack held by its casing at a fixed total displacement delta, the
interphase of modulus E' carrying all of it (the neighbours rigid).  Reading Hooke's law
p = E' delta / h: the interphase is a layer of natural thickness h(t) squeezed by delta, and
the squeeze does not change while it grows, i.e. the new interphase fills exactly the volume the
reaction consumes from the electrode and the electrolyte (their unreacted faces stay where the
casing holds them).  So

    delta   = the interphase's closure, minus the normal jump of the interface: -g_n, mm
    E'      = its through-thickness modulus, MPa; for a thin layer bonded between neighbours
              that keep it from spreading sideways, that is the constrained (oedometric)
              modulus E (1 - nu) / ((1 + nu)(1 - 2 nu)) of the interphase material, not E

and the interphase is a spring layer whose compliance h(t)/E' grows with the thickness (the
linear spring layer of interface elements, Schellekens & de Borst 1993, Int. J. Numer. Meth.
Eng. 36, 43, with a time-dependent thickness):

    g_eff = g_n - chi (h(t) - h0)
    t_n   = (E' / h(t)) g_eff,            t_t = (G' / h(t)) g_t         (closed: g_eff <= 0)
    t_n   = 0,                            t_t = 0                        (open:   g_eff >  0)

chi (``growth_expansion``, default 0) is the part of the thickness growth that is *not* taken
from consumed neighbour material and so pushes the faces apart (a reaction product occupying
more volume than the reactants); chi = 0 is the seed's model: under a fixed jump g_n = -delta
the pressure is exactly p(t) = E' delta / h(t).  With chi > 0 the clamp pressure is
E' (delta + chi (h - h0)) / h(t).  The interphase carries no tension by default: when the
pressure would become tensile the faces separate (contact loss, t = 0; ``adhesive = True`` keeps
the linear law in tension, a bonded interphase).  The tangential spring G'/h(t) (default
G' = E'/2, the shear modulus of an isotropic layer with nu = 0, for which M = E) acts only while
the interphase is in contact; it is elastic and reversible (no friction, no slip history).

Each update evaluates h at the end of the step from the closed form, so the growth is exact for
any step size; the law keeps its own clock (state["time"] += dt, the time since the interphase
had thickness h0).  The tangent is exact: d t / d jump = diag(E', G', G') / h closed, 0 open
(the closed branch at g_eff = 0 exactly, so that an untouched interface has stiffness).

Under a clamp the neighbours are not rigid: with their through-thickness compliance C (mm/MPa:
sum of h_i / M_i of the layers and the plate) the pressure is p = delta / (h(t)/E' + C), the
seed's formula being the limit C << h/E'.  Units mm, MPa, s.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .interface_base import check_state, gap_fields, split_jump

_STATE_KEYS = ("time",)


@dataclass
class InterphaseGrowth:
    """Elastic interphase layer of parabolically growing thickness h(t) (contact when closed).

    normal_modulus E' and shear_modulus G' (default E'/2) in MPa; initial_thickness h0 in mm;
    molar_volume Omega (mm^3/mol), diffusivity D (mm^2/s), concentration c_inf (mol/mm^3);
    growth_expansion chi (-, default 0); adhesive: carry tension too (default False).
    """

    normal_modulus: float
    initial_thickness: float
    molar_volume: float
    diffusivity: float
    concentration: float
    shear_modulus: float | None = None
    growth_expansion: float = 0.0
    adhesive: bool = False
    name: str = "interphase"
    output_fields: dict = field(default_factory=lambda: {
        "gap_normal": "mm", "gap_tangential": "mm", "contact_pressure": "MPa",
        "interphase_thickness": "mm"})

    def __post_init__(self):
        if not self.normal_modulus > 0.0:
            raise ValueError(f"normal_modulus must be > 0 MPa, got {self.normal_modulus}")
        if self.shear_modulus is None:
            self.shear_modulus = 0.5 * self.normal_modulus
        if not self.shear_modulus > 0.0:
            raise ValueError(f"shear_modulus must be > 0 MPa, got {self.shear_modulus}")
        if not self.initial_thickness > 0.0:
            raise ValueError(f"initial_thickness must be > 0 mm, got {self.initial_thickness}")
        for key in ("molar_volume", "diffusivity", "concentration", "growth_expansion"):
            if not getattr(self, key) >= 0.0:
                raise ValueError(f"{key} must be >= 0, got {getattr(self, key)}")

    @property
    def parabolic_rate(self) -> float:
        """2 Omega D c_inf, mm^2/s."""
        return 2.0 * self.molar_volume * self.diffusivity * self.concentration

    def thickness(self, time):
        """h(t) = sqrt(h0^2 + 2 Omega D c_inf t), mm (t in s since the thickness was h0)."""
        return np.sqrt(self.initial_thickness ** 2
                       + self.parabolic_rate * np.asarray(time, dtype=float))

    def clamp_pressure(self, squeeze, time, compliance: float = 0.0):
        """Pressure of a clamp that squeezes interphase + neighbours by `squeeze` (mm) at time t:
        (squeeze + chi (h - h0)) / (h/E' + C), C the neighbours' compliance (mm/MPa); with C = 0
        and chi = 0 the seed's E' delta / h(t). Tension is cut to 0 unless adhesive."""
        h = self.thickness(time)
        p = (np.asarray(squeeze, dtype=float) + self.growth_expansion
             * (h - self.initial_thickness)) / (h / self.normal_modulus + compliance)
        return p if self.adhesive else np.maximum(p, 0.0)

    def initial_state(self, n_points: int) -> dict[str, np.ndarray]:
        return {"time": np.zeros(n_points),
                "interphase_thickness": np.full(n_points, float(self.initial_thickness)),
                "gap_normal": np.zeros(n_points), "gap_tangential": np.zeros(n_points),
                "contact_pressure": np.zeros(n_points)}

    def update(self, jump, state, dt):
        if not dt >= 0.0:
            raise ValueError(f"step time dt must be >= 0 s, got {dt}")
        g_n, g_t = split_jump(jump)
        n_points, m = g_n.shape[0], g_t.shape[1] + 1
        check_state(state, _STATE_KEYS, n_points, self.name)
        time = state["time"] + dt
        h = self.thickness(time)
        g_eff = g_n - self.growth_expansion * (h - self.initial_thickness)
        closed = np.ones(n_points, dtype=bool) if self.adhesive else g_eff <= 0.0
        k_n = np.where(closed, self.normal_modulus / h, 0.0)
        k_t = np.where(closed, self.shear_modulus / h, 0.0)
        traction = np.empty((n_points, m))
        traction[:, 0] = k_n * g_eff
        traction[:, 1:] = k_t[:, None] * g_t
        tangent = np.zeros((n_points, m, m))
        tangent[:, 0, 0] = k_n
        for i in range(1, m):
            tangent[:, i, i] = k_t
        new_state = {"time": time, "interphase_thickness": h, **gap_fields(jump),
                     "contact_pressure": -traction[:, 0]}
        return traction, tangent, new_state
