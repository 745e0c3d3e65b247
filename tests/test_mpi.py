"""The same case on 1 and 2 MPI ranks gives the same summary numbers (to 1e-6 relative), and a
bad case under MPI exits cleanly (code 2, one message, no hang)."""
from __future__ import annotations

import json

import pytest

from conftest import MINIMAL_CASE, ROOT, run_cli

pytestmark = [pytest.mark.mpi, pytest.mark.slow]

COMPARED = ["thickness_under_load_mm", "porosity_under_load", "peak_pressure_MPa",
            "final_thickness_mm", "final_porosity", "springback_strain"]


def test_one_and_two_ranks_agree(tmp_path):
    summaries = {}
    for ranks in (1, 2):
        out = tmp_path / f"r{ranks}"
        result = run_cli(["run", str(ROOT / "cases" / "flat_press_nmc.toml"), "--out", str(out),
                          "--set", "geometry.elements_width=4"], cwd=tmp_path, ranks=ranks)
        assert result.returncode == 0, result.stderr + result.stdout
        summaries[ranks] = json.loads((out / "summary.json").read_text())
        assert summaries[ranks]["mpi_ranks"] == ranks
        # rank 0 alone prints: one progress line per step, not two
        step_lines = [l for l in result.stdout.splitlines() if l.startswith("step")]
        assert len(step_lines) == summaries[ranks]["steps"]
    for key in COMPARED:
        assert summaries[2][key] == pytest.approx(summaries[1][key], rel=1e-6), key


def test_bad_case_under_mpi_exits_cleanly(tmp_path):
    case = tmp_path / "bad.toml"
    case.write_text(MINIMAL_CASE.replace('"nmc_cathode"', '"no_such_card"'))
    result = run_cli(["run", str(case)], cwd=tmp_path, ranks=2, timeout=120)
    assert result.returncode == 2
    assert result.stderr.count("no_such_card") == 1     # one message, from rank 0
    assert "Traceback" not in result.stderr


def test_calender_on_two_ranks_matches_serial_gold(tmp_path):
    """The roll nip on 2 ranks reproduces the serial gold summary (measured: 2.4e-13)."""
    out = tmp_path / "calender"
    result = run_cli(["run", str(ROOT / "cases" / "calender_nmc.toml"), "--out", str(out)],
                     cwd=tmp_path, ranks=2, timeout=1800)
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    gold = json.loads((ROOT / "tests" / "regression" / "calender_nmc.json").read_text())
    for key, value in gold.items():
        assert summary[key] == pytest.approx(value, rel=1e-6), key
