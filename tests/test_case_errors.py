"""Malformed case files are rejected with one message naming the field, exit code 2, no
traceback and no results folder (issue: "the fuzz set of malformed case files")."""
from __future__ import annotations

import pytest

from conftest import MINIMAL_CASE, ROOT, run_cli
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
    messages = []
    for command in ("check", "run"):            # check rejects what run rejects, the same way
        code = main([command, str(path), "--out", str(tmp_path / "results")])
        err = capsys.readouterr().err
        assert code == 2, err
        lines = [line for line in err.strip().splitlines() if line]
        assert len(lines) == 1, err             # one message
        assert "Traceback" not in err
        for word in words:
            assert word in lines[0], lines[0]
        messages.append(lines[0])
    assert messages[0] == messages[1]
    assert not (tmp_path / "results").exists()  # no results folder
    assert not any(p.name.startswith("results") for p in tmp_path.iterdir())


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


# --- the fuzz set (issue 14): every malformed kind exits 2 with one line naming the field or
# option, no traceback, nothing written; `check` and `run` give the same message ------------
def _replace(old, new):
    def breaker(text):
        assert old in text, old
        return text.replace(old, new, 1)
    return breaker


# (kind, how to break the minimal case (text -> text or bytes), words of the message)
FUZZ_CASE = [
    ("binary garbage", lambda t: bytes(range(256)) * 4, ["not a text file"]),
    ("NUL byte", lambda t: t.replace("[loading]", "[loading]\x00"), ["not a text file"]),
    ("duplicate key", _replace("target = 0.060\n", "target = 0.060\ntarget = 0.050\n"),
     ["loading.target", "twice"]),
    ("duplicate table", lambda t: t + "\n[loading]\ntarget = 0.05\n", ["[loading]", "twice"]),
    ("number beyond representable", _replace("width = 0.05", "width = 1e300"),
     ["geometry.width"]),
    ("length beyond the model", _replace("thickness = 0.080", "thickness = 1e5"),
     ["layers.1.thickness"]),
    ("target beyond representable", _replace("target = 0.060", "target = 1e13"),
     ["loading.target"]),
    ("string for a bool", lambda t: t + '\n[output]\nfields = "yes"\n', ["output.fields"]),
    ("bool for an int", _replace("elements = 4", "elements = true"), ["layers.1.elements"]),
    ("bool for a float", _replace("thickness = 0.080", "thickness = true"),
     ["layers.1.thickness"]),
    ("float for an int", _replace("load_steps = 8", "load_steps = 8.5"),
     ["loading.load_steps"]),
    ("string for an int", _replace("load_steps = 8", 'load_steps = "8"'),
     ["loading.load_steps"]),
    ("string for a float", _replace("elements = 4", 'elements = 4\ninitial_porosity = "0.4"'),
     ["layers.1.initial_porosity"]),
    ("int for a string", _replace('kind = "flat_press"',
                                  'kind = "flat_press"\ndescription = 5'),
     ["case.description"]),
    ("empty name", _replace('name = "tiny_press"', 'name = ""'), ["case.name"]),
    ("name escaping results/", _replace('name = "tiny_press"', 'name = "../../escape"'),
     ["case.name"]),
    ("name with a separator", _replace('name = "tiny_press"', 'name = "a/b"'),
     ["case.name"]),
    ("hidden name", _replace('name = "tiny_press"', 'name = ".hidden"'), ["case.name"]),
    ("unknown section", lambda t: t + "\n[solverr]\nmax_cutbacks = 2\n", ["solverr"]),
    ("unknown kind", _replace('kind = "flat_press"', 'kind = "extrusion"'), ["case.kind"]),
    ("missing kind", _replace('kind = "flat_press"\n', ""), ["case.kind", "required"]),
    ("empty file", lambda t: "", ["case", "required"]),
    ("table given a number", lambda t: "contact = 5\n" + t, ["contact"]),
    ("too many cells", lambda t: t.replace("elements_width = 1", "elements_width = 100000")
     .replace("elements = 4", "elements = 9000"), ["cells"]),
    ("card file missing", _replace('"nmc_cathode"', '"nowhere/card.toml"'),
     ["layers.1.material", "does not exist"]),
    ("unknown card parameter", _replace("elements = 4", "elements = 4\nparameters = "
                                        "{nonsense = 1.0}"), ["layers.1.material", "nonsense"]),
    ("negative hold time", lambda t: t + "hold_time = -1.0\n", ["loading.hold_time"]),
    ("hold without steps", lambda t: t + "hold_time = 1.0\n", ["loading.hold_steps"]),
    ("element degree 3", lambda t: t + "\n[solver]\nelement_degree = 3\n",
     ["solver.element_degree"]),
    ("tolerance above 1", lambda t: t + "\n[solver]\nnewton_rtol = 2.0\n",
     ["solver.newton_rtol"]),
    ("negative cut-backs", lambda t: t + "\n[solver]\nmax_cutbacks = -1\n",
     ["solver.max_cutbacks"]),
    ("options not a table", lambda t: t + '\n[solver]\npetsc_options = "lu"\n',
     ["solver.petsc_options"]),
    ("negative checkpoint period", lambda t: t + "\n[output]\ncheckpoint_every_steps = -1\n",
     ["output.checkpoint_every_steps"]),
    ("unknown lateral condition", lambda t: t + 'lateral = "clamped"\n',
     ["loading.lateral"]),
]

# (kind, extra arguments of check/run, words): results folders and overrides
FUZZ_OPTIONS = [
    ("--out .", lambda tmp: ["--out", "."], ["results folder"]),
    ("--out empty", lambda tmp: ["--out", ""], ["results folder"]),
    ("--out a user file", lambda tmp: ["--out", str(tmp / "mydata")], ["mydata", "not a folder"]),
    ("--out a user folder", lambda tmp: ["--out", str(tmp / "userdir")],
     ["userdir", "not a nipstack results folder"]),
    ("--out a user folder --overwrite", lambda tmp: ["--out", str(tmp / "userdir"),
                                                     "--overwrite"], ["userdir"]),
    ("--out inside a user file", lambda tmp: ["--out", str(tmp / "mydata" / "r")],
     ["mydata", "is not a folder"]),
    ("--out beside a foreign staging folder", lambda tmp: ["--out", str(tmp / "blocked")],
     ["blocked.partial", "not nipstack's"]),
    ("--set without =", lambda tmp: ["--set", "loading.target"], ["--set", "key=value"]),
    ("--set unknown index", lambda tmp: ["--set", "layers.7.thickness=1"], ["--set"]),
    ("--set out of range", lambda tmp: ["--set", "loading.target=-1"], ["loading.target"]),
    ("--set a string for a number", lambda tmp: ["--set", "loading.target=abc"],
     ["loading.target"]),
]

# (kind, full argv, words): the point and sweep commands and run-only options
FUZZ_COMMANDS = [
    ("point --steps 0", lambda tmp, case: ["point", "nmc_cathode", "--path", "hydrostatic",
                                           "--steps", "0"], ["--steps"]),
    ("point --steps -3", lambda tmp, case: ["point", "nmc_cathode", "--path", "hydrostatic",
                                            "--steps=-3"], ["--steps"]),
    ("point --steps 2.5", lambda tmp, case: ["point", "nmc_cathode", "--path", "hydrostatic",
                                             "--steps", "2.5"], ["--steps"]),
    ("point --max-strain -0.3", lambda tmp, case: ["point", "nmc_cathode", "--path",
                                                   "uniaxial-strain", "--max-strain=-0.3"],
     ["--max-strain"]),
    ("point --max-strain nan", lambda tmp, case: ["point", "nmc_cathode", "--path",
                                                  "hydrostatic", "--max-strain", "nan"],
     ["--max-strain"]),
    ("point --time 0", lambda tmp, case: ["point", "nmc_cathode", "--path", "hydrostatic",
                                          "--time", "0"], ["--time"]),
    ("point --confining-pressure -1", lambda tmp, case: [
        "point", "nmc_cathode", "--path", "triaxial", "--confining-pressure=-1"],
     ["--confining-pressure"]),
    ("point unknown path", lambda tmp, case: ["point", "nmc_cathode", "--path", "shear"],
     ["--path"]),
    ("point unknown card", lambda tmp, case: ["point", "unobtainium", "--path",
                                              "hydrostatic"], ["unobtainium"]),
    ("point card parameter out of range", lambda tmp, case: [
        "point", "nmc_cathode", "--path", "hydrostatic", "--set", "initial_porosity=2"],
     ["initial_porosity"]),
    ("point --set without =", lambda tmp, case: ["point", "nmc_cathode", "--path",
                                                 "hydrostatic", "--set", "porosity"],
     ["--set"]),
    ("point --out a user file", lambda tmp, case: ["point", "nmc_cathode", "--path",
                                                   "hydrostatic", "--out", str(tmp / "mydata")],
     ["--out", "mydata"]),
    ("sweep --param without =", lambda tmp, case: ["sweep", case, "--param", "loading.target"],
     ["--param"]),
    ("sweep --param not numbers", lambda tmp, case: ["sweep", case, "--param",
                                                     "loading.target=a,b"], ["--param"]),
    ("sweep --param out of range", lambda tmp, case: ["sweep", case, "--param",
                                                      "loading.target=0.05,0.2"],
     ["--param", "loading.target"]),
    ("sweep --ranks-per-run 0", lambda tmp, case: ["sweep", case, "--param",
                                                   "loading.target=0.05", "--ranks-per-run",
                                                   "0"], ["--ranks-per-run"]),
    ("sweep --threshold malformed", lambda tmp, case: ["sweep", case, "--param",
                                                       "loading.target=0.05", "--threshold",
                                                       "final_porosity"], ["--threshold"]),
    ("sweep --fit malformed", lambda tmp, case: ["sweep", case, "--param",
                                                 "loading.target=0.05", "--fit", "a,b,c"],
     ["--fit"]),
    ("sweep --out a user folder", lambda tmp, case: ["sweep", case, "--param",
                                                     "loading.target=0.05", "--out",
                                                     str(tmp / "userdir")], ["userdir"]),
    # (`check` only notes an earlier result: test_safe_runs.py::test_check_notes_...)
    ("run --out an earlier result", lambda tmp, case: ["run", case, "--out",
                                                       str(tmp / "earlier")],
     ["earlier", "--overwrite"]),
    ("run without a case", lambda tmp, case: ["run"], ["case file"]),
    ("run a missing case file", lambda tmp, case: ["run", str(tmp / "absent.toml")],
     ["absent.toml"]),
    ("resume with a case file", lambda tmp, case: ["run", case, "--resume", str(tmp / "earlier")],
     ["--resume"]),
    ("resume a user folder", lambda tmp, case: ["run", "--resume", str(tmp / "userdir")],
     ["--resume", "not a nipstack results folder"]),
    ("resume a complete result", lambda tmp, case: ["run", "--resume", str(tmp / "earlier")],
     ["--resume", "complete"]),
    ("unknown command", lambda tmp, case: ["simulate", case], ["simulate"]),
]


def _workspace(tmp_path):
    """The user's things the fuzz inputs aim at: a data file, a folder, an earlier result and
    a foreign folder where a staging folder would go. Returns their bytes."""
    (tmp_path / "mydata").write_bytes(b"measured, 1, 2\n")
    (tmp_path / "userdir").mkdir()
    (tmp_path / "userdir" / "keep.txt").write_text("keep\n")
    earlier = tmp_path / "earlier"
    earlier.mkdir()
    (earlier / ".nipstack").write_text('{"nipstack": "0.1.0", "status": "complete"}\n')
    (earlier / "summary.json").write_text('{"steps": 3}\n')
    (tmp_path / "blocked.partial").mkdir()
    (tmp_path / "blocked.partial" / "mine.txt").write_text("mine\n")
    return {str(p.relative_to(tmp_path)): p.read_bytes() for p in tmp_path.rglob("*")
            if p.is_file()}


def _one_line(err: str, words):
    lines = [line for line in err.strip().splitlines() if line]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


def _unchanged(tmp_path, before):
    after = {str(p.relative_to(tmp_path)): p.read_bytes() for p in tmp_path.rglob("*")
             if p.is_file()}
    assert after == before


@pytest.mark.parametrize("kind,breaker,words", FUZZ_CASE, ids=[k[0] for k in FUZZ_CASE])
def test_fuzz_case_file(kind, breaker, words, tmp_path, monkeypatch, capsys):
    broken = breaker(MINIMAL_CASE)
    path = tmp_path / "broken.toml"
    path.write_bytes(broken if isinstance(broken, bytes) else broken.encode())
    before = _workspace(tmp_path)
    monkeypatch.chdir(tmp_path)
    messages = []
    for command in ("check", "run"):
        assert main([command, str(path), "--out", str(tmp_path / "results")]) == 2, command
        messages.append(_one_line(capsys.readouterr().err, words))
    assert messages[0] == messages[1]                      # check and run agree
    _unchanged(tmp_path, before)


@pytest.mark.parametrize("kind,extra,words", FUZZ_OPTIONS, ids=[k[0] for k in FUZZ_OPTIONS])
def test_fuzz_run_options(kind, extra, words, tmp_path, monkeypatch, capsys):
    path = tmp_path / "case.toml"
    path.write_text(MINIMAL_CASE)
    before = _workspace(tmp_path)
    monkeypatch.chdir(tmp_path)
    messages = []
    for command in ("check", "run"):
        assert main([command, str(path), *extra(tmp_path)]) == 2, command
        messages.append(_one_line(capsys.readouterr().err, words))
    assert messages[0] == messages[1]
    _unchanged(tmp_path, before)


@pytest.mark.parametrize("kind,argv,words", FUZZ_COMMANDS, ids=[k[0] for k in FUZZ_COMMANDS])
def test_fuzz_commands(kind, argv, words, tmp_path, monkeypatch, capsys):
    path = tmp_path / "case.toml"
    path.write_text(MINIMAL_CASE)
    before = _workspace(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(argv(tmp_path, str(path))) == 2
    _one_line(capsys.readouterr().err, words)
    _unchanged(tmp_path, before)


def test_fuzz_set_has_at_least_sixty_kinds():
    kinds = [k[0] for k in BROKEN + BROKEN_STACK + FUZZ_CASE + FUZZ_OPTIONS + FUZZ_COMMANDS]
    assert len(kinds) == len(set(kinds)) >= 60


def test_unknown_card_parameter_is_named_before_its_missing_source(tmp_path, monkeypatch,
                                                                   capsys):
    """A card file with a parameter its law does not have (and so, naturally, no [sources]
    entry for it) is reported as an unknown parameter of that card, not as a missing source:
    by `check`, `run` and `point` alike, one line, exit 2."""
    library = ROOT / "materials" / "library" / "nmc_cathode.toml"
    card = tmp_path / "my_nmc.toml"
    card.write_text(library.read_text().replace("[parameters]\n",
                                                "[parameters]\nfoo_bar = 1.0\n", 1))
    case = tmp_path / "case.toml"
    case.write_text(MINIMAL_CASE.replace('"nmc_cathode"', f'"{card}"'))
    monkeypatch.chdir(tmp_path)
    words = ["my_nmc", "unknown parameter 'foo_bar'"]
    for argv in (["check", str(case)], ["run", str(case), "--out", str(tmp_path / "r")],
                 ["point", str(card), "--path", "hydrostatic", "--out", "p.csv"]):
        assert main(argv) == 2, argv
        line = _one_line(capsys.readouterr().err, words)
        assert "[sources]" not in line, line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["case.toml", "my_nmc.toml"]
