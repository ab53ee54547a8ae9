"""numba.cuda implementations of the kernels (one thread per event).

Imported only when a CUDA array is passed (or under ``NUMBA_ENABLE_CUDASIM=1``, where CI runs
them on the CPU).  Arguments are device arrays or, under the simulator, NumPy arrays.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import cuda

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_TWO_POW_53 = float(1 << 53)
THREADS = 128


@cuda.jit(device=True, inline=True)
def _splitmix64(x):
    z = x + _GAMMA
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


@cuda.jit
def _smearing_kernel(event_numbers, offsets, width, out):
    event = cuda.grid(1)
    if event >= offsets.shape[0] - 1:
        return
    seed = _splitmix64(np.uint64(event_numbers[event]))
    start = offsets[event]
    for position in range(offsets[event + 1] - start):
        a = _splitmix64(seed + np.uint64(position))
        b = _splitmix64(a)
        u1 = float((a >> np.uint64(11)) + np.uint64(1)) / _TWO_POW_53
        u2 = float(b >> np.uint64(11)) / _TWO_POW_53
        z = math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)
        out[start + position] = 1.0 + width * z


@cuda.jit
def _trijet_kernel(offsets, px, py, pz, energy, tagged, out):
    event = cuda.grid(1)
    if event >= offsets.shape[0] - 1:
        return
    lo = offsets[event]
    hi = offsets[event + 1]
    best = -1.0
    result = math.nan
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
                    result = math.sqrt(max(se * se - sx * sx - sy * sy - sz * sz, 0.0))
    out[event] = result


@cuda.jit
def _four_momenta_kernel(pt, eta, phi, mass, px, py, pz, energy):
    i = cuda.grid(1)
    if i >= pt.shape[0]:
        return
    px[i] = pt[i] * math.cos(phi[i])
    py[i] = pt[i] * math.sin(phi[i])
    pz[i] = pt[i] * math.sinh(eta[i])
    energy[i] = math.sqrt(px[i] * px[i] + py[i] * py[i] + pz[i] * pz[i] + mass[i] * mass[i])


def _blocks(n: int) -> int:
    return max(1, (n + THREADS - 1) // THREADS)


def _empty(like: Any, n: int) -> Any:
    if hasattr(like, "__cuda_array_interface__"):  # real device: allocate there
        return cuda.device_array(n, np.float64)
    return np.empty(n, np.float64)


def smearing_factors(event_numbers, offsets, width):
    n_jets = int(offsets[-1])
    out = _empty(offsets, max(n_jets, 1))
    n_events = len(offsets) - 1
    _smearing_kernel[_blocks(n_events), THREADS](event_numbers, offsets, width, out)
    return out[:n_jets]


def best_trijet_mass(offsets, pt, eta, phi, mass, tagged):
    n = len(pt)
    px, py, pz, energy = (_empty(pt, max(n, 1)) for _ in range(4))
    if n:
        _four_momenta_kernel[_blocks(n), THREADS](pt, eta, phi, mass, px, py, pz, energy)
    n_events = len(offsets) - 1
    out = _empty(offsets, max(n_events, 1))
    _trijet_kernel[_blocks(n_events), THREADS](offsets, px, py, pz, energy, tagged, out)
    return out[:n_events]


@cuda.jit(device=True, inline=True)
def _regular_bin(x, lo, hi, nbins):
    z = (x - lo) / (hi - lo)
    if z < 1.0:
        if z >= 0.0:
            return int(z * nbins) + 1
        return 0
    return nbins + 1


@cuda.jit
def _fill_kernel(sumw, sumw2, values, weights, selected, category, lo, hi, nbins):
    event = cuda.grid(1)
    if event >= values.shape[1]:
        return
    for v in range(values.shape[0]):
        if selected[v, event]:
            b = _regular_bin(values[v, event], lo, hi, nbins)
            w = weights[v, event]
            cuda.atomic.add(sumw, (category[v], b), w)
            cuda.atomic.add(sumw2, (category[v], b), w * w)


def fill_variations(sumw, sumw2, values, weights, selected, category, lo, hi, nbins):
    _fill_kernel[_blocks(values.shape[1]), THREADS](
        sumw, sumw2, values, weights, selected, category, lo, hi, nbins
    )


@cuda.jit
def _segmented_sum_kernel(offsets, values, mask, out):
    event = cuda.grid(1)
    if event >= offsets.shape[0] - 1:
        return
    total = 0.0
    for i in range(offsets[event], offsets[event + 1]):
        if mask[i]:
            total += values[i]
    out[event] = total


@cuda.jit
def _segmented_count_kernel(offsets, mask, out):
    event = cuda.grid(1)
    if event >= offsets.shape[0] - 1:
        return
    count = 0
    for i in range(offsets[event], offsets[event + 1]):
        if mask[i]:
            count += 1
    out[event] = count


@cuda.jit
def _gather_kernel(index, content, fill, out):
    i = cuda.grid(1)
    if i >= index.shape[0]:
        return
    j = index[i]
    out[i] = content[j] if j >= 0 else fill


def segmented_sum(offsets, values, mask):
    n_events = len(offsets) - 1
    out = _empty(offsets, max(n_events, 1))
    _segmented_sum_kernel[_blocks(n_events), THREADS](offsets, values, mask, out)
    return out[:n_events]


def segmented_count(offsets, mask):
    n_events = len(offsets) - 1
    if hasattr(offsets, "__cuda_array_interface__"):
        out = cuda.device_array(max(n_events, 1), np.int64)
    else:
        out = np.empty(max(n_events, 1), np.int64)
    _segmented_count_kernel[_blocks(n_events), THREADS](offsets, mask, out)
    return out[:n_events]


def gather(index, content, fill):
    n = len(index)
    out = _empty(index, max(n, 1))
    _gather_kernel[_blocks(n), THREADS](index, content, fill, out)
    return out[:n]
