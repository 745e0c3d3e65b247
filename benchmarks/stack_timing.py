"""Timing of a stack case (default: the solid-state stack, cases/stack_ssb_rough_lithium.toml):
time per Newton iteration against one linear solve, on any number of ranks.

    .venv/bin/python benchmarks/stack_timing.py
    .venv/bin/mpirun -n 2 .venv/bin/python benchmarks/stack_timing.py
    .venv/bin/python benchmarks/stack_timing.py --case cases/stack_pouch_pressure_window.toml

Runs `StackCase.run()` with the in-place profiler of `flat_press_timing.py` (it wraps the
instance's update_material, Newton solve and KSP; the solver files are untouched; JIT and KSP
set-up before the clock) and reports: cells, dofs, steps, Newton solves (the secant pressure
control and the augmented-Lagrangian loop solve several times per step; failed ones were cut
back), Newton iterations (Jacobians factorised), iterations per step, wall time, seconds per
iteration and its phases (constitutive + interface update, residual, Jacobian, linear solve);
"iteration / solve" = time per iteration / one linear solve. Rank 0 prints a markdown row,
appends it to --out and writes the run's summary next to it.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import dolfinx_solver  # noqa: F401  (MPI before dolfinx/petsc4py)
from mpi4py import MPI

sys.path.insert(0, str(Path(__file__).resolve().parent))
from flat_press_timing import Profiler, code_state  # noqa: E402

from nipstack.case import load_case  # noqa: E402
from nipstack.stack import StackCase  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--case", type=Path,
                        default=ROOT / "cases" / "stack_ssb_rough_lithium.toml")
    parser.add_argument("--set", action="append", default=[], dest="overrides")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results"
                        / "stack_timing.md")
    args = parser.parse_args(argv)
    comm = MPI.COMM_WORLD
    case = load_case(args.case, args.overrides + ["output.fields=false", "output.plots=false"])
    stack = StackCase(case, comm, log=lambda *a: None)
    profiler = Profiler()
    profiler.attach(stack.model)
    mesh = stack.problem.mesh
    cells = mesh.topology.index_map(mesh.topology.dim).size_global
    V = stack.problem.V
    dofs = V.dofmap.index_map.size_global * V.dofmap.index_map_bs
    comm.Barrier()
    started = time.perf_counter()
    stack.run()
    comm.Barrier()
    wall = time.perf_counter() - started
    totals = {key: comm.allreduce(value, op=MPI.MAX) for key, value in profiler.totals.items()}
    iterations = profiler.newton_iterations
    steps = len(stack.records)
    per_iteration = wall / max(iterations, 1)
    solve = totals["solve"] / max(profiler.linear_solves, 1)
    summary = stack.summary()
    fractions = ", ".join(f"{name[10:]} {entry['contact_fraction_at_peak']:.4f}"
                          for name, entry in summary["interfaces"].items())
    row = (f"| {args.case.stem} {' '.join(args.overrides)} | {comm.size} | {cells} | {dofs} | "
           f"{steps} | {profiler.newton_solves} ({profiler.failed_solves} failed) | "
           f"{iterations} | {iterations / steps:.1f} | {wall:.1f} | "
           f"{1e3 * per_iteration:.1f} | "
           f"{1e3 * totals['update'] / max(iterations, 1):.1f} / "
           f"{1e3 * totals['residual'] / max(iterations, 1):.1f} / "
           f"{1e3 * totals['jacobian'] / max(iterations, 1):.1f} / {1e3 * solve:.2f} | "
           f"{per_iteration / solve:.0f} | {fractions} |")
    header = ("| case | ranks | cells | dofs | steps | Newton solves | iterations | its/step | "
              "wall s | ms/iteration | update / residual / Jacobian / solve ms per iteration "
              "| iteration / solve | contact fraction at peak |\n"
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    if comm.rank == 0:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        summary_path = args.out.with_name(
            f"{args.out.stem}_{args.case.stem}_summary_{comm.size}ranks.json")
        summary_path.write_text(json.dumps(summary, indent=1, default=float) + "\n")
        print(header)
        print(row)
        new = not args.out.exists()
        with open(args.out, "a") as handle:
            if new:
                handle.write(f"# stack timing ({code_state()})\n\n{header}\n")
            handle.write(row + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
