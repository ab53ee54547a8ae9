"""Per-chunk data provider behind the lazy event model.

:class:`EventSource` owns one :class:`~afkit.io.reader.BranchReader` (one file, one tree, one
entry range) and a schema.  Every buffer of the event model's awkward form is a callable into
this object, so touching ``events.Jets.pt`` runs exactly :meth:`list_content` for
``Jets.pt`` (one branch, whose offsets it also caches for the collection) and nothing else.

It also checks what it reads: all per-object fields of a collection must agree on the
object counts of every event; a disagreement means a damaged or inconsistent file and raises
:class:`~afkit.exceptions.DecodeError` rather than misaligning objects.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from afkit.events import linking
from afkit.exceptions import DecodeError, MissingBranchError, MissingCollectionError
from afkit.io.physlite import streamers
from afkit.io.physlite.schema import CollectionSpec, FieldSpec, Schema
from afkit.io.reader import BranchReader
from afkit.units import MEV_PER_GEV, Units


class EventSource:
    """Reads, converts and caches the buffers of one chunk's event model."""

    def __init__(
        self,
        reader: BranchReader,
        schema: Schema,
        *,
        units: Units,
        scale_energies: bool,
        counts_from: dict[str, str] | None = None,
        event_format: Callable[[], dict[str, int]] | None = None,
    ) -> None:
        self.reader = reader
        self.schema = schema
        self.units = units
        self.scale = scale_energies and units == "GeV"
        self.counts_from = counts_from or {}  # collection -> flat count branch (NanoAOD nX)
        self._event_format = event_format
        self._offsets: dict[str, NDArray[np.int64]] = {}
        self._resolvers: dict[tuple[str, str], linking.LinkResolver] = {}
        self._compressed: dict[str, int] | None = None

    # -- metadata -----------------------------------------------------------------------
    @property
    def file(self) -> str:
        return self.reader.file

    @property
    def num_entries(self) -> int:
        return self.reader.num_entries

    def collection(self, name: str) -> CollectionSpec:
        try:
            return self.schema.collections[name]
        except KeyError:
            raise MissingCollectionError(
                "collection", name, self.schema.collections, file=self.file
            ) from None

    def field(self, collection: str, name: str) -> FieldSpec:
        spec = self.collection(collection)
        try:
            return spec.fields[name]
        except KeyError:
            raise MissingBranchError(
                "field", name, spec.fields, file=self.file, where=f"collection {collection!r}"
            ) from None

    def event_format_keys(self) -> dict[str, int]:
        """Container name -> StoreGate key from the file's EventFormat ({} without MetaData)."""
        return self._event_format() if self._event_format else {}

    def compressed_bytes(self) -> dict[str, int]:
        if self._compressed is None:
            self._compressed = {}
            for spec in self.schema.collections.values():
                for f in spec.fields.values():
                    name = f.branch + ".m_persKey" if f.kind == "link" else f.branch
                    try:
                        self._compressed[f.branch] = int(self.reader.branch(name).compressed_bytes)
                    except Exception:  # noqa: BLE001 - only a preference for the cheapest branch
                        self._compressed[f.branch] = 0
        return self._compressed

    # -- offsets ------------------------------------------------------------------------
    def offsets(self, collection: str) -> NDArray[np.int64]:
        """Per-event object offsets of ``collection``, from the cheapest source available."""
        if collection in self._offsets:
            return self._offsets[collection]
        spec = self.collection(collection)
        if collection in self.counts_from:
            counts = self.reader.flat(self.counts_from[collection]).astype(np.int64)
            offsets = np.zeros(len(counts) + 1, np.int64)
            np.cumsum(counts, out=offsets[1:])
            return self._register(collection, offsets, self.counts_from[collection])
        for f in spec.fields.values():  # a branch already read costs nothing
            if f.kind == "list" and self.reader.has_cached("jagged", f.branch):
                return self._register(collection, self.reader.jagged(f.branch)[0], f.branch)
        cheapest = spec.count_field(self.compressed_bytes())
        if cheapest is None:
            raise DecodeError(
                f"collection {collection!r} has no per-object field to count objects from",
                file=self.file,
            )
        self.prefetch(collection, cheapest.name)
        return self._offsets[collection]

    def _register(
        self, collection: str, offsets: NDArray[np.int64], branch: str
    ) -> NDArray[np.int64]:
        known = self._offsets.get(collection)
        if known is None:
            if len(offsets) != self.num_entries + 1:
                raise DecodeError(
                    f"branch {branch!r} has {len(offsets) - 1} entries, expected {self.num_entries}",
                    file=self.file,
                )
            self._offsets[collection] = offsets
            return offsets
        if not np.array_equal(known, offsets):
            bad = int(np.flatnonzero(known != offsets)[0]) if len(known) == len(offsets) else 0
            raise DecodeError(
                f"branch {branch!r} disagrees with the other fields of {collection!r} on the "
                f"number of objects (first at entry {self.reader.entry_start + max(bad - 1, 0)})",
                file=self.file,
            )
        return known

    # -- field buffers ------------------------------------------------------------------
    def _convert(self, spec: FieldSpec, values: NDArray[Any]) -> NDArray[Any]:
        if self.scale and spec.energy:
            return values.astype(np.float64) / MEV_PER_GEV
        return values

    def scalar(self, collection: str, name: str) -> NDArray[Any]:
        spec = self.field(collection, name)
        if spec.kind == "static":
            return self._convert(spec, self.static_members(spec.branch, spec.cpp_type)[name])
        return self._convert(spec, self.reader.flat(spec.branch))

    def static_members(self, branch: str, cpp_type: str) -> dict[str, NDArray[Any]]:
        """All numeric members of an unsplit static aux object, decoded once per chunk."""
        from afkit.io.physlite.static_objects import decode_static_objects, object_plan

        def make() -> dict[str, NDArray[Any]]:
            plan = object_plan(self.reader.tree.file, cpp_type)
            data, offsets = self.reader.raw(branch)
            return decode_static_objects(data, offsets, plan, what=f"{branch} in {self.file}")

        return self.reader.cached("static", branch, make)  # type: ignore[no-any-return]

    def event_list(self, collection: str, name: str) -> tuple[NDArray[np.int64], NDArray[Any]]:
        """A ``vector<T>`` per event of a single-object collection: (offsets, content)."""
        spec = self.field(collection, name)
        offsets, content = self.reader.jagged(spec.branch)
        return offsets, self._convert(spec, content)

    def list_content(self, collection: str, name: str) -> NDArray[Any]:
        """One value per object: the content of a ``vector<T>`` field, counts checked."""
        spec = self.field(collection, name)
        offsets, content = self.reader.jagged(spec.branch)
        self._register(collection, offsets, spec.branch)
        return self._convert(spec, content)

    def nested(self, collection: str, name: str) -> tuple[NDArray[np.int64], NDArray[Any]]:
        """``vector<vector<T>>``: (per-object inner offsets, content)."""
        spec = self.field(collection, name)

        def make() -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[Any]]:
            data, offsets = self.reader.raw(spec.branch)
            assert spec.dtype is not None
            return streamers.decode_vector_vector(
                data, offsets, spec.dtype, what=f"{spec.branch} in {self.file}"
            )

        outer, inner, content = self.reader.cached("nested", spec.branch, make)
        self._register(collection, outer, spec.branch)
        return inner, self._convert(spec, content)

    def links(self, collection: str, name: str) -> streamers.LinkArrays:
        """Persistent (key, index) pairs of a link field, in any of the four encodings."""
        spec = self.field(collection, name)
        what = f"{spec.branch} in {self.file}"

        def make() -> streamers.LinkArrays:
            if spec.kind == "link":
                off_k, keys = self.reader.jagged(spec.branch + ".m_persKey")
                off_i, idx = self.reader.jagged(spec.branch + ".m_persIndex")
                if not np.array_equal(off_k, off_i):
                    raise DecodeError(f"key and index counts differ in {spec.branch!r}", file=self.file)
                return streamers.LinkArrays(keys.astype(np.uint32), idx.astype(np.uint32), off_k)
            data, offsets = self.reader.raw(spec.branch)
            if spec.kind == "link_single":
                return streamers.decode_single_links(data, offsets, what=what)
            if spec.kind == "link_vector":
                return streamers.decode_vector_links(data, offsets, what=what)
            if spec.kind == "link_nested":
                return streamers.decode_vector_vector_links(data, offsets, what=what)
            raise DecodeError(f"{spec.branch!r} is not a link field", file=self.file)

        arrays: streamers.LinkArrays = self.reader.cached("links", spec.branch, make)
        if arrays.offsets is not None and not self.collection(collection).single:
            self._register(collection, arrays.offsets, spec.branch)
        return arrays

    def resolver(self, collection: str, name: str) -> linking.LinkResolver:
        key = (collection, name)
        if key not in self._resolvers:
            self._resolvers[key] = linking.LinkResolver(self, collection, name)
        return self._resolvers[key]

    def prefetch(self, collection: str, name: str) -> None:
        """Read field ``name`` of ``collection`` now, so its offsets serve the collection."""
        spec = self.schema.collections.get(collection)
        if spec is None or spec.single or collection in self._offsets:
            return
        f = spec.fields.get(name)
        if f is None:
            return
        if f.kind == "list":
            self.list_content(collection, name)
        elif f.kind == "nested":
            self.nested(collection, name)
        elif f.kind in ("link", "link_vector", "link_nested"):
            self.links(collection, name)
