"""The `nipstack sweep` command: check the inputs, run the points into the sweep folder, write
the table and the fit.

A stop (SIGINT/SIGTERM) ends the sweep as it ends a run: the point that was solving is
published INTERRUPTED, no further point starts, and the sweep folder is published marked
INTERRUPTED (its INTERRUPTED file lists every point: complete, interrupted or not run; no
sweep.csv or fit, which would stand for the whole sweep). Exit 130. A stop outside a solve
(a point's setup, between points, or a second signal) marks the point and the sweep folder
the same way at once. To finish the sweep, run it again with --overwrite.
"""
from __future__ import annotations

import signal
import sys
from pathlib import Path

from .. import interrupt
from ..case import CaseError
from ..results_folder import INTERRUPTED, OutputError, ResultsFolder
from .points import (check_fit, parse_fit, parse_param, parse_threshold, run_sweep,
                     validate_points, value_text)
from .report import write_results

EXIT_BAD_INPUT, EXIT_INCOMPLETE = 2, 3


def sweep_command(args, comm, say) -> int:
    """`nipstack sweep` (collective). `say(message, stream=None)` prints on rank 0."""
    ranks_per_run = args.ranks_per_run or comm.size
    try:
        key, values = parse_param(args.param)
        fit_keys = parse_fit(args.fit)
        thresholds = [parse_threshold(text) for text in args.threshold]
        if ranks_per_run < 1 or comm.size % ranks_per_run:
            raise CaseError(f"--ranks-per-run {ranks_per_run}: must divide the number of MPI "
                            f"ranks ({comm.size})")
        cases = validate_points(args.case, key, values, args.set)
        check_fit(fit_keys, key, cases[0])
    except CaseError as exc:
        say(f"nipstack: error: {exc}", sys.stderr)
        return EXIT_BAD_INPUT
    out = Path(args.out or f"results/{cases[0].case.name}_sweep_{key}")
    try:
        folder = ResultsFolder(out, comm, overwrite=args.overwrite,
                               case_name=cases[0].case.name)
    except OutputError as exc:
        say(f"nipstack: error: {exc}", sys.stderr)
        return EXIT_BAD_INPUT
    interrupt.set_outer_hard_stop(lambda signum: _hard_stop(folder, comm, signum))
    try:
        rows = run_sweep(args.case, key, values, args.set, folder.path, comm, ranks_per_run,
                         log=say)
        if _stopped(comm):
            return _interrupted(rows, key, values, folder, comm, say)
        if comm.rank == 0:
            write_results(rows, args.case, key, values, args.set, ranks_per_run, fit_keys,
                          cases[0], folder.path, log=say, thresholds=thresholds)
        folder.complete()
    finally:
        interrupt.set_outer_hard_stop(None)
    stopped = [value_text(row[key]) for row in rows if row["status"] != "complete"]
    if stopped:
        say(f"nipstack: sweep: {len(stopped)} point(s) stopped early ({key} = "
            f"{', '.join(stopped)}): excluded from the fit, see {out}/INCOMPLETE", sys.stderr)
    say(f"wrote {out}/sweep.csv, sweep.json"
        + (", compaction_fit.json/png" if (out / "compaction_fit.json").exists() else ""))
    return EXIT_INCOMPLETE if comm.bcast(bool(stopped), root=0) else 0


def _stopped(comm) -> bool:
    """True on every rank if a stop reached any rank (collective)."""
    from mpi4py import MPI
    return bool(comm.allreduce(interrupt.requested(), op=MPI.MAX))


def _interrupted(rows, key: str, values, folder: ResultsFolder, comm, say) -> int:
    """Publish a stopped sweep: INTERRUPTED, listing each point (rows: rank 0's)."""
    done = {row["index"]: row for row in rows}
    lines = []
    for index, value in enumerate(values):
        row = done.get(index)
        if row is None:
            lines.append(f"{key}={value_text(value)}: not run")
        elif row["status"] == "complete":
            lines.append(f"{row['folder']}: complete")
        else:
            lines.append(f"{row['folder']}: {row.get('reason', row['status'])}")
    complete = sum(1 for row in rows if row["status"] == "complete")
    reason = "sweep interrupted; its points:\n" + "\n".join(lines)
    where = folder.stopped(reason, INTERRUPTED, summary=False)
    say(f"nipstack: sweep interrupted: {complete} of {len(values)} point(s) complete, in "
        f"{where} (marked INTERRUPTED; no sweep.csv or fit). To finish the sweep, run it "
        f"again with --overwrite", sys.stderr)
    return interrupt.EXIT_INTERRUPTED


def _hard_stop(folder: ResultsFolder, comm, signum: int):
    """A stop outside a solve (no collectives): rank 0 marks the sweep folder INTERRUPTED."""
    if comm.rank != 0:
        return
    name = signal.Signals(signum).name
    where = folder.mark_interrupted(f"sweep interrupted by {name} outside a point's solve; "
                                    f"the points are in their folders")
    print(f"nipstack: sweep interrupted by {name}; {where} marked INTERRUPTED (no sweep.csv "
          f"or fit). To finish the sweep, run it again with --overwrite", file=sys.stderr,
          flush=True)
