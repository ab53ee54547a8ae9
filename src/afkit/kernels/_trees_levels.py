"""Tree-ensemble margins of plain rows, in blocks taken level by level (Numba, CPU, cached
to disk): the same margins as :func:`afkit.kernels._trees_cpu.margins`, bit for bit."""

from __future__ import annotations

import numpy as np

from afkit._jit import njit

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


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
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
