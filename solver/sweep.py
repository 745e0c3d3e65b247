"""Parameter sweep: run one case once per value of a case field, tabulate, fit compaction.

    nipstack sweep CASE --param KEY=V1,V2,... [--set key=value ...] [--out DIR]
                        [--ranks-per-run N] [--fit X_KEY,Y_KEY]
                        [--threshold Y_KEY=LEVEL[@X_KEY] ...]

Each point is the case with `--set KEY=Vi` applied after the other overrides, run by `run_case`
into `DIR/KEY=Vi/` (its own atomic results folder). Every point's case is validated before the
first one runs. The sweep folder itself is written atomically (`.DIR.partial`, renamed at the
end) and holds:

    sweep.csv            one row per point: index, the parameter value, status, every scalar
                         (numeric) summary entry
    sweep.json           the same rows plus the sweep's inputs and the fit
    compaction_fit.json  the compaction-resistance model through the points (with >= 3
                         complete points whose porosity changes): "kind" is "fit" (more
                         points than the 3 parameters; "fitted": true and its R^2) or
                         "interpolation" (exactly 3 points: the curve passes through them
                         whatever they are, so "fitted": false and "r_squared": null);
                         a best curve that is flat (the data change, the model cannot
                         follow them, e.g. porosity rising with a thickness as q) is not
                         written: sweep.json has "fitted": false and the reason
    thresholds           (in sweep.json, with --threshold Y_KEY=LEVEL[@X_KEY]) the value of
                         X_KEY (a summary entry; default the swept parameter) at which the
                         summary entry Y_KEY first reaches LEVEL, interpolated linearly
                         between the two complete points that bracket it, and whether Y_KEY
                         rises monotonically over the points (e.g. the measured line load at
                         which the Li | Cu contact fraction exceeds 0.99)
    compaction_fit.png   the points and the curve, its caveat in the legend
    INCOMPLETE           only if some point stopped early: which ones and why

Compaction-resistance model (Meyer, Bockholt, Haselrieder, Kwade 2017, "Characterization of
the calendering process for compaction of electrodes for lithium-ion batteries",
J. Mater. Process. Technol. 249, 172-178):

    porosity(q) = porosity_min + (porosity_0 - porosity_min) * exp(-q / gamma_c)

q is the compaction load: the line load in N/mm for calendering (Meyer's q_L), the platen
pressure in MPa for a flat press; gamma_c, the compaction resistance, has the unit of q. The
porosities are fractions (-). porosity_0 is the porosity the curve extrapolates to at q = 0,
porosity_min the porosity approached at infinite load.

Parallel layout: MPI.COMM_WORLD is split into size // N groups of N ranks
(`comm.Split(color=rank // N)`); group g runs the points g, g + groups, g + 2 groups, ... in
sequence, each on its N ranks. The rows are gathered to world rank 0, which writes the table and
the fit. Only world rank 0 prints (one ordered stream, as everywhere in nipstack): the step lines
of its own group's points; one line announcing each point, with its group, when the point starts
(rank 0 of every other group sends its announcements to world rank 0, which prints them as they
arrive, between its own step lines, so every point is announced exactly once, within about one
load step of its start); and one line per point when all have finished.
"""
from __future__ import annotations

import csv
import json
import math
import numbers
from pathlib import Path

import numpy as np

from .case import CaseError, load_case
from .output import fit_verdict, rank_zero, uniform_to_roundoff

MODEL = "porosity(q) = porosity_min + (porosity_0 - porosity_min) * exp(-q / gamma_c)"
SOURCE = ("Meyer, Bockholt, Haselrieder, Kwade (2017), J. Mater. Process. Technol. 249, "
          "172-178")
DEFAULT_Y_KEYS = ("exit_porosity", "final_porosity")


# --- inputs ---------------------------------------------------------------------------------

def parse_param(text: str) -> tuple[str, list[float]]:
    """'loading.target=20,40,60' -> ('loading.target', [20.0, 40.0, 60.0]), or CaseError."""
    if "=" not in text:
        raise CaseError(f"--param '{text}': expected KEY=V1,V2,..., e.g. loading.target=20,40,60")
    key, raw = (part.strip() for part in text.split("=", 1))
    if not key:
        raise CaseError(f"--param '{text}': no field name before '='")
    values = []
    for item in raw.split(","):
        try:
            value = float(item)
        except ValueError:
            raise CaseError(f"--param '{text}': value {item.strip()!r} is not a number") from None
        if not math.isfinite(value):
            raise CaseError(f"--param '{text}': value {item.strip()!r} is not finite")
        values.append(value)
    if len(set(values)) != len(values):
        raise CaseError(f"--param '{text}': a value is repeated")
    return key, values


def parse_fit(text: str | None) -> tuple[str | None, str | None]:
    """'x_key,y_key' -> (x_key, y_key); None -> (None, None) (the defaults)."""
    if text is None:
        return None, None
    parts = [part.strip() for part in text.split(",")]
    if len(parts) != 2 or not all(parts):
        raise CaseError(f"--fit '{text}': expected X_KEY,Y_KEY, e.g. "
                        "line_load_N_per_mm,exit_porosity")
    return parts[0], parts[1]


def parse_threshold(text: str) -> tuple[str, float, str | None]:
    """'Y_KEY=LEVEL[@X_KEY]' -> (y_key, level, x_key or None (the swept parameter)), or
    CaseError. E.g. 'contact_fraction=0.99@line_load_N_per_mm'."""
    example = "interface_copper_lithium_contact_fraction_reached_in_nip=0.99@line_load_N_per_mm"
    if "=" not in text:
        raise CaseError(f"--threshold '{text}': expected Y_KEY=LEVEL[@X_KEY], e.g. {example}")
    key, raw = (part.strip() for part in text.split("=", 1))
    raw, _, x_key = (part.strip() for part in raw.partition("@"))
    try:
        level = float(raw)
    except ValueError:
        raise CaseError(f"--threshold '{text}': level {raw!r} is not a number") from None
    if not key or not math.isfinite(level) or (_ and not x_key):
        raise CaseError(f"--threshold '{text}': expected Y_KEY=LEVEL[@X_KEY] with a finite "
                        f"level, e.g. {example}")
    return key, level, x_key or None


def value_text(value: float) -> str:
    """The value as a TOML number and folder-name part: 20.0 -> '20', 0.06 -> '0.06'."""
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def point_overrides(key: str, value: float, overrides: list[str]) -> list[str]:
    return [*overrides, f"{key}={value_text(value)}"]


def validate_points(case_path, key: str, values: list[float], overrides: list[str]):
    """Load (and so validate) every point's case before anything runs; returns the cases."""
    cases = []
    for value in values:
        try:
            case = load_case(case_path, point_overrides(key, value, overrides))
        except CaseError as exc:
            raise CaseError(f"--param {key}={value_text(value)}: {exc}") from None
        cases.append(case)
    calender = cases[0].calender
    if calender is not None:   # a swept field that the chosen control ignores sweeps nothing
        for field, control in (("calender.line_load", "line_load"), ("calender.gap", "gap")):
            if key == field and calender.control != control:
                raise CaseError(f"--param {key}: calender.control is '{calender.control}', so "
                                f"{key} is not used (add --set calender.control=\"{control}\")")
    return cases


def quantity_unit(key: str, case) -> str:
    """Unit of a parameter or summary key, for the fit report."""
    if key == "loading.target" and case.loading is not None:
        return "MPa" if case.loading.control == "pressure" else "mm"
    known = {"calender.line_load": "N/mm", "calender.gap": "mm", "calender.line_speed": "mm/s"}
    if key in known:
        return known[key]
    for suffix, unit in (("_N_per_mm", "N/mm"), ("_MPa", "MPa"), ("_mm", "mm"), ("_s", "s")):
        if key.endswith(suffix):
            return unit
    return "unit of " + key


# --- running --------------------------------------------------------------------------------

def _scalars(summary: dict) -> dict:
    return {name: (int(value) if isinstance(value, numbers.Integral) else float(value))
            for name, value in summary.items()
            if isinstance(value, numbers.Real) and not isinstance(value, bool)}


def run_sweep(case_path, key: str, values: list[float], overrides: list[str], out: Path, comm,
              ranks_per_run: int | None = None, log=print) -> list[dict]:
    """Run every point into `out/KEY=V/` (collective on `comm`). Returns the rows, in the order
    of `values`, on rank 0 of `comm` (an empty list elsewhere). Each row: index, KEY (the value),
    status ('complete' or 'incomplete'), exit_code, folder, reason (incomplete only), and the
    scalar summary entries. The caller validates the points first (validate_points)."""
    from .run import run_case

    ranks_per_run = ranks_per_run or comm.size
    if ranks_per_run < 1 or comm.size % ranks_per_run:
        raise CaseError(f"--ranks-per-run {ranks_per_run}: must divide the number of MPI ranks "
                        f"({comm.size})")
    groups = comm.size // ranks_per_run
    group = comm.rank // ranks_per_run
    sub = comm.Split(color=group, key=comm.rank)
    announcements = _Announcements(comm, groups, ranks_per_run, len(values), log)
    say = rank_zero(announcements.say, comm)
    say(f"nipstack sweep: {key} = {', '.join(value_text(v) for v in values)} "
        f"({len(values)} points, {groups} group(s) of {ranks_per_run} rank(s))")
    rows = []
    try:
        for index in range(group, len(values), groups):
            value = values[index]
            case = load_case(case_path, point_overrides(key, value, overrides))
            folder = Path(out) / f"{key}={value_text(value)}"
            if sub.rank == 0:
                announcements.start(index, f"{key} = {value_text(value)}")
            code, summary = run_case(case, sub, folder, log=say, warn=say)
            row = {"index": index, key: value, "exit_code": code, "folder": folder.name}
            if summary is not None:
                row["status"] = "complete"
                row.update(_scalars(summary))
            else:
                row["status"] = "incomplete"
                marker = folder / "INCOMPLETE"
                if sub.rank == 0 and marker.exists():
                    row["reason"] = marker.read_text().strip()
            rows.append(row)
    finally:
        sub.Free()
    announcements.finish()
    gathered = comm.gather(rows if comm.rank % ranks_per_run == 0 else [], root=0)
    if comm.rank != 0:
        return []
    rows = sorted((row for part in gathered for row in part), key=lambda row: row["index"])
    for row in rows:
        numbers = "  ".join(f"{name}={row[name]:.6g}" for name in DEFAULT_Y_KEYS if name in row)
        log(f"  {key} = {value_text(row[key])}: {row['status']}  {numbers}".rstrip())
    return rows


class _Announcements:
    """'sweep point k/n: KEY = V (group g/G, world rank(s) a-b)', printed once per point by
    world rank 0 alone. Rank 0 of another group sends its line to world rank 0 (non-blocking,
    tag ANNOUNCE_TAG on the world communicator, so it never meets the groups' collectives);
    world rank 0 prints what has arrived before each of its own lines (the step lines of its
    group's runs go through `say`), and in finish() waits for the rest. Lines from one group
    arrive in order (MPI does not overtake messages between two ranks)."""

    ANNOUNCE_TAG = 7301

    def __init__(self, comm, groups: int, ranks_per_run: int, points: int, log):
        self.comm, self.groups, self.ranks_per_run = comm, groups, ranks_per_run
        self.points, self.log = points, log
        self.sent = []
        # points of the other groups, announced by message to world rank 0
        self.expected = sum(1 for index in range(points) if index % groups != 0) \
            if comm.rank == 0 else 0

    def line(self, index: int, text: str) -> str:
        if self.groups == 1:
            return f"sweep point {index + 1}/{self.points}: {text}"
        group = index % self.groups
        first, last = group * self.ranks_per_run, (group + 1) * self.ranks_per_run - 1
        ranks = f"world rank {first}" if first == last else f"world ranks {first}-{last}"
        return (f"sweep point {index + 1}/{self.points}: {text} (group {group + 1}/"
                f"{self.groups}, {ranks})")

    def start(self, index: int, text: str):
        """Announce point `index` (called by rank 0 of the group that runs it)."""
        message = self.line(index, text)
        if self.comm.rank == 0:
            self.say(message)
        else:
            self.sent.append(self.comm.isend(message, dest=0, tag=self.ANNOUNCE_TAG))

    def drain(self, wait: bool = False):
        from mpi4py import MPI
        while self.expected and (wait or self.comm.Iprobe(source=MPI.ANY_SOURCE,
                                                           tag=self.ANNOUNCE_TAG)):
            self.log(self.comm.recv(source=MPI.ANY_SOURCE, tag=self.ANNOUNCE_TAG))
            self.expected -= 1

    def say(self, *args, **kwargs):
        """World rank 0's log: the other groups' announcements that have arrived, then this."""
        self.drain()
        self.log(*args, **kwargs)

    def finish(self):
        """Every rank: world rank 0 prints the announcements still to come; the senders
        complete their sends."""
        self.drain(wait=True)
        for request in self.sent:
            request.wait()
        self.sent = []


# --- the compaction-resistance fit ----------------------------------------------------------

def _model(q, porosity_0, porosity_min, gamma_c):
    return porosity_min + (porosity_0 - porosity_min) * np.exp(-np.asarray(q) / gamma_c)


def fit_compaction_resistance(q, porosity) -> dict:
    """Least-squares fit of Meyer et al.'s model (module docstring) to points (q, porosity).

    Bounds 0 <= porosity_min <= porosity_0 <= 1 and gamma_c > 0 are kept by fitting
    porosity_0 in [0, 1], s = porosity_min / porosity_0 in [0, 1] and gamma_c in (0, inf).
    The start: for 60 trial gamma_c log-spaced over the q range, porosity is linear in
    (porosity_min, porosity_0 - porosity_min); the best linear fit starts the nonlinear one.
    Returns porosity_0, porosity_min, gamma_c (unit of q), kind ('fit', or 'interpolation'
    for exactly 3 points) and r_squared (None for an interpolation: 3 parameters through 3
    points leave no residual to judge); raises ValueError with fewer than 3 points, with a
    porosity that does not change (to round-off, output.uniform_to_roundoff) or if the fit
    fails."""
    from scipy.optimize import curve_fit

    q = np.asarray(q, dtype=float)
    y = np.asarray(porosity, dtype=float)
    if len(q) < 3:
        raise ValueError(f"{len(q)} point(s): the model has 3 parameters and needs at least 3")
    if uniform_to_roundoff(y):
        raise ValueError(f"not fitted: the porosity is the same at every point ({y[0]:.6g}, "
                         f"spread {np.ptp(y):.1e}): nothing to fit (a dense layer, e.g. "
                         "lithium foil, does not compact)")
    scale = float(np.max(np.abs(q))) or 1.0
    best = None
    for gamma in np.logspace(-2, 2, 60) * scale:
        basis = np.column_stack([np.ones_like(q), np.exp(-q / gamma)])
        (a, b), *_ = np.linalg.lstsq(basis, y, rcond=None)
        error = float(np.sum((basis @ [a, b] - y) ** 2))
        if best is None or error < best[0]:
            best = (error, a, b, gamma)
    _, a, b, gamma = best
    p0 = float(np.clip(a + b, 1e-6, 1.0 - 1e-9))
    s = float(np.clip(a / p0, 1e-9, 1.0 - 1e-9))

    def scaled(q, porosity_0, s, gamma_c):
        return _model(q, porosity_0, s * porosity_0, gamma_c)

    import warnings

    from scipy.optimize import OptimizeWarning
    try:
        with warnings.catch_warnings():     # the covariance is not used (and with 3 points
            warnings.simplefilter("ignore", OptimizeWarning)     # for 3 parameters, none)
            (p0, s, gamma), _ = curve_fit(scaled, q, y, p0=[p0, s, gamma],
                                          bounds=([0.0, 0.0, 1e-12 * scale],
                                                  [1.0, 1.0, np.inf]),
                                          xtol=1e-15, ftol=1e-15, gtol=1e-15, max_nfev=20000)
    except (RuntimeError, ValueError) as exc:
        raise ValueError(f"the least-squares fit failed: {exc}") from None
    residual = y - scaled(q, p0, s, gamma)
    total = float(np.sum((y - y.mean()) ** 2))
    ss_res = float(np.sum(residual ** 2))
    r_squared = 1.0 - ss_res / total if total > 0 else (1.0 if ss_res == 0 else float("nan"))
    kind = fit_verdict(len(q), 3, y)["kind"]
    return {"porosity_0": float(p0), "porosity_min": float(p0 * s), "gamma_c": float(gamma),
            "kind": kind, "r_squared": r_squared if kind == "fit" else None}


# --- thresholds -----------------------------------------------------------------------------

def threshold_crossing(rows: list[dict], key: str, y_key: str, level: float) -> dict:
    """Where the summary entry `y_key` first reaches `level` as `key` rises (`key`: the swept
    parameter or a numeric summary entry, e.g. the measured line load): the complete points
    are taken in increasing `key`; between the first point at or above the level and the
    point before it, `key` is interpolated linearly in y_key.
    Returns {y, level, x, value (None if the level is not bracketed), bracket, monotonic
    (y_key never falls from one point to the next), points, reason}."""
    complete = sorted((row for row in rows if row.get("status") == "complete"
                       and isinstance(row.get(y_key), (int, float))
                       and isinstance(row.get(key), (int, float))),
                      key=lambda row: row[key])
    xs = [float(row[key]) for row in complete]
    ys = [float(row[y_key]) for row in complete]
    out = {"y": y_key, "level": level, "x": key, "value": None, "bracket": None,
           "monotonic": all(b >= a for a, b in zip(ys, ys[1:])) if len(ys) > 1 else None,
           "points": [[x, y] for x, y in zip(xs, ys)], "reason": None}
    if not complete:
        out["reason"] = f"no complete point has numeric {y_key!r} and {key!r}"
        return out
    for k, (x, y) in enumerate(zip(xs, ys)):
        if y >= level:
            if k == 0:
                out["reason"] = (f"{y_key} = {y:.6g} >= {level:g} already at the first point "
                                 f"({key} = {x:g}): lower the smallest value")
                return out
            x0, y0 = xs[k - 1], ys[k - 1]
            out["value"] = x0 + (x - x0) * (level - y0) / (y - y0)
            out["bracket"] = [x0, x]
            return out
    out["reason"] = (f"{y_key} stays below {level:g} (largest {max(ys):.6g} at {key} = "
                     f"{xs[int(np.argmax(ys))]:g}): raise the largest value")
    return out


# --- writing --------------------------------------------------------------------------------

def write_table(rows: list[dict], key: str, path: Path):
    columns = ["index", key, "status", "exit_code"]
    for row in rows:
        columns += [name for name in row if name not in columns and name not in ("folder",
                                                                                "reason")]
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([f"{row[c]:.12g}" if isinstance(row.get(c), float) else row.get(c, "")
                             for c in columns])


def fit_rows(rows: list[dict], x_key: str, y_key: str) -> tuple[np.ndarray, np.ndarray]:
    """(q, porosity) of the complete points; KeyError naming a key no complete row has."""
    complete = [row for row in rows if row["status"] == "complete"]
    for name in (x_key, y_key):
        if complete and not all(name in row for row in complete):
            raise KeyError(name)
    return (np.array([row[x_key] for row in complete], dtype=float),
            np.array([row[y_key] for row in complete], dtype=float))


def plot_fit(q, porosity, fit: dict, x_label: str, y_key: str, path: Path):
    """The points and the model curve; the legend says whether it is a least-squares fit
    (with R^2) or an exact interpolation (3 points, 3 parameters: no R^2)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.4))
    curve = np.linspace(0.0, 1.05 * float(np.max(q)), 200)
    ax.plot(q, porosity, "o", label=f"runs ({len(q)})", zorder=3)
    values = (f"$\\varepsilon_0$={fit['porosity_0']:.4f}, "
              f"$\\varepsilon_{{min}}$={fit['porosity_min']:.4f}, "
              f"$\\gamma_c$={fit['gamma_c']:.4g} {fit.get('q_unit', '')}")
    if fit.get("kind") == "interpolation":
        label = f"exact interpolation, not a fit (no $R^2$):\n{values}"
    else:
        label = f"least-squares fit, $R^2$={fit['r_squared']:.4f}:\n{values}"
    ax.plot(curve, _model(curve, fit["porosity_0"], fit["porosity_min"], fit["gamma_c"]),
            "-" if fit.get("kind") != "interpolation" else "--", label=label)
    ax.set_xlabel(x_label)
    ax.set_ylabel(f"{y_key} (-)")
    ax.set_title("compaction resistance (Meyer et al. 2017)"
                 + ("\n3 points for 3 parameters: the curve is not a fit"
                    if fit.get("kind") == "interpolation" else ""), fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def write_results(rows: list[dict], case_path, key: str, values: list[float],
                  overrides: list[str], ranks_per_run: int, fit_keys, case, folder: Path,
                  log=print, thresholds=()) -> dict:
    """sweep.csv, the fit (json + png when possible), sweep.json (with the threshold
    crossings of `thresholds`, (y_key, level, x_key or None) triples), INCOMPLETE (rank 0 only).
    Returns the fit record: the parameters with kind 'fit' ('fitted': True, r_squared) or
    'interpolation' ('fitted': False, r_squared None, 'note'), or {'fitted': False,
    'reason': ...} (too few points, no change in the data, a flat best curve)."""
    write_table(rows, key, folder / "sweep.csv")
    x_key, y_key = fit_keys
    x_key = x_key or key
    complete = [row for row in rows if row["status"] == "complete"]
    if y_key is None:
        y_key = next((name for name in DEFAULT_Y_KEYS if complete and name in complete[0]),
                     DEFAULT_Y_KEYS[-1])
    unit = quantity_unit(x_key, case)
    fit = {"fitted": False, "model": MODEL, "source": SOURCE, "x": x_key, "y": y_key,
           "q_unit": unit}
    curve = False     # parameters to write: a fit, or an exact interpolation (3 points)
    try:
        q, porosity = fit_rows(rows, x_key, y_key)
        if len(q) < 3:
            raise ValueError(f"only {len(q)} of {len(rows)} point(s) complete; the model has "
                             "3 parameters and needs at least 3")
        result = fit_compaction_resistance(q, porosity)
        fit.update(points=len(q), q=q.tolist(), porosity=porosity.tolist())
        if uniform_to_roundoff(_model(q, result["porosity_0"], result["porosity_min"],
                                      result["gamma_c"])):
            trend = "rises" if porosity[np.argmax(q)] > porosity[np.argmin(q)] else "changes"
            raise ValueError(
                f"not fitted: the best curve of the model is flat (porosity_0 = porosity_min "
                f"= {result['porosity_min']:.4g}; it explains none of the change): "
                f"{y_key} {trend} with {x_key} "
                f"({porosity[np.argmin(q)]:.4g} to {porosity[np.argmax(q)]:.4g}) and the "
                "model can only fall with q; q must be a compaction load (pressure or line "
                "load, e.g. --fit peak_pressure_MPa," + y_key + "), not a thickness")
        fit.update(result)
        fit.update(fitted=result["kind"] == "fit", gamma_c_unit=unit,
                   note=fit_verdict(len(q), 3, porosity)["note"])
        curve = True
    except KeyError as exc:
        fit["reason"] = f"no summary entry or parameter named {exc.args[0]!r}"
    except ValueError as exc:
        fit["reason"] = str(exc)
    if curve:
        (folder / "compaction_fit.json").write_text(json.dumps(fit, indent=2) + "\n")
        plot_fit(q, porosity, fit, f"{x_key} ({unit})", y_key, folder / "compaction_fit.png")
        values = (f"porosity_0 = {fit['porosity_0']:.4f}, porosity_min = "
                  f"{fit['porosity_min']:.4f}, gamma_c = {fit['gamma_c']:.4g} {unit}")
        if fit["fitted"]:
            log(f"compaction fit ({y_key} against {x_key}, {len(q)} points): {values}, "
                f"R^2 = {fit['r_squared']:.5f}")
        else:
            log(f"compaction curve ({y_key} against {x_key}): {fit['note']}: {values}")
    else:
        log(f"no compaction fit: {fit['reason'].removeprefix('not fitted: ')}")
    crossings = [threshold_crossing(rows, x or key, y, level) for y, level, x in thresholds]
    for crossing in crossings:
        unit = quantity_unit(crossing["x"], case)
        trend = {True: "rises monotonically", False: "does NOT rise monotonically",
                 None: "one point"}[crossing["monotonic"]]
        if crossing["value"] is not None:
            log(f"threshold: {crossing['y']} reaches {crossing['level']:g} at {crossing['x']} = "
                f"{crossing['value']:.6g} {unit} (between {crossing['bracket'][0]:g} and "
                f"{crossing['bracket'][1]:g}; {trend})")
        else:
            log(f"threshold: {crossing['y']} = {crossing['level']:g} not bracketed: "
                f"{crossing['reason']} ({trend})")
    record = {"case": str(case_path), "parameter": key, "values": values,
              "overrides": overrides, "ranks_per_run": ranks_per_run, "points": rows, "fit": fit,
              "thresholds": crossings}
    (folder / "sweep.json").write_text(json.dumps(record, indent=2, default=float) + "\n")
    stopped = [row for row in rows if row["status"] != "complete"]
    if stopped:
        (folder / "INCOMPLETE").write_text("".join(
            f"{row['folder']}: {row.get('reason', 'stopped early')}\n" for row in stopped))
    return fit
