"""Where a calender rolling step spends its Newton iterations.

    .venv/bin/python benchmarks/calender_newton.py
    .venv/bin/python benchmarks/calender_newton.py --set calender.guide_stiffness=10
    .venv/bin/python benchmarks/calender_newton.py --case cases/calender_lfp_etiemble.toml

Runs `Calender.run()` on the case (default cases/calender_nmc.toml, overrides with --set) and
wraps its own Newton solver instance (the solver files are untouched) to record, for every
iteration of every rolling step:
- the relative residual |r| / |f| (Newton's own measure);
- the line-search halvings the iteration needed (0: the full Newton step was taken);
- where the Newton correction du is largest: x from the nip centre and y in the current
  configuration (mm), and its components (mm).

Rank 0 prints a summary line (median / max iterations of the rolling steps, the count of
halvings, the exit porosity and roll torques: the numbers a change to the contact or the
supports moves), then one table per step for the `--show` slowest rolling steps. A correction
that keeps landing on the same column, on full steps, while the residual falls 10-20 % an
iteration is the stall docs/benchmarks.md ("Calender Newton iterations") describes.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import dolfinx_solver  # noqa: F401  (MPI before dolfinx/petsc4py)
import numpy as np
from mpi4py import MPI

from nipstack.calender import Calender
from nipstack.case import load_case

ROOT = Path(__file__).resolve().parents[1]


class NewtonTrace:
    """Per-iteration records of one Newton solver instance (see the module)."""

    def __init__(self, calender: Calender):
        self.calender = calender
        self.steps = []         # one list of iteration records per Newton solve
        self.records_before = []   # per solve: steps recorded when it started
        newton = calender.newton
        solve, line_search = newton.solve, newton._line_search

        def traced_solve(*args, **kwargs):
            self.steps.append([])
            self.records_before.append(len(calender.records))
            return solve(*args, **kwargs)

        def traced_line_search(residual, dx, force_control, report):
            before = report.line_search_cuts
            where = self._largest_correction(newton)
            result = line_search(residual, dx, force_control, report)
            self.steps[-1].append({"halvings": report.line_search_cuts - before, **where})
            return result

        newton.solve = traced_solve
        newton._line_search = traced_line_search

    def _largest_correction(self, newton) -> dict:
        """Position (current configuration) and components of the largest nodal du, over
        all ranks (collective)."""
        problem = self.calender.problem
        gdim = problem.gdim
        du = newton.du.getArray(readonly=True).reshape(-1, gdim)
        nodes = len(du)
        local = {"size": 0.0}
        if nodes:
            magnitude = np.abs(du).max(axis=1)
            i = int(np.argmax(magnitude))
            X = problem.V.tabulate_dof_coordinates()[i]
            u = problem.u.x.array.reshape(-1, gdim)[i]
            local = {"size": float(magnitude[i]),
                     "x": float(X[0] + u[0] - self.calender.layout.nip_x),
                     "y": float(X[1] + u[1]), "du_x": float(du[i, 0]), "du_y": float(du[i, 1])}
        return max(problem.comm.allgather(local), key=lambda entry: entry["size"])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--case", type=Path, default=ROOT / "cases" / "calender_nmc.toml")
    parser.add_argument("--set", action="append", default=[], dest="overrides")
    parser.add_argument("--show", type=int, default=2, help="slowest rolling steps to print")
    args = parser.parse_args(argv)
    comm = MPI.COMM_WORLD
    case = load_case(args.case, args.overrides + ["output.fields=false", "output.plots=false"])
    calender = Calender(case, comm, log=lambda *a: None)
    trace = NewtonTrace(calender)
    calender.run()
    # a step's own solve is the last one started before it was recorded; the others of a
    # rolling step failed (a halved increment, or a steady start solved again)
    accepted = {before: steps for before, steps in zip(trace.records_before, trace.steps)}
    rolling = [(record, accepted[k]) for k, record in enumerate(calender.records)
               if record.phase == "rolling"]
    iterations = [record.newton_iterations for record, _ in rolling]
    halvings = sum(entry["halvings"] for _, steps in rolling for entry in steps)
    first = next(k for k, record in enumerate(calender.records) if record.phase == "rolling")
    solves = [steps for before, steps in zip(trace.records_before, trace.steps)
              if before >= first]
    summary = calender.summary()
    if comm.rank != 0:
        return 0
    print(f"{args.case.name} {' '.join(args.overrides)}: {len(rolling)} rolling steps, Newton "
          f"iterations median {np.median(iterations):g}, max {max(iterations)}, "
          f"{halvings} line-search halvings; {len(solves)} Newton solves and "
          f"{sum(map(len, solves))} iterations in all (failed solves included); "
          f"exit porosity {summary['exit_porosity']:.6f}, "
          f"torques {summary['roll_torque_Nmm_per_mm']:.4g} / "
          f"{summary['roll_torque_bottom_Nmm_per_mm']:.4g} N mm/mm, foundation "
          f"{summary['foundation_force_N_per_mm']:.3g} N/mm")
    slowest = sorted(rolling, key=lambda item: -item[0].newton_iterations)[:args.show]
    for record, steps in sorted(slowest, key=lambda item: item[0].step):
        print(f"\nstep {record.step} (travel {record.travel:.3f} mm): "
              f"{record.newton_iterations} iterations")
        print("| it | |r|/|f| | halvings | largest du at x, y (mm) | du_x, du_y (mm) |")
        print("|---|---|---|---|---|")
        for k, residual in enumerate(record.residuals):
            entry = steps[k] if k < len(steps) else None
            if entry is None:
                print(f"| {k} | {residual:.1e} | | | |")
                continue
            print(f"| {k} | {residual:.1e} | {entry['halvings']} | {entry['x']:.3f}, "
                  f"{entry['y']:.4f} | {entry['du_x']:.1e}, {entry['du_y']:.1e} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
