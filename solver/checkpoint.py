"""Checkpoints and restart: continue an interrupted or incomplete run from its last converged step.

What a run's state is
---------------------
* the finite-element state: the displacement u, and at every quadrature point of every region
  the plastic metric Cp^-1 and the law's history, and at every point of every interface band
  the interface law's history (contact multipliers, damage, ...);
* the load stepping: the records of the converged steps, the scenario's controls (time, plate
  position, secant slope, ...; the scenario names them in `resume_attributes`) and where the
  loading programme is: which `run_phase` call, and in it the targets still pending, the last
  reached target and the cut-back count (a `PhaseJournal`).

Rank-count independence: every point value is stored with the reference coordinates of its
point (a dof's node, a quadrature point) and found again by them (a k-d tree), so a run
checkpointed on N ranks resumes on M.

Format: `checkpoint/state.npz` (NumPy arrays gathered on rank 0) and `checkpoint/meta.pickle`
(records, journal, controls), written to temporary names and renamed, so a checkpoint is
either whole or absent. (adios4dolfinx, the maintained DOLFINx checkpoint library, needs an
MPI-enabled ADIOS2; PyPI's adios2 wheel is built without MPI and its libraries clash with the
ADIOS2 inside dolfinx-solver-real, measured with adios2 2.12.1 / adios4dolfinx 0.11.0, so it
cannot be installed beside our DOLFINx. The state here is small - a few arrays per region - and
is written from rank 0.)

Resuming replays the scenario's loading programme from the start: every `run_phase` call that
the checkpoint holds as finished only appends its records and sets its end state (no solve);
the call that was running when the checkpoint was taken restores the finite-element state and
its pending targets and goes on solving. The programme's decisions between phases (the peak
of the load, the adaptive hold's next step) read the records, which are the same as in the
first run, so the resumed run takes the same steps.
"""
from __future__ import annotations

import copy
import os
import pickle
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .stepping import PhaseState

FORMAT = 2


class CheckpointError(ValueError):
    """A checkpoint that cannot be used for this case (a user error: exit 2)."""


@dataclass
class PhaseJournal:
    """The phases (stepping.PhaseState) of a run: for each finished one, its phase name, the number of
    records at its end and the scenario's controls at its end; and the running call."""

    finished: list = field(default_factory=list)
    running: PhaseState | None = None

    def begin(self, phase, pending, previous) -> PhaseState:
        self.running = PhaseState(len(self.finished), phase, list(pending), previous)
        return self.running

    def end(self, n_records: int, controls: dict):
        self.finished.append({"phase": self.running.phase, "records": n_records,
                              "controls": controls})
        self.running = None


def enter_phase(scenario, phase: str, targets, times, previous_target: float):
    """The start of a scenario's `run_phase` call: the running PhaseState to step through, or
    None if a replayed checkpoint holds the call as finished (its records and end state are
    then in place: skip it)."""
    state = scenario.journal.begin(phase, zip(targets, times),
                                   (float(previous_target), float(scenario.time)))
    if scenario.replay is None:
        return state
    resumed = scenario.replay.phase(scenario, phase, scenario.records)
    if resumed is None:
        scenario.journal.end(len(scenario.records), scenario.controls())
        return None
    scenario.replay = None
    scenario.journal.running = resumed
    return resumed


class Replay:
    """A checkpoint being replayed (see the module docstring)."""

    def __init__(self, meta: dict, arrays: dict, scenario):
        self.meta, self.arrays = meta, arrays
        self.scenario = scenario          # the case's scenario (its controls are the meta's)
        self.records = meta["records"]
        self.finished = meta["journal"].finished
        self.running = meta["journal"].running
        self.calls = 0

    def phase(self, scenario, phase: str, records: list) -> PhaseState | None:
        """Called at the start of a `run_phase` call while replaying. Returns None if the call
        was finished in the checkpoint (its records were appended and its end state set: skip
        it), else the running call's state after restoring the full checkpoint (solve on)."""
        index = self.calls
        self.calls += 1
        if index < len(self.finished):
            entry = self.finished[index]
            if entry["phase"] != phase:
                raise CheckpointError(f"the checkpoint does not match the case: load phase "
                                      f"{index + 1} is '{phase}' here, '{entry['phase']}' in "
                                      f"the checkpoint")
            start = len(records)
            records.extend(self.records[start:entry["records"]])
            scenario.set_controls(entry["controls"])
            return None
        running = self.running
        if running is None or running.index != index or running.phase != phase:
            raise CheckpointError(f"the checkpoint does not match the case: no running phase "
                                  f"'{phase}' at call {index + 1}")
        records.extend(self.records[len(records):])
        restore_state(self.scenario, self.meta, self.arrays)
        return copy.deepcopy(running)


# --- the finite-element state -------------------------------------------------------------------

def _point_coordinates(problem, cells) -> np.ndarray:
    """Reference coordinates of the quadrature points of `cells`, (cells*points, gdim)."""
    import ufl
    from dolfinx import fem

    key = "_quadrature_point_coordinates"
    expression = getattr(problem, key, None)
    if expression is None:
        expression = fem.Expression(ufl.SpatialCoordinate(problem.mesh), problem.points)
        setattr(problem, key, expression)
    if len(cells) == 0:
        return np.zeros((0, problem.gdim))
    return expression.eval(problem.mesh, cells).reshape(-1, problem.gdim)


def _owned_cells_mask(problem, cells) -> np.ndarray:
    return cells < problem.mesh.topology.index_map(problem.mesh.topology.dim).size_local


@dataclass
class Snapshot:
    """The state after a converged step, held in memory (the committed histories are not
    modified in place by later steps, so references suffice; u is copied)."""

    step: int
    u: np.ndarray
    regions: dict
    bands: dict
    meta: dict


def capture(scenario) -> Snapshot:
    """The scenario's state now (after a converged, committed step); cheap."""
    problem = scenario.problem
    regions = {region.name: (region.metric_inverse, region.history)
               for region in problem.regions}
    bands = {}
    for term in problem.interfaces:
        for name, band in term.bands.items():
            bands[name] = band.history
    meta = {"format": FORMAT, "records": list(scenario.records),
            "journal": copy.deepcopy(scenario.journal),
            "controls": scenario.controls(), "time": time.time()}
    return Snapshot(len(scenario.records), problem.u.x.array.copy(), regions, bands, meta)


def _gather(comm, parts: dict) -> dict:
    gathered = comm.gather(parts, root=0)
    if comm.rank != 0:
        return {}
    out = {}
    for key in parts:
        pieces = [part[key] for part in gathered]
        out[key] = np.concatenate(pieces) if pieces else np.zeros(0)
    return out


def write(snapshot: Snapshot, scenario, folder: Path):
    """Write `snapshot` to folder/checkpoint (collective). Whole or absent."""
    problem = scenario.problem
    comm = problem.comm
    V = problem.V
    bs = V.dofmap.index_map_bs
    n_owned = V.dofmap.index_map.size_local
    parts = {"u/coordinates": V.tabulate_dof_coordinates()[:n_owned, :problem.gdim],
             "u/values": snapshot.u.reshape(-1, bs)[:n_owned]}
    for region in problem.regions:
        metric, history = snapshot.regions[region.name]
        points = len(problem.weights)
        owned = np.repeat(_owned_cells_mask(problem, region.cells), points)
        prefix = f"region/{region.name}/"
        parts[prefix + "coordinates"] = _point_coordinates(problem, region.cells)[owned]
        parts[prefix + "metric_inverse"] = metric[owned]
        for key, values in history.items():
            parts[prefix + "history/" + key] = np.asarray(values)[owned]
    for term in problem.interfaces:
        for name, band in term.bands.items():
            prefix = f"band/{name}/"
            parts[prefix + "coordinates"] = band.coordinates[band.owned]
            for key, values in snapshot.bands[name].items():
                parts[prefix + "history/" + key] = np.asarray(values)[band.owned]
    arrays = _gather(comm, parts)
    if comm.rank == 0:
        target = Path(folder) / "checkpoint"
        staging = Path(folder) / ".checkpoint.writing"
        staging.mkdir(parents=True, exist_ok=True)
        np.savez(staging / "state.npz", **arrays)
        meta = dict(snapshot.meta, ranks=comm.size, step=snapshot.step)
        (staging / "meta.pickle").write_bytes(pickle.dumps(meta))
        if target.exists():
            retired = Path(folder) / ".checkpoint.old"
            target.rename(retired)
            staging.rename(target)
            for item in retired.iterdir():
                item.unlink()
            retired.rmdir()
        else:
            staging.rename(target)
    comm.barrier()


def read(folder: Path) -> tuple[dict, dict]:
    """(meta, arrays) of folder/checkpoint, or CheckpointError."""
    target = Path(folder) / "checkpoint"
    try:
        meta = pickle.loads((target / "meta.pickle").read_bytes())
        with np.load(target / "state.npz") as data:
            arrays = {key: data[key] for key in data.files}
    except (OSError, pickle.UnpicklingError, EOFError, ValueError) as exc:
        raise CheckpointError(f"'{folder}' holds no usable checkpoint ({exc})") from None
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"'{folder}': checkpoint format {meta.get('format')} is not "
                              f"{FORMAT}")
    return meta, arrays


def _locate(saved: np.ndarray, local: np.ndarray, what: str) -> np.ndarray:
    """Row of `saved` at each point of `local` (same coordinates to round-off)."""
    from scipy.spatial import cKDTree

    if len(local) == 0:
        return np.zeros(0, dtype=np.int64)
    if len(saved) == 0:
        raise CheckpointError(f"the checkpoint holds no {what}")
    scale = max(float(np.ptp(saved, axis=0).max()), 1e-300)
    distance, rows = cKDTree(saved).query(local)
    if distance.max() > 1e-9 * scale:
        raise CheckpointError(f"the checkpoint does not match this mesh ({what}: a point "
                              f"{distance.max():.3g} mm from any saved one)")
    return rows


def restored_history(region, arrays: dict, prefix: str, rows) -> dict:
    """A region's history from the checkpoint. The entries its law carries between Newton
    iterates (`iterate_keys`: warm starts, not state) keep their initial values if the
    checkpoint, written by an older version, lacks them."""
    hints = getattr(region.law, "iterate_keys", ())
    history = {}
    for key, initial in region.history.items():
        name = prefix + "history/" + key
        history[key] = initial if key in hints and name not in arrays else \
            arrays[name][rows].copy()
    return history


def restore_state(scenario, meta: dict, arrays: dict):
    """Put the checkpoint's finite-element state and controls into `scenario` (every rank)."""
    problem = scenario.problem
    V = problem.V
    bs = V.dofmap.index_map_bs
    coordinates = V.tabulate_dof_coordinates()[:, :problem.gdim]
    rows = _locate(arrays["u/coordinates"], coordinates, "displacement")
    problem.u.x.array[:] = arrays["u/values"][rows].reshape(-1, bs).reshape(-1)
    problem.u.x.scatter_forward()
    for region in problem.regions:
        prefix = f"region/{region.name}/"
        local = _point_coordinates(problem, region.cells)
        rows = _locate(arrays[prefix + "coordinates"], local, f"region '{region.name}'")
        region.metric_inverse = arrays[prefix + "metric_inverse"][rows].copy()
        region.history = restored_history(region, arrays, prefix, rows)
        region.trial_metric_inverse = region.metric_inverse.copy()
        region.trial_history = {k: v.copy() for k, v in region.history.items()}
    for term in problem.interfaces:
        for name, band in term.bands.items():
            prefix = f"band/{name}/"
            rows = _locate(arrays[prefix + "coordinates"], band.coordinates,
                           f"interface '{name}'")
            band.history = {key: arrays[prefix + "history/" + key][rows].copy()
                            for key in band.history}
            band.trial = {k: v.copy() for k, v in band.history.items()}
    scenario.set_controls(meta["controls"])


class Checkpointer:
    """When to write: every `every_steps` converged steps or `every_minutes` minutes (0: never
    on a schedule); always when the run stops early or is interrupted. `before_write` (if
    given) is called first (the case runner writes its fields.pvd, so that a killed run's
    lists at least the steps of its checkpoint)."""

    def __init__(self, scenario, folder: Path, every_steps: int, every_minutes: float,
                 before_write=None):
        self.scenario, self.folder = scenario, Path(folder)
        self.before_write = before_write
        self.every_steps, self.every_minutes = every_steps, every_minutes
        self.last: Snapshot | None = None
        self.written_step = 0
        self.written_time = time.monotonic()
        self.enabled = getattr(scenario, "resumable", lambda: False)()

    def after_step(self):
        if not self.enabled:
            return
        self.last = capture(self.scenario)
        comm = self.scenario.problem.comm
        due = self.every_steps and self.last.step - self.written_step >= self.every_steps
        late = self.every_minutes and \
            time.monotonic() - self.written_time >= 60.0 * self.every_minutes
        if comm.bcast(bool(due or late), root=0):
            self.write_last()

    def write_last(self):
        if not self.enabled or self.last is None:
            return
        if self.before_write is not None:
            self.before_write()
        write(self.last, self.scenario, self.folder)
        self.written_step = self.last.step
        self.written_time = time.monotonic()


def folder_file(folder: Path, name: str) -> Path:
    path = Path(folder) / name
    if not path.is_file():
        raise CheckpointError(f"'{folder}' has no {name}")
    return path


def remove(folder: Path):
    target = Path(folder) / "checkpoint"
    if target.is_dir():
        for item in target.iterdir():
            item.unlink()
        target.rmdir()
    if os.path.isdir(Path(folder) / ".checkpoint.writing"):
        for item in (Path(folder) / ".checkpoint.writing").iterdir():
            item.unlink()
        (Path(folder) / ".checkpoint.writing").rmdir()
