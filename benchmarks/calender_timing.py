"""Timing of the roll nip: the shipped NMC calendering case, time per Newton iteration against
one linear solve.

    .venv/bin/python benchmarks/calender_timing.py
    .venv/bin/mpirun -n 2 .venv/bin/python benchmarks/calender_timing.py
    .venv/bin/python benchmarks/calender_timing.py --set calender.elements_per_contact_length=9

Runs `Calender.run()` on the case (default cases/calender_nmc.toml, overrides with --set) with
the in-place profiler of `flat_press_timing.py` (it wraps the instance's update_material,
Newton solve and KSP; the solver files are untouched; JIT and KSP set-up before the clock), and
reports: cells, dofs, quadrature points, steps (closing / rolling), Newton solves (failed ones
were cut back), Newton iterations (Jacobians factorised), iterations per step, wall time,
seconds per iteration, and the time of the phases per iteration: constitutive update,
residual, Jacobian, linear solve; "iteration / solve" = time per iteration / one linear solve.
Line-search trials re-evaluate the residual (and the material), so they count into "residual"
and "update". Rank 0 prints a markdown row and appends it to --out.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import dolfinx_solver  # noqa: F401  (MPI before dolfinx/petsc4py)
from mpi4py import MPI

sys.path.insert(0, str(Path(__file__).resolve().parent))
from flat_press_timing import Profiler, code_state  # noqa: E402

from nipstack.calender import Calender  # noqa: E402
from nipstack.case import load_case  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--case", type=Path, default=ROOT / "cases" / "calender_nmc.toml")
    parser.add_argument("--set", action="append", default=[], dest="overrides")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results"
                        / "calender_timing.md")
    args = parser.parse_args(argv)
    comm = MPI.COMM_WORLD
    case = load_case(args.case, args.overrides + ["output.fields=false", "output.plots=false"])
    calender = Calender(case, comm, log=lambda *a: None)
    profiler = Profiler()
    profiler.attach(calender)
    mesh = calender.problem.mesh
    cells = mesh.topology.index_map(mesh.topology.dim).size_global
    V = calender.problem.V
    dofs = V.dofmap.index_map.size_global * V.dofmap.index_map_bs
    points = cells * len(calender.problem.weights)
    comm.Barrier()
    started = time.perf_counter()
    calender.run()
    comm.Barrier()
    wall = time.perf_counter() - started
    balance = profiler.rank_balance(calender.problem)
    totals = {key: comm.allreduce(value, op=MPI.MAX) for key, value in profiler.totals.items()}
    iterations = profiler.newton_iterations
    steps = len(calender.records)
    rolling = sum(1 for r in calender.records if r.phase == "rolling")
    per_iteration = wall / max(iterations, 1)
    solve = totals["solve"] / max(profiler.linear_solves, 1)
    summary = calender.summary()
    row = (f"| {args.case.stem} {' '.join(args.overrides)} | {comm.size} | {cells} | {dofs} | "
           f"{points} | {steps} ({rolling} rolling) | {profiler.newton_solves} "
           f"({profiler.failed_solves} failed) | {iterations} | {iterations / steps:.1f} | "
           f"{wall:.1f} | {1e3 * per_iteration:.0f} | "
           f"{1e3 * totals['update'] / max(iterations, 1):.0f} / "
           f"{1e3 * totals['residual'] / max(iterations, 1):.0f} / "
           f"{1e3 * totals['jacobian'] / max(iterations, 1):.0f} / {1e3 * solve:.1f} | "
           f"{per_iteration / solve:.0f} | {summary['exit_porosity']:.5f} |")
    header = ("| case | ranks | cells | dofs | quadrature points | steps | Newton solves | "
              "iterations | its/step | wall s | ms/iteration | update / residual / Jacobian "
              "/ solve ms per iteration | iteration / solve | exit porosity |\n"
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    if comm.rank == 0:
        import json
        args.out.parent.mkdir(parents=True, exist_ok=True)
        summary_path = args.out.with_name(f"calender_timing_summary_{comm.size}ranks.json")
        summary_path.write_text(json.dumps(summary, indent=1, default=float) + "\n")
        print(header)
        print(row)
        print(balance)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        new = not args.out.exists()
        with open(args.out, "a") as handle:
            if new:
                handle.write(f"# calender timing ({code_state()})\n\n{header}\n")
            handle.write(row + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
