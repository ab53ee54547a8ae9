"""Compiled CPU helpers of :mod:`afkit.analysis.variations` (loaded on first use).

* :func:`two_body_mass`: :func:`afkit.analysis.pair_mass` on CPU arrays as one NumPy ufunc —
  one pass over the inputs, broadcasting as any ufunc does (so a
  :class:`~afkit.analysis.Varied` row view of an unvaried column costs nothing), instead of
  some thirty NumPy temporaries; the same operations in the same order.  An event without
  one of the objects (NaN pT) returns NaN at once, without the trigonometry.
* :func:`take_per_row`: :meth:`Varied.leading <afkit.analysis.Varied.leading>`'s gather of
  every row in one pass.
* :func:`nth_positions`: where each event's ``i``-th selected object is, in every row at
  once (a broadcast mask row read in place, never copied).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from afkit._jit import extensions_deferred, njit

_F8 = "float64(float64, float64, float64, float64, float64, float64, float64, float64)"


def _two_body_mass(pt1, eta1, phi1, m1, pt2, eta2, phi2, m2):  # type: ignore[no-untyped-def]
    if pt1 != pt1 or pt2 != pt2:  # an event without one of the objects: NaN, as computed
        return pt1 + pt2
    px1, py1, pz1 = pt1 * math.cos(phi1), pt1 * math.sin(phi1), pt1 * math.sinh(eta1)
    e1 = math.sqrt(px1 * px1 + py1 * py1 + pz1 * pz1 + m1 * m1)
    px2, py2, pz2 = pt2 * math.cos(phi2), pt2 * math.sin(phi2), pt2 * math.sinh(eta2)
    e2 = math.sqrt(px2 * px2 + py2 * py2 + pz2 * pz2 + m2 * m2)
    sx, sy, sz, se = px1 + px2, py1 + py2, pz1 + pz2, e1 + e2
    squared = se * se - sx * sx - sy * sy - sz * sz
    return math.sqrt(squared) if squared > 0.0 else (squared * 0.0 if squared != squared else 0.0)


with extensions_deferred():  # a ufunc with a signature is compiled (or loaded) here
    two_body_mass = numba.vectorize([_F8], cache=True)(_two_body_mass)


@njit(cache=True, nogil=True)
def nth_positions(offsets, flags, i, out):  # type: ignore[no-untyped-def]
    """``out[r, e]``: the position in row ``r`` of event ``e``'s ``i``-th object with
    ``flags[r, position]`` set (objects ``offsets[e] .. offsets[e + 1] - 1``), -1 if none."""
    rows, n = out.shape
    for r in range(rows):
        for e in range(n):
            found = -1
            seen = 0
            for j in range(offsets[e], offsets[e + 1]):
                if flags[r, j]:
                    if seen == i:
                        found = j
                        break
                    seen += 1
            out[r, e] = found


@njit(cache=True, nogil=True)
def take_per_row(values, positions, out):  # type: ignore[no-untyped-def]
    """``out[r, e] = values[r, positions[r, e]]``, NaN where the position is -1 (``values``
    may be a broadcast view: a row stride of 0)."""
    rows, n = positions.shape
    for r in range(rows):
        for e in range(n):
            p = positions[r, e]
            out[r, e] = values[r, p] if p >= 0 else np.nan
