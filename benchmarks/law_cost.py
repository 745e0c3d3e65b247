"""Cost of one constitutive update per quadrature point, by law: the weights of the cell
partition (meshes/partition.py, LAW_COST).

    .venv/bin/python benchmarks/law_cost.py

For each card the script times `kinematics.stress_update` (the compiled kernels, stresses and
the deferred tangent computed, as one Newton iteration does) on N points, in two states: an
elastic one (1e-4 uniaxial compression) and a plastic one (30 % compression with 5 % shear),
and prints the microseconds per point and the ratio to the elastic law. Median of --repeat.
The kernels run on the rank's threads (`nipstack.threads`); NIPSTACK_THREADS=1 gives the cost
on one core (the partition weights are ratios, the same either way).
"""
from __future__ import annotations

import argparse
import sys
import time

import dolfinx_solver  # noqa: F401  (MPI before dolfinx/petsc4py)
import numpy as np

from nipstack.kinematics import initial_plastic_metric_inverse, stress_update
from nipstack.materials.cards import load_card

CARDS = ("copper_foil", "aluminium_foil", "nmc_cathode", "lithium_metal")


def time_per_point(law, strain: float, shear: float, n: int, repeat: int) -> float:
    F = np.tile(np.eye(3), (n, 1, 1))
    F[:, 1, 1] -= strain
    F[:, 0, 1] = shear
    metric = initial_plastic_metric_inverse(n)
    history = law.initial_state(n)
    times = []
    for _ in range(repeat + 1):                   # the first call compiles
        started = time.perf_counter()
        P, A, *_ = stress_update(law, F, metric, history, 1e-3, with_tangent=False,
                                 in_plane=True)
        A.compute()
        times.append(time.perf_counter() - started)
    return 1e6 * float(np.median(times[1:])) / n


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cards", nargs="*", default=list(CARDS))
    parser.add_argument("--points", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    rows = []
    for card in args.cards:
        law = load_card(card)
        rows.append((card, type(law).__name__,
                     time_per_point(law, 1e-4, 0.0, args.points, args.repeat),
                     time_per_point(law, 0.3, 0.05, args.points, args.repeat)))
    print("| card | law | us/point elastic | us/point plastic |")
    print("|---|---|---|---|")
    for card, name, elastic, plastic in rows:
        print(f"| {card} | {name} | {elastic:.2f} | {plastic:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
