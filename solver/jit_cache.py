"""Keep the FFCx/DOLFINx form cache usable after an interrupted compilation.

FFCx claims a form by creating `<module>.c` in the cache folder and marks it ready with
`<module>.c.cached` when the compiled library is in place; a process that finds the `.c` file
without the mark waits for it (10 s by default) and then fails with "JIT compilation timed out".
A run killed while it compiles leaves such a claim behind and every later run fails.

Every nipstack process holds an advisory lock file in `<cache>/nipstack-active/` for its
lifetime. Before it compiles, it removes unfinished claims: all of them when no other nipstack
process holds a lock (nobody can be compiling them), otherwise only those older than
`STALE_AFTER_S` (another run may be compiling right now). A DOLFINx program outside nipstack
that compiles into the same cache at that moment would have its claim removed too; it then
compiles the form again, which costs time but gives the same result.
"""
from __future__ import annotations

import fcntl
import os
import socket
import time
from pathlib import Path

STALE_AFTER_S = 600.0
_held = {"handle": None}


def cache_folder() -> Path:
    from dolfinx.jit import get_options

    return Path(get_options()["cache_dir"])


def _others_alive(active: Path, own: Path) -> bool:
    alive = False
    for lock in active.glob("*.lock"):
        if lock == own:
            continue
        try:
            handle = open(lock, "a")
        except OSError:
            continue
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            alive = True                   # held: that process runs
        else:
            lock.unlink(missing_ok=True)   # nobody holds it: a finished or killed process
        finally:
            handle.close()
    return alive


def prepare(log=None) -> list[Path]:
    """Take this process's lock (once) and remove stale compilation claims. Returns the
    removed files. Safe to call from every rank and many times."""
    folder = cache_folder()
    active = folder / "nipstack-active"
    try:
        active.mkdir(parents=True, exist_ok=True)
        own = active / f"{socket.gethostname()}-{os.getpid()}.lock"
        if _held["handle"] is None:
            handle = open(own, "a")
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            _held["handle"] = handle       # kept open (locked) until the process ends
        others = _others_alive(active, own)
    except OSError:
        return []                          # a read-only or odd cache: leave it to FFCx
    now = time.time()
    removed = []
    for claim in folder.glob("*.c"):
        if claim.with_suffix(".c.cached").exists():
            continue
        try:
            if others and now - claim.stat().st_mtime < STALE_AFTER_S:
                continue
            claim.unlink()
            removed.append(claim)
        except OSError:
            continue
    if removed and log is not None:
        log(f"  removed {len(removed)} unfinished form compilation(s) left in {folder} by an "
            f"interrupted run")
    return removed
