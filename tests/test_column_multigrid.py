"""The column multigrid (solver/column_multigrid.py): the columns it finds, its coarse space,
and its solve of a thin layered web against LU.

Tolerances:
- columns of a structured box: counts, sizes and through-thickness order exact, every node in
  exactly one column on one rank (also under MPI); the coarse
  modes orthonormal (1e-12) and holding every rigid motion of the whole mesh (the part of a
  rigid motion outside the coarse space 1e-12 of it);
- a mesh with its nodes moved off their columns is not "in columns";
- a thin two-layer web (foil 68 GPa under a 1.6 GPa coating, elements 10x longer than thick,
  clamped at one end, pressed in the middle, 6 642 dofs): GMRES with the column multigrid
  gives the LU solution to 1e-8 relative in at most 25 iterations (measured 12 on 1, 2 and 3
  ranks: each column is whole on one rank; GMRES + GAMG with the rigid-body modes needs 184
  and 178 on 1 and 2 ranks);
- the Newton path: pc_type = "columns" on the shipped 3D flat press gives its LU gold summary
  to the gold tolerance, and a mesh not drawn in columns gets the default of its size (and is
  told so).
"""
from __future__ import annotations

import os
import subprocess
import sys

import dolfinx_solver  # noqa: F401  (before dolfinx and petsc4py)
import numpy as np
import pytest
import ufl
from dolfinx import fem, mesh
from dolfinx.fem import petsc as fem_petsc
from mpi4py import MPI
from petsc4py import PETSc

from conftest import MPIRUN, ROOT
from nipstack import column_multigrid
from nipstack.column_multigrid import NodeColumns, in_columns, prolongation

LENGTH, THICKNESS, WIDTH, FOIL = 2.0, 0.1, 0.4, 0.02     # mm
CELLS = (40, 5, 8)                                        # along, through, across
GOLD_TOLERANCE = 1e-6        # relative, as tests/test_flat_press.py


def _web(comm=MPI.COMM_WORLD, degree=1):
    domain = mesh.create_box(comm, [[0.0, 0.0, 0.0], [LENGTH, THICKNESS, WIDTH]], CELLS,
                             mesh.CellType.hexahedron)
    return domain, fem.functionspace(domain, ("Lagrange", degree, (3,)))


def test_columns_of_a_box_mesh_and_their_rigid_motions():
    _, V = _web()
    columns = NodeColumns(V)
    comm = V.mesh.comm
    assert columns.nodes_per_column() >= column_multigrid.MIN_NODES_PER_COLUMN
    # every node in exactly one column, whole on one rank
    n_nodes = V.dofmap.index_map.size_global
    every = np.sort(np.concatenate(comm.allgather(columns.nodes)))
    assert np.array_equal(every, np.arange(n_nodes))
    sizes = np.concatenate(comm.allgather(columns.sizes))
    assert len(sizes) == (CELLS[0] + 1) * (CELLS[2] + 1)
    assert np.all(sizes == CELLS[1] + 1)
    y = columns.coordinates[:, 1]
    for column in range(columns.n_columns):          # ordered through the thickness
        start = columns.column_starts[column]
        entries = np.arange(start, start + columns.sizes[column])
        assert np.all(np.diff(y[entries]) > 0)
        assert np.ptp(columns.coordinates[entries][:, [0, 2]], axis=0).max() < 1e-12
        assert np.array_equal(columns.position_of_node[entries], np.arange(len(entries)))
        dofs, modes = columns.rigid_modes(column)
        assert modes.shape[1] == (5 if len(entries) > 1 else 3)
        assert np.allclose(modes.T @ modes, np.eye(modes.shape[1]), atol=1e-12)
    P = prolongation(columns, comm)
    x = V.tabulate_dof_coordinates()[:V.dofmap.index_map.size_local]
    zero = 0 * x[:, 0]
    motions = [np.tile(d, (len(x), 1)) for d in np.eye(3)] + [
        np.stack([-x[:, 1], x[:, 0], zero], 1), np.stack([zero, -x[:, 2], x[:, 1]], 1),
        np.stack([x[:, 2], zero, -x[:, 0]], 1)]
    for motion in motions:
        m = P.createVecLeft()
        m.setArray(motion.ravel())
        coarse = P.createVecRight()
        P.multTranspose(m, coarse)        # P has orthonormal columns: P P^T m is the projection
        projected = P.createVecLeft()
        P.mult(coarse, projected)
        projected.axpy(-1.0, m)
        assert projected.norm() <= 1e-12 * m.norm()


def test_a_mesh_off_its_columns_is_not_in_columns():
    domain, V = _web(MPI.COMM_SELF)
    assert in_columns(V)
    rng = np.random.default_rng(1)
    x = domain.geometry.x
    x[:, [0, 2]] += rng.uniform(-0.2, 0.2, (len(x), 2)) * np.array([LENGTH / CELLS[0],
                                                                      WIDTH / CELLS[2]])
    V = fem.functionspace(domain, ("Lagrange", 1, (3,)))
    assert not in_columns(V)
    assert NodeColumns(V).nodes_per_column() == pytest.approx(1.0)


def test_a_mesh_off_its_columns_gets_the_default_solver_of_its_size(capsys):
    from types import SimpleNamespace

    from nipstack.newton import NewtonSolver

    domain, _ = _web(MPI.COMM_SELF)
    domain.geometry.x[:, 0] += np.random.default_rng(2).uniform(-0.01, 0.01, len(domain.geometry.x))
    V = fem.functionspace(domain, ("Lagrange", 1, (3,)))
    problem = SimpleNamespace(V=V, comm=MPI.COMM_SELF, petsc_options={"pc_type": "columns"},
                              petsc_options_given=True)
    options = NewtonSolver(problem).linear_solver_options()
    assert options["pc_type"] == "lu"           # 6 642 dofs: MUMPS
    assert "not drawn in node columns" in capsys.readouterr().out


def test_default_solver_by_mesh_and_size():
    from nipstack.linear_solver import (COLUMNS_MIN_DOFS, ITERATIVE_MIN_DOFS,
                                        default_linear_solver)

    assert default_linear_solver(1, COLUMNS_MIN_DOFS, 3, in_columns=True)["pc_type"] == "columns"
    assert default_linear_solver(2, COLUMNS_MIN_DOFS, 3, in_columns=True)["pc_type"] == "columns"
    assert default_linear_solver(1, COLUMNS_MIN_DOFS - 1, 3, in_columns=True)["pc_type"] == "lu"
    assert default_linear_solver(1, COLUMNS_MIN_DOFS, 3)["pc_type"] == "lu"
    assert default_linear_solver(1, ITERATIVE_MIN_DOFS[3], 3)["pc_type"] == "gamg"
    assert default_linear_solver(1, ITERATIVE_MIN_DOFS[3] - 1, 3)["pc_type"] == "lu"
    assert default_linear_solver(1, ITERATIVE_MIN_DOFS[2], 2, in_columns=True)["pc_type"] == "gamg"
    assert default_linear_solver(2, ITERATIVE_MIN_DOFS[2] - 1, 2)["pc_type"] == "lu"


def layered_web_system(comm):
    """Linear elasticity of the foil + coating web: clamped at x = 0, a pressure of 1 MPa on the
    top over the middle fifth; returns (A, b, V)."""
    domain, V = _web(comm)
    cells = domain.topology.index_map(3).size_local + domain.topology.index_map(3).num_ghosts
    midpoints = mesh.compute_midpoints(domain, 3, np.arange(cells, dtype=np.int32))
    E = fem.functionspace(domain, ("DG", 0))
    youngs = fem.Function(E)
    youngs.x.array[:] = np.where(midpoints[:, 1] < FOIL, 68_000.0, 1_600.0)
    nu = 0.3
    mu, lmbda = youngs / (2 * (1 + nu)), youngs * nu / ((1 + nu) * (1 - 2 * nu))
    u, v = ufl.TrialFunction(V), ufl.TestFunction(V)

    def sigma(w):
        eps = ufl.sym(ufl.grad(w))
        return 2 * mu * eps + lmbda * ufl.tr(eps) * ufl.Identity(3)

    top = mesh.locate_entities_boundary(
        domain, 2, lambda p: np.isclose(p[1], THICKNESS) & (np.abs(p[0] - LENGTH / 2) < 0.2))
    tags = mesh.meshtags(domain, 2, top, np.full(len(top), 1, dtype=np.int32))
    ds = ufl.Measure("ds", domain, subdomain_data=tags)
    a = fem.form(ufl.inner(sigma(u), ufl.sym(ufl.grad(v))) * ufl.dx)
    L = fem.form(ufl.inner(fem.Constant(domain, (0.0, -1.0, 0.0)), v) * ds(1))
    clamped = fem.locate_dofs_geometrical(V, lambda p: np.isclose(p[0], 0.0))
    bc = fem.dirichletbc(np.zeros(3), clamped, V)
    A = fem_petsc.assemble_matrix(a, bcs=[bc])
    A.assemble()
    b = fem_petsc.assemble_vector(L)
    fem_petsc.apply_lifting(b, [a], [[bc]])
    b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
    fem_petsc.set_bc(b, [bc])
    return A, b, V


def _solve(A, b, prefix, options, V=None):
    ksp = PETSc.KSP().create(A.getComm())
    ksp.setOperators(A)
    ksp.setOptionsPrefix(prefix)
    database = PETSc.Options()
    for key, value in options.items():
        database[prefix + key] = value
    prolongation_kept = column_multigrid.configure(ksp, V, prefix) if V is not None else None
    if V is None:
        ksp.setFromOptions()
    x = A.createVecRight()
    ksp.solve(b, x)
    for key in options:
        database.delValue(prefix + key)
    assert ksp.getConvergedReason() > 0
    del prolongation_kept
    return x, ksp.getIterationNumber()


def check_column_multigrid_solves_the_layered_web(comm):
    A, b, V = layered_web_system(comm)
    exact, _ = _solve(A, b, "cm_lu_", {"ksp_type": "preonly", "pc_type": "lu",
                                       "pc_factor_mat_solver_type": "mumps"})
    outer = {"ksp_type": "gmres", "ksp_rtol": 1e-12, "ksp_atol": 1e-30, "ksp_max_it": 200}
    x, iterations = _solve(A, b, "cm_columns_", outer, V)
    x.axpy(-1.0, exact)
    assert x.norm() <= 1e-8 * exact.norm()
    assert iterations <= 25
    return iterations


def test_column_multigrid_solves_a_layered_web_like_lu():
    check_column_multigrid_solves_the_layered_web(MPI.COMM_WORLD)


@pytest.mark.mpi
def test_column_multigrid_on_two_ranks(tmp_path):
    """Under MPI every column is whole on one rank, so the preconditioner is the one-rank
    operator: the same Krylov count (within one, for round-off at the tolerance)."""
    script = tmp_path / "two_ranks.py"
    script.write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(ROOT / 'tests')!r})\n"
        "from mpi4py import MPI\n"
        "import test_column_multigrid as t\n"
        "t.test_columns_of_a_box_mesh_and_their_rigid_motions()\n"
        "its = t.check_column_multigrid_solves_the_layered_web(MPI.COMM_WORLD)\n"
        "if MPI.COMM_WORLD.rank == 0:\n"
        "    print('iterations', its)\n")
    result = subprocess.run([MPIRUN, "-n", "2", sys.executable, str(script)], cwd=tmp_path,
                            capture_output=True, text=True, timeout=600,
                            env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert result.returncode == 0, result.stdout + result.stderr
    two_ranks = int(result.stdout.split("iterations")[1].split()[0])
    one_rank = check_column_multigrid_solves_the_layered_web(MPI.COMM_SELF)
    assert abs(two_ranks - one_rank) <= 1, (one_rank, two_ranks)


@pytest.mark.slow
def test_newton_with_the_column_multigrid_reproduces_the_lu_gold():
    """The shipped 3D flat press (quadratic hexahedra: columns of 13 nodes) with
    pc_type = "columns": the gold summary of its LU run, to the gold tolerance."""
    import json

    from nipstack.case import load_case
    from nipstack.flat_press import FlatPress

    case_file = ROOT / "cases" / "flat_press_nmc_3d.toml"
    case = load_case(case_file, ['solver.petsc_options={pc_type="columns"}'])
    press = FlatPress(case, MPI.COMM_WORLD, log=lambda *a: None)
    press.run()
    assert press.newton.linear_options["pc_type"] == "columns"
    summary = press.summary()
    gold = json.loads((ROOT / "tests" / "regression" / f"{case_file.stem}.json").read_text())
    for key, value in gold.items():
        assert summary[key] == pytest.approx(value, rel=GOLD_TOLERANCE), key


@pytest.mark.slow
def test_the_nip_slab_with_the_column_multigrid_reproduces_its_gold():
    """The shipped 3D calender slab (its coarse gold copy: rolls, friction, the DPC coating,
    the tapered edge) solved with pc_type = "columns" instead of LU: every gold number to its
    tolerance."""
    import importlib.util
    import json

    from nipstack.calender import Calender
    from nipstack.case import load_case

    spec = importlib.util.spec_from_file_location(
        "update_gold", ROOT / "tests" / "regression" / "update_gold.py")
    update_gold = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(update_gold)
    case_file = ROOT / "cases" / "calender_nmc_edge_3d.toml"
    case = load_case(case_file, update_gold.GOLD_OVERRIDES[case_file.stem] + [
        "output.fields=false", "output.plots=false", 'solver.petsc_options={pc_type="columns"}'])
    calender = Calender(case, MPI.COMM_WORLD, log=lambda *a: None)
    calender.run()
    assert calender.newton.linear_options["pc_type"] == "columns"
    gold = json.loads(update_gold.gold_file(case_file).read_text())
    off = update_gold.differences(gold, update_gold.flatten(calender.summary()))
    assert not off, "\n".join(off)
