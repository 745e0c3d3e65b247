"""Time of one DPC update per Gauss point, with tangent (the compiled kernel of
``materials/dpc_kernel.py``): the NMC card, 20 000 points pre-compacted oedometrically onto
the cap (eps_33 = -0.15 in 30 steps), then an FE-sized increment (0.5 % axial, a random
+-0.1 % on every component) from that state: every point returns on the cap. Also the
elastic check (the same points unloaded by 0.1 %).

    .venv/bin/python benchmarks/dpc_point_timing.py [--points 20000] [--repeat 7]

Prints the median and the spread (min-max) over the repeats of the CPU time (process time,
not wall: the machine's cores are shared), microseconds per point."""
from __future__ import annotations

import argparse
import time

import numpy as np

from nipstack.materials.cards import load_card


def compacted_state(law, steps=30, strain=-0.15):
    state = law.initial_state(1)
    eps_e = np.zeros((1, 6))
    for k in range(1, steps + 1):
        eps = eps_e.copy()
        eps[0, 2] += strain / steps
        _, _, eps_e, state = law.update(eps, state, 1.0)
    return eps_e, state


def timed(function, repeat):
    times = []
    for _ in range(repeat):
        started = time.process_time()      # CPU time: the 2 cores are shared
        function()
        times.append(time.process_time() - started)
    return np.array(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    law = load_card("nmc_cathode")
    eps_e, state = compacted_state(law)
    n = args.points
    rng = np.random.default_rng(1)
    batch = {key: np.repeat(np.atleast_1d(value), n, axis=0) for key, value in state.items()}
    loading = np.repeat(eps_e, n, axis=0) + rng.uniform(-1e-3, 1e-3, (n, 6))
    loading[:, 2] -= 5e-3
    unloading = np.repeat(eps_e, n, axis=0)
    unloading[:, 2] += 1e-3
    law.update(loading[:10], {k: v[:10] for k, v in batch.items()}, 1.0)   # compile
    codes = law.update(loading, batch, 1.0)[3]["active_surface"]
    for label, eps in (("cap return", loading), ("elastic check", unloading)):
        times = timed(lambda: law.update(eps, batch, 1.0), args.repeat) / n * 1e6
        print(f"{label}: {np.median(times):.2f} us per point (spread {times.min():.2f}-"
              f"{times.max():.2f}, {args.repeat} repeats)")
    print(f"on the cap: {np.mean(codes == 3) * 100:.0f} % of the points")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
