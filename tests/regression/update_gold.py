"""Regenerate the gold summaries of the shipped cases (run after an intended change in results,
and say why in the commit):  .venv/bin/python tests/regression/update_gold.py"""
import json
import sys
from pathlib import Path

import dolfinx_solver  # noqa: F401
from mpi4py import MPI

from nipstack.case import load_case
from nipstack.run import build_scenario

ROOT = Path(__file__).resolve().parents[2]
GOLD_KEYS = {
    "flat_press": ["thickness_under_load_mm", "porosity_under_load", "peak_pressure_MPa",
                   "final_thickness_mm", "final_porosity", "springback_strain", "steps"],
    "calender": ["exit_porosity", "exit_thickness_mm", "line_load_N_per_mm",
                 "peak_nip_pressure_MPa", "contact_length_mm", "porosity_under_roll",
                 "machine_direction_elongation"],
}

if __name__ == "__main__":
    cases = sys.argv[1:] or sorted(str(p) for p in (ROOT / "cases").glob("*.toml"))
    for path in cases:
        case = load_case(path)
        scenario = build_scenario(case, MPI.COMM_WORLD, log=lambda *a: None)
        scenario.run()
        summary = scenario.summary()
        gold = {key: summary[key] for key in GOLD_KEYS[case.case.kind]}
        target = ROOT / "tests" / "regression" / (Path(path).stem + ".json")
        target.write_text(json.dumps(gold, indent=2) + "\n")
        print(f"{target.name}: {gold}")
