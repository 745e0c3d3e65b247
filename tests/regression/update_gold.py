"""Regenerate the gold summaries of the shipped cases (run after an intended change in results,
and say why in the commit):  .venv/bin/python tests/regression/update_gold.py [--full] [case.toml ...]

The gold run of a case is its GOLD_OVERRIDES copy (coarse where the full case takes minutes);
--full writes the gold of the full-resolution runs of the cases that have overrides to
tests/regression/full/ (checked by `make test-all`, tests/test_release.py).

A flat press or a calender without interfaces keeps the listed engineering numbers. Every
other case (stacks, the delamination test, the laminating calender) keeps every number of its
summary.json, flattened to dotted keys ("interfaces.interface_a_b.contact_fraction_at_peak"),
except the solver's own statistics (wall time, ranks, Newton and augmented-Lagrangian counts),
which depend on the machine and the rank count but not on the answer."""
import json
import os
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
#: cases whose gold run is a coarse copy (the full case takes minutes): --set overrides, used by
#: this script and by tests/test_gold.py alike. The width model's 2D response table then runs
#: on a coarse nip mesh (10 runs, about 30 s from a cold cache).
GOLD_OVERRIDES = {
    "calender_width_nmc": [
        "width.response_overrides=['calender.elements_per_contact_length=4', "
        "'calender.travel_contact_lengths=3', 'layers.1.elements=3']",
        "width.reductions=[0.004, 0.008, 0.012, 0.016, 0.020]", "width.points=41"],
    "calender_nmc_edge_3d": ["calender.elements_per_contact_length=4", "layers.1.elements=3"],
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


def keyed_gold(case) -> bool:
    """Is the case's gold the GOLD_KEYS of its kind (not every number of its summary)? A
    laminated web and a 3D calender slab hold every number."""
    kind = case.case.kind
    if kind not in GOLD_KEYS or getattr(case, "interfaces", None):
        return False
    return not (kind == "calender" and case.geometry.dimension == 3)


def gold_values(case, summary: dict) -> dict:
    if keyed_gold(case):
        return {key: summary[key] for key in GOLD_KEYS[case.case.kind]}
    return flatten(summary)


def gold_command(path: Path, out: Path, full: bool = False) -> list[str]:
    """The `nipstack run` arguments of a case's gold run: no fields or pictures, the case's
    GOLD_OVERRIDES (none if `full`)."""
    overrides = [] if full else [item for value in GOLD_OVERRIDES.get(Path(path).stem, [])
                                 for item in ("--set", value)]
    return ["run", str(path), "--out", str(out), "--set", "output.fields=false", "--set",
            "output.plots=false", *overrides]


def gold_file(path: Path, full: bool = False) -> Path:
    folder = ROOT / "tests" / "regression" / ("full" if full else "")
    return folder / (Path(path).stem + ".json")


def differences(gold: dict, values: dict) -> list[str]:
    """The gold entries `values` misses: integers (steps, counts) exactly, reals to 1e-6 of the
    largest value of the same quantity in the case (the same last key, e.g. every layer's
    `thickness_change_final_mm`), so a round-off-sized entry is held to its quantity's scale."""
    scale = {}
    for key, value in gold.items():
        family = key.rsplit(".", 1)[-1]
        scale[family] = max(scale.get(family, 0.0), abs(value))
    off = []
    for key, expected in gold.items():
        if key not in values:
            off.append(f"{key} missing from the summary")
            continue
        got = values[key]
        if isinstance(expected, int):
            if got != expected:
                off.append(f"{key}: {got} != {expected}")
        elif abs(got - expected) > 1e-6 * scale[key.rsplit(".", 1)[-1]]:
            off.append(f"{key}: {got!r} vs gold {expected!r}")
    return off


def run_summary(path: Path, out: Path, full: bool = False) -> dict:
    """summary.json of the gold run of a case (with an empty nip-response cache)."""
    nipstack = Path(sys.executable).parent / "nipstack"
    with tempfile.TemporaryDirectory() as cache:
        subprocess.run([str(nipstack), *gold_command(path, out, full)], check=True,
                       capture_output=True, env=dict(os.environ, NIPSTACK_CACHE_DIR=cache))
    return json.loads((out / "summary.json").read_text())


if __name__ == "__main__":
    full = "--full" in sys.argv[1:]
    cases = [a for a in sys.argv[1:] if a != "--full"] or \
        sorted(str(p) for p in (ROOT / "cases").glob("*.toml")
               if not full or p.stem in GOLD_OVERRIDES)
    for path in cases:
        case = load_case(path)
        with tempfile.TemporaryDirectory() as scratch:
            summary = run_summary(Path(path), Path(scratch) / "run", full)
        gold = gold_values(case, summary)
        target = gold_file(path, full)
        target.parent.mkdir(exist_ok=True)
        target.write_text(json.dumps(gold, indent=2) + "\n")
        print(f"{target.name}: {len(gold)} values")
