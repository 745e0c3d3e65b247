r"""Forward-mode dual numbers for the compiled constitutive kernels (``dpc_kernel.py``).

A dual is a tuple (value, d/dx_1, ..., d/dx_k) carried through every operation (forward-mode
automatic differentiation, e.g. Griewank & Walther, *Evaluating Derivatives*, 2008, ch. 3), so
one evaluation of a function gives its value and its partial derivatives, exact to round-off.
Widths used by the DPC kernel:

    1  a value alone;
    2  value and d/dkappa (the material functions, which depend on kappa only);
    5  value and d/d(p, q, d_lambda, kappa) (the local residual inside the local Newton);
    8  value and those four plus d/d(eps_v, eps_q, kappa_n) (the local residual where the
       consistent tangent is linearised).

The three primitives `lin`, `chain` and `const_like` are compiled per width; every other
operation is written once on top of them and serves all widths. Their plain-Python bodies are
what runs with NUMBA_DISABLE_JIT=1 (a debugging aid, tested); compiled code gets the per-width
versions registered with `overload`, which unroll the tuple.
"""
from __future__ import annotations

import math

from numba import njit
from numba.extending import overload


def lin(a, b, ca, cb, value):
    """Dual with the given value and derivative ca a' + cb b' (a, b of one width)."""
    return (value,) + tuple(ca * x + cb * y for x, y in zip(a[1:], b[1:]))


def chain(a, value, slope):
    """Dual of f(a): value f(a), derivative slope * a'."""
    return (value,) + tuple(slope * x for x in a[1:])


def const_like(a, value):
    """A constant of a's width."""
    return (value,) + (0.0,) * (len(a) - 1)


@overload(lin)
def _lin_compiled(a, b, ca, cb, value):
    if a.count == 1:
        return lambda a, b, ca, cb, value: (value,)
    if a.count == 2:
        return lambda a, b, ca, cb, value: (value, ca * a[1] + cb * b[1])
    if a.count == 5:
        return lambda a, b, ca, cb, value: (
            value, ca * a[1] + cb * b[1], ca * a[2] + cb * b[2], ca * a[3] + cb * b[3],
            ca * a[4] + cb * b[4])
    if a.count == 8:
        return lambda a, b, ca, cb, value: (
            value, ca * a[1] + cb * b[1], ca * a[2] + cb * b[2], ca * a[3] + cb * b[3],
            ca * a[4] + cb * b[4], ca * a[5] + cb * b[5], ca * a[6] + cb * b[6],
            ca * a[7] + cb * b[7])
    return None


@overload(chain)
def _chain_compiled(a, value, slope):
    if a.count == 1:
        return lambda a, value, slope: (value,)
    if a.count == 2:
        return lambda a, value, slope: (value, slope * a[1])
    if a.count == 5:
        return lambda a, value, slope: (value, slope * a[1], slope * a[2], slope * a[3],
                                        slope * a[4])
    if a.count == 8:
        return lambda a, value, slope: (
            value, slope * a[1], slope * a[2], slope * a[3], slope * a[4], slope * a[5],
            slope * a[6], slope * a[7])
    return None


@overload(const_like)
def _const_like_compiled(a, value):
    if a.count == 1:
        return lambda a, value: (value,)
    if a.count == 2:
        return lambda a, value: (value, 0.0)
    if a.count == 5:
        return lambda a, value: (value, 0.0, 0.0, 0.0, 0.0)
    if a.count == 8:
        return lambda a, value: (value, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    return None


@njit(cache=True, error_model="numpy")
def variable8(value, slot):
    """The independent variable number `slot` (1..7) with the given value, width 8."""
    return (value, 1.0 if slot == 1 else 0.0, 1.0 if slot == 2 else 0.0,
            1.0 if slot == 3 else 0.0, 1.0 if slot == 4 else 0.0, 1.0 if slot == 5 else 0.0,
            1.0 if slot == 6 else 0.0, 1.0 if slot == 7 else 0.0)


@njit(cache=True, error_model="numpy")
def variable5(value, slot):
    """The independent variable number `slot` (1..4) with the given value, width 5."""
    return (value, 1.0 if slot == 1 else 0.0, 1.0 if slot == 2 else 0.0,
            1.0 if slot == 3 else 0.0, 1.0 if slot == 4 else 0.0)


@njit(cache=True, error_model="numpy")
def lift(function_of_kappa, kappa):
    """A width-2 material function (value, d/dkappa) as a dual of kappa's width."""
    return chain(kappa, function_of_kappa[0], function_of_kappa[1])


@njit(cache=True, error_model="numpy")
def add(a, b):
    return lin(a, b, 1.0, 1.0, a[0] + b[0])


@njit(cache=True, error_model="numpy")
def sub(a, b):
    return lin(a, b, 1.0, -1.0, a[0] - b[0])


@njit(cache=True, error_model="numpy")
def mul(a, b):
    return lin(a, b, b[0], a[0], a[0] * b[0])


@njit(cache=True, error_model="numpy")
def div(a, b):
    return lin(a, b, 1.0 / b[0], -a[0] / (b[0] * b[0]), a[0] / b[0])


@njit(cache=True, error_model="numpy")
def addc(a, c):
    return chain(a, a[0] + c, 1.0)


@njit(cache=True, error_model="numpy")
def mulc(a, c):
    return chain(a, a[0] * c, c)


@njit(cache=True, error_model="numpy")
def dexp(a):
    e = math.exp(a[0])
    return chain(a, e, e)


@njit(cache=True, error_model="numpy")
def dsqrt(a):
    s = math.sqrt(a[0])
    return chain(a, s, 0.5 / s)


@njit(cache=True, error_model="numpy")
def square(a):
    return chain(a, a[0] * a[0], 2.0 * a[0])


@njit(cache=True, error_model="numpy", inline="always")
def table(a, xs, ys, n, extrapolate_right):
    """Piecewise-linear y(a) through the first n rows of (xs, ys) (dpc's table rule: the
    segment is found by searchsorted-left, so a knot takes its left segment's slope; constant
    below xs[0]; above xs[n-1] constant or continued with the last slope)."""
    x = a[0]
    if x < xs[0]:
        return const_like(a, ys[0])
    if x > xs[n - 1] and not extrapolate_right:
        return const_like(a, ys[n - 1])
    i = 0                                   # searchsorted(xs, x, 'left') - 1, clipped
    while i < n - 1 and xs[i + 1] < x:
        i += 1
    i = min(max(i, 0), n - 2)
    slope = (ys[i + 1] - ys[i]) / (xs[i + 1] - xs[i])
    return chain(a, ys[i] + slope * (x - xs[i]), slope)
