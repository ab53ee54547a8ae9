"""Plain NumPy/Python meaning of every afkit kernel: the oracle the compiled backends must equal.

Jagged inputs are ``(offsets, content)`` with ``offsets[0] == 0``; outputs per event or per
object.  These are written for clarity, not speed.

Transcendental functions use libm semantics (Python's ``math``), like the Numba and CUDA
simulator backends: NumPy's vectorised ``log`` differs from libm in the last bit for ~0.3 % of
arguments, which would break bit-for-bit agreement of the smearing.
"""

from __future__ import annotations

import math
from typing import Any

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
    value_row: NDArray[np.int64] | None = None,
    selected_row: NDArray[np.int64] | None = None,
) -> None:
    """Add every selected (variation, event) entry to ``sumw[category[v], bin]`` (and w**2).

    ``weights`` is ``(variations, events)``; variation ``v`` takes its values from row
    ``value_row[v]`` of ``values`` and its selection from row ``selected_row[v]`` of
    ``selected`` (by default its own row: weight variations can share one).  ``sumw`` is
    ``(categories, nbins + 2)``.  Bins are regular (``lo``, ``hi``, ``nbins``) or, with
    ``edges``, variable.  Entries are added variation by variation, each in event order
    (the order every backend's result is defined by).
    """
    n_var, n_events = weights.shape
    rows = np.arange(n_var)
    value_row = rows if value_row is None else value_row
    selected_row = rows if selected_row is None else selected_row
    for v in range(n_var):
        for event in range(n_events):
            if selected[selected_row[v], event]:
                x = float(values[value_row[v], event])
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


def segmented_extreme(
    offsets: NDArray[np.int64], values: NDArray[Any], mask: NDArray[np.bool_], largest: bool
) -> tuple[NDArray[Any], NDArray[np.bool_]]:
    """Per event, the largest (or smallest) of ``values`` over objects with ``mask``, and
    whether there was one (the value is 0 where there was none).  NaN values are skipped,
    as awkward's ``ak.max``/``ak.min`` never return them."""
    n_events = len(offsets) - 1
    out = np.zeros(n_events, values.dtype)
    found = np.zeros(n_events, bool)
    for event in range(n_events):
        for i in range(int(offsets[event]), int(offsets[event + 1])):
            if not mask[i] or values[i] != values[i]:
                continue
            if not found[event] or (values[i] > out[event] if largest else values[i] < out[event]):
                out[event] = values[i]
                found[event] = True
    return out, found


def four_momentum(pt: float, eta: float, phi: float, mass: float) -> tuple[float, ...]:
    """(px, py, pz, E) from (pt, eta, phi, m), evaluated in the kernels' order."""
    px = pt * math.cos(phi)
    py = pt * math.sin(phi)
    pz = pt * math.sinh(eta)
    return px, py, pz, math.sqrt(px * px + py * py + pz * pz + mass * mass)


def invariant_mass(px: float, py: float, pz: float, e: float) -> float:
    """``sqrt(max(E E - px px - py py - pz pz, 0))``, in that order."""
    return math.sqrt(max(e * e - px * px - py * py - pz * pz, 0.0))


#: ``by`` codes of :func:`best_combination`.
BY_PT, BY_MASS, BY_MASS_TARGET, BY_SUM_PT = 0, 1, 2, 3


def combination_score(by: int, target: float, sums: tuple[float, ...], scalar_pt: float) -> float:
    """What :func:`best_combination` maximises for one combination."""
    px, py, pz, e = sums
    if by == BY_PT:
        return math.sqrt(px * px + py * py)
    if by == BY_SUM_PT:
        return scalar_pt
    mass = invariant_mass(px, py, pz, e)
    return mass if by == BY_MASS else -abs(mass - target)


def best_combination(
    offsets: NDArray[np.int64],
    pt: NDArray[np.float64],
    eta: NDArray[np.float64],
    phi: NDArray[np.float64],
    mass: NDArray[np.float64],
    eligible: NDArray[np.bool_],
    required: NDArray[np.bool_],
    n: int,
    require_min: int,
    by: int,
    target: float,
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Per event, the combination of ``n`` eligible objects (positions i1 < ... < in in the
    event's list) with at least ``require_min`` of them ``required`` that maximises the
    criterion ``by``; the first in lexicographic order wins ties.

    Returns ``(index, sums)``: ``index`` (events, n) the chosen local positions (-1: none),
    ``sums`` (4, events) the summed (px, py, pz, E) of the choice (NaN: none).
    """
    import itertools

    n_events = len(offsets) - 1
    index = np.full((n_events, n), -1, np.int64)
    sums = np.full((4, n_events), np.nan)
    for event in range(n_events):
        lo, hi = int(offsets[event]), int(offsets[event + 1])
        candidates = [i for i in range(lo, hi) if eligible[i]]
        best = -math.inf
        for combo in itertools.combinations(candidates, n):
            if sum(bool(required[i]) for i in combo) < require_min:
                continue
            total = [0.0, 0.0, 0.0, 0.0]
            scalar = 0.0
            for i in combo:
                p = four_momentum(float(pt[i]), float(eta[i]), float(phi[i]), float(mass[i]))
                total = [t + q for t, q in zip(total, p, strict=True)]
                scalar += float(pt[i])
            score = combination_score(by, target, tuple(total), scalar)
            if score > best:
                best = score
                index[event] = [i - lo for i in combo]
                sums[:, event] = total
    return index, sums


def pair_masses(
    offsets_a: NDArray[np.int64],
    kin_a: tuple[NDArray[np.float64], ...],
    eligible_a: NDArray[np.bool_],
    offsets_b: NDArray[np.int64] | None,
    kin_b: tuple[NDArray[np.float64], ...] | None,
    eligible_b: NDArray[np.bool_] | None,
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Invariant masses of the pairs of each event: of one collection (i < j, in
    ``ak.combinations`` order) or, with ``b``, of one object of each (``ak.cartesian``
    order); only eligible objects pair.  Returns (offsets, masses)."""
    n_events = len(offsets_a) - 1
    counts = []
    masses: list[float] = []
    for event in range(n_events):
        a = [i for i in range(int(offsets_a[event]), int(offsets_a[event + 1])) if eligible_a[i]]
        if offsets_b is None:
            pairs = [(i, j, kin_a) for x, i in enumerate(a) for j in a[x + 1 :]]
        else:
            assert kin_b is not None
            assert eligible_b is not None
            b = [
                j for j in range(int(offsets_b[event]), int(offsets_b[event + 1])) if eligible_b[j]
            ]
            pairs = [(i, j, kin_b) for i in a for j in b]
        for i, j, other in pairs:
            p = four_momentum(*(float(c[i]) for c in kin_a))
            q = four_momentum(*(float(c[j]) for c in other))
            masses.append(invariant_mass(*(x + y for x, y in zip(p, q, strict=True))))
        counts.append(len(pairs))
    out = np.zeros(n_events + 1, np.int64)
    np.cumsum(counts, out=out[1:])
    return out, np.asarray(masses, np.float64)


def delta_phi(a: float, b: float) -> float:
    """``a - b`` wrapped into [-pi, pi) as ``vector`` computes it (NumPy's remainder)."""
    return float((np.float64(a) - np.float64(b) + np.pi) % (2 * np.pi) - np.pi)


def delta_r(eta_a: float, phi_a: float, eta_b: float, phi_b: float) -> float:
    """``sqrt(dphi**2 + deta**2)`` as ``vector``'s ``deltaR``."""
    dphi = delta_phi(phi_a, phi_b)
    deta = eta_a - eta_b
    return math.sqrt(dphi * dphi + deta * deta)


def nearest(
    offsets_a: NDArray[np.int64],
    eta_a: NDArray[np.float64],
    phi_a: NDArray[np.float64],
    offsets_b: NDArray[np.int64],
    eta_b: NDArray[np.float64],
    phi_b: NDArray[np.float64],
    eligible_b: NDArray[np.bool_],
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """For every object of ``a``: the smallest ΔR to an eligible object of ``b`` in its event
    (inf if none) and that object's position in the event's list of ``b`` (-1 if none; the
    first on ties)."""
    dr = np.full(len(eta_a), np.inf)
    where = np.full(len(eta_a), -1, np.int64)
    for event in range(len(offsets_a) - 1):
        lo_b, hi_b = int(offsets_b[event]), int(offsets_b[event + 1])
        for i in range(int(offsets_a[event]), int(offsets_a[event + 1])):
            best = math.inf
            for j in range(lo_b, hi_b):
                if not eligible_b[j]:
                    continue
                dphi = delta_phi(float(phi_a[i]), float(phi_b[j]))
                deta = float(eta_a[i]) - float(eta_b[j])
                d2 = dphi * dphi + deta * deta  # compared squared: ties as the kernels see them
                if d2 < best:
                    best = d2
                    where[i] = j - lo_b
            dr[i] = math.sqrt(best)
    return dr, where
