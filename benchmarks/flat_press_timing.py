"""Timing of the flat press: time per Newton iteration against one linear solve on the same mesh.

    .venv/bin/python benchmarks/flat_press_timing.py                       # 2D, levels 1 4 10
    .venv/bin/mpirun -n 2 .venv/bin/python benchmarks/flat_press_timing.py
    .venv/bin/python benchmarks/flat_press_timing.py --dimension 3 --refine 1 2 3

For every mesh level s the case is rebuilt with `geometry.elements_width` and the elements of
every layer multiplied by s (in 3D also `geometry.elements_depth`), and

1. the whole load / hold / unload cycle is run with `FlatPress.run()` and timed (wall time,
   steps, Newton solves, Newton iterations = linear solves). Form compilation (JIT) and the
   KSP set-up are done before the clock starts, so the wall time is the solve alone.
   Every piece of every Newton iteration of the run is timed in place (see `Profiler`):
   (a) the constitutive update `problem.update_material()` (F Expression eval + the compiled
   `stress_update` + writing P, A to the quadrature functions; with the deferred dP/dF and the
   commit of each converged step's state), (b) residual assembly (vector
   assembly, lifting, BCs, norms), (c) Jacobian assembly (incl. `A.assemble()`), (d) the KSP
   solve (MUMPS LU by default: numeric factorisation + triangular solves).

2. ONE representative plastic loading step (default: the last loading step, where the coating is
   on its cap) is replayed `--repeat` times on its converged trial state, just before it is
   committed: (a) update_material, (b) residual, (c) Jacobian, (d) KSP solve, each between
   barriers; the median per rank, then the maximum over ranks. Replaying does not change the
   result (u is not updated, the trial state is recomputed identically); its cost is removed from
   the reported wall time.

Time per Newton iteration = (a)+(b)+(c)+(d); "ratio" = that / (d), i.e. how many linear solves
one Newton iteration costs. Rank 0 prints a markdown table and writes it to `--out` (plus a
.csv next to it). Solver files are not modified: the script wraps methods of its own instances.
"""
from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import time
from pathlib import Path

import dolfinx_solver  # noqa: F401  (MPI before dolfinx/petsc4py)
from mpi4py import MPI
from dolfinx.fem import petsc as fem_petsc
from petsc4py import PETSc

import nipstack.newton as newton_module
from nipstack.case import load_case
from nipstack.flat_press import FlatPress
from nipstack.mechanics import RunIncomplete

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CASE = ROOT / "cases" / "flat_press_nmc.toml"
DEFAULT_CASE_3D = ROOT / "cases" / "flat_press_nmc_3d.toml"
PHASES = ("update", "residual", "jacobian", "solve")


# --------------------------------------------------------------------------------------------
# In-place profiling of every Newton iteration of the run
# --------------------------------------------------------------------------------------------
class _FemPetscProxy:
    """Stands in for `dolfinx.fem.petsc` inside nipstack.newton: marks the Jacobian start."""

    def __init__(self, profiler):
        self._profiler = profiler

    def assemble_matrix(self, *args, **kwargs):
        self._profiler.event("J0")
        return fem_petsc.assemble_matrix(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(fem_petsc, name)


class _KSPProxy:
    """Wraps the Newton solver's KSP: times `solve`, delegates everything else."""

    def __init__(self, ksp, profiler):
        self._ksp, self._profiler = ksp, profiler

    def solve(self, b, x):
        self._profiler.event("S0")
        try:
            return self._ksp.solve(b, x)
        finally:
            self._profiler.event("S1")

    def __getattr__(self, name):
        return getattr(self._ksp, name)


class Profiler:
    """Accumulates, per rank, the time of each phase of each Newton iteration from a timeline.

    Events: U0/U1 update_material start/end, J0 Jacobian assembly start, S0/S1 KSP solve
    start/end, E end of a Newton solve. residual = U1 -> J0 (or U1 -> E on the converged check),
    jacobian = J0 -> S0 (zeroEntries, assemble_matrix, A.assemble()), solve = S0 -> S1,
    other = S1 -> next U0 (u update + scatter) and anything left over. The commit of a
    converged step's state counts as update (it makes the plane-strain plastic metric,
    `plane_strain_kernels.PlaneDeferredMetric`).
    """

    def __init__(self):
        self.totals = dict.fromkeys(PHASES + ("other",), 0.0)
        self.linear_solves = 0
        self.newton_solves = 0
        self.newton_iterations = 0      # iterations that factorised a Jacobian (failed ones too)
        self.failed_solves = 0          # Newton solves that raised StepFailure (cut back)
        self.enabled = True
        self.update_wait = 0.0          # of "update": waiting in its collective failure check
        self._last = None               # (event, time)

    def event(self, name):
        now = time.perf_counter()
        if not self.enabled:
            return
        last = self._last
        if last is not None:
            previous, t = last
            dt = now - t
            key = {("U0", "U1"): "update", ("U1", "J0"): "residual", ("U1", "E"): "residual",
                   ("U1", "T0"): "residual", ("T0", "T1"): "update", ("T1", "J0"): "jacobian",
                   ("J0", "S0"): "jacobian", ("S0", "S1"): "solve"}.get((previous, name),
                                                                         "other")
            if name != "B":             # B (beginning of a Newton solve) has no predecessor
                self.totals[key] += dt
        if name == "J0":
            self.newton_iterations += 1
        if name == "S1":
            self.linear_solves += 1     # KSP solves (2 per iteration under force control)
        self._last = None if name == "E" else (name, now)

    def attach(self, press: FlatPress):
        """Wrap the instance methods of `press` (its problem, Newton solver, KSP)."""
        problem, newton = press.problem, press.newton
        newton._setup()                                 # JIT + KSP set-up outside the clock
        newton._ksp = _KSPProxy(newton._ksp, self)
        newton_module.fem_petsc = _FemPetscProxy(self)  # the module-level name newton uses

        update = problem.update_material

        def update_material(*args, **kwargs):
            self.event("U0")
            try:
                return update(*args, **kwargs)
            finally:
                self.event("U1")

        problem.update_material = update_material
        tangent = problem.ensure_tangent

        def ensure_tangent():       # the deferred dP/dF of an accepted iterate: update time
            self.event("T0")
            try:
                return tangent()
            finally:
                self.event("T1")

        problem.ensure_tangent = ensure_tangent
        check = problem._raise_on_any_rank

        def raise_on_any_rank(error):  # the collective that ends an update: where ranks wait
            started = time.perf_counter()
            try:
                return check(error)
            finally:
                if self.enabled:
                    self.update_wait += time.perf_counter() - started

        problem._raise_on_any_rank = raise_on_any_rank
        commit = problem.commit

        def commit_state():     # makes the plastic metric of a committed state: update time
            started = time.perf_counter()
            try:
                return commit()
            finally:
                if self.enabled:
                    self.totals["update"] += time.perf_counter() - started

        problem.commit = commit_state

        solve = newton.solve

        def newton_solve(*args, **kwargs):
            self.event("B")
            self.newton_solves += 1
            try:
                return solve(*args, **kwargs)
            except Exception:
                self.failed_solves += 1
                raise
            finally:
                self.event("E")

        newton.solve = newton_solve

    def detach(self):
        newton_module.fem_petsc = fem_petsc

    def rank_balance(self, problem) -> str:
        """One line per rank (on rank 0): its owned cells by region and its constitutive-update
        time without the wait for the other ranks (update - update_wait), in seconds."""
        owned = problem.mesh.topology.index_map(problem.mesh.topology.dim).size_local
        cells = {region.name: int((region.cells < owned).sum()) for region in problem.regions}
        own = self.totals["update"] - self.update_wait
        rows = problem.comm.gather((cells, own, self.update_wait), root=0)
        if problem.comm.rank != 0:
            return ""
        return "\n".join(f"rank {rank}: cells {cells}, update {own:.2f} s (+{wait:.2f} s "
                         f"waiting)" for rank, (cells, own, wait) in enumerate(rows))


# --------------------------------------------------------------------------------------------
# Replay of one representative step
# --------------------------------------------------------------------------------------------
def replay_pieces(press: FlatPress, repeat: int) -> dict:
    """Time (a)-(d) of one Newton iteration `repeat` times at the current trial state."""
    problem, newton = press.problem, press.newton
    comm = problem.comm
    residual_form, jacobian_form = newton.residual_form, newton.jacobian_form
    ksp = newton._ksp._ksp if isinstance(newton._ksp, _KSPProxy) else newton._ksp
    A = newton.A
    b = fem_petsc.create_vector(problem.V)
    du = fem_petsc.create_vector(problem.V)
    u = problem.u
    samples = {k: [] for k in PHASES}

    def timed(key, func):
        comm.Barrier()
        t = time.perf_counter()
        func()
        samples[key].append(time.perf_counter() - t)

    def residual():
        with b.localForm() as local:
            local.set(0.0)
        fem_petsc.assemble_vector(b, residual_form)
        b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        b.norm()
        with b.localForm() as local:
            local.array[newton.n_owned:] = 0.0
        fem_petsc.apply_lifting(b, [jacobian_form], bcs=[problem.bcs], x0=[u.x.petsc_vec],
                                alpha=-1.0)
        b.ghostUpdate(addv=PETSc.InsertMode.ADD, mode=PETSc.ScatterMode.REVERSE)
        fem_petsc.set_bc(b, problem.bcs, u.x.petsc_vec, -1.0)
        b.norm()

    def jacobian():
        A.zeroEntries()
        fem_petsc.assemble_matrix(A, jacobian_form, bcs=problem.bcs)
        A.assemble()

    def solve():
        ksp.solve(b, du)   # A was re-assembled: PETSc refactorises, as in a Newton iteration

    for _ in range(repeat):
        timed("update", problem.update_material)
        timed("residual", residual)
        timed("jacobian", jacobian)
        timed("solve", solve)
    b.destroy()
    du.destroy()
    medians = {k: statistics.median(v) for k, v in samples.items()}
    out = {k: comm.allreduce(v, op=MPI.MAX) for k, v in medians.items()}
    out["update_min"] = comm.allreduce(medians["update"], op=MPI.MIN)   # load balance
    return out


# --------------------------------------------------------------------------------------------
# One mesh level
# --------------------------------------------------------------------------------------------
def overrides_for(case_path: Path, level: int, dimension: int) -> list[str]:
    base = load_case(case_path)
    sets = [f"geometry.dimension={dimension}",
            f"geometry.elements_width={base.geometry.elements_width * level}",
            "output.fields=false", "output.plots=false"]
    for index, layer in enumerate(base.layers):
        sets.append(f"layers.{index}.elements={layer.elements * level}")
    if dimension == 3:
        sets.append(f"geometry.elements_depth={base.geometry.elements_depth * level}")
    return sets


def run_level(case_path: Path, level: int, dimension: int, step: int | None, repeat: int,
              comm, verbose: bool) -> dict:
    case = load_case(case_path, overrides_for(case_path, level, dimension))
    t0 = time.perf_counter()
    press = FlatPress(case, comm, log=print if verbose else (lambda *a, **k: None))
    profiler = Profiler()
    profiler.attach(press)
    setup_time = comm.allreduce(time.perf_counter() - t0, op=MPI.MAX)

    load_steps = case.loading.load_steps
    target_step = step if step is not None else load_steps
    if not 1 <= target_step <= load_steps:
        raise SystemExit(f"--step must be a loading step, 1..{load_steps}")
    replay = {}
    commit = press.problem.commit

    def commit_with_replay():
        # before the commit: the trial state is the converged state of the step, the history is
        # that of the step start, so update_material repeats the step's plastic return map
        if len(press.records) + 1 == target_step and not replay:
            profiler.enabled = False
            t = time.perf_counter()
            replay.update(replay_pieces(press, repeat))
            replay["_time"] = time.perf_counter() - t
            profiler.enabled = True
        return commit()

    press.problem.commit = commit_with_replay
    started = time.perf_counter()

    comm.Barrier()
    status = "complete"
    try:
        press.run()
    except RunIncomplete as exc:        # keep the timings of what ran, say so in the table
        status = "INCOMPLETE"
        press.wall_time = time.perf_counter() - started
        if comm.rank == 0:
            print(f"level {level}: run incomplete: {exc}", flush=True)
    profiler.detach()
    balance = profiler.rank_balance(press.problem)
    if comm.rank == 0 and comm.size > 1:
        print(f"level {level}:\n{balance}", flush=True)
    if not replay:
        raise SystemExit(f"level {level}: the run stopped before step {target_step}")
    record = press.records[target_step - 1]
    replay_time = replay.pop("_time")
    # whole-run breakdown: that of the slowest rank (a max per phase would not add up)
    mine = (press.wall_time - replay_time, profiler.totals)
    wall, totals = max(comm.allgather(mine), key=lambda item: item[0])

    problem = press.problem
    mesh = problem.mesh
    tdim = mesh.topology.dim
    cells = mesh.topology.index_map(tdim).size_global
    dofs = problem.V.dofmap.index_map.size_global * problem.V.dofmap.index_map_bs
    local_cells = mesh.topology.index_map(tdim).size_local
    ghost_cells = comm.allreduce(mesh.topology.index_map(tdim).num_ghosts, op=MPI.SUM)
    n_points = len(problem.weights)
    per_iteration = sum(replay[k] for k in PHASES)
    steps = len(press.records)
    out = {
        "dim": dimension, "level": level, "ranks": comm.size, "cells": cells, "dofs": dofs,
        "qpoints": cells * n_points,
        "ghost_cells": ghost_cells,
        "max_local_cells": comm.allreduce(local_cells, op=MPI.MAX),
        "steps": steps, "newton_solves": profiler.newton_solves,
        "failed_solves": profiler.failed_solves,
        "newton_iterations": profiler.newton_iterations,
        "linear_solves": comm.allreduce(profiler.linear_solves, op=MPI.MAX),
        "its_per_step": profiler.newton_iterations / steps,
        "status": status,
        "setup_s": setup_time, "wall_s": wall,
        "rep_step": target_step, "rep_phase": record.phase,
        "rep_newton_its": record.newton_iterations,
        "t_update": replay["update"], "t_residual": replay["residual"],
        "t_jacobian": replay["jacobian"], "t_solve": replay["solve"],
        "t_update_min_rank": replay["update_min"],
        "t_iteration": per_iteration, "ratio": per_iteration / replay["solve"],
        "run_update": totals["update"], "run_residual": totals["residual"],
        "run_jacobian": totals["jacobian"], "run_solve": totals["solve"],
        "run_other": totals["other"],
        "final_thickness_um": press.records[-1].top_thickness * 1e3,
    }
    newton = press.newton
    newton._ksp = newton._ksp._ksp      # unwrap, then free the PETSc objects
    newton.destroy()
    return out


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------
def markdown(rows: list[dict], header: str) -> str:
    ms = 1e3
    lines = [header, "",
             "Mesh and run (whole load/unload cycle, wall time excludes JIT/set-up):", "",
             "| ranks | level | cells | dofs | quad. points | steps | Newton solves (failed) | "
             "Newton its | KSP solves | its/step | wall [s] | wall/its [ms] | run |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:--|"]
    for r in rows:
        lines.append(f"| {r['ranks']} | {r['level']} | {r['cells']} | {r['dofs']} | "
                     f"{r['qpoints']} | {r['steps']} | {r['newton_solves']} "
                     f"({r['failed_solves']}) | {r['newton_iterations']} | {r['linear_solves']} "
                     f"| {r['its_per_step']:.2f} | {r['wall_s']:.2f} | "
                     f"{r['wall_s'] / max(r['newton_iterations'], 1) * ms:.1f} | {r['status']} |")
    lines += ["", "One Newton iteration of a plastic loading step (replayed on its converged "
              "state; median of repeats, max over ranks), ms:", "",
              "| ranks | level | dofs | step | (a) material update | (b) residual | "
              "(c) Jacobian | (d) linear solve | iteration (a+b+c+d) | iteration / solve | "
              "(a) fastest rank |",
              "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['ranks']} | {r['level']} | {r['dofs']} | {r['rep_step']} "
                     f"({r['rep_phase']}) | {r['t_update'] * ms:.2f} | {r['t_residual'] * ms:.2f}"
                     f" | {r['t_jacobian'] * ms:.2f} | {r['t_solve'] * ms:.2f} | "
                     f"{r['t_iteration'] * ms:.2f} | {r['ratio']:.2f} | "
                     f"{r['t_update_min_rank'] * ms:.2f} |")
    lines += ["", "Where the whole run's time goes (every Newton iteration timed in place; "
              "slowest rank), % of wall time:", "",
              "| ranks | level | material update | residual | Jacobian | linear solve | "
              "other (u update, step logic, measures) |",
              "|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        w = r["wall_s"]
        parts = [r["run_update"], r["run_residual"], r["run_jacobian"], r["run_solve"]]
        rest = w - sum(parts)
        lines.append(f"| {r['ranks']} | {r['level']} | "
                     + " | ".join(f"{100 * p / w:.1f}" for p in parts)
                     + f" | {100 * rest / w:.1f} |")
    return "\n".join(lines) + "\n"


def code_state() -> str:
    """The commit measured, and whether the solver sources differ from it (uncommitted work)."""
    import hashlib
    import subprocess

    def git(*args):
        return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True,
                              text=True).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    diff = git("diff", "HEAD", "--", "solver", "materials", "meshes")
    if diff:
        return f"{head} + uncommitted solver changes (diff sha1 " \
               f"{hashlib.sha1(diff.encode()).hexdigest()[:10]})"
    return head


def cold_dpc_returns():
    """Strip the warm start (`return_start`) from every state a DPC update is given."""
    from nipstack.materials.dpc import DruckerPragerCap
    update = DruckerPragerCap.update

    def cold(self, eps_trial, state, dt):
        return update(self, eps_trial, {k: v for k, v in state.items() if k != "return_start"},
                      dt)
    DruckerPragerCap.update = cold


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--case", type=Path, default=None,
                        help=f"case file (default {DEFAULT_CASE.relative_to(ROOT)}; "
                             f"{DEFAULT_CASE_3D.relative_to(ROOT)} with --dimension 3)")
    parser.add_argument("--refine", type=int, nargs="+", default=None,
                        help="mesh levels: elements along the width and through every layer "
                             "(and the depth in 3D) times each level (default 2D: 1 4 10, "
                             "3D: 1 2 3)")
    parser.add_argument("--dimension", type=int, choices=(2, 3), default=2)
    parser.add_argument("--step", type=int, default=None,
                        help="loading step to replay (default: the last loading step)")
    parser.add_argument("--repeat", type=int, default=5, help="replays of the step (median)")
    parser.add_argument("--out", type=Path, default=None,
                        help="markdown table (default benchmarks/results/"
                             "flat_press_timing_<dim>d_np<ranks>.md; a .csv is written beside)")
    parser.add_argument("--verbose", action="store_true", help="print the solver's step log")
    parser.add_argument("--cold-start", action="store_true",
                        help="start every DPC local Newton cold, without the previous "
                             "iterate's solution (what the code did before the warm start)")
    args = parser.parse_args(argv)
    if args.cold_start:
        cold_dpc_returns()

    comm = MPI.COMM_WORLD
    load_at_start = os.getloadavg()[0]     # other jobs on the 2 cores would skew the timings
    case_path = args.case or (DEFAULT_CASE_3D if args.dimension == 3 else DEFAULT_CASE)
    levels = args.refine or ([1, 2, 3] if args.dimension == 3 else [1, 4, 10])
    out = args.out or (ROOT / "benchmarks" / "results"
                       / f"flat_press_timing_{args.dimension}d_np{comm.size}.md")

    rows = []
    for level in levels:
        row = run_level(case_path, level, args.dimension, args.step, args.repeat, comm,
                        args.verbose)
        rows.append(row)
        if comm.rank == 0:
            print(f"level {level}: {row['cells']} cells, {row['dofs']} dofs, {row['steps']} steps,"
                  f" {row['newton_iterations']} Newton iterations, wall {row['wall_s']:.2f} s, "
                  f"iteration {row['t_iteration'] * 1e3:.2f} ms = {row['ratio']:.2f} x solve "
                  f"({row['t_solve'] * 1e3:.2f} ms)", flush=True)

    if comm.rank == 0:
        petsc = load_case(case_path).solver.petsc_options or {"pc_factor_mat_solver_type":
                                                              "mumps (default LU)"}
        header = (f"## flat press timing: {case_path.name}, {args.dimension}D, "
                  f"{comm.size} MPI rank(s), linear solver {petsc}\n\n"
                  f"code: {code_state()}; {time.strftime('%Y-%m-%d %H:%M')}; "
                  f"{os.cpu_count()} cores on this machine, load average at start {load_at_start:.2f}")
        table = markdown(rows, header)
        print()
        print(table)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(table)
        with open(out.with_suffix(".csv"), "w", newline="") as stream:
            writer = csv.DictWriter(stream, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        print(f"written {out} and {out.with_suffix('.csv')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
