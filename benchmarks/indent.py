"""The "indent" peer benchmark through nipstack's own code path (issue 15).

Problem (../shared/peers/indent/README.md): 2D plane strain, block 20 x 5 mm, 200 x 50 Q1,
bottom u_y = 0 and the bottom-left corner u_x = 0; J2 with E = 1000 MPa, nu = 0.3,
sigma_y = 10 MPa, linear hardening H = 100 MPa; a rigid frictionless cylinder R = 10 mm above
x = 10 pushed 0.5 mm into the top face in 20 equal steps; penalty 1e5 N/mm^3 on the exact gap.
Force per unit depth, N/mm. nipstack is finite strain: its force is compared with CalculiX
NLGEOM on the same mesh, 136.43 N/mm.

nipstack's pieces: `build_layered_strip` (Gmsh), `MechanicsProblem` (total Lagrangian, Hencky
strain, exponential-map J2 through ``kinematics.stress_update``), `RollContact` (the analytic
roll of the calender, friction 0, closure prescribed) and `NewtonSolver` (MUMPS). J2 and a
frictionless roll make the Jacobian symmetric, so MUMPS factorises it by LDL^T
(`--factorisation lu`: LU, as before). The predictor extrapolates the last converged
increment (`--predictor 0` turns it off).

Run back to back with the lean reference script:

    .venv/bin/python benchmarks/indent.py --json /tmp/indent_nipstack.json
    .venv/bin/python ../shared/peers/indent/indent_dolfinx.py --json /tmp/indent_ref.json
    .venv/bin/mpirun -n 2 .venv/bin/python benchmarks/indent.py

Prints one line per step (rank 0) and a table row: wall time, Newton iterations, ms per
iteration and the share of material update / assembly / linear solve.
"""
from __future__ import annotations

import argparse
import json
import time

import dolfinx_solver  # noqa: F401  (MPI before dolfinx/petsc4py)
import numpy as np
from dolfinx import fem
from dolfinx import mesh as dmesh
from mpi4py import MPI

from nipstack.materials.j2 import J2Plasticity
from nipstack.linear_solver import default_linear_solver
from nipstack.mechanics import MechanicsProblem
from nipstack.meshes.layered import Layer, build_layered_strip
from nipstack.newton import NewtonSolver
from nipstack.rolls import Roll, RollContact

CALCULIX_NLGEOM_FORCE = 136.43      # N/mm, finite strain, same mesh (peer README)


class Timers:
    """Wall time per part of a Newton iteration, by wrapping the methods that do the work."""

    def __init__(self):
        self.seconds = {"update": 0.0, "assembly": 0.0, "solve": 0.0}

    def wrap(self, owner, name, part):
        original = getattr(owner, name)

        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[part] += time.perf_counter() - started
        setattr(owner, name, timed)


def factorisation(options: dict) -> str:
    """How the Newton solve factorised: MUMPS LU or LDL^T (cholesky), "(redundant)" when
    every rank factorises the whole matrix."""
    redundant = options.get("pc_type") == "redundant"
    kind = options["redundant_pc_type"] if redundant else options.get("pc_type")
    name = {"cholesky": "LDL^T", "lu": "LU"}.get(kind, kind)
    return f"MUMPS {name}" + (" (redundant)" if redundant else "")


def build_indent(nx: int, ny: int, penalty: float, friction: float = 0.0,
                 petsc_options: dict | None = None, comm=MPI.COMM_WORLD):
    """The peer problem on an nx x ny mesh: (problem, roll contact, Newton solver)."""
    length, height, radius = 20.0, 5.0, 10.0
    mesh_data = build_layered_strip([Layer("block", height, ny)], length, nx, comm=comm)
    law = J2Plasticity(youngs_modulus=1000.0, poisson_ratio=0.3, yield_stress=10.0,
                       hardening_modulus=100.0)
    problem = MechanicsProblem(mesh_data, {"block": law}, degree=1,
                               petsc_options=petsc_options)
    problem.fix_component("bottom", 1)
    corner = dmesh.locate_entities(problem.mesh, 0, lambda x: np.isclose(x[0], 0.0)
                                   & np.isclose(x[1], 0.0))
    problem.mesh.topology.create_connectivity(0, 2)
    sub = problem.V.sub(0)
    problem.bcs.append(fem.dirichletbc(np.float64(0.0),
                                       fem.locate_dofs_topological(sub, 0, corner), sub))
    roll = Roll("indenter", "top", radius, length / 2, height + radius, +1, -1.0)
    contact = RollContact(problem, [roll], friction=friction, slip_length=1e-3,
                          penalty=penalty)
    return problem, contact, NewtonSolver(problem, rtol=1e-9, atol=1e-10, max_iterations=30)


def press(problem, contact, newton, steps: int, depth: float, predictor: bool = True,
          say=lambda *a, **k: None) -> tuple[list, list]:
    """The roll pushed `depth` mm in `steps` equal steps; the predictor extrapolates the last
    converged increment. Returns (force per step N/mm, Newton iterations per step)."""
    iterations, forces = [], []
    u_previous = problem.u.x.array.copy()
    increment = np.zeros_like(u_previous)
    for step in range(1, steps + 1):
        contact.position.value = depth * step / steps
        if predictor and step > 1:
            problem.u.x.array[:] = u_previous + increment
            problem.u.x.scatter_forward()
        report = newton.solve()
        problem.commit()
        contact.commit()
        increment = problem.u.x.array - u_previous
        u_previous = problem.u.x.array.copy()
        force = contact.line_loads()[0]
        iterations.append(report.iterations)
        forces.append(force)
        say(f"step {step:2d}  d = {contact.position.value:.3f} mm  F = {force:8.3f} N/mm  "
            f"newton = {report.iterations}  |r|/|f|: "
            + " ".join(f"{r:.1e}" for r in report.residuals))
    return forces, iterations


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nx", type=int, default=200)
    parser.add_argument("--ny", type=int, default=50)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--depth", type=float, default=0.5)
    parser.add_argument("--penalty", type=float, default=1.0e5)
    parser.add_argument("--predictor", type=int, default=1)
    parser.add_argument("--json", default=None)
    parser.add_argument("--factorisation", choices=("auto", "lu"), default="auto",
                        help="lu: MUMPS LU as chosen before the symmetric LDL^T existed")
    args = parser.parse_args()
    comm = MPI.COMM_WORLD
    say = print if comm.rank == 0 else (lambda *a, **k: None)
    started = time.perf_counter()

    lu = None if args.factorisation == "auto" else default_linear_solver(
        comm.size, 2 * (args.nx + 1) * (args.ny + 1), 2)
    problem, contact, newton = build_indent(args.nx, args.ny, args.penalty,
                                            petsc_options=lu, comm=comm)

    timers = Timers()
    timers.wrap(problem, "update_material", "update")
    timers.wrap(problem, "ensure_tangent", "update")     # the deferred dP/dF of an iterate
    import nipstack.newton as newton_module
    timers.wrap(newton_module.fem_petsc, "assemble_matrix", "assembly")
    timers.wrap(newton_module.fem_petsc, "assemble_vector", "assembly")
    timers.wrap(newton_module.fem_petsc, "apply_lifting", "assembly")
    timers.wrap(newton, "_linear_solve", "solve")
    setup = time.perf_counter() - started

    solve_started = time.perf_counter()
    forces, iterations = press(problem, contact, newton, args.steps, args.depth,
                               bool(args.predictor), say)
    solve = time.perf_counter() - solve_started
    wall = time.perf_counter() - started
    total_iterations = int(sum(iterations))
    parts = {k: comm.allreduce(v, op=MPI.MAX) for k, v in timers.seconds.items()}
    result = {
        "code": "nipstack", "ranks": comm.size, "force_N_per_mm": forces[-1],
        "force_vs_calculix_nlgeom": forces[-1] / CALCULIX_NLGEOM_FORCE - 1.0,
        "newton_iterations": total_iterations, "wall_s": wall, "setup_s": setup,
        "solve_s": solve, "ms_per_iteration": 1e3 * solve / max(total_iterations, 1),
        "share": {k: v / solve for k, v in parts.items()},
        "cells": problem.mesh.topology.index_map(2).size_global,
        "dofs": problem.V.dofmap.index_map.size_global * 2, "predictor": bool(args.predictor),
        "factorisation": factorisation(newton.linear_options),
    }
    say(f"| nipstack, {comm.size} rank(s), {result['factorisation']} | {forces[-1]:.2f} "
        f"({100 * result['force_vs_calculix_nlgeom']:+.2f} % vs NLGEOM) | {total_iterations} | "
        f"{wall:.2f} s (solve {solve:.2f} s) | {result['ms_per_iteration']:.1f} | "
        + " / ".join(f"{100 * result['share'][k]:.0f} %" for k in ("update", "assembly",
                                                                    "solve")) + " |")
    if args.json and comm.rank == 0:
        with open(args.json, "w") as handle:
            json.dump(result, handle, indent=2)


if __name__ == "__main__":
    main()
