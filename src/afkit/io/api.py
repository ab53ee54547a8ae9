"""``afkit.read``: one entry point for PHYSLITE (any release) and CMS NanoAOD files."""

from __future__ import annotations

import os
from collections import OrderedDict
from typing import Any, Literal

from afkit.events.events import Events
from afkit.events.model import ModelBuilder
from afkit.events.source import EventSource
from afkit.exceptions import (
    ArgumentTypeError,
    ConfigError,
    MissingTreeError,
    UnknownEncodingError,
)
from afkit.io.filespec import is_remote, normalize_source, open_file
from afkit.io.nanoaod import build_nanoaod_schema
from afkit.io.physlite import streamers
from afkit.io.physlite.schema import Schema, build_schema
from afkit.io.reader import BranchReader
from afkit.io.tree import TreeHandle, open_tree
from afkit.units import check_units

Format = Literal["auto", "physlite", "nanoaod"]

DEFAULT_TREES = ("CollectionTree", "Events")


def read(
    source: str | os.PathLike[str],
    *,
    tree: str | None = None,
    entry_start: int | None = None,
    entry_stop: int | None = None,
    format: Format = "auto",
    units: str = "GeV",
) -> Events:
    """Open a PHYSLITE or NanoAOD file and return its events, read lazily.

    Args:
        source: local path, ``root://host//path`` (XRootD) or ``https://`` URL.
        tree: TTree name; default ``CollectionTree`` (PHYSLITE) or ``Events`` (NanoAOD).
        entry_start, entry_stop: entry range (Python slice semantics, clamped to the tree).
        format: ``"physlite"``, ``"nanoaod"`` or ``"auto"`` (from the tree's branches).
        units: ``"GeV"`` (default: PHYSLITE energies as float64 GeV) or ``"MeV"`` (as stored).

    Returns:
        :class:`~afkit.Events`: an awkward record array, one field per collection.  Nothing is
        read until values are used; ``events.bytes_read`` counts what was.

    Raises:
        afkit.AfkitError: a subclass naming the file for every kind of bad input.
    """
    if not isinstance(source, (str, os.PathLike)):
        raise ArgumentTypeError(f"source must be a path or URL string, not {type(source).__name__}")
    unit = check_units(units)
    if format not in ("auto", "physlite", "nanoaod"):
        raise ConfigError(f"format must be 'auto', 'physlite' or 'nanoaod', not {format!r}")
    path = normalize_source(source)
    handle = open_file(path)
    ttree = open_tree(handle, path, _tree_name(handle, path, tree))
    start, stop = _entry_range(ttree.num_entries, entry_start, entry_stop, path)
    kind = _format(ttree) if format == "auto" else format
    reader = BranchReader(ttree, path, start, stop)
    if kind == "physlite":
        schema = _cached_schema(ttree, build_schema)
        _note_known(path, ttree, build_schema)
        source_obj = EventSource(
            reader,
            schema,
            units=unit,
            scale_energies=True,
            event_format=_event_format_loader(handle, path),
        )
    else:
        schema, counters = _cached_schema(ttree, build_nanoaod_schema)
        _note_known(path, ttree, build_nanoaod_schema)
        source_obj = EventSource(
            reader, schema, units=unit, scale_energies=False, counts_from=counters
        )
    events: Events = ModelBuilder(source_obj).build()
    return events


def _tree(handle: Any, path: str, name: str | None) -> TreeHandle:
    """The tree ``name`` (default: PHYSLITE's or NanoAOD's) of an open file."""
    return open_tree(handle, path, _tree_name(handle, path, name))


def _tree_name(handle: Any, path: str, name: str | None) -> str:
    """``name`` or the default tree, checked to be a TTree in the file."""
    classes = {k.split(";")[0]: v for k, v in handle.classnames().items()}
    trees = [k for k, v in classes.items() if v == "TTree"]
    rntuples = [k for k, v in classes.items() if v == "ROOT::RNTuple"]
    candidates = [name] if name else [t for t in DEFAULT_TREES if t in trees or t in rntuples]
    if not candidates or candidates[0] not in trees:
        if candidates and candidates[0] in rntuples:
            raise UnknownEncodingError(
                f"{candidates[0]!r} is an RNTuple; afkit reads TTree-based PHYSLITE and NanoAOD",
                file=path,
            )
        raise MissingTreeError(
            "tree", name or " or ".join(DEFAULT_TREES), trees + rntuples, file=path
        )
    return candidates[0]


def _entry_range(
    num_entries: int, start: int | None, stop: int | None, path: str
) -> tuple[int, int]:
    for label, value in (("entry_start", start), ("entry_stop", stop)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise ArgumentTypeError(f"{label} must be an int or None, not {type(value).__name__}")
    s, e, _ = slice(start, stop).indices(num_entries)
    if start is not None and start > num_entries:
        raise ConfigError(f"entry_start={start} is past the last entry ({num_entries})", file=path)
    return s, max(s, e)


def _format(ttree: TreeHandle) -> str:
    cached: str | None = ttree.cache.get("format")
    if cached is None:
        names = ttree.keys(recursive=False)
        physlite = any("AuxDyn." in n or n.endswith("Aux.") for n in names)
        cached = ttree.cache["format"] = "physlite" if physlite else "nanoaod"
    return cached


#: Schemas of recently seen tree structures (files of one dataset share one structure).
_SCHEMAS: OrderedDict[tuple[Any, Any], Any] = OrderedDict()
_SCHEMA_CACHE_SIZE = 16


def structure_key(ttree: Any) -> int:
    """A hash of everything a schema is built from: each branch's name, class, title, C++
    class, type codes and leaves, and the file's streamer classes and versions.

    Cheap (no interpretation is derived), so a dataset of many files with the same layout
    builds its schema once per process instead of once per file.
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
    streamers = tuple(
        sorted((name, tuple(sorted(versions))) for name, versions in ttree.file.streamers.items())
    )
    return hash((tuple(items), streamers))


def _cached_schema(ttree: TreeHandle, build: Any) -> Any:
    """Schemas depend only on the tree's structure: build once per open tree and once per
    distinct structure in this process (small LRU).  With afkit's own metadata the structure
    is known without uproot's tree model, which is built only to make a new schema."""
    cache = ttree.cache.setdefault("schema", {})
    if build in cache:
        return cache[build]
    key = (build, ttree.structure_key() or structure_key(ttree.uproot))
    if key in _SCHEMAS:
        _SCHEMAS.move_to_end(key)
    else:
        _SCHEMAS[key] = build(ttree.uproot)
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


def _note_known(path: str, ttree: TreeHandle, build: Any) -> None:
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


def _event_format_loader(handle: Any, path: str) -> Any:
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
                for k, v in handle.classnames().items()
                if v == "TTree" and k.startswith("MetaData;")
            ),
            None,
        )
        if meta is None:
            return cache  # files rewritten by plain ROOT have no MetaData: keys are computed
        metatree = handle[meta]
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
    return read(source, tree=tree, entry_stop=0).source.schema
