"""The local response of the nip, from nipstack's own 2D calender runs.

A cross-section of the web at x sees a 2D nip: entry coating thickness h(x), initial porosity
phi0(x), and the local gap g(x) between the roll surfaces. Its line load q, exit thickness,
exit porosity and machine-direction elongation are those of the 2D calender run (`Calender`,
gap control) with that web and gap. The width model needs them at every x and every iteration,
so they are tabulated once:

* the table's axes are the thickness reduction delta = t_web - g (mm; t_web = the other layers +
  h), the coating thickness h and the initial porosity phi0. A double-sided web's coating under
  the foil (thickness h_b, porosity phi_b; t_web = foil + h + h_b) keeps its nominal ratio to h
  and its nominal porosity offset from phi0 (`bottom_face`), unless it has a cross-web profile
  of its own (`width.bottom_coating_thickness`, `width.bottom_coating_porosity`): then h_b, or
  phi_b, is one more axis of the table. Its exit thickness and porosity are tabulated too
  (BOTTOM_QUANTITIES);
* every (delta_i > 0, h_j, phi_k[, h_b, phi_b]) node is one 2D run; delta = 0 is the untouched
  web, exact without a run (q = 0, exit thickness h, porosity phi0, elongation 1), and a gap
  wider than the web (delta < 0) is the same untouched web;
* between the nodes: along delta a monotone cubic (PCHIP; Fritsch & Carlson, SIAM J. Numer.
  Anal. 17 (1980) 238-246), so q rises monotonically as the gap closes whenever the 2D runs do
  (checked: a table that does not is an error); across the other axes, multilinear. At a
  table node the value is the 2D run's, exactly. No law is fitted: the table is the runs.
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
    from ..case_run import build_scenario

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


#: the table's axes besides the reduction, in their order in `NipResponse.values`; the two
#: bottom ones only when the coating under the foil has its own cross-web profile
AXES = ("thicknesses", "porosities", "bottom_thicknesses", "bottom_porosities")


@dataclass
class NipResponse:
    """The tabulated nip: `axes` maps each table axis (AXES, in that order; the bottom ones
    only when present) to its sorted nodes, and values[name] has shape (*node counts,
    1 + len(reductions)); the first reduction column is the untouched web (delta = 0). The
    names are QUANTITIES, and BOTTOM_QUANTITIES for a double-sided web."""
    reductions: np.ndarray
    axes: dict
    values: dict
    base_thickness: float           # the layers under the coating (foil), mm

    def __post_init__(self):
        delta = np.concatenate([[0.0], self.reductions])
        self.curves = {name: {node: PchipInterpolator(delta, table[node])
                              for node in np.ndindex(*table.shape[:-1])}
                       for name, table in self.values.items()}
        q = self.values["line_load_N_per_mm"]
        if np.any(np.diff(q, axis=-1) <= 0):
            *node, i = np.argwhere(np.diff(q, axis=-1) <= 0)[0]
            where = ", ".join(f"{name} {self.axes[name][n]:g}"
                              for name, n in zip(self.axes, node))
            raise ResponseError(
                f"the 2D runs do not give a line load that rises as the gap closes ({where}: "
                f"q = {q[(*node, i)]:.4g} -> {q[(*node, i + 1)]:.4g} N/mm from reduction "
                f"{delta[i]:.4g} to {delta[i + 1]:.4g} mm)")

    @property
    def thicknesses(self) -> np.ndarray:
        return self.axes["thicknesses"]

    @property
    def porosities(self) -> np.ndarray:
        return self.axes["porosities"]

    @property
    def runs(self) -> int:
        """The 2D runs behind the table."""
        return int(self.reductions.size * np.prod([len(a) for a in self.axes.values()]))

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

    def evaluate(self, reduction, coordinates: dict, names=None,
                 derivative: bool = False) -> dict:
        """Each quantity (`names`, default: all of the table's) at the cross-sections: the
        reductions (array) and the web's value on every table axis (`coordinates`, {axis name:
        array}, e.g. `Web.coordinates()`); PCHIP in the reduction, multilinear across the
        axes. With derivative=True also d(line load)/d(reduction) (N/mm per mm) as
        'dq_dreduction'."""
        names = tuple(self.values) if names is None else names
        delta = np.asarray(reduction, dtype=float)
        if np.any(delta > self.reductions[-1] * (1 + 1e-9)):
            raise ResponseError(f"a thickness reduction of {delta.max() * 1e3:.3f} um is "
                                f"beyond the response table (largest {self.reductions[-1] * 1e3:.3f}"
                                f" um): add larger values to width.reductions")
        touched = delta > 0.0
        delta = np.maximum(delta, 0.0)
        along = [self._weights(axis, np.asarray(coordinates[name], float), name)
                 for name, axis in self.axes.items()]
        corners = []            # (node index of every cross-section, its weight) per corner
        for corner in np.ndindex(*(2,) * len(along)):
            index = np.stack([np.minimum(left + c, len(axis) - 1) for c, (left, _), axis
                              in zip(corner, along, self.axes.values())], axis=-1)
            weight = np.prod([t if c else 1.0 - t for c, (_, t) in zip(corner, along)], axis=0)
            corners.append((index, weight))
        wanted = list(names) + (["dq_dreduction"] if derivative else [])
        out = {}
        for name in wanted:
            source = "line_load_N_per_mm" if name == "dq_dreduction" else name
            order = 1 if name == "dq_dreduction" else 0
            result = np.zeros(delta.shape)
            for index, weight in corners:
                for node in set(map(tuple, index.reshape(-1, index.shape[-1]).tolist())):
                    at = np.all(index == node, axis=-1)
                    result[at] += weight[at] * self.curves[source][node](delta[at], order)
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
             overrides: list[str], bottom: tuple[float, float] | None = None):
    """The 2D case of one table node; a double-sided web's coating under the foil (layer 0)
    gets `bottom` = (its thickness, its entry porosity)."""
    import copy

    from ..case import apply_override, validate_case

    run = copy.deepcopy(data)
    run["layers"][coating]["thickness"] = thickness
    run["layers"][coating]["initial_porosity"] = porosity
    if bottom is not None:
        run["layers"][0]["thickness"], run["layers"][0]["initial_porosity"] = bottom
    run["calender"]["gap"] = gap
    for assignment in overrides:
        apply_override(run, assignment)
    return validate_case(run)


def bottom_face(case, node: dict) -> tuple[float, float] | None:
    """A double-sided web's coating under the foil at a table node ({axis: value}): its own
    axes' values where the table has them, else its nominal ratio to the top thickness and its
    nominal porosity offset (`case.load.bottom_porosity_offset`); None for one coated face."""
    if not double_sided(case):
        return None
    ratio = case.layers[0].thickness / case.layers[-1].thickness
    thickness = node.get("bottom_thicknesses", ratio * node["thicknesses"])
    porosity = node.get("bottom_porosities",
                        node["porosities"] + bottom_porosity_offset(case))
    return float(thickness), float(porosity)


def response_grid(spec, web) -> dict:
    """The table's nodes for the [width] table `spec` and its web (`model.Web`): the given
    width.reductions, thicknesses and porosities, or the defaults (4 to 24 % of the thickest
    coating; the least and greatest of the web's profiles); the face under the foil gets axes
    of its own only where it has a profile of its own."""
    reductions = spec.reductions or [f * float(web.thickness.max())
                                     for f in (0.04, 0.08, 0.12, 0.16, 0.20, 0.24)]
    thicknesses = spec.thicknesses or sorted({float(web.thickness.min()),
                                              float(web.thickness.max())})
    porosities = spec.porosities or sorted({float(web.porosity.min()),
                                            float(web.porosity.max())})
    grid = {"reductions": reductions, "thicknesses": thicknesses, "porosities": porosities}
    for own, name, given, values in (
            ("thickness", "bottom_thicknesses", spec.bottom_thicknesses, web.bottom_thickness),
            ("porosity", "bottom_porosities", spec.bottom_porosities, web.bottom_porosity)):
        if own in web.bottom_own:
            grid[name] = given or sorted({float(values.min()), float(values.max())})
    return grid


def foil_thickness(case) -> float:
    """What every table node's web has under its top coating besides a double-sided web's
    coating under the foil: the foil (or nothing, a film alone)."""
    return case.layers[1].thickness if double_sided(case) else \
        sum(layer.thickness for layer in case.layers[:-1])


def node_web_thickness(case, node: dict) -> float:
    """The entry web thickness of one table node ({axis: value}): foil, top coating and a
    double-sided web's coating under the foil. Its 2D run's roll gap is this minus the
    reduction."""
    bottom = bottom_face(case, node)
    return foil_thickness(case) + node["thicknesses"] + (bottom[0] if bottom else 0.0)


def build_response(case, grid: dict, comm, log, cache: Path | None = None) -> NipResponse:
    """Run (or read from the cache) the 2D nip at every node of the grid {'reductions',
    'thicknesses', 'porosities'[, 'bottom_thicknesses'][, 'bottom_porosities']} and tabulate
    it. Under MPI the ranks split into groups of `width.ranks_per_run`; group g runs the nodes
    g, g + groups, ... (each node's run and its numbers are the same whichever group runs it)
    and every rank gets the whole table."""
    from ..case import CaseError

    data = base_data(case)
    coating = len(case.layers) - 1                    # the roll-side porous layer on top
    base = foil_thickness(case)
    quantities = QUANTITIES + (BOTTOM_QUANTITIES if double_sided(case) else ())
    overrides = list(case.width.response_overrides)
    cache = Path(cache) if cache is not None else default_cache()
    reductions = np.asarray(sorted(grid["reductions"]), float)
    axes = {name: np.asarray(sorted(grid[name]), float) for name in AXES if name in grid}
    nodes = [(node, i) for node in np.ndindex(*(len(axis) for axis in axes.values()))
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
        for n, (node, i) in enumerate(nodes):
            if n % groups == group:
                web = node_values(axes, node)
                gap = node_web_thickness(case, web) - reductions[i]
                run = nip_case(data, coating, web["thicknesses"], web["porosities"],
                               float(gap), overrides, bottom_face(case, web))
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
    values = tabulate(case, reductions, axes, nodes, results, quantities, log)
    log(f"  nip response: {len(nodes)} 2D runs in {groups} group(s) of {per_run} rank(s), "
        f"{sum(hit for _, hit in results.values())} from the cache {cache}")
    return NipResponse(reductions, axes, values, base)


def node_values(axes: dict, node: tuple) -> dict:
    """{axis name: value} of one table node (its index on every axis)."""
    return {name: float(axis[n]) for (name, axis), n in zip(axes.items(), node)}


def tabulate(case, reductions, axes: dict, nodes: list, results: dict, quantities,
             log) -> dict:
    """The table's arrays from the 2D runs (results[n] = (numbers, from the cache) of
    nodes[n] = (axis node, reduction index)) and the untouched web at delta = 0."""
    shape = tuple(len(axis) for axis in axes.values())
    values = {name: np.zeros(shape + (1 + len(reductions),)) for name in quantities}
    for node in np.ndindex(*shape):             # delta = 0: the untouched web, exact
        web = node_values(axes, node)
        bottom = bottom_face(case, web) or (0.0, 0.0)
        untouched = {"line_load_N_per_mm": 0.0, "exit_thickness_mm": web["thicknesses"],
                     "exit_porosity": web["porosities"], "machine_direction_elongation": 1.0,
                     "bottom_exit_thickness_mm": bottom[0], "bottom_exit_porosity": bottom[1]}
        for name in quantities:
            values[name][node][0] = untouched[name]
    for n, (node, i) in enumerate(nodes):
        result, hit = results[n]
        where = ", ".join(f"{name.replace('thicknesses', 'h').replace('porosities', 'porosity')}"
                          f" {value * 1e3 if 'thick' in name else value:.4g}"
                          f"{' um' if 'thick' in name else ''}"
                          for name, value in node_values(axes, node).items())
        log(f"  nip response {n + 1}/{len(nodes)}: {where}, reduction "
            f"{reductions[i] * 1e3:.2f} um -> q {result['line_load_N_per_mm']:.3f} N/mm, exit "
            f"porosity {result['exit_porosity']:.5f}{' (cached)' if hit else ''}")
        for name in quantities:
            values[name][node][i + 1] = result[name]
    return values
