"""Plain NumPy/Python meaning of every afkit kernel: the oracle the compiled backends must equal.

Jagged inputs are ``(offsets, content)`` with ``offsets[0] == 0``; outputs per event or per
object.  These are written for clarity, not speed.

Transcendental functions use libm semantics (Python's ``math``), like the Numba and CUDA
simulator backends: NumPy's vectorised ``log`` differs from libm in the last bit for ~0.3 % of
arguments, which would break bit-for-bit agreement of the smearing.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

MASK64 = (1 << 64) - 1
SPLITMIX_GAMMA = 0x9E3779B97F4A7C15
SPLITMIX_M1 = 0xBF58476D1CE4E5B9
SPLITMIX_M2 = 0x94D049BB133111EB
TWO_POW_53 = float(1 << 53)


def splitmix64(x: int) -> int:
    """The splitmix64 finaliser of spec §5, on Python ints modulo 2**64."""
    z = (x + SPLITMIX_GAMMA) & MASK64
    z = ((z ^ (z >> 30)) * SPLITMIX_M1) & MASK64
    z = ((z ^ (z >> 27)) * SPLITMIX_M2) & MASK64
    return z ^ (z >> 31)


def jet_smearing_z(event_number: int, position: int) -> float:
    """The standard-normal draw for the jet at ``position`` of event ``event_number`` (spec §5)."""
    a = splitmix64((splitmix64(event_number) + position) & MASK64)
    b = splitmix64(a)
    u1 = ((a >> 11) + 1) / TWO_POW_53
    u2 = (b >> 11) / TWO_POW_53
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


def smearing_factors(
    event_numbers: NDArray[np.uint64], offsets: NDArray[np.int64], width: float = 0.05
) -> NDArray[np.float64]:
    """``1 + width * z`` for every jet (position = index in its event's full jet list)."""
    out = np.empty(int(offsets[-1]), np.float64)
    for event, number in enumerate(event_numbers):
        for position in range(int(offsets[event + 1] - offsets[event])):
            out[offsets[event] + position] = 1.0 + width * jet_smearing_z(int(number), position)
    return out


def best_trijet_mass(
    offsets: NDArray[np.int64],
    pt: NDArray[np.float64],
    eta: NDArray[np.float64],
    phi: NDArray[np.float64],
    mass: NDArray[np.float64],
    tagged: NDArray[np.bool_],
) -> NDArray[np.float64]:
    """Per event: mass of the 3-jet system (i<j<k) with >= 1 tagged jet and the largest vector-sum
    pT; the first such combination in lexicographic order wins ties; NaN when there is none."""
    out = np.full(len(offsets) - 1, np.nan)
    px = np.array([p * math.cos(f) for p, f in zip(pt, phi, strict=True)], np.float64)
    py = np.array([p * math.sin(f) for p, f in zip(pt, phi, strict=True)], np.float64)
    pz = np.array([p * math.sinh(e) for p, e in zip(pt, eta, strict=True)], np.float64)
    energy = np.sqrt(px * px + py * py + pz * pz + mass * mass)
    for event in range(len(offsets) - 1):
        lo, hi = int(offsets[event]), int(offsets[event + 1])
        best_pt = -1.0
        for i in range(lo, hi):
            for j in range(i + 1, hi):
                for k in range(j + 1, hi):
                    if not (tagged[i] or tagged[j] or tagged[k]):
                        continue
                    sx, sy = px[i] + px[j] + px[k], py[i] + py[j] + py[k]
                    sum_pt = math.sqrt(sx * sx + sy * sy)
                    if sum_pt > best_pt:
                        best_pt = sum_pt
                        sz = pz[i] + pz[j] + pz[k]
                        se = energy[i] + energy[j] + energy[k]
                        out[event] = math.sqrt(max(se * se - sx * sx - sy * sy - sz * sz, 0.0))
    return out


def regular_bin(x: float, lo: float, hi: float, nbins: int) -> int:
    """Bin of ``x`` on a regular axis with flow bins: 0 underflow, 1..nbins, nbins+1 overflow.

    Same arithmetic as boost-histogram's regular axis (NaN goes to overflow)."""
    z = (x - lo) / (hi - lo)
    if z < 1.0:
        return int(z * nbins) + 1 if z >= 0.0 else 0
    return nbins + 1


def variable_bin(x: float, edges: NDArray[np.float64]) -> int:
    """boost-histogram's variable axis with flow bins: 0 below ``edges[0]``, ``i + 1`` for
    ``edges[i] <= x < edges[i + 1]``, ``len(edges)`` at or above the last edge and for NaN."""
    if math.isnan(x):
        return len(edges)
    return int(np.searchsorted(edges, x, side="right"))


def fill_variations(
    sumw: NDArray[np.float64],
    sumw2: NDArray[np.float64],
    values: NDArray[np.float64],
    weights: NDArray[np.float64],
    selected: NDArray[np.bool_],
    category: NDArray[np.int64],
    lo: float,
    hi: float,
    nbins: int,
    edges: NDArray[np.float64] | None = None,
) -> None:
    """Add every selected (variation, event) entry to ``sumw[category[v], bin]`` (and w**2).

    ``values``, ``weights``, ``selected`` are ``(variations, events)``; ``sumw`` is
    ``(categories, nbins + 2)``.  Bins are regular (``lo``, ``hi``, ``nbins``) or, with
    ``edges``, variable.  Entries are added variation by variation, each in event order
    (the order every backend's result is defined by).
    """
    n_var, n_events = values.shape
    for v in range(n_var):
        for event in range(n_events):
            if selected[v, event]:
                x = float(values[v, event])
                b = regular_bin(x, lo, hi, nbins) if edges is None else variable_bin(x, edges)
                w = float(weights[v, event])
                sumw[category[v], b] += w
                sumw2[category[v], b] += w * w


def segmented_sum(
    offsets: NDArray[np.int64], values: NDArray[np.float64], mask: NDArray[np.bool_]
) -> NDArray[np.float64]:
    """Per event, the sum of ``values`` over objects with ``mask`` (in object order; 0 if none)."""
    out = np.zeros(len(offsets) - 1)
    for event in range(len(offsets) - 1):
        total = 0.0
        for i in range(int(offsets[event]), int(offsets[event + 1])):
            if mask[i]:
                total += float(values[i])
        out[event] = total
    return out


def segmented_count(offsets: NDArray[np.int64], mask: NDArray[np.bool_]) -> NDArray[np.int64]:
    """Per event, the number of objects with ``mask``."""
    return np.array(
        [int(np.sum(mask[offsets[e] : offsets[e + 1]])) for e in range(len(offsets) - 1)], np.int64
    )


def gather(
    index: NDArray[np.int64], content: NDArray[np.float64], fill: float
) -> NDArray[np.float64]:
    """``content[index]`` where ``index >= 0``, else ``fill`` (e.g. b-tag values through a link)."""
    out = np.full(len(index), fill, dtype=np.float64)
    for i, j in enumerate(index):
        if j >= 0:
            out[i] = content[j]
    return out


def leading_values(
    offsets: NDArray[np.int64], values: NDArray[np.float64], mask: NDArray[np.bool_], k: int
) -> NDArray[np.float64]:
    """``(k, events)``: row ``i`` is the ``i``-th object with ``mask`` of each event (object order),
    NaN where an event has fewer (e.g. the nominal pT of the first four selected jets)."""
    out = np.full((k, len(offsets) - 1), np.nan)
    for event in range(len(offsets) - 1):
        chosen = [
            float(v)
            for v, m in zip(
                values[offsets[event] : offsets[event + 1]],
                mask[offsets[event] : offsets[event + 1]],
                strict=False,
            )
            if m
        ]
        for i, v in enumerate(chosen[:k]):
            out[i, event] = v
    return out
