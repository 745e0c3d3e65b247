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
under `MIN_POINTS_PER_THREAD` points per thread stay on one thread.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

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


def point_chunks(n_points: int) -> list[slice]:
    """Contiguous slices of range(n_points), one per thread (one slice for small arrays)."""
    count = max(1, min(threads_per_rank(), n_points // MIN_POINTS_PER_THREAD))
    bounds = [n_points * k // count for k in range(count + 1)]
    return [slice(bounds[k], bounds[k + 1]) for k in range(count)]


def over_chunks(kernel, chunks: list[slice], arguments) -> list:
    """kernel(*arguments(chunk)) for every chunk, on the rank's threads; the results in chunk
    order. `kernel` must release the GIL (numba ``nogil=True``) for the threads to overlap."""
    global _pool, _pool_size
    if len(chunks) == 1:
        return [kernel(*arguments(chunks[0]))]
    if _pool is None or _pool_size < len(chunks):
        if _pool is not None:
            _pool.shutdown(wait=False)
        _pool_size = max(threads_per_rank(), len(chunks))
        _pool = ThreadPoolExecutor(max_workers=_pool_size, thread_name_prefix="nipstack-kernel")
    futures = [_pool.submit(kernel, *arguments(chunk)) for chunk in chunks]
    return [future.result() for future in futures]
