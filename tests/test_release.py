"""Release checks, run by `make test-all` (pytest --release) before a release, not by `make test`:

* the cases whose everyday gold run is a coarse copy (update_gold.GOLD_OVERRIDES; the width
  model) at full resolution, against tests/regression/full/<case>.json;
* every shipped case on two MPI ranks against its gold summary (the same tolerance as the
  one-rank gold runs: 1e-6 of each quantity's scale, integers such as step counts exactly), so a
  result or a step sequence that depends on the rank count shows here.
"""
from __future__ import annotations

import importlib.util
import json

import pytest

from conftest import ROOT, run_cli

pytestmark = [pytest.mark.release, pytest.mark.slow]

_spec = importlib.util.spec_from_file_location(
    "update_gold", ROOT / "tests" / "regression" / "update_gold.py")
update_gold = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(update_gold)

SHIPPED = sorted((ROOT / "cases").glob("*.toml"))
COARSENED = [p for p in SHIPPED if p.stem in update_gold.GOLD_OVERRIDES]


def _check(path, tmp_path, full=False, ranks=None):
    out = tmp_path / "run"
    result = run_cli(update_gold.gold_command(path, out, full), cwd=tmp_path, ranks=ranks,
                     timeout=3600, env={"NIPSTACK_CACHE_DIR": str(tmp_path / "cache")})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    gold_case = update_gold.load_case(path)
    values = update_gold.gold_values(gold_case, summary)
    gold = json.loads(update_gold.gold_file(path, full).read_text())
    off = update_gold.differences(gold, values)
    assert not off, "\n".join(off)


@pytest.mark.parametrize("path", COARSENED, ids=[p.stem for p in COARSENED])
def test_full_resolution_case_reproduces_its_gold(path, tmp_path):
    _check(path, tmp_path, full=True)


@pytest.mark.mpi
@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_two_ranks_reproduce_the_gold(path, tmp_path):
    _check(path, tmp_path, ranks=2)
