"""The working memory of the compiled DPC return (``dpc_kernel.py``): the scratch arrays of one
point's return, and views of the kernel's arrays that numba does not reference-count.

Why: every array a compiled function receives or binds to a variable is reference-counted with
an atomic increment and decrement (numba's NRT). The per-point functions of the return pass
the ~30 scratch and material arrays around several times a point: counted with gdb on the cap
return of `benchmarks/dpc_point_timing.py`, 193 increments and 203 decrements a point, 15 % of
perf's samples of the run. Views made by `carray` from a bare pointer carry no reference count,
and those calls then only test a null pointer: the cap return went from 2.09-2.16 to
2.01-2.03 us a point, the same answers to the bit (docs/benchmarks.md).
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import carray, njit, types
from numba.extending import intrinsic, overload


#: scratch arrays of one point's return, carved out of one buffer per kernel call (`scratch`)
Scratch = namedtuple("Scratch", "res jac jarg rhs step lu trial res_t jac_t dx "
                                "n_dir eps_e a_mat dk_de de_dkn t_mat kd sub_e sub_trial "
                                "increment d_trial t_new kd_new x cold solved buffer")
_SCRATCH_SIZE = 4 + 16 + 12 + 4 + 4 + 28 + 4 + 4 + 16 + 12 + 6 * 9 + 36 * 4 + 4 + 20 + 20


@intrinsic
def _data_pointer(typingctx, array):
    """The address of an array's first element, as a typed pointer (for `unowned`)."""
    def codegen(context, builder, signature, args):
        return context.make_array(array)(context, builder, value=args[0]).data
    return types.CPointer(array.dtype)(array), codegen


def unowned(array):
    """The same memory as an array, as a view numba does not reference-count (see the module);
    the caller keeps the array alive while the view is used. In plain Python (as with
    NUMBA_DISABLE_JIT=1): the array itself."""
    return array


@overload(unowned, inline="always")
def _unowned_compiled(array):
    def view(array):
        if not array.flags.c_contiguous:
            raise ValueError("an unowned view needs a C-contiguous array")
        return carray(_data_pointer(array), array.shape)
    return view


@njit(cache=True, error_model="numpy", inline="always")
def _take(buffer, offset, shape):
    """An unowned array of `shape` at buffer[offset:], and the offset after it."""
    size = 1
    for extent in shape:
        size *= extent
    return unowned(buffer[offset:offset + size].reshape(shape)), offset + size


@njit(cache=True, error_model="numpy")
def scratch():
    """The scratch arrays of a kernel call, unowned views of one buffer (its `buffer`)."""
    buffer = np.empty(_SCRATCH_SIZE)
    res, o = _take(buffer, 0, (4,))
    jac, o = _take(buffer, o, (4, 4))
    jarg, o = _take(buffer, o, (4, 3))
    rhs, o = _take(buffer, o, (4, 1))
    step, o = _take(buffer, o, (4, 1))
    lu, o = _take(buffer, o, (4, 7))
    trial, o = _take(buffer, o, (4,))
    res_t, o = _take(buffer, o, (4,))
    jac_t, o = _take(buffer, o, (4, 4))
    dx, o = _take(buffer, o, (4, 3))
    n_dir, o = _take(buffer, o, (6,))
    eps_e, o = _take(buffer, o, (6,))
    a_mat, o = _take(buffer, o, (6, 6))
    dk_de, o = _take(buffer, o, (6,))
    de_dkn, o = _take(buffer, o, (6,))
    t_mat, o = _take(buffer, o, (6, 6))
    kd, o = _take(buffer, o, (6,))
    sub_e, o = _take(buffer, o, (6,))
    sub_trial, o = _take(buffer, o, (6,))
    increment, o = _take(buffer, o, (6,))
    d_trial, o = _take(buffer, o, (6, 6))
    t_new, o = _take(buffer, o, (6, 6))
    kd_new, o = _take(buffer, o, (6,))
    x, o = _take(buffer, o, (4,))
    cold, o = _take(buffer, o, (20,))          # (dpc_kernel.START_WIDTH)
    solved, o = _take(buffer, o, (20,))
    if o != buffer.size:
        raise ValueError("scratch layout and _SCRATCH_SIZE disagree")
    cold[:] = 0.0
    cold[4] = -1.0                  # no warm start
    return Scratch(res, jac, jarg, rhs, step, lu, trial, res_t, jac_t, dx, n_dir, eps_e,
                   a_mat, dk_de, de_dkn, t_mat, kd, sub_e, sub_trial, increment, d_trial,
                   t_new, kd_new, x, cold, solved, buffer)
