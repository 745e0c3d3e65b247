"""The local response of the nip, from nipstack's own 2D calender runs.

A cross-section of the web at x sees a 2D nip: entry coating thickness h(x), initial porosity
phi0(x), and the local gap g(x) between the roll surfaces. Its line load q, exit thickness,
exit porosity and machine-direction elongation are those of the 2D calender run (`Calender`,
gap control) with that web and gap. The width model needs them at every x and every iteration,
so they are tabulated once:

* the table's axes are the thickness reduction delta = t_web - g (mm; t_web = the other layers +
  h), the coating thickness h and the initial porosity phi0; a double-sided web's coating under
  the foil keeps its nominal ratio to h and the same phi0 (t_web = foil + (1 + ratio) h), and its
  exit thickness and porosity are tabulated too (BOTTOM_QUANTITIES);
* every (delta_i > 0, h_j, phi_k) node is one 2D run; delta = 0 is the untouched web, exact
  without a run (q = 0, exit thickness h, porosity phi0, elongation 1), and a gap wider than the
  web (delta < 0) is the same untouched web;
* between the nodes: along delta a monotone cubic (PCHIP; Fritsch & Carlson, SIAM J. Numer.
  Anal. 17 (1980) 238-246), so q rises monotonically as the gap closes whenever the 2D runs do
  (checked: a table that does not is an error); in h and phi0, linear. At a table node the value
  is the 2D run's, exactly. No law is fitted: the table is the runs.
* delta beyond the largest tabulated reduction is an error naming `width.reductions`
  (no extrapolation).

Every 2D run is cached on disk (one JSON file per run) under the SHA-256 of its resolved case
(the case model with every default, the material cards' text, nipstack's version and a hash
of its source code), so a second width run, or one with a grid that shares nodes, reuses them,
and a changed solver never reads a stale answer.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.interpolate import PchipInterpolator

from ..case.load import bottom_porosity_offset

QUANTITIES = ("line_load_N_per_mm", "exit_thickness_mm", "exit_porosity",
              "machine_direction_elongation")
#: a double-sided web's coating under the foil (its own faces), as the 2D run reports it
BOTTOM_QUANTITIES = ("bottom_exit_thickness_mm", "bottom_exit_porosity")


def double_sided(case) -> bool:
    """A web of three layers: coating | foil | coating (the width model's only three-layer
    web; loading the case checks that both coatings are porous, case.load._check_width_web)."""
    return len(case.layers) == 3


class ResponseError(ValueError):
    """The nip response table cannot answer (out of its range, not monotone)."""


def default_cache() -> Path:
    if os.environ.get("NIPSTACK_CACHE_DIR"):
        return Path(os.environ["NIPSTACK_CACHE_DIR"]) / "nip_response"
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "nipstack" / "nip_response"


@functools.lru_cache(maxsize=1)
def source_digest() -> str:
    """SHA-256 of nipstack's own source (every .py of the package and its subpackages): a code
    change, released or not, invalidates the cached runs."""
    from .. import materials, meshes

    digest = hashlib.sha256()
    for folder in sorted({Path(__file__).parents[1], Path(materials.__file__).parent,
                          Path(meshes.__file__).parent}):
        for path in sorted(folder.rglob("*.py")):
            digest.update(str(path.relative_to(folder)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def run_key(case) -> str:
    """SHA-256 of what decides a 2D run's result: the resolved case (without its name, text
    and output switches), the text of its material cards, nipstack's version and source."""
    from .. import __version__
    from ..materials.cards import card_path

    data = case.model_dump(mode="json")
    data["case"] = {"kind": data["case"]["kind"]}
    data.pop("output", None)
    cards = {layer.material: card_path(layer.material).read_text() for layer in case.layers}
    text = json.dumps({"case": data, "cards": cards, "nipstack": __version__,
                       "source": source_digest()}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def run_nip(case, comm, log) -> dict:
    """One 2D calender run; the numbers the width model uses."""
    from ..output import nothing
    from ..run import build_scenario

    calender = build_scenario(case, comm, log=nothing)
    calender.run()
    summary = calender.summary()
    out = {key: float(summary[key]) for key in QUANTITIES}
    if double_sided(case):
        bottom = case.layers[0].name
        out["bottom_exit_thickness_mm"] = float(summary["exit_thickness_by_layer"][bottom])
        out["bottom_exit_porosity"] = float(summary["exit_porosity_by_layer"][bottom])
    out["gap_mm"] = float(summary["gap_mm"])
    out["exit_mass_balance_error"] = float(summary["exit_mass_balance_error"])
    return out


def cached_run(case, cache: Path, comm, log) -> tuple[dict, bool]:
    """The run's numbers from the cache, or run it and store them (rank 0 writes)."""
    key = run_key(case)
    path = cache / f"{key}.json"
    found = None
    if comm.rank == 0 and path.is_file():
        try:
            found = json.loads(path.read_text())["result"]
        except (OSError, ValueError, KeyError):
            found = None                      # a damaged entry: run again
    found = comm.bcast(found, root=0)
    if found is not None:
        return found, True
    result = run_nip(case, comm, log)
    if comm.rank == 0:
        cache.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(json.dumps({"result": result, "case": case.model_dump(
            mode="json")}, indent=1, sort_keys=True))
        partial.replace(path)                 # atomic: a reader never sees half a file
    return result, False


@dataclass
class NipResponse:
    """The tabulated nip: values[name] has shape (len(thicknesses), len(porosities),
    1 + len(reductions)); the first reduction column is the untouched web (delta = 0). The
    names are QUANTITIES, and BOTTOM_QUANTITIES for a double-sided web."""
    reductions: np.ndarray
    thicknesses: np.ndarray
    porosities: np.ndarray
    values: dict
    base_thickness: float           # the layers under the coating (foil), mm

    def __post_init__(self):
        delta = np.concatenate([[0.0], self.reductions])
        self.curves = {name: [[PchipInterpolator(delta, table[j, k]) for k in range(
            len(self.porosities))] for j in range(len(self.thicknesses))]
            for name, table in self.values.items()}
        q = self.values["line_load_N_per_mm"]
        if np.any(np.diff(q, axis=2) <= 0):
            j, k, i = np.argwhere(np.diff(q, axis=2) <= 0)[0]
            raise ResponseError(
                f"the 2D runs do not give a line load that rises as the gap closes (h = "
                f"{self.thicknesses[j]} mm, porosity {self.porosities[k]}: q = "
                f"{q[j, k, i]:.4g} -> {q[j, k, i + 1]:.4g} N/mm from reduction "
                f"{delta[i]:.4g} to {delta[i + 1]:.4g} mm)")

    @staticmethod
    def _weights(axis: np.ndarray, value: np.ndarray, name: str):
        """Linear interpolation weights along one table axis (a single node: constant)."""
        if len(axis) == 1:
            if np.any(np.abs(value - axis[0]) > 1e-9):
                raise ResponseError(f"the web's {name} varies across the width but the "
                                    f"response table has one {name} ({axis[0]}): give "
                                    f"width.{name} covering {value.min():.6g}-"
                                    f"{value.max():.6g}")
            return np.zeros(value.shape, int), np.zeros(value.shape)
        if value.min() < axis[0] - 1e-9 or value.max() > axis[-1] + 1e-9:
            raise ResponseError(f"width.{name} ({axis[0]}-{axis[-1]}) does not cover the "
                                f"web's {value.min():.6g}-{value.max():.6g}")
        left = np.clip(np.searchsorted(axis, value, side="right") - 1, 0, len(axis) - 2)
        t = np.clip((value - axis[left]) / (axis[left + 1] - axis[left]), 0.0, 1.0)
        return left, t

    def evaluate(self, reduction, thickness, porosity, names=None,
                 derivative: bool = False) -> dict:
        """Each quantity (`names`, default: all of the table's) at the cross-sections
        (arrays); with derivative=True also d(line load)/d(reduction) (N/mm per mm) as
        'dq_dreduction'."""
        names = tuple(self.values) if names is None else names
        delta = np.asarray(reduction, dtype=float)
        if np.any(delta > self.reductions[-1] * (1 + 1e-9)):
            raise ResponseError(f"a thickness reduction of {delta.max() * 1e3:.3f} um is "
                                f"beyond the response table (largest {self.reductions[-1] * 1e3:.3f}"
                                f" um): add larger values to width.reductions")
        touched = delta > 0.0
        delta = np.maximum(delta, 0.0)
        jh, th = self._weights(self.thicknesses, np.asarray(thickness, float), "thicknesses")
        kp, tp = self._weights(self.porosities, np.asarray(porosity, float), "porosities")
        wanted = list(names) + (["dq_dreduction"] if derivative else [])
        out = {}
        for name in wanted:
            source = "line_load_N_per_mm" if name == "dq_dreduction" else name
            order = 1 if name == "dq_dreduction" else 0
            result = np.zeros(delta.shape)
            for dj, wj in ((0, 1 - th), (1, th)):
                for dk, wk in ((0, 1 - tp), (1, tp)):
                    j = np.minimum(jh + dj, len(self.thicknesses) - 1)
                    k = np.minimum(kp + dk, len(self.porosities) - 1)
                    for jj, kk in set(zip(j.ravel().tolist(), k.ravel().tolist())):
                        at = (j == jj) & (k == kk)
                        curve = self.curves[source][jj][kk]
                        result[at] += (wj * wk)[at] * curve(delta[at], order)
            if name == "dq_dreduction":
                result = np.where(touched, result, 0.0)
            out[name] = result
        return out


def base_data(case) -> dict:
    """The width case as the data of a plain 2D calender case (gap control, no files)."""
    data = case.model_dump(mode="python", exclude_none=True)
    data.pop("width", None)
    data["case"]["kind"] = "calender"
    data["output"] = dict(data.get("output", {}), fields=False, plots=False)
    data["calender"]["control"] = "gap"
    data["calender"].pop("line_load", None)
    return data


def nip_case(data: dict, coating: int, thickness: float, porosity: float, gap: float,
             overrides: list[str], bottom_ratio: float = 0.0, bottom_offset: float = 0.0):
    """The 2D case of one table node (a double-sided web, bottom_ratio > 0: its coating under
    the foil, layer 0, bottom_ratio x as thick, entering at porosity + bottom_offset)."""
    import copy

    from ..case import apply_override, validate_case

    run = copy.deepcopy(data)
    run["layers"][coating]["thickness"] = thickness
    run["layers"][coating]["initial_porosity"] = porosity
    if bottom_ratio > 0.0:
        run["layers"][0]["thickness"] = bottom_ratio * thickness
        run["layers"][0]["initial_porosity"] = porosity + bottom_offset
    run["calender"]["gap"] = gap
    for assignment in overrides:
        apply_override(run, assignment)
    return validate_case(run)


def build_response(case, grid: dict, comm, log, cache: Path | None = None) -> NipResponse:
    """Run (or read from the cache) the 2D nip at every node of the grid {'reductions',
    'thicknesses', 'porosities'} and tabulate it. Under MPI the ranks split into groups of
    `width.ranks_per_run`; group g runs the nodes g, g + groups, ... (each node's run and its
    numbers are the same whichever group runs it) and every rank gets the whole table."""
    from ..case import CaseError

    data = base_data(case)
    coating = len(case.layers) - 1                    # the roll-side porous layer on top
    ratio = case.layers[0].thickness / case.layers[-1].thickness if double_sided(case) else 0.0
    offset = bottom_porosity_offset(case)
    base = case.layers[1].thickness if double_sided(case) else \
        sum(layer.thickness for layer in case.layers[:-1])        # the foil (or nothing)
    quantities = QUANTITIES + (BOTTOM_QUANTITIES if ratio else ())
    overrides = list(case.width.response_overrides)
    cache = Path(cache) if cache is not None else default_cache()
    axes = [np.asarray(sorted(grid[name]), float) for name in
            ("reductions", "thicknesses", "porosities")]
    reductions, thicknesses, porosities = axes
    nodes = [(j, k, i) for j in range(len(thicknesses)) for k in range(len(porosities))
             for i in range(len(reductions))]
    per_run = case.width.ranks_per_run
    if comm.size % per_run:
        raise CaseError(f"width.ranks_per_run = {per_run} must divide the number of MPI "
                        f"ranks ({comm.size})")
    groups = comm.size // per_run
    group = comm.rank // per_run
    sub = comm.Split(color=group, key=comm.rank) if groups > 1 else comm
    mine, failure = {}, None
    try:
        for n, (j, k, i) in enumerate(nodes):
            if n % groups == group:
                h, phi = float(thicknesses[j]), float(porosities[k])
                run = nip_case(data, coating, h, phi,
                               float(base + (1.0 + ratio) * h - reductions[i]), overrides,
                               ratio, offset)
                result, hit = cached_run(run, cache, sub,
                                         log if groups == 1 else (lambda *a: None))
                mine[n] = ({name: result[name] for name in quantities}, hit)
    except Exception as error:        # noqa: BLE001 (re-raised below, after the others know)
        failure = error
    finally:
        if groups > 1:
            sub.Free()
    failed = [message for message in comm.allgather(
        None if failure is None else f"{type(failure).__name__}: {failure}") if message]
    if failure is not None:
        raise failure
    if failed:                        # another group's run failed: stop with it, not wait
        raise RuntimeError(f"a 2D nip run of another rank group failed: {failed[0]}")
    results = {}
    for part in comm.allgather(mine if comm.rank % per_run == 0 else {}):
        results.update(part)
    values = {name: np.zeros((len(thicknesses), len(porosities), 1 + len(reductions)))
              for name in quantities}
    for j, h in enumerate(thicknesses):
        for k, phi in enumerate(porosities):
            untouched = {"line_load_N_per_mm": 0.0, "exit_thickness_mm": h,
                         "exit_porosity": phi, "machine_direction_elongation": 1.0,
                         "bottom_exit_thickness_mm": ratio * h,
                         "bottom_exit_porosity": phi + offset}
            for name in quantities:
                values[name][j, k, 0] = untouched[name]
    reused = 0
    for n, (j, k, i) in enumerate(nodes):
        result, hit = results[n]
        reused += hit
        log(f"  nip response {n + 1}/{len(nodes)}: h {thicknesses[j] * 1e3:.2f} um, porosity "
            f"{porosities[k]:.4f}, reduction {reductions[i] * 1e3:.2f} um -> q "
            f"{result['line_load_N_per_mm']:.3f} N/mm, exit porosity "
            f"{result['exit_porosity']:.5f}{' (cached)' if hit else ''}")
        for name in quantities:
            values[name][j, k, i + 1] = result[name]
    log(f"  nip response: {len(nodes)} 2D runs in {groups} group(s) of {per_run} rank(s), "
        f"{reused} from the cache {cache}")
    return NipResponse(reductions, thicknesses, porosities, values, base)
