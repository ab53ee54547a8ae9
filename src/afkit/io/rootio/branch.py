"""One branch record of a TTree, decoded: its identity, leaves, sub-branches and baskets.

:mod:`afkit.io.rootio.ttree` locates a tree's top-level branches when the tree is opened and
asks this module for a branch's members the first time it is read.  Two decoders give the same
:class:`BranchMeta`: :func:`compiled_branch`, one Numba call for the layout current ROOT writes
for an ``std::vector`` or plain member branch (see :func:`afkit.io.rootio.scan.decode_element`),
and :func:`decode_branch`, member by member with fixed layouts per class version, for
everything else it supports (``TBranch`` v11-13, ``TBranchElement`` v8-10, ``TBranchObject``,
``TLeaf*``).  Any other layout raises :class:`~afkit.io.rootio.stream.NativeUnsupported`.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from afkit.io.rootio import scan
from afkit.io.rootio.stream import NativeUnsupported, Stream, StreamError

_TBRANCH_12 = struct.Struct(">iiiiqiIiqqqq")  # v11/v12: fCompress ... fZipBytes
_TBRANCH_13A = struct.Struct(">iiiiq")  # v13: fCompress ... fEntryNumber
_TBRANCH_13B = struct.Struct(">iIiqqqq")  # v13: fOffset ... fZipBytes (after fIOFeatures)
_TBRANCHELEMENT_10 = struct.Struct(">Ihiiii")  # fCheckSum fClassVersion fID fType ...
_TBRANCHELEMENT_8 = struct.Struct(">Iiiiii")
_TLEAF = struct.Struct(">iii??")  # fLen fLenType fOffset fIsRange fIsUnsigned
_TLEAFELEMENT = struct.Struct(">ii")  # fID fType

#: The branch classes afkit decodes.
BRANCH_CLASSES = ("TBranch", "TBranchElement", "TBranchObject")
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


def walk(branches: tuple[BranchMeta, ...]) -> Iterator[BranchMeta]:
    """``branches`` and all their sub-branches, depth first, in file order."""
    stack = list(reversed(branches))
    while stack:
        branch = stack.pop()
        yield branch
        stack.extend(reversed(branch.branches))


def identity(stream: Stream, classname: str) -> tuple[str, tuple[object, ...]]:
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


#: The leaf class the compiled decoding accepts, as the bytes of its streamed name.
LEAF_ELEMENT = np.frombuffer(b"TLeafElement", np.uint8)


def text(data: bytes, row: list[int], column: int) -> str:
    """The string whose (offset, length) stand in ``row[column:column + 2]``."""
    at = row[column]
    return data[at : at + row[column + 1]].decode("utf-8", errors="replace")


def compiled_branch(stream: Stream, start: int) -> BranchMeta | None:
    """The ``TBranchElement`` whose header is at ``start``, decoded by
    :func:`afkit.io.rootio.scan.decode_element` if it has the common layout (one compiled
    call instead of ~40 Python ones); None for :func:`decode_branch`, which gives exactly
    the same for a branch this decodes."""
    data = stream.data
    row = np.empty(scan.B_COLUMNS, np.int64)
    array = np.frombuffer(data, np.uint8)
    if not scan.decode_element(array, start, stream.origin, LEAF_ELEMENT, row):
        return None
    r = row.tolist()

    count = r[scan.B_MAX_BASKETS]
    leaf = LeafMeta(
        "TLeafElement",
        text(data, r, scan.B_LEAF_NAME),
        text(data, r, scan.B_LEAF_TITLE),
        r[scan.B_LEAF_LENGTH],
        bool(r[scan.B_LEAF_UNSIGNED]),
        False,
        r[scan.B_LEAF_TYPE],
    )
    return BranchMeta(
        name=text(data, r, scan.B_NAME),
        classname="TBranchElement",
        title=text(data, r, scan.B_TITLE),
        class_name=text(data, r, scan.B_CLASS_NAME),
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
    return _object_array(stream, count, BranchMeta, BRANCH_CLASSES.__contains__, decode_branch)


def decode_branch(stream: Stream, classname: str) -> BranchMeta:
    """The branch object of class ``classname`` at the cursor, member by member (any
    supported class version; sub-branches and leaves included)."""
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
