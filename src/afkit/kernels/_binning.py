"""Bin lookup of the weighted fill, written once and compiled for both backends.

Plain Python on scalars, so that :mod:`afkit.kernels._cpu` compiles it with ``numba.njit``
and :mod:`afkit.kernels._cuda` as a CUDA device function: the CPU and GPU fills put a value
in the same bin by construction.  Bin 0 is the underflow, ``nbins + 1`` the overflow; NaN
lands in the overflow (boost-histogram's convention).
"""

from __future__ import annotations

from typing import Any


def regular_bin(x: float, lo: float, hi: float, nbins: int) -> int:
    """Bin of ``x`` on ``nbins`` equal bins over ``[lo, hi)``, flow bins included."""
    z = (x - lo) / (hi - lo)
    if z < 1.0:
        if z >= 0.0:
            return int(z * nbins) + 1
        return 0
    return nbins + 1


def variable_bin(x: float, edges: Any) -> int:
    """Bin of ``x`` on the sorted ``edges``: the position of the first edge above ``x``
    (an upper-bound search; NaN compares false everywhere and lands in the overflow)."""
    first, last = 0, edges.shape[0]
    while first < last:
        middle = (first + last) // 2
        if x < edges[middle]:
            last = middle
        else:
            first = middle + 1
    return first
