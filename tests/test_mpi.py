"""The same case on 1 and 2 MPI ranks gives the same summary numbers (to 1e-6 relative), and a
bad case under MPI exits cleanly (code 2, one message, no hang). The two rules that make the
step sequence and the load balance independent of the rank count are checked directly: Newton
on band interfaces fails by stagnation, not at a fixed iteration (newton.stagnated), and the
partition balances the law cost (meshes.partition.balanced_parts)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import MINIMAL_CASE, ROOT, run_cli
from nipstack.meshes.partition import balanced_parts
from nipstack.newton import EXTENSION, STAGNATION_WINDOW, stagnated


COMPARED = ["thickness_under_load_mm", "porosity_under_load", "peak_pressure_MPa",
            "final_thickness_mm", "final_porosity", "springback_strain"]


def test_newton_gives_up_on_stagnation_not_at_the_limit():
    limit = 25
    falling = list(0.9 ** np.arange(40))          # an active-set search: 10 % per iteration
    flat = [1.0, 0.5] + [3e-3, 2e-3] * 19          # cycling between two active sets
    assert not stagnated(falling[:20], 19, limit, EXTENSION)
    assert not stagnated(falling[:26], 25, limit, EXTENSION)  # still falling: goes on
    assert stagnated(flat[:26], 25, limit, EXTENSION)         # no progress in the window
    assert stagnated(falling[:26], 25, limit, 1)              # extension 1: the plain limit
    assert stagnated(falling + [0.0] * 40, EXTENSION * limit, limit, EXTENSION)
    assert STAGNATION_WINDOW < limit


def test_partition_balances_the_law_cost():
    """A foil (2 rows, cost 1) under a DPC coating (6 rows, cost 7), 30 columns: every part
    carries the same cost to one cell, the coating is shared, and the result is the same
    whatever order the cells come in."""
    x, y = np.meshgrid(np.arange(30) + 0.5, np.arange(8) + 0.5)
    centroids = np.column_stack([x.ravel(), y.ravel()])
    weights = np.where(centroids[:, 1] < 2, 1.0, 7.0)
    for parts in (2, 3, 4):
        part = balanced_parts(centroids, weights, parts)
        loads = np.bincount(part, weights=weights, minlength=parts)
        assert loads.max() - loads.min() <= weights.max(), (parts, loads)
        shuffle = np.random.default_rng(parts).permutation(len(weights))
        assert np.array_equal(balanced_parts(centroids[shuffle], weights[shuffle], parts),
                              part[shuffle])
    part = balanced_parts(centroids, weights, 2)
    coating = centroids[:, 1] > 2
    assert 0 < np.sum(part[coating] == 0) < np.sum(coating)


def test_slab_partition_keeps_element_columns_whole():
    """The 3D slab's partition (columns=True): every element column (cells of one x, z) in one
    part, parts balanced to one column's weight, strips ordered across the width."""
    x, y, z = np.meshgrid(np.arange(12) + 0.5, np.arange(6) + 0.5, np.arange(5) + 0.5,
                          indexing="ij")
    centroids = np.column_stack([x.ravel(), y.ravel(), z.ravel()])
    weights = np.where(centroids[:, 1] < 2, 1.0, 7.0) * np.where(centroids[:, 2] > 4, 0.2, 1.0)
    for parts in (2, 3, 4):
        part = balanced_parts(centroids, weights, parts, columns=True)
        key = centroids[:, 0] * 100 + centroids[:, 2]
        for column in np.unique(key):
            assert len(np.unique(part[key == column])) == 1
        loads = np.bincount(part, weights=weights, minlength=parts)
        heaviest_column = 2 * 1.0 + 4 * 7.0
        assert loads.max() - loads.min() <= heaviest_column, (parts, loads)
        assert np.all(np.diff(part[np.lexsort([centroids[:, 1], centroids[:, 0],
                                               centroids[:, 2]])]) >= 0)


@pytest.mark.mpi
@pytest.mark.slow
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


@pytest.mark.mpi
@pytest.mark.slow
def test_bad_case_under_mpi_exits_cleanly(tmp_path):
    case = tmp_path / "bad.toml"
    case.write_text(MINIMAL_CASE.replace('"nmc_cathode"', '"no_such_card"'))
    result = run_cli(["run", str(case)], cwd=tmp_path, ranks=2, timeout=120)
    assert result.returncode == 2
    assert result.stderr.count("no_such_card") == 1     # one message, from rank 0
    assert "Traceback" not in result.stderr


@pytest.mark.mpi
@pytest.mark.slow
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
