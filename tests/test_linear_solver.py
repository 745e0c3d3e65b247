"""The Newton linear solve factorises a symmetric Jacobian by LDL^T, and only then.

The problem is the "indent" peer benchmark's (benchmarks/indent.py) on a coarse mesh: a block
of J2 metal pressed by a frictionless rigid roll. Every term is symmetric (the law's consistent
tangent, the normal penalty), so MUMPS factorises one triangle (PETSc 'cholesky'); a user's own
`petsc_options` are kept as given, and friction (or a DPC law, or an interface) keeps LU.

Checked: the choice; the assembled Jacobian of a plastic, contacting iterate is symmetric to
1e-14 relative; LDL^T and LU give the same Newton iterations per step and forces to 1e-10
relative, on one rank and on two (there the whole matrix is factorised on each rank, PETSc's
redundant PC, so the two rank counts give the same forces to 1e-12).
"""
from __future__ import annotations

import sys

import numpy as np
import pytest
from mpi4py import MPI

from conftest import ROOT, result_on_ranks

sys.path.insert(0, str(ROOT / "benchmarks"))
from indent import build_indent, press  # noqa: E402

MESH = (24, 6)           # 350 nodes, 700 dofs
STEPS, DEPTH = 3, 0.3    # mm: the block yields under the roll from the second step


def pressed(friction: float = 0.0, petsc_options: dict | None = None, comm=MPI.COMM_WORLD):
    problem, contact, newton = build_indent(*MESH, penalty=1e5, friction=friction,
                                            petsc_options=petsc_options, comm=comm)
    forces, iterations = press(problem, contact, newton, STEPS, DEPTH)
    return problem, newton, forces, iterations


def _asymmetry(A) -> float:
    difference = A.copy()
    difference.axpy(-1.0, A.transpose())
    return difference.norm() / A.norm()


def ldlt_against_lu(comm=MPI.COMM_WORLD) -> dict:
    """Both factorisations on the same problem (the two-rank test runs this under mpirun)."""
    problem, newton, forces, iterations = pressed(comm=comm)
    options = newton.linear_options
    newton.assemble_jacobian()
    yielded = max(float(np.max(region.trial_history["equivalent_plastic_strain"], initial=0))
                  for region in problem.regions)
    lu_options = {key: (value if value != "cholesky" else "lu") for key, value in
                  options.items()}
    _, _, forces_lu, iterations_lu = pressed(petsc_options=lu_options, comm=comm)
    return {"factorisation": options.get("redundant_pc_type") or options["pc_type"],
            "asymmetry": _asymmetry(newton.A), "forces": forces, "iterations": iterations,
            "forces_lu": forces_lu, "iterations_lu": iterations_lu,
            "yielded": comm.allreduce(yielded, op=MPI.MAX)}


def _same_solution(result):
    assert result["factorisation"] == "cholesky"
    assert result["yielded"] > 1e-3          # the tangent is the plastic one
    assert result["asymmetry"] <= 1e-14
    assert result["iterations"] == result["iterations_lu"]
    assert np.allclose(result["forces"], result["forces_lu"], rtol=1e-10, atol=0)
    assert result["forces"][-1] > 10.0        # N/mm: the roll is pressing


def test_a_symmetric_problem_is_factorised_by_ldlt_with_lus_answers():
    _same_solution(ldlt_against_lu())


def test_friction_and_a_users_choice_keep_lu():
    problem, contact, newton = build_indent(*MESH, penalty=1e5, friction=0.2)
    assert not problem.symmetric_jacobian()
    assert newton.linear_solver_options()["pc_type"] == "lu"
    problem, contact, newton = build_indent(*MESH, penalty=1e5, petsc_options={"pc_type": "lu"})
    assert problem.symmetric_jacobian()
    assert newton.linear_solver_options()["pc_type"] == "lu"


def test_mumps_lu_factorises_a_blocked_jacobian():
    """The Jacobian is assembled into a BAIJ matrix (one 2x2 block per node pair) when MUMPS
    factorises it by LU, whole or redundant; LDL^T, GAMG and the column multigrid keep AIJ."""
    from nipstack.linear_solver import (ITERATIVE, default_linear_solver, direct_solver,
                                        jacobian_matrix_kind, symmetric_factorisation)
    assert jacobian_matrix_kind(default_linear_solver(1, 700)) == "baij"
    assert jacobian_matrix_kind(direct_solver(2, 700)) == "baij"           # redundant
    assert jacobian_matrix_kind(direct_solver(2, 200_000)) == "baij"       # distributed
    assert jacobian_matrix_kind(symmetric_factorisation(direct_solver(1, 700))) is None
    assert jacobian_matrix_kind(symmetric_factorisation(direct_solver(2, 700))) is None
    assert jacobian_matrix_kind(dict(ITERATIVE)) is None
    assert jacobian_matrix_kind({"ksp_type": "gmres", "pc_type": "columns"}) is None
    assert jacobian_matrix_kind({"pc_type": "lu", "pc_factor_mat_solver_type": "superlu"}) \
        is None
    _, newton, _, _ = pressed(friction=0.2)
    assert newton.A.getType().endswith("baij")
    _, newton, _, _ = pressed()
    assert newton.A.getType().endswith("aij") and not newton.A.getType().endswith("baij")


def test_blocked_and_plain_jacobians_give_the_same_bits(monkeypatch):
    """The frictional indent (LU) with the Jacobian in BAIJ and, forced, in AIJ: the same
    Newton iterations, forces and displacements to the bit."""
    problem, _, forces, iterations = pressed(friction=0.2)
    import nipstack.newton
    monkeypatch.setattr(nipstack.newton, "jacobian_matrix_kind", lambda options: None)
    problem_aij, newton_aij, forces_aij, iterations_aij = pressed(friction=0.2)
    assert newton_aij.A.getType() == "seqaij"
    assert iterations == iterations_aij
    assert forces == forces_aij
    assert np.array_equal(problem.u.x.array, problem_aij.u.x.array)


@pytest.mark.mpi
def test_two_ranks_factorise_by_ldlt_and_agree_with_one(tmp_path):
    two = result_on_ranks(tmp_path, "test_linear_solver", "ldlt_against_lu()")
    _same_solution(two)
    one = ldlt_against_lu(MPI.COMM_SELF)
    assert np.allclose(two["forces"], one["forces"], rtol=1e-12, atol=0)
    assert two["iterations"] == one["iterations"]
