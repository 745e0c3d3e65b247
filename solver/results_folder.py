"""The results folder: written so that a run can never destroy anything it did not make.

Rules (issue 14, "runs that never lose data"):

* A run writes only into a folder it creates, or into one that carries nipstack's marker file
  `.nipstack` from an earlier run. Anything else (an existing regular file, the working directory,
  a user's folder) is refused with `OutputError` (exit 2) *before* any work is done. An earlier
  nipstack result is replaced only with `--overwrite`.
* The run writes into the staging folder `<name>.partial` next to the final one. It is created at
  once with the marker (status `running`, host, pid), the case file as given, the resolved case
  and the live `run.log` / `history.csv`, so a long run can be followed with `tail -f` and a
  killed run leaves a folder that says what it was.
* At the end the staging folder becomes `<name>`. A run that stopped early (INCOMPLETE) or was
  stopped (INTERRUPTED) never replaces a *complete* result: it is published as
  `<name>.incomplete` beside it instead. Resuming `<name>.incomplete` continues the run meant
  for `<name>`: complete, it replaces `<name>` (as --overwrite asked) and the stopped copy
  `<name>.incomplete` is removed; stopped again, it replaces `<name>.incomplete`.

Every method is collective (call it on every rank); rank 0 does the file work.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import time
from pathlib import Path

MARKER = ".nipstack"
COMPLETE, INCOMPLETE, INTERRUPTED, RUNNING = "complete", "incomplete", "interrupted", "running"


class OutputError(ValueError):
    """A results folder the run may not write to (a user error: exit 2, nothing written)."""


class EarlierResult(OutputError):
    """The results folder holds an earlier nipstack result and --overwrite was not given."""


def read_marker(folder: Path) -> dict | None:
    """The marker of a nipstack results folder, or None if `folder` is not one."""
    marker = Path(folder) / MARKER
    if not marker.is_file():
        return None
    try:
        data = json.loads(marker.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("nipstack") else None


def _alive_here(marker: dict) -> bool:
    """True if the marker names a process on this host that still runs."""
    if marker.get("host") != socket.gethostname():
        return False
    try:
        os.kill(int(marker.get("pid", -1)), 0)
    except (OSError, ValueError, OverflowError):
        return False
    return True


def staging_path(final: Path) -> Path:
    return final.parent / f"{final.name}.partial"


def check_destination(final: str | Path, overwrite: bool = False) -> Path:
    """Raise OutputError if a run may not write its results to `final`; return it resolved.

    Called before anything is computed (the CLI turns the error into exit 2)."""
    final = Path(final)
    if final.name in ("", ".", "..") or str(final).endswith(os.sep + ".."):
        raise OutputError(f"results folder '{final}': give a folder name, not '{final}'")
    resolved = final.resolve()
    if resolved == Path(resolved.anchor) or resolved == Path.home().resolve():
        raise OutputError(f"results folder '{final}': refusing to write to {resolved}")
    if resolved == Path.cwd().resolve() or Path.cwd().resolve().is_relative_to(resolved):
        raise OutputError(f"results folder '{final}' is the working directory or holds it; "
                          f"give a new folder name")
    if final.exists() or final.is_symlink():
        if not final.is_dir() or final.is_symlink():
            raise OutputError(f"results folder '{final}' exists and is not a folder; nipstack "
                              f"writes only into a folder it creates (give a new name)")
        marker = read_marker(final)
        if marker is None:
            raise OutputError(f"results folder '{final}' exists and is not a nipstack results "
                              f"folder (no {MARKER} marker); nipstack writes only into a folder "
                              f"it creates (give a new name)")
        if not overwrite:
            raise EarlierResult(f"results folder '{final}' holds an earlier nipstack result "
                                f"(status {marker.get('status', '?')}); pass --overwrite to "
                                f"replace it, or give a new --out")
        if marker.get("status") == RUNNING and _alive_here(marker):
            raise OutputError(f"results folder '{final}' belongs to a run that is still "
                              f"going (pid {marker.get('pid')})")
    for sibling in (staging_path(final), final.parent / f"{final.name}.incomplete"):
        if sibling.exists() or sibling.is_symlink():
            marker = read_marker(sibling) if sibling.is_dir() and not sibling.is_symlink() \
                else None
            if marker is None:
                raise OutputError(f"'{sibling}' exists and is not nipstack's; nipstack needs "
                                  f"that name for its staging folder (move it away)")
            if sibling.name.endswith(".partial") and _alive_here(marker):
                raise OutputError(f"another run (pid {marker.get('pid')}) is writing into "
                                  f"'{sibling}'")
    parent = final.parent
    existing = parent
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise OutputError(f"results folder '{final}': '{existing}' is not a folder")
    if not os.access(existing, os.W_OK):
        raise OutputError(f"results folder '{final}': '{existing}' is not writable")
    return final


def check_resumable(folder: str | Path) -> tuple[Path, Path]:
    """(final, staging) of a results folder that `--resume` may continue: a stopped run
    (INCOMPLETE or INTERRUPTED) with a checkpoint, or the staging folder of a killed run.
    Raises OutputError naming what is missing."""
    folder = Path(folder)
    if not folder.exists():
        moved = _published(folder)
        raise OutputError(f"--resume '{folder}': no such folder" + (
            f" (the folder it was in has been published: resume '{moved}')" if moved else ""))
    marker = read_marker(folder) if folder.is_dir() else None
    if marker is None:
        raise OutputError(f"--resume '{folder}': not a nipstack results folder")
    status = marker.get("status")
    if status == COMPLETE:
        raise OutputError(f"--resume '{folder}': the run is complete; nothing to resume")
    if status == RUNNING and _alive_here(marker):
        raise OutputError(f"--resume '{folder}': its run is still going (pid "
                          f"{marker.get('pid')})")
    if not (folder / "checkpoint" / "meta.pickle").is_file():
        raise OutputError(f"--resume '{folder}': it holds no checkpoint (it stopped before its "
                          f"first converged step, or its scenario is not checkpointed)")
    if not (folder / "case.resolved.toml").is_file():
        raise OutputError(f"--resume '{folder}': it has no case.resolved.toml")
    if folder.name.endswith(".partial"):   # a killed run's staging folder, or one stopped
        final = folder.parent / folder.name[:-len(".partial")]   # while its name was taken
        if final.exists() and read_marker(final) is None:
            raise OutputError(f"--resume '{folder}': '{final}' exists and is not nipstack's")
        return final, folder
    if status == RUNNING:
        raise OutputError(f"--resume '{folder}': marked running, but no process runs it")
    if folder.name.endswith(".incomplete"):      # a rerun (--overwrite) that stopped
        final = folder.parent / folder.name[:-len(".incomplete")]
        try:
            check_destination(final, overwrite=True)
        except OutputError as exc:
            raise OutputError(f"--resume '{folder}': its run was meant for '{final}', which "
                              f"it cannot replace: {exc}") from None
        return final, staging_path(final)
    return folder, staging_path(folder)


def _published(folder: Path) -> Path | None:
    """Where `folder` is now if a folder above it was a staging folder (`<sweep>.partial/...`)
    that has since been published, or None."""
    parts = folder.parts
    for k, part in enumerate(parts[:-1]):
        if part.endswith(".partial"):
            moved = Path(*parts[:k], part[:-len(".partial")], *parts[k + 1:])
            return moved if moved.exists() else None
    return None


class ResultsFolder:
    """The staging folder of one run and its publication (collective: every rank calls every
    method; rank 0 does the file work).

    resume=True continues the stopped run in `directory` (see `check_resumable`): the staging
    folder starts as a copy of it (its log, history, fields and checkpoint; the run continues
    the fields series, see output.fields.keep_fields_before_resume), and the resumed run
    replaces it when it ends."""

    def __init__(self, directory: str | Path, comm, overwrite: bool = False,
                 case_name: str = "", resume: bool = False):
        self.final = Path(directory)
        self.comm = comm
        self.partial = staging_path(self.final)
        self.case_name = case_name
        self.source = Path(directory) if resume else None     # the stopped run it continues
        error = ""
        if comm.rank == 0:
            try:
                if resume:
                    self.final, self.partial = check_resumable(directory)
                    self._stage_resume(Path(directory))
                else:
                    check_destination(self.final, overwrite)
                    if self.partial.exists():      # a killed run's leftovers (checked: ours)
                        shutil.rmtree(self.partial)
                    self.partial.mkdir(parents=True)
                self.write_marker(RUNNING)
            except (OutputError, OSError) as exc:
                error = str(exc)
        error = comm.bcast(error, root=0)
        if error:
            raise OutputError(error)
        self.final = Path(comm.bcast(str(self.final), root=0))
        self.partial = Path(comm.bcast(str(self.partial), root=0))

    def _stage_resume(self, source: Path):
        if source != self.partial:
            if self.partial.exists():
                shutil.rmtree(self.partial)
            shutil.copytree(source, self.partial, symlinks=True)
        for name in (INCOMPLETE.upper(), INTERRUPTED.upper(), "summary.json"):
            (self.partial / name).unlink(missing_ok=True)

    @property
    def path(self) -> Path:
        return self.partial

    def write_marker(self, status: str, **extra):
        from . import __version__

        data = {"nipstack": __version__, "status": status, "case": self.case_name,
                "host": socket.gethostname(), "pid": os.getpid(), "ranks": self.comm.size,
                "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **extra}
        (self.partial / MARKER).write_text(json.dumps(data, indent=2) + "\n")

    def mark_interrupted(self, reason: str) -> Path:
        """A signal outside the solve (rank 0, no collectives): the staging folder is marked
        INTERRUPTED and takes the final name if that is free. Returns where it is."""
        (self.partial / "INTERRUPTED").write_text(reason + "\n")
        self.write_marker(INTERRUPTED)
        if self.final.exists():
            return self.partial
        self.partial.rename(self.final)
        return self.final

    def _publish(self, status: str) -> Path:
        """Move the staging folder to its final name; returns where it went (on every rank)."""
        where = self.final
        if self.comm.rank == 0:
            self.write_marker(status)
            previous = read_marker(self.final) if self.final.is_dir() else None
            if status != COMPLETE and previous is not None and \
                    previous.get("status") == COMPLETE:
                where = self.final.parent / f"{self.final.name}.incomplete"
            if where.exists():                      # ours (checked before the run)
                retired = where.parent / f".{where.name}.replaced-{os.getpid()}"
                where.rename(retired)
                self.partial.rename(where)
                shutil.rmtree(retired, ignore_errors=True)
            else:
                self.partial.rename(where)
        return Path(self.comm.bcast(str(where), root=0))

    def complete(self) -> Path:
        where = self._publish(COMPLETE)
        if self.comm.rank == 0 and self.replaces_source() and read_marker(self.source):
            shutil.rmtree(self.source)      # the stopped copy, now replaced by a complete run
        self.comm.barrier()
        return where

    def replaces_source(self) -> bool:
        """True for a resumed `<name>.incomplete`: its run is published as `<name>`, and the
        stopped copy is removed once that is complete."""
        return self.source is not None and self.source not in (self.final, self.partial)

    def stopped(self, reason: str, status: str = INCOMPLETE, summary: bool = True) -> Path:
        """Publish a run that stopped early (INCOMPLETE) or was stopped (INTERRUPTED): the
        marker file says why and summary.json (unless summary=False: a sweep's folder) carries
        the status."""
        if self.comm.rank == 0:
            (self.partial / status.upper()).write_text(reason + "\n")
        if self.comm.rank == 0 and summary:
            path = self.partial / "summary.json"
            data = json.loads(path.read_text()) if path.exists() else {}
            data["status"] = status
            data["reason"] = reason
            path.write_text(json.dumps(data, indent=2, default=float) + "\n")
        return self._publish(status)

    def incomplete(self, reason: str) -> Path:
        return self.stopped(reason, INCOMPLETE)

    def discard(self):
        if self.comm.rank == 0 and self.partial.exists():
            shutil.rmtree(self.partial)
        self.comm.barrier()
