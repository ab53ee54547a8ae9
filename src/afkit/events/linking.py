"""Lazy ElementLink resolution for the event model.

For a link field, the *candidates* are the collections whose class the link can point to
(known from the file's metadata, so the awkward form is fixed before any read).  When the
resolved field is touched, :class:`LinkResolver` reads the link keys, keeps the candidates
that are actually referenced, and resolves every link into the concatenation of those
containers' flattened contents (see :func:`afkit.io.physlite.element_links.resolve_links`).
Only referenced containers are ever read.

Keys come from the file's ``EventFormat`` when it has one and are always also computed from
the container names and CLIDs (including base classes, for ``ElementLink<IParticle>``).
"""

from __future__ import annotations

import weakref
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from afkit.io.physlite.element_links import event_of_each, resolve_links
from afkit.io.physlite.schema import link_candidates
from afkit.io.physlite.storegate import BASE_CLASSES, CONTAINER_CLIDS, storegate_key
from afkit.io.schema import Schema

if TYPE_CHECKING:
    from afkit.events.source import EventSource


def target_fields(schema: Schema, candidates: list[str], scale: bool) -> dict[str, np.dtype[Any]]:
    """Per-object numeric fields common to every candidate, with the dtype they arrive in."""
    common: dict[str, np.dtype[Any]] | None = None
    for name in candidates:
        fields: dict[str, np.dtype[Any]] = {}
        for f in schema.collections[name].fields.values():
            if f.kind in ("list", "constant") and f.dtype is not None:
                fields[f.name] = np.dtype(np.float64) if (scale and f.energy) else f.dtype
        if common is None:
            common = fields
        else:
            # (``k in fields`` first: numpy compares ``None == dtype('float64')`` as True)
            common = {k: v for k, v in common.items() if k in fields and fields[k] == v}
    return dict(sorted((common or {}).items()))


def container_keys(schema: Schema, collection: str, event_format: dict[str, int]) -> set[int]:
    """Every StoreGate key under which ``collection`` can be linked to."""
    spec = schema.collections[collection]
    keys = set()
    if spec.container in event_format:
        keys.add(event_format[spec.container])
    cls = spec.element_class
    if cls in CONTAINER_CLIDS:
        for klass in (cls, *BASE_CLASSES.get(cls, ())):
            if klass in CONTAINER_CLIDS:
                keys.add(storegate_key(spec.container, CONTAINER_CLIDS[klass]))
    return keys


class LinkResolver:
    """Resolves one link field of one chunk; shared by its index and content buffers."""

    def __init__(self, source: EventSource, collection: str, field: str) -> None:
        # the source keeps its resolvers: a weak reference back, so that a finished chunk's
        # buffers are freed at once instead of waiting for the cycle collector
        self.source: EventSource = weakref.proxy(source)
        self.collection = collection
        self.field = field
        spec = source.field(collection, field)
        assert spec.link_class is not None
        self.candidates = link_candidates(spec.link_class, source.schema)

    @cached_property
    def _matched(self) -> tuple[NDArray[np.int64], list[str], dict[int, int]]:
        """Each link's event, the candidates the links point into, and key -> candidate."""
        source = self.source
        links = source.links(self.collection, self.field)
        spec = source.field(self.collection, self.field)
        n_events = source.num_entries
        if spec.kind == "link_single":
            event = np.arange(n_events, dtype=np.int64)
        elif spec.kind == "link_nested":
            assert links.offsets is not None
            assert links.inner_offsets is not None
            event = event_of_each(links.offsets)[event_of_each(links.inner_offsets)]
        else:
            assert links.offsets is not None
            event = event_of_each(links.offsets)

        present = _distinct(links.keys) - {0}  # 0: a null link

        def match(event_format: dict[str, int]) -> tuple[list[str], dict[int, int]]:
            referenced: list[str] = []
            key_to_target: dict[int, int] = {}
            for name in self.candidates:
                keys = container_keys(source.schema, name, event_format) & present
                if keys:
                    for key in keys:
                        key_to_target.setdefault(key, len(referenced))
                    referenced.append(name)
            return referenced, key_to_target

        # Keys computed from container names and CLIDs usually match every link; the file's
        # EventFormat (a second tree to read) is consulted only for keys they leave unmatched.
        referenced, key_to_target = match({})
        if present - set(key_to_target):
            referenced, key_to_target = match(source.event_format_keys())
        return event, referenced, key_to_target

    @cached_property
    def _resolved(self) -> tuple[NDArray[np.int64], list[str]]:
        event, referenced, key_to_target = self._matched
        links = self.source.links(self.collection, self.field)
        offsets = [self.source.offsets(name) for name in referenced]
        index = resolve_links(event, links.keys, links.indices, key_to_target, offsets)
        return index, referenced

    @property
    def referenced(self) -> list[str]:
        """Candidates that at least one link of this chunk points into."""
        return self._resolved[1]

    def index(self) -> NDArray[np.int64]:
        """Position of each link in the concatenated targets; -1 where it cannot be followed."""
        return self._resolved[0]

    def inner_offsets(self) -> NDArray[np.int64]:
        links = self.source.links(self.collection, self.field)
        assert links.inner_offsets is not None
        return links.inner_offsets

    def field_values(
        self, name: str, dtype: np.dtype[Any]
    ) -> tuple[NDArray[np.int64], NDArray[Any]]:
        """(position of each link, content) for target field ``name`` alone.

        Links are resolved against the field's own per-event counts, so nothing but the
        field is read: no other branch of the targets is needed to count their objects.
        (An xAOD variable's vector holds object ``i`` at place ``i``, so a link whose index
        lies within it finds its object's value; one beyond it — a decoration the event
        does not store — gives -1, as :meth:`index` and :meth:`content` give NaN there.)
        Constant fields (not stored) fall back to :meth:`index` and :meth:`content`.
        """
        event, referenced, key_to_target = self._matched
        raw = [self.source.field_list(c, name) for c in referenced]
        if not referenced or any(r is None for r in raw):
            return self.index(), self.content(name, dtype)
        lists = [r for r in raw if r is not None]
        links = self.source.links(self.collection, self.field)
        offsets = [o for o, _ in lists]
        index = resolve_links(event, links.keys, links.indices, key_to_target, offsets)
        content = np.concatenate([c for _, c in lists]).astype(dtype, copy=False)
        return index, content

    def content(self, name: str, dtype: np.dtype[Any]) -> NDArray[Any]:
        """Field ``name`` of every referenced target, concatenated in resolver order."""
        parts = [self.source.list_content(c, name) for c in self.referenced]
        if not parts:
            return np.zeros(0, dtype)
        return np.concatenate(parts).astype(dtype, copy=False)


def _distinct(keys: NDArray[Any]) -> set[int]:
    """The distinct StoreGate keys of a chunk's links.  A link field nearly always points
    into one container (one key, perhaps with null links): two reductions tell, where a
    sort of every link would take ten times longer."""
    if len(keys) == 0:
        return set()
    low, high = int(keys.min()), int(keys.max())
    if low == high:
        return {low}
    if low == 0 and not np.any((keys != 0) & (keys != high)):
        return {0, high}
    return {int(k) for k in np.unique(keys).tolist()}
