"""Runs that never lose data, never report the impossible, and can be traced, stopped and
resumed (issue 14).

Data loss: every way a run could remove or replace something that is not a nipstack result is
refused with exit 2 before any computation, and the user's files survive byte for byte.
Provenance: the folder holds the case as given, the resolved case (which repeats the run to
1e-10), the cards, versions, commit, ranks, host and phase times, and the full log.
Admissibility: a state with negative porosity fails the step; a load that cannot be reached
without one ends INCOMPLETE (exit 3) naming the porosity limit.
Interrupts: SIGINT to mpirun (2 ranks) and SIGTERM (1 rank) stop every process within 15 s and
leave an INTERRUPTED folder with its history, summary and log; a compilation killed half-way
does not break later runs.
Restart: a flat press and a stack hold, interrupted mid-run, resumed on 1 and on 2 ranks, end
with the summary of the uninterrupted run (1e-8 on the same rank count, 1e-6 across).
"""
from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import MINIMAL_CASE, MPIRUN, NIPSTACK, ROOT, run_cli
from nipstack.cli import main

LONG_PRESS = {"loading.load_steps": "40"}     # ~2 s of solve: time to interrupt it


def _tree(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` with its bytes (what must survive)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def _case(tmp_path: Path, text: str = MINIMAL_CASE, name: str = "case.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _numbers(summary: dict, prefix: str = ""):
    """The numeric entries of a summary, flattened (wall times and rank counts left out)."""
    for key, value in summary.items():
        if key in ("wall_time_s", "mpi_ranks"):
            continue
        if isinstance(value, dict):
            yield from _numbers(value, f"{prefix}{key}.")
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            yield f"{prefix}{key}", float(value)


def assert_same_summary(reference: dict, other: dict, rtol: float, atol: float = 1e-13):
    """Every number to rtol (relative); atol for those that are round-off (a mass-balance
    error of 3e-16)."""
    expected, got = dict(_numbers(reference)), dict(_numbers(other))
    assert expected.keys() == got.keys()
    for key, value in expected.items():
        assert abs(got[key] - value) <= rtol * abs(value) + atol, (key, value, got[key])


# --- data loss ---------------------------------------------------------------------------------

def test_out_dot_refused_and_working_directory_untouched(tmp_path, monkeypatch, capsys):
    case = _case(tmp_path)
    (tmp_path / "notes.txt").write_text("my notes\n")
    before = _tree(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["run", "case.toml", "--out", "."]) == 2
    assert "results folder" in capsys.readouterr().err
    assert _tree(tmp_path) == before
    assert case.exists()


@pytest.mark.parametrize("what", ["file", "folder", "symlink"])
def test_existing_user_path_refused_byte_for_byte(what, tmp_path, capsys):
    case = _case(tmp_path)
    target = tmp_path / "mydata"
    if what == "file":
        target.write_bytes(b"\x00\x01 measured data\n")
    elif what == "folder":
        target.mkdir()
        (target / "a.csv").write_text("1,2\n")
        (target / "summary.json").write_text("{}\n")
    else:
        (tmp_path / "elsewhere").mkdir()
        target.symlink_to(tmp_path / "elsewhere")
    before = _tree(tmp_path)
    started = time.perf_counter()
    assert main(["run", str(case), "--out", str(target), "--overwrite"]) == 2
    assert time.perf_counter() - started < 5.0           # refused before any computation
    err = capsys.readouterr().err
    assert "mydata" in err and "Traceback" not in err
    assert _tree(tmp_path) == before
    assert not (tmp_path / "mydata.partial").exists()


@pytest.mark.parametrize("name", ['""', '"../../escape"', '"a/b"', '".hidden"', '".."'])
def test_case_names_that_are_not_folder_names_are_refused(name, tmp_path, monkeypatch, capsys):
    case = _case(tmp_path)
    monkeypatch.chdir(tmp_path)
    before = _tree(tmp_path)
    assert main(["run", str(case), "--set", f"case.name={name}"]) == 2
    assert "case.name" in capsys.readouterr().err
    assert _tree(tmp_path) == before
    assert not (tmp_path / "results").exists()
    assert not (tmp_path.parent / "escape").exists()


def test_rerun_needs_overwrite_and_a_failed_rerun_keeps_the_complete_result(tmp_path, capsys):
    case = _case(tmp_path)
    out = tmp_path / "results"
    assert main(["run", str(case), "--out", str(out)]) == 0
    complete = _tree(out)
    assert main(["run", str(case), "--out", str(out)]) == 2          # no --overwrite
    assert "--overwrite" in capsys.readouterr().err
    assert _tree(out) == complete
    code = main(["run", str(case), "--out", str(out), "--overwrite",
                 "--set", "solver.max_iterations=1", "--set", "solver.max_cutbacks=0"])
    assert code == 3
    assert _tree(out) == complete                                      # byte for byte
    failed = tmp_path / "results.incomplete"
    assert (failed / "INCOMPLETE").is_file()
    assert json.loads((failed / "summary.json").read_text())["status"] == "incomplete"
    # a complete rerun with --overwrite replaces the result (the only thing it may replace)
    assert main(["run", str(case), "--out", str(out), "--overwrite",
                 "--set", "loading.load_steps=6"]) == 0
    assert json.loads((out / "summary.json").read_text())["steps"] == 6 + 4
    assert not (tmp_path / "results.partial").exists()


# --- provenance ------------------------------------------------------------------------------

def test_provenance_and_resolved_case_reproduce_the_run(tmp_path):
    case = _case(tmp_path)
    out = tmp_path / "first"
    assert main(["run", str(case), "--out", str(out), "--set", "loading.target=0.065"]) == 0
    assert (out / "case.toml").read_bytes() == case.read_bytes()
    resolved = (out / "case.resolved.toml").read_text()
    assert "target = 0.065" in resolved and "newton_rtol" in resolved   # --set and defaults
    assert {p.name for p in (out / "materials").iterdir()} == {"aluminium_foil.toml",
                                                              "nmc_cathode.toml"}
    provenance = json.loads((out / "provenance.json").read_text())
    for key in ("command", "mpi_ranks", "hosts", "started", "ended", "wall_time_s",
                "wall_time_per_phase_s", "versions", "git"):
        assert key in provenance, key
    assert set(provenance["versions"]) >= {"nipstack", "dolfinx", "petsc", "python"}
    assert set(provenance["wall_time_per_phase_s"]) == {"setup", "solve", "outputs"}
    assert provenance["git"] is None or len(provenance["git"]["commit"]) == 40
    log = (out / "run.log").read_text()
    assert "step   1 load" in log and "done in" in log
    again = tmp_path / "again"
    assert main(["run", str(out / "case.resolved.toml"), "--out", str(again)]) == 0
    assert_same_summary(json.loads((out / "summary.json").read_text()),
                        json.loads((again / "summary.json").read_text()), rtol=1e-10)


# --- admissibility --------------------------------------------------------------------------

def test_pressure_beyond_full_density_ends_incomplete_at_the_porosity_limit(tmp_path):
    """The NMC flat press driven to 1500 MPa: main accepted porosity -0.068 as converged."""
    out = tmp_path / "p1500"
    result = run_cli(["run", str(ROOT / "cases" / "flat_press_nmc.toml"), "--out", str(out),
                      "--set", 'loading.control="pressure"', "--set", "loading.target=1500",
                      "--set", "output.plots=false"], cwd=tmp_path)
    assert result.returncode == 3, result.stderr
    assert "porosity limit" in result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "incomplete" and "porosity limit" in summary["reason"]
    for key, value in _numbers(summary):
        if "porosity" in key:
            assert 0.0 <= value <= 1.0, (key, value)
    assert any("hardening_table" in warning for warning in summary["warnings"])
    from nipstack.checkpoint import read
    meta, _ = read(out)
    assert meta["step"] == summary["steps"]              # written at the stop
    import csv
    with open(out / "history.csv") as handle:
        assert all(0.0 <= float(row["mean_porosity"]) <= 1.0 for row in csv.DictReader(handle))


# --- interrupts -----------------------------------------------------------------------------

def _start(args, tmp_path, ranks=None, env=None):
    command = [NIPSTACK, *args]
    if ranks:
        command = [MPIRUN, "-n", str(ranks), *command]
    environment = dict(os.environ, OMP_NUM_THREADS="1", **(env or {}))
    return subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=environment)


def _wait_for_steps(staging: Path, steps: int, process, timeout=120.0):
    """Wait until the live history.csv of a running run holds `steps` steps."""
    started = time.monotonic()
    history = staging / "history.csv"
    while time.monotonic() - started < timeout:
        if history.exists() and len(history.read_text().splitlines()) > steps:
            return
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    raise AssertionError("the run did not reach the step in time")


def _nipstack_processes(tag: str) -> list[str]:
    listing = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return [line for line in listing.splitlines() if tag in line and "ps -eo" not in line]


@pytest.mark.mpi
@pytest.mark.parametrize("ranks,signum", [(2, signal.SIGINT), (1, signal.SIGTERM)],
                         ids=["sigint-mpirun-2-ranks", "sigterm-1-rank"])
def test_interrupt_stops_every_rank_and_marks_the_folder(ranks, signum, tmp_path):
    case = _case(tmp_path)
    out = tmp_path / f"stopped_{ranks}"
    args = ["run", str(case), "--out", str(out), "--set", "loading.load_steps=4000"]
    process = _start(args, tmp_path, ranks=ranks)
    _wait_for_steps(tmp_path / f"{out.name}.partial", 20, process)
    sent = time.monotonic()
    process.send_signal(signum)
    process.communicate(timeout=15)
    while _nipstack_processes(out.name) and time.monotonic() - sent < 15:
        time.sleep(0.1)
    assert not _nipstack_processes(out.name), "processes left running"
    assert time.monotonic() - sent < 15
    assert process.returncode == 130
    assert (out / "INTERRUPTED").is_file()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "interrupted" and summary["steps"] >= 20
    assert len((out / "history.csv").read_text().splitlines()) == summary["steps"] + 1
    assert "interrupted" in (out / "run.log").read_text()
    assert (out / "checkpoint" / "state.npz").is_file()


@pytest.mark.slow
def test_a_compilation_killed_half_way_does_not_break_later_runs(tmp_path):
    """SIGTERM while FFCx compiles (an unfinished `.c` claim in a fresh cache), then a rerun."""
    cache = tmp_path / "cache"
    case = _case(tmp_path)
    env = {"XDG_CACHE_HOME": str(cache)}
    process = _start(["run", str(case), "--out", str(tmp_path / "a")], tmp_path, env=env)
    folder = cache / "fenics"
    killed = False
    started = time.monotonic()
    while process.poll() is None and time.monotonic() - started < 120:
        claims = [c for c in folder.glob("*.c") if not c.with_suffix(".c.cached").exists()] \
            if folder.exists() else []
        if claims:
            process.send_signal(signal.SIGTERM)
            killed = True
            break
        time.sleep(0.01)
    process.communicate(timeout=60)
    assert killed, "no compilation was caught running"
    assert process.returncode == 130
    assert (tmp_path / "a" / "INTERRUPTED").is_file() or \
        (tmp_path / "a.partial" / "INTERRUPTED").is_file()
    environment = dict(os.environ, OMP_NUM_THREADS="1", **env)
    result = subprocess.run([NIPSTACK, "run", str(case), "--out", str(tmp_path / "b")],
                            cwd=tmp_path, capture_output=True, text=True, timeout=600,
                            env=environment)
    assert result.returncode == 0, result.stderr
    assert "unfinished form compilation" in result.stdout


def test_stale_claims_are_kept_while_another_run_may_compile(tmp_path, monkeypatch):
    from nipstack import jit_cache

    monkeypatch.setattr(jit_cache, "cache_folder", lambda: tmp_path)
    claim = tmp_path / "libffcx_forms_x.c"
    claim.write_text("")
    (tmp_path / "nipstack-active").mkdir()
    other = tmp_path / "nipstack-active" / "other.lock"
    holder = subprocess.Popen(
        ["python3", "-c", "import fcntl, sys, time; h = open(sys.argv[1], 'a'); "
                          "fcntl.flock(h, fcntl.LOCK_EX); print('locked', flush=True); "
                          "time.sleep(60)", str(other)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert jit_cache.prepare() == []                 # a live run might be compiling it
        assert claim.exists()
        old = time.time() - 2 * jit_cache.STALE_AFTER_S
        os.utime(claim, (old, old))
        assert jit_cache.prepare() == [claim]            # too old to be in progress
    finally:
        holder.kill()
        holder.wait()
    claim.write_text("")
    assert jit_cache.prepare() == [claim]                # nobody else runs: stale
    assert not other.exists()


def test_a_kernel_cache_index_this_version_cannot_read_is_removed(tmp_path):
    """numba unpickles a kernel's cache index before it checks the source stamp; an index an
    older version left, naming a class that has moved, would fail the kernel's first call with
    AttributeError. `jit_cache` removes such an index (numba then compiles anew) and leaves a
    readable one, whatever its age, to numba."""
    import pickle
    from collections import namedtuple

    from nipstack import jit_cache
    cache = tmp_path / "__pycache__"
    cache.mkdir()
    readable, unreadable = cache / "mod.kernel-10.py312.nbi", cache / "mod.kernel-12.py312.nbi"
    with open(readable, "wb") as stream:
        pickle.dump("0.61.0", stream)
        stream.write(pickle.dumps(((1.0, 10), {"signature": (1.5, "float64")})))
    gone = namedtuple("Gone", "a")
    gone.__module__ = "nipstack.threads"       # a class this version does not have there
    with open(unreadable, "wb") as stream:
        pickle.dump("0.61.0", stream)
        import nipstack.threads
        nipstack.threads.Gone = gone                # (present while it is pickled)
        try:
            stream.write(pickle.dumps(((1.0, 10), {"signature": gone(1)})))
        finally:
            del nipstack.threads.Gone
    assert jit_cache.drop_unreadable_kernel_indexes(tmp_path) == [unreadable]
    assert readable.exists() and not unreadable.exists()


# --- restart --------------------------------------------------------------------------------

def _interrupted_run(args, tmp_path, out: Path, steps: int) -> dict:
    process = _start([*args, "--out", str(out)], tmp_path)
    _wait_for_steps(tmp_path / f"{out.name}.partial", steps, process)
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=60)
    assert process.returncode == 130
    assert (out / "INTERRUPTED").is_file()
    return json.loads((out / "summary.json").read_text())


RESUMED_CASES = {
    # (enough steps after the stop that the signal reaches the run while it still solves:
    # with 40, a loaded CI machine once finished all steps first, and the stop then came
    # while the outputs were written)
    "flat_press": (["--set", "loading.load_steps=300", "--set", "output.plots=false"], 17),
    "stack_hold": (["--set", "output.plots=false"], 25),
}


@pytest.mark.mpi
@pytest.mark.parametrize("kind", list(RESUMED_CASES))
def test_resumed_run_ends_with_the_uninterrupted_summary(kind, tmp_path):
    extra, stop_after = RESUMED_CASES[kind]
    case = _case(tmp_path) if kind == "flat_press" else \
        ROOT / "cases" / "stack_ssb_pad_relaxation.toml"
    args = ["run", str(case), *extra]
    full = tmp_path / "full"
    result = run_cli([*args, "--out", str(full)], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    reference = json.loads((full / "summary.json").read_text())
    for ranks, rtol in ((1, 1e-8), (2, 1e-6)):
        out = tmp_path / f"resumed_on_{ranks}"
        stopped = _interrupted_run(args, tmp_path, out, stop_after)
        assert stopped["steps"] < reference["steps"]
        result = run_cli(["run", "--resume", str(out)], cwd=tmp_path, ranks=ranks)
        assert result.returncode == 0, result.stderr
        assert "resuming from the checkpoint of step" in result.stdout
        summary = json.loads((out / "summary.json").read_text())
        assert summary["status"] == "complete" and summary["mpi_ranks"] == ranks
        assert_same_summary(reference, summary, rtol)
        history = (out / "history.csv").read_text().splitlines()
        assert len(history) == reference["steps"] + 1
        assert not (out / "INTERRUPTED").exists() and not (out / "checkpoint").exists()
        provenance = json.loads((out / "provenance.json").read_text())
        assert provenance["resumed_from_step"] == stopped["steps"]


def test_checkpoint_without_warm_starts_restores_the_state():
    """A checkpoint written before the DPC carried its local solution between Newton
    iterates (`return_start`) restores every state entry and starts that hint cold; a
    missing state entry is still an error."""
    from types import SimpleNamespace

    import numpy as np

    from nipstack.checkpoint import restored_history
    from nipstack.materials.cards import load_card
    law = load_card("nmc_cathode")
    region = SimpleNamespace(law=law, history=law.initial_state(3))
    stored = {key: np.arange(3.0 * value.size / 3).reshape(value.shape) + 1.0
              for key, value in law.initial_state(3).items()}
    rows = np.array([2, 0, 1])
    old = {f"region/c/history/{key}": value for key, value in stored.items()
           if key != "return_start"}
    history = restored_history(region, old, "region/c/", rows)
    assert set(history) == set(stored)
    assert np.array_equal(history["return_start"], region.history["return_start"])
    assert np.array_equal(history["plastic_strain"], stored["plastic_strain"][rows])
    current = {**old, "region/c/history/return_start": stored["return_start"]}
    assert np.array_equal(restored_history(region, current, "region/c/", rows)["return_start"],
                          stored["return_start"][rows])
    del old["region/c/history/cap_pressure"]
    with pytest.raises(KeyError):
        restored_history(region, old, "region/c/", rows)


def test_resume_refuses_what_it_cannot_continue(tmp_path, capsys):
    case = _case(tmp_path)
    out = tmp_path / "done"
    assert main(["run", str(case), "--out", str(out)]) == 0
    assert main(["run", "--resume", str(out)]) == 2
    assert "complete" in capsys.readouterr().err
    (tmp_path / "plain").mkdir()
    assert main(["run", "--resume", str(tmp_path / "plain")]) == 2
    assert "not a nipstack results folder" in capsys.readouterr().err
    assert main(["run", str(case), "--resume", str(out)]) == 2
    assert "--resume takes no a case file" in capsys.readouterr().err
    # a run that stopped before its first step has no checkpoint
    broken = tmp_path / "early"
    assert main(["run", str(case), "--out", str(broken), "--set", "solver.max_iterations=1",
                 "--set", "solver.max_cutbacks=0"]) == 3
    capsys.readouterr()
    assert main(["run", "--resume", str(broken)]) == 2
    assert "no checkpoint" in capsys.readouterr().err


@pytest.mark.slow
def test_killed_run_resumes_from_its_scheduled_checkpoint(tmp_path):
    """SIGKILL leaves the staging folder (marker 'running', live history, the checkpoint of
    every 5th step); `--resume` of it completes the run with the uninterrupted summary."""
    case = _case(tmp_path)
    args = ["run", str(case), "--set", "loading.load_steps=40", "--set",
            "output.checkpoint_every_steps=5", "--set", "output.plots=false"]
    assert run_cli([*args, "--out", str(tmp_path / "full")], cwd=tmp_path).returncode == 0
    reference = json.loads((tmp_path / "full" / "summary.json").read_text())
    out = tmp_path / "killed"
    process = _start([*args, "--out", str(out)], tmp_path)
    staging = tmp_path / "killed.partial"
    _wait_for_steps(staging, 17, process)
    process.kill()
    process.communicate(timeout=30)
    marker = json.loads((staging / ".nipstack").read_text())
    assert marker["status"] == "running"
    from nipstack.checkpoint import read
    meta, _ = read(staging)
    assert meta["step"] % 5 == 0 and meta["step"] >= 15
    result = run_cli(["run", "--resume", str(staging)], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert not staging.exists()
    assert_same_summary(reference, json.loads((out / "summary.json").read_text()), 1e-8)


def _pvd_entries(pvd: Path) -> list[tuple[float, str]]:
    import xml.etree.ElementTree as ElementTree
    return [(float(item.get("timestep")), item.get("file"))
            for item in ElementTree.parse(pvd).getroot().iter("DataSet")]


def test_resumed_run_fields_span_the_whole_run(tmp_path):
    """Killed after a checkpoint (every 5th step; it had written fields past it), resumed and
    stopped again, resumed to the end: fields/fields.pvd lists every step of the run once, in
    order, at the history's times (before: only the steps after the last resume, the others
    in an unlisted fields_before_resume/). The earlier files stay in before_resume_1/ and
    before_resume_2/; pyvista reads the first step."""
    import numpy as np
    import pyvista as pv

    case = _case(tmp_path)
    args = ["run", str(case), "--set", "loading.load_steps=300", "--set",
            "output.checkpoint_every_steps=5", "--set", "output.plots=false"]
    out, staging = tmp_path / "whole", tmp_path / "whole.partial"
    process = _start([*args, "--out", str(out)], tmp_path)
    _wait_for_steps(staging, 17, process)
    process.kill()
    process.communicate(timeout=30)
    killed_at = len((staging / "history.csv").read_text().splitlines()) - 1
    process = _start(["run", "--resume", str(staging)], tmp_path)
    _wait_for_steps(staging, killed_at + 30, process)
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=60)
    assert process.returncode == 130 and (out / "INTERRUPTED").is_file()
    assert main(["run", "--resume", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    history = [line.split(",") for line in (out / "history.csv").read_text().splitlines()]
    times = np.array([float(row[history[0].index("time_s")]) for row in history[1:]])
    entries = _pvd_entries(out / "fields" / "fields.pvd")
    assert len(entries) == summary["steps"] == len(times) == 304
    written = np.array([t for t, _ in entries])
    assert np.all(np.diff(written) > 0)
    np.testing.assert_allclose(written, times, rtol=1e-9, atol=2e-6)   # (ties: 1 us later)
    files = [name for _, name in entries]
    assert len(set(files)) == len(files)
    assert all((out / "fields" / name).is_file() for name in files)
    assert files[0].startswith("before_resume_1/") and "/" not in files[-1]
    assert any(name.startswith("before_resume_2/") for name in files)
    assert not (out / "fields_before_resume").exists()
    reader = pv.get_reader(str(out / "fields" / "fields.pvd"))
    assert len(reader.time_values) == 304
    reader.set_active_time_point(0)
    assert reader.read().combine().n_cells == 5


def test_resuming_a_stopped_rerun_replaces_the_result_it_was_meant_for(tmp_path, capsys):
    """`run --out t1 --overwrite` stopped beside a complete t1 is published as t1.incomplete;
    resuming that completes into t1 (as --overwrite asked) and removes t1.incomplete (before:
    the complete result stayed in t1.incomplete and t1 kept the old run)."""
    case = _case(tmp_path)
    t1, stopped = tmp_path / "t1", tmp_path / "t1.incomplete"
    assert main(["run", str(case), "--out", str(t1), "--set", "output.plots=false"]) == 0
    old = json.loads((t1 / "summary.json").read_text())
    args = ["run", str(case), "--set", "loading.load_steps=300", "--set", "output.plots=false",
            "--overwrite"]
    process = _start([*args, "--out", str(t1)], tmp_path)
    _wait_for_steps(tmp_path / "t1.partial", 17, process)
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=60)
    assert process.returncode == 130
    assert (stopped / "INTERRUPTED").is_file()
    assert json.loads((t1 / "summary.json").read_text()) == old          # untouched
    capsys.readouterr()
    assert main(["run", "--resume", str(stopped)]) == 0
    said = capsys.readouterr().out
    assert f"complete result in {t1}" in said and f"{stopped} removed" in said
    summary = json.loads((t1 / "summary.json").read_text())
    assert summary["status"] == "complete" and summary["steps"] == 304 != old["steps"]
    assert not stopped.exists() and not (tmp_path / "t1.partial").exists()


def test_check_notes_an_earlier_result_and_exits_0(tmp_path, capsys):
    """`nipstack check` of a valid case whose default folder holds a nipstack result (after
    `make run`) is OK (exit 0) with a note that run needs --overwrite (before: exit 2). A
    folder that is not nipstack's is still an error."""
    case = _case(tmp_path)
    out = tmp_path / "done"
    assert main(["run", str(case), "--out", str(out), "--set", "output.plots=false"]) == 0
    capsys.readouterr()
    assert main(["check", str(case), "--out", str(out)]) == 0
    said = capsys.readouterr()
    assert "OK" in said.out and "note for `nipstack run`" in said.out and said.err == ""
    assert "--overwrite" in said.out
    assert main(["check", str(case), "--out", str(out), "--overwrite"]) == 0
    assert "note for" not in capsys.readouterr().out
    (tmp_path / "mine").mkdir()
    assert main(["check", str(case), "--out", str(tmp_path / "mine")]) == 2
    assert "not a nipstack results folder" in capsys.readouterr().err
