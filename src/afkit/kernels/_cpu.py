"""Numba CPU implementations of the kernels in :mod:`afkit.kernels.reference` (cached to disk)."""

from __future__ import annotations

import math

import numba
import numpy as np

from afkit.kernels import _binning as binning

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_TWO_POW_53 = float(1 << 53)


@numba.njit(cache=True, nogil=True, inline="always")
def splitmix64(x):
    z = x + _GAMMA
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


@numba.njit(cache=True, nogil=True)
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


@numba.njit(cache=True, nogil=True)
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


_regular_bin = numba.njit(cache=True, nogil=True, inline="always")(binning.regular_bin)
_variable_bin = numba.njit(cache=True, nogil=True, inline="always")(binning.variable_bin)


@numba.njit(cache=True, nogil=True)
def fill_variations(sumw, sumw2, values, weights, selected, category, lo, hi, nbins, edges):
    n_var, n_events = values.shape
    chosen = np.empty(n_events, np.int64)
    for v in range(n_var):  # each variation row is contiguous: stream through it
        row_w = sumw[category[v]]
        row_w2 = sumw2[category[v]]
        x = values[v]
        wv = weights[v]
        sel = selected[v]
        # compact the selected events without a branch (a selection is an unpredictable
        # branch: half the time here went to mispredictions), then fill them in event order,
        # so the sums are exactly those of a plain sequential fill
        k = 0
        for event in range(n_events):
            chosen[k] = event
            k += sel[event]
        for j in range(k):
            event = chosen[j]
            if edges is None:  # resolved when compiling: regular axes pay nothing for this
                b = _regular_bin(x[event], lo, hi, nbins)
            else:
                b = _variable_bin(x[event], edges)
            w = wv[event]
            row_w[b] += w
            row_w2[b] += w * w


@numba.njit(cache=True, nogil=True)
def segmented_sum(offsets, values, mask):
    out = np.zeros(len(offsets) - 1)
    for event in range(len(offsets) - 1):
        total = 0.0
        for i in range(offsets[event], offsets[event + 1]):
            if mask[i]:
                total += values[i]
        out[event] = total
    return out


@numba.njit(cache=True, nogil=True)
def segmented_count(offsets, mask):
    out = np.zeros(len(offsets) - 1, np.int64)
    for event in range(len(offsets) - 1):
        count = 0
        for i in range(offsets[event], offsets[event + 1]):
            if mask[i]:
                count += 1
        out[event] = count
    return out


@numba.njit(cache=True, nogil=True)
def gather(index, content, fill):
    out = np.empty(len(index))
    for i in range(len(index)):
        j = index[i]
        out[i] = content[j] if j >= 0 else fill
    return out


@numba.njit(cache=True, nogil=True)
def leading_values(offsets, values, mask, k):
    n_events = len(offsets) - 1
    out = np.full((k, n_events), np.nan)
    for event in range(n_events):
        found = 0
        for i in range(offsets[event], offsets[event + 1]):
            if found == k:
                break
            if mask[i]:
                out[found, event] = values[i]
                found += 1
    return out
