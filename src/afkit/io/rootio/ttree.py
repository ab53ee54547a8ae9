"""TTree metadata read by afkit itself: branches, leaves and basket positions.

A PHYSLITE tree has 400-1600 branches; deserialising every one of them as a generic object
(what a general ROOT reader does) costs 0.1-1 s per file, more than reading the twenty
branches an analysis needs.  This module decodes exactly the ``TTree``, ``TBranch``,
``TBranchElement``, ``TBranchObject`` and ``TLeaf*`` members afkit uses, with fixed layouts
per class version, and steps over everything else by its byte count.

Anything outside those layouts (other class versions, branch classes, references to branches
streamed inline elsewhere) raises :class:`NativeUnsupported`, and the caller falls back to
uproot for the whole tree: never a partial or guessed result.
"""

from __future__ import annotations

import struct
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from afkit.io.rootio import scan
from afkit.io.rootio.stream import Stream, StreamError


class NativeUnsupported(Exception):
    """This file uses a layout afkit's own reader does not decode; use uproot instead."""


_TTREE_19 = struct.Struct(">qqqqqdiiiiIqqqqqq")  # fEntries ... fEstimate (v19 and v20)
_TBRANCH_12 = struct.Struct(">iiiiqiIiqqqq")  # v11/v12: fCompress ... fZipBytes
_TBRANCH_13A = struct.Struct(">iiiiq")  # v13: fCompress ... fEntryNumber
_TBRANCH_13B = struct.Struct(">iIiqqqq")  # v13: fOffset ... fZipBytes (after fIOFeatures)
_TBRANCHELEMENT_10 = struct.Struct(">Ihiiii")  # fCheckSum fClassVersion fID fType ...
_TBRANCHELEMENT_8 = struct.Struct(">Iiiiii")
_TLEAF = struct.Struct(">iii??")  # fLen fLenType fOffset fIsRange fIsUnsigned
_TLEAFELEMENT = struct.Struct(">ii")  # fID fType

_BRANCH_CLASSES = ("TBranch", "TBranchElement", "TBranchObject")
_I4 = np.dtype(">i4")
_I8 = np.dtype(">i8")


@dataclass(frozen=True)
class LeafMeta:
    """One ``TLeaf``: its class (the element type for ``TLeafF``, ``TLeafI``, ...)."""

    classname: str
    name: str
    title: str
    length: int
    is_unsigned: bool
    has_count: bool
    element_type: int | None = None  # TLeafElement::fType


@dataclass
class BranchMeta:
    """One branch: identity, type codes, leaves, sub-branches and basket positions."""

    name: str
    classname: str
    title: str
    class_name: str | None
    type: int | None
    streamer_type: int | None
    entry_offset_len: int
    entries: int
    leaves: tuple[LeafMeta, ...]
    branches: tuple[BranchMeta, ...]
    write_basket: int
    basket_bytes: NDArray[Any]  # >i4
    basket_entry: NDArray[Any]  # >i8
    basket_seek: NDArray[Any]  # >i8
    embedded_baskets: int

    @property
    def compressed_bytes(self) -> int:
        """Bytes of this branch's baskets on disk (key headers included)."""
        return int(self.basket_bytes[: self.write_basket].sum())

    def structure(self) -> tuple[object, ...]:
        """What the event model depends on (not where the baskets are)."""
        return (
            self.name,
            self.classname,
            self.title,
            self.class_name,
            self.type,
            self.streamer_type,
            tuple((leaf.classname, leaf.title) for leaf in self.leaves),
        )


class _Located(NamedTuple):
    """A top-level branch found by the scan: where its object lies, and its identity.
    (A named tuple: a file has hundreds, made on every open.)"""

    name: str
    classname: str
    start: int  # first byte of the object (after its class tag)
    end: int
    key: int  # its key in the stream's object table
    identity: tuple[object, ...] | None  # None: a scanned branch, identity made on demand
    row: list[int] | None = None  # its row of the compiled scan


class TreeMeta:
    """A TTree's entries and branches, as afkit reads them.

    Opening a tree only *locates* its top-level branches (name, class, type identity, byte
    range); a branch's members — leaves, sub-branches, basket positions — are decoded the
    first time it is asked for.  An analysis reading 20 of 1,000 branches decodes 20.
    """

    def __init__(
        self,
        name: str,
        num_entries: int,
        stream: Stream,
        located: TopBranches,
    ) -> None:
        self.name = name
        self.num_entries = num_entries
        self._stream = stream
        self._names = located.names
        self._slots = located.slots
        self._rows = located.rows
        self._scan_digest = located.digest
        self._top = {n: i for i, n in reversed(list(enumerate(self._names)))}
        self._decoded: dict[int, BranchMeta] = {}
        self._failed: dict[int, str] = {}  # branches whose layout afkit does not decode
        self._by_name: dict[str, BranchMeta] = {}
        self._lock = threading.Lock()

    def _decode(self, i: int) -> BranchMeta:
        """Decode top-level branch ``i`` (and its sub-branches) once."""
        with self._lock:
            if i in self._failed:
                raise NativeUnsupported(self._failed[i])
            if i not in self._decoded:
                where = self._where(i)
                stream = self._stream
                stream.pos = where.start
                try:
                    branch = _compiled_branch(stream, where) or _branch(stream, where.classname)
                except (StreamError, NativeUnsupported) as err:
                    self._failed[i] = f"branch {where.name!r}: {err}"
                    raise NativeUnsupported(self._failed[i]) from err
                stream.objects[where.key] = branch
                self._decoded[i] = branch
                for b in _walk((branch,)):
                    self._by_name.setdefault(b.name, b)
            return self._decoded[i]

    def _where(self, i: int) -> _Located:
        """Top-level branch ``i`` as located (made from its scan row if the scan read it)."""
        slot = self._slots[i]
        if isinstance(slot, _Located):
            return slot
        assert self._rows is not None
        return _scanned(self._stream.data, self._rows[slot].tolist())

    def located(self) -> list[_Located]:
        """Every top-level branch as located, in file order."""
        return [self._where(i) for i in range(len(self._slots))]

    @property
    def branches(self) -> tuple[BranchMeta, ...]:
        """Every top-level branch, decoded."""
        return tuple(self._decode(i) for i in range(len(self._slots)))

    def find(self, name: str) -> BranchMeta | None:
        """The branch called ``name`` (at any depth), decoding only what the search needs:
        the top-level branch of that name, else the top-level branches whose names prefix
        it (ROOT names sub-branches ``parent.member``), else all of them."""
        found = self._by_name.get(name)
        if found is not None:
            return found
        i = self._top.get(name)
        if i is not None:
            self._decode(i)
        else:
            for j, top in enumerate(self._names):
                if name.startswith(top) and j not in self._decoded:
                    self._decode(j)
            if name not in self._by_name:
                self.branches  # noqa: B018 - a sub-branch named unlike its parent
        return self._by_name.get(name)

    def walk(self) -> Iterator[BranchMeta]:
        """Every branch, depth first, in file order."""
        return _walk(self.branches)

    def keys(self, recursive: bool = True) -> list[str]:
        if not recursive:
            return list(self._names)
        return [b.name for b in self.walk()]

    def identities(self) -> list[tuple[object, ...]]:
        """Every top-level branch's identity (see :meth:`structure_key`), in file order."""
        data = self._stream.data
        return [
            b.identity if b.identity is not None else _scanned_identity(data, b.row or [])
            for b in self.located()
        ]

    def structure_key(self) -> int:
        """A hash of every top-level branch's identity: its class, name and title (a flat
        branch's title is its leaf list, types included), the class version, the number of
        sub-branches and, for object branches, the C++ class, streamer checksum and type
        codes.  Sub-branches of a split object follow from its class and the file's
        streamers, which the caller adds.  Computed without decoding any branch: the
        branches the compiled scan read enter through its digest of the same members."""
        general = tuple(b.identity for b in self._slots if isinstance(b, _Located))
        return hash((len(self._slots), self._scan_digest, general))


def _walk(branches: tuple[BranchMeta, ...]) -> Iterator[BranchMeta]:
    stack = list(reversed(branches))
    while stack:
        branch = stack.pop()
        yield branch
        stack.extend(reversed(branch.branches))


def parse_tree(data: Any, key_length: int, name: str) -> TreeMeta:
    """Decode a ``TTree`` key payload (uncompressed bytes or a uint8 array): the tree's
    members and where each top-level branch lies; branches are decoded on demand."""
    stream = Stream(data, origin=key_length)
    try:
        _, version = stream.header()
        if version not in (19, 20):
            raise NativeUnsupported(f"TTree class version {version}")
        stream.tnamed()
        for _ in range(3):  # TAttLine, TAttFill, TAttMarker
            stream.skip_part()
        fields = stream.fields(_TTREE_19)
        entries, clusters = int(fields[0]), int(fields[10])
        stream.skip(1 + 8 * clusters)  # fClusterRangeEnd
        stream.skip(1 + 8 * clusters)  # fClusterSize
        if version >= 20:
            stream.skip_part()  # fIOFeatures
        located = _locate_branches(stream)
    except StreamError as err:
        raise NativeUnsupported(f"TTree {name!r}: {err}") from err
    return TreeMeta(name, entries, stream, located)


class TopBranches(NamedTuple):
    """The top-level branches found when a tree is opened, in file order."""

    names: list[str]
    slots: list[_Located | int]  # a decoded head, or the branch's row in ``rows``
    rows: NDArray[np.int64] | None  # the compiled scan's table (see scan.COLUMNS)
    digest: bytes  # the scan's digest of the identities of the rows it read


def _locate_branches(stream: Stream) -> TopBranches:
    """Step over the tree's ``fBranches`` array, noting each branch's identity and range.

    Runs of the common branch layout go through the compiled scan
    (:mod:`afkit.io.rootio.scan`), which also digests their identities; of those only the
    name is made in Python now.  Any other slot goes through :func:`_identity`.
    """
    names: list[str] = []
    slots: list[_Located | int] = []
    count = stream.objarray_header()
    rows = None
    kinds: list[int] = []
    digest = b""
    if COMPILED_SCAN and count:
        array = np.frombuffer(stream.data, np.uint8)
        rows, stream.pos = scan.scan(array, stream.pos, count, stream.origin)
        digest = scan.identity_digest(array, rows)
        kinds = rows[:, scan.KIND].tolist()
        starts = rows[:, scan.START].tolist()
        name_at, name_length = rows[:, scan.NAME].tolist(), rows[:, scan.NAME + 1].tolist()
        data = stream.data
        for r, kind in enumerate(kinds):
            if kind == scan.SCANNED:
                at = name_at[r]
                names.append(data[at : at + name_length[r]].decode("utf-8", errors="replace"))
                slots.append(r)
            elif kind == scan.GENERAL:
                resume = stream.pos
                stream.pos = starts[r]
                _general_slot(stream, slots, names)
                stream.pos = resume
    for _ in range(count - len(kinds)):  # slots the scan could not step over
        _general_slot(stream, slots, names)
    return TopBranches(names, slots, rows, digest)


def _general_slot(stream: Stream, slots: list[_Located | int], names: list[str]) -> None:
    """One ``fBranches`` slot through :func:`_identity` (cursor left after it)."""
    classname, end, key = stream.pointer()
    if classname is None:
        return
    if classname not in _BRANCH_CLASSES:
        raise NativeUnsupported(f"top-level branch of class {classname or 'reference'!r}")
    start = stream.pos
    name, identity = _identity(stream, classname)
    slots.append(_Located(name, classname, start, end, key, identity))
    names.append(name)
    stream.pos = end


def _scanned(data: bytes, row: list[int]) -> _Located:
    """A :class:`_Located` from one row of the compiled scan (identity made on demand)."""
    at = row[scan.NAME]
    name = data[at : at + row[scan.NAME + 1]].decode("utf-8", errors="replace")
    return _Located(
        name, "TBranchElement", row[scan.START], row[scan.END], row[scan.KEY], None, row
    )


def _scanned_identity(data: bytes, row: list[int]) -> tuple[object, ...]:
    """The identity of a scanned branch, the same tuple :func:`_identity` gives."""

    def text(column: int) -> str:
        at = row[column]
        return data[at : at + row[column + 1]].decode("utf-8", errors="replace")

    name = text(scan.NAME)
    return (
        "TBranchElement",
        10,
        name,
        text(scan.TITLE),
        row[scan.TBRANCH_VERSION],
        row[scan.SUB_BRANCHES],
        text(scan.CLASS_NAME),
        text(scan.PARENT),
        text(scan.CLONES),
        *row[scan.CHECKSUM : scan.STREAMER_TYPE + 1],
    )


#: Whether opening a tree runs the compiled scan (tests compare it with the general path).
COMPILED_SCAN = True


def _identity(stream: Stream, classname: str) -> tuple[str, tuple[object, ...]]:
    """(name, identity) of the branch object at the cursor, decoding only its head."""
    if classname == "TBranch":
        head = _tbranch_head(stream)
        return head.name, (classname, head.name, head.title, head.version, head.sub_branches)
    _, version = stream.header()
    base_start = stream.pos
    base_end, _ = stream.header()
    stream.pos = base_start
    head = _tbranch_head(stream)
    stream.pos = base_end
    identity = (classname, version, head.name, head.title, head.version, head.sub_branches)
    return head.name, identity + _derived_members(stream, classname, version)


def _derived_members(stream: Stream, classname: str, version: int) -> tuple[object, ...]:
    """The members a ``TBranchElement`` / ``TBranchObject`` adds after its ``TBranch`` part
    (cursor there): ``(fClassName,)`` for an object branch; for an element branch also
    ``fParentName, fClonesName, fCheckSum, fClassVersion, fID, fType, fStreamerType``."""
    class_name = stream.string()
    if classname != "TBranchElement":
        return (class_name,)
    parent, clones = stream.string(), stream.string()
    if version >= 10:
        members = stream.fields(_TBRANCHELEMENT_10)
    elif version in (8, 9):
        members = stream.fields(_TBRANCHELEMENT_8)
    else:
        raise NativeUnsupported(f"TBranchElement class version {version}")
    return (class_name, parent, clones, *members[:5])


def _object_array(
    stream: Stream,
    count: int,
    kind: type[Any],
    accepts: Callable[[str], bool],
    decode: Callable[[Stream, str], Any],
) -> tuple[Any, ...]:
    """The ``count`` elements of a ``TObjArray`` of ``kind`` (header already read): each
    decoded (and registered for later references), or, for a reference to an object
    streamed elsewhere (e.g. as another leaf's count leaf), that object."""
    out = []
    for _ in range(count):
        classname, end, key = stream.pointer()
        if classname is None:
            continue
        if classname == "":
            out.append(_referenced(stream, key, kind, accepts, decode))
            continue
        if not accepts(classname):
            raise NativeUnsupported(f"{kind.__name__} of class {classname!r}")
        stream.objects[key] = element = decode(stream, classname)
        out.append(element)
        stream.pos = end
    return tuple(out)


def _referenced(
    stream: Stream,
    key: int,
    kind: type[Any],
    accepts: Callable[[str], bool],
    decode: Callable[[Stream, str], Any],
) -> Any:
    """The object a reference points to; decoded where it lies if this has not been yet
    (branches are decoded on demand, so it may sit inside one never decoded)."""
    found = stream.objects.get(key)
    if found is None:
        resume = stream.pos
        stream.pos = stream.position_of(key)
        classname, _, at = stream.pointer()
        if not classname or at != key or not accepts(classname):
            raise NativeUnsupported(f"reference to {classname or 'nothing'!r} at key {key}")
        stream.objects[key] = found = decode(stream, classname)
        stream.pos = resume
    if not isinstance(found, kind):
        raise NativeUnsupported(f"reference to a {type(found).__name__}, not {kind.__name__}")
    return found


_LEAF_ELEMENT = np.frombuffer(b"TLeafElement", np.uint8)


def _compiled_branch(stream: Stream, where: _Located) -> BranchMeta | None:
    """The branch at ``where`` decoded by :func:`afkit.io.rootio.scan.decode_element` if it
    has the common ``TBranchElement`` layout (one compiled call instead of ~40 Python
    ones); None for the general decoder.  Gives exactly what :func:`_branch` gives."""
    if not COMPILED_SCAN or where.classname != "TBranchElement":
        return None
    data = stream.data
    row = np.empty(scan.B_COLUMNS, np.int64)
    array = np.frombuffer(data, np.uint8)
    if not scan.decode_element(array, where.start, stream.origin, _LEAF_ELEMENT, row):
        return None
    r = row.tolist()

    def text(column: int) -> str:
        at = r[column]
        return data[at : at + r[column + 1]].decode("utf-8", errors="replace")

    count = r[scan.B_MAX_BASKETS]
    leaf = LeafMeta(
        "TLeafElement",
        text(scan.B_LEAF_NAME),
        text(scan.B_LEAF_TITLE),
        r[scan.B_LEAF_LENGTH],
        bool(r[scan.B_LEAF_UNSIGNED]),
        False,
        r[scan.B_LEAF_TYPE],
    )
    return BranchMeta(
        name=text(scan.B_NAME),
        classname="TBranchElement",
        title=text(scan.B_TITLE),
        class_name=text(scan.B_CLASS_NAME),
        type=r[scan.B_TYPE],
        streamer_type=r[scan.B_STREAMER_TYPE],
        entry_offset_len=r[scan.B_ENTRY_OFFSET_LEN],
        entries=r[scan.B_ENTRIES],
        leaves=(leaf,),
        branches=(),
        write_basket=r[scan.B_WRITE_BASKET],
        basket_bytes=np.frombuffer(data, _I4, count, r[scan.B_BASKET_BYTES]),
        basket_entry=np.frombuffer(data, _I8, count, r[scan.B_BASKET_ENTRY]),
        basket_seek=np.frombuffer(data, _I8, count, r[scan.B_BASKET_SEEK]),
        embedded_baskets=0,
    )


def _branch_elements(stream: Stream, count: int) -> tuple[BranchMeta, ...]:
    return _object_array(stream, count, BranchMeta, _BRANCH_CLASSES.__contains__, _branch)


def _branch(stream: Stream, classname: str) -> BranchMeta:
    if classname == "TBranch":
        return _tbranch(stream, classname, None, None, None)
    end, version = stream.header()
    base_start = stream.pos
    # the TBranch part comes first; its byte count lets us reach the derived members
    base_end, _ = stream.header()
    stream.pos = base_end
    derived = _derived_members(stream, classname, version)
    class_name = str(derived[0])
    type_code: int | None = None
    streamer_type: int | None = None
    if classname == "TBranchElement":
        type_code, streamer_type = int(derived[6]), int(derived[7])  # type: ignore[call-overload]
    stream.pos = base_start
    branch = _tbranch(stream, classname, class_name, type_code, streamer_type)
    stream.pos = end
    return branch


@dataclass(frozen=True)
class _Head:
    """A TBranch part up to its sub-branch count (cursor left at the first sub-branch)."""

    end: int
    version: int
    name: str
    title: str
    entry_offset_len: int
    write_basket: int
    max_baskets: int
    entries: int
    sub_branches: int


def _tbranch_head(stream: Stream) -> _Head:
    end, version = stream.header()
    name, title = stream.tnamed()
    stream.skip_part()  # TAttFill
    if version >= 13:
        _, _, entry_offset_len, write_basket, _ = stream.fields(_TBRANCH_13A)
        stream.skip_part()  # fIOFeatures
        _, max_baskets, _, entries, _, _, _ = stream.fields(_TBRANCH_13B)
    elif version in (11, 12):
        fields = stream.fields(_TBRANCH_12)
        entry_offset_len, write_basket = fields[2], fields[3]
        max_baskets, entries = fields[6], fields[8]
    else:
        raise NativeUnsupported(f"TBranch class version {version}")
    sub_branches = stream.objarray_header()
    return _Head(
        end,
        version,
        name,
        title,
        int(entry_offset_len),
        int(write_basket),
        int(max_baskets),
        int(entries),
        sub_branches,
    )


def _tbranch(
    stream: Stream,
    classname: str,
    class_name: str | None,
    type_code: int | None,
    streamer_type: int | None,
) -> BranchMeta:
    head = _tbranch_head(stream)
    name, write_basket, max_baskets = head.name, head.write_basket, head.max_baskets
    branches = _branch_elements(stream, head.sub_branches)
    leaves = _leaf_array(stream)
    embedded = _count_objects(stream)  # fBaskets: baskets kept inside the tree object
    basket_bytes = _array(stream, _I4, max_baskets)
    basket_entry = _array(stream, _I8, max_baskets)
    basket_seek = _array(stream, _I8, max_baskets)
    stream.pos = head.end
    if not 0 <= write_basket <= max_baskets:
        raise StreamError(f"branch {name!r}: {write_basket} baskets of at most {max_baskets}")
    return BranchMeta(
        name=name,
        classname=classname,
        title=head.title,
        class_name=class_name,
        type=type_code,
        streamer_type=streamer_type,
        entry_offset_len=head.entry_offset_len,
        entries=head.entries,
        leaves=leaves,
        branches=branches,
        write_basket=write_basket,
        basket_bytes=basket_bytes,  # big-endian views into the tree record
        basket_entry=basket_entry,
        basket_seek=basket_seek,
        embedded_baskets=embedded,
    )


def _array(stream: Stream, dtype: np.dtype[Any], count: int) -> NDArray[Any]:
    stream.skip(1)  # ROOT writes a flag byte in front of each basic-type array
    size = dtype.itemsize * count
    stream._check(size)
    out = np.frombuffer(stream.data, dtype=dtype, count=count, offset=stream.pos)
    stream.pos += size
    return out


def _leaf_array(stream: Stream) -> tuple[LeafMeta, ...]:
    count = stream.objarray_header()
    return _object_array(stream, count, LeafMeta, lambda name: name.startswith("TLeaf"), _leaf)


def _leaf(stream: Stream, classname: str) -> LeafMeta:
    end, _ = stream.header()
    base_end, _ = stream.header()
    name, title = stream.tnamed()
    length, _, _, _, unsigned = stream.fields(_TLEAF)
    count_class, count_end, count_key = stream.pointer()
    if count_class:  # a count leaf streamed here for the first time: decode it too, so the
        if count_class.startswith("TLeaf"):  # classes it introduces are known later
            stream.objects[count_key] = _leaf(stream, count_class)
        stream.pos = count_end
    has_count = count_class is not None
    stream.pos = base_end
    element_type = None
    if classname == "TLeafElement":
        element_type = int(stream.fields(_TLEAFELEMENT)[1])
    stream.pos = end
    return LeafMeta(classname, name, title, int(length), bool(unsigned), has_count, element_type)


def _count_objects(stream: Stream) -> int:
    found = 0
    count = stream.objarray_header()
    if stream.data.count(b"\0", stream.pos, stream.pos + 4 * count) == 4 * count:
        stream.pos += 4 * count  # the usual case: every slot a null pointer
        return 0
    for _ in range(count):
        classname, end, _ = stream.pointer()
        if classname is not None:
            found += 1
            if classname:
                stream.pos = end
    return found
