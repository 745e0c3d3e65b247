"""`nipstack sweep`: the compaction-resistance fit (Meyer et al. 2017) on synthetic data, a
6-point pressure sweep of the flat press (table, fit, monotone porosity), bad --param rejected
before anything runs, a point that stops early, and the same table from 2 MPI ranks running
different points (--ranks-per-run 1).

The sweep points are the shipped flat press under pressure control with fields and plots off:
about 1 s per point.
"""
from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import time

import numpy as np
import pytest

from conftest import NIPSTACK, ROOT, run_cli
from nipstack.cli import main
from nipstack.case import load_case
from nipstack.sweep import fit_compaction_resistance, parse_param, write_results

CASE = str(ROOT / "cases" / "flat_press_nmc.toml")
PRESSURES = "loading.target=20,40,60,90,130,180"   # MPa
FAST = ["--set", 'loading.control="pressure"', "--set", "output.fields=false",
        "--set", "output.plots=false"]


def _model(q, porosity_0, porosity_min, gamma_c):
    return porosity_min + (porosity_0 - porosity_min) * np.exp(-np.asarray(q) / gamma_c)


def _table(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("truth, q", [
    ((0.45, 0.22, 85.0), [20, 40, 60, 90, 130, 180]),             # flat press, MPa
    ((0.50, 0.15, 300.0), [50, 150, 300, 600, 1000, 1500, 2500]),  # calendering, N/mm
    ((0.40, 0.0, 10.0), [0, 5, 10, 20, 40]),                       # porosity_min on its bound
])
def test_fit_recovers_known_parameters(truth, q):
    fit = fit_compaction_resistance(q, _model(q, *truth))
    for name, expected in zip(("porosity_0", "porosity_min", "gamma_c"), truth):
        assert fit[name] == pytest.approx(expected, rel=1e-6, abs=1e-6), name
    assert fit["r_squared"] == pytest.approx(1.0, abs=1e-12)


def test_fit_needs_three_points():
    with pytest.raises(ValueError, match="at least 3"):
        fit_compaction_resistance([10, 20], [0.4, 0.3])


def test_three_points_are_an_exact_interpolation_not_a_fit():
    """3 points for 3 parameters: the curve passes through them (parameters recovered to
    1e-6), but that says nothing about the model: kind 'interpolation', no R^2."""
    q = [20.0, 60.0, 120.0]
    fit = fit_compaction_resistance(q, _model(q, 0.45, 0.22, 85.0))
    assert fit["kind"] == "interpolation" and fit["r_squared"] is None
    for name, expected in zip(("porosity_0", "porosity_min", "gamma_c"), (0.45, 0.22, 85.0)):
        assert fit[name] == pytest.approx(expected, rel=1e-6), name
    assert fit_compaction_resistance(q + [180.0], _model(q + [180.0], 0.45, 0.22, 85.0))[
        "kind"] == "fit"


def _rows(values, porosity, key="loading.target"):
    return [{"index": k, key: v, "status": "complete", "exit_code": 0,
             "folder": f"{key}={v}", "final_porosity": y}
            for k, (v, y) in enumerate(zip(values, porosity))]


# final porosity of the shipped flat press pressed to these coating thicknesses (mm): the
# porosity rises with the target thickness, which Meyer's model (falling with q) cannot follow
THICKNESS = [0.07, 0.065, 0.06, 0.055]
THICKNESS_POROSITY = [0.4135660621555306, 0.37276035927285545, 0.32598832859191773,
                      0.2730141322027453]


@pytest.mark.parametrize("values, porosity, kind, fitted, written, words", [
    ([20, 40, 60, 90, 130, 180], _model([20, 40, 60, 90, 130, 180], 0.48, 0.19, 122.0),
     "fit", True, True, ["compaction fit", "6 points", "R^2 = 1.00000"]),
    ([20, 60, 120], _model([20, 60, 120], 0.48, 0.19, 122.0), "interpolation", False, True,
     ["exact interpolation, not a fit", "no R^2"]),
    (THICKNESS, THICKNESS_POROSITY, None, False, False,
     ["no compaction fit", "flat", "rises with loading.target"]),
    ([20, 40, 60, 90], 0.326 + np.array([0.0, 2e-16, -1e-16, 1e-16]), None, False, False,
     ["no compaction fit", "the porosity is the same at every point"]),
])
def test_fit_caveats_in_the_sweep_record(tmp_path, values, porosity, kind, fitted, written,
                                         words):
    """The sweep never claims more than its points allow: a fit (> 3 points) carries R^2;
    3 points are an exact interpolation ("fitted": false, "r_squared": null, said so in the
    log and the PNG legend); a flat best curve (a thickness sweep, R^2 = 0 before) or data
    that do not change (round-off) are "not fitted": no compaction_fit.json/png."""
    messages = []
    case = load_case(CASE, ['loading.control="pressure"'])
    fit = write_results(_rows(values, list(porosity)), CASE, "loading.target",
                        [float(v) for v in values], [], 1, (None, None), case, tmp_path,
                        log=messages.append)
    text = "\n".join(messages)
    assert fit["fitted"] is fitted
    assert (tmp_path / "compaction_fit.json").exists() is written
    assert (tmp_path / "compaction_fit.png").exists() is written
    assert json.loads((tmp_path / "sweep.json").read_text())["fit"]["fitted"] is fitted
    for word in words:
        assert word in text, text
    if written:
        record = json.loads((tmp_path / "compaction_fit.json").read_text())
        assert record["kind"] == kind and record["fitted"] is fitted
        assert (record["r_squared"] is None) is (kind == "interpolation")
    else:
        assert fit["reason"].startswith("not fitted") and "R^2 =" not in text


def test_parse_param():
    assert parse_param("calender.line_load = 100, 300,1e3") == (
        "calender.line_load", [100.0, 300.0, 1000.0])


@pytest.fixture(scope="module")
def pressure_sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep") / "press"
    code = main(["sweep", CASE, "--param", PRESSURES, "--out", str(out), *FAST])
    return code, out


def test_pressure_sweep_table_and_fit(pressure_sweep):
    """Final porosity falls monotonically with the peak pressure and follows Meyer's
    exponential law closely (R^2 >= 0.98; measured 0.9999998 with the NMC card)."""
    code, out = pressure_sweep
    assert code == 0
    for name in ("sweep.csv", "sweep.json", "compaction_fit.json", "compaction_fit.png"):
        assert (out / name).is_file(), name
    rows = _table(out / "sweep.csv")
    assert [float(r["loading.target"]) for r in rows] == [20, 40, 60, 90, 130, 180]
    assert all(r["status"] == "complete" for r in rows)
    for row in rows:
        assert (out / f"loading.target={row['loading.target']}" / "summary.json").is_file()
        assert float(row["peak_pressure_MPa"]) == pytest.approx(float(row["loading.target"]),
                                                               rel=1e-6)
    porosity = np.array([float(r["final_porosity"]) for r in rows])
    assert np.all(np.diff(porosity) < 0), porosity

    fit = json.loads((out / "compaction_fit.json").read_text())
    assert (fit["x"], fit["y"], fit["q_unit"]) == ("loading.target", "final_porosity", "MPa")
    assert fit["points"] == 6
    assert fit["r_squared"] >= 0.98
    assert 0 <= fit["porosity_min"] <= fit["porosity_0"] <= 1 and fit["gamma_c"] > 0
    assert fit["porosity_min"] < porosity.min() and fit["porosity_0"] > porosity.max()
    assert json.loads((out / "sweep.json").read_text())["fit"]["gamma_c"] == fit["gamma_c"]
    assert not (out / "INCOMPLETE").exists()


@pytest.mark.parametrize("param, words", [
    ("loading.targt=20,40", ["loading.targt", "not permitted"]),
    ("loading.target=20,fast", ["'fast'", "not a number"]),
    ("loading.target=20,nan", ["not finite"]),
    ("loading.target", ["expected KEY=V1,V2"]),
    ("loading.target=20,-5", ["loading.target", "greater than 0"]),   # every point validated
])
def test_bad_param_exits_2_before_running(tmp_path, capsys, param, words):
    out = tmp_path / "sw"
    code = main(["sweep", CASE, "--param", param, "--out", str(out), *FAST])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.count("error") == 1 and captured.err.count("\n") == 1, captured.err
    for word in words:
        assert word in captured.err
    assert captured.out == ""
    assert list(tmp_path.iterdir()) == []          # no sweep folder, no partial folder


@pytest.mark.parametrize("fit, words", [
    ("foo,bar", ["--fit 'foo,bar'", "'foo' is not a compaction load", "loading.target",
                 "peak_pressure_MPa"]),
    ("peak_pressure_MPa,bar", ["'bar' is not a porosity", "final_porosity",
                               "porosity_under_load"]),
    ("final_thickness_mm,final_porosity", ["'final_thickness_mm' is not a compaction load"]),
])
def test_bad_fit_names_exit_2_before_running(tmp_path, capsys, fit, words):
    """--fit names the fit cannot use are refused before any point runs (before: every point
    ran, then 'no compaction fit: no summary entry' and exit 0), naming the valid ones."""
    out = tmp_path / "sw"
    code = main(["sweep", CASE, "--param", PRESSURES, "--fit", fit, "--out", str(out), *FAST])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.count("error") == 1 and captured.err.count("\n") == 1, captured.err
    for word in words:
        assert word in captured.err, captured.err
    assert captured.out == ""
    assert list(tmp_path.iterdir()) == []          # no sweep folder, no partial folder


def test_fit_names_are_entries_of_the_summaries(pressure_sweep):
    """What --fit accepts (FIT_LOADS, FIT_POROSITIES) is in the summaries: a flat-press point
    of the sweep; for the calender and the width model the gold summaries of the shipped cases
    (2D laminating calender, 3D slab, width model; the width model's bottom_ entries are the
    top face's under that prefix, for a web coated on both faces)."""
    from nipstack.sweep.compaction import FIT_LOADS, FIT_POROSITIES, SLAB_FIT_POROSITIES

    _, out = pressure_sweep
    have = {"flat_press": set(_table(out / "sweep.csv")[0])}
    for kind, names in (("calender", ["lamination_li_on_cu", "calender_nmc_edge_3d"]),
                        ("calender_width", ["calender_width_nmc"])):
        have[kind] = set()
        for name in names:
            gold = json.loads((ROOT / "tests" / "regression" / f"{name}.json").read_text())
            have[kind] |= {key for key in gold if "." not in key}
        have[kind] |= {f"bottom_{key}" for key in have[kind]}
    for kind, keys in have.items():
        wanted = {*FIT_LOADS[kind], *FIT_POROSITIES[kind]}
        if kind == "calender":
            wanted |= set(SLAB_FIT_POROSITIES)
        assert wanted <= keys, (kind, wanted - keys)


def test_point_that_stops_early_is_recorded_and_excluded(tmp_path):
    """Two Newton iterations without cut-backs cannot converge the first step: that point is
    incomplete (exit 3 of the sweep, INCOMPLETE file naming it), the other one complete, and
    with one complete point there is no fit."""
    out = tmp_path / "sw"
    code = main(["sweep", CASE, "--param", "solver.max_iterations=2,12", "--out", str(out),
                 *FAST, "--set", "loading.target=40", "--set", "solver.max_cutbacks=0"])
    assert code == 3
    rows = _table(out / "sweep.csv")
    assert [(r["status"], r["exit_code"]) for r in rows] == [("incomplete", "3"),
                                                             ("complete", "0")]
    assert rows[0]["final_porosity"] == "" and float(rows[1]["final_porosity"]) > 0
    assert "solver.max_iterations=2" in (out / "INCOMPLETE").read_text()
    assert (out / "solver.max_iterations=2" / "INCOMPLETE").is_file()
    fit = json.loads((out / "sweep.json").read_text())["fit"]
    assert fit["fitted"] is False and "at least 3" in fit["reason"]
    assert not (out / "compaction_fit.json").exists()


@pytest.mark.mpi
def test_two_groups_of_one_rank_match_serial(pressure_sweep, tmp_path):
    """mpirun -n 2 ... --ranks-per-run 1: each rank runs every other point; world rank 0
    gathers and writes the same table as the serial sweep (1e-6 relative; round-off-level
    entries such as mass_balance_error to 1e-12 absolute)."""
    _, serial = pressure_sweep
    out = tmp_path / "mpi"
    result = run_cli(["sweep", CASE, "--param", PRESSURES, "--out", str(out), *FAST,
                      "--ranks-per-run", "1"], cwd=tmp_path, ranks=2)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "2 group(s) of 1 rank(s)" in result.stdout
    assert result.stdout.count("compaction fit") == 1               # rank 0 alone prints
    # every point announced exactly once, with its group (before: the points of group 2,
    # run by world rank 1, were never announced)
    lines = result.stdout.splitlines()
    for k, value in enumerate(PRESSURES.split("=")[1].split(","), start=1):
        group = 1 + (k - 1) % 2
        announced = [line for line in lines if line.startswith(f"sweep point {k}/6:")]
        assert announced == [f"sweep point {k}/6: loading.target = {value} (group {group}/2, "
                             f"world rank {group - 1})"], announced
    expected, got = _table(serial / "sweep.csv"), _table(out / "sweep.csv")
    assert list(got[0]) == list(expected[0])
    for row_expected, row_got in zip(expected, got, strict=True):
        for column, value in row_expected.items():
            if column == "wall_time_s":
                continue
            try:
                number = float(value)
            except ValueError:
                assert row_got[column] == value, column
                continue
            assert float(row_got[column]) == pytest.approx(number, rel=1e-6, abs=1e-12), column
    fit_serial = json.loads((serial / "compaction_fit.json").read_text())
    fit_mpi = json.loads((out / "compaction_fit.json").read_text())
    for name in ("porosity_0", "porosity_min", "gamma_c", "r_squared"):
        assert fit_mpi[name] == pytest.approx(fit_serial[name], rel=1e-6), name


# --- stopping a sweep ---------------------------------------------------------------------------

STEPS = "loading.load_steps=300,310,320"       # ~3 s a point: time to stop the first one


def _start_sweep(out, tmp_path):
    return subprocess.Popen([NIPSTACK, "sweep", CASE, "--param", STEPS, "--out", str(out), *FAST,
                             "--set", "loading.target=40"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, OMP_NUM_THREADS="1"))


def _wait_for(condition, process, timeout=120.0):
    started = time.monotonic()
    while not condition():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() - started < timeout, "the sweep did not get there in time"
        time.sleep(0.01)


def test_interrupted_sweep_is_marked_and_its_point_resumes(tmp_path, capsys):
    """SIGINT while the first point solves: that point ends INTERRUPTED, no other point
    starts, the sweep folder is published marked INTERRUPTED (before: the next points were
    started and stopped at once, and the sweep was published 'complete' with a table and
    exit 3); exit 130; the message says how to go on; the point resumes on its own, and its
    old path inside <sweep>.partial is answered with where it is now."""
    out = tmp_path / "sw"
    point = "loading.load_steps=300"
    history = tmp_path / "sw.partial" / f"{point}.partial" / "history.csv"
    process = _start_sweep(out, tmp_path)
    _wait_for(lambda: history.exists() and len(history.read_text().splitlines()) > 20, process)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert json.loads((out / ".nipstack").read_text())["status"] == "interrupted"
    listing = (out / "INTERRUPTED").read_text()
    assert f"{point}: interrupted by SIGINT" in listing
    assert "loading.load_steps=310: not run" in listing
    assert "loading.load_steps=320: not run" in listing
    assert not (out / "loading.load_steps=310").exists() and not (out / "sweep.csv").exists()
    assert not (tmp_path / "sw.partial").exists()
    assert f"in {out} (marked INTERRUPTED" in err and "again with --overwrite" in err
    assert main(["run", "--resume", str(tmp_path / "sw.partial" / point)]) == 2
    assert f"resume '{out / point}'" in capsys.readouterr().err
    assert main(["run", "--resume", str(out / point)]) == 0
    assert json.loads((out / point / "summary.json").read_text())["status"] == "complete"


def test_sweep_stopped_outside_a_solve_marks_the_sweep_folder(tmp_path):
    """SIGINT while the first point sets up (no solve to stop at an iteration: the process
    ends at once) marks the point and the sweep folder INTERRUPTED (before: the sweep's
    <name>.partial stayed marked 'running')."""
    out = tmp_path / "sw"
    staging = tmp_path / "sw.partial" / "loading.load_steps=300.partial"
    process = _start_sweep(out, tmp_path)
    _wait_for(staging.exists, process)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert not (tmp_path / "sw.partial").exists()
    assert json.loads((out / ".nipstack").read_text())["status"] == "interrupted"
    assert (out / "INTERRUPTED").is_file() and "again with --overwrite" in err
    marker = json.loads((out / "loading.load_steps=300" / ".nipstack").read_text())
    assert marker["status"] == "interrupted"
