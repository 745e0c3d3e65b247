"""Regenerate the gold summaries of the shipped cases (run after an intended change in results,
and say why in the commit):  .venv/bin/python tests/regression/update_gold.py [case.toml ...]

A flat press or a calender without interfaces keeps the listed engineering numbers. Every
other case (stacks, the delamination test, the laminating calender) keeps every number of its
summary.json, flattened to dotted keys ("interfaces.interface_a_b.contact_fraction_at_peak"),
except the solver's own statistics (wall time, ranks, Newton and augmented-Lagrangian counts),
which depend on the machine and the rank count but not on the answer."""
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from nipstack.case import load_case

ROOT = Path(__file__).resolve().parents[2]
GOLD_KEYS = {
    "flat_press": ["thickness_under_load_mm", "porosity_under_load", "peak_pressure_MPa",
                   "final_thickness_mm", "final_porosity", "springback_strain", "steps"],
    "calender": ["exit_porosity", "exit_thickness_mm", "line_load_N_per_mm",
                 "peak_nip_pressure_MPa", "contact_length_mm", "porosity_under_roll",
                 "machine_direction_elongation"],
}
SOLVER_STATISTICS = ("wall_time", "mpi_ranks", "newton", "iterations", "al_",
                     "augmented_lagrangian_updates", "snap_relaxations")


def flatten(summary: dict, prefix: str = "") -> dict:
    """Every int/float leaf of a summary as {dotted key: value}, without solver statistics."""
    out = {}
    for key, value in summary.items():
        name = prefix + key
        if any(word in key for word in SOLVER_STATISTICS):
            continue
        if isinstance(value, dict):
            out.update(flatten(value, name + "."))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out[name] = value
    return out


def gold_values(case, summary: dict) -> dict:
    kind = case.case.kind
    if kind in GOLD_KEYS and not getattr(case, "interfaces", None):
        return {key: summary[key] for key in GOLD_KEYS[kind]}
    return flatten(summary)


def run_summary(path: Path, out: Path) -> dict:
    """summary.json of `nipstack run` on a case, without fields or pictures."""
    nipstack = Path(sys.executable).parent / "nipstack"
    subprocess.run([str(nipstack), "run", str(path), "--out", str(out), "--set",
                    "output.fields=false", "--set", "output.plots=false"], check=True,
                   capture_output=True)
    return json.loads((out / "summary.json").read_text())


if __name__ == "__main__":
    cases = sys.argv[1:] or sorted(str(p) for p in (ROOT / "cases").glob("*.toml"))
    for path in cases:
        case = load_case(path)
        with tempfile.TemporaryDirectory() as scratch:
            summary = run_summary(Path(path), Path(scratch) / "run")
        gold = gold_values(case, summary)
        target = ROOT / "tests" / "regression" / (Path(path).stem + ".json")
        target.write_text(json.dumps(gold, indent=2) + "\n")
        print(f"{target.name}: {len(gold)} values")
