"""Run one case into a results folder: the one place that ties scenario, fields and files.

A scenario (FlatPress, Calender, StackCase, Delamination) offers: `problem`, `records`, `on_step` (a hook
called after each converged step), `run()`, `summary()`, `step_outputs(record, folder)` and
`final_outputs(folder)` (scenario plots and profile CSVs; collective), `history_csv(path)`
(rank 0) and `describe(summary)` (the closing line); optionally `field_writer(path)` (a
FieldWriter with scenario fields, e.g. the stack's interface gap and pressure). `run_case` adds
what every run has: the atomic results folder, the field time series for ParaView,
history.csv and summary.json.
"""
from __future__ import annotations

from pathlib import Path

from .output import FieldWriter, ResultsFolder, write_summary

EXIT_OK, EXIT_INCOMPLETE = 0, 3


def build_scenario(case, comm, log=print):
    if case.case.kind == "flat_press":
        from .flat_press import FlatPress
        return FlatPress(case, comm, log)
    if case.case.kind == "calender":
        from .calender import Calender
        return Calender(case, comm, log)
    if case.case.kind == "stack":
        from .stack_case import StackCase
        return StackCase(case, comm, log)
    if case.case.kind == "delamination":
        from .delamination import Delamination
        spec = case.delamination
        return Delamination(
            test=spec.test, arm_thickness=spec.arm_thickness, length=spec.length,
            width=spec.width, precrack=spec.precrack, material=spec.arm_material,
            youngs_modulus=spec.youngs_modulus, poisson_ratio=spec.poisson_ratio,
            cohesive=dict(spec.cohesive), element_length=spec.element_length,
            elements_through=spec.elements_through, opening=spec.opening, steps=spec.steps,
            root_rotation=spec.root_rotation, max_cutbacks=case.solver.max_cutbacks + 4,
            newton_rtol=case.solver.newton_rtol, petsc_options=dict(case.solver.petsc_options)
            or None, comm=comm, log=log)
    raise ValueError(f"unknown case kind {case.case.kind!r}")


def run_case(case, comm, out: Path, log=print, warn=None) -> tuple[int, dict | None]:
    """Run `case` on `comm` into the folder `out`. Returns (exit code, summary).
    `log` gets progress lines, `warn` (default: log) the message of a run that stopped early."""
    from .flat_press import RunIncomplete

    say = log if comm.rank == 0 else (lambda *a, **k: None)
    warn = warn or log
    say(f"nipstack {case.case.kind}: {case.case.name} on {comm.size} rank(s) -> {out}")
    folder = ResultsFolder(out, comm)
    scenario = build_scenario(case, comm, log)
    V = scenario.problem.V
    mesh = scenario.problem.mesh
    say(f"  mesh: {mesh.topology.dim}D, "
        f"{mesh.topology.index_map(mesh.topology.dim).size_global} cells, "
        f"{V.dofmap.index_map.size_global * V.dofmap.index_map_bs} dofs")
    writer = {"fields": None}

    def on_step(record, model):
        if case.output.fields:
            if record.step == 1:   # a new load history (final-thickness searches restart)
                if writer["fields"] is not None:
                    writer["fields"].close()
                path = folder.path / "fields" / "fields.pvd"
                make = getattr(model, "field_writer", None)
                writer["fields"] = make(path) if make else FieldWriter(model.problem, path)
            writer["fields"].write(record.time)
        model.step_outputs(record, folder.path)

    scenario.on_step = on_step
    try:
        scenario.run()
    except RunIncomplete as exc:
        if writer["fields"] is not None:
            writer["fields"].close()
        if scenario.records:
            summary = scenario.summary()
            if comm.rank == 0:
                scenario.history_csv(folder.path / "history.csv")
                write_summary(summary, folder.path / "summary.json")
        folder.incomplete(str(exc))
        if comm.rank == 0:
            warn(f"nipstack: run stopped: {exc}\n  partial results in {out} (marked INCOMPLETE)")
        return EXIT_INCOMPLETE, None
    if writer["fields"] is not None:
        writer["fields"].close()
    summary = scenario.summary()
    summary["status"] = "complete"
    scenario.final_outputs(folder.path)
    if comm.rank == 0:
        scenario.history_csv(folder.path / "history.csv")
        write_summary(summary, folder.path / "summary.json")
    folder.complete()
    say(scenario.describe(summary))
    return EXIT_OK, summary
