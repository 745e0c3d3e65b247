"""Shared test helpers: paths, a minimal valid case, and running the CLI in a subprocess."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
NIPSTACK = str(BIN / "nipstack")
MPIRUN = str(BIN / "mpirun")

MINIMAL_CASE = """\
[case]
name = "tiny_press"
kind = "flat_press"

[geometry]
dimension = 2
width = 0.05
elements_width = 1

[[layers]]
name = "foil"
material = "aluminium_foil"
thickness = 0.015
elements = 1

[[layers]]
name = "coating"
material = "nmc_cathode"
thickness = 0.080
elements = 4

[loading]
control = "thickness"
target = 0.060
load_steps = 8
unload_steps = 4
"""


def run_cli(args, cwd, ranks=None, timeout=900, env=None):
    command = [NIPSTACK, *args]
    if ranks:
        command = [MPIRUN, "-n", str(ranks), *command]
    env = dict(os.environ, OMP_NUM_THREADS="1", **(env or {}))
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env=env)


def result_on_ranks(tmp_path, module: str, call: str, ranks: int = 2, timeout: int = 600):
    """Run `module.call` (a test module's function returning JSON-able data, e.g.
    "predict(2, 0.5)") under `mpirun -n ranks`; rank 0's return value."""
    script, out = tmp_path / "on_ranks.py", tmp_path / "on_ranks.json"
    script.write_text(
        "import json, sys\n"
        f"sys.path.insert(0, {str(ROOT / 'tests')!r})\n"
        "from mpi4py import MPI\n"
        f"import {module} as tested\n"
        f"result = tested.{call}\n"
        "if MPI.COMM_WORLD.rank == 0:\n"
        f"    open({str(out)!r}, 'w').write(json.dumps(result))\n")
    subprocess.run([MPIRUN, "-n", str(ranks), sys.executable, str(script)], check=True,
                   timeout=timeout, cwd=ROOT)
    return json.loads(out.read_text())


@pytest.fixture
def minimal_case_text():
    return MINIMAL_CASE


def pytest_addoption(parser):
    parser.addoption("--release", action="store_true",
                     help="also run the release checks (tests marked `release`: full-resolution "
                          "and two-rank gold runs of every shipped case; `make test-all`)")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--release"):
        return
    later = pytest.mark.skip(reason="release check: `make test-all` (pytest --release)")
    for item in items:
        if "release" in item.keywords:
            item.add_marker(later)
