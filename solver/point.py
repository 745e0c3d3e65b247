"""Material-point driver: run one material point of a law through a strain path.

A user checks a calibration here before meshing.  All paths keep the principal axes fixed
(diagonal stretch U = diag(exp(eps_1), exp(eps_2), exp(eps_3))), so the logarithmic strain is
exact and additive, and the trial elastic log strain of a step is, exactly,

    eps_trial = eps_e,n + (eps_n+1 - eps_n)

(what the finite-strain layer computes from F Cp^-1 F^T for such a path).  Axis 3 is the axial
(loading) direction, axes 1 and 2 are lateral.  Stresses reported are Cauchy, sigma = tau / J
with J = exp(tr eps); porosity = 1 - (1 - porosity0) / J (solid-mass conservation).

Sign convention (the project's): strains and stresses are tension-positive (a compressive
log strain or Cauchy stress is negative); the pressures are compression-positive: the mean
pressure p = -tr(sigma)/3, the cap hardening pressure and the cap apex pressure. q is the von
Mises stress (>= 0).

The CSV (`write_csv`, `nipstack point`) names every column with its unit in brackets and, where
a sign matters, its convention in parentheses (POINT_COLUMNS), e.g.

    step [-],stage [0=confine 1=load 2=hold 3=unload],time [s],strain_zz [-] (log; tension +),
    strain_xx [-] (log; tension +),porosity [-],p [MPa] (-tr(sigma)/3; compression +),
    q [MPa] (von Mises),stress_zz [MPa] (Cauchy; tension +),stress_xx [MPa] (Cauchy;
    tension +),cap_pressure [MPa] (compression +),...

z (axis 3) is the axial direction, x (axis 1, = axis 2) lateral. The dictionary that
`run_path` returns keeps the short keys (axial_strain, mean_stress, ...; the same values).

Paths (strains are log strains, compression negative):

    hydrostatic       eps = (-e, -e, -e), e ramped to max_strain
    uniaxial-strain   eps = (0, 0, -e): the flat-press / oedometer state
    triaxial          lateral Cauchy stress held at -confining_pressure (axisymmetric Newton on
                      the lateral strain with the tangent D): first an isotropic ramp of the
                      mean stress to confining_pressure, then axial compression by max_strain

Optional stages: a hold at fixed strain for hold_time (rate-dependent laws relax), then
unloading, stress-controlled in ``steps`` steps, back to the axial stress at which axial
loading began (0 for hydrostatic and uniaxial strain, -confining_pressure for triaxial).

The porosity limit: a porous material compacted past fully dense (J < 1 - porosity0, so
porosity < 0) is a state solid-mass conservation forbids. With stop_at_porosity_limit
(`nipstack point`) the path stops at the first such step with PorosityLimit, which carries the
admissible part; the CLI writes that part to `<name>.incomplete.csv`, never to the CSV asked
for, and exits 3, as `nipstack run` publishes a run that stopped early as INCOMPLETE.
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

PATHS = ("hydrostatic", "uniaxial-strain", "triaxial")
#: stage codes in the ``stage`` column
CONFINE, LOAD, HOLD, UNLOAD = 0, 1, 2, 3
AXIAL, LATERAL, ALL = (2,), (0, 1), (0, 1, 2)
STAGE_NAMES = {CONFINE: "confining", LOAD: "loading", HOLD: "hold", UNLOAD: "unloading"}


class PorosityLimit(RuntimeError):
    """The path compacts a porous material past fully dense (porosity < 0). `result` is the
    admissible part of the path (run_path's columns, up to the last step with porosity >= 0)."""

    def __init__(self, message: str, result: dict[str, np.ndarray]):
        super().__init__(message)
        self.result = result


class MaterialPoint:
    """One material point: its law, history and current diagonal total log strain."""

    def __init__(self, law, dt):
        self.law = law
        self.dt = dt
        self.state = law.initial_state(1)
        self.eps_e = np.zeros((1, 6))
        self.strain = np.zeros(3)
        self.tau = np.zeros(6)
        self.time = 0.0

    def trial(self, strain, dt):
        eps_trial = self.eps_e.copy()
        eps_trial[0, :3] += strain - self.strain
        return self.law.update(eps_trial, self.state, dt)

    def advance(self, strain, stress_targets=(), dt=None, max_iter=30):
        """Move to total strain `strain`, adjusting the groups of components named in
        stress_targets [(components, target Cauchy stress)] until their stress is reached."""
        dt = self.dt if dt is None else dt
        strain = np.array(strain, dtype=float)
        for _ in range(max_iter):
            tau, tangent, eps_e, state = self.trial(strain, dt)
            jac_det = np.exp(strain.sum())
            sigma = tau[0, :3] / jac_det
            residual = np.array([sigma[group[0]] - target for group, target in stress_targets])
            scale = max(1.0, np.max(np.abs([t for _, t in stress_targets]), initial=0.0))
            if residual.size == 0 or np.max(np.abs(residual)) < 1e-10 * scale:
                break
            # d sigma_i / d v_g for the group strain v_g (all components of g move together)
            jac = np.array([[(tangent[0, gi[0], list(gj)].sum() - tau[0, gi[0]] * len(gj))
                             / jac_det for gj, _ in stress_targets]
                            for gi, _ in stress_targets])
            delta = np.linalg.solve(jac, -residual)
            for (group, _), dv in zip(stress_targets, delta):
                strain[list(group)] += dv
        else:
            raise RuntimeError(f"material-point driver: stress control did not converge "
                               f"(residual {residual}, strain {strain})")
        self.eps_e, self.state, self.tau = eps_e, state, tau[0]
        self.strain = strain
        self.time += dt


def _record(point, step, stage, rows, stop_at_porosity_limit=False):
    law = point.law
    jac_det = np.exp(point.strain.sum())
    sigma = point.tau / jac_det
    p = -sigma[:3].mean()
    s = sigma.copy()
    s[:3] += p
    row = {
        "step": step, "stage": stage, "time": point.time,
        "axial_strain": point.strain[2], "lateral_strain": point.strain[0],
        "porosity": 1.0 - (1.0 - law.initial_porosity) / jac_det,
        "mean_stress": p, "equivalent_stress": np.sqrt(1.5 * s @ s),
        "axial_stress": sigma[2], "lateral_stress": sigma[0],
    }
    for key in ("cap_pressure", "plastic_volumetric_strain", "equivalent_plastic_strain"):
        if key in point.state:
            row[key] = float(point.state[key][0])
    if hasattr(law, "yield_functions"):
        for key, value in law.yield_functions(point.tau[None, :], point.state).items():
            row[key] = float(value[0])
    if "active_surface" in point.state:
        code = int(point.state["active_surface"][0])
        row.update(on_shear=int(code == 1), on_transition=int(code == 2), on_cap=int(code == 3))
    rows.append(row)
    if stop_at_porosity_limit and law.initial_porosity > 0.0 and row["porosity"] < 0.0:
        raise PorosityLimit(_porosity_limit_message(rows, law.initial_porosity),
                            _columns(rows[:-1]))


def _porosity_limit_message(rows, porosity0) -> str:
    """Where the path crossed porosity 0: the last admissible strain and the first beyond."""
    last, beyond = rows[-2], rows[-1]
    return (f"porosity limit: in the {STAGE_NAMES[beyond['stage']]} stage, step "
            f"{beyond['step']}, the axial log strain {beyond['axial_strain']:.4g} gives "
            f"porosity {beyond['porosity']:.3g} < 0 (compacted past fully dense: porosity 0 is "
            f"at the volumetric log strain ln(1 - porosity0) = {np.log(1.0 - porosity0):.4g}); "
            f"the last admissible step, {last['step']}, reached the axial log strain "
            f"{last['axial_strain']:.4g} (porosity {last['porosity']:.3g})")


def _columns(rows) -> dict[str, np.ndarray]:
    """run_path's columns (NaN where a row has no entry)."""
    keys = list(rows[0])
    return {key: np.array([row.get(key, np.nan) for row in rows]) for key in keys}


def run_path(law, path: str, steps: int = 50, max_strain: float = 0.3,
             confining_pressure: float = 0.0, unload: bool = True, dt: float = 1.0,
             hold_time: float = 0.0, hold_steps: int = 50, time: float | None = None,
             stop_at_porosity_limit: bool = False) -> dict[str, np.ndarray]:
    """Run one material point of `law` along `path` and return the columns as arrays.

    steps : load steps (also used for the confining ramp and for unloading)
    max_strain : magnitude of the axial log strain applied in the loading stage (-)
    confining_pressure : lateral Cauchy pressure of the triaxial path, MPa (compression +)
    dt : time per load/unload step, s;  hold_time, hold_steps : optional hold at fixed strain
    time : duration of the loading stage, s; if given, dt = time / steps
    stop_at_porosity_limit : raise PorosityLimit (with the admissible part) at the first step
        of a porous material with porosity < 0
    """
    if path not in PATHS:
        raise ValueError(f"unknown path {path!r}; expected one of {', '.join(PATHS)}")
    if path == "triaxial" and confining_pressure < 0.0:
        raise ValueError("confining_pressure is a pressure (>= 0 MPa)")
    if time is not None:
        if not time > 0.0:
            raise ValueError(f"time (duration of loading) must be > 0 s, got {time}")
        dt = time / steps
    point = MaterialPoint(law, dt)
    rows: list[dict] = []
    step, limit = 0, stop_at_porosity_limit
    _record(point, step, CONFINE if path == "triaxial" else LOAD, rows, limit)

    lateral_control = ()
    if path == "triaxial":
        for k in range(1, steps + 1):
            target = -confining_pressure * k / steps
            point.advance(point.strain, [(ALL, target)])
            step += 1
            _record(point, step, CONFINE, rows, limit)
        lateral_control = ((LATERAL, -confining_pressure),)
    start = point.strain.copy()
    start_axial_stress = point.tau[2] / np.exp(point.strain.sum())
    direction = {"hydrostatic": np.array([-1.0, -1.0, -1.0]),
                 "uniaxial-strain": np.array([0.0, 0.0, -1.0]),
                 "triaxial": np.array([0.0, 0.0, -1.0])}[path]
    for k in range(1, steps + 1):
        strain = start + direction * max_strain * k / steps
        if lateral_control:
            strain[:2] = point.strain[:2]
        point.advance(strain, lateral_control)
        step += 1
        _record(point, step, LOAD, rows, limit)
    for k in range(1, hold_steps + 1 if hold_time > 0.0 else 1):
        point.advance(point.strain, lateral_control, dt=hold_time / hold_steps)
        step += 1
        _record(point, step, HOLD, rows, limit)
    if unload:
        peak = point.tau[2] / np.exp(point.strain.sum())
        group = ALL if path == "hydrostatic" else AXIAL
        for k in range(1, steps + 1):
            target = peak + (start_axial_stress - peak) * k / steps
            point.advance(point.strain, ((group, target),) + lateral_control)
            step += 1
            _record(point, step, UNLOAD, rows, limit)
    return _columns(rows)


#: CSV column name of each run_path key: the unit in brackets, the sign convention where a
#: sign matters (strains and stresses tension +, pressures compression +; module docstring)
POINT_COLUMNS = {
    "step": "step [-]",
    "stage": "stage [0=confine 1=load 2=hold 3=unload]",
    "time": "time [s]",
    "axial_strain": "strain_zz [-] (log; tension +)",
    "lateral_strain": "strain_xx [-] (log; tension +)",
    "porosity": "porosity [-]",
    "mean_stress": "p [MPa] (-tr(sigma)/3; compression +)",
    "equivalent_stress": "q [MPa] (von Mises)",
    "axial_stress": "stress_zz [MPa] (Cauchy; tension +)",
    "lateral_stress": "stress_xx [MPa] (Cauchy; tension +)",
    "cap_pressure": "cap_pressure [MPa] (compression +)",
    "plastic_volumetric_strain": "plastic_volumetric_strain [-] (ln J_p; tension +)",
    "equivalent_plastic_strain": "equivalent_plastic_strain [-]",
    "shear_function": "shear_function [MPa] (> 0 outside)",
    "cap_function": "cap_function [MPa] (> 0 outside)",
    "transition_function": "transition_function [MPa] (> 0 outside)",
    "cap_apex_pressure": "cap_apex_pressure [MPa] (compression +)",
    "yield_function": "yield_function [MPa] (> 0 outside)",
    "on_shear": "on_shear [0/1]",
    "on_transition": "on_transition [0/1]",
    "on_cap": "on_cap [0/1]",
}


def column_name(key: str) -> str:
    """The CSV column of a run_path key (a key without an entry in POINT_COLUMNS, from a law
    added later, is marked '[unit?]' rather than passed off as dimensionless)."""
    return POINT_COLUMNS.get(key, f"{key} [unit?]")


#: how every CSV of `nipstack point` begins (the CLI replaces only such a file); the second
#: is the header before the units were added, so that an older CSV can still be replaced
POINT_CSV_HEADER = f"{POINT_COLUMNS['step']},{POINT_COLUMNS['stage']},".encode()
POINT_CSV_HEADERS = (POINT_CSV_HEADER, b"step,stage,time,axial_strain,")


def is_point_csv(path) -> bool:
    """True if `path` is a regular file that begins like a CSV written by `nipstack point`
    (this version's header or the one before the units)."""
    path = Path(path)
    if not path.is_file():
        return False
    with open(path, "rb") as stream:
        start = stream.read(max(len(h) for h in POINT_CSV_HEADERS))
    return any(start.startswith(header) for header in POINT_CSV_HEADERS)


def destination_problem(out, overwrite: bool) -> str:
    """What keeps `nipstack point` from writing `out` (or, for a path that stops at the
    porosity limit, its incomplete_csv sibling), or '' (checked before the path runs): it
    replaces only a CSV it wrote, and `out` only with `overwrite`."""
    out = Path(out)
    if out.exists() or out.is_symlink():
        if not is_point_csv(out):
            return (f"--out '{out}' exists and is not a CSV written by `nipstack point`; "
                    f"give a new name")
        if not overwrite:
            return f"--out '{out}' exists; pass --overwrite to replace it"
    sibling = incomplete_csv(out)
    if (sibling.exists() or sibling.is_symlink()) and not is_point_csv(sibling):
        return (f"'{sibling}' exists and is not a CSV written by `nipstack point`; nipstack "
                f"needs that name for a path that stops early (move it away)")
    return ""


def write_csv(result: dict[str, np.ndarray], path) -> Path:
    """Write the columns of a run_path result to a CSV file; the header names each column
    with its unit and sign convention (POINT_COLUMNS)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    keys = list(result)
    with open(path, "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow([column_name(key) for key in keys])
        for i in range(len(result[keys[0]])):
            writer.writerow([f"{result[key][i] + 0.0:.10g}" for key in keys])   # no '-0'
    return path


def incomplete_csv(path) -> Path:
    """Where `nipstack point` writes the admissible part of a path that stopped at the porosity
    limit: `<name>.incomplete.csv` beside the CSV asked for."""
    path = Path(path)
    return path.with_name(f"{path.stem}.incomplete{path.suffix or '.csv'}")


def point_main(card, path: str, out_csv, overrides: dict | None = None, **options):
    """CLI entry: load a material card (name or path), run the path, write the CSV. A path
    past the porosity limit writes its admissible part to incomplete_csv(out_csv) (not
    out_csv) and raises PorosityLimit."""
    from .materials.cards import load_card

    law = load_card(card, overrides=overrides)
    try:
        result = run_path(law, path, stop_at_porosity_limit=True, **options)
    except PorosityLimit as exc:
        write_csv(exc.result, incomplete_csv(out_csv))
        raise
    write_csv(result, out_csv)
    return result
