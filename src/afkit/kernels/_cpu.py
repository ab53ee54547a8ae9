"""Numba CPU implementations of the kernels in :mod:`afkit.kernels.reference` (cached to disk)."""

from __future__ import annotations

import math

import numpy as np

from afkit._jit import njit
from afkit.kernels import _angles as angles
from afkit.kernels import _binning as binning

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_TWO_POW_53 = float(1 << 53)


@njit(cache=True, nogil=True, inline="always")
def splitmix64(x):
    z = x + _GAMMA
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


@njit(cache=True, nogil=True)
def smearing_factors(event_numbers, offsets, width):
    out = np.empty(offsets[-1], np.float64)
    for event in range(len(offsets) - 1):
        seed = splitmix64(np.uint64(event_numbers[event]))
        for position in range(offsets[event + 1] - offsets[event]):
            a = splitmix64(seed + np.uint64(position))
            b = splitmix64(a)
            u1 = float((a >> np.uint64(11)) + np.uint64(1)) / _TWO_POW_53
            u2 = float(b >> np.uint64(11)) / _TWO_POW_53
            z = math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)
            out[offsets[event] + position] = 1.0 + width * z
    return out


@njit(cache=True, nogil=True)
def best_trijet_mass(offsets, pt, eta, phi, mass, tagged):
    n_events = len(offsets) - 1
    out = np.full(n_events, np.nan)
    n = len(pt)
    px = np.empty(n)
    py = np.empty(n)
    pz = np.empty(n)
    energy = np.empty(n)
    for i in range(n):
        px[i] = pt[i] * math.cos(phi[i])
        py[i] = pt[i] * math.sin(phi[i])
        pz[i] = pt[i] * math.sinh(eta[i])
        energy[i] = math.sqrt(px[i] * px[i] + py[i] * py[i] + pz[i] * pz[i] + mass[i] * mass[i])
    for event in range(n_events):
        lo = offsets[event]
        hi = offsets[event + 1]
        best = -1.0
        for i in range(lo, hi):
            for j in range(i + 1, hi):
                for k in range(j + 1, hi):
                    if not (tagged[i] or tagged[j] or tagged[k]):
                        continue
                    sx = px[i] + px[j] + px[k]
                    sy = py[i] + py[j] + py[k]
                    sum_pt = math.sqrt(sx * sx + sy * sy)
                    if sum_pt > best:
                        best = sum_pt
                        sz = pz[i] + pz[j] + pz[k]
                        se = energy[i] + energy[j] + energy[k]
                        out[event] = math.sqrt(max(se * se - sx * sx - sy * sy - sz * sz, 0.0))
    return out


_wrapped_delta_phi = njit(cache=True, nogil=True, inline="always")(angles.wrapped_delta_phi)
_near_delta_phi = njit(cache=True, nogil=True, inline="always")(angles.near_delta_phi)
_regular_bin = njit(cache=True, nogil=True, inline="always")(binning.regular_bin)
_variable_bin = njit(cache=True, nogil=True, inline="always")(binning.variable_bin)


@njit(cache=True, nogil=True)
def fill_variations(
    sumw, sumw2, values, weights, selected, category, lo, hi, nbins, edges, value_row, selected_row
):
    n_var, n_events = weights.shape
    chosen = np.empty(n_events, np.int64)
    bins = np.empty(n_events, np.int64)
    last_selected = -1
    last_values = -1
    k = 0
    for v in range(n_var):  # each variation row is contiguous: stream through it
        row_w = sumw[category[v]]
        row_w2 = sumw2[category[v]]
        wv = weights[v]
        if selected_row[v] != last_selected:
            # compact the selected events without a branch (a selection is an unpredictable
            # branch: half the time here went to mispredictions), then fill them in event
            # order, so the sums are exactly those of a plain sequential fill
            sel = selected[selected_row[v]]
            k = 0
            for event in range(n_events):
                chosen[k] = event
                k += sel[event]
            last_selected = selected_row[v]
            last_values = -1
        if value_row[v] != last_values:
            # the bins of the chosen events: shared by the weight variations that follow
            x = values[value_row[v]]
            for j in range(k):
                if edges is None:  # resolved when compiling: regular axes pay nothing
                    bins[j] = _regular_bin(x[chosen[j]], lo, hi, nbins)
                else:
                    bins[j] = _variable_bin(x[chosen[j]], edges)
            last_values = value_row[v]
        for j in range(k):
            w = wv[chosen[j]]
            b = bins[j]
            row_w[b] += w
            row_w2[b] += w * w


@njit(cache=True, nogil=True)
def segmented_sum(offsets, values, mask):
    out = np.zeros(len(offsets) - 1, values.dtype)  # float64 or int64 (as called)
    for event in range(len(offsets) - 1):
        total = out[event]
        for i in range(offsets[event], offsets[event + 1]):
            if mask[i]:
                total += values[i]
        out[event] = total
    return out


@njit(cache=True, nogil=True)
def segmented_extreme(offsets, values, mask, largest):
    n_events = len(offsets) - 1
    out = np.zeros(n_events, values.dtype)
    found = np.zeros(n_events, np.bool_)
    for event in range(n_events):
        have = False
        best = out[event]
        for i in range(offsets[event], offsets[event + 1]):
            x = values[i]
            if not mask[i] or x != x:  # (NaN never wins, as in awkward's reducers)
                continue
            if not have or (x > best if largest else x < best):
                best = x
                have = True
        out[event] = best
        found[event] = have
    return out, found


@njit(cache=True, nogil=True)
def four_momenta(pt, eta, phi, mass):
    n = len(pt)
    out = np.empty((4, n))
    for i in range(n):
        px = pt[i] * math.cos(phi[i])
        py = pt[i] * math.sin(phi[i])
        pz = pt[i] * math.sinh(eta[i])
        out[0, i] = px
        out[1, i] = py
        out[2, i] = pz
        out[3, i] = math.sqrt(px * px + py * py + pz * pz + mass[i] * mass[i])
    return out


@njit(cache=True, nogil=True, inline="always")
def _score(by, target, sx, sy, sz, se, scalar_pt):
    if by == 0:  # vector-sum pT
        return math.sqrt(sx * sx + sy * sy)
    if by == 3:  # scalar sum of pT
        return scalar_pt
    mass = math.sqrt(max(se * se - sx * sx - sy * sy - sz * sz, 0.0))
    return mass if by == 1 else -abs(mass - target)


@njit(cache=True, nogil=True)
def best_combination(offsets, pt, eta, phi, mass, eligible, required, n, require_min, by, target):
    """Enumerate the combinations of ``n`` (2, 3 or 4) eligible objects per event in
    lexicographic order; keep the first with the largest score (see the reference).

    Four-momenta are computed for the eligible objects of events that can have a
    combination only (a selection usually leaves few), once per object."""
    n_events = len(offsets) - 1
    index = np.full((n_events, n), -1, np.int64)
    sums = np.full((4, n_events), np.nan)
    chosen = np.empty(4, np.int64)
    width = max(1, np.max(np.diff(offsets)) if n_events else 1)
    candidates = np.empty(width, np.int64)
    p4 = np.empty((4, width))
    for event in range(n_events):
        lo = offsets[event]
        m = 0
        for i in range(lo, offsets[event + 1]):
            if eligible[i]:
                candidates[m] = i
                m += 1
        if m < n:
            continue
        for c in range(m):
            i = candidates[c]
            px = pt[i] * math.cos(phi[i])
            py = pt[i] * math.sin(phi[i])
            pz = pt[i] * math.sinh(eta[i])
            p4[0, c] = px
            p4[1, c] = py
            p4[2, c] = pz
            p4[3, c] = math.sqrt(px * px + py * py + pz * pz + mass[i] * mass[i])
        best = -np.inf
        # an odometer over increasing position tuples: c[0] < c[1] < ... < c[n-1] < m
        for k in range(n):
            chosen[k] = k
        while True:
            count = 0
            sx = sy = sz = se = scalar = 0.0
            for k in range(n):
                c = chosen[k]
                i = candidates[c]
                count += required[i]
                sx += p4[0, c]
                sy += p4[1, c]
                sz += p4[2, c]
                se += p4[3, c]
                scalar += pt[i]
            if count >= require_min:
                score = _score(by, target, sx, sy, sz, se, scalar)
                if score > best:
                    best = score
                    for k in range(n):
                        index[event, k] = candidates[chosen[k]] - lo
                    sums[0, event] = sx
                    sums[1, event] = sy
                    sums[2, event] = sz
                    sums[3, event] = se
            k = n - 1
            while k >= 0 and chosen[k] == m - n + k:
                k -= 1
            if k < 0:
                break
            chosen[k] += 1
            for q in range(k + 1, n):
                chosen[q] = chosen[q - 1] + 1
    return index, sums


@njit(cache=True, nogil=True)
def pair_counts(offsets_a, eligible_a, offsets_b, eligible_b, same):
    n_events = len(offsets_a) - 1
    out = np.zeros(n_events + 1, np.int64)
    for event in range(n_events):
        na = 0
        for i in range(offsets_a[event], offsets_a[event + 1]):
            na += eligible_a[i]
        if same:
            pairs = na * (na - 1) // 2
        else:
            nb = 0
            for j in range(offsets_b[event], offsets_b[event + 1]):
                nb += eligible_b[j]
            pairs = na * nb
        out[event + 1] = out[event] + pairs
    return out


@njit(cache=True, nogil=True)
def pair_masses(offsets_a, p4a, eligible_a, offsets_b, p4b, eligible_b, same, out_offsets):
    out = np.empty(out_offsets[-1])
    for event in range(len(offsets_a) - 1):
        k = out_offsets[event]
        for i in range(offsets_a[event], offsets_a[event + 1]):
            if not eligible_a[i]:
                continue
            start = i + 1 if same else offsets_b[event]
            for j in range(start, offsets_b[event + 1]):
                if not eligible_b[j]:
                    continue
                sx = p4a[0, i] + p4b[0, j]
                sy = p4a[1, i] + p4b[1, j]
                sz = p4a[2, i] + p4b[2, j]
                se = p4a[3, i] + p4b[3, j]
                out[k] = math.sqrt(max(se * se - sx * sx - sy * sy - sz * sz, 0.0))
                k += 1
    return out


@njit(cache=True, nogil=True, inline="always")
def _delta_r2(eta_a, phi_a, eta_b, phi_b, near):
    # every |phi| <= pi (checked by the caller): the cheaper exact form
    dphi = _near_delta_phi(phi_a, phi_b) if near else _wrapped_delta_phi(phi_a, phi_b)
    deta = eta_a - eta_b
    return dphi * dphi + deta * deta


@njit(cache=True, nogil=True)
def nearest(offsets_a, eta_a, phi_a, offsets_b, eta_b, phi_b, eligible_b, near):
    dr = np.empty(len(eta_a))
    where = np.empty(len(eta_a), np.int64)
    every = eligible_b is None
    for event in range(len(offsets_a) - 1):
        lo_b = offsets_b[event]
        hi_b = offsets_b[event + 1]
        for i in range(offsets_a[event], offsets_a[event + 1]):
            eta, phi = eta_a[i], phi_a[i]
            best = np.inf  # (ΔR², whose order is ΔR's: one square root per object of a)
            found = -1
            for j in range(lo_b, hi_b):
                if not every and not eligible_b[j]:
                    continue
                d2 = _delta_r2(eta, phi, eta_b[j], phi_b[j], near)
                if d2 < best:
                    best = d2
                    found = j - lo_b
            dr[i] = math.sqrt(best)
            where[i] = found
    return dr, where


@njit(cache=True, nogil=True)
def segmented_count(offsets, mask):
    # a running count over all objects, then its differences at the event boundaries: three
    # times faster than a count per event for the few objects events have
    running = np.empty(len(mask) + 1, np.int64)
    running[0] = 0
    total = 0
    for i in range(len(mask)):
        total += mask[i]
        running[i + 1] = total
    out = np.empty(len(offsets) - 1, np.int64)
    for event in range(len(offsets) - 1):
        out[event] = running[offsets[event + 1]] - running[offsets[event]]
    return out


@njit(cache=True, nogil=True)
def gather(index, content, fill):
    out = np.empty(len(index))
    for i in range(len(index)):
        j = index[i]
        out[i] = content[j] if j >= 0 else fill
    return out


@njit(cache=True, nogil=True)
def leading_values(offsets, values, mask, k):
    return leading_counted(offsets, values, mask, k)[0]


@njit(cache=True, nogil=True)
def leading_counted(offsets, values, mask, k):
    """:func:`leading_values` (float64 whatever the values' type) and, per event, how many
    of the ``k`` slots are filled — one pass, stopping at each event's ``k``-th object."""
    n_events = len(offsets) - 1
    out = np.full((k, n_events), np.nan)
    filled = np.empty(n_events, np.int64)
    for event in range(n_events):
        found = 0
        for i in range(offsets[event], offsets[event + 1]):
            if found == k:
                break
            if mask[i]:
                out[found, event] = values[i]
                found += 1
        filled[event] = found
    return out, filled
