"""Numba CPU kernels of tree-ensemble inference (cached to disk)."""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np
from numba.cpython.unsafe.numbers import trailing_zeros as _trailing_zeros

#: Index of the lowest set bit (an LLVM ``cttz``); typed for mypy as what it is in Python.
trailing_zeros: Any = _trailing_zeros


@numba.njit(cache=True, nogil=True, inline="always")
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


@numba.njit(cache=True, nogil=True)
def margins(x, roots, left, right, feature, threshold, default_left, base, out):
    """``out[i]`` = margin of row ``x[i]`` (float32 2-D, C order)."""
    for row in range(x.shape[0]):
        out[row] = tree_sum(
            x[row], roots, 0, len(roots), left, right, feature, threshold, default_left, base
        )


_PI = 3.141592653589793
_TWO_PI = 6.283185307179586
_MAX_JETS = 6


@numba.njit(cache=True, nogil=True, inline="always")
def delta_r(eta_a, phi_a, eta_b, phi_b):
    """ΔR with Δφ wrapped into [-π, π) by ``d - 2π floor((d + π) / 2π)``."""
    deta = eta_a - eta_b
    d = phi_a - phi_b
    dphi = d - _TWO_PI * math.floor((d + _PI) / _TWO_PI)
    return math.sqrt(deta * deta + dphi * dphi)


@numba.njit(cache=True, nogil=True, inline="always")
def mass_of(e, px, py, pz):
    return math.sqrt(max(e * e - px * px - py * py - pz * pz, 0.0))


@numba.njit(cache=True, nogil=True, inline="always")
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


@numba.njit(cache=True, nogil=True, inline="always")
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


@numba.njit(cache=True, nogil=True, inline="always")
def four_momenta(start, n, pt, eta, phi, mass, px, py, pz, e):
    """``px = pt cos φ``, ``py = pt sin φ``, ``pz = pt sinh η``, ``E = sqrt(((px² + py²) +
    pz²) + m²)`` of objects ``start .. start + n - 1`` into ``px[0..n-1]`` etc."""
    for j in range(n):
        p, h, a, m = pt[start + j], eta[start + j], phi[start + j], mass[start + j]
        px[j] = p * math.cos(a)
        py[j] = p * math.sin(a)
        pz[j] = p * math.sinh(h)
        e[j] = math.sqrt(((px[j] * px[j] + py[j] * py[j]) + pz[j] * pz[j]) + m * m)


@numba.njit(cache=True, nogil=True, inline="always")
def lepton_vector(lepton, event, lep):
    """The lepton of ``event`` as (px, py, pz, E, eta, phi) into ``lep``."""
    p, h, a, m = lepton[event, 0], lepton[event, 1], lepton[event, 2], lepton[event, 3]
    lep[0] = p * math.cos(a)
    lep[1] = p * math.sin(a)
    lep[2] = p * math.sinh(h)
    lep[3] = math.sqrt(((lep[0] * lep[0] + lep[1] * lep[1]) + lep[2] * lep[2]) + m * m)
    lep[4] = h
    lep[5] = a


@numba.njit(cache=True, nogil=True)
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
    px = np.empty(_MAX_JETS)
    py = np.empty(_MAX_JETS)
    pz = np.empty(_MAX_JETS)
    e = np.empty(_MAX_JETS)
    lep = np.empty(6)
    f = np.empty(n_features)
    x = np.empty(n_features, np.float32)
    for event in range(len(offsets) - 1):
        start = offsets[event]
        n = min(offsets[event + 1] - start, _MAX_JETS)
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


@numba.njit(cache=True, nogil=True)
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
    px = np.empty(_MAX_JETS)
    py = np.empty(_MAX_JETS)
    pz = np.empty(_MAX_JETS)
    e = np.empty(_MAX_JETS)
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


# --- Leaf bit-vectors: the assignment scored without walking a tree per permutation -------
#
# Number each tree's leaves left to right (at most 64, one bit each).  An inner node whose
# test fails (the row goes right) rules out every leaf of its left subtree; the leaf a row
# reaches is the leftmost one that no failing node rules out.  So a tree's exit leaf is the
# lowest set bit of the AND, over its inner nodes, of "all ones" (test passes) or the node's
# mask (test fails), and the ANDs may be taken in any order and grouped.  Per event, the
# nodes testing a feature of one jet (pt, b-tag, tracks, and the lepton-bl ΔR and mass) are
# evaluated once per jet and role, the W's ΔR and mass once per (w1, w2), ΔR(w1, bh) and
# ΔR(w2, bh) once per ordered pair, the hadronic top's mass and pT once per (w1, w2, bh); a
# permutation then costs one AND, a bit scan and a float32 add per tree.  Within a feature
# the nodes are sorted by threshold, so a value visits only the nodes it fails.  (For plain
# rows this is no faster than walking the trees: every row pays every failing node.)

_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)
MAX_LEAVES = 64


@numba.njit(cache=True, nogil=True)
def leaf_tables(roots, tree_first, left, right, feature, threshold, default_left, n_features):
    """The bit-vector form of a pool of models (see above), or ``ok = False`` when a tree
    has more than 64 leaves.  Returns ``(ok, leaf_value (trees, 64), feature_start
    (models * n_features + 1), node_tree (tree within its model), node_threshold,
    node_default_left, node_mask)``: the inner nodes grouped by (model, feature)."""
    n_trees = len(roots)
    n_models = len(tree_first) - 1
    n_nodes = len(left)
    leaf_value = np.zeros((n_trees, MAX_LEAVES), np.float32)
    low = np.zeros(n_nodes, np.int64)
    high = np.zeros(n_nodes, np.int64)
    parent_of_right = np.full(n_nodes, -1, np.int64)
    for node in range(n_nodes):
        if left[node] >= 0:
            parent_of_right[right[node]] = node
    stack = np.empty(n_nodes + 1, np.int64)
    model_of_tree = np.empty(n_trees, np.int64)
    for m in range(n_models):
        for t in range(tree_first[m], tree_first[m + 1]):
            model_of_tree[t] = m
    counts = np.zeros(n_models * n_features + 1, np.int64)
    for t in range(n_trees):
        leaves = 0
        depth = 1
        stack[0] = roots[t]
        while depth > 0:
            depth -= 1
            node = stack[depth]
            if parent_of_right[node] >= 0:
                high[parent_of_right[node]] = leaves
            if left[node] < 0:
                if leaves == MAX_LEAVES:
                    return (
                        False,
                        leaf_value,
                        counts,
                        np.empty(0, np.int32),
                        np.empty(0, np.float32),
                        np.empty(0, np.uint8),
                        np.empty(0, np.uint64),
                    )
                leaf_value[t, leaves] = threshold[node]
                leaves += 1
            else:
                low[node] = leaves
                counts[model_of_tree[t] * n_features + feature[node] + 1] += 1
                stack[depth] = right[node]
                stack[depth + 1] = left[node]
                depth += 2
    feature_start = np.cumsum(counts)
    n_inner = feature_start[-1]
    node_tree = np.empty(n_inner, np.int32)
    node_threshold = np.empty(n_inner, np.float32)
    node_default_left = np.empty(n_inner, np.uint8)
    node_mask = np.empty(n_inner, np.uint64)
    fill = feature_start[:-1].copy()
    for t in range(n_trees):
        m = model_of_tree[t]
        end = roots[t + 1] if t + 1 < n_trees else n_nodes
        for node in range(roots[t], end):
            if left[node] < 0:
                continue
            slot = fill[m * n_features + feature[node]]
            fill[m * n_features + feature[node]] += 1
            width = np.uint64(high[node] - low[node])
            ones = (np.uint64(1) << width) - np.uint64(1)
            node_tree[slot] = t - tree_first[m]
            node_threshold[slot] = threshold[node]
            node_default_left[slot] = default_left[node]
            node_mask[slot] = _ALL ^ (ones << np.uint64(low[node]))
    for g in range(len(feature_start) - 1):
        a, b = feature_start[g], feature_start[g + 1]
        order = np.argsort(node_threshold[a:b], kind="mergesort") + a
        node_tree[a:b] = node_tree[order]
        node_threshold[a:b] = node_threshold[order]
        node_default_left[a:b] = node_default_left[order]
        node_mask[a:b] = node_mask[order]
    return (
        True,
        leaf_value,
        feature_start,
        node_tree,
        node_threshold,
        node_default_left,
        node_mask,
    )


@numba.njit(cache=True, nogil=True, inline="always")
def apply_nodes(value, begin, end, node_tree, node_threshold, node_default_left, node_mask, bits):
    """AND into ``bits[tree]`` the masks of nodes ``begin..end-1`` (one feature, sorted by
    threshold) that ``value`` fails; returns whether ``float32(value)`` is infinite.  A value
    fails the nodes with ``threshold <= x``, a prefix of the sorted run; a NaN fails those
    whose default is right."""
    x = np.float32(value)
    if x != x:
        for i in range(begin, end):
            if node_default_left[i] == 0:
                bits[node_tree[i]] &= node_mask[i]
        return False
    for i in range(begin, end):
        if node_threshold[i] > x:
            break
        bits[node_tree[i]] &= node_mask[i]
    return math.isinf(x)


# Features of one jet in each role, by column (FEATURE_NAMES): pt, b-tag, tracks.
_W1_COLUMNS = (8, 12, 16)
_W2_COLUMNS = (9, 13, 17)
_BH_COLUMNS = (10, 14, 18)
_BL_COLUMNS = (11, 15, 19)


@numba.njit(cache=True, nogil=True, inline="always")
def jet_role_bits(j, columns, pt, btag, ntrk, start, fs, feature_start, nodes, bits):
    """``bits`` of jet ``j`` (event-local) in a role: its pt, b-tag and track-count nodes."""
    node_tree, node_threshold, node_default_left, node_mask = nodes
    bad = False
    for c, value in (
        (columns[0], pt[start + j]),
        (columns[1], btag[start + j]),
        (columns[2], ntrk[start + j]),
    ):
        bad |= apply_nodes(
            value,
            feature_start[fs + c],
            feature_start[fs + c + 1],
            node_tree,
            node_threshold,
            node_default_left,
            node_mask,
            bits,
        )
    return bad


@numba.njit(cache=True, nogil=True)
def best_permutations_bits(
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
    tree_first,
    bases,
    leaf_value,
    feature_start,
    node_tree,
    node_threshold,
    node_default_left,
    node_mask,
    features_out,
    index_out,
    margin_out,
):
    """:func:`best_permutations` by leaf bit-vectors (the tables of :func:`leaf_tables`):
    the same indices, margins and features, bit for bit."""
    n_features = features_out.shape[1]
    nodes = (node_tree, node_threshold, node_default_left, node_mask)
    max_trees = 0
    for m in range(len(tree_first) - 1):
        max_trees = max(max_trees, tree_first[m + 1] - tree_first[m])
    role = np.empty((4, _MAX_JETS, max_trees), np.uint64)
    hadronic = np.empty((2, _MAX_JETS, _MAX_JETS, max_trees), np.uint64)
    pair = np.empty(max_trees, np.uint64)
    triple = np.empty(max_trees, np.uint64)
    scores = np.empty(3, np.float32)
    px = np.empty(_MAX_JETS)
    py = np.empty(_MAX_JETS)
    pz = np.empty(_MAX_JETS)
    e = np.empty(_MAX_JETS)
    lep = np.empty(6)
    f = np.empty(n_features)
    for event in range(len(offsets) - 1):
        start = offsets[event]
        n = min(offsets[event + 1] - start, _MAX_JETS)
        index_out[event] = -1
        margin_out[event] = np.float32(np.nan)
        features_out[event, :] = np.nan
        if n < 4:
            continue
        four_momenta(start, n, pt, eta, phi, mass, px, py, pz, e)
        lepton_vector(lepton, event, lep)
        which = model[event]
        t0 = tree_first[which]
        nt = tree_first[which + 1] - t0
        base = bases[which]
        fs = which * n_features
        bad = False
        for j in range(n):
            role[:, j, :nt] = _ALL
            bad |= jet_role_bits(
                j, _W1_COLUMNS, pt, btag, ntrk, start, fs, feature_start, nodes, role[0, j]
            )
            bad |= jet_role_bits(
                j, _W2_COLUMNS, pt, btag, ntrk, start, fs, feature_start, nodes, role[1, j]
            )
            bad |= jet_role_bits(
                j, _BH_COLUMNS, pt, btag, ntrk, start, fs, feature_start, nodes, role[2, j]
            )
            bad |= jet_role_bits(
                j, _BL_COLUMNS, pt, btag, ntrk, start, fs, feature_start, nodes, role[3, j]
            )
            lepton_bl = (
                delta_r(lep[4], lep[5], eta[start + j], phi[start + j]),
                mass_of(lep[3] + e[j], lep[0] + px[j], lep[1] + py[j], lep[2] + pz[j]),
            )
            for c, value in ((0, lepton_bl[0]), (4, lepton_bl[1])):
                bad |= apply_nodes(
                    value,
                    feature_start[fs + c],
                    feature_start[fs + c + 1],
                    node_tree,
                    node_threshold,
                    node_default_left,
                    node_mask,
                    role[3, j],
                )
        # ΔR(w1, bh) and ΔR(w2, bh) depend on a pair of jets: once per ordered pair
        for a in range(n):
            for h in range(n):
                if a == h:
                    continue
                hadronic[0, a, h, :nt] = _ALL
                hadronic[1, a, h, :nt] = _ALL
                d = delta_r(eta[start + a], phi[start + a], eta[start + h], phi[start + h])
                for c in (2, 3):
                    bad |= apply_nodes(
                        d,
                        feature_start[fs + c],
                        feature_start[fs + c + 1],
                        node_tree,
                        node_threshold,
                        node_default_left,
                        node_mask,
                        hadronic[c - 2, a, h],
                    )
        best = np.float32(-np.inf)
        k0 = first[n - 4]
        per_triple = n - 3
        for k in range(k0, first[n - 3], per_triple):
            w1, w2, bh = permutations[k, 0], permutations[k, 1], permutations[k, 2]
            wx, wy, wz, we = px[w1] + px[w2], py[w1] + py[w2], pz[w1] + pz[w2], e[w1] + e[w2]
            e1, a1 = eta[start + w1], phi[start + w1]
            e2, a2 = eta[start + w2], phi[start + w2]
            if k == k0 or permutations[k - 1, 0] != w1 or permutations[k - 1, 1] != w2:
                for t in range(nt):
                    pair[t] = role[0, w1, t] & role[1, w2, t]
                for c, value in ((1, delta_r(e1, a1, e2, a2)), (5, mass_of(we, wx, wy, wz))):
                    bad |= apply_nodes(
                        value,
                        feature_start[fs + c],
                        feature_start[fs + c + 1],
                        node_tree,
                        node_threshold,
                        node_default_left,
                        node_mask,
                        pair,
                    )
            d1, d2 = hadronic[0, w1, bh], hadronic[1, w2, bh]
            for t in range(nt):
                triple[t] = pair[t] & role[2, bh, t] & d1[t] & d2[t]
            tx, ty, tz, te = wx + px[bh], wy + py[bh], wz + pz[bh], we + e[bh]
            for c, value in ((6, mass_of(te, tx, ty, tz)), (7, math.sqrt(tx * tx + ty * ty))):
                bad |= apply_nodes(
                    value,
                    feature_start[fs + c],
                    feature_start[fs + c + 1],
                    node_tree,
                    node_threshold,
                    node_default_left,
                    node_mask,
                    triple,
                )
            # the n - 3 ≤ 3 choices of bl, three float32 sums kept in registers (a
            # missing third or second bl repeats the first and is not read)
            r0 = role[3, permutations[k, 3]]
            r1 = role[3, permutations[k + min(1, per_triple - 1), 3]]
            r2 = role[3, permutations[k + min(2, per_triple - 1), 3]]
            s0 = s1 = s2 = base
            for t in range(nt):
                row = leaf_value[t0 + t]
                common = triple[t]
                s0 = np.float32(s0 + row[trailing_zeros(common & r0[t])])
                s1 = np.float32(s1 + row[trailing_zeros(common & r1[t])])
                s2 = np.float32(s2 + row[trailing_zeros(common & r2[t])])
            scores[0], scores[1], scores[2] = s0, s1, s2
            for b in range(per_triple):
                if scores[b] > best or index_out[event] < 0:
                    best = scores[b]
                    index_out[event] = k + b - k0
                    margin_out[event] = scores[b]
        if bad:
            return event
        k = k0 + index_out[event]
        features_of(f, permutations, k, start, n, px, py, pz, e, pt, eta, phi, btag, ntrk, lep)
        features_out[event, :] = f
    return -1


# --- Rows in blocks, every tree level by level: the plain-rows margins --------------------
#
# Walking one row through one tree is a chain of unpredictable branches.  Instead a block of
# rows goes through a tree together, one level at a time, each row's next node chosen by a
# select rather than a branch; leaves point to themselves, so a row that reached its leaf
# stays there for the remaining levels.  The nodes are packed one record each (children,
# feature with the default-left flag in bit 16, threshold or leaf value).  Same decisions,
# same float32 sums in tree order: the same margins as :func:`margins`.

LEVEL_BLOCK = 16
NODE_RECORD = np.dtype(
    [("left", np.int32), ("right", np.int32), ("feature", np.int32), ("value", np.float32)],
    align=True,
)


@numba.njit(cache=True, nogil=True)
def level_tables(roots, left, right, feature, threshold, default_left, records, depths):
    """Fill ``records`` (one :data:`NODE_RECORD` per node; a leaf's children are itself)
    and ``depths`` (each tree's depth: how many levels a row descends)."""
    n_nodes = len(left)
    for node in range(n_nodes):
        leaf = left[node] < 0
        records[node].left = node if leaf else left[node]
        records[node].right = node if leaf else right[node]
        records[node].feature = 0 if leaf else feature[node] | (np.int32(default_left[node]) << 16)
        records[node].value = threshold[node]
    level = np.zeros(n_nodes, np.int64)
    for t in range(len(roots)):
        end = roots[t + 1] if t + 1 < len(roots) else n_nodes
        deepest = 0
        level[roots[t]] = 0
        for node in range(roots[t], end):  # xgboost numbers a parent before its children
            if left[node] >= 0:
                level[left[node]] = level[node] + 1
                level[right[node]] = level[node] + 1
            elif level[node] > deepest:
                deepest = level[node]
        depths[t] = deepest


@numba.njit(cache=True, nogil=True)
def margins_by_levels(x, roots, depths, records, base, out):
    """:func:`margins` by blocks of :data:`LEVEL_BLOCK` rows taken level by level."""
    n = x.shape[0]
    current = np.empty(LEVEL_BLOCK, np.int32)
    for first in range(0, n, LEVEL_BLOCK):
        m = min(n, first + LEVEL_BLOCK) - first
        for r in range(m):
            out[first + r] = base
        for t in range(len(roots)):
            for r in range(m):
                current[r] = roots[t]
            for _ in range(depths[t]):
                for r in range(m):
                    record = records[current[r]]
                    packed = record.feature
                    value = x[first + r, packed & 0xFFFF]
                    go_left = (value < record.value) | ((value != value) & ((packed >> 16) != 0))
                    current[r] = record.left if go_left else record.right
            for r in range(m):
                out[first + r] = np.float32(out[first + r] + records[current[r]].value)
