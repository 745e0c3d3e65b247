r"""Lithiation swelling: an isotropic eigenstrain added to any bulk law (Vegard's law).

Electrode materials change volume when lithium enters or leaves them (graphite ~ +10 %, silicon
up to +300 %, NMC a few per cent; LLZO and copper not at all).  A volume-changing layer bonded to
a stiff neighbour, or held by a clamp, is stressed by that change.  Seed 003 (solid-state contact
loss) writes the swelling as an eigenstrain proportional to the concentration (Vegard's law),

    eps_sw = beta (c - c0) I,

beta the Vegard coefficient (linear strain per unit of the concentration measure: per mol/mm^3,
or per unit state of charge when c is the SOC), c0 the concentration of the unswollen
(meshed) layer.  For a film of thickness h_e bonded to a rigid substrate with a concentration
gradient dc/dx, equilibrium of the film then gives the interface shear traction
tau_i = M_e h_e beta dc/dx (seed 003; M_e = E/(1 - nu) the biaxial modulus, see
tests/test_eigenstrain_interphase.py for the derivation in plane strain).

Concentration field.  A piecewise-linear history in time with an optional linear gradient along
one axis (``gradient_axis``, 0 = x):

    c(X, t) = c(t) + (dc/dx)(t) (X - x_ref),

c(t) and (dc/dx)(t) linearly interpolated in the table (times, concentration,
concentration_gradient) and held constant before the first and after the last time.  X is the
reference coordinate of the material point.  The law keeps its own clock: state["time"] grows
by dt in every update, so the solver passes nothing but dt.  The coordinates are bound once by
the solver (``MechanicsProblem`` calls ``bind_coordinates(state, X)`` for every law that has
it); a point never bound (the material-point driver) sits at X = x_ref and sees c(t) only.

Finite strain (the contract of ``base.py``).  The eigenstrain is a log strain: the free swelling
stretch is exp(s) I with s = beta (c - c0), i.e. the volume ratio J_sw = exp(3 s); a measured
free volume change dV/V gives beta (c - c0) = ln(1 + dV/V) / 3 exactly (for small strains
beta (c - c0) = dV/(3V), the usual linear Vegard law).  Being isotropic it commutes with every
tensor, so the multiplicative split F = F_e F_in F_sw is exact and additive in log strain.  The
kinematics layer already carries the swelling of earlier steps in Cp, so in a step the inner law
sees the trial strain minus the swelling *increment* of the step,

    eps_trial,inner = eps_trial - (s_n+1 - s_n) I,

and the returned elastic strain eps_e is the inner law's: the swelling is stored in Cp like an
inelastic strain and accumulates.  The inner law's constants hold per unit volume of the swollen
material (free energy per reference volume W = J_sw psi(eps_e): Lu & Pister 1975, Int. J.
Solids Struct. 11, 927, for thermal expansion; Vujosevic & Lubarda 2002, Theor. Appl. Mech. 28,
379), so the Kirchhoff stress and the tangent are those of the inner law times J_sw,

    tau = J_sw tau_inner(eps_trial,inner),        D = J_sw D_inner.

Then the Cauchy stress is the inner law's response to its elastic strain in the swollen
material (Hencky: sigma = C : eps_e / J_e), and a DPC inner law evaluates its yield surfaces on
the actual Cauchy stress.  The eigenstrain does not depend on the strain, so D is exact.

Porosity of a porous (DPC) layer.  The solver's generic porosity 1 - (1 - phi0)/J assumes a
constant solid volume; under swelling the solid grows.  This law assumes the swelling of the
porous electrode is the swelling of its solid skeleton at unchanged porosity (free swelling
leaves the porosity at phi0; beta is the electrode-level coefficient, e.g. from dilatometry of
the coating), so the solid volume is J_sw V_s0 and

    porosity = 1 - (1 - phi0) J_sw / J,       J = det F.

The law outputs this as its "porosity" field, which replaces the generic one in
``MechanicsProblem.region_fields`` (fields for ParaView); J is known to the law because
ln J = tr(eps_trial) + ln J_in,n, ln J_in being the log volume of everything stored in Cp (the
state keeps it).  The inner law's own compaction variables (the DPC's plastic volumetric strain
and its relative density) exclude the swelling and so describe the pore space.  If particles
swell into the pores instead (electrode swelling smaller than the solid's), beta of the electrode
is smaller than the particles' and this porosity is an upper bound.  Dense layers (phi0 = 0)
have no porosity output.

Every attribute the wrapper does not define itself is read from the inner law
(``youngs_modulus``, ``poisson_ratio``, ``effective_youngs_modulus``, ...), so the solver's
helpers that size penalties from a layer's modulus see the inner law.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .base import IDENTITY

#: state entries of the wrapper (the inner law's entries sit beside them, flat)
SWELLING_KEYS = ("time", "concentration", "swelling_strain", "swelling_coordinate",
                 "inelastic_log_volume", "porosity")


def _history(values, name, n_times):
    values = np.atleast_1d(np.asarray(values, dtype=float))
    if values.ndim != 1 or len(values) != n_times:
        raise ValueError(f"{name} must be a list of {n_times} numbers (one per time), got "
                         f"{values.tolist()}")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name} must be finite, got {values.tolist()}")
    return values


@dataclass
class LithiationSwelling:
    """Isotropic Vegard eigenstrain beta (c(X, t) - c0) around an inner bulk law.

    inner : any bulk law (elastic, j2, dpc, viscoelastic, ...).
    vegard_coefficient beta : log (linear) strain per unit concentration (1/(mol/mm^3), or per
        unit state of charge).
    times (s), concentration (c at those times), concentration_gradient (dc/dx at those times,
        per mm; default 0): the piecewise-linear history; reference_concentration c0 (c of the
        meshed, unswollen layer); gradient_origin x_ref (mm) and gradient_axis (0, 1, 2) of the
        linear profile.
    """

    inner: object
    vegard_coefficient: float
    times: object
    concentration: object
    concentration_gradient: object = None
    reference_concentration: float = 0.0
    gradient_origin: float = 0.0
    gradient_axis: int = 0
    name: str = "swelling"
    output_fields: dict = field(init=False, default=None)

    def __post_init__(self):
        if not np.isfinite(self.vegard_coefficient):
            raise ValueError(f"vegard_coefficient must be finite, got {self.vegard_coefficient}")
        times = np.atleast_1d(np.asarray(self.times, dtype=float))
        if times.ndim != 1 or len(times) < 1 or not np.all(np.isfinite(times)):
            raise ValueError(f"times must be a list of finite times in s, got {self.times}")
        if np.any(np.diff(times) <= 0.0):
            raise ValueError(f"times must be strictly increasing, got {times.tolist()}")
        self.times = times
        self.concentration = _history(self.concentration, "concentration", len(times))
        self.concentration_gradient = np.zeros(len(times)) if \
            self.concentration_gradient is None else \
            _history(self.concentration_gradient, "concentration_gradient", len(times))
        if self.gradient_axis not in (0, 1, 2):
            raise ValueError(f"gradient_axis must be 0, 1 or 2, got {self.gradient_axis}")
        self._inner_keys = tuple(self.inner.initial_state(1))
        clash = set(self._inner_keys) & set(SWELLING_KEYS)
        if clash:
            raise ValueError(f"the inner law's state uses the names {sorted(clash)} that the "
                             "swelling wrapper needs")
        fields = dict(getattr(self.inner, "output_fields", {}) or {})
        fields.update(concentration="-", swelling_strain="-")
        if self.initial_porosity > 0.0:
            fields["porosity"] = "-"
        self.output_fields = fields

    def __getattr__(self, name):
        # only called for attributes the wrapper lacks: the inner law's moduli, tables, ...
        if name.startswith("__") or name in ("inner", "_inner_keys"):
            raise AttributeError(name)
        return getattr(self.inner, name)

    @property
    def initial_porosity(self) -> float:
        return float(getattr(self.inner, "initial_porosity", 0.0) or 0.0)

    # --- the concentration history -------------------------------------------------------
    def mean_concentration(self, time):
        """c(t) of the table (at X = x_ref)."""
        return np.interp(time, self.times, self.concentration)

    def gradient(self, time):
        """(dc/dx)(t) of the table, per mm."""
        return np.interp(time, self.times, self.concentration_gradient)

    def concentration_at(self, coordinate, time):
        """c(X, t) = c(t) + (dc/dx)(t) (X - x_ref) at reference coordinates X (mm)."""
        return self.mean_concentration(time) + self.gradient(time) * (
            np.asarray(coordinate, dtype=float) - self.gradient_origin)

    def swelling_strain(self, coordinate, time):
        """s = beta (c(X, t) - c0): the log strain of free swelling in every direction."""
        return self.vegard_coefficient * (self.concentration_at(coordinate, time)
                                          - self.reference_concentration)

    # --- protocol ---------------------------------------------------------------------------
    def initial_state(self, n_points: int) -> dict[str, np.ndarray]:
        state = dict(self.inner.initial_state(n_points))
        state.update({
            "time": np.zeros(n_points),                                 # s
            "concentration": np.full(n_points, self.reference_concentration),
            "swelling_strain": np.zeros(n_points),                      # s of the meshed layer
            "swelling_coordinate": np.full(n_points, self.gradient_origin),   # X, mm
            "inelastic_log_volume": np.zeros(n_points),                 # ln det of Cp^(1/2)
            "porosity": np.full(n_points, self.initial_porosity),
        })
        return state

    def bind_coordinates(self, state, coordinates):
        """A copy of `state` whose points sit at the reference coordinates (n, gdim), mm."""
        coordinates = np.asarray(coordinates, dtype=float)
        n = len(state["time"])
        if coordinates.ndim != 2 or coordinates.shape[0] != n:
            raise ValueError(f"coordinates must have shape ({n}, gdim), got {coordinates.shape}")
        if self.gradient_axis >= coordinates.shape[1] and np.any(self.concentration_gradient):
            raise ValueError(f"gradient_axis {self.gradient_axis} does not exist in "
                             f"{coordinates.shape[1]}D")
        new_state = {key: np.array(value, copy=True) for key, value in state.items()}
        if self.gradient_axis < coordinates.shape[1]:
            new_state["swelling_coordinate"] = coordinates[:, self.gradient_axis].copy()
        return new_state

    def update(self, eps_trial, state, dt):
        if not dt >= 0.0:
            raise ValueError(f"step time dt must be >= 0 s, got {dt}")
        eps_trial = np.asarray(eps_trial, dtype=float)
        time = state["time"] + dt
        concentration = self.concentration_at(state["swelling_coordinate"], time)
        swelling = self.vegard_coefficient * (concentration - self.reference_concentration)
        increment = swelling - state["swelling_strain"]
        inner_state = {key: state[key] for key in self._inner_keys}
        tau, tangent, eps_e, new_inner = self.inner.update(
            eps_trial - increment[:, None] * IDENTITY, inner_state, dt)
        volume_ratio = np.exp(3.0 * swelling)                           # J_sw
        log_jacobian = eps_trial[:, :3].sum(axis=1) + state["inelastic_log_volume"]   # ln J
        new_state = dict(new_inner)
        new_state.update({
            "time": time,
            "concentration": concentration,
            "swelling_strain": swelling,
            "swelling_coordinate": state["swelling_coordinate"].copy(),
            "inelastic_log_volume": log_jacobian - eps_e[:, :3].sum(axis=1),
            "porosity": 1.0 - (1.0 - self.initial_porosity) * np.exp(3.0 * swelling
                                                                     - log_jacobian),
        })
        return (volume_ratio[:, None] * tau, volume_ratio[:, None, None] * tangent, eps_e,
                new_state)
