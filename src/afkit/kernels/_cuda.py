"""numba.cuda implementations of the kernels (one thread per event).

Imported only when a CUDA array is passed (or under ``NUMBA_ENABLE_CUDASIM=1``, where CI runs
them on the CPU).  Arguments are device arrays or, under the simulator, NumPy arrays.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import cuda

from afkit.kernels import _angles as angles
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
def _fill_kernel(
    sumw, sumw2, values, weights, selected, category, lo, hi, nbins, edges, value_row, selected_row
):
    event = cuda.grid(1)
    if event >= values.shape[1]:
        return
    for v in range(weights.shape[0]):
        if selected[selected_row[v], event]:
            b = _bin(values[value_row[v], event], lo, hi, nbins, edges)
            w = weights[v, event]
            cuda.atomic.add(sumw, (category[v], b), w)
            cuda.atomic.add(sumw2, (category[v], b), w * w)


#: Bins (variations x (nbins + 2)) a block can keep in shared memory: 2 x 16 KiB of float64.
SHARED_BINS = 2048
FILL_BLOCKS_PER_SM = 8


@cuda.jit
def _fill_shared_kernel(
    sumw, sumw2, values, weights, selected, category, lo, hi, nbins, edges, value_row, selected_row
):
    # Each block accumulates the variations' bins in shared memory over a grid-stride range of
    # events, then adds its partial histogram to global memory once: global atomics scale with
    # blocks, not with entries, so contention on the few hot bins stays inside the SM.
    local_w = cuda.shared.array(SHARED_BINS, np.float64)
    local_w2 = cuda.shared.array(SHARED_BINS, np.float64)
    width = nbins + 2
    used = weights.shape[0] * width
    for i in range(cuda.threadIdx.x, used, cuda.blockDim.x):
        local_w[i] = 0.0
        local_w2[i] = 0.0
    cuda.syncthreads()
    n_events = values.shape[1]
    stride = cuda.gridDim.x * cuda.blockDim.x
    for v in range(weights.shape[0]):
        event = cuda.grid(1)
        while event < n_events:
            if selected[selected_row[v], event]:
                b = _bin(values[value_row[v], event], lo, hi, nbins, edges)
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


def fill_variations(
    sumw, sumw2, values, weights, selected, category, lo, hi, nbins, edges, value_row, selected_row
):
    n_var, n_events = weights.shape
    if n_events == 0:
        return
    args = (
        sumw, sumw2, values, weights, selected, category, lo, hi, nbins, edges, value_row,
        selected_row,
    )  # fmt: skip
    if n_var * (nbins + 2) <= SHARED_BINS:
        _fill_shared_kernel[_fill_grid(n_events), THREADS * 2](*args)
    else:
        _fill_kernel[_blocks(n_events), THREADS](*args)


@cuda.jit
def _segmented_sum_kernel(offsets, values, mask, out):
    event = cuda.grid(1)
    if event >= offsets.shape[0] - 1:
        return
    total = out[event]  # (zero, of the output's type)
    for i in range(offsets[event], offsets[event + 1]):
        if mask[i]:
            total += values[i]
    out[event] = total


@cuda.jit
def _segmented_extreme_kernel(offsets, values, mask, largest, out, found):
    event = cuda.grid(1)
    if event >= offsets.shape[0] - 1:
        return
    have = False
    best = out[event]
    for i in range(offsets[event], offsets[event + 1]):
        x = values[i]
        if not mask[i] or x != x:
            continue
        if not have or (x > best if largest else x < best):
            best = x
            have = True
    out[event] = best
    found[event] = have


@cuda.jit(device=True, inline=True)
def _score(by, target, sx, sy, sz, se, scalar_pt):
    if by == 0:
        return math.sqrt(sx * sx + sy * sy)
    if by == 3:
        return scalar_pt
    mass = math.sqrt(max(se * se - sx * sx - sy * sy - sz * sz, 0.0))
    return mass if by == 1 else -abs(mass - target)


@cuda.jit
def _best_combination_kernel(
    offsets, px, py, pz, energy, pt, eligible, required, n, require_min, by, target, index, sums
):
    # one thread per event; the odometer walks position tuples over the eligible objects
    # (found by scanning, so no per-event scratch memory is needed beyond four positions)
    event = cuda.grid(1)
    if event >= offsets.shape[0] - 1:
        return
    lo = offsets[event]
    hi = offsets[event + 1]
    m = 0
    for i in range(lo, hi):
        if eligible[i]:
            m += 1
    for k in range(n):
        index[event, k] = -1
    for c in range(4):
        sums[c, event] = math.nan
    if m < n:
        return
    chosen = cuda.local.array(4, np.int64)  # ranks among the eligible objects
    where = cuda.local.array(4, np.int64)  # their positions in the event
    for k in range(n):
        chosen[k] = k
    best = -math.inf
    while True:
        # positions of the chosen ranks
        rank = 0
        k = 0
        for i in range(lo, hi):
            if eligible[i]:
                if k < n and rank == chosen[k]:
                    where[k] = i
                    k += 1
                rank += 1
        count = 0
        sx = 0.0
        sy = 0.0
        sz = 0.0
        se = 0.0
        scalar = 0.0
        for k in range(n):
            i = where[k]
            if required[i]:
                count += 1
            sx += px[i]
            sy += py[i]
            sz += pz[i]
            se += energy[i]
            scalar += pt[i]
        if count >= require_min:
            score = _score(by, target, sx, sy, sz, se, scalar)
            if score > best:
                best = score
                for k in range(n):
                    index[event, k] = where[k] - lo
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


@cuda.jit
def _pair_count_kernel(offsets_a, eligible_a, offsets_b, eligible_b, same, counts):
    event = cuda.grid(1)
    if event >= offsets_a.shape[0] - 1:
        return
    na = 0
    for i in range(offsets_a[event], offsets_a[event + 1]):
        if eligible_a[i]:
            na += 1
    if same:
        counts[event] = na * (na - 1) // 2
    else:
        nb = 0
        for j in range(offsets_b[event], offsets_b[event + 1]):
            if eligible_b[j]:
                nb += 1
        counts[event] = na * nb


@cuda.jit
def _pair_mass_kernel(
    offsets_a, pxa, pya, pza, ea, eligible_a, offsets_b, pxb, pyb, pzb, eb, eligible_b,
    same, out_offsets, out,
):  # fmt: skip
    event = cuda.grid(1)
    if event >= offsets_a.shape[0] - 1:
        return
    k = out_offsets[event]
    for i in range(offsets_a[event], offsets_a[event + 1]):
        if not eligible_a[i]:
            continue
        start = i + 1 if same else offsets_b[event]
        for j in range(start, offsets_b[event + 1]):
            if not eligible_b[j]:
                continue
            sx = pxa[i] + pxb[j]
            sy = pya[i] + pyb[j]
            sz = pza[i] + pzb[j]
            se = ea[i] + eb[j]
            out[k] = math.sqrt(max(se * se - sx * sx - sy * sy - sz * sz, 0.0))
            k += 1


_wrapped_delta_phi = cuda.jit(device=True, inline=True)(angles.wrapped_delta_phi)
_near_delta_phi = cuda.jit(device=True, inline=True)(angles.near_delta_phi)


@cuda.jit(device=True, inline=True)
def _delta_r2(eta_a, phi_a, eta_b, phi_b, near):
    dphi = _near_delta_phi(phi_a, phi_b) if near else _wrapped_delta_phi(phi_a, phi_b)
    deta = eta_a - eta_b
    return dphi * dphi + deta * deta


@cuda.jit
def _nearest_kernel(
    offsets_a, event_of_a, eta_a, phi_a, offsets_b, eta_b, phi_b, eligible_b, near, dr, where
):
    i = cuda.grid(1)  # one thread per object of a
    if i >= eta_a.shape[0]:
        return
    event = event_of_a[i]
    lo_b = offsets_b[event]
    best = math.inf
    found = -1
    for j in range(lo_b, offsets_b[event + 1]):
        if not eligible_b[j]:
            continue
        d2 = _delta_r2(eta_a[i], phi_a[i], eta_b[j], phi_b[j], near)
        if d2 < best:
            best = d2
            found = j - lo_b
    dr[i] = math.sqrt(best)
    where[i] = found


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


def _zeros(like: Any, shape: Any, dtype: Any = np.float64) -> Any:
    out = _alloc(like, shape, dtype)
    out[...] = 0
    return out


def segmented_sum(offsets, values, mask):
    n_events = len(offsets) - 1
    out = _zeros(offsets, max(n_events, 1), values.dtype)
    _segmented_sum_kernel[_blocks(n_events), THREADS](offsets, values, mask, out)
    return out[:n_events]


def segmented_extreme(offsets, values, mask, largest):
    n_events = len(offsets) - 1
    out = _zeros(offsets, max(n_events, 1), values.dtype)
    found = _zeros(offsets, max(n_events, 1), np.bool_)
    _segmented_extreme_kernel[_blocks(n_events), THREADS](
        offsets, values, mask, largest, out, found
    )
    return out[:n_events], found[:n_events]


def four_momenta(pt, eta, phi, mass):
    n = len(pt)
    out = _alloc(pt, (4, max(n, 1)))
    if n:
        _four_momenta_kernel[_blocks(n), THREADS](
            pt, eta, phi, mass, out[0], out[1], out[2], out[3]
        )
    return out[:, :n]


def best_combination(offsets, pt, eta, phi, mass, eligible, required, n, require_min, by, target):
    p4 = four_momenta(pt, eta, phi, mass)  # (a GPU computes every object's at once)
    n_events = len(offsets) - 1
    index = _alloc(offsets, (max(n_events, 1), n), np.int64)
    sums = _alloc(offsets, (4, max(n_events, 1)))
    _best_combination_kernel[_blocks(n_events), THREADS](
        offsets, p4[0], p4[1], p4[2], p4[3], pt, eligible, required, n, require_min, by, target,
        index, sums,
    )  # fmt: skip
    return index[:n_events], sums[:, :n_events]


def _cumsum_offsets(counts: Any) -> Any:
    """Offsets (a leading 0) from per-event counts, on the counts' device."""
    if type(counts).__module__.startswith("cupy"):
        import cupy

        out = cupy.zeros(len(counts) + 1, np.int64)
        cupy.cumsum(counts, out=out[1:])
        return out
    host = counts.copy_to_host() if hasattr(counts, "copy_to_host") else np.asarray(counts)
    out = np.zeros(len(host) + 1, np.int64)
    np.cumsum(host, out=out[1:])
    return cuda.to_device(out) if hasattr(counts, "copy_to_host") else out


def pair_counts(offsets_a, eligible_a, offsets_b, eligible_b, same):
    n_events = len(offsets_a) - 1
    counts = _zeros(offsets_a, max(n_events, 1), np.int64)
    _pair_count_kernel[_blocks(n_events), THREADS](
        offsets_a, eligible_a, offsets_b, eligible_b, same, counts
    )
    return _cumsum_offsets(counts[:n_events])


def pair_masses(offsets_a, p4a, eligible_a, offsets_b, p4b, eligible_b, same, out_offsets):
    n_events = len(offsets_a) - 1
    total = int(out_offsets[-1])
    out = _alloc(offsets_a, max(total, 1))
    _pair_mass_kernel[_blocks(n_events), THREADS](
        offsets_a, p4a[0], p4a[1], p4a[2], p4a[3], eligible_a,
        offsets_b, p4b[0], p4b[1], p4b[2], p4b[3], eligible_b, same, out_offsets, out,
    )  # fmt: skip
    return out[:total]


def _owners(offsets: Any, n: int) -> Any:
    """Each object's event, on the offsets' device (a binary search per object)."""
    if type(offsets).__module__.startswith("cupy"):
        import cupy

        return cupy.searchsorted(offsets[1:], cupy.arange(n, dtype=np.int64), side="right")
    host = offsets.copy_to_host() if hasattr(offsets, "copy_to_host") else np.asarray(offsets)
    owners = np.searchsorted(host[1:], np.arange(n, dtype=np.int64), side="right")
    return cuda.to_device(owners) if hasattr(offsets, "copy_to_host") else owners


def nearest(offsets_a, eta_a, phi_a, offsets_b, eta_b, phi_b, eligible_b, near):
    n = len(eta_a)
    dr = _alloc(eta_a, max(n, 1))
    where = _alloc(eta_a, max(n, 1), np.int64)
    if n:
        owners = _owners(offsets_a, n)
        _nearest_kernel[_blocks(n), THREADS](
            offsets_a, owners, eta_a, phi_a, offsets_b, eta_b, phi_b, eligible_b, near, dr, where
        )
    return dr[:n], where[:n]


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
