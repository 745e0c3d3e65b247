"""Malformed case files are rejected with one message naming the field, exit code 2, no
traceback and no results folder (issue: "the fuzz set of malformed case files")."""
from __future__ import annotations

import pytest

from conftest import MINIMAL_CASE, run_cli
from nipstack.cli import main

# (what is wrong, how to break the minimal case, words the message must contain)
BROKEN = [
    ("not TOML", lambda t: t.replace('kind = "flat_press"', "kind = flat_press ="),
     ["not valid TOML"]),
    ("wrong type", lambda t: t.replace("thickness = 0.080", 'thickness = "thick"'),
     ["layers.1.thickness"]),
    ("missing field", lambda t: t.replace("target = 0.060\n", ""), ["loading.target", "required"]),
    ("negative thickness", lambda t: t.replace("thickness = 0.015", "thickness = -0.015"),
     ["layers.0.thickness", "greater than 0"]),
    ("zero elements", lambda t: t.replace("elements = 4", "elements = 0"),
     ["layers.1.elements"]),
    ("unknown material", lambda t: t.replace('"nmc_cathode"', '"unobtainium"'),
     ["layers.1.material", "unobtainium"]),
    ("NaN", lambda t: t.replace("width = 0.05", "width = nan"), ["geometry.width"]),
    ("infinity", lambda t: t.replace("target = 0.060", "target = inf"), ["loading.target"]),
    ("unknown field (typo)", lambda t: t.replace("load_steps = 8", "load_step = 8"),
     ["loading.load_step", "not permitted"]),
    ("unknown control", lambda t: t.replace('control = "thickness"', 'control = "force"'),
     ["loading.control"]),
    ("porosity out of range", lambda t: t.replace("elements = 4", "elements = 4\n"
                                                  "initial_porosity = 1.2"),
     ["layers.1.initial_porosity"]),
    ("target thicker than layer", lambda t: t.replace("target = 0.060", "target = 0.090"),
     ["loading.target", "smaller"]),
    ("bad dimension", lambda t: t.replace("dimension = 2", "dimension = 4"),
     ["geometry.dimension"]),
    ("duplicate layer names", lambda t: t.replace('name = "foil"', 'name = "coating"'),
     ["layers", "unique"]),
    ("no layers", lambda t: t.split("[[layers]]")[0] + "[loading]" + t.split("[loading]")[1],
     ["layers", "required"]),
]


@pytest.mark.parametrize("kind,breaker,words", BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_case_is_rejected(kind, breaker, words, tmp_path, capsys):
    path = tmp_path / "broken.toml"
    path.write_text(breaker(MINIMAL_CASE))
    code = main(["run", str(path), "--out", str(tmp_path / "results")])
    err = capsys.readouterr().err
    assert code == 2, err
    lines = [line for line in err.strip().splitlines() if line]
    assert len(lines) == 1, err                 # one message
    assert "Traceback" not in err
    for word in words:
        assert word in lines[0], lines[0]
    assert not (tmp_path / "results").exists()  # no results folder
    assert not any(p.name.startswith(".results") for p in tmp_path.iterdir())


def test_bad_override_is_rejected(tmp_path, capsys):
    path = tmp_path / "case.toml"
    path.write_text(MINIMAL_CASE)
    assert main(["check", str(path), "--set", "loading.target=-1"]) == 2
    assert "loading.target" in capsys.readouterr().err
    assert main(["check", str(path), "--set", "layers.7.thickness=1"]) == 2


def test_valid_case_checks(tmp_path, capsys):
    path = tmp_path / "case.toml"
    path.write_text(MINIMAL_CASE)
    assert main(["check", str(path)]) == 0
    assert "OK" in capsys.readouterr().out


def test_cli_process_exit_code(tmp_path):
    """The installed command itself exits 2 with one line on stderr (no traceback)."""
    path = tmp_path / "broken.toml"
    path.write_text(MINIMAL_CASE.replace("thickness = 0.080", "thickness = -1"))
    result = run_cli(["run", str(path)], cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "layers.1.thickness" in result.stderr
    assert not (tmp_path / "results").exists()
