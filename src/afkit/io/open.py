"""Opening the event data of a file: the tree, its format, its schema and a branch reader.

:func:`open_events` is everything :func:`afkit.read` needs from the I/O layer, and no more:
it finds the event tree (``CollectionTree`` for PHYSLITE, ``Events`` for NanoAOD), checks
that it holds event data of the format asked for, builds (or reuses) the schema and returns
an :class:`OpenedEvents` — a :class:`~afkit.io.reader.BranchReader` over the entry range plus
what the event model needs to interpret it.  The event model itself lives in
:mod:`afkit.events`; this module does not know it.

Schemas depend only on a tree's structure, so they are cached per open tree and, keyed by a
digest of the structure, per process: the files of one dataset build one schema.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from afkit.exceptions import (
    ArgumentTypeError,
    ConfigError,
    CorruptDataError,
    FileFormatError,
    MissingTreeError,
    UnknownEncodingError,
)
from afkit.io import schema_store
from afkit.io.filespec import is_remote, normalize_source, open_file
from afkit.io.nanoaod import build_nanoaod_schema
from afkit.io.physlite import streamers
from afkit.io.physlite.schema import build_schema
from afkit.io.reader import BranchReader
from afkit.io.schema import Schema
from afkit.io.tree import TreeHandle, open_tree

Format = Literal["auto", "physlite", "nanoaod"]
FORMATS = ("auto", "physlite", "nanoaod")

#: Event data looked for when no name is given, in order: PHYSLITE's TTree, PHYSLITE's
#: RNTuple (Athena 25), NanoAOD's TTree or RNTuple.
DEFAULT_TREES = ("CollectionTree", "EventData", "Events")

#: Trees of Athena and NanoAOD files that hold bookkeeping or metadata, not events.
METADATA_TREES = {
    "MetaData": "the file's metadata (CutBookkeepers, EventFormat, FileMetaData, ...)",
    "MetaDataHdr": "POOL bookkeeping of the metadata",
    "MetaDataHdrForm": "POOL bookkeeping of the metadata",
    "POOLContainer": "POOL bookkeeping",
    "POOLContainerForm": "POOL bookkeeping",
    "POOLCollectionTree": "POOL bookkeeping",
    "##Params": "POOL bookkeeping",
    "##Shapes": "POOL bookkeeping",
    "##Links": "POOL bookkeeping",
    "Runs": "per-run sums (genEventSumw, LHE weight sums)",
    "LuminosityBlocks": "per-luminosity-block bookkeeping",
    "ParameterSets": "CMS configuration",
    "MetaDataTree": "metadata",
}


@dataclass
class OpenedEvents:
    """One entry range of a file's event tree, ready for the event model.

    ``counts_from`` maps NanoAOD collections to their ``nX`` counter branch;
    ``event_format`` loads the StoreGate key of each container from the file's
    ``EventFormat`` metadata when link resolution needs it (``{}`` for files without it).
    """

    path: str
    reader: BranchReader
    schema: Schema
    format: Literal["physlite", "nanoaod"]
    counts_from: dict[str, str]
    event_format: Callable[[], dict[str, int]] | None


def open_events(
    source: str | os.PathLike[str],
    *,
    tree: str | None = None,
    entry_start: int | None = None,
    entry_stop: int | None = None,
    format: Format = "auto",
) -> OpenedEvents:
    """Open the event tree of ``source`` over an entry range (see :func:`afkit.read`)."""
    if not isinstance(source, (str, os.PathLike)):
        raise ArgumentTypeError(f"source must be a path or URL string, not {type(source).__name__}")
    if format not in FORMATS:
        raise ConfigError(f"format must be 'auto', 'physlite' or 'nanoaod', not {format!r}")
    if tree is not None and not isinstance(tree, str):
        raise ArgumentTypeError(f"tree must be a tree name or None, not {type(tree).__name__}")
    path = normalize_source(source)
    handle = open_file(path)
    name = event_tree_name(handle, path, tree)
    if _is_rntuple(handle, path, name):
        return _open_rntuple_events(handle, path, name, entry_start, entry_stop, format)
    ttree = open_tree(handle, path, name)
    start, stop = entry_range(ttree.num_entries, entry_start, entry_stop, path)
    kind = tree_format(ttree, format)
    reader = BranchReader(ttree, path, start, stop)
    if kind == "physlite":
        schema = cached_schema(ttree, build_schema)
        note_known(path, ttree, build_schema)
        return OpenedEvents(path, reader, schema, kind, {}, _event_format_loader(handle, path))
    schema, counters = cached_schema(ttree, build_nanoaod_schema)
    note_known(path, ttree, build_nanoaod_schema)
    return OpenedEvents(path, reader, schema, kind, counters, None)


def tree_handle(handle: Any, path: str, name: str | None) -> TreeHandle:
    """The event tree ``name`` (default: PHYSLITE's or NanoAOD's) of an open file."""
    chosen = event_tree_name(handle, path, name)
    if _is_rntuple(handle, path, chosen):
        raise UnknownEncodingError(f"{chosen!r} is an RNTuple, not a TTree", file=path)
    return open_tree(handle, path, chosen)


def event_entries(handle: Any, path: str, name: str | None) -> int:
    """Entries of the event data ``name`` (default: found as :func:`afkit.read` finds it),
    a TTree or an RNTuple (from its footer: no page is read)."""
    chosen = event_tree_name(handle, path, name)
    if _is_rntuple(handle, path, chosen):
        return int(rntuple_of(handle, path, chosen).num_entries)
    return int(open_tree(handle, path, chosen).num_entries)


def _is_rntuple(handle: Any, path: str, name: str) -> bool:
    classes = {k.split(";")[0]: v for k, v in _classnames(handle, path).items()}
    return classes.get(name) == "ROOT::RNTuple"


def event_tree_name(handle: Any, path: str, name: str | None) -> str:
    """``name`` or the default event data, checked to be a TTree or RNTuple of events."""
    classes = {k.split(";")[0]: v for k, v in _classnames(handle, path).items()}
    trees = [k for k, v in classes.items() if v in ("TTree", "ROOT::RNTuple")]
    candidates = [name] if name else [t for t in DEFAULT_TREES if t in trees]
    if not candidates or candidates[0] not in trees:
        raise MissingTreeError("tree", name or " or ".join(DEFAULT_TREES), trees, file=path)
    chosen = candidates[0]
    if chosen in METADATA_TREES:
        events = [t for t in DEFAULT_TREES if t in trees]
        hint = f"; the events are in {events[0]!r}" if events else ""
        raise ConfigError(
            f"tree {chosen!r} holds {METADATA_TREES[chosen]}, not event data: afkit.read "
            f"reads event trees (one entry per event){hint}",
            file=path,
        )
    return chosen


def rntuple_of(handle: Any, path: str, name: str) -> Any:
    """afkit's :class:`~afkit.io.rntuple.ntuple.RNTuple` ``name`` of an open file (kept)."""
    from afkit.io.rntuple.ntuple import rntuple_keys
    from afkit.io.rntuple.reader import open_rntuple
    from afkit.io.rootio.directory import DirectoryError
    from afkit.io.rootio.source import byte_source

    opened = handle.__dict__.setdefault("_afkit_rntuples", {})
    if name not in opened:
        source = byte_source(path, handle.file.source)
        try:
            keys = rntuple_keys(source)
        except (DirectoryError, OSError) as err:
            raise CorruptDataError(f"cannot list the file's objects: {err}", file=path) from err
        if name not in keys:
            raise MissingTreeError("RNTuple", name, keys, file=path)
        opened[name] = open_rntuple(path, source, keys[name])
    return opened[name]


def _open_rntuple_events(
    handle: Any,
    path: str,
    name: str,
    entry_start: int | None,
    entry_stop: int | None,
    format: Format,
) -> OpenedEvents:
    """:func:`open_events` for event data stored as RNTuple (Athena 25 PHYSLITE, NanoAOD)."""
    from afkit.io.rntuple.reader import RNTupleReader, fields_as_branches

    ntuple = rntuple_of(handle, path, name)
    start, stop = entry_range(ntuple.num_entries, entry_start, entry_stop, path)
    names = fields_as_branches(ntuple, flat_arrays=False).names()
    kind = _checked_format(_looks_like(names), format, name, path)
    reader: Any = RNTupleReader(ntuple, start, stop)
    view = fields_as_branches(ntuple, flat_arrays=kind == "nanoaod")
    structure = ntuple.schema.memo.get("structure")
    if structure is None:
        structure = ntuple.schema.memo["structure"] = hash(
            tuple((b.name, b.typename) for b in view.branches)
            + tuple((u.branch, u.reason) for u in view.unreadable)
        )
    if kind == "physlite":
        schema = _rntuple_schema(build_schema, structure, view)
        return OpenedEvents(path, reader, schema, kind, {}, _event_format_loader(handle, path))
    schema, counters = _rntuple_schema(build_nanoaod_schema, structure, view)
    return OpenedEvents(path, reader, schema, kind, counters, None)


def _rntuple_schema(build: Any, structure: Any, view: Any) -> Any:
    """The schema of an RNTuple's fields, built once per distinct structure in the process."""
    key = (build, ("rntuple", structure))
    if key in _SCHEMAS:
        _SCHEMAS.move_to_end(key)
    else:
        built = build(view)
        schema = built[0] if isinstance(built, tuple) else built
        schema.undecodable.extend(view.unreadable)
        _SCHEMAS[key] = built
        while len(_SCHEMAS) > _SCHEMA_CACHE_SIZE:
            _SCHEMAS.popitem(last=False)
    return _SCHEMAS[key]


def _classnames(handle: Any, path: str) -> dict[str, str]:
    try:
        return dict(handle.classnames())
    except Exception as err:  # a damaged key list: uproot raises what its parser meets
        from afkit.exceptions import CorruptDataError

        raise CorruptDataError(
            f"cannot list the file's objects: {type(err).__name__}: {err}", file=path
        ) from err


def entry_range(
    num_entries: int, start: int | None, stop: int | None, path: str
) -> tuple[int, int]:
    """``[start, stop)`` with Python slice semantics, clamped to the tree."""
    for label, value in (("entry_start", start), ("entry_stop", stop)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise ArgumentTypeError(f"{label} must be an int or None, not {type(value).__name__}")
    s, e, _ = slice(start, stop).indices(num_entries)
    if start is not None and start > num_entries:
        raise ConfigError(f"entry_start={start} is past the last entry ({num_entries})", file=path)
    return s, max(s, e)


def _looks_like(names: list[str]) -> str:
    """``physlite`` if any branch is an xAOD aux store, else ``nanoaod`` (flat branches)."""
    physlite = any("AuxDyn." in n or n.endswith("Aux.") for n in names)
    return "physlite" if physlite else "nanoaod"


def tree_format(ttree: TreeHandle, asked: str = "auto") -> Literal["physlite", "nanoaod"]:
    """The tree's format; a ``format=`` the branches contradict is a :class:`ConfigError`."""
    found: Literal["physlite", "nanoaod"] | None = ttree.cache.get("format")
    if found is None:
        found = ttree.cache["format"] = _looks_like(ttree.keys(recursive=False))  # type: ignore[assignment]
    assert found is not None
    return _checked_format(found, asked, ttree.name, ttree.path)


def _checked_format(found: str, asked: str, name: str, path: str) -> Literal["physlite", "nanoaod"]:
    if asked not in ("auto", found):
        why = (
            "its branches are xAOD aux stores (…AuxDyn.x, …Aux.)"
            if found == "physlite"
            else "it has no xAOD aux-store branches (…AuxDyn.x, …Aux.), as PHYSLITE always does"
        )
        raise ConfigError(
            f"tree {name!r} does not look like {asked}: {why}; it reads as "
            f"{found} (format='auto' detects this)",
            file=path,
        )
    return found  # type: ignore[return-value]


#: Schemas of recently seen tree structures (files of one dataset share one structure).
_SCHEMAS: OrderedDict[tuple[Any, Any], Any] = OrderedDict()
_SCHEMA_CACHE_SIZE = 16


def structure_key(ttree: Any) -> int:
    """A hash of everything a schema is built from (uproot's tree model): each branch's
    name, class, title, C++ class, type codes and leaves, and the file's streamer classes.

    Used for trees afkit's own metadata decoder does not read, where
    :meth:`TreeHandle.structure_key` has no answer.
    """
    items = []
    for branch in ttree.itervalues(recursive=True):
        leaves = tuple((leaf.classname, leaf.member("fTitle")) for leaf in branch.member("fLeaves"))
        items.append(
            (
                branch.name,
                branch.classname,
                branch.title,
                branch.member("fClassName", none_if_missing=True),
                branch.member("fType", none_if_missing=True),
                branch.member("fStreamerType", none_if_missing=True),
                leaves,
            )
        )
    classes = tuple(
        sorted((name, tuple(sorted(versions))) for name, versions in ttree.file.streamers.items())
    )
    return hash((tuple(items), classes))


def cached_schema(ttree: TreeHandle, build: Any) -> Any:
    """Schemas depend only on the tree's structure: build once per open tree and once per
    distinct structure in this process (small LRU).  With afkit's own metadata the structure
    is known without uproot's tree model, which is built only to make a new schema — and a
    schema built for that structure by an earlier process is taken from the on-disk store
    (:mod:`afkit.io.schema_store`) instead."""
    cache = ttree.cache.setdefault("schema", {})
    if build in cache:
        return cache[build]
    layout: Any = ttree.structure_key()
    if layout is None:
        with ttree.interpreting(f"the branches of tree {ttree.name!r}"):
            layout = structure_key(ttree.uproot)
    key = (build, layout)
    if key in _SCHEMAS:
        _SCHEMAS.move_to_end(key)
    else:
        native = isinstance(layout, tuple) and layout[:1] == ("native",)
        stored = schema_store.load(build, layout) if native else None
        if stored is None:
            with ttree.interpreting(f"the branch types of tree {ttree.name!r}"):
                stored = build(ttree.uproot)
            if native:
                schema_store.save(build, layout, stored)
        _SCHEMAS[key] = stored
        while len(_SCHEMAS) > _SCHEMA_CACHE_SIZE:
            _SCHEMAS.popitem(last=False)
    cache[build] = _SCHEMAS[key]
    return cache[build]


#: Local files whose schema this process has built: (path, tree, size, mtime) -> schema key.
_KNOWN_FILES: OrderedDict[tuple[str, str, int, int], tuple[Any, Any]] = OrderedDict()
_KNOWN_FILES_SIZE = 4096


def _signature(path: str, tree: str) -> tuple[str, str, int, int] | None:
    if is_remote(path):
        return None
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (path, tree, stat.st_size, stat.st_mtime_ns)


def note_known(path: str, ttree: TreeHandle, build: Any) -> None:
    """Remember that this (local, unchanged) file's schema is built in this process."""
    signature = _signature(path, ttree.name)
    key = (build, ttree.structure_key())
    if signature is None or key[1] is None:
        return
    _KNOWN_FILES[signature] = key
    _KNOWN_FILES.move_to_end(signature)
    while len(_KNOWN_FILES) > _KNOWN_FILES_SIZE:
        _KNOWN_FILES.popitem(last=False)


def schema_is_cached(source: str | os.PathLike[str], tree: str) -> bool:
    """Whether reading ``tree`` of this (unchanged, local) file would find its schema already
    built in this process — what lets a run skip warming a process that is warm."""
    signature = _signature(normalize_source(source), tree)
    key = _KNOWN_FILES.get(signature) if signature is not None else None
    return key is not None and key in _SCHEMAS


def clear_schema_cache() -> None:
    """Forget every schema built in this process (the next file of each layout builds anew)."""
    _SCHEMAS.clear()
    _KNOWN_FILES.clear()


def cached_schema_count() -> int:
    """How many distinct tree layouts this process holds a schema of."""
    return len(_SCHEMAS)


def _event_format_loader(handle: Any, path: str) -> Callable[[], dict[str, int]]:
    cache: dict[str, int] = {}
    loaded = False

    def load() -> dict[str, int]:
        nonlocal loaded
        if loaded:
            return cache
        loaded = True
        meta = next(
            (
                k
                for k, v in _classnames(handle, path).items()
                if v == "TTree" and k.startswith("MetaData;")
            ),
            None,
        )
        if meta is None:
            return cache  # files rewritten by plain ROOT have no MetaData: keys are computed
        try:
            metatree = handle[meta]
        except Exception as err:  # a damaged metadata tree record
            raise FileFormatError(
                f"cannot read the MetaData tree: {type(err).__name__}: {err}", file=path
            ) from err
        names = [n for n in metatree.keys(recursive=False) if n.startswith("EventFormat")]
        for name in names:
            reader = BranchReader(metatree, path, 0, min(1, metatree.num_entries))
            data, offsets = reader.raw(name)
            if len(offsets) < 2:
                continue
            entries = streamers.decode_event_format(
                bytes(data[offsets[0] : offsets[1]]), what=f"{name} in {path}"
            )
            for entry in entries:
                cache.setdefault(entry.branch, entry.key)
        return cache

    return load


def schema_of(source: str | os.PathLike[str], *, tree: str | None = None) -> Schema:
    """The schema afkit builds for a file (collections, fields, undecodable branches)."""
    return open_events(source, tree=tree, entry_stop=0).schema
