"""MUMPS's fill-reducing orderings on Q1 elasticity: the measurement behind
`linear_solver.MUMPS_ORDERING` (approximate minimum fill in 2D, METIS in 3D).

    .venv/bin/python benchmarks/mumps_ordering.py
    .venv/bin/python benchmarks/mumps_ordering.py --meshes 400x117 100x20x10 --orderings 5 2 0

For each mesh (NXxNY: a 20 x 5 mm rectangle of quadrilaterals; NXxNYxNZ: a 20 x 5 x 1 mm box of
hexahedra) it assembles linear elasticity (E-like coefficients 2 and 1, the bottom face fixed)
and, for each ordering (MUMPS ICNTL(7): 5 METIS, PETSc's default; 2 AMF; 0 AMD; 4 PORD), times
the first factorisation and solve (analysis included) and the median of `--repeat` further
ones, which reuse the analysis as Newton does (the matrix is reassembled each time). Rank 0
prints one markdown row per mesh and ordering: dofs, factor non-zeros, first and repeated time.
"""
from __future__ import annotations

import argparse
import time

import dolfinx_solver  # noqa: F401  (MPI before dolfinx/petsc4py)
import numpy as np
import ufl
from dolfinx import fem
from dolfinx import mesh as dmesh
from dolfinx.fem import petsc as fem_petsc
from mpi4py import MPI
from petsc4py import PETSc


def elasticity(shape: str):
    """The mesh of `shape`, the bilinear form and the fixed bottom face."""
    sizes = [int(n) for n in shape.split("x")]
    comm = MPI.COMM_WORLD
    if len(sizes) == 2:
        mesh = dmesh.create_rectangle(comm, [[0.0, 0.0], [20.0, 5.0]], sizes,
                                      dmesh.CellType.quadrilateral)
    else:
        mesh = dmesh.create_box(comm, [[0.0, 0.0, 0.0], [20.0, 5.0, 1.0]], sizes,
                                dmesh.CellType.hexahedron)
    dim = mesh.geometry.dim
    V = fem.functionspace(mesh, ("Lagrange", 1, (dim,)))
    u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
    strain = lambda w: ufl.sym(ufl.grad(w))    # noqa: E731
    form = fem.form((2.0 * ufl.inner(strain(u), strain(v)) + ufl.div(u) * ufl.div(v)) * ufl.dx)
    bottom = dmesh.locate_entities_boundary(mesh, dim - 1, lambda x: np.isclose(x[1], 0.0))
    fixed = fem.dirichletbc(np.zeros(dim), fem.locate_dofs_topological(V, dim - 1, bottom), V)
    return form, fixed


def time_ordering(form, fixed, ordering: int, repeat: int) -> tuple[float, float, float]:
    """(factor non-zeros, first solve s, median of the repeated solves s)."""
    A = fem_petsc.assemble_matrix(form, bcs=[fixed])
    A.assemble()
    b = A.createVecLeft()
    b.set(1.0)
    x = b.duplicate()
    ksp = PETSc.KSP().create(A.comm)
    ksp.setOperators(A)
    ksp.setType("preonly")
    ksp.getPC().setType("lu")
    ksp.getPC().setFactorSolverType("mumps")
    ksp.getPC().setFactorSetUpSolverType()
    ksp.getPC().getFactorMatrix().setMumpsIcntl(7, ordering)
    times = []
    for _ in range(repeat + 1):
        A.zeroEntries()
        fem_petsc.assemble_matrix(A, form, bcs=[fixed])
        A.assemble()
        started = time.perf_counter()
        ksp.solve(b, x)
        times.append(time.perf_counter() - started)
    nonzeros = ksp.getPC().getFactorMatrix().getInfo()["nz_used"]
    ksp.destroy()
    A.destroy()
    return nonzeros, times[0], float(np.median(times[1:]))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--meshes", nargs="+", default=["200x50", "400x117", "60x15x6"])
    parser.add_argument("--orderings", type=int, nargs="+", default=[5, 2, 0])
    parser.add_argument("--repeat", type=int, default=11)
    args = parser.parse_args(argv)
    say = print if MPI.COMM_WORLD.rank == 0 else (lambda *a, **k: None)
    say("| mesh | dofs | ICNTL(7) | factor non-zeros | first (with analysis), ms | "
        "repeated, ms |")
    say("|---|---|---|---|---|---|")
    for shape in args.meshes:
        form, fixed = elasticity(shape)
        space = form.function_spaces[0]
        dofs = space.dofmap.index_map.size_global * space.dofmap.index_map_bs
        for ordering in args.orderings:
            nonzeros, first, repeated = time_ordering(form, fixed, ordering, args.repeat)
            say(f"| {shape} | {dofs} | {ordering} | {nonzeros:.0f} | {1e3 * first:.1f} | "
                f"{1e3 * repeated:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
