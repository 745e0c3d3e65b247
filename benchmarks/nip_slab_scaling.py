"""How the 3D calender slab's cost grows with its size, on 1 and 2 ranks (issue 17 part 2).

    .venv/bin/python benchmarks/nip_slab_scaling.py [--ranks 1 2] [--sizes coarse shipped fine]

Runs `calender_timing.py` on cases/calender_nmc_edge_3d.toml at three meshes (the coarse gold
copy, the shipped mesh, and a finer one: 8 elements per contact length, 6 through the
coating, twice as many across) with the web drawn 2.5 contact lengths (enough for a steady
exit zone at the lane centre; the cost per Newton iteration is what is compared), on each rank
count, one after the other. The rows (dofs, Newton iterations, ms per iteration and its
phases, exit porosity) go to benchmarks/results/nip_slab_scaling.md, each run's summary to
benchmarks/results/nip_slab_<size>_<ranks>ranks.json (the mesh-convergence row compares the
sizes' cross-web numbers); the script then fits
ms/iteration = c dofs^p over the sizes on each rank count and prints p.
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CASE = ROOT / "cases" / "calender_nmc_edge_3d.toml"
SHORT = ["calender.travel_contact_lengths=2.5"]
SIZES = {
    "coarse": ["calender.elements_per_contact_length=4", "layers.1.elements=3"],
    "shipped": [],
    "fine": ["calender.elements_per_contact_length=8", "layers.1.elements=6",
             "geometry.elements_lane=6", "geometry.elements_edge=6",
             "geometry.elements_margin=4"],
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--out", type=Path,
                        default=ROOT / "benchmarks" / "results" / "nip_slab_scaling.md")
    args = parser.parse_args(argv)
    bin_dir = Path(sys.executable).parent
    timing = ROOT / "benchmarks" / "calender_timing.py"
    measured = {}
    for ranks in args.ranks:
        for size in args.sizes:
            command = [str(bin_dir / "python"), str(timing), "--case", str(CASE),
                       "--out", str(args.out)]
            for item in SHORT + SIZES[size]:
                command += ["--set", item]
            if ranks > 1:
                command = [str(bin_dir / "mpirun"), "-n", str(ranks)] + command
            output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            summary = args.out.with_name(f"calender_timing_summary_{ranks}ranks.json")
            summary.replace(args.out.with_name(f"nip_slab_{size}_{ranks}ranks.json"))
            row = next(line for line in output.splitlines() if line.startswith(f"| {CASE.stem}"))
            cells = [c.strip() for c in row.strip("|").split("|")]
            dofs, per_iteration = int(cells[3]), float(cells[10])
            measured.setdefault(ranks, []).append((dofs, per_iteration))
            print(f"{size:8s} {ranks} rank(s): {dofs} dofs, {per_iteration:.0f} ms/iteration "
                  f"({re.sub(' +', ' ', cells[11])} ms update/residual/Jacobian/solve)",
                  flush=True)
    for ranks, points in measured.items():
        if len(points) >= 2:
            dofs, times = np.log(np.array(points)).T
            slope = np.polyfit(dofs, times, 1)[0]
            print(f"{ranks} rank(s): ms/iteration ~ dofs^{slope:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
