"""The `nipstack` command.

    nipstack run CASE [--out DIR] [--set key=value ...]    run a case, write a results folder
    nipstack check CASE [--set key=value ...] [--schema]   validate a case file (no solve)
    nipstack point CARD --path hydrostatic|uniaxial-strain|triaxial [...]   one material point
    nipstack pictures FOLDER                               the PNG pictures of a results folder
    nipstack export FOLDER --to FILE [--step N] [--dataset NAME]   fields to any meshio format
    nipstack sweep CASE --param KEY=V1,V2,... [--set ...] [--out DIR] [--ranks-per-run N]
                   [--fit X_KEY,Y_KEY] [--threshold Y_KEY=LEVEL[@X_KEY] ...]
                                           run a case per value, tabulate, fit compaction,
                                           find where a result crosses a level
    nipstack calibrate DATA.toml [--out DIR] [--overwrite] [--no-fe-check]
                                           fit a DPC card to compaction data (card + report)

Exit codes: 0 done; 2 bad input (case file, card, option, a results folder that is not
nipstack's) - one message, no traceback, nothing written; 3 the run stopped early (cut-backs
exhausted, or a state the material cannot represent) - results folder marked INCOMPLETE (`point`
past the porosity limit: only <name>.incomplete.csv); 130 stopped by SIGINT/SIGTERM - results
folder marked INTERRUPTED; 1 an unexpected error. Under MPI every rank runs the same command;
only rank 0 prints, and an unexpected error on one rank aborts all of them instead of leaving
the others waiting.

A run writes only into a folder it creates or an earlier nipstack result (`--overwrite`), see
results_folder.py.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import traceback
from pathlib import Path

EXIT_BAD_INPUT, EXIT_INCOMPLETE, EXIT_ERROR = 2, 3, 1


def _version() -> str:
    from . import __version__
    return __version__


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="nipstack", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=f"nipstack {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for add in (_add_run, _add_check, _add_point, _add_sweep, _add_pictures, _add_export,
                _add_calibrate):
        add(sub)
    return parser


def _add_run(sub):
    run = sub.add_parser("run", help="run a case file (or continue a stopped run: --resume)")
    run.add_argument("case", nargs="?", help="case file (TOML)")
    run.add_argument("--resume", metavar="FOLDER",
                     help="continue the INTERRUPTED or INCOMPLETE run in FOLDER from its last "
                          "checkpoint, on any number of ranks (no case file, no --set)")
    run.add_argument("--out", help="results folder (default: output.directory or results/<name>)")
    run.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                     help="override a case field, e.g. --set loading.target=0.06 "
                          "--set layers.1.thickness=0.09 (repeatable)")
    run.add_argument("--overwrite", action="store_true",
                     help="replace an earlier nipstack result in the results folder (never "
                          "anything else; the old result is kept until the new one is "
                          "complete)")


def _add_check(sub):
    check = sub.add_parser("check", help="validate a case file without running it (and, "
                                         "with --out, the results folder as run would)")
    check.add_argument("case", nargs="?", help="case file (TOML)")
    check.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    check.add_argument("--out", help="results folder to check (default: as run)")
    check.add_argument("--overwrite", action="store_true")
    check.add_argument("--schema", action="store_true",
                       help="print every case field with its unit and default, kind by kind")


def _add_point(sub):
    point = sub.add_parser("point", help="run one material point along a strain/stress path")
    point.add_argument("card", help="material card name (materials/library) or .toml path")
    point.add_argument("--path", required=True,
                       choices=["hydrostatic", "uniaxial-strain", "triaxial"])
    point.add_argument("--max-strain", type=_number(0.0, 3.0, "--max-strain"), default=0.3,
                       help="largest compressive log strain along the path, > 0 and <= 3 "
                            "(compression is positive here) (-)")
    point.add_argument("--steps", type=_count(1, 1_000_000, "--steps"), default=60,
                       help="load steps (>= 1)")
    point.add_argument("--confining-pressure", type=_number(0.0, 1e6, "--confining-pressure",
                                                           low_open=False),
                       default=1.0, help="lateral pressure of the triaxial path, MPa (>= 0)")
    point.add_argument("--no-unload", action="store_true", help="do not unload at the end")
    point.add_argument("--time", type=_number(0.0, 1e12, "--time"), default=1.0,
                       help="duration of the loading, s (rate-dependent laws; > 0)")
    point.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="override a card parameter, e.g. --set initial_porosity=0.4")
    point.add_argument("--out", default=None, help="CSV file (default: point_<card>_<path>.csv)")
    point.add_argument("--overwrite", action="store_true",
                       help="replace an existing CSV file written by `nipstack point`")


def _add_sweep(sub):
    sweep = sub.add_parser("sweep", help="run a case once per value of a field; table and "
                                         "compaction-resistance fit (Meyer et al. 2017)")
    sweep.add_argument("case", help="case file (TOML)")
    sweep.add_argument("--param", required=True, metavar="KEY=V1,V2,...",
                       help="the swept case field and its values, e.g. "
                            "loading.target=20,40,60,90 or calender.line_load=100,300,600")
    sweep.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="override a case field for every point (repeatable)")
    sweep.add_argument("--out", help="sweep folder (default: results/<name>_sweep_<KEY>); "
                                     "each point runs into <out>/<KEY>=<value>/")
    sweep.add_argument("--overwrite", action="store_true",
                       help="replace an earlier nipstack sweep in the sweep folder")
    sweep.add_argument("--ranks-per-run", type=_count(1, 1_000_000, "--ranks-per-run"),
                       default=None, metavar="N",
                       help="MPI ranks per point (default: all ranks on each point in turn); "
                            "size/N groups run different points at the same time")
    sweep.add_argument("--fit", metavar="X_KEY,Y_KEY",
                       help="what the compaction fit uses: x the parameter (default) or a "
                            "compaction-load entry of the summary (e.g. peak_pressure_MPa, "
                            "line_load_N_per_mm), y a porosity entry (default: exit_porosity, "
                            "else final_porosity); checked before any point runs")
    sweep.add_argument("--threshold", action="append", default=[],
                       metavar="Y_KEY=LEVEL[@X_KEY]",
                       help="report the value of X_KEY (a summary entry; default: the swept "
                            "parameter) at which the summary entry Y_KEY first reaches LEVEL "
                            "(linear interpolation between the bracketing points; in "
                            "sweep.json), e.g. interface_copper_lithium_contact_fraction_"
                            "reached_in_nip=0.99@line_load_N_per_mm (repeatable)")


def _add_pictures(sub):
    pictures = sub.add_parser("pictures", help="(re-)render the PNG pictures of a results "
                                               "folder from its fields (pyvista, off-screen)")
    pictures.add_argument("folder", help="a results folder with fields/fields.pvd")


def _add_export(sub):
    export = sub.add_parser("export", help="write one step of a run's fields to another mesh "
                                           "format (meshio: .xdmf, .msh, .vtu, .inp, .med, ...)")
    export.add_argument("folder", help="a results folder with fields/fields.pvd")
    export.add_argument("--to", required=True, metavar="FILE",
                        help="the file to write; its suffix names the format")
    export.add_argument("--step", type=_count(1, 10**9, "--step"), default=None,
                        help="the written step, 1 = the first (default: the last)")
    export.add_argument("--dataset", default="fields",
                        help="fields (the volume, default) or an interface point dataset, "
                             "e.g. interface_lithium_electrolyte")
    export.add_argument("--format", default=None,
                        help="meshio's format name when the suffix does not say it "
                             "(e.g. gmsh22, abaqus)")


def _add_calibrate(sub):
    calibrate = sub.add_parser("calibrate", help="fit a DPC card to compaction data (die, "
                                                 "flat press, strength tests, before/after "
                                                 "pairs): the card and a report folder")
    calibrate.add_argument("data", help="DATA.toml: the data files and what each test is")
    calibrate.add_argument("--out", help="report folder (default: results/calibrate_<name>)")
    calibrate.add_argument("--overwrite", action="store_true",
                           help="replace an earlier nipstack report in the folder")
    calibrate.add_argument("--no-fe-check", action="store_true",
                           help="skip the FE flat-press run that checks a fit to "
                                "coating-on-foil data")


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors and exit code 2 (argparse's own code for bad usage)."""

    def error(self, message):
        self.exit(2, f"nipstack: error: {message}\n")


def _number(low: float, high: float, option: str, low_open: bool = True):
    """An argparse type: a finite float in (low, high] (or [low, high])."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{option} {text!r}: expected a number") from None
        inside = (value > low if low_open else value >= low) and value <= high
        if not math.isfinite(value) or not inside:
            bracket = "(" if low_open else "["
            raise argparse.ArgumentTypeError(f"{option} {text}: must lie in {bracket}{low:g}, "
                                             f"{high:g}]")
        return value
    return parse


def _count(low: int, high: int, option: str):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{option} {text!r}: expected a whole "
                                             f"number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{option} {value}: must lie in [{low}, {high}]")
        return value
    return parse


def _say(comm, message: str, stream=None):
    if comm.rank == 0:
        _print(message, stream)


def _print(message: str, file=None):
    """Print and flush. When the reader of the stream has gone (`nipstack check --schema |
    head -1`), the rest of the output is dropped quietly, as Unix tools do, and the command
    goes on (a run still writes its results folder and run.log)."""
    stream = file or sys.stdout
    try:
        print(message, file=stream, flush=True)
    except BrokenPipeError:
        _silence(stream)


def _silence(stream):
    """Send what is still to be written to `stream` (also at exit) to /dev/null."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, stream.fileno())
    os.close(devnull)


def main(argv: list[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exit_:          # bad usage (2), --help / --version (0)
        return int(exit_.code or 0)
    except BrokenPipeError:              # `nipstack --help | head -1`
        _silence(sys.stdout)
        return 0
    if args.command == "point":
        return _point(args)
    if args.command == "pictures":
        return _pictures(args)
    if args.command == "export":
        return _export(args)
    import dolfinx_solver  # noqa: F401  (MPI before dolfinx/petsc4py)
    from mpi4py import MPI

    from . import interrupt

    comm = MPI.COMM_WORLD
    if argv is None:           # the command itself (not a test calling main()): stop cleanly
        interrupt.install()
    try:
        if args.command == "sweep":
            from .sweep.command import sweep_command
            return sweep_command(args, comm, lambda message, stream=None:
                                 _say(comm, message, stream))
        if args.command == "calibrate":
            return _calibrate(args, comm)
        return _run(args, comm) if args.command == "run" else _check(args, comm)
    except SystemExit:
        raise
    except interrupt.RunInterrupted:
        return interrupt.EXIT_INTERRUPTED
    except Exception:  # noqa: BLE001 - last resort: never hang the other ranks
        _print(f"nipstack: unexpected error on rank {comm.rank}:\n{traceback.format_exc()}",
               file=sys.stderr)
        if comm.size > 1:
            comm.Abort(EXIT_ERROR)
        return EXIT_ERROR


def _load(args, comm, checking: bool = False):
    """The validated case and its results folder, or None after saying what is wrong (the
    same checks for `check` and `run`). checking (`check`): a folder holding an earlier
    nipstack result is a note (run needs --overwrite there), not an error."""
    from .api import load_case
    from .case import CaseError
    from .results_folder import EarlierResult, OutputError, check_destination

    error, note = "", ""
    try:
        case = load_case(args.case, args.set)
        out = Path(args.out if args.out is not None else
                   case.output.directory or f"results/{case.case.name}")
        if comm.rank == 0:   # one decision for all ranks (the folder changes once rank 0 runs)
            try:
                check_destination(out, args.overwrite)
            except EarlierResult as exc:
                if not checking:
                    raise
                note = f"note for `nipstack run`: {exc}"
                check_destination(out, overwrite=True)     # the other checks still apply
    except (CaseError, OutputError) as exc:
        error = str(exc)
    error, note = comm.bcast((error, note), root=0)
    if error:
        _say(comm, f"nipstack: error: {error}", sys.stderr)
        return None, None
    if note:
        _say(comm, note)
    return case, out


def _check(args, comm) -> int:
    from .case import schema_markdown

    if args.schema:
        _say(comm, schema_markdown())
        return 0
    if not args.case:
        _say(comm, "nipstack check: give a case file (or --schema)", sys.stderr)
        return EXIT_BAD_INPUT
    case, out = _load(args, comm, checking=True)
    if case is None:
        return EXIT_BAD_INPUT
    if case.case.kind == "delamination":
        spec = case.delamination
        _say(comm, f"{args.case}: OK - delamination, {spec.test.upper()}, arms "
                   f"{spec.arm_thickness} mm, pre-crack {spec.precrack} mm")
        return 0
    geometry = getattr(case, "geometry", None)       # the calender's web is a 2D section
    dimension = geometry.dimension if geometry is not None else 2
    layers = ", ".join(f"{l.name} ({l.material}, {l.thickness * 1e3:g} um)" for l in case.layers)
    _say(comm, f"{args.case}: OK - {case.case.kind}, {dimension}D, layers: {layers}")
    return 0


def _run(args, comm) -> int:
    from .api import run
    from .checkpoint import CheckpointError
    from .results_folder import OutputError

    if args.resume:
        return _resume(args, comm)
    if not args.case:
        _say(comm, "nipstack: error: give a case file (or --resume FOLDER)", sys.stderr)
        return EXIT_BAD_INPUT
    case, out = _load(args, comm)
    if case is None:
        return EXIT_BAD_INPUT
    try:
        result = run(case, out, comm=comm, log=lambda message: _say(comm, message),
                     warn=lambda message: _say(comm, message, sys.stderr),
                     overwrite=args.overwrite, case_file=Path(args.case), argv=sys.argv)
    except (OutputError, CheckpointError) as exc:   # the folder changed since the check
        _say(comm, f"nipstack: error: {exc}", sys.stderr)
        return EXIT_BAD_INPUT
    return result.exit_code


def _resume(args, comm) -> int:
    from .api import load_case, run
    from .case import CaseError
    from .checkpoint import CheckpointError
    from .results_folder import OutputError, check_resumable

    for given, option in ((args.case, "a case file"), (args.set, "--set"),
                          (args.out, "--out"), (args.overwrite, "--overwrite")):
        if given:
            _say(comm, f"nipstack: error: --resume takes no {option} (the folder's "
                       f"case.resolved.toml is the case)", sys.stderr)
            return EXIT_BAD_INPUT
    try:
        error = ""
        if comm.rank == 0:
            try:
                check_resumable(args.resume)
            except OutputError as exc:
                error = str(exc)
        error = comm.bcast(error, root=0)
        if error:
            raise OutputError(error)
        case = load_case(Path(args.resume) / "case.resolved.toml")
        result = run(case, Path(args.resume), comm=comm,
                     log=lambda message: _say(comm, message),
                     warn=lambda message: _say(comm, message, sys.stderr),
                     argv=sys.argv, resume=True)
    except (CaseError, OutputError, CheckpointError) as exc:
        _say(comm, f"nipstack: error: {exc}", sys.stderr)
        return EXIT_BAD_INPUT
    return result.exit_code


def _calibrate(args, comm) -> int:
    from .calibrate import CalibrationError, calibrate
    from .case import CaseError
    from .materials.cards import CardError
    from .results_folder import OutputError

    try:
        calibrate(args.data, args.out, comm, overwrite=args.overwrite,
                  check=not args.no_fe_check, log=lambda message: _say(comm, message))
    except (CalibrationError, CaseError, CardError, OutputError) as exc:
        _say(comm, f"nipstack: error: {exc}", sys.stderr)
        return EXIT_BAD_INPUT
    return 0


def _point(args) -> int:
    from .case import apply_override
    from .materials.cards import CardError
    from .point import PorosityLimit, destination_problem, incomplete_csv, point_main

    overrides: dict = {}
    for assignment in args.set:
        try:
            apply_override(overrides, assignment)
        except Exception:  # noqa: BLE001
            _print(f"nipstack: error: --set '{assignment}': expected key=value", file=sys.stderr)
            return EXIT_BAD_INPUT
    out = Path(args.out or f"point_{Path(args.card).stem}_{args.path}.csv")
    error = destination_problem(out, args.overwrite)
    if error:
        _print(f"nipstack: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        point_main(args.card, args.path, out, max_strain=args.max_strain, steps=args.steps,
                   confining_pressure=args.confining_pressure, unload=not args.no_unload,
                   time=args.time, overrides=overrides or None)
    except CardError as exc:
        _print(f"nipstack: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except PorosityLimit as exc:
        _print(f"nipstack: point stopped: {exc}\n  the path up to the last admissible step in "
               f"{incomplete_csv(out)}; {out} not written (lower --max-strain)",
               file=sys.stderr)
        return EXIT_INCOMPLETE
    _print(f"wrote {out}")
    return 0


def _pictures(args) -> int:
    """`nipstack pictures FOLDER`: the run's PNG pictures, rendered again from its fields."""
    from .pictures import render_in_child

    folder = Path(args.folder)
    if not (folder / "fields" / "fields.pvd").is_file():
        _print(f"nipstack: error: '{folder}' has no fields/fields.pvd (a results folder of a "
               f"run with output.fields = true)", file=sys.stderr)
        return EXIT_BAD_INPUT
    pictures, why = render_in_child(folder)
    if not pictures:
        _print(f"nipstack: error: no pictures rendered in '{folder}': {why}", file=sys.stderr)
        return EXIT_ERROR
    for name in pictures:
        _print(f"wrote {folder / name}")
    return 0


def _export(args) -> int:
    """`nipstack export FOLDER --to FILE`: one step of the fields in another mesh format."""
    from .export import ExportError, export

    if Path(args.to).exists():
        _print(f"nipstack: error: --to '{args.to}' exists; give a new name", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        target, time, step = export(args.folder, args.to, args.step, args.dataset, args.format)
    except ExportError as exc:
        _print(f"nipstack: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    _print(f"wrote {target} (step {step}, t = {time:.6g} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
