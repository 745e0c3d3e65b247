"""One Newton linear solve of the flat press: MUMPS LU against GMRES + GAMG, by size. The
measurement behind `linear_solver.ITERATIVE_MIN_DOFS` (where the default turns iterative).

    .venv/bin/python benchmarks/flat_press_linear_solvers.py --dimension 2 --levels 10 22 40
    .venv/bin/python benchmarks/flat_press_linear_solvers.py --dimension 3 --levels 3 4 5
    .venv/bin/mpirun -n 2 .venv/bin/python benchmarks/flat_press_linear_solvers.py --levels 22

Builds cases/flat_press_nmc.toml (Q2) at each mesh level L: in 2D `flat_press_timing.py`'s
levels (the width's and every layer's elements times L: 22 is the 94k-dof press); in 3D the
sizes of docs/benchmarks.md (elements_width 3L, elements_depth 2L, the layers 2L and 6L: 4 is
the 83k-dof press). It runs the case to its `--solve`-th Newton linear solve (default 4: the
second loading step, the coating on its cap, the platen in contact) and solves that one
system with
- GMRES + GAMG with the rigid-body near-nullspace (linear_solver.ITERATIVE), first, so that
  its memory is its own;
- MUMPS LU as the defaults factorise a matrix of this size on this rank count
  (linear_solver.direct_solver: whole on every rank up to 60 000 dofs, else distributed).
Each row: dofs, ranks, set-up + solve ms and "again" (a new Newton iterate's matrix with the
same pattern: what every later Newton iteration pays), Krylov iterations, GAMG's solution
against LU's (relative), and each rank's peak resident memory after each solver (ru_maxrss,
MB). Rank 0 prints a markdown row per level and appends it to --out.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import dolfinx_solver  # noqa: F401  (MPI before dolfinx/petsc4py)
from mpi4py import MPI

sys.path.insert(0, str(Path(__file__).resolve().parent))
from flat_press_timing import overrides_for  # noqa: E402
from slab_linear_solvers import add_row, append_table, peak_mb, timed_solve  # noqa: E402
from nipstack.case import load_case  # noqa: E402
from nipstack.flat_press import FlatPress  # noqa: E402
from nipstack.linear_solver import ITERATIVE, direct_solver  # noqa: E402
from nipstack.newton import rigid_body_modes  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CASE = ROOT / "cases" / "flat_press_nmc.toml"


class Captured(Exception):
    """Raised out of the chosen Newton solve, carrying its system."""


def overrides(level: int, dimension: int) -> list[str]:
    if dimension == 2:
        return overrides_for(CASE, level, 2)
    return ["geometry.dimension=3", f"geometry.elements_width={3 * level}",
            f"geometry.elements_depth={2 * level}", f"layers.0.elements={2 * level}",
            f"layers.1.elements={6 * level}", "output.fields=false", "output.plots=false"]


def newton_system(level: int, dimension: int, solve: int, comm):
    """(V, A, b) of the run's `solve`-th Newton linear solve."""
    press = FlatPress(load_case(CASE, overrides(level, dimension)), comm,
                      log=lambda *a, **k: None)
    newton = press.newton
    linear_solve = newton._linear_solve
    count = [0]

    def capture(rhs, solution):
        count[0] += 1
        if count[0] == solve:
            raise Captured(newton.A.convert("aij"), rhs.copy())   # GAMG reads AIJ
        linear_solve(rhs, solution)

    newton._linear_solve = capture
    try:
        press.run()
    except Captured as system:
        return press.problem.V, *system.args
    raise RuntimeError(f"the run ended before Newton solve {solve}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dimension", type=int, choices=(2, 3), default=2)
    parser.add_argument("--levels", type=int, nargs="+", default=[10, 22])
    parser.add_argument("--solve", type=int, default=4)
    parser.add_argument("--no-lu", action="store_true", help="GAMG only (too large to factor)")
    parser.add_argument("--out", type=Path,
                        default=ROOT / "benchmarks" / "results" / "flat_press_linear_solvers.md")
    args = parser.parse_args(argv)
    comm = MPI.COMM_WORLD
    rows = []
    for level in args.levels:
        V, A, b = newton_system(level, args.dimension, args.solve, comm)
        dofs = A.getSize()[0]
        A.setNearNullSpace(rigid_body_modes(V, A))
        gamg = timed_solve(A, b, {**ITERATIVE, "ksp_max_it": 3000}, "bench_gamg_")
        gamg_memory = peak_mb(comm)
        row = (f"| {args.dimension}D, L = {level} | {dofs} | {comm.size} | "
               f"{1e3 * gamg[0]:.0f} + {1e3 * gamg[1]:.0f} ({1e3 * gamg[2]:.0f}) | "
               f"{gamg[3]} ({gamg[4]}) | {gamg_memory} |")
        if not args.no_lu:
            lu_options = direct_solver(comm.size, dofs, args.dimension)
            lu = timed_solve(A, b, lu_options, "bench_lu_")
            gamg[-1].axpy(-1.0, lu[-1])
            row += (f" {1e3 * lu[0]:.0f} + {1e3 * lu[1]:.0f} ({1e3 * lu[2]:.0f}) | "
                    f"{peak_mb(comm)} | {gamg[-1].norm() / lu[-1].norm():.1e} |")
        add_row(rows, row, comm)
    append_table(args.out, "| mesh | dofs | ranks | GAMG set-up + solve (again), ms | iterations "
                 "(reason) | peak MB per rank | MUMPS LU set-up + solve (again), ms | peak MB "
                 "per rank | GAMG against LU |", rows, comm)
    return 0


if __name__ == "__main__":
    sys.exit(main())
