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

from afkit._jit import interpreted, njit
from afkit.exceptions import DecodeError

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
    if n == 0 or not key_to_target or not len(target_offsets):
        return out
    table_keys = np.fromiter(key_to_target.keys(), dtype=np.int64, count=len(key_to_target))
    table_targets = np.fromiter(key_to_target.values(), dtype=np.int64, count=len(key_to_target))
    n_events = len(target_offsets[0]) - 1
    if any(len(o) != n_events + 1 for o in target_offsets):
        raise DecodeError("every target needs per-event offsets for the same events")
    if len(event_of_link) != n or len(indices) != n:
        raise DecodeError("event_of_link, keys and indices must have one entry per link")
    offsets = np.empty((len(target_offsets), n_events + 1), np.int64)
    for t, o in enumerate(target_offsets):
        offsets[t] = o
    bases = np.zeros(len(target_offsets), np.int64)
    np.cumsum(offsets[:-1, -1], out=bases[1:])
    bad = (resolve_numpy if interpreted(keys.nbytes + indices.nbytes) else _resolve)(
        event_of_link.astype(np.int64, copy=False),
        keys,
        indices,
        table_keys,
        table_targets,
        offsets,
        bases,
        out,
    )
    if bad >= 0:
        raise DecodeError(
            f"link {bad} belongs to event {event_of_link[bad]}, outside 0..{n_events - 1}"
        )
    return out


def resolve_numpy(
    event: NDArray[np.int64],
    keys: NDArray[np.uint32],
    indices: NDArray[np.uint32],
    table_keys: NDArray[np.int64],
    table_targets: NDArray[np.int64],
    offsets: NDArray[np.int64],
    bases: NDArray[np.int64],
    out: NDArray[np.int64],
) -> int:
    """:func:`_resolve` in NumPy, all links at once: the same positions, and the same first
    link outside the events (nothing after it resolved)."""
    n_targets, n_rows = offsets.shape
    outside = np.flatnonzero((event < 0) | (event + 1 >= n_rows))
    stop = int(outside[0]) if len(outside) else len(keys)
    key = keys[:stop].astype(np.int64)
    index = indices[:stop].astype(np.int64)
    target = np.full(stop, -1, np.int64)
    for j in range(len(table_keys) - 1, -1, -1):  # the first entry of a key wins
        target[key == table_keys[j]] = table_targets[j]
    followed = (key != 0) & (index != INVALID_INDEX) & (target >= 0) & (target < n_targets)
    links = np.flatnonzero(followed)
    to, at = target[links], event[links]
    start = offsets[to, at]
    inside = index[links] < offsets[to, at + 1] - start
    links, to, start = links[inside], to[inside], start[inside]
    out[links] = bases[to] + start + index[links]
    return stop if len(outside) else -1


@njit(cache=True, nogil=True)
def _resolve(event, keys, indices, table_keys, table_targets, offsets, bases, out):  # type: ignore[no-untyped-def]
    """One pass over the links: key looked up in the (few-entry) table, index checked
    against the target's object count in the link's event.  Returns the first link whose
    event lies outside the offsets (nothing after it resolved), or -1."""
    n_targets, n_rows = offsets.shape
    for i in range(len(keys)):
        if event[i] < 0 or event[i] + 1 >= n_rows:
            return i
        key = np.int64(keys[i])
        index = np.int64(indices[i])
        if key == 0 or index == INVALID_INDEX:
            continue
        target = -1
        for j in range(len(table_keys)):
            if table_keys[j] == key:
                target = table_targets[j]
                break
        if target < 0 or target >= n_targets:
            continue
        start = offsets[target, event[i]]
        if index < offsets[target, event[i] + 1] - start:
            out[i] = bases[target] + start + index
    return -1


def event_of_each(offsets: NDArray[np.int64]) -> NDArray[np.int64]:
    """For list offsets ``[0, 2, 2, 5]`` return the owning row of each item: ``[0, 0, 2, 2, 2]``."""
    counts = np.diff(offsets)
    return np.repeat(np.arange(len(counts), dtype=np.int64), counts)
