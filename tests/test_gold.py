"""Every shipped case that the flat-press and calender tests do not already hold to gold (the
stacks, the delamination test, the laminating calender) run at full resolution by `nipstack
run` and compared with every number of its gold summary (tests/regression/<case>.json, written
by tests/regression/update_gold.py). About 65 s in all.

Tolerance (update_gold.differences): 1e-6 of the largest value of the same quantity in the
case, integers (steps, counts) exactly. The solver's own statistics (wall time, Newton counts)
are not gold. `make test-all` adds the full-resolution and two-rank runs (test_release.py).
"""
from __future__ import annotations

import importlib.util
import json

import pytest

from conftest import ROOT, run_cli
from nipstack.case import load_case

pytestmark = pytest.mark.slow     # whole-case runs: `make test`, not `make test-fast`

_spec = importlib.util.spec_from_file_location(
    "update_gold", ROOT / "tests" / "regression" / "update_gold.py")
update_gold = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(update_gold)


def _held_elsewhere(path) -> bool:
    """The flat-press and 2D calender cases are held to gold by their own tests, the 3D
    calender slab by tests/test_nip_slab.py."""
    case = load_case(path)
    return case.case.kind in ("flat_press", "calender") and \
        not getattr(case, "interfaces", None)


CASES = [p for p in sorted((ROOT / "cases").glob("*.toml")) if not _held_elsewhere(p)]


def test_every_shipped_case_has_a_gold_file():
    for path in sorted((ROOT / "cases").glob("*.toml")):
        assert (ROOT / "tests" / "regression" / f"{path.stem}.json").exists(), path.name


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_shipped_case_reproduces_its_gold_summary(path, tmp_path):
    out = tmp_path / "run"
    result = run_cli(update_gold.gold_command(path, out), cwd=tmp_path,
                     env={"NIPSTACK_CACHE_DIR": str(tmp_path / "cache")})   # cold cache
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    values = update_gold.flatten(json.loads((out / "summary.json").read_text()))
    gold = json.loads(update_gold.gold_file(path).read_text())
    off = update_gold.differences(gold, values)
    assert not off, "\n".join(off)
