"""Merging accumulators: the one rule set every executor uses.

Numbers and NumPy arrays add; ``hist.Hist`` (and anything with ``__add__``) add; dicts merge
key by key (adding shared keys); lists concatenate; sets unite.  :func:`tree_reduce` merges many
in a balanced tree, so deep sums keep their precision and the order is deterministic.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from afkit.exceptions import ConfigError


def add(a: Any, b: Any) -> Any:
    """Merge two accumulators of the same shape."""
    if a is None:
        return b
    if b is None:
        return a
    if isinstance(a, dict) and isinstance(b, dict):
        out = dict(a)
        for key, value in b.items():
            out[key] = add(out[key], value) if key in out else value
        return out
    if isinstance(a, list) and isinstance(b, list):
        return a + b
    if isinstance(a, set) and isinstance(b, set):
        return a | b
    try:
        return a + b
    except TypeError as err:
        raise ConfigError(
            f"cannot merge accumulators of types {type(a).__name__} and {type(b).__name__}"
        ) from err


def tree_reduce(items: Sequence[Any]) -> Any:
    """Merge ``items`` pairwise in a balanced tree (deterministic order)."""
    level = list(items)
    if not level:
        return None
    while len(level) > 1:
        level = [
            add(level[i], level[i + 1]) if i + 1 < len(level) else level[i]
            for i in range(0, len(level), 2)
        ]
    return level[0]
