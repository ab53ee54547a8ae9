"""Tree-ensemble kernels on flat buffers, CPU (Numba) or CUDA by where the inputs live.

The node arrays of a boosted-tree model (:class:`afkit.ml.TreeEnsemble` builds them from an
xgboost JSON file) are walked per row: go left when ``x[feature] < threshold`` (float32),
right otherwise, NaN the node's default way; a leaf adds its value to a float32 sum that
starts at the model's base margin.  :func:`ensemble_margins` scores rows of features;
:func:`best_permutations` builds the jet permutations of each event, scores and compares them
in one pass (the AGC's jet–parton assignment, nothing per permutation kept; on the CPU by
leaf bit-vectors, each feature's nodes evaluated once per jet, pair or triple it depends on —
see :mod:`afkit.kernels._trees_bits` — with the same float32 margins as the walk);
:func:`permutation_rows` writes every permutation's features (training rows, CPU).
:mod:`afkit.ml` is the documented interface to all three.

``nodes`` is ``(roots, left, right, feature, threshold, default_left)``: int32 tree roots;
int32 children (-1 at leaves), int32 split feature, float32 threshold or leaf value, uint8
default-left, per node.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from afkit.exceptions import ConfigError
from afkit.kernels._dispatch import backend_of

__all__ = ["best_permutations", "ensemble_margins", "permutation_rows"]

#: Score permutations by leaf bit-vectors on the CPU when every tree has ≤ 64 leaves (the
#: node walk otherwise); a switch for the tests and benchmarks that compare the two.
_LEAF_BITS = True
#: Score plain rows in blocks, level by level, on the CPU (the node walk otherwise).
_LEVELS = True


def _parents_first(roots: Any, left: Any, right: Any) -> bool:
    """Whether every tree numbers a node before its children (xgboost does; the level
    tables rely on it) — else the walk is used."""
    if len(roots) and (roots[0] != 0 or np.any(np.diff(roots) <= 0)):
        return False  # trees not stored one after another
    inner = left >= 0
    nodes = np.arange(len(left))
    return bool(np.all(left[inner] > nodes[inner]) and np.all(right[inner] > nodes[inner]))


def ensemble_margins(rows: Any, nodes: tuple[Any, ...], base: Any) -> Any:
    """Margin of each row of ``rows`` (float32, C order, ``(n, features)``), as float32.

    ``base``: the base margin (a float32, or a 1-element array on the device for CUDA).
    """
    if backend_of(rows, *nodes) == "cpu":
        from afkit.kernels import _trees_cpu as compiled

        if len(nodes[3]) and int(nodes[3].max()) >= rows.shape[1]:
            raise ConfigError(
                f"the trees split on feature {int(nodes[3].max())}; the rows have "
                f"{rows.shape[1]} features"
            )

        _trees_cpu: Any = compiled

        out = np.empty(rows.shape[0], np.float32)
        roots, left, right, feature, threshold, default_left = nodes
        if _LEVELS and rows.shape[1] <= 0xFFFF and _parents_first(roots, left, right):
            from afkit.kernels import _trees_levels as by_levels

            _trees_levels: Any = by_levels
            records = np.empty(len(left), _trees_levels.NODE_RECORD)
            depths = np.empty(len(roots), np.int64)
            _trees_levels.level_tables(
                roots, left, right, feature, threshold, default_left, records, depths
            )
            _trees_levels.margins_by_levels(rows, roots, depths, records, np.float32(base), out)
        else:
            _trees_cpu.margins(rows, *nodes, np.float32(base), out)
        return out
    from afkit.kernels import _trees_cuda as device

    _trees_cuda: Any = device
    return _trees_cuda.margins(rows, nodes, base)


def best_permutations(
    offsets: Any,
    jets: tuple[Any, ...],
    lepton: Any,
    choice: Any,
    tables: tuple[Any, ...],
) -> tuple[Any, Any, Any]:
    """Per event, the best-scoring permutation of its first ≤ 6 jets.

    Args:
        offsets: int64 jet offsets (``events + 1``).
        jets: float64 ``(pt, eta, phi, mass, btag, ntrk)`` per jet.
        lepton: float64 ``(events, 4)``: the lepton's pt, eta, phi, mass.
        choice: int64 per event: which model of ``tables`` scores it.
        tables: ``(permutations, first, roots, tree_first, left, right, feature,
            threshold, default_left, bases)``: the canonical permutations of 4, 5, 6 jets
            stacked (``first[n - 4]`` where those of ``n`` start), and the models' nodes in
            one pool (model ``i`` owns trees ``tree_first[i]:tree_first[i + 1]``).

    Returns:
        ``(features, index, margin)``: float64 ``(events, 20)``, int64 (-1: < 4 jets),
        float32.  An infinite feature raises :class:`~afkit.exceptions.ConfigError`.
    """
    n_events = len(offsets) - 1
    if backend_of(offsets, *jets, lepton, choice, *tables) == "cpu":
        from afkit.kernels import _trees_cpu as compiled

        _trees_cpu: Any = compiled

        features = np.empty((n_events, 20), np.float64)
        index = np.empty(n_events, np.int64)
        margin = np.empty(n_events, np.float32)
        permutations, first, roots, tree_first, left, right, feature, threshold, default, bases = (
            tables
        )
        from afkit.kernels import _trees_bits as by_bits

        _trees_bits: Any = by_bits
        ok, *bit_tables = (
            _trees_bits.leaf_tables(roots, tree_first, left, right, feature, threshold, default, 20)
            if _LEAF_BITS
            else (False,)
        )
        if ok:
            bad = _trees_bits.best_permutations_bits(
                offsets,
                *jets,
                lepton,
                choice,
                permutations,
                first,
                tree_first,
                bases,
                *bit_tables,
                features,
                index,
                margin,
            )
        else:
            bad = _trees_cpu.best_permutations(
                offsets, *jets, lepton, choice, *tables, features, index, margin
            )
        infinite = bad >= 0
    else:
        from afkit.kernels import _trees_cuda as device

        _trees_cuda: Any = device

        features, index, margin, infinite = _trees_cuda.best_permutations(
            offsets, *jets, lepton, choice, tables
        )
    if infinite:
        raise ConfigError(
            "a jet permutation has an infinite feature (an infinite jet or lepton value?); "
            "tree models take finite values or NaN for missing"
        )
    return features, index, margin


def permutation_rows(
    offsets: Any,
    jets: tuple[Any, ...],
    lepton: Any,
    permutations: Any,
    first: Any,
    max_jets: int,
    row_offsets: Any,
) -> np.ndarray:
    """The 20 features of every permutation of each event's first ``min(jets, max_jets)``
    jets, in canonical order, ``(row_offsets[-1], 20)`` float64 (CPU arrays; arguments as
    :func:`best_permutations`, ``row_offsets``: where each event's rows start)."""
    if backend_of(offsets, *jets, lepton) != "cpu":
        raise ConfigError(
            "permutation rows are built on the CPU; on a GPU, best_permutations scores the "
            "permutations without materialising them"
        )
    from afkit.kernels import _trees_cpu as compiled

    _trees_cpu: Any = compiled
    out = np.empty((int(row_offsets[-1]), 20), np.float64)
    _trees_cpu.all_permutation_features(
        offsets, *jets, lepton, permutations, first, max_jets, row_offsets, out
    )
    return out
