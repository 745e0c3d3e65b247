"""Threads for the compiled per-point kernels.

Every constitutive kernel (the finite-strain layer, the J2 and DPC returns) loops over
quadrature points that do not depend on each other, and is compiled with ``nogil=True``. A
rank with idle cores splits the points into contiguous chunks and runs a chunk per thread: the
same arithmetic per point, so the results are identical to the bit whatever the thread count.

How many threads a rank uses: ``NIPSTACK_THREADS`` if set, else the cores this process may run
on divided by the MPI ranks of the run (at least 1). So ``nipstack run`` on a workstation uses
its cores for the material updates, and ``mpirun -n N`` with N >= cores runs one thread per
rank, as before. (The world size stands for the ranks on this node: on a cluster, where ranks
fill the nodes, that gives one thread per rank; set NIPSTACK_THREADS to place more.) Arrays
under `MIN_POINTS_PER_THREAD` points per thread stay on one thread (a kernel that costs `cost`
times the cheap ones per point splits from 1 / cost of that).

The calling thread runs the first chunk itself and hands only the others to the pool. A
region's cells are put in the order `spread_over_threads` gives, every thread-th cell in one
block, so that each thread's contiguous chunk samples the whole region: the plastic points of a
calender lie under the roll, a few columns of the web, which a split into halves of the web
would leave to one thread.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

#: below this many points per thread the thread hand-off costs more than it saves
MIN_POINTS_PER_THREAD = 2000

_pool: ThreadPoolExecutor | None = None
_pool_size = 0
_threads: int | None = None


def threads_per_rank() -> int:
    """The threads a rank gives its kernels (see the module)."""
    global _threads
    if _threads is None:
        setting = os.environ.get("NIPSTACK_THREADS", "").strip()
        if setting:
            _threads = max(1, int(setting))
        else:
            try:
                cores = len(os.sched_getaffinity(0))
            except AttributeError:      # (not on Linux)
                cores = os.cpu_count() or 1
            ranks = 1
            try:
                from mpi4py import MPI
                if MPI.Is_initialized():
                    ranks = MPI.COMM_WORLD.Get_size()    # local call, not a collective
            except ImportError:
                pass
            _threads = max(1, cores // ranks)
    return _threads


def point_chunks(n_points: int, cost: float = 1.0) -> list[slice]:
    """Contiguous slices of range(n_points), one per thread (one slice for small arrays);
    `cost` is the kernel's time per point against the cheap kernels' (the DPC return: 4)."""
    count = max(1, min(threads_per_rank(), int(n_points * cost) // MIN_POINTS_PER_THREAD))
    bounds = [n_points * k // count for k in range(count + 1)]
    return [slice(bounds[k], bounds[k + 1]) for k in range(count)]


def over_chunks(kernel, chunks: list[slice], arguments) -> list:
    """kernel(*arguments(chunk)) for every chunk, the first on this thread and the others on
    the pool's; the results in chunk order. `kernel` must release the GIL (numba
    ``nogil=True``) for the threads to overlap."""
    global _pool, _pool_size
    if len(chunks) == 1:
        return [kernel(*arguments(chunks[0]))]
    if _pool is None or _pool_size < len(chunks) - 1:
        if _pool is not None:
            _pool.shutdown(wait=False)
        _pool_size = max(threads_per_rank() - 1, len(chunks) - 1)
        _pool = ThreadPoolExecutor(max_workers=_pool_size, thread_name_prefix="nipstack-kernel")
    futures = [_pool.submit(kernel, *arguments(chunk)) for chunk in chunks[1:]]
    try:
        first = kernel(*arguments(chunks[0]))
    finally:
        others = [future.result() for future in futures]   # (no chunk left running)
    return [first] + others


def spread_over_threads(cells):
    """The cells reordered as cells[0::T], cells[1::T], ... (T the rank's threads): contiguous
    chunks of the points then each cover the whole region (see the module). With one thread,
    the cells as they are."""
    count = threads_per_rank()
    if count == 1:
        return cells
    return np.concatenate([cells[k::count] for k in range(count)])
