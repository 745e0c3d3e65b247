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


# --- stack cases ------------------------------------------------------------------------------
STACK_CASE = """
[case]
name = "stack_minimal"
kind = "stack"

[geometry]
width = 0.02
elements_width = 4

[[layers]]
name = "lithium"
material = "lithium_metal"
thickness = 0.01
elements = 2

[[layers]]
name = "electrolyte"
material = "llzo"
thickness = 0.02
elements = 2

[[layers]]
name = "cathode"
material = "ssb_composite_cathode"
thickness = 0.03
elements = 2

[[interfaces]]
lower = "lithium"
upper = "electrolyte"
law = "contact"
parameters = {friction_coefficient = 0.1}
roughness = {kind = "sinusoid", amplitude = 0.0005, wavelength = 0.02}

[stack]
pressure = 1.0
"""

BROKEN_STACK = [
    ("interface layer unknown", lambda t: t.replace('lower = "lithium"', 'lower = "anode"'),
     ["interfaces.0.lower", "anode"]),
    ("interface layers not neighbours", lambda t: t.replace('upper = "electrolyte"',
                                                            'upper = "cathode"'),
     ["interfaces.0", "directly above"]),
    ("unknown interface law", lambda t: t.replace('law = "contact"', 'law = "glue"'),
     ["interfaces.0.law"]),
    ("unknown law parameter", lambda t: t.replace("friction_coefficient", "friction"),
     ["interfaces.0", "friction", "friction_coefficient"]),
    ("cohesive law without toughness", lambda t: t.replace(
        'law = "contact"\nparameters = {friction_coefficient = 0.1}',
        'law = "cohesive_exponential"\nparameters = {strength = 5.0}'),
     ["interfaces.0", "toughness"]),
    ("incomplete roughness", lambda t: t.replace("amplitude = 0.0005, ", ""),
     ["interfaces.0.roughness", "amplitude"]),
    ("no stack table", lambda t: t.replace("[stack]\npressure = 1.0", ""),
     ["[stack]"]),
    ("pressure control without pressure", lambda t: t.replace("pressure = 1.0",
                                                              "load_steps = 3"),
     ["stack", "stack.pressure"]),
    ("constriction into a foreign layer", lambda t: t.replace(
        "roughness =", 'constriction = {electrolyte = "cathode", conductivity = 1e-4}\n'
                       "roughness ="), ["interfaces.0", "constriction.electrolyte"]),
    ("Laplace constriction in 3D", lambda t: t.replace(
        "roughness =", 'constriction = {electrolyte = "electrolyte", conductivity = 1e-4, '
                       'laplace = true}\nroughness =').replace("width = 0.02",
                                                               "dimension = 3\nwidth = 0.02"),
     ["constriction.laplace", "3D"]),
    ("contact loss on an unknown interface", lambda t: t + '\n[contact_loss]\ninterface = '
                                                           '"li_cathode"\npressure_threshold = 1.0\n',
     ["contact_loss.interface", "li_cathode", "lithium_electrolyte"]),
    ("contact loss with two thresholds", lambda t: t + '\n[contact_loss]\npressure_threshold '
                                                      '= 1.0\nfraction_threshold = 0.5\n',
     ["contact_loss", "one of"]),
    ("adaptive hold without a first step", lambda t: t.replace(
        "pressure = 1.0", "pressure = 1.0\nhold_time = 100.0\nhold_max_change = 0.05"),
     ["stack", "hold_first_step"]),
    ("interfaces in a flat press", lambda t: MINIMAL_CASE + "\n[[interfaces]]\nlower = "
                                             '"foil"\nupper = "coating"\n',
     ["interfaces", "only applies"]),
]


@pytest.mark.parametrize("kind,breaker,words", BROKEN_STACK, ids=[b[0] for b in BROKEN_STACK])
def test_broken_stack_case_is_rejected(kind, breaker, words, tmp_path, capsys):
    test_broken_case_is_rejected(kind, lambda _: breaker(STACK_CASE), words, tmp_path, capsys)


def test_valid_stack_case_checks(tmp_path, capsys):
    path = tmp_path / "stack.toml"
    path.write_text(STACK_CASE)
    assert main(["check", str(path)]) == 0
    assert "stack, 2D" in capsys.readouterr().out
