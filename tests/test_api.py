"""The Python API (docs/python-api.md): `import nipstack` is cheap, `nipstack.load_case` reads a
shipped case, `nipstack.run` runs a small override of it and returns its summary, history and
fields, `nipstack.read_results` reads the folder back, and the CLI (`nipstack run`, which is
this API) gives the same summary to 1e-12.

The run is the shipped flat press under pressure control with plots off (about 1 s).
"""
from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT
from nipstack.cli import main

CASE = ROOT / "cases" / "flat_press_nmc.toml"
SMALL = ['loading.control="pressure"', "loading.target=40", "loading.load_steps=4",
         "loading.unload_steps=2", "output.plots=false"]


def test_import_is_cheap():
    """No DOLFINx, PETSc or pydantic until the API is used."""
    code = ("import sys, nipstack; heavy = [m for m in ('dolfinx', 'petsc4py', 'pydantic') "
            "if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


def test_no_submodule_hides_an_api_name():
    """Importing a submodule sets it as an attribute of the package, so a submodule named like
    an API function would replace it: `nipstack.run` was the module run.py after the first run
    (a second `nipstack.run(...)` in a parameter loop failed with 'module' object is not
    callable). No submodule may carry a name of `nipstack.__all__`."""
    import pkgutil

    import nipstack

    submodules = {module.name for module in pkgutil.iter_modules(nipstack.__path__)}
    assert not submodules & set(nipstack.__all__)
    import nipstack.case_run  # noqa: F401  (what nipstack.run imports)
    assert callable(nipstack.run) and callable(nipstack.load_case)


def test_load_case_names_the_kind_and_applies_overrides():
    import nipstack

    case = nipstack.load_case(CASE, SMALL)
    assert case.case.kind == "flat_press"
    assert case.loading.control == "pressure" and case.loading.target == 40
    assert case.solver.max_iterations == 12          # the flat press's default


def _numbers(summary: dict) -> dict:
    return {k: v for k, v in summary.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)}


@pytest.fixture(scope="module")
def api_run(tmp_path_factory):
    import nipstack

    out = tmp_path_factory.mktemp("api") / "press"
    case = nipstack.load_case(CASE, SMALL)
    return nipstack.run(case, out, log=lambda message: None)


def test_run_returns_summary_history_and_fields(api_run):
    result = api_run
    assert result.status == "complete" and result.complete and result.exit_code == 0
    assert result.summary["status"] == "complete"
    history = result.history
    assert len(history["step"]) == result.summary["steps"]
    assert history["pressure_MPa"].dtype == float
    assert np.max(history["pressure_MPa"]) == pytest.approx(40.0, rel=1e-6)
    assert set(history["phase"]) >= {"load", "unload"}
    assert result.fields is not None and result.fields.name == "fields.pvd"


def test_read_results_gives_the_run_back(api_run):
    import nipstack

    again = nipstack.read_results(api_run.folder)
    assert again.status == "complete"
    assert _numbers(again.summary) == pytest.approx(_numbers(api_run.summary), rel=1e-12)
    for name, column in api_run.history.items():
        assert np.array_equal(again.history[name], column), name
    with pytest.raises(ValueError, match="not a nipstack results folder"):
        nipstack.read_results(ROOT / "cases")


def test_cli_gives_the_api_summary(api_run, tmp_path):
    out = tmp_path / "cli"
    argv = ["run", str(CASE), "--out", str(out)]
    for assignment in SMALL:
        argv += ["--set", assignment]
    assert main(argv) == 0
    cli = _numbers(json.loads((out / "summary.json").read_text()))
    api = _numbers(api_run.summary)
    assert cli.keys() == api.keys()
    for key, value in api.items():
        if key == "wall_time_s":                   # the one entry that is not physics
            continue
        assert math.isclose(cli[key], value, rel_tol=1e-12, abs_tol=1e-12), key
