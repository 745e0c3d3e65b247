"""Every shipped case that the flat-press and calender tests do not already hold to gold (the
stacks, the delamination test, the laminating calender) run at full resolution by `nipstack
run` and compared with every number of its gold summary (tests/regression/<case>.json, written
by tests/regression/update_gold.py). About 65 s in all.

Tolerance: 1e-6 of the largest value of the same quantity in the case (the same last key,
e.g. every layer's `thickness_change_final_mm`), so a round-off-sized entry (a thickness change
of 1e-17 mm) is held to the scale of its quantity, not to itself; integers (steps, counts)
exactly. The solver's own statistics (wall time, Newton counts) are not gold.
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
    case = load_case(path)
    return case.case.kind in update_gold.GOLD_KEYS and not getattr(case, "interfaces", None)


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
    gold = json.loads((ROOT / "tests" / "regression" / f"{path.stem}.json").read_text())
    scale = {}
    for key, value in gold.items():
        family = key.rsplit(".", 1)[-1]
        scale[family] = max(scale.get(family, 0.0), abs(value))
    off = []
    for key, expected in gold.items():
        assert key in values, f"{key} missing from the summary"
        got = values[key]
        if isinstance(expected, int):
            if got != expected:
                off.append(f"{key}: {got} != {expected}")
        elif abs(got - expected) > 1e-6 * scale[key.rsplit(".", 1)[-1]]:
            off.append(f"{key}: {got!r} vs gold {expected!r}")
    assert not off, "\n".join(off)
