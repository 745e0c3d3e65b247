"""One Newton linear solve of the 3D nip slab: MUMPS against the column multigrid, by size.

    .venv/bin/python benchmarks/slab_linear_solvers.py
    .venv/bin/mpirun -n 2 .venv/bin/python benchmarks/slab_linear_solvers.py --sizes fine f2
    .venv/bin/python benchmarks/slab_linear_solvers.py --sizes coarse fine --gamg

Builds cases/calender_nmc_edge_3d.toml at each mesh (the sizes of nip_slab_scaling.py and two
finer ones: 2x, 3x, 6x and 8x the fine mesh along and across the web), runs it to its first closing
Newton iterate and takes that iterate's Jacobian and residual (the real tangent with the rolls
in contact). It then solves the one system with:
- MUMPS LU (the default below nipstack's thresholds): factorisation + solve;
- GMRES + column multigrid (column_multigrid.py, pc_type = "columns"), to ksp_rtol 1e-10:
  set-up (column blocks, Galerkin coarse matrix, coarse LU) + solve, and its iterations;
- optionally GMRES + GAMG with the rigid-body modes (linear_solver.ITERATIVE), capped at 3 000.

Each row: dofs, ranks, times in ms ("again": set-up and solve for a new Newton iterate's
matrix with the same pattern, what every later Newton iteration pays; a redundant coarse LU is
factored at its first application, so "solve" alone can hold it), Krylov iterations, the difference to the LU solution
relative to it, and each rank's peak resident memory after that solver (ru_maxrss; the LU is
run first, so the multigrid's number is a bound). Rank 0 prints a markdown row and appends it
to --out. The case is cut short by raising out of the first solve, so no results are written.
"""
from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import dolfinx_solver  # noqa: F401  (MPI before dolfinx/petsc4py)
from mpi4py import MPI
from petsc4py import PETSc

sys.path.insert(0, str(Path(__file__).resolve().parent))
import nip_slab_scaling  # noqa: E402
from nipstack import column_multigrid  # noqa: E402
from nipstack.calender import Calender  # noqa: E402
from nipstack.case import load_case  # noqa: E402
from nipstack.linear_solver import DISTRIBUTED_LU, ITERATIVE  # noqa: E402
from nipstack.newton import rigid_body_modes  # noqa: E402

ROOT = nip_slab_scaling.ROOT
CASE = nip_slab_scaling.CASE
SIZES = {**nip_slab_scaling.SIZES,
         "f2": ["calender.elements_per_contact_length=16", "layers.1.elements=6",
                "geometry.elements_lane=12", "geometry.elements_edge=12",
                "geometry.elements_margin=8"],
         "f3": ["calender.elements_per_contact_length=24", "layers.1.elements=8",
                "geometry.elements_lane=18", "geometry.elements_edge=18",
                "geometry.elements_margin=12"],
         "f6": ["calender.elements_per_contact_length=48", "layers.1.elements=8",
                "geometry.elements_lane=36", "geometry.elements_edge=36",
                "geometry.elements_margin=24"],
         "f8": ["calender.elements_per_contact_length=64", "layers.1.elements=8",
                "geometry.elements_lane=48", "geometry.elements_edge=48",
                "geometry.elements_margin=32"]}
COLUMNS = {"ksp_type": "gmres", "ksp_gmres_restart": 150, "ksp_rtol": 1e-10,
           "ksp_atol": 1e-30, "ksp_max_it": 500}


class FirstSolve(Exception):
    """Raised out of the calender's first Newton solve, carrying its system."""


def first_system(size: str, comm):
    case = load_case(CASE, ["output.fields=false", "output.plots=false",
                            "calender.travel_contact_lengths=2.5"] + SIZES[size])
    calender = Calender(case, comm, log=lambda *a: None)
    newton = calender.newton

    def capture(rhs, solution):
        raise FirstSolve(newton.A.convert("aij"), rhs.copy())   # GAMG reads AIJ

    newton._linear_solve = capture
    try:
        calender.run()
    except FirstSolve as system:
        return calender.problem.V, *system.args
    raise RuntimeError("the calender never reached a linear solve")


def peak_mb(comm) -> str:
    every = comm.gather(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return "/".join(f"{m:.0f}" for m in every) if comm.rank == 0 else ""


def timed_solve(A, b, options: dict, prefix: str, V=None):
    """Set-up and solve times (s), iterations and solution of one KSP built from options."""
    comm = A.getComm()
    ksp = PETSc.KSP().create(comm)
    ksp.setOperators(A)
    ksp.setOptionsPrefix(prefix)
    database = PETSc.Options()
    for key, value in options.items():
        database[prefix + key] = value
    comm.barrier()
    start_time = time.perf_counter()
    kept = column_multigrid.configure(ksp, V, prefix) if V is not None else None
    if V is None:
        ksp.setFromOptions()
    ksp.setUp()
    comm.barrier()
    set_up = time.perf_counter()
    x = A.createVecRight()
    ksp.solve(b, x)
    comm.barrier()
    done = time.perf_counter()
    iterations, reason = ksp.getIterationNumber(), ksp.getConvergedReason()
    start, _ = A.getOwnershipRange()        # a new Newton iterate: same pattern, new values
    A.setValue(start, start, A.getValue(start, start))
    A.assemble()
    comm.barrier()
    again = time.perf_counter()
    ksp.setOperators(A)
    ksp.setUp()
    y = A.createVecRight()
    ksp.solve(b, y)
    comm.barrier()
    set_up_again = time.perf_counter() - again
    for key in options:
        database.delValue(prefix + key)
    del kept
    return set_up - start_time, done - set_up, set_up_again, iterations, reason, x


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", default=["coarse", "shipped", "fine", "f2"],
                        choices=list(SIZES))
    parser.add_argument("--gamg", action="store_true", help="also GMRES + GAMG")
    parser.add_argument("--no-lu", action="store_true",
                        help="skip MUMPS (meshes too large to factor here); the error column is "
                             "then the relative residual |b - A x| / |b|")
    parser.add_argument("--out", type=Path,
                        default=ROOT / "benchmarks" / "results" / "slab_linear_solvers.md")
    args = parser.parse_args(argv)
    comm = MPI.COMM_WORLD
    rows = []
    for size in args.sizes:
        V, A, b = first_system(size, comm)
        dofs = A.getSize()[0]
        lu = None if args.no_lu else timed_solve(
            A, b, {**DISTRIBUTED_LU, "mat_mumps_icntl_7": "5"}, "bench_lu_")
        lu_memory = peak_mb(comm)
        solvers = [("columns", timed_solve(A, b, COLUMNS, "bench_columns_", V), peak_mb(comm))]
        if args.gamg:
            A.setNearNullSpace(rigid_body_modes(V, A))
            solvers.append(("gamg", timed_solve(A, b, {**ITERATIVE, "ksp_max_it": 3000},
                                                "bench_gamg_"), peak_mb(comm)))
        lu_time = "–" if lu is None else f"{1e3 * lu[0]:.0f} + {1e3 * lu[1]:.0f}"
        row = f"| {size} | {dofs} | {comm.size} | {lu_time} | {lu_memory} |"
        for _, (set_up, solve, again, iterations, reason, x), memory in solvers:
            if lu is None:
                r = b.duplicate()
                A.mult(x, r)
                r.axpy(-1.0, b)
                error = r.norm() / b.norm()
            else:
                x.axpy(-1.0, lu[-1])
                error = x.norm() / lu[-1].norm()
            row += (f" {1e3 * set_up:.0f} + {1e3 * solve:.0f} ({1e3 * again:.0f}) "
                    f"| {iterations} ({reason}) | {error:.1e} | {memory} |")
        add_row(rows, row, comm)
    append_table(args.out, "| mesh | dofs | ranks | MUMPS factor + solve, ms | peak MB per rank "
                 "| columns set-up + solve (again), ms | iterations | error vs LU | peak MB |"
                 + (" GAMG set-up + solve (again), ms | iterations | error | peak MB |"
                    if args.gamg else ""), rows, comm)
    return 0


def add_row(rows: list[str], row: str, comm):
    """Keep a table row; rank 0 prints it as soon as it is measured."""
    rows.append(row)
    if comm.rank == 0:
        print(row, flush=True)


def append_table(path: Path, header: str, rows: list[str], comm):
    """Rank 0 appends a markdown table (header, separator, rows) to path."""
    if comm.rank != 0:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as out:
        out.write("\n".join([header, "|---" * header.count(" |") + "|"] + rows) + "\n")


if __name__ == "__main__":
    sys.exit(main())
