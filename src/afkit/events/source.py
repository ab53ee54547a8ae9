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
from afkit.io.reader import BranchReader
from afkit.io.schema import CollectionSpec, FieldSpec, Schema
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
        self._announced: set[str] = set()  # branches about to be read (link target fields)
        self._device: dict[tuple[str, str], Any] = {}  # (backend, buffer key) -> device copy
        self._resolvers: dict[tuple[str, str], linking.LinkResolver] = {}
        self._compressed: dict[str, int] = {}

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

    def _already_read(self, branch: str) -> bool:
        """Whether this chunk decoded ``branch`` as a ``vector<T>`` already, or is about to
        (:meth:`announce_link_field`)."""
        if branch in self._announced:
            return True
        is_cached = getattr(self.reader, "is_cached", None)
        return bool(is_cached and is_cached("jagged", branch))

    def release(self) -> None:
        """Drop the decoded buffers kept for reuse in this chunk: the reader's, the
        resolved links' and the device copies (object counts, small, are kept).  Arrays
        already handed out keep their buffers; a field asked for again is read again."""
        self.reader.clear()
        self._resolvers.clear()
        self._device.clear()

    def announce_link_field(self, link: str, name: str) -> None:
        """Field ``name`` of the targets of ``link`` (``"Jets/btaggingLink"``) is about to be
        read: its branches may count those collections' objects (see
        :meth:`~afkit.io.schema.CollectionSpec.anchor`)."""
        collection, _, field = link.partition("/")
        for target in self.resolver(collection, field).candidates:
            spec = self.schema.collections.get(target)
            if spec is not None and target not in self._offsets:
                found = spec.fields.get(name)
                if found is not None and found.kind == "list":
                    self._announced.add(found.branch)

    def compressed_bytes(self, branch: str) -> int:
        """Bytes of a branch's baskets on disk (0 where unknown): the anchor's tie-breaker."""
        if branch not in self._compressed:
            try:
                self._compressed[branch] = self.reader.compressed_bytes(branch)
            except Exception:  # noqa: BLE001 - only a preference for the largest branch
                self._compressed[branch] = 0
        return self._compressed[branch]

    def device_buffer(self, key: str, make: Callable[[], Any], backend: str) -> Any:
        """The event model's buffer ``key`` on ``backend``: ``make()`` (host) copied there
        once per chunk."""
        from afkit.kernels import to_device

        cached = self._device.get((backend, key))
        if cached is None:
            cached = self._device[(backend, key)] = to_device(np.asarray(make()), backend)
        return cached

    # -- offsets ------------------------------------------------------------------------
    def offsets(self, collection: str) -> NDArray[np.int64]:
        """Per-event object offsets of ``collection``, from its anchor field (read once)."""
        if collection in self._offsets:
            return self._offsets[collection]
        spec = self.collection(collection)
        if collection in self.counts_from:  # NanoAOD: the nX counter branch
            branch = self.counts_from[collection]
            counts = self.reader.flat(branch).astype(np.int64)
            offsets = np.zeros(len(counts) + 1, np.int64)
            np.cumsum(counts, out=offsets[1:])
        else:
            anchor = spec.anchor(self.compressed_bytes, self._already_read)
            if anchor is None:
                raise DecodeError(
                    f"collection {collection!r} has no per-object field to count objects from",
                    file=self.file,
                )
            branch = anchor.branch
            offsets = self._field_offsets(collection, anchor)
        if len(offsets) != self.num_entries + 1:
            raise DecodeError(
                f"branch {branch!r} has {len(offsets) - 1} entries, expected {self.num_entries}",
                file=self.file,
            )
        self._offsets[collection] = offsets
        return offsets

    def _field_offsets(self, collection: str, spec: FieldSpec) -> NDArray[np.int64]:
        if spec.kind == "list":
            return self.reader.jagged(spec.branch)[0]
        if spec.kind == "nested":
            return self._nested_raw(spec)[0]
        links = self._links_raw(spec)
        assert links.offsets is not None
        return links.offsets

    def _presence(
        self, collection: str, spec: FieldSpec, field_offsets: NDArray[np.int64]
    ) -> NDArray[np.bool_] | None:
        """None if the field has every object; else which events store it.

        A field may be absent from some events (an xAOD decoration not set there is written
        as an empty vector).  Any other count difference is damage and raises.
        """
        offsets = self.offsets(collection)
        if np.array_equal(field_offsets, offsets):
            return None
        if len(field_offsets) == len(offsets):
            have = np.diff(field_offsets)
            want = np.diff(offsets)
            if np.all((have == want) | (have == 0)):
                return np.asarray(have == want, dtype=bool)
            bad = int(np.flatnonzero((have != want) & (have != 0))[0])
        else:
            bad = 0
        raise DecodeError(
            f"branch {spec.branch!r} disagrees with the other fields of {collection!r} on the "
            f"number of objects (entry {self.reader.entry_start + bad})",
            file=self.file,
        )

    def _absent(self, spec: FieldSpec) -> DecodeError:
        return DecodeError(
            f"branch {spec.branch!r} ({spec.cpp_type}) is not stored in some events and has no "
            "missing-value representation; read it with Events.branch(name)",
            file=self.file,
        )

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
            plan = object_plan(self.reader.handle.root_file, cpp_type)
            data, offsets = self.reader.raw(branch)
            return decode_static_objects(data, offsets, plan, what=f"{branch} in {self.file}")

        return self.reader.cached("static", branch, make)  # type: ignore[no-any-return]

    def event_list(self, collection: str, name: str) -> tuple[NDArray[np.int64], NDArray[Any]]:
        """A ``vector<T>`` per event of a single-object collection: (offsets, content)."""
        spec = self.field(collection, name)
        offsets, content = self.reader.jagged(spec.branch)
        return offsets, self._convert(spec, content)

    def list_content(self, collection: str, name: str) -> NDArray[Any]:
        """One value per object of a ``vector<T>`` field (NaN where a float is not stored),
        or of a constant field the file does not store."""
        spec = self.field(collection, name)
        if spec.kind == "constant":
            return self._constant(collection, spec)
        field_offsets, content = self.reader.jagged(spec.branch)
        present = self._presence(collection, spec, field_offsets)
        content = self._convert(spec, content)
        if present is None:
            return content
        if content.dtype.kind != "f":
            raise self._absent(spec)
        offsets = self.offsets(collection)
        out = np.full(int(offsets[-1]), np.nan, dtype=content.dtype)
        out[_object_mask(offsets, present)] = content
        return out

    def field_list(
        self, collection: str, name: str
    ) -> tuple[NDArray[np.int64], NDArray[Any]] | None:
        """A ``vector<T>`` field as stored: its own per-event offsets and its (converted)
        values, with no check against the collection's counts; ``None`` for other kinds."""
        spec = self.field(collection, name)
        if spec.kind != "list":
            return None
        field_offsets, content = self.reader.jagged(spec.branch)
        return field_offsets, self._convert(spec, content)

    def _constant(self, collection: str, spec: FieldSpec) -> NDArray[Any]:
        assert spec.constant is not None
        values = np.full(int(self.offsets(collection)[-1]), spec.constant, dtype=np.float64)
        return self._convert(spec, values)

    def _nested_raw(
        self, spec: FieldSpec
    ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[Any]]:
        assert spec.dtype is not None
        return self.reader.nested_lists(spec.branch, spec.dtype)

    def nested(self, collection: str, name: str) -> tuple[NDArray[np.int64], NDArray[Any]]:
        """``vector<vector<T>>``: (per-object inner offsets, content)."""
        spec = self.field(collection, name)
        outer, inner, content = self._nested_raw(spec)
        if self._presence(collection, spec, outer) is not None:
            raise self._absent(spec)
        return inner, self._convert(spec, content)

    def _links_raw(self, spec: FieldSpec) -> streamers.LinkArrays:
        return self.reader.link_arrays(spec.branch, spec.kind)

    def links(self, collection: str, name: str) -> streamers.LinkArrays:
        """Persistent (key, index) pairs of a link field, aligned with the collection.

        In events where a one-link-per-object field is not stored, its links are invalid
        (key 0), so they resolve to missing values.
        """
        spec = self.field(collection, name)
        links = self._links_raw(spec)
        if links.offsets is None or self.collection(collection).single:
            return links
        present = self._presence(collection, spec, links.offsets)
        if present is None:
            return links
        if spec.kind == "link_nested":
            raise self._absent(spec)
        offsets = self.offsets(collection)
        keys = np.zeros(int(offsets[-1]), np.uint32)
        indices = np.full(int(offsets[-1]), streamers.INVALID_INDEX, np.uint32)
        mask = _object_mask(offsets, present)
        keys[mask] = links.keys
        indices[mask] = links.indices
        return streamers.LinkArrays(keys, indices, offsets)

    def resolver(self, collection: str, name: str) -> linking.LinkResolver:
        key = (collection, name)
        if key not in self._resolvers:
            self._resolvers[key] = linking.LinkResolver(self, collection, name)
        return self._resolvers[key]


def _object_mask(offsets: NDArray[np.int64], present: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Per-object mask from a per-event mask."""
    return np.repeat(present, np.diff(offsets))
