"""Run one case into a results folder: the one place that ties scenario, fields and files.

A scenario (FlatPress, Calender, StackCase, Delamination) offers: `problem`, `records`,
`on_step` (a hook called after each converged step), `run()`, `summary()`,
`step_outputs(record, folder)` and `final_outputs(folder)` (scenario plots and profile CSVs;
collective), `history_csv(path)` (rank 0) and `describe(summary)` (the closing line);
optionally `field_writer(path)` (a FieldWriter with scenario fields, e.g. the stack's interface
gap and pressure) and `picture_view()` (what the pictures show). CalenderWidth (kind
calender_width) has `problem = None` (roll beams and a table of 2D calender runs, no mesh of
its own): no mesh line, material warnings, fields or pictures. `CaseRun` (behind `run_case` and
`nipstack.run`) adds what every run has:

* the safe results folder (``results_folder``): staging, marker, never replacing what is not
  nipstack's, a complete result kept when a rerun fails;
* provenance: `case.toml` (the file as given), `case.resolved.toml` (every `--set` applied and
  every default filled in; `nipstack run case.resolved.toml` repeats the run), the material
  cards used (`materials/`), `provenance.json` (versions, git commit, ranks, host, times, wall
  time per phase) and `run.log` (every line the run printed);
* live files: `run.log` and `history.csv` are rewritten after every converged step;
* the field time series for ParaView, history.csv and summary.json, with the admissibility
  warnings of the material laws (`warnings`) and, for a run that stopped, the failed step;
* INCOMPLETE (exit 3: cut-backs exhausted, an inadmissible state the load cannot avoid) and
  INTERRUPTED (exit 130: SIGINT/SIGTERM) folders with everything up to the last converged step.
"""
from __future__ import annotations

import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from . import interrupt
from .output import FieldWriter, keep_fields_before_resume, rank_zero, write_summary
from .results_folder import INTERRUPTED, ResultsFolder

EXIT_OK, EXIT_INCOMPLETE = 0, 3
EXIT_INTERRUPTED = interrupt.EXIT_INTERRUPTED


def build_scenario(case, comm, log=print):
    """The scenario of the case's kind (the protocol is in the module docstring)."""
    if case.case.kind == "flat_press":
        from .flat_press import FlatPress
        return FlatPress(case, comm, log)
    if case.case.kind == "calender":
        from .calender import Calender
        return Calender(case, comm, log)
    if case.case.kind == "calender_width":      # no FE problem of its own: problem is None
        from .width.scenario import CalenderWidth
        return CalenderWidth(case, comm, log)
    if case.case.kind == "stack":
        from .stack import StackCase
        return StackCase(case, comm, log)
    if case.case.kind == "delamination":
        from .delamination import Delamination
        return Delamination.from_case(case, comm, log)
    raise ValueError(f"unknown case kind {case.case.kind!r}")


class RunLog:
    """The run's messages: to the console (through `log`) and appended, flushed, to run.log
    (rank 0 only)."""

    def __init__(self, path: Path | None, log=print):
        self.console = log
        self.handle = open(path, "a", buffering=1) if path is not None else None

    def __call__(self, message: str):
        self.console(message)
        self.write(message)

    def write(self, message: str):
        if self.handle is not None:
            self.handle.write(message.rstrip("\n") + "\n")
            self.handle.flush()

    def close(self):
        if self.handle is not None:
            self.handle.close()
            self.handle = None


def _versions() -> dict:
    import dolfinx
    import numpy
    from petsc4py import PETSc

    from . import __version__

    petsc = ".".join(str(part) for part in PETSc.Sys.getVersion())
    return {"nipstack": __version__, "dolfinx": dolfinx.__version__, "petsc": petsc,
            "python": platform.python_version(), "numpy": numpy.__version__,
            "platform": platform.platform()}


def _git_commit() -> dict | None:
    """The commit of the checkout nipstack runs from (None for an installed copy)."""
    source = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "-C", str(source), "rev-parse", "HEAD"],
                                capture_output=True, text=True, timeout=10)
        if commit.returncode != 0:
            return None
        dirty = subprocess.run(["git", "-C", str(source), "status", "--porcelain", "--",
                                "."], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit.stdout.strip(), "uncommitted_changes": bool(dirty.stdout.strip())}


def write_inputs(case, folder: Path, case_file: Path | None = None):
    """The case as given, the resolved case and the material cards it uses (rank 0)."""
    from .case import dump_resolved
    from .materials.cards import card_path

    if case_file is not None and case_file.is_file():
        shutil.copyfile(case_file, folder / "case.toml")
    (folder / "case.resolved.toml").write_text(dump_resolved(case))
    cards = folder / "materials"
    for name in case.card_names():
        source = card_path(name)
        cards.mkdir(exist_ok=True)
        shutil.copyfile(source, cards / source.name)
    mesh_file = case.geometry.mesh_file if case.case.kind == "flat_press" else None
    if mesh_file:                              # the user's mesh, as it was for this run
        (folder / "mesh").mkdir(exist_ok=True)
        shutil.copyfile(mesh_file, folder / "mesh" / Path(mesh_file).name)


class Provenance:
    """provenance.json: what ran, where, with what, and how long each phase took (rank 0)."""

    def __init__(self, path: Path, comm, argv: list[str] | None):
        self.path = path
        self.started = time.time()
        self.phases: dict[str, float] = {}
        hosts = sorted(set(comm.allgather(socket.gethostname())))
        self.data = {
            "command": argv if argv is not None else sys.argv,
            "working_directory": os.getcwd(), "mpi_ranks": comm.size, "hosts": hosts,
            "user": os.environ.get("USER") or os.environ.get("LOGNAME"),
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(self.started)),
            "versions": _versions() if comm.rank == 0 else {},
            "git": _git_commit() if comm.rank == 0 else None,
        }
        self.rank = comm.rank
        self._phase, self._phase_start = None, None
        self.save()

    def phase(self, name: str | None):
        now = time.perf_counter()
        if self._phase is not None:
            self.phases[self._phase] = self.phases.get(self._phase, 0.0) + now - self._phase_start
        self._phase, self._phase_start = name, now
        self.save()

    def finish(self, status: str):
        self.phase(None)
        self.data["status"] = status
        self.data["ended"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        self.data["wall_time_s"] = time.time() - self.started
        self.save()

    def save(self):
        if self.rank == 0:
            self.data["wall_time_per_phase_s"] = dict(self.phases)
            self.path.write_text(json.dumps(self.data, indent=2) + "\n")


class CaseRun:
    """One run of a case into its results folder (collective: every rank makes every call).
    After `execute()`, `summary` is the run's summary (None for a run that stopped) and
    `published` the folder it was published as (the final folder, or `<name>.incomplete`
    beside a complete result it must not replace)."""

    def __init__(self, case, comm, out: Path, log=print, warn=None, overwrite: bool = False,
                 case_file: Path | None = None, argv: list[str] | None = None,
                 resume: bool = False):
        from . import checkpoint

        self.case, self.comm, self.resume = case, comm, resume
        self.console_warn = warn or log
        self.folder = ResultsFolder(out, comm, overwrite=overwrite, case_name=case.case.name,
                                    resume=resume)   # resume: checks it, stages a copy of it
        self.checkpoint_data = checkpoint.read(self.folder.path) if resume else None
        self.runlog = RunLog(self.folder.path / "run.log" if comm.rank == 0 else None,
                             rank_zero(log, comm))
        self.summary, self.published = None, None
        self.scenario, self.problem, self.fields = None, None, None
        interrupt.set_hard_stop(self.hard_stop)
        previous = None
        if comm.rank == 0 and not resume:
            write_inputs(case, self.folder.path, case_file)
        if comm.rank == 0 and resume and (self.folder.path / "provenance.json").is_file():
            previous = json.loads((self.folder.path / "provenance.json").read_text())
        self.provenance = Provenance(self.folder.path / "provenance.json", comm, argv)
        self.earlier_fields = {}       # a resumed run's fields so far, continued by on_step
        if resume:
            head = self.checkpoint_data[0]
            self.provenance.data.update(resumed_from_step=head["step"],
                                        resumed_from_ranks=head["ranks"],
                                        before_resume=previous)
            kept = keep_fields_before_resume(self.folder.path / "fields", head["step"]) \
                if comm.rank == 0 else None
            self.earlier_fields = comm.bcast(kept, root=0)

    def say(self, message: str):
        if self.comm.rank == 0:
            self.runlog(message)

    def warn(self, message: str):
        if self.comm.rank == 0:
            self.console_warn(message)
            self.runlog.write(message)

    def hard_stop(self, signum):   # a signal outside the solve: mark the folder, no collectives
        folder = self.folder
        if self.comm.rank == 0:
            reason = f"interrupted by {interrupt.signal.Signals(signum).name} outside the solve"
            self.runlog.write(f"nipstack: {reason}")
            where = folder.mark_interrupted(reason)
            print(f"nipstack: {reason}; {where} marked INTERRUPTED", file=sys.stderr,
                  flush=True)

    def set_up(self):
        """The scenario (mesh, laws, forms), the checkpointer and, to resume, the replay."""
        from . import checkpoint
        from .jit_cache import prepare as prepare_jit_cache

        case, comm = self.case, self.comm
        self.say(f"nipstack {case.case.kind}: {case.case.name} on {comm.size} rank(s) -> "
                 f"{self.folder.final} (written into {self.folder.path.name} until the run "
                 f"ends)")
        self.provenance.phase("setup")
        prepare_jit_cache(self.say)
        self.scenario = build_scenario(case, comm, self.say)
        self.problem = self.scenario.problem
        if self.problem is not None:   # calender_width: beams and 2D runs, no mesh of its own
            V, mesh = self.problem.V, self.problem.mesh
            self.say(f"  mesh: {mesh.topology.dim}D, "
                     f"{mesh.topology.index_map(mesh.topology.dim).size_global} cells, "
                     f"{V.dofmap.index_map.size_global * V.dofmap.index_map_bs} dofs")
        self.checkpoints = checkpoint.Checkpointer(self.scenario, self.folder.path,
                                                   case.output.checkpoint_every_steps,
                                                   case.output.checkpoint_every_minutes,
                                                   before_write=self.save_fields)
        if self.resume:
            if not self.checkpoints.enabled:
                raise checkpoint.CheckpointError(f"--resume: a {case.case.kind} run of this "
                                                 f"kind is not checkpointed")
            head = self.checkpoint_data[0]
            self.scenario.replay = checkpoint.Replay(*self.checkpoint_data, self.scenario)
            self.say(f"  resuming from the checkpoint of step {head['step']} (written on "
                     f"{head['ranks']} rank(s))")
            if self.folder.replaces_source():
                self.say(f"  {self.folder.source} holds a stopped rerun of {self.folder.final}: "
                         f"complete, it replaces {self.folder.final} (as --overwrite asked) "
                         f"and {self.folder.source} is removed")
        self.scenario.on_step = self.on_step

    def on_step(self, record, model):
        """After each converged step: the fields, the scenario's step files, the live
        history.csv and, when due, a checkpoint."""
        path = self.folder.path
        if self.case.output.fields:
            if record.step == 1 or self.fields is None:
                # a new load history (final-thickness searches restart), or a resumed run
                self.close_fields()
                make = getattr(model, "field_writer", None)
                fields = path / "fields" / "fields.pvd"
                self.fields = make(fields) if make else FieldWriter(model.problem, fields)
                self.fields.continue_series(self.earlier_fields)
                if self.comm.rank == 0:    # `paraview --script=open_in_paraview.py` in the folder
                    shutil.copyfile(Path(__file__).with_name("open_in_paraview.py"),
                                    path / "open_in_paraview.py")
            self.fields.write(record.time)
        model.step_outputs(record, path)
        if self.comm.rank == 0:                                   # live: tail -f history.csv
            self.scenario.history_csv(path / "history.csv")
        self.checkpoints.after_step()

    def save_fields(self):
        """fields.pvd as it stands (before each checkpoint: a killed run's lists at least the
        steps its checkpoint holds, which a resume keeps)."""
        if self.fields is not None:
            self.fields.save_collection()

    def close_fields(self):
        if self.fields is not None:
            self.fields.close()
            self.fields = None

    def stopped(self, status: str, reason: str, code: int) -> int:
        """A run that stopped early or was stopped: what it reached, marked, published."""
        scenario = self.scenario
        self.close_fields()
        self.checkpoints.write_last()          # `nipstack run --resume` continues from here
        if scenario.records:
            summary = scenario.summary()
            summary["failed_step"] = len(scenario.records) + 1
            summary["warnings"] = _warnings(self.problem, self.comm)
            if self.comm.rank == 0:
                scenario.history_csv(self.folder.path / "history.csv")
                write_summary(summary, self.folder.path / "summary.json")
        self.provenance.finish(status)
        self.published = self.folder.stopped(reason, status)
        interrupt.set_hard_stop(None)       # published: a later signal is not this run's
        self.warn(f"nipstack: run {'stopped' if status != INTERRUPTED else 'interrupted'}: "
                  f"{reason}\n  results up to the last converged step in {self.published} "
                  f"(marked {status.upper()})")
        self.runlog.close()
        return code

    def finish(self) -> int:
        """A complete run: summary, the scenario's final files, pictures, published."""
        from . import checkpoint

        scenario, path, case = self.scenario, self.folder.path, self.case
        self.provenance.phase("outputs")
        self.close_fields()
        summary = scenario.summary()
        summary["status"] = "complete"
        summary["warnings"] = _warnings(self.problem, self.comm)
        for message in summary["warnings"]:
            self.warn(f"nipstack: warning: {message}")
        scenario.final_outputs(path)
        if self.comm.rank == 0:
            scenario.history_csv(path / "history.csv")
            write_summary(summary, path / "summary.json")
        if self.comm.rank == 0 and case.output.plots and (path / "fields" / "fields.pvd").is_file():
            render_pictures(scenario, path, self.folder.final, case.case.name, self.say,
                            self.warn)
        self.say(scenario.describe(summary))
        if interrupt.requested():
            self.warn("nipstack: a stop was requested after the last step: the run was "
                      "complete, so its results are written")
        self.provenance.finish("complete")
        self.runlog.close()
        if self.comm.rank == 0:
            checkpoint.remove(path)    # a complete run needs no restart
        self.summary = summary
        self.published = self.folder.complete()
        if self.folder.replaces_source():
            self.say(f"  complete result in {self.published} (it replaced the earlier result; "
                     f"{self.folder.source} removed)")
        return EXIT_OK

    def execute(self) -> int:
        """Set up, solve and write; the exit code (EXIT_OK, EXIT_INCOMPLETE,
        EXIT_INTERRUPTED)."""
        from .mechanics import RunIncomplete

        self.set_up()
        self.provenance.phase("solve")
        interrupt.arm(True)
        try:
            self.scenario.run()
        except RunIncomplete as exc:
            interrupt.arm(False)
            return self.stopped("incomplete", str(exc), EXIT_INCOMPLETE)
        except interrupt.RunInterrupted as exc:
            interrupt.arm(False)
            step = len(self.scenario.records) + 1
            return self.stopped(INTERRUPTED, f"{exc} during step {step}", EXIT_INTERRUPTED)
        # still armed: a stop request that arrives after the last step (the outputs take
        # seconds) lets the complete result be written; a second signal stops at once
        code = self.finish()
        interrupt.arm(False)
        interrupt.set_hard_stop(None)       # published: a later signal is not this run's
        return code


def run_case(case, comm, out: Path, log=print, warn=None, overwrite: bool = False,
             case_file: Path | None = None, argv: list[str] | None = None,
             resume: bool = False) -> tuple[int, dict | None]:
    """Run `case` on `comm` into the folder `out`. Returns (exit code, summary).
    `log` gets progress lines, `warn` (default: log) the message of a run that stopped early.
    resume=True continues the stopped run in `out` from its checkpoint (`case` is its
    case.resolved.toml). Raises results_folder.OutputError or checkpoint.CheckpointError
    (nothing written) if `out` may not be written or resumed. `nipstack.run` (api.py) is the
    same run with a Results object."""
    run = CaseRun(case, comm, out, log, warn, overwrite, case_file, argv, resume)
    return run.execute(), run.summary

def render_pictures(scenario, folder: Path, final: Path, name: str, say, warn):
    """The pyvista pictures of the run (``pictures``), rendered from its field files in a
    child process; a failure costs the pictures (with a warning), never the run. Rank 0."""
    from .pictures import render_in_child

    view = getattr(scenario, "picture_view", dict)()
    view.setdefault("case", name)
    (folder / "fields" / "view.json").write_text(json.dumps(view, indent=2) + "\n")
    started = time.perf_counter()
    pictures, why = render_in_child(folder)
    if pictures:
        say(f"  pictures: {', '.join(pictures)} ({time.perf_counter() - started:.1f} s)")
    else:
        warn(f"nipstack: warning: no pictures rendered ({why}); the fields are written, "
             f"`nipstack pictures {final}` retries")


def _warnings(problem, comm) -> list[str]:
    """The admissibility warnings of every rank's accepted states (e.g. loading past the end of
    a card's table), merged over the ranks with the extreme value of each."""
    notes = problem.warnings() if problem is not None else []   # calender_width: none
    merged: dict = {}
    for part in comm.allgather(notes):
        for region, what, value, text in part:
            if value > merged.get((region, what), (-float("inf"), ""))[0]:
                merged[(region, what)] = (value, text)
    return [f"region '{region}': {text.format(value=value)}"
            for (region, what), (value, text) in sorted(merged.items())]
