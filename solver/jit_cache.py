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
import pickle
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


def drop_unreadable_kernel_indexes(package: Path | None = None) -> list[Path]:
    """Remove the numba cache indexes of nipstack's kernels that this version cannot read.

    numba keeps a compiled kernel's index next to its source (``__pycache__/<module>.<function>
    -<line>.py312.nbi``) and unpickles the whole index before it checks that the source is
    unchanged. An index an older version left under the same function name and line, whose
    types name a class that has since moved (a checkout updated in place), then fails with
    AttributeError at the kernel's first call instead of being recompiled. Such an index is
    removed here (numba compiles the kernel again); readable ones are numba's to judge."""
    if package is None:
        from . import materials
        folders = [Path(__file__).resolve().parent, Path(materials.__file__).resolve().parent]
    else:
        folders = [Path(package)]
    removed = []
    for index in (i for folder in folders for i in folder.glob("__pycache__/*.nbi")):
        try:
            with open(index, "rb") as stream:
                pickle.load(stream)                 # numba's version
                pickle.loads(stream.read())         # (source stamp, overloads)
        except (AttributeError, ImportError, EOFError, pickle.UnpicklingError):
            index.unlink(missing_ok=True)
            removed.append(index)
        except OSError:
            continue
    return removed


def prepare(log=None) -> list[Path]:
    """Take this process's lock (once) and remove stale compilation claims (and unreadable
    kernel cache indexes, `drop_unreadable_kernel_indexes`). Returns the removed claims. Safe
    to call from every rank and many times."""
    if not _held.get("indexes_checked"):
        _held["indexes_checked"] = True
        drop_unreadable_kernel_indexes()
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
