"""The RNTuple schema and cluster layout: fields, columns, clusters and their pages.

Parsed from the header, footer and page-list envelopes (see
:mod:`afkit.io.rntuple.envelopes`).  Field and column ids are positions in the serialized
lists, the footer's schema extension continuing them; alias columns (projected fields) point
at physical columns.  Each cluster's page list gives, per physical column, its pages
(element count, locator, whether a checksum follows), the column's first element in the
cluster, and its compression, or marks the column suppressed (another representation is
the cluster's primary one).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from afkit._jit import interpreted, njit
from afkit.io.rntuple.envelopes import Frames, Locator, RNTupleFormatError, UnsupportedRNTupleError

# Structural roles.
LEAF, COLLECTION, RECORD, VARIANT, STREAMER = 0, 1, 2, 3, 4
# Field flags.
REPETITIVE, PROJECTED, TYPE_CHECKSUM = 0x01, 0x02, 0x04
# Column flags.
DEFERRED, RANGE = 0x01, 0x02

#: Feature flag bits this reader knows (none are defined in format 1.0).
KNOWN_FEATURES = 0


@dataclass
class FieldDesc:
    """One field of the schema tree."""

    id: int
    name: str
    type_name: str
    type_alias: str
    parent: int
    role: int
    flags: int
    repetition: int = 0  # array size for repetitive fields
    source: int = -1  # source field of a projected field
    children: list[int] = field(default_factory=list)
    columns: list[int] = field(default_factory=list)  # column ids, physical or alias, in order


@dataclass
class ColumnDesc:
    """One column: its on-disk type, width and field; alias columns name their physical one."""

    id: int  # physical column id (for an alias: the physical column it reads)
    type: int
    bits: int
    field: int
    flags: int
    representation: int
    first_element: int = 0
    value_range: tuple[float, float] | None = None
    alias: bool = False


@dataclass(frozen=True)
class Page:
    """One page of a column in a cluster."""

    elements: int
    locator: Locator
    checksum: bool


#: One row per page of a column in a cluster: a compact table (32 bytes a page) rather than
#: Python objects, since a chunk of a PHYSLITE file lists thousands of pages.
PAGE_TABLE = np.dtype(
    [("elements", np.int64), ("offset", np.int64), ("size", np.int64), ("checksum", np.bool_)]
)


@dataclass(slots=True)
class ColumnInCluster:
    """A physical column in one cluster: its pages (a :data:`PAGE_TABLE`), first element and
    compression."""

    table: NDArray[np.void]
    first_element: int
    compression: int
    suppressed: bool

    @property
    def elements(self) -> int:
        return int(self.table["elements"].sum())

    @property
    def compressed_bytes(self) -> int:
        """The pages' bytes on disk, their checksums included."""
        return int(self.table["size"].sum() + 8 * self.table["checksum"].sum())

    @property
    def pages(self) -> list[Page]:
        """The pages as objects (for inspection; readers use :attr:`table`)."""
        return [
            Page(
                int(row["elements"]),
                Locator(int(row["offset"]), int(row["size"])),
                bool(row["checksum"]),
            )
            for row in self.table
        ]


class ClusterColumns:
    """A cluster's page list, per physical column, parsed when a column is first asked for.

    A PHYSLITE page list describes ~2000 columns per cluster and an analysis reads a few
    dozen; opening a file finds where each column's frame starts (one size per column) and
    leaves the pages to :meth:`get`.
    """

    def __init__(self, data: bytes, starts: list[int], ends: list[int]) -> None:
        self._data = data
        self._starts = starts
        self._ends = ends
        self._parsed: dict[int, ColumnInCluster] = {}

    def __len__(self) -> int:
        return len(self._starts)

    def __contains__(self, column: object) -> bool:
        return isinstance(column, int) and 0 <= column < len(self._starts)

    def get(self, column: int) -> ColumnInCluster | None:
        """The column's pages in this cluster; ``None`` if the page list does not list it
        (a column added after this cluster was written)."""
        if not 0 <= column < len(self._starts):
            return None
        found = self._parsed.get(column)
        if found is None:
            found = self._parsed[column] = _column_pages(
                self._data, self._starts[column], self._ends[column]
            )
        return found

    def __getitem__(self, column: int) -> ColumnInCluster:
        found = self.get(column)
        if found is None:
            raise KeyError(column)
        return found

    def values(self) -> list[ColumnInCluster]:
        return [self[c] for c in range(len(self._starts))]


@dataclass
class Cluster:
    """An entry range and, per physical column, where its pages are."""

    first_entry: int
    entries: int
    columns: ClusterColumns


@dataclass(frozen=True)
class ClusterGroup:
    """A group of clusters whose page list is one envelope."""

    min_entry: int
    entry_span: int
    clusters: int
    page_list_length: int
    page_list: Locator


@dataclass
class Schema:
    """Fields and columns of an RNTuple (header plus the footer's extension)."""

    name: str
    description: str
    writer: str
    fields: list[FieldDesc] = field(default_factory=list)
    columns: list[ColumnDesc] = field(default_factory=list)  # physical, by id
    aliases: list[ColumnDesc] = field(default_factory=list)
    features: int = 0
    header: bytes = b""  # the header payload it was parsed from
    #: what readers derive from the schema alone (field views, ...), kept with it
    memo: dict[object, object] = field(default_factory=dict, compare=False, repr=False)

    def top_fields(self) -> list[FieldDesc]:
        return [f for f in self.fields if f.parent == f.id]


def _check_features(flags: int, what: str) -> None:
    unknown = flags & ~KNOWN_FEATURES
    if unknown:
        bits = [i for i in range(unknown.bit_length()) if unknown >> i & 1]
        raise UnsupportedRNTupleError(
            f"the {what} sets feature flag bits {bits}, which this reader does not know "
            "(written by a newer ROOT)"
        )


_FIELD_HEAD = struct.Struct("<IIIHH")  # field version, type version, parent, role, flags
_COLUMN_HEAD = struct.Struct("<HHIHH")  # type, bits, field, flags, representation


def _read_field(item: Frames, field_id: int) -> FieldDesc:
    _version, _type_version, parent, role, flags = item.unpack(_FIELD_HEAD)
    name = item.string()
    type_name = item.string()
    alias = item.string()
    item.string()  # description
    desc = FieldDesc(field_id, name, type_name, alias, parent, role, flags)
    if flags & REPETITIVE:
        desc.repetition = item.u64()
    if flags & PROJECTED:
        desc.source = item.u32()
    if flags & TYPE_CHECKSUM:
        item.u32()
    if role > STREAMER:
        raise UnsupportedRNTupleError(f"field {name!r} has unknown structural role {role}")
    return desc


def _read_column(item: Frames, column_id: int) -> ColumnDesc:
    ctype, bits, field_id, flags, representation = item.unpack(_COLUMN_HEAD)
    column = ColumnDesc(column_id, ctype, bits, field_id, flags, representation)
    if flags & DEFERRED:
        column.first_element = item.i64()
    if flags & RANGE:
        column.value_range = (item.f64(), item.f64())
    return column


def _read_schema_lists(frames: Frames, schema: Schema) -> None:
    """Fields, columns, alias columns and extra type information, appended to ``schema``."""
    for item in frames.items():
        schema.fields.append(_read_field(item, len(schema.fields)))
    for item in frames.items():
        schema.columns.append(_read_column(item, len(schema.columns)))
    for item in frames.items():
        physical = item.u32()
        field_id = item.u32()
        if physical >= len(schema.columns):
            raise RNTupleFormatError(
                f"an alias column points at column {physical}, which is absent"
            )
        base = schema.columns[physical]
        schema.aliases.append(
            ColumnDesc(
                physical,
                base.type,
                base.bits,
                field_id,
                base.flags,
                base.representation,
                base.first_element,
                base.value_range,
                alias=True,
            )
        )
    for _ in frames.items():
        pass  # extra type information (streamer infos): not needed to read values


def _link(schema: Schema, first_field: int, first_column: int, first_alias: int) -> None:
    """Attach new fields to their parents and columns to their fields."""
    n = len(schema.fields)
    for desc in schema.fields[first_field:]:
        if desc.parent >= n:
            raise RNTupleFormatError(f"field {desc.name!r} has parent {desc.parent}, absent")
        if desc.parent != desc.id:
            schema.fields[desc.parent].children.append(desc.id)
    new = [(c, c.id) for c in schema.columns[first_column:]]
    new += [(c, -1 - i) for i, c in enumerate(schema.aliases) if i >= first_alias]
    for column, ref in new:
        if column.field >= n:
            raise RNTupleFormatError(f"a column belongs to field {column.field}, absent")
        schema.fields[column.field].columns.append(ref)


def parse_header(payload: bytes) -> Schema:
    """The schema from the header envelope's payload."""
    frames = Frames(payload, "header")
    features = frames.feature_flags()
    _check_features(features, "header")
    schema = Schema(frames.string(), frames.string(), frames.string(), features=features)
    _read_schema_lists(frames, schema)
    _link(schema, 0, 0, 0)
    return schema


@dataclass
class Footer:
    """The footer: its schema extension (still to apply) and the cluster groups."""

    extension: Frames
    groups: list[ClusterGroup]

    @property
    def extension_bytes(self) -> bytes:
        return self.extension.data[self.extension.pos : self.extension.limit]

    def extend(self, schema: Schema) -> None:
        """Add the extension's fields and columns to ``schema`` (the header's)."""
        extension = Frames(self.extension.data, "footer", self.extension.pos, self.extension.limit)
        fields, columns, aliases = len(schema.fields), len(schema.columns), len(schema.aliases)
        if extension.pos < extension.limit:
            _read_schema_lists(extension, schema)
            _link(schema, fields, columns, aliases)


def parse_footer(payload: bytes, header_checksum: int) -> Footer:
    """The footer envelope's payload: schema extension and cluster groups."""
    frames = Frames(payload, "footer")
    features = frames.feature_flags()
    _check_features(features, "footer")
    if frames.u64() != header_checksum:
        raise RNTupleFormatError("the footer belongs to another header (checksums differ)")
    extension = frames.record()
    groups = []
    for item in frames.items():
        min_entry = item.u64()
        span = item.u64()
        clusters = item.u32()
        length, locator = item.envelope_link()
        groups.append(ClusterGroup(min_entry, span, clusters, length, locator))
    return Footer(extension, groups)


def parse_page_list(payload: bytes, header_checksum: int, columns: int) -> list[Cluster]:
    """The clusters of one page-list envelope (``columns``: physical columns in the schema)."""
    frames = Frames(payload, "page list")
    if frames.u64() != header_checksum:
        raise RNTupleFormatError("a page list belongs to another header (checksums differ)")
    summaries = []
    for item in frames.items():
        first = item.u64()
        packed = item.u64()
        entries, flags = packed & ((1 << 56) - 1), packed >> 56
        if flags & 0x01:
            raise UnsupportedRNTupleError("a cluster is sharded (a future RNTuple feature)")
        summaries.append((first, entries))
    clusters = []
    cluster_lists = list(frames.list_of_lists())
    if len(cluster_lists) != len(summaries):
        raise RNTupleFormatError(
            f"the page list has {len(summaries)} cluster summaries but pages for "
            f"{len(cluster_lists)} clusters"
        )
    for (first, entries), (column_list, count) in zip(summaries, cluster_lists, strict=True):
        if count > columns:
            raise RNTupleFormatError(
                f"a cluster lists pages of {count} columns; the schema has {columns}"
            )
        clusters.append(Cluster(first, entries, _cluster_columns(column_list, count)))
    return clusters


_PAGE = struct.Struct("<iiQ")  # elements (sign: checksum follows), locator size, offset
_LIST_HEAD = struct.Struct("<qI")  # frame size (negative: a list), item count
_I64 = struct.Struct("<q")


def _cluster_columns(column_list: Frames, count: int) -> ClusterColumns:
    """Where each column's inner list frame lies (its pages are parsed on demand)."""
    data = np.frombuffer(column_list.data, np.uint8)
    starts = np.empty(count, np.int64)
    ends = np.empty(count, np.int64)
    walk = walk_frames_python if interpreted(len(column_list.data)) else _walk_frames
    bad = walk(data, column_list.pos, column_list.limit, count, starts, ends)
    if bad >= 0:
        raise RNTupleFormatError(f"the page list has a bad or cut frame at byte {bad}")
    return ClusterColumns(column_list.data, starts.tolist(), ends.tolist())


@njit(cache=True, nogil=True)
def _walk_frames(data: Any, pos: int, limit: int, count: int, starts: Any, ends: Any) -> int:
    """Positions of ``count`` consecutive list frames from ``pos``; -1, or where one is bad."""
    for i in range(count):
        if pos + 12 > limit:
            return pos
        size = np.int64(0)
        for b in range(8):
            size |= np.int64(data[pos + b]) << np.int64(8 * b)
        end = pos - size  # list frames have negative sizes
        if size >= -12 or end > limit:
            return pos
        starts[i] = pos
        ends[i] = end
        pos = end
    return -1


def walk_frames_python(
    data: NDArray[np.uint8], pos: int, limit: int, count: int, starts: Any, ends: Any
) -> int:
    """:func:`_walk_frames` in Python (about a microsecond a frame), for a process that has
    compiled nothing yet (see :func:`afkit._jit.interpreted`)."""
    raw = data.data
    for i in range(count):
        if pos + 12 > limit:
            return pos
        (size,) = _I64.unpack_from(raw, pos)
        end = pos - size  # list frames have negative sizes
        if size >= -12 or end > limit:
            return pos
        starts[i] = pos
        ends[i] = end
        pos = end
    return -1


#: compression settings seen so far (a file's thousands of columns share a handful)
_SETTINGS: dict[int, int] = {}


def _column_pages(data: bytes, pos: int, end: int) -> ColumnInCluster:
    """One column's inner list frame: pages, element offset, compression."""
    _size, npages = _LIST_HEAD.unpack_from(data, pos)
    at = pos + _LIST_HEAD.size
    rows = []
    for _ in range(npages):
        if at + _PAGE.size > end:
            raise RNTupleFormatError("the page list is cut short (a page description)")
        elements, locator_size, offset = _PAGE.unpack_from(data, at)
        if locator_size < 0:  # a non-standard (large) locator: the general reader
            cursor = Frames(data, "page list", at + 4, end)
            locator = cursor.locator()
            at = cursor.pos
            offset, locator_size = locator.offset, locator.size
        else:
            at += _PAGE.size
        rows.append((abs(elements), offset, locator_size, elements < 0))
    table = np.array(rows, PAGE_TABLE)
    if at + 8 > end:
        raise RNTupleFormatError("the page list is cut short (a column's element offset)")
    (element_offset,) = _I64.unpack_from(data, at)
    suppressed = element_offset < 0
    compression = -1
    if not suppressed:
        if at + 12 > end:
            raise RNTupleFormatError("the page list is cut short (compression settings)")
        (compression,) = struct.unpack_from("<I", data, at + 8)
        compression = _SETTINGS.setdefault(compression, compression)  # one object per value
    return ColumnInCluster(table, 0 if suppressed else element_offset, compression, suppressed)
