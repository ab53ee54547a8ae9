"""Numba CPU kernels of tree-ensemble inference (cached to disk): walking the trees per row,
and the jet-permutation features with the assignment scored by that walk.

The faster forms live beside it: :mod:`afkit.kernels._trees_bits` (the assignment by leaf
bit-vectors) and :mod:`afkit.kernels._trees_levels` (plain rows in blocks, level by level);
the walk stays for what they do not take (trees of more than 64 leaves, odd node orders)
and as the reference the tests compare them with."""

from __future__ import annotations

import math

import numpy as np

from afkit._jit import njit


@njit(cache=True, nogil=True, inline="always")
def tree_sum(x, roots, first, last, left, right, feature, threshold, default_left, base):
    """Margin of one float32 row ``x`` over trees ``first..last-1``: float32 accumulation
    from ``base`` in tree order (the caller refuses infinite features)."""
    s = base
    for tree in range(first, last):
        node = roots[tree]
        while left[node] >= 0:
            value = x[feature[node]]
            if value < threshold[node] or (math.isnan(value) and default_left[node]):
                node = left[node]
            else:
                node = right[node]
        s = np.float32(s + threshold[node])
    return s


@njit(cache=True, nogil=True)
def margins(x, roots, left, right, feature, threshold, default_left, base, out):
    """``out[i]`` = margin of row ``x[i]`` (float32 2-D, C order)."""
    for row in range(x.shape[0]):
        out[row] = tree_sum(
            x[row], roots, 0, len(roots), left, right, feature, threshold, default_left, base
        )


_PI = 3.141592653589793
_TWO_PI = 6.283185307179586
MAX_JETS = 6


@njit(cache=True, nogil=True, inline="always")
def delta_r(eta_a, phi_a, eta_b, phi_b):
    """ΔR with Δφ wrapped into [-π, π) by ``d - 2π floor((d + π) / 2π)``."""
    deta = eta_a - eta_b
    d = phi_a - phi_b
    dphi = d - _TWO_PI * math.floor((d + _PI) / _TWO_PI)
    return math.sqrt(deta * deta + dphi * dphi)


@njit(cache=True, nogil=True, inline="always")
def mass_of(e, px, py, pz):
    return math.sqrt(max(e * e - px * px - py * py - pz * pz, 0.0))


@njit(cache=True, nogil=True, inline="always")
def permutation_features(f, w1, w2, bh, bl, px, py, pz, e, pt, eta, phi, btag, ntrk, lep):
    """The 20 features of permutation ``(w1, w2, bh, bl)`` into ``f`` (float64); ``lep`` =
    the lepton's (px, py, pz, E, eta, phi)."""
    f[0] = delta_r(lep[4], lep[5], eta[bl], phi[bl])
    f[1] = delta_r(eta[w1], phi[w1], eta[w2], phi[w2])
    f[2] = delta_r(eta[w1], phi[w1], eta[bh], phi[bh])
    f[3] = delta_r(eta[w2], phi[w2], eta[bh], phi[bh])
    f[4] = mass_of(lep[3] + e[bl], lep[0] + px[bl], lep[1] + py[bl], lep[2] + pz[bl])
    wx, wy, wz, we = px[w1] + px[w2], py[w1] + py[w2], pz[w1] + pz[w2], e[w1] + e[w2]
    f[5] = mass_of(we, wx, wy, wz)
    tx, ty, tz, te = wx + px[bh], wy + py[bh], wz + pz[bh], we + e[bh]
    f[6] = mass_of(te, tx, ty, tz)
    f[7] = math.sqrt(tx * tx + ty * ty)
    f[8], f[9], f[10], f[11] = pt[w1], pt[w2], pt[bh], pt[bl]
    f[12], f[13], f[14], f[15] = btag[w1], btag[w2], btag[bh], btag[bl]
    f[16], f[17], f[18], f[19] = ntrk[w1], ntrk[w2], ntrk[bh], ntrk[bl]


@njit(cache=True, nogil=True, inline="always")
def features_of(f, permutations, k, start, n, px, py, pz, e, pt, eta, phi, btag, ntrk, lep):
    """:func:`permutation_features` of row ``k`` of ``permutations`` for the event whose
    jets are ``start .. start + n - 1`` (``px .. e``: their four-momenta, event-local)."""
    jets = slice(start, start + n)
    permutation_features(
        f,
        permutations[k, 0],
        permutations[k, 1],
        permutations[k, 2],
        permutations[k, 3],
        px,
        py,
        pz,
        e,
        pt[jets],
        eta[jets],
        phi[jets],
        btag[jets],
        ntrk[jets],
        lep,
    )


@njit(cache=True, nogil=True, inline="always")
def four_momenta(start, n, pt, eta, phi, mass, px, py, pz, e):
    """``px = pt cos φ``, ``py = pt sin φ``, ``pz = pt sinh η``, ``E = sqrt(((px² + py²) +
    pz²) + m²)`` of objects ``start .. start + n - 1`` into ``px[0..n-1]`` etc."""
    for j in range(n):
        p, h, a, m = pt[start + j], eta[start + j], phi[start + j], mass[start + j]
        px[j] = p * math.cos(a)
        py[j] = p * math.sin(a)
        pz[j] = p * math.sinh(h)
        e[j] = math.sqrt(((px[j] * px[j] + py[j] * py[j]) + pz[j] * pz[j]) + m * m)


@njit(cache=True, nogil=True, inline="always")
def lepton_vector(lepton, event, lep):
    """The lepton of ``event`` as (px, py, pz, E, eta, phi) into ``lep``."""
    p, h, a, m = lepton[event, 0], lepton[event, 1], lepton[event, 2], lepton[event, 3]
    lep[0] = p * math.cos(a)
    lep[1] = p * math.sin(a)
    lep[2] = p * math.sinh(h)
    lep[3] = math.sqrt(((lep[0] * lep[0] + lep[1] * lep[1]) + lep[2] * lep[2]) + m * m)
    lep[4] = h
    lep[5] = a


@njit(cache=True, nogil=True)
def best_permutations(
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
):
    """Per event: every permutation of its first ≤ 6 jets (``permutations[first[n - 4]:
    first[n - 3]]`` for n jets) scored by model ``model[event]``; the best one's index,
    margin and 20 features out.  ``lepton`` is (events, 4): pt, eta, phi, m.  Events with
    fewer than 4 jets get index -1.  Returns the first event with an infinite feature, or
    -1."""
    n_features = features_out.shape[1]
    px = np.empty(MAX_JETS)
    py = np.empty(MAX_JETS)
    pz = np.empty(MAX_JETS)
    e = np.empty(MAX_JETS)
    lep = np.empty(6)
    f = np.empty(n_features)
    x = np.empty(n_features, np.float32)
    for event in range(len(offsets) - 1):
        start = offsets[event]
        n = min(offsets[event + 1] - start, MAX_JETS)
        index_out[event] = -1
        margin_out[event] = np.float32(np.nan)
        features_out[event, :] = np.nan
        if n < 4:
            continue
        four_momenta(start, n, pt, eta, phi, mass, px, py, pz, e)
        lepton_vector(lepton, event, lep)
        which = model[event]
        t0, t1, base = tree_first[which], tree_first[which + 1], bases[which]
        best = np.float32(-np.inf)
        k0 = first[n - 4]
        for k in range(k0, first[n - 3]):
            features_of(f, permutations, k, start, n, px, py, pz, e, pt, eta, phi, btag, ntrk, lep)
            for i in range(n_features):
                x[i] = np.float32(f[i])
                if math.isinf(x[i]):
                    return event
            s = tree_sum(x, roots, t0, t1, left, right, feature, threshold, default_left, base)
            if s > best or index_out[event] < 0:
                best = s
                index_out[event] = k - k0
                margin_out[event] = s
                features_out[event, :] = f
    return -1


@njit(cache=True, nogil=True)
def all_permutation_features(
    offsets,
    pt,
    eta,
    phi,
    mass,
    btag,
    ntrk,
    lepton,
    permutations,
    first,
    max_jets,
    row_offsets,
    out,
):
    """The 20 features of every permutation of each event's first ``min(jets, max_jets)``
    jets, in canonical order, into ``out[row_offsets[event]:row_offsets[event + 1]]``."""
    px = np.empty(MAX_JETS)
    py = np.empty(MAX_JETS)
    pz = np.empty(MAX_JETS)
    e = np.empty(MAX_JETS)
    lep = np.empty(6)
    for event in range(len(offsets) - 1):
        start = offsets[event]
        n = min(offsets[event + 1] - start, max_jets)
        if n < 4:
            continue
        four_momenta(start, n, pt, eta, phi, mass, px, py, pz, e)
        lepton_vector(lepton, event, lep)
        row = row_offsets[event]
        for k in range(first[n - 4], first[n - 3]):
            features_of(
                out[row], permutations, k, start, n, px, py, pz, e, pt, eta, phi, btag, ntrk, lep
            )
            row += 1
