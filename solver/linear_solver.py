"""The Newton linear solve's PETSc options: what a problem gets when its case names none, and
how a case's own options sit on top of the defaults of their kind.

By default (docs/benchmarks.md has the measurements behind every threshold):
- MUMPS LU; on several ranks up to REDUNDANT_LU_MAX_DOFS the whole matrix on every rank
  (PETSc's redundant PC: reproducible run to run), above it distributed;
- LDL^T instead of LU when every term of the problem is symmetric
  (`symmetric_factorisation`, chosen by the Newton solver once the terms are known);
- a trilinear 3D mesh drawn in node columns (the nip slab) from COLUMNS_MIN_DOFS: GMRES with
  the column multigrid (column_multigrid.py);
- any other mesh from ITERATIVE_MIN_DOFS (1 000 000 dofs in 2D, 300 000 in 3D): GMRES with
  GAMG and the rigid-body near-nullspace.
"""
from __future__ import annotations

from . import column_multigrid


DISTRIBUTED_LU = {"ksp_type": "preonly", "pc_type": "lu", "pc_factor_mat_solver_type": "mumps"}
#: Up to this many dofs a multi-rank run factors the whole matrix on every rank (PETSc
#: "redundant" with serial MUMPS). Parallel MUMPS is not reproducible run to run (three 2-rank
#: runs of stack_ssb_rough_lithium took 531, 534 and 533 Newton iterations, and the cut-back
#: decisions at the iteration limit follow the round-off), while the redundant solve is: two
#: runs gave identical histories, in 35 s against 30 s. Above it, memory favours the
#: distributed factorisation.
REDUNDANT_LU_MAX_DOFS = 60_000
#: Krylov solver with smoothed-aggregation algebraic multigrid; the Newton solver gives GAMG
#: the rigid-body modes as its near-nullspace. The relative tolerance is far below the
#: Newton tolerance so that the Newton iterations stay quadratic.
ITERATIVE = {"ksp_type": "gmres", "ksp_gmres_restart": 150, "ksp_rtol": 1e-10,
             "ksp_atol": 1e-30, "ksp_max_it": 2000, "pc_type": "gamg",
             "pc_gamg_threshold": 0.01, "mg_levels_ksp_type": "chebyshev",
             "mg_levels_pc_type": "jacobi"}
#: GMRES with the column multigrid (column_multigrid.py): from COLUMNS_MIN_DOFS on, the
#: default for trilinear 3D meshes drawn in node columns, where it beat LU (the 3D slab at
#: 17 136 dofs; on quadratic hexahedra LU and GAMG stay faster; docs/benchmarks.md).
COLUMNS = {"ksp_type": "gmres", "ksp_gmres_restart": 150, "ksp_rtol": 1e-10,
           "ksp_atol": 1e-30, "ksp_max_it": 500, "pc_type": "columns"}
COLUMNS_MIN_DOFS = 15_000
#: From this many dofs on, by dimension, the default is ITERATIVE. Measured on the flat press
#: (Q2, docs/benchmarks.md "Direct or iterative"). 3D: whole runs at 158 193 dofs (6 steps,
#: 18 Newton iterations) took 368 s with LU against 427 s with GAMG on 1 rank, 232 against
#: 252 s on 2, with LU at 3.1-3.8x GAMG's memory (4.3 against 1.4 GB on 1 rank), so the
#: threshold stays where it was; a 626 000-dof press solved with GAMG on 2 ranks in 3.1 GB
#: each. 2D: a factorisation is cheap; the whole run at 309 000 dofs took 117 s with LU
#: against 315 s with GAMG (GAMG was the default there before), and one Newton iteration's
#: solve 3.4 s against 5.3 s at 605 000 dofs, a tie at 1.23 M.
ITERATIVE_MIN_DOFS = {2: 1_000_000, 3: 300_000}


#: MUMPS's fill-reducing ordering (ICNTL(7)) by dimension. Measured with one MUMPS
#: factorisation and solve of linear elasticity on Q1 meshes (benchmarks/mumps_ordering.py;
#: PETSc default METIS = 5 against approximate minimum fill AMF = 2): in 2D AMF is 5-13 %
#: faster (20k dofs 34.8 -> 30.4 ms, 94k dofs 295 -> 271 ms, a thin 42k-dof strip 80 -> 74 ms)
#: and its analysis 35-40 % faster; in 3D METIS is (hexahedra, 35k dofs: 314 against 388 ms;
#: 69k dofs: 2.48 against 3.07 s).
MUMPS_ORDERING = {2: "2", 3: "5"}


def default_linear_solver(ranks: int, dofs: int, dimension: int = 2,
                          in_columns: bool = False) -> dict:
    """PETSc options of the Newton linear solve when the case gives none (in_columns: the
    mesh is drawn in node columns through its thickness)."""
    if dimension == 3 and in_columns and dofs >= COLUMNS_MIN_DOFS:
        return dict(COLUMNS)
    if dofs >= ITERATIVE_MIN_DOFS[dimension]:
        return dict(ITERATIVE)
    return direct_solver(ranks, dofs, dimension)


def direct_solver(ranks: int, dofs: int, dimension: int = 2) -> dict:
    """MUMPS LU as the defaults factorise a matrix of this size on this many ranks: the whole
    matrix on every rank up to REDUNDANT_LU_MAX_DOFS, else distributed."""
    ordering = MUMPS_ORDERING[dimension]
    if ranks > 1 and dofs <= REDUNDANT_LU_MAX_DOFS:
        return {"ksp_type": "preonly", "pc_type": "redundant", "redundant_pc_type": "lu",
                "redundant_pc_factor_mat_solver_type": "mumps",
                "redundant_mat_mumps_icntl_7": ordering}
    return {**DISTRIBUTED_LU, "mat_mumps_icntl_7": ordering}


def symmetric_factorisation(options: dict) -> dict:
    """The direct solve's options with MUMPS's LU replaced by its symmetric LDL^T (PETSc
    'cholesky'; MUMPS pivots, so an indefinite matrix is fine), for a Jacobian known to be
    symmetric: one triangle is factorised. Measured on the indent benchmark (20 502 dofs):
    30 -> 24 ms per factorisation, 8.08 -> 7.15 s for the run (docs/benchmarks.md)."""
    if options.get("pc_type") == "lu":
        return {**options, "pc_type": "cholesky"}
    if options.get("redundant_pc_type") == "lu":
        return {**options, "redundant_pc_type": "cholesky"}
    return options


def jacobian_matrix_kind(options: dict) -> str | None:
    """The PETSc matrix the Jacobian is assembled into for these options: "baij" (blocks of
    the node's displacement components) when MUMPS factorises it by LU, whole or redundant;
    None (DOLFINx's AIJ) otherwise. The blocked matrix is filled by one index search per node
    pair instead of one per entry: on the indent benchmark's 10 000 Q1 cells the Jacobian
    assembly took 6.8 instead of 10.1 ms, and MUMPS gives the same solution to the bit on
    one rank and in the redundant solve (distributed: to 5e-18). MUMPS's LDL^T (cholesky)
    needs AIJ or SBAIJ, GAMG and the column multigrid read AIJ: they keep it."""
    redundant = options.get("pc_type") == "redundant"
    prefix = "redundant_" if redundant else ""
    if (options.get(f"{prefix}pc_type") if redundant else options.get("pc_type")) != "lu":
        return None
    if options.get(f"{prefix}pc_factor_mat_solver_type") != "mumps":
        return None
    return "baij"


def problem_linear_solver(V, degree: int, petsc_options: dict | None) -> dict:
    """The options of a problem on the displacement space V (Lagrange of `degree`): the
    defaults of its size, or the case's own options on top of the defaults of their kind (LU,
    GAMG or columns)."""
    gdim = V.mesh.geometry.dim
    dofs = V.dofmap.index_map.size_global * V.dofmap.index_map_bs
    if not petsc_options:
        return default_linear_solver(
            V.mesh.comm.size, dofs, gdim,
            in_columns=gdim == 3 and degree == 1 and dofs >= COLUMNS_MIN_DOFS
            and column_multigrid.in_columns(V))
    kind = petsc_options.get("pc_type", "lu")
    base = (DISTRIBUTED_LU if kind in ("lu", "cholesky")
            else ITERATIVE if kind == "gamg" else COLUMNS if kind == "columns" else {})
    return {**base, **petsc_options}
