"""Δφ wrapped into [-π, π) as ``vector`` computes it, written once for both backends.

vector (and so every awkward analysis) computes ``(φa − φb + π) mod 2π − π`` with NumPy's
floating-point ``mod`` (``fmod``, then the divisor added to a negative remainder).  For the
sums ``x = φa − φb + π`` that φ in [−π, π] gives, ``x`` lies in [−π, 3π], where that
remainder is ``x − 2π`` (exact: Sterbenz), ``x + 2π`` or ``x`` itself — two selects instead of
a call to ``fmod``, and bit for bit NumPy's result.  Other inputs take the ``mod`` itself.
"""

from __future__ import annotations

import math

PI = math.pi
TWO_PI = 2 * math.pi


def wrapped_delta_phi(a: float, b: float) -> float:
    """``(a - b + π) mod 2π - π``, NumPy's remainder semantics, for any ``a``, ``b``."""
    x = a - b + PI
    if -TWO_PI < x < 2 * TWO_PI:  # (as near_delta_phi; compiled code cannot call it)
        y = x - TWO_PI if x >= TWO_PI else x
        y = y + TWO_PI if x < 0.0 else y
        return y - PI
    return x % TWO_PI - PI


def near_delta_phi(a: float, b: float) -> float:
    """The same for ``a - b + π`` in (-2π, 4π), which ``|a|, |b| <= π`` guarantees: two
    selects, no division (the kernels check the range of their inputs once, beforehand)."""
    x = a - b + PI
    y = x - TWO_PI if x >= TWO_PI else x
    y = y + TWO_PI if x < 0.0 else y
    return y - PI
