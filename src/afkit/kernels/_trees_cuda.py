"""numba.cuda kernels of tree-ensemble inference: one thread per row, the CPU kernels' steps.

Also runs under Numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``) on NumPy arrays.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import cuda

THREADS = 128


def _blocks(n: int) -> int:
    return max(1, (n + THREADS - 1) // THREADS)


def _alloc(like: Any, n: int, dtype: Any) -> Any:
    """An uninitialised output of the kind ``like`` is: CuPy, a numba device array, or NumPy
    (the simulator)."""
    if type(like).__module__.startswith("cupy"):
        import cupy

        return cupy.empty(n, dtype)
    if hasattr(like, "__cuda_array_interface__"):
        return cuda.device_array(n, dtype)
    return np.empty(n, dtype)


@cuda.jit(device=True, inline=True)
def tree_sum(x, row, roots, first, last, left, right, feature, threshold, default_left, base):
    """As :func:`afkit.kernels._trees_cpu.tree_sum`, for row ``row`` of the 2-D ``x``."""
    s = base
    for tree in range(first, last):
        node = roots[tree]
        while left[node] >= 0:
            value = x[row, feature[node]]
            if math.isnan(value):
                node = left[node] if default_left[node] else right[node]
            elif value < threshold[node]:
                node = left[node]
            else:
                node = right[node]
        s = np.float32(s + threshold[node])
    return s


@cuda.jit
def _margins_kernel(x, roots, left, right, feature, threshold, default_left, base, out):
    row = cuda.grid(1)
    if row < x.shape[0]:
        out[row] = tree_sum(
            x,
            row,
            roots,
            0,
            roots.shape[0],
            left,
            right,
            feature,
            threshold,
            default_left,
            base[0],
        )


def margins(x: Any, arrays: tuple[Any, ...], base: Any) -> Any:
    """Margins of the float32 rows ``x`` (a device array) with the model's device
    ``arrays`` (roots, left, right, feature, threshold, default_left) and ``base`` (1 value)."""
    out = _alloc(x, x.shape[0], np.float32)
    if x.shape[0]:
        _margins_kernel[_blocks(x.shape[0]), THREADS](x, *arrays, base, out)
    return out


_PI = 3.141592653589793
_TWO_PI = 6.283185307179586
_MAX_JETS = 6
_FEATURES = 20


@cuda.jit(device=True, inline=True)
def _delta_r(eta_a, phi_a, eta_b, phi_b):
    deta = eta_a - eta_b
    d = phi_a - phi_b
    dphi = d - _TWO_PI * math.floor((d + _PI) / _TWO_PI)
    return math.sqrt(deta * deta + dphi * dphi)


@cuda.jit(device=True, inline=True)
def _mass(e, px, py, pz):
    return math.sqrt(max(e * e - px * px - py * py - pz * pz, 0.0))


@cuda.jit
def _best_permutations_kernel(
    offsets,
    pt,
    eta,
    phi,
    mass,
    btag,
    ntrk,
    lepton,
    model,
    permutations,
    first,
    roots,
    tree_first,
    left,
    right,
    feature,
    threshold,
    default_left,
    bases,
    features_out,
    index_out,
    margin_out,
    bad,
):
    """One thread per event: :func:`afkit.kernels._trees_cpu.best_permutations`'s steps."""
    event = cuda.grid(1)
    if event >= offsets.shape[0] - 1:
        return
    start = offsets[event]
    n = min(offsets[event + 1] - start, _MAX_JETS)
    index_out[event] = -1
    margin_out[event] = math.nan
    for i in range(_FEATURES):
        features_out[event, i] = math.nan
    if n < 4:
        return
    px = cuda.local.array(_MAX_JETS, np.float64)
    py = cuda.local.array(_MAX_JETS, np.float64)
    pz = cuda.local.array(_MAX_JETS, np.float64)
    en = cuda.local.array(_MAX_JETS, np.float64)
    f = cuda.local.array(_FEATURES, np.float64)
    x = cuda.local.array((1, _FEATURES), np.float32)
    for j in range(n):
        p, h, a, m = pt[start + j], eta[start + j], phi[start + j], mass[start + j]
        px[j] = p * math.cos(a)
        py[j] = p * math.sin(a)
        pz[j] = p * math.sinh(h)
        en[j] = math.sqrt(((px[j] * px[j] + py[j] * py[j]) + pz[j] * pz[j]) + m * m)
    p, h, a, m = lepton[event, 0], lepton[event, 1], lepton[event, 2], lepton[event, 3]
    lx = p * math.cos(a)
    ly = p * math.sin(a)
    lz = p * math.sinh(h)
    le = math.sqrt(((lx * lx + ly * ly) + lz * lz) + m * m)
    which = model[event]
    t0, t1, base = tree_first[which], tree_first[which + 1], bases[which]
    best = np.float32(-math.inf)
    k0 = first[n - 4]
    for k in range(k0, first[n - 3]):
        w1, w2 = permutations[k, 0], permutations[k, 1]
        bh, bl = permutations[k, 2], permutations[k, 3]
        a1, a2, ah, al = start + w1, start + w2, start + bh, start + bl
        f[0] = _delta_r(h, a, eta[al], phi[al])
        f[1] = _delta_r(eta[a1], phi[a1], eta[a2], phi[a2])
        f[2] = _delta_r(eta[a1], phi[a1], eta[ah], phi[ah])
        f[3] = _delta_r(eta[a2], phi[a2], eta[ah], phi[ah])
        f[4] = _mass(le + en[bl], lx + px[bl], ly + py[bl], lz + pz[bl])
        wx, wy, wz, we = px[w1] + px[w2], py[w1] + py[w2], pz[w1] + pz[w2], en[w1] + en[w2]
        f[5] = _mass(we, wx, wy, wz)
        tx, ty, tz, te = wx + px[bh], wy + py[bh], wz + pz[bh], we + en[bh]
        f[6] = _mass(te, tx, ty, tz)
        f[7] = math.sqrt(tx * tx + ty * ty)
        f[8], f[9], f[10], f[11] = pt[a1], pt[a2], pt[ah], pt[al]
        f[12], f[13], f[14], f[15] = btag[a1], btag[a2], btag[ah], btag[al]
        f[16], f[17], f[18], f[19] = ntrk[a1], ntrk[a2], ntrk[ah], ntrk[al]
        for i in range(_FEATURES):
            x[0, i] = np.float32(f[i])
            if math.isinf(x[0, i]):
                bad[0] = 1
                return
        s = tree_sum(x, 0, roots, t0, t1, left, right, feature, threshold, default_left, base)
        if s > best or index_out[event] < 0:
            best = s
            index_out[event] = k - k0
            margin_out[event] = s
            for i in range(_FEATURES):
                features_out[event, i] = f[i]


def best_permutations(
    offsets: Any,
    pt: Any,
    eta: Any,
    phi: Any,
    mass: Any,
    btag: Any,
    ntrk: Any,
    lepton: Any,
    model: Any,
    tables: tuple[Any, ...],
) -> tuple[Any, Any, Any, bool]:
    """Device arrays in; (features, index, margin, any infinite feature) out.  ``tables``:
    permutations, first, roots, tree_first, left, right, feature, threshold, default_left,
    bases (device arrays)."""
    n_events = offsets.shape[0] - 1
    if type(offsets).__module__.startswith("cupy"):
        import cupy

        features = cupy.empty((n_events, _FEATURES), np.float64)
        bad = cupy.zeros(1, np.int32)
    elif hasattr(offsets, "__cuda_array_interface__"):
        features = cuda.device_array((n_events, _FEATURES), np.float64)
        bad = cuda.to_device(np.zeros(1, np.int32))
    else:
        features = np.empty((n_events, _FEATURES), np.float64)
        bad = np.zeros(1, np.int32)
    index = _alloc(offsets, n_events, np.int64)
    margin = _alloc(offsets, n_events, np.float32)
    if n_events:
        _best_permutations_kernel[_blocks(n_events), THREADS](
            offsets,
            pt,
            eta,
            phi,
            mass,
            btag,
            ntrk,
            lepton,
            model,
            *tables,
            features,
            index,
            margin,
            bad,
        )
    flagged = bool(int(bad[0])) if not hasattr(bad, "copy_to_host") else bool(bad.copy_to_host()[0])
    return features, index, margin, flagged
