"""The AGC's jet–parton assignment scored by leaf bit-vectors (Numba, CPU, cached to disk).

The same indices, margins and features as :func:`afkit.kernels._trees_cpu.best_permutations`
(the node walk), bit for bit, without walking every tree for every permutation.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba.cpython.unsafe.numbers import trailing_zeros as _trailing_zeros

from afkit._jit import njit
from afkit.kernels._trees_cpu import (
    MAX_JETS,
    delta_r,
    features_of,
    four_momenta,
    lepton_vector,
    mass_of,
)

#: Index of the lowest set bit (an LLVM ``cttz``); typed for mypy as what it is in Python.
trailing_zeros: Any = _trailing_zeros

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


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True, inline="always")
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


@njit(cache=True, nogil=True, inline="always")
def feature_bits(value, c, fs, feature_start, nodes, bits):
    """:func:`apply_nodes` for feature column ``c`` of the model whose groups start at
    ``fs`` (``nodes``: the node tree, threshold, default and mask arrays)."""
    node_tree, node_threshold, node_default_left, node_mask = nodes
    return apply_nodes(
        value,
        feature_start[fs + c],
        feature_start[fs + c + 1],
        node_tree,
        node_threshold,
        node_default_left,
        node_mask,
        bits,
    )


@njit(cache=True, nogil=True, inline="always")
def jet_role_bits(j, columns, pt, btag, ntrk, start, fs, feature_start, nodes, bits):
    """``bits`` of jet ``j`` (event-local) in a role: its pt, b-tag and track-count nodes."""
    bad = False
    for c, value in (
        (columns[0], pt[start + j]),
        (columns[1], btag[start + j]),
        (columns[2], ntrk[start + j]),
    ):
        bad |= feature_bits(value, c, fs, feature_start, nodes, bits)
    return bad


@njit(cache=True, nogil=True)
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
    role = np.empty((4, MAX_JETS, max_trees), np.uint64)
    hadronic = np.empty((2, MAX_JETS, MAX_JETS, max_trees), np.uint64)
    pair = np.empty(max_trees, np.uint64)
    triple = np.empty(max_trees, np.uint64)
    scores = np.empty(3, np.float32)
    px = np.empty(MAX_JETS)
    py = np.empty(MAX_JETS)
    pz = np.empty(MAX_JETS)
    e = np.empty(MAX_JETS)
    lep = np.empty(6)
    f = np.empty(n_features)
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
                bad |= feature_bits(value, c, fs, feature_start, nodes, role[3, j])
        # ΔR(w1, bh) and ΔR(w2, bh) depend on a pair of jets: once per ordered pair
        for a in range(n):
            for h in range(n):
                if a == h:
                    continue
                hadronic[0, a, h, :nt] = _ALL
                hadronic[1, a, h, :nt] = _ALL
                d = delta_r(eta[start + a], phi[start + a], eta[start + h], phi[start + h])
                for c in (2, 3):
                    bad |= feature_bits(d, c, fs, feature_start, nodes, hadronic[c - 2, a, h])
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
                    bad |= feature_bits(value, c, fs, feature_start, nodes, pair)
            d1, d2 = hadronic[0, w1, bh], hadronic[1, w2, bh]
            for t in range(nt):
                triple[t] = pair[t] & role[2, bh, t] & d1[t] & d2[t]
            tx, ty, tz, te = wx + px[bh], wy + py[bh], wz + pz[bh], we + e[bh]
            for c, value in ((6, mass_of(te, tx, ty, tz)), (7, math.sqrt(tx * tx + ty * ty))):
                bad |= feature_bits(value, c, fs, feature_start, nodes, triple)
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
