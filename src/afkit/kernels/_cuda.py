"""numba.cuda implementations of the kernels (one thread per event).

Imported only when a CUDA array is passed (or under ``NUMBA_ENABLE_CUDASIM=1``, where CI runs
them on the CPU).  Arguments are device arrays or, under the simulator, NumPy arrays.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import cuda

from afkit.kernels import _binning as binning

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


def _alloc(like: Any, shape: Any, dtype: Any = np.float64) -> Any:
    """Uninitialised output on the device (and of the array kind) where ``like`` lives:
    CuPy in -> CuPy out, so element-wise CuPy code can continue on kernel results."""
    if type(like).__module__.startswith("cupy"):
        import cupy

        return cupy.empty(shape, dtype)
    if hasattr(like, "__cuda_array_interface__"):  # a numba device array
        return cuda.device_array(shape, dtype)
    return np.empty(shape, dtype)  # the CUDA simulator works on NumPy arrays


def _empty(like: Any, n: int) -> Any:
    return _alloc(like, n)


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


_regular_bin = cuda.jit(device=True, inline=True)(binning.regular_bin)
_variable_bin = cuda.jit(device=True, inline=True)(binning.variable_bin)


@cuda.jit(device=True, inline=True)
def _bin(x, lo, hi, nbins, edges):
    if edges is None:  # resolved when compiling: regular axes pay nothing for this
        return _regular_bin(x, lo, hi, nbins)
    return _variable_bin(x, edges)


@cuda.jit
def _fill_kernel(sumw, sumw2, values, weights, selected, category, lo, hi, nbins, edges):
    event = cuda.grid(1)
    if event >= values.shape[1]:
        return
    for v in range(values.shape[0]):
        if selected[v, event]:
            b = _bin(values[v, event], lo, hi, nbins, edges)
            w = weights[v, event]
            cuda.atomic.add(sumw, (category[v], b), w)
            cuda.atomic.add(sumw2, (category[v], b), w * w)


#: Bins (variations x (nbins + 2)) a block can keep in shared memory: 2 x 16 KiB of float64.
SHARED_BINS = 2048
FILL_BLOCKS_PER_SM = 8


@cuda.jit
def _fill_shared_kernel(sumw, sumw2, values, weights, selected, category, lo, hi, nbins, edges):
    # Each block accumulates the variations' bins in shared memory over a grid-stride range of
    # events, then adds its partial histogram to global memory once: global atomics scale with
    # blocks, not with entries, so contention on the few hot bins stays inside the SM.
    local_w = cuda.shared.array(SHARED_BINS, np.float64)
    local_w2 = cuda.shared.array(SHARED_BINS, np.float64)
    width = nbins + 2
    used = values.shape[0] * width
    for i in range(cuda.threadIdx.x, used, cuda.blockDim.x):
        local_w[i] = 0.0
        local_w2[i] = 0.0
    cuda.syncthreads()
    n_events = values.shape[1]
    stride = cuda.gridDim.x * cuda.blockDim.x
    for v in range(values.shape[0]):
        event = cuda.grid(1)
        while event < n_events:
            if selected[v, event]:
                b = _bin(values[v, event], lo, hi, nbins, edges)
                w = weights[v, event]
                cuda.atomic.add(local_w, v * width + b, w)
                cuda.atomic.add(local_w2, v * width + b, w * w)
            event += stride
    cuda.syncthreads()
    for i in range(cuda.threadIdx.x, used, cuda.blockDim.x):
        if local_w2[i] != 0.0:
            row = category[i // width]
            cuda.atomic.add(sumw, (row, i % width), local_w[i])
            cuda.atomic.add(sumw2, (row, i % width), local_w2[i])


def _fill_grid(n_events: int) -> int:
    try:
        sms = cuda.get_current_device().MULTIPROCESSOR_COUNT
    except AttributeError:  # the simulator has no device to ask: any grid is correct
        sms = 4
    return max(1, min(_blocks(n_events), sms * FILL_BLOCKS_PER_SM))


def fill_variations(sumw, sumw2, values, weights, selected, category, lo, hi, nbins, edges):
    n_var, n_events = values.shape
    if n_events == 0:
        return
    args = (sumw, sumw2, values, weights, selected, category, lo, hi, nbins, edges)
    if n_var * (nbins + 2) <= SHARED_BINS:
        _fill_shared_kernel[_fill_grid(n_events), THREADS * 2](*args)
    else:
        _fill_kernel[_blocks(n_events), THREADS](*args)


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
    out = _alloc(offsets, max(n_events, 1), np.int64)
    _segmented_count_kernel[_blocks(n_events), THREADS](offsets, mask, out)
    return out[:n_events]


def gather(index, content, fill):
    n = len(index)
    out = _empty(index, max(n, 1))
    _gather_kernel[_blocks(n), THREADS](index, content, fill, out)
    return out[:n]


@cuda.jit
def _leading_kernel(offsets, values, mask, out):
    event = cuda.grid(1)
    if event >= offsets.shape[0] - 1:
        return
    k = out.shape[0]
    found = 0
    for i in range(offsets[event], offsets[event + 1]):
        if found == k:
            break
        if mask[i]:
            out[found, event] = values[i]
            found += 1
    for rest in range(found, k):
        out[rest, event] = math.nan


def leading_values(offsets, values, mask, k):
    n_events = len(offsets) - 1
    shape = (k, max(n_events, 1))
    out = _alloc(offsets, shape)
    _leading_kernel[_blocks(n_events), THREADS](offsets, values, mask, out)
    return out[:, :n_events]
