"""TTree metadata read by afkit itself: entries, and where each branch lies.

A PHYSLITE tree has 400-1600 branches; deserialising every one of them as a generic object
(what a general ROOT reader does) costs 0.1-1 s per file, more than reading the twenty
branches an analysis needs.  This module decodes the ``TTree`` members afkit uses and only
*locates* the top-level branches (name, identity, byte range); a branch's members are decoded
by :mod:`afkit.io.rootio.branch` the first time it is asked for.

Anything outside those layouts (other class versions, branch classes, references to branches
streamed inline elsewhere) raises :class:`NativeUnsupported`, and the caller falls back to
uproot for the whole tree: never a partial or guessed result.
"""

from __future__ import annotations

import hashlib
import struct
import threading
from collections.abc import Iterator
from typing import Any, NamedTuple, cast

import numpy as np
from numpy.typing import NDArray

from afkit._jit import interpreted
from afkit.io.rootio import scan
from afkit.io.rootio.branch import (
    BRANCH_CLASSES,
    BranchMeta,
    compiled_branch,
    decode_branch,
    identity,
    text,
    walk,
)
from afkit.io.rootio.stream import NativeUnsupported, Stream, StreamError

_TTREE_19 = struct.Struct(">qqqqqdiiiiIqqqqqq")  # fEntries ... fEstimate (v19 and v20)


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
    in_digest: bool = False  # its identity is in the tree's scan digest (general decoding)


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
                branch = None
                try:
                    if COMPILED_SCAN and where.classname == "TBranchElement" and not interpreted():
                        branch = compiled_branch(stream, where.start)
                    if branch is None:
                        branch = decode_branch(stream, where.classname)
                except (StreamError, NativeUnsupported) as err:
                    self._failed[i] = f"branch {where.name!r}: {err}"
                    raise NativeUnsupported(self._failed[i]) from err
                stream.objects[where.key] = branch
                self._decoded[i] = branch
                for b in walk((branch,)):
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
        return walk(self.branches)

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

    def structure_key(self) -> str:
        """A hash of every top-level branch's identity: its class, name and title (a flat
        branch's title is its leaf list, types included), the class version, the number of
        sub-branches and, for object branches, the C++ class, streamer checksum and type
        codes.  Sub-branches of a split object follow from its class and the file's
        streamers, which the caller adds.  Computed without decoding any branch: the
        branches the compiled scan read enter through its digest of the same members.

        A SHA-1 digest (hex), the same in every process, so that it can name a schema kept
        on disk (see :mod:`afkit.io.schema_store`)."""
        general = tuple(
            b.identity for b in self._slots if isinstance(b, _Located) and not b.in_digest
        )
        text = repr((len(self._slots), self._scan_digest, general))
        return hashlib.sha1(text.encode("utf-8", "surrogateescape")).hexdigest()


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

    Where Numba is set up already (see :func:`afkit._jit.interpreted`), runs of the
    common branch layout go through the compiled scan (:mod:`afkit.io.rootio.scan`), which
    also digests their identities; of those only the name is made in Python now.  Any
    other slot goes through :func:`afkit.io.rootio.branch.identity`.  In a process that
    has compiled nothing yet every slot does (a 1,500-branch PHYSLITE tree in about 10 ms,
    where Numba's set-up would take half a second), and the identities of the scan's
    layout are digested as the scan digests them: the tree's structure key is the same
    either way.
    """
    count = stream.objarray_header()
    if not COMPILED_SCAN or not count or interpreted():
        return _general_branches(stream, count)
    names: list[str] = []
    slots: list[_Located | int] = []
    rows = None
    kinds: list[int] = []
    digest = b""
    if count:
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


def _general_branches(stream: Stream, count: int) -> TopBranches:
    """Every ``fBranches`` slot through the general decoder, with the scan's digest."""
    names: list[str] = []
    slots: list[_Located | int] = []
    serialised = bytearray()
    for _ in range(count):
        if not _general_slot(stream, slots, names):
            serialised.append(scan.NULL)
            continue
        located = cast(_Located, slots[-1])
        record = scan.identity_record(located.identity or ())
        if record is None:
            serialised.append(scan.GENERAL)
        else:
            serialised += record
            slots[-1] = located._replace(in_digest=True)
    digest = scan.digest_of(bytes(serialised)) if count else b""
    return TopBranches(names, slots, None, digest)


def _general_slot(stream: Stream, slots: list[_Located | int], names: list[str]) -> bool:
    """One ``fBranches`` slot through :func:`~afkit.io.rootio.branch.identity` (cursor
    left after it); False for a null slot."""
    classname, end, key = stream.pointer()
    if classname is None:
        return False
    if classname not in BRANCH_CLASSES:
        raise NativeUnsupported(f"top-level branch of class {classname or 'reference'!r}")
    start = stream.pos
    name, found = identity(stream, classname)
    slots.append(_Located(name, classname, start, end, key, found))
    names.append(name)
    stream.pos = end
    return True


def _scanned(data: bytes, row: list[int]) -> _Located:
    """A :class:`_Located` from one row of the compiled scan (identity made on demand)."""
    at = row[scan.NAME]
    name = data[at : at + row[scan.NAME + 1]].decode("utf-8", errors="replace")
    return _Located(
        name, "TBranchElement", row[scan.START], row[scan.END], row[scan.KEY], None, row
    )


def _scanned_identity(data: bytes, row: list[int]) -> tuple[object, ...]:
    """The identity of a scanned branch, the same tuple :func:`branch.identity
    <afkit.io.rootio.branch.identity>` gives."""
    return (
        "TBranchElement",
        10,
        text(data, row, scan.NAME),
        text(data, row, scan.TITLE),
        row[scan.TBRANCH_VERSION],
        row[scan.SUB_BRANCHES],
        text(data, row, scan.CLASS_NAME),
        text(data, row, scan.PARENT),
        text(data, row, scan.CLONES),
        *row[scan.CHECKSUM : scan.STREAMER_TYPE + 1],
    )


#: Whether opening a tree runs the compiled scan (tests compare it with the general path).
COMPILED_SCAN = True
