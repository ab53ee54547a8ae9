"""ElementLink resolution as one pure function over index arrays.

A persistent link is ``(m_persKey, m_persIndex)``: the StoreGate key of the target container
and the position of the target object in that container **in the same event**.  Resolving a
column of links means turning each into a position in the flattened content of its target
(or ``-1`` when it cannot be followed).  A link is missing — never guessed — when its key is
0 or its index is ``0xFFFFFFFF`` (the invalid link), when its key names a container this file
does not hold (``TruthParticles`` in PHYSLITE), or when the index is outside the target's
object count in that event.

Links of one field may point into several containers (truth ``parentLinks`` reach
``TruthTop``, ``TruthBoson``, ...).  The resolver then addresses the *concatenation* of the
referenced containers' flattened contents, in the order given by ``targets``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

INVALID_INDEX = 0xFFFFFFFF


def resolve_links(
    event_of_link: NDArray[np.int64],
    keys: NDArray[np.uint32],
    indices: NDArray[np.uint32],
    key_to_target: Mapping[int, int],
    target_offsets: Sequence[NDArray[np.int64]],
) -> NDArray[np.int64]:
    """Positions of links in the concatenated flattened targets, ``-1`` where missing.

    Args:
        event_of_link: event number (0-based within the chunk) of each link.
        keys, indices: the persistent link members.
        key_to_target: StoreGate key -> position of its container in ``target_offsets``.
        target_offsets: per target container, its per-event object offsets (from 0).
    """
    n = len(keys)
    out = np.full(n, -1, dtype=np.int64)
    if n == 0 or not key_to_target:
        return out
    table_keys = np.fromiter(key_to_target.keys(), dtype=np.int64, count=len(key_to_target))
    table_targets = np.fromiter(key_to_target.values(), dtype=np.int64, count=len(key_to_target))
    order = np.argsort(table_keys)
    table_keys, table_targets = table_keys[order], table_targets[order]

    keys64 = keys.astype(np.int64)
    pos = np.searchsorted(table_keys, keys64)
    pos_clipped = np.minimum(pos, len(table_keys) - 1)
    known = (table_keys[pos_clipped] == keys64) & (keys64 != 0)
    known &= indices.astype(np.int64) != INVALID_INDEX
    target = np.where(known, table_targets[pos_clipped], -1)

    base = 0
    for t, offsets in enumerate(target_offsets):
        sel = np.flatnonzero(target == t)
        if len(sel):
            ev = event_of_link[sel]
            start = offsets[ev]
            count = offsets[ev + 1] - start
            idx = indices[sel].astype(np.int64)
            ok = idx < count
            out[sel[ok]] = base + start[ok] + idx[ok]
        base += int(offsets[-1])
    return out


def event_of_each(offsets: NDArray[np.int64]) -> NDArray[np.int64]:
    """For list offsets ``[0, 2, 2, 5]`` return the owning row of each item: ``[0, 0, 2, 2, 2]``."""
    counts = np.diff(offsets)
    return np.repeat(np.arange(len(counts), dtype=np.int64), counts)
