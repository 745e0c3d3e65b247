"""The Python API: load a case, run it, read a results folder (docs/python-api.md).

    import nipstack

    case = nipstack.load_case("cases/flat_press_nmc.toml", ["loading.target=0.06"])
    result = nipstack.run(case, "results/press")          # collective under MPI
    result.summary["final_porosity"], result.history["pressure_MPa"], result.fields
    again = nipstack.read_results("results/press")

`nipstack run` and `nipstack sweep` are this API. Importing nipstack does not import DOLFINx;
`run` does.
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from .case import Case, load_case
from .results_folder import COMPLETE, INCOMPLETE, INTERRUPTED, read_marker

__all__ = ["Results", "load_case", "read_results", "run"]

#: the exit code of `nipstack run` for each status of a results folder
EXIT_CODES = {COMPLETE: 0, INCOMPLETE: 3, INTERRUPTED: 130}


@dataclass
class Results:
    """A results folder: its status ('complete', 'incomplete', 'interrupted'), its summary
    (summary.json; a stopped run's carries 'failed_step' and 'reason'), the per-step history
    and the ParaView fields."""

    folder: Path
    status: str
    summary: dict = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return self.status == COMPLETE

    @property
    def exit_code(self) -> int:
        """What `nipstack run` exits with for this result (0, 3 or 130)."""
        return EXIT_CODES.get(self.status, 1)

    @cached_property
    def history(self) -> dict[str, np.ndarray]:
        """history.csv, one array per column (floats; text columns such as 'phase' as
        strings); empty if the run wrote none."""
        return read_history(self.folder / "history.csv")

    @property
    def fields(self) -> Path | None:
        """fields/fields.pvd (open it in ParaView), or None if no fields were written."""
        path = self.folder / "fields" / "fields.pvd"
        return path if path.is_file() else None


def _column(values: list[str]) -> np.ndarray:
    """Floats where every cell is a number (an empty or 'None' cell is NaN), else text."""
    try:
        return np.array([float(v) if v not in ("", "None") else np.nan for v in values])
    except ValueError:
        return np.array(values)


def read_history(path: Path) -> dict[str, np.ndarray]:
    """A history table (history.csv and its kind) as {column: array}."""
    if not Path(path).is_file():
        return {}
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    if not rows:
        return {}
    header, body = rows[0], rows[1:]
    return {name: _column([row[i] if i < len(row) else "" for row in body])
            for i, name in enumerate(header)}


def _read_summary(folder: Path) -> dict:
    path = folder / "summary.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def read_results(folder: str | Path) -> Results:
    """The results folder of an earlier run (complete or stopped); ValueError if `folder`
    is not one."""
    folder = Path(folder)
    marker = read_marker(folder)
    if marker is None:
        raise ValueError(f"'{folder}' is not a nipstack results folder")
    return Results(folder, marker.get("status", ""), _read_summary(folder))


def run(case: Case | str | Path, output: str | Path | None = None, *, overwrite: bool = False,
        comm=None, log=print, warn=None, resume: bool = False, case_file: Path | None = None,
        argv: list[str] | None = None) -> Results:
    """Run `case` (a loaded case or a case file) into the results folder `output` (default:
    output.directory or results/<name>) and return its Results, complete or not (see
    `status`). Collective on `comm` (default MPI.COMM_WORLD); `log` gets the progress lines
    (rank 0), `warn` (default: log) the message of a run that stopped. `overwrite` replaces an
    earlier nipstack result; `resume=True` continues the stopped run in `output` from its
    checkpoint (`case` its case.resolved.toml). Raises CaseError (a bad case file),
    results_folder.OutputError or checkpoint.CheckpointError (nothing written)."""
    import dolfinx_solver  # noqa: F401  (MPI before dolfinx/petsc4py)
    from mpi4py import MPI

    from .case_run import CaseRun

    if not isinstance(case, Case):
        case_file = Path(case)
        case = load_case(case_file)
    comm = comm if comm is not None else MPI.COMM_WORLD
    out = Path(output if output is not None else
               case.output.directory or f"results/{case.case.name}")
    execution = CaseRun(case, comm, out, log, warn, overwrite, case_file, argv, resume)
    code = execution.execute()
    status = {v: k for k, v in EXIT_CODES.items()}[code]
    summary = execution.summary     # a stopped run's is in its folder (rank 0 wrote it)
    return Results(execution.published, status,
                   summary if summary is not None else _read_summary(execution.published))
