"""Stopping a run cleanly on SIGINT / SIGTERM, on any rank, under MPI.

A signal handler only sets a flag. The Newton driver calls `check(comm)` at the top of every
iteration: an allreduce of the flag, so every rank sees a signal that reached any one of them and
all raise `RunInterrupted` at the same iteration. The case runner then writes history, summary
and log up to the last converged step and marks the folder INTERRUPTED.

After the last step the runner stays armed while it writes the outputs, so a first signal
there lets the complete result be written. Before the solve (mesh generation, form
compilation) no collective check runs;
there the handler calls `on_hard_stop` (the runner marks the folder INTERRUPTED from rank 0 with
plain file operations) and ends the process at once: `mpirun` then ends the other ranks. A second
signal during the solve does the same, for a user who does not want to wait for the iteration.

(MPICH's mpirun forwards SIGINT to every rank; SIGTERM to mpirun itself is not forwarded, so
stop a job by signalling its ranks, which is what batch systems do.)
"""
from __future__ import annotations

import os
import signal
import sys

EXIT_INTERRUPTED = 130


class RunInterrupted(BaseException):
    """Raised on every rank at once when a stop was requested (a BaseException, like
    KeyboardInterrupt, so that no `except Exception` in a load stepper swallows it)."""

    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(f"interrupted by {signal.Signals(signum).name}")


_state = {"signal": 0, "armed": False, "installed": False, "on_hard_stop": None,
          "outer_hard_stop": None}


def install(on_hard_stop=None):
    """Install the SIGINT/SIGTERM handler (the CLI does; library use is left alone)."""
    _state.update(signal=0, armed=False, installed=True, on_hard_stop=on_hard_stop,
                  outer_hard_stop=None)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _handler)


def reinstall():
    """Put the handler back after a library replaced it at the C level (gmsh.initialize
    resets SIGTERM to the default, which would kill the run without marking its folder)."""
    if _state["installed"]:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, _handler)


def set_hard_stop(callback):
    """What a hard stop does first: the running case marks its folder (None: nothing)."""
    _state["on_hard_stop"] = callback


def set_outer_hard_stop(callback):
    """What a hard stop does after the case's callback: a sweep marks its own folder."""
    _state["outer_hard_stop"] = callback


def arm(armed: bool = True):
    """Armed: the solve runs and polls `check`; a first signal only sets the flag."""
    _state["armed"] = armed


def requested() -> int:
    return _state["signal"]


def _handler(signum, frame):
    first = _state["signal"] == 0
    _state["signal"] = signum
    if _state["armed"] and first:
        return
    for callback in (_state["on_hard_stop"], _state["outer_hard_stop"]):
        if callback is None:
            continue
        try:
            callback(signum)
        except Exception as exc:  # noqa: BLE001 - nothing may stop the exit
            print(f"nipstack: could not mark the results folder: {exc}", file=sys.stderr)
    sys.stderr.flush()
    os._exit(EXIT_INTERRUPTED)


def check(comm):
    """Collective: raise RunInterrupted on every rank if any rank has been signalled."""
    if not _state["installed"]:
        return
    from mpi4py import MPI

    signum = comm.allreduce(_state["signal"], op=MPI.MAX)
    if signum:
        raise RunInterrupted(signum)
