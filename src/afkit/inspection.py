"""``afkit.inspect``: what a file holds, as afkit sees it — nothing silently dropped.

For each collection: its storage name and class, field count, object totals; for each link
field: the collections it may point into and those its keys actually reach (with how many
links cannot be followed); and every branch afkit does not expose, with the reason.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from afkit.events.linking import LinkResolver
from afkit.events.reading import read
from afkit.io.nanoaod import TOP_LEVEL


@dataclass(frozen=True)
class LinkSummary:
    """Where one link field points, measured over the inspected entries."""

    field: str
    encoding: str
    candidates: tuple[str, ...]
    referenced: tuple[str, ...]
    links: int
    unresolved: int


@dataclass(frozen=True)
class CollectionSummary:
    """One collection of the file."""

    name: str
    container: str
    cpp_class: str | None
    single: bool
    fields: int
    objects: int | None
    links: tuple[LinkSummary, ...] = ()


@dataclass(frozen=True)
class FileSummary:
    """Result of :func:`inspect`."""

    file: str
    tree: str
    format: str
    entries: int
    collections: tuple[CollectionSummary, ...]
    undecodable: tuple[tuple[str, str, str], ...] = field(default_factory=tuple)
    bytes_read: int = 0
    #: how the event data is stored: ``TTree`` or ``RNTuple <format version>``
    storage: str = "TTree"
    #: the file's other objects (``MetaData (TTree)``, ...): metadata, bookkeeping
    others: tuple[str, ...] = ()


_RNTUPLE_LINKS = "RNTuple records (ElementLinkBase: m_persKey, m_persIndex)"
_ENCODING = {
    "link": "1 (split vector<ElementLink>)",
    "link_nested": "2 (vector<vector<ElementLink>>)",
    "link_single": "3 (single ElementLink, split level 1)",
    "link_vector": "4 (vector<ElementLink>, member-wise or object-wise)",
}


def inspect(
    source: str | os.PathLike[str],
    *,
    tree: str | None = None,
    entry_stop: int | None = None,
    counts: bool = True,
    links: bool = True,
) -> FileSummary:
    """Summarise a file; ``counts``/``links`` read data (over ``entry_stop`` entries)."""
    events = read(source, tree=tree, entry_stop=entry_stop)
    src = events.source
    schema = src.schema
    ntuple = getattr(src.reader, "ntuple", None)  # an RNTupleReader's decoder
    rntuple = ntuple is not None
    out = []
    for name, spec in schema.collections.items():
        objects = None
        if counts and not spec.single:
            objects = int(src.offsets(name)[-1])
        link_rows = []
        for f in spec.fields.values():
            if not (links and f.kind in _ENCODING):
                continue
            resolver = LinkResolver(src, name, f.name)
            index = resolver.index()
            link_rows.append(
                LinkSummary(
                    f.name,
                    _RNTUPLE_LINKS if rntuple else _ENCODING[f.kind],
                    tuple(resolver.candidates),
                    tuple(resolver.referenced),
                    len(index),
                    int(np.count_nonzero(index < 0)),
                )
            )
        out.append(
            CollectionSummary(
                name if name != TOP_LEVEL else "(event level)",
                spec.container,
                spec.cpp_class,
                spec.single,
                len(spec.fields),
                objects,
                tuple(link_rows),
            )
        )
    return FileSummary(
        file=src.file,
        tree=src.reader.handle.name,
        format=schema.format,
        entries=src.num_entries,
        collections=tuple(out),
        undecodable=tuple((u.branch, u.cpp_type, u.reason) for u in schema.undecodable),
        bytes_read=events.bytes_read,
        storage=f"RNTuple {ntuple.version}" if ntuple is not None else "TTree",
        others=_other_objects(src.file, src.reader.handle.name),
    )


def _other_objects(path: str, event_data: str) -> tuple[str, ...]:
    """The file's top-level objects besides the event data, as ``name (class)``."""
    from afkit.io.filespec import open_file

    try:
        classes = open_file(path).classnames(recursive=False)
    except Exception:  # noqa: BLE001 - a listing for the summary only; reading already worked
        return ()
    names: dict[str, str] = {}
    for key, cls in classes.items():
        names.setdefault(key.split(";")[0], cls)
    return tuple(f"{n} ({c})" for n, c in sorted(names.items()) if n != event_data)
