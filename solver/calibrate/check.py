"""The final check of a fitted card on coating-on-foil data: a real FE flat press.

The fit itself uses the uniaxial-strain point driver (what a laterally confined flat press is
away from its edges; ``model.press_response``), because one FE flat press takes seconds and a
fit needs hundreds of evaluations.  This module runs the FE flat press (``flat_press.FlatPress``:
Gmsh strip, coating on its foil, rigid platen by penalty contact, pressure control) once with
the fitted card, through the measured pressures in the measured order, and reports the
coating thickness at each of them next to the data and the point driver.  The difference
between FE and point driver is the penalty penetration and the discretisation, and is reported.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .data import DataSet

#: the strip of the check (a confined strip: its width does not matter; 3 x 6 elements)
STRIP = {"width": 0.1, "elements_width": 3, "coating_elements": 6, "foil_elements": 2}


def case_text(card: Path, ds: DataSet) -> str:
    """The flat-press case file of the check (written into the report for provenance)."""
    foil = ds.options.get("foil_card", "aluminium_foil")
    foil_h = float(ds.options.get("foil_thickness", 0.015))
    h0 = float(ds.options["initial_thickness"])
    peak = float(np.max(ds.columns["pressure"]))
    return f"""# FE check of the fitted card {card.name} against data set '{ds.name}' ({ds.file.name}):
# coating on foil between flat platens, laterally confined, pressure control through the
# measured pressures (nipstack calibrate drives the phases itself; this file is the geometry).
[case]
name = "calibrate_check_{ds.name}"
kind = "flat_press"
description = "flat-press check of a fitted card"

[geometry]
dimension = 2
width = {STRIP['width']}
elements_width = {STRIP['elements_width']}

[[layers]]
name = "foil"
material = "{foil}"
thickness = {foil_h}
elements = {STRIP['foil_elements']}

[[layers]]
name = "coating"
material = "{card.name}"            # the fitted card, next to this file
thickness = {h0}
elements = {STRIP['coating_elements']}

[loading]
control = "pressure"
target = {peak}
load_steps = 10
lateral = "confined"

[output]
fields = false
plots = false
"""


def segments(pressures: np.ndarray) -> list[tuple[str, list[int]]]:
    """Rows grouped into monotone runs: ('load', rows) while the pressure rises, ('unload',
    rows) while it falls; a row at pressure 0 after loading is ('release', [row])."""
    out: list[tuple[str, list[int]]] = []
    previous = 0.0
    for i, p in enumerate(pressures):
        if p == previous and not out:
            continue                         # the unloaded start: the mesh as built
        phase = "load" if p > previous else ("release" if p == 0.0 else "unload")
        if out and out[-1][0] == phase and phase != "release":
            out[-1][1].append(i)
        else:
            out.append((phase, [i]))
        previous = p
    return out


def flat_press_check(card: Path, ds: DataSet, folder: Path, comm, log=print) -> dict:
    """Run the FE flat press with the fitted card through the data set's pressures; returns
    {'thickness': FE coating thickness per row (nan where not run), 'wall_time_s': ...}."""
    import time

    from ..case import load_case
    from ..case_run import build_scenario

    case_file = folder / f"flat_press_check_{ds.name}.case.toml"
    if comm.rank == 0:
        case_file.write_text(case_text(card, ds))
    comm.barrier()
    case = load_case(case_file)
    started = time.perf_counter()
    press = build_scenario(case, comm, log=lambda message: None)      # a FlatPress
    press.reset()
    pressures = ds.columns["pressure"]
    thickness = np.full(pressures.size, np.nan)
    thickness[pressures == 0.0] = case.layers[-1].thickness     # rows before any load
    clock = 0.0
    for phase, rows in segments(pressures):
        times = [clock + k + 1.0 for k in range(len(rows))]
        clock = times[-1]
        if phase == "release":
            press.run_phase("release", [press.stack_height], times, mode="position")
        else:
            press.run_phase(phase, [float(pressures[i]) for i in rows], times, mode="pressure")
        by_time = {round(r.time, 9): r.top_thickness for r in press.records}
        for i, t in zip(rows, times):
            thickness[i] = by_time[round(t, 9)]
    wall = time.perf_counter() - started
    log(f"  FE flat press check of '{ds.name}': {len(press.records)} steps in {wall:.1f} s")
    return {"thickness": thickness, "wall_time_s": wall, "case_file": case_file.name}
