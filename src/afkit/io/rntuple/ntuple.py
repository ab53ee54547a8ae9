"""An RNTuple in a ROOT file: its schema, clusters and fields read as awkward arrays.

:class:`RNTuple` opens the anchor, header and footer (page lists are read when first
needed, one envelope per cluster group) and reads fields for an entry range: the clusters
covering the range are read whole, column by column, and the assembled arrays cut to the
range.  Fields map to awkward as a physicist expects from the C++ type: leaves to numbers
(``bool``, integers, ``float``, ``double`` whatever the column encoding), ``std::vector``
and other collections to lists, classes to records (base-class members merged in),
``std::array``/``std::bitset`` to regular lists, ``std::pair``/``std::tuple`` to tuples,
``std::variant`` to unions, ``std::string`` to strings.  Fields stored with ROOT's streamer
are not decoded (:class:`FieldNotReadable`).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import awkward as ak
import numpy as np
from numpy.typing import NDArray

from afkit._jit import interpreted, njit
from afkit.io.rntuple import descriptor as d
from afkit.io.rntuple.envelopes import (
    FOOTER,
    HEADER,
    PAGE_LIST,
    Anchor,
    RNTupleFormatError,
    UnsupportedRNTupleError,
    open_envelope,
    parse_anchor,
)
from afkit.io.rntuple.pages import SWITCH, ColumnPart, column_type, read_column
from afkit.io.rootio.baskets import CorruptBasket, decompress
from afkit.io.rootio.directory import Key

_LEAF_DTYPES = {
    "bool": np.bool_,
    "char": np.int8,
    "std::byte": np.uint8,
    "std::int8_t": np.int8,
    "std::uint8_t": np.uint8,
    "std::int16_t": np.int16,
    "std::uint16_t": np.uint16,
    "std::int32_t": np.int32,
    "std::uint32_t": np.uint32,
    "std::int64_t": np.int64,
    "std::uint64_t": np.uint64,
    "float": np.float32,
    "double": np.float64,
}
_STRING = "std::string"
_CARDINALITY = re.compile(r"^ROOT::RNTupleCardinality<std::uint(32|64)_t>$")
_OPTIONAL = ("std::optional<", "std::unique_ptr<")
_TUPLE = ("std::pair<", "std::tuple<")


class FieldNotReadable(RNTupleFormatError):
    """A field whose type afkit does not decode (ROOT-streamed objects)."""


@dataclass
class _Context:
    """What reading one entry range needs: the clusters and their per-cluster counts."""

    source: Any
    clusters: list[d.Cluster]
    where: str


class RNTuple:
    """One RNTuple of a ROOT file (``source``: a byte source with ``ranges`` and ``each_range``)."""

    def __init__(self, source: Any, key: Key, path: str) -> None:
        self.source = source
        self.path = path
        self.name = key.name
        (payload,) = source.ranges([(key.seek + key.keylen, key.seek + key.nbytes)])
        try:
            anchor_bytes = decompress(payload, key.objlen)
        except CorruptBasket as err:
            raise RNTupleFormatError(
                f"the anchor of {key.name!r} does not decompress: {err}"
            ) from err
        self.anchor: Anchor = parse_anchor(anchor_bytes.tobytes())
        a = self.anchor
        raw_header, raw_footer = source.ranges(
            [
                (a.seek_header, a.seek_header + a.nbytes_header),
                (a.seek_footer, a.seek_footer + a.nbytes_footer),
            ]
        )
        header, self.header_checksum = open_envelope(raw_header, a.len_header, HEADER)
        footer = d.parse_footer(
            open_envelope(raw_footer, a.len_footer, FOOTER)[0].tobytes(), self.header_checksum
        )
        self.schema = _schema(header.tobytes(), self.header_checksum, footer)
        self.groups = footer.groups
        self._clusters: list[d.Cluster] | None = None
        self.by_path = self._field_paths()

    @property
    def num_entries(self) -> int:
        """Entries in the RNTuple, from the footer's cluster groups (no page list read)."""
        return sum(g.entry_span for g in self.groups)

    @property
    def version(self) -> str:
        return self.anchor.version_text

    def clusters(self) -> list[d.Cluster]:
        """Every cluster with its page locations (page lists read once, then kept)."""
        if self._clusters is None:
            out: list[d.Cluster] = []
            links = [
                (g.page_list.offset, g.page_list.offset + g.page_list.size) for g in self.groups
            ]
            raws = self.source.ranges(links) if links else []
            for group, raw in zip(self.groups, raws, strict=True):
                payload, _ = open_envelope(raw, group.page_list_length, PAGE_LIST)
                found = d.parse_page_list(
                    payload.tobytes(), self.header_checksum, len(self.schema.columns)
                )
                if len(found) != group.clusters:
                    raise RNTupleFormatError(
                        f"a cluster group says {group.clusters} clusters, its page list has "
                        f"{len(found)}"
                    )
                out.extend(found)
            total = sum(c.entries for c in out)
            if total != self.num_entries:
                raise RNTupleFormatError(
                    f"the clusters hold {total} entries, the cluster groups say {self.num_entries}"
                )
            self._clusters = out
        return self._clusters

    def cluster_starts(self) -> list[int]:
        """First entry of each cluster and the end: natural chunk boundaries."""
        clusters = self.clusters()
        return [c.first_entry for c in clusters] + [self.num_entries]

    # -- schema -------------------------------------------------------------------------

    def _field_paths(self) -> dict[str, d.FieldDesc]:
        """Top-level fields by name."""
        out: dict[str, d.FieldDesc] = {}
        for top in self.schema.top_fields():
            out[top.name] = top
        return out

    def field_names(self) -> list[str]:
        return list(self.by_path)

    def field(self, name: str) -> d.FieldDesc:
        from afkit.exceptions import MissingBranchError

        found = self.by_path.get(name)
        if found is None:
            raise MissingBranchError(
                "field", name, self.by_path, file=self.path, where=f"RNTuple {self.name!r}"
            )
        return found

    # -- reading ------------------------------------------------------------------------

    def arrays(
        self, names: Iterable[str], entry_start: int = 0, entry_stop: int | None = None
    ) -> dict[str, ak.Array]:
        """The named top-level fields for entries ``[entry_start, entry_stop)``."""
        stop = self.num_entries if entry_stop is None else min(entry_stop, self.num_entries)
        start = max(0, min(entry_start, stop))
        chosen = [
            c for c in self.clusters() if c.first_entry < stop and c.first_entry + c.entries > start
        ]
        fields = [self.field(n) for n in names]
        out: dict[str, ak.Array] = {}
        if not chosen:
            for name, desc in zip(names, fields, strict=False):
                out[name] = ak.Array(self._read(desc, _Context(self.source, [], ""), []))
            return out
        for desc in fields:
            layout, a, b = self._window(desc, chosen, start, stop)
            whole = a == 0 and b == layout.length  # whole clusters: nothing to cut
            out[desc.name] = ak.Array(layout) if whole else ak.Array(layout)[a:b]
        return out

    def layout(
        self, name: str, entry_start: int, entry_stop: int
    ) -> tuple[ak.contents.Content, int, int]:
        """A field over the whole clusters covering ``[entry_start, entry_stop)``, and the
        range's positions in it: (layout, a, b).  Readers that cut buffers themselves use
        this to skip building (and slicing) a high-level array."""
        stop = min(entry_stop, self.num_entries)
        start = max(0, min(entry_start, stop))
        chosen = [
            c for c in self.clusters() if c.first_entry < stop and c.first_entry + c.entries > start
        ]
        return self._window(self.field(name), chosen, start, stop)

    def _window(
        self, desc: d.FieldDesc, chosen: list[d.Cluster], start: int, stop: int
    ) -> tuple[ak.contents.Content, int, int]:
        if not chosen:
            return self._read(desc, _Context(self.source, [], ""), []), 0, 0
        first = chosen[0].first_entry
        ctx = _Context(self.source, chosen, f"{self.path}, field {desc.name!r}")
        layout = self._read(desc, ctx, [c.entries for c in chosen])
        return layout, start - first, stop - first

    def columns_of(self, desc: d.FieldDesc) -> list[d.ColumnDesc]:
        """The field's columns (physical or alias) in schema order."""
        out = []
        for ref in desc.columns:  # physical ids, or -1 - (position among the aliases)
            out.append(self.schema.columns[ref] if ref >= 0 else self.schema.aliases[-1 - ref])
        return out

    def _column(
        self,
        desc: d.FieldDesc,
        slot: int,
        ctx: _Context,
        expected: list[int],
        dtype: Any = None,
        lead: int = 0,
    ) -> NDArray[Any]:
        """Column ``slot`` of the field over the context's clusters, as ``dtype`` (after
        ``lead`` zeros).

        Each cluster is read from its primary representation; ``expected`` gives the
        elements each cluster must have (from the parent field), elements a column added
        later does not have are zeros, as the format prescribes.
        """
        columns = self.columns_of(desc)
        reps = max(c.representation for c in columns) + 1 if columns else 0
        per_rep = len(columns) // reps if reps else 0
        if per_rep == 0 or slot >= per_rep:
            raise RNTupleFormatError(f"{ctx.where}: field has no column {slot}")
        candidates = [columns[r * per_rep + slot] for r in range(reps)]
        parts = []
        for ci, cluster in enumerate(ctx.clusters):
            chosen = None
            for cand in candidates:
                info = cluster.columns.get(cand.id)
                if info is not None and not info.suppressed:
                    chosen = cand
                    break
            parts.append(ColumnPart(cluster, chosen, expected[ci]))
        if dtype is None:
            dtype = column_type(candidates[0]).dtype
        switch = column_type(candidates[0]).encoding == SWITCH
        return read_column(parts, np.dtype(dtype), ctx.source, ctx.where, switch=switch, lead=lead)

    def _offsets(
        self, desc: d.FieldDesc, ctx: _Context, expected: list[int]
    ) -> tuple[NDArray[np.int64], list[int]]:
        """A collection's offsets over all clusters and the children's count per cluster."""
        offsets = self._column(desc, 0, ctx, expected, np.int64, lead=1)
        globalise = global_offsets_numpy if interpreted(offsets.nbytes) else _global_offsets
        status = globalise(offsets[1:], np.asarray(expected, np.int64), offsets)
        if status >= 0:
            raise RNTupleFormatError(
                f"{ctx.where}: collection offsets go backwards (element {status})"
            )
        # each cluster's children: the offsets' growth over its entries (built in place,
        # the per-cluster ends are gone)
        ends = np.zeros(len(expected) + 1, np.int64)
        np.asarray(expected, np.int64).cumsum(out=ends[1:])
        child_counts = np.diff(offsets[ends]).tolist()
        return offsets, child_counts

    def _read(self, desc: d.FieldDesc, ctx: _Context, expected: list[int]) -> ak.contents.Content:
        role = desc.role
        type_name = desc.type_name
        if role == d.STREAMER:
            raise FieldNotReadable(
                f"{ctx.where}: field {desc.name!r} ({type_name}) is stored with ROOT's streamer"
            )
        if desc.flags & d.REPETITIVE:
            size = desc.repetition
            inner = [n * size for n in expected]
            if desc.columns:  # std::bitset<N>: one Bit column
                values = self._column(desc, 0, ctx, inner, np.bool_)
                content: ak.contents.Content = ak.contents.NumpyArray(values)
            else:
                content = self._read(self.schema.fields[desc.children[0]], ctx, inner)
            return ak.contents.RegularArray(content, size, zeros_length=sum(expected))
        if role == d.LEAF:
            return self._leaf(desc, ctx, expected)
        if role == d.COLLECTION:
            offsets, child_counts = self._offsets(desc, ctx, expected)
            children = [self.schema.fields[c] for c in desc.children]
            if len(children) == 1:
                content = self._read(children[0], ctx, child_counts)
            else:  # untyped collection: a record of its children
                content = self._record(desc, children, ctx, child_counts, tuple_like=False)
            listed = ak.contents.ListOffsetArray(ak.index.Index64(offsets), content)
            if type_name.startswith(_OPTIONAL):
                return _optional(offsets, content)
            return listed
        if role == d.RECORD:
            children = [self.schema.fields[c] for c in desc.children]
            return self._record(
                desc, children, ctx, expected, tuple_like=type_name.startswith(_TUPLE)
            )
        if role == d.VARIANT:
            return self._variant(desc, ctx, expected)
        raise UnsupportedRNTupleError(f"{ctx.where}: structural role {role}")

    def _record(
        self,
        desc: d.FieldDesc,
        children: list[d.FieldDesc],
        ctx: _Context,
        expected: list[int],
        *,
        tuple_like: bool,
    ) -> ak.contents.Content:
        names: list[str] = []
        owners: list[str | None] = []  # the base class a merged member came from
        contents: list[ak.contents.Content] = []
        for child in children:
            layout = self._read(child, ctx, expected)
            if child.name.startswith(":") and isinstance(layout, ak.contents.RecordArray):
                for name, sub in zip(layout.fields, layout.contents, strict=True):  # base class
                    names.append(name)
                    owners.append(child.type_name)
                    contents.append(sub)
            else:
                names.append(child.name)
                owners.append(None)
                contents.append(layout)
        repeated = {n for n in names if names.count(n) > 1}
        names = [
            f"{owner}::{n}" if n in repeated and owner else n
            for n, owner in zip(names, owners, strict=True)
        ]
        length = sum(expected)
        if tuple_like or not contents:
            return ak.contents.RecordArray(contents, None, length=length)
        return ak.contents.RecordArray(contents, names, length=length)

    def _leaf(self, desc: d.FieldDesc, ctx: _Context, expected: list[int]) -> ak.contents.Content:
        type_name = desc.type_name
        if not desc.columns:
            if len(desc.children) == 1:  # std::atomic<T>, enums: the one subfield
                return self._read(self.schema.fields[desc.children[0]], ctx, expected)
            if not desc.children:
                return ak.contents.RecordArray([], [], length=sum(expected))
            raise UnsupportedRNTupleError(f"{ctx.where}: leaf field {desc.name!r} without columns")
        if type_name == _STRING:
            offsets, child_counts = self._offsets(desc, ctx, expected)
            chars = self._column(desc, 1, ctx, child_counts, np.uint8)
            content = ak.contents.NumpyArray(chars.view(np.uint8), parameters={"__array__": "char"})
            return ak.contents.ListOffsetArray(
                ak.index.Index64(offsets), content, parameters={"__array__": "string"}
            )
        cardinality = _CARDINALITY.match(type_name)
        if cardinality:
            offsets, _ = self._offsets(desc, ctx, expected)
            size_type = np.uint32 if cardinality.group(1) == "32" else np.uint64
            return ak.contents.NumpyArray(np.diff(offsets).astype(size_type))
        dtype = _LEAF_DTYPES.get(type_name)
        if dtype is None:
            raise FieldNotReadable(f"{ctx.where}: leaf type {type_name!r} is not a number")
        return ak.contents.NumpyArray(self._column(desc, 0, ctx, expected, dtype))

    def _variant(
        self, desc: d.FieldDesc, ctx: _Context, expected: list[int]
    ) -> ak.contents.Content:
        switch = self._column(desc, 0, ctx, expected, np.int64)
        counts = expected
        children = [self.schema.fields[c] for c in desc.children]
        index, tag = switch[:, 0], switch[:, 1]
        if np.any(tag < 0) or np.any(tag > len(children)):
            raise RNTupleFormatError(f"{ctx.where}: variant tag outside 0..{len(children)}")
        cluster_of = np.repeat(np.arange(len(counts)), counts)
        contents = []
        global_index = np.zeros(len(index), np.int64)
        for k, child in enumerate(children, start=1):
            mine = tag == k
            per_cluster = np.bincount(cluster_of[mine], minlength=len(counts)).tolist()
            contents.append(self._read(child, ctx, per_cluster))
            bases = np.concatenate([[0], np.cumsum(per_cluster)[:-1]]).astype(np.int64)
            global_index[mine] = index[mine] + bases[cluster_of[mine]]
        valid = tag > 0
        tags = np.where(valid, tag - 1, 0).astype(np.int8)
        if not contents:
            raise RNTupleFormatError(f"{ctx.where}: variant without alternatives")
        if len(contents) == 1:
            inner = np.where(valid, global_index, 0)
            union: ak.contents.Content = ak.contents.IndexedArray(
                ak.index.Index64(inner), contents[0]
            )
        else:
            union = ak.contents.UnionArray.simplified(
                ak.index.Index8(tags), ak.index.Index64(np.where(valid, global_index, 0)), contents
            )
        if np.all(valid):
            return union
        positions = np.where(valid, np.arange(len(valid)), -1).astype(np.int64)
        return ak.contents.IndexedOptionArray.simplified(ak.index.Index64(positions), union)


@njit(cache=True, nogil=True)
def _global_offsets(ends: Any, counts: Any, out: Any) -> int:
    """Per-cluster collection ends (counting from 0 in each cluster) to offsets over all the
    clusters, into ``out`` (``len(ends) + 1``; ``ends`` may be ``out[1:]``: each slot is read
    before it is written); -1, or the first element going backwards."""
    base = np.int64(0)
    pos = 0
    for c in range(len(counts)):
        previous = np.int64(0)
        for _ in range(counts[c]):
            end = ends[pos]
            if end < previous:
                return pos
            out[pos + 1] = base + end
            previous = end
            pos += 1
        base += previous
    return -1


def global_offsets_numpy(ends: NDArray[np.int64], counts: NDArray[np.int64], out: Any) -> int:
    """:func:`_global_offsets` in NumPy, a cluster at a time (the same result, the same
    first element going backwards), for a process that has compiled nothing yet."""
    base = 0
    pos = 0
    for count in counts.tolist():
        segment = np.array(ends[pos : pos + count])  # read before out (its own bytes) is written
        if count:
            backwards = np.flatnonzero(segment < np.concatenate([[0], segment[:-1]]))
            if len(backwards):
                return pos + int(backwards[0])
            out[pos + 1 : pos + 1 + count] = segment + base
            base += int(segment[-1])
        pos += count
    return -1


def _optional(offsets: NDArray[np.int64], content: ak.contents.Content) -> ak.contents.Content:
    """A collection of zero or one element as an option type."""
    sizes = np.diff(offsets)
    if np.any(sizes > 1):
        raise RNTupleFormatError("an optional field holds more than one element")
    index = np.where(sizes == 1, offsets[:-1], -1).astype(np.int64)
    return ak.contents.IndexedOptionArray(ak.index.Index64(index), content)


#: Schemas by (header checksum, footer extension): the files of a dataset share one.
_SCHEMAS: OrderedDict[tuple[int, bytes], d.Schema] = OrderedDict()
_SCHEMA_CACHE = 32


def _schema(header: bytes, checksum: int, footer: d.Footer) -> d.Schema:
    """The schema of a header (and its footer's extension), parsed once per process.

    The header's XXH3 checksum was verified against its bytes: equal checksums and equal
    extensions mean equal schemas, which readers share and never modify.
    """
    key = (checksum, footer.extension_bytes)
    found = _SCHEMAS.get(key)
    if found is not None and found.header == header:
        _SCHEMAS.move_to_end(key)
        return found
    schema = d.parse_header(header)
    footer.extend(schema)
    schema.header = header
    _SCHEMAS[key] = schema
    while len(_SCHEMAS) > _SCHEMA_CACHE:
        _SCHEMAS.popitem(last=False)
    return schema


def rntuple_keys(source: Any) -> dict[str, Key]:
    """The file's top-level RNTuples by name (latest cycle)."""
    from afkit.io.rootio.directory import latest, top_keys

    return {n: k for n, k in latest(top_keys(source)).items() if k.classname == "ROOT::RNTuple"}
