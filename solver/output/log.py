"""Logs that print on rank 0 only: every scenario's `log` goes through `rank_zero`."""
from __future__ import annotations


def nothing(*args, **kwargs):
    """A log that says nothing (ranks other than 0, quiet runs)."""


def rank_zero(log, comm):
    """`log` on rank 0 and a silent log on the other ranks: only rank 0 prints."""
    return log if comm.rank == 0 else nothing
