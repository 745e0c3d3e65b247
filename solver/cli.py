"""The `nipstack` command.

    nipstack run CASE [--out DIR] [--set key=value ...]    run a case, write a results folder
    nipstack check CASE [--set key=value ...] [--schema]   validate a case file (no solve)
    nipstack point CARD --path hydrostatic|uniaxial-strain|triaxial [...]   one material point
    nipstack sweep CASE --param KEY=V1,V2,... [--set ...] [--out DIR] [--ranks-per-run N]
                   [--fit X_KEY,Y_KEY] [--threshold Y_KEY=LEVEL[@X_KEY] ...]
                                           run a case per value, tabulate, fit compaction,
                                           find where a result crosses a level

Exit codes: 0 done; 2 bad input (case file, card, option) - one message, no traceback, no
results folder; 3 the run stopped early (cut-backs exhausted) - results folder marked INCOMPLETE;
1 an unexpected error. Under MPI every rank runs the same command; only rank 0 prints, and an
unexpected error on one rank aborts all of them instead of leaving the others waiting.
"""
from __future__ import annotations

import argparse
import sys
import traceback
from pathlib import Path

EXIT_BAD_INPUT, EXIT_INCOMPLETE, EXIT_ERROR = 2, 3, 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nipstack", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a case file")
    run.add_argument("case", help="case file (TOML)")
    run.add_argument("--out", help="results folder (default: output.directory or results/<name>)")
    run.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                     help="override a case field, e.g. --set loading.target=0.06 "
                          "--set layers.1.thickness=0.09 (repeatable)")

    check = sub.add_parser("check", help="validate a case file without running it")
    check.add_argument("case", nargs="?", help="case file (TOML)")
    check.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    check.add_argument("--schema", action="store_true",
                       help="print every case field with its unit and default")

    point = sub.add_parser("point", help="run one material point along a strain/stress path")
    point.add_argument("card", help="material card name (materials/library) or .toml path")
    point.add_argument("--path", required=True,
                       choices=["hydrostatic", "uniaxial-strain", "triaxial"])
    point.add_argument("--max-strain", type=float, default=0.3,
                       help="largest compressive log strain along the path (-)")
    point.add_argument("--steps", type=int, default=60, help="load steps")
    point.add_argument("--confining-pressure", type=float, default=1.0,
                       help="lateral pressure of the triaxial path, MPa")
    point.add_argument("--no-unload", action="store_true", help="do not unload at the end")
    point.add_argument("--time", type=float, default=1.0,
                       help="duration of the loading, s (rate-dependent laws)")
    point.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="override a card parameter, e.g. --set initial_porosity=0.4")
    point.add_argument("--out", default=None, help="CSV file (default: point_<card>_<path>.csv)")

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
    sweep.add_argument("--ranks-per-run", type=int, default=None, metavar="N",
                       help="MPI ranks per point (default: all ranks on each point in turn); "
                            "size/N groups run different points at the same time")
    sweep.add_argument("--fit", metavar="X_KEY,Y_KEY",
                       help="what the compaction fit uses: x a summary entry or the parameter "
                            "(default: the parameter), y a porosity entry (default: "
                            "exit_porosity, else final_porosity)")
    sweep.add_argument("--threshold", action="append", default=[],
                       metavar="Y_KEY=LEVEL[@X_KEY]",
                       help="report the value of X_KEY (a summary entry; default: the swept "
                            "parameter) at which the summary entry Y_KEY first reaches LEVEL "
                            "(linear interpolation between the bracketing points; in "
                            "sweep.json), e.g. interface_copper_lithium_contact_fraction_"
                            "reached_in_nip=0.99@line_load_N_per_mm (repeatable)")
    return parser


def _say(comm, message: str, stream=None):
    if comm.rank == 0:
        print(message, file=stream or sys.stdout, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "point":
        return _point(args)
    import dolfinx_solver  # noqa: F401  (MPI before dolfinx/petsc4py)
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    try:
        if args.command == "sweep":
            return _sweep(args, comm)
        return _run(args, comm) if args.command == "run" else _check(args, comm)
    except SystemExit:
        raise
    except Exception:  # noqa: BLE001 - last resort: never hang the other ranks
        print(f"nipstack: unexpected error on rank {comm.rank}:\n{traceback.format_exc()}",
              file=sys.stderr, flush=True)
        if comm.size > 1:
            comm.Abort(EXIT_ERROR)
        return EXIT_ERROR


def _check(args, comm) -> int:
    from .case import CaseError, load_case, schema_markdown

    if args.schema:
        _say(comm, schema_markdown())
        return 0
    if not args.case:
        _say(comm, "nipstack check: give a case file (or --schema)", sys.stderr)
        return EXIT_BAD_INPUT
    try:
        case = load_case(args.case, args.set)
    except CaseError as exc:
        _say(comm, f"nipstack: error: {exc}", sys.stderr)
        return EXIT_BAD_INPUT
    if case.case.kind == "delamination":
        spec = case.delamination
        _say(comm, f"{args.case}: OK - delamination, {spec.test.upper()}, arms "
                   f"{spec.arm_thickness} mm, pre-crack {spec.precrack} mm")
        return 0
    layers = ", ".join(f"{l.name} ({l.material}, {l.thickness * 1e3:g} um)" for l in case.layers)
    _say(comm, f"{args.case}: OK - {case.case.kind}, {case.geometry.dimension}D, layers: {layers}")
    return 0


def _run(args, comm) -> int:
    from .case import CaseError, load_case
    from .run import run_case

    try:
        case = load_case(args.case, args.set)
    except CaseError as exc:
        _say(comm, f"nipstack: error: {exc}", sys.stderr)
        return EXIT_BAD_INPUT
    out = Path(args.out or case.output.directory or f"results/{case.case.name}")
    code, _ = run_case(case, comm, out, log=lambda message: _say(comm, message),
                       warn=lambda message: _say(comm, message, sys.stderr))
    return code


def _sweep(args, comm) -> int:
    from .case import CaseError
    from .output import ResultsFolder
    from .sweep import (parse_fit, parse_param, parse_threshold, run_sweep, validate_points,
                        value_text, write_results)

    ranks_per_run = args.ranks_per_run or comm.size
    try:
        key, values = parse_param(args.param)
        fit_keys = parse_fit(args.fit)
        thresholds = [parse_threshold(text) for text in args.threshold]
        if ranks_per_run < 1 or comm.size % ranks_per_run:
            raise CaseError(f"--ranks-per-run {ranks_per_run}: must divide the number of MPI "
                            f"ranks ({comm.size})")
        cases = validate_points(args.case, key, values, args.set)
    except CaseError as exc:
        _say(comm, f"nipstack: error: {exc}", sys.stderr)
        return EXIT_BAD_INPUT
    out = Path(args.out or f"results/{cases[0].case.name}_sweep_{key}")
    folder = ResultsFolder(out, comm)
    rows = run_sweep(args.case, key, values, args.set, folder.path, comm, ranks_per_run,
                     log=lambda message: _say(comm, message))
    if comm.rank == 0:
        write_results(rows, args.case, key, values, args.set, ranks_per_run, fit_keys, cases[0],
                      folder.path, log=lambda message: _say(comm, message),
                      thresholds=thresholds)
    folder.complete()
    stopped = [value_text(row[key]) for row in rows if row["status"] != "complete"]
    if stopped:
        _say(comm, f"nipstack: sweep: {len(stopped)} point(s) stopped early ({key} = "
                   f"{', '.join(stopped)}): excluded from the fit, see {out}/INCOMPLETE",
             sys.stderr)
    _say(comm, f"wrote {out}/sweep.csv, sweep.json"
               + (", compaction_fit.json/png" if (out / "compaction_fit.json").exists() else ""))
    code = EXIT_INCOMPLETE if comm.bcast(bool(stopped), root=0) else 0
    return code


def _point(args) -> int:
    from .case import _apply_override
    from .materials.cards import CardError
    from .point import point_main

    overrides: dict = {}
    for assignment in args.set:
        try:
            _apply_override(overrides, assignment)
        except Exception:  # noqa: BLE001
            print(f"nipstack: error: --set '{assignment}': expected key=value", file=sys.stderr)
            return EXIT_BAD_INPUT
    out = args.out or f"point_{Path(args.card).stem}_{args.path}.csv"
    try:
        point_main(args.card, args.path, out, max_strain=args.max_strain, steps=args.steps,
                   confining_pressure=args.confining_pressure, unload=not args.no_unload,
                   time=args.time, overrides=overrides or None)
    except CardError as exc:
        print(f"nipstack: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
