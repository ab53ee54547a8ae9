"""The branch scan of a tree record in compiled code: where each branch lies and what it is.

Opening a tree means stepping over its ``fBranches`` array and noting, per top-level branch,
its byte range and identity (see :func:`afkit.io.rootio.branch.identity`).  For the layout of
every branch written by current ROOT — a ``TBranchElement`` v10 over a ``TBranch`` v13 — this
module does that for a whole run of branches in one Numba call, returning offsets and numbers
only; Python then decodes the handful of strings per branch.  The first element it does not
recognise (a null slot, another class or version, a long string, a referenced ``TObject``)
ends the run, and the general decoder takes that element before the scan resumes.

Class names are found where a class reference points (a new-class tag and the name), so the
scan needs no class table of its own.
"""

from __future__ import annotations

import hashlib
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray

from afkit._jit import njit
from afkit.io.rootio.bigendian import BYTE_COUNT_FLAG
from afkit.io.rootio.bigendian import i16 as _i2
from afkit.io.rootio.bigendian import i32 as _i4
from afkit.io.rootio.bigendian import u16 as _u2
from afkit.io.rootio.bigendian import u32 as _u4
from afkit.io.rootio.bytecopy import copy_bytes

_BYTE_COUNT = BYTE_COUNT_FLAG
_CLASS_MASK = 0x80000000
_NEW_CLASS_TAG = 0xFFFFFFFF
_MAP_OFFSET = 2

#: Columns of one scanned branch.
START, END, KEY = 0, 1, 2
NAME, TITLE, CLASS_NAME, PARENT, CLONES = 3, 5, 7, 9, 11  # (offset, length) pairs
TBRANCH_VERSION, SUB_BRANCHES = 13, 14
CHECKSUM, CLASS_VERSION, ID, TYPE, STREAMER_TYPE = 15, 16, 17, 18, 19
KIND = 20  # SCANNED, GENERAL (decode the slot at START with the general path) or NULL
COLUMNS = 21
SCANNED, GENERAL, NULL = 0, 1, 2

_ELEMENT = np.frombuffer(b"TBranchElement", np.uint8)


@njit(cache=True, nogil=True)
def _class_is(data: Any, at: int, n: int, element: Any) -> bool:
    """Whether the NUL-terminated class name at ``at`` is ``element`` (its bytes)."""
    m = len(element)
    if at + m >= n or data[at + m] != 0:
        return False
    for i in range(m):  # noqa: SIM110 - a plain loop compiles in Numba
        if data[at + i] != element[i]:
            return False
    return True


@njit(cache=True, nogil=True)
def _short_string(data: Any, at: int, n: int) -> int:
    """Length of the one-byte-length TString at ``at``; -1 for a long or cut one."""
    if at >= n:
        return -1
    length = int(data[at])
    if length == 255 or at + 1 + length > n:
        return -1
    return length


@njit(cache=True, nogil=True)
def _short_strings(data: Any, at: int, limit: int, count: int, out: Any, column: int) -> int:
    """``count`` one-byte-length TStrings from ``at``, all before ``limit``: their (offset,
    length) pairs written to ``out[column:column + 2 * count]``; the position after them, or
    -1 for a long or cut one."""
    for k in range(count):
        length = _short_string(data, at, limit)
        if length < 0:
            return -1
        out[column + 2 * k] = at + 1
        out[column + 2 * k + 1] = length
        at += 1 + length
    return at


@njit(cache=True, nogil=True)
def _part_end(data: Any, at: int, limit: int, version: int) -> int:
    """The end of the class part at ``at`` (byte count and class version ``version``,
    ending before ``limit``); -1 if it is not that."""
    if at + 6 > limit:
        return -1
    count_word = _u4(data, at)
    end = at + 4 + (count_word & ~_BYTE_COUNT)
    if not count_word & _BYTE_COUNT or _u2(data, at + 4) != version or end > limit:
        return -1
    return end


@njit(cache=True, nogil=True)
def _tnamed(data: Any, at: int, limit: int, out: Any, column: int) -> int:
    """A ``TNamed`` part at ``at`` (byte count, unreferenced ``TObject``, short name and
    title) ending before ``limit``: name and title written as two (offset, length) pairs
    from ``out[column]``; returns the part's end, or -1 if it is not in that form."""
    if at + 16 > limit:
        return -1
    count_word = _u4(data, at)
    end = at + 4 + (count_word & ~_BYTE_COUNT)
    t_version, bits = _u2(data, at + 6), _u4(data, at + 12)
    if not count_word & _BYTE_COUNT or t_version & 0x4000 or bits & 0x10 or end > limit:
        return -1
    if _short_strings(data, at + 16, end, 2, out, column) < 0:
        return -1
    return end


@njit(cache=True, nogil=True)
def _objarray_count(data: Any, at: int, n: int) -> tuple[int, int]:
    """A ``TObjArray`` header at ``at`` (unreferenced TObject, short name): (element count,
    position after fLowerBound), or (-1, 0) if it is not in that form."""
    if at + 17 > n:
        return -1, 0
    count_word = _u4(data, at)
    if not count_word & _BYTE_COUNT:
        return -1, 0
    t_version, bits = _u2(data, at + 6), _u4(data, at + 12)
    if t_version & 0x4000 or bits & 0x10:
        return -1, 0
    length = _short_string(data, at + 16, n)
    if length < 0 or at + 17 + length + 8 > n:
        return -1, 0
    count = _i4(data, at + 17 + length)
    return count, at + 17 + length + 8


@njit(cache=True, nogil=True)
def _class_name_at(data: Any, tag_position: int, origin: int, name: Any) -> int:
    """Where the object's class name lies if its class is ``name`` (new-class tag at
    ``tag_position`` or a reference to one); -1 otherwise."""
    n = len(data)
    if tag_position + 4 > n:
        return -1
    tag = _u4(data, tag_position)
    if not tag & _CLASS_MASK:
        return -1
    if tag == _NEW_CLASS_TAG:
        name_at = tag_position + 4
    else:
        ref = (tag & ~_CLASS_MASK) - origin - _MAP_OFFSET
        if ref < 0 or ref + 4 > n or _u4(data, ref) != _NEW_CLASS_TAG:
            return -1
        name_at = ref + 4
    if not _class_is(data, name_at, n, name):
        return -1
    return name_at


@njit(cache=True, nogil=True)
def scan_elements(
    data: Any, pos: int, count: int, origin: int, element: Any, out: Any
) -> tuple[int, int]:
    """Scan ``count`` ``fBranches`` slots from ``pos`` into ``out`` rows.

    A slot in the common layout is decoded (``KIND`` = ``SCANNED``); another slot with a byte
    count is stepped over and marked ``GENERAL`` (its first byte in ``START``), a null slot
    ``NULL``.  Returns ``(rows, pos)``: fewer rows than ``count`` when a slot cannot even be
    stepped over, which the general decoder then reports.
    """
    n = len(data)
    for row in range(count):
        if pos + 4 > n:
            return row, pos
        first = _u4(data, pos)
        if first == 0:
            out[row, KIND] = NULL
            pos += 4
            continue
        if not first & _BYTE_COUNT or first == _NEW_CLASS_TAG:
            return row, pos
        end = pos + 4 + (first & ~_BYTE_COUNT)
        if end > n:
            return row, pos
        if _element(data, pos, end, origin, element, out, row):
            out[row, KIND] = SCANNED
        else:
            out[row, KIND] = GENERAL
            out[row, START] = pos
        pos = end
    return count, pos


@njit(cache=True, nogil=True)
def _element(
    data: Any, start: int, end: int, origin: int, element: Any, out: Any, row: int
) -> bool:
    """Decode the slot ``[start, end)`` into ``out[row]`` if it is a ``TBranchElement`` v10
    over a ``TBranch`` v13 with short strings and unreferenced ``TObject`` parts."""
    n = end
    tag_position = start + 4
    name_at = _class_name_at(data, tag_position, origin, element)
    if name_at < 0 or tag_position + 4 > n:
        return False
    at = tag_position + 4
    if _u4(data, tag_position) == _NEW_CLASS_TAG:
        at = name_at + len(element) + 1
    if at + 36 > n or _part_end(data, at, n, 10) < 0:
        return False
    base_end = _part_end(data, at + 6, n, 13)  # the TBranch part
    if base_end < 0:
        return False
    tb_version = 13
    slot = out[row]
    cursor = _tnamed(data, at + 12, n, slot, NAME)
    if cursor < 0 or cursor + 6 > n:
        return False
    cursor += 4 + (_u4(data, cursor) & ~_BYTE_COUNT)  # TAttFill
    cursor += 24  # fCompress fBasketSize fEntryOffsetLen fWriteBasket fEntryNumber
    if cursor + 6 > n:
        return False
    cursor += 4 + (_u4(data, cursor) & ~_BYTE_COUNT)  # fIOFeatures
    cursor += 44  # fOffset fMaxBaskets fSplitLevel fEntries fFirstEntry fTotBytes fZipBytes
    sub_branches, _ = _objarray_count(data, cursor, n)  # fBranches
    if sub_branches < 0:
        return False
    # fClassName, fParentName, fClonesName
    cursor = _short_strings(data, base_end, n, 3, slot, CLASS_NAME)
    if cursor < 0 or cursor + 18 > n:
        return False
    slot[START] = at
    slot[END] = end
    slot[KEY] = start + origin + _MAP_OFFSET
    slot[TBRANCH_VERSION] = tb_version
    slot[SUB_BRANCHES] = sub_branches
    slot[CHECKSUM] = _u4(data, cursor)
    slot[CLASS_VERSION] = _i2(data, cursor + 4)
    slot[ID] = _i4(data, cursor + 6)
    slot[TYPE] = _i4(data, cursor + 10)
    slot[STREAMER_TYPE] = _i4(data, cursor + 14)
    return True


def scan(data: NDArray[np.uint8], pos: int, count: int, origin: int) -> tuple[NDArray[Any], int]:
    """:func:`scan_elements` with its output table: (rows scanned, next position)."""
    out = np.empty((count, COLUMNS), np.int64)
    rows, pos = scan_elements(data, pos, count, origin, _ELEMENT, out)
    return out[:rows], pos


@njit(cache=True, nogil=True)
def _identity_bytes(data: Any, rows: Any, out: Any) -> int:
    """Serialise what identifies each scanned branch into ``out``: per row its ``KIND``;
    for a ``SCANNED`` row also its five strings (length-prefixed) and the seven numbers
    ``TBRANCH_VERSION`` .. ``STREAMER_TYPE``.  Returns the bytes written."""
    k = 0
    for row in range(rows.shape[0]):
        out[k] = rows[row, KIND]
        k += 1
        if rows[row, KIND] != SCANNED:
            continue
        for column in (NAME, TITLE, CLASS_NAME, PARENT, CLONES):
            at, length = rows[row, column], rows[row, column + 1]
            out[k] = length
            k += 1
            copy_bytes(out, k, data, at, length)
            k += length
        for column in range(TBRANCH_VERSION, STREAMER_TYPE + 1):
            value = rows[row, column]
            for shift in range(56, -8, -8):
                out[k] = (value >> shift) & 0xFF
                k += 1
    return k


def identity_digest(data: NDArray[np.uint8], rows: NDArray[Any]) -> bytes:
    """A 128-bit BLAKE2b digest of the scanned branches' identities, in slot order: equal
    for two trees exactly when their scanned branches are named, titled and typed alike
    (collisions aside), computed without making a Python string per branch."""
    scanned = rows[rows[:, KIND] == SCANNED]  # other rows hold no string columns
    strings = int(scanned[:, [NAME + 1, TITLE + 1, CLASS_NAME + 1, PARENT + 1, CLONES + 1]].sum())
    out = np.empty(len(rows) * (1 + 5 + 8 * 7) + strings, np.uint8)
    used = _identity_bytes(data, rows, out)
    return digest_of(out[:used].tobytes())


def digest_of(serialised: bytes) -> bytes:
    """The digest :func:`identity_digest` makes of serialised identities."""
    return hashlib.blake2b(serialised, digest_size=16).digest()


def identity_record(identity: tuple[object, ...]) -> bytes | None:
    """What :func:`identity_digest` serialises for a branch of the layout the scan reads,
    made from the identity the general decoder gives (see
    :func:`afkit.io.rootio.branch.identity`); None for a branch of another layout, which
    the scan would mark ``GENERAL``.  A tree opened through the general decoder thus gets
    the digest the compiled scan gives it (only a branch with a referenced ``TObject``
    part, which the scan leaves to the general decoder, makes the two differ — and then
    only the schema store misses, nothing is read differently)."""
    if (
        len(identity) != 14
        or identity[0] != "TBranchElement"
        or identity[1] != 10
        or identity[4] != 13
    ):
        return None
    texts = [str(identity[k]).encode("utf-8", "surrogateescape") for k in (2, 3, 6, 7, 8)]
    if any(len(t) >= 255 for t in texts):  # a long string: the scan leaves it
        return None
    parts = [bytes([SCANNED])]
    for t in texts:
        parts += [bytes([len(t)]), t]
    numbers = (identity[4], identity[5], *identity[9:])
    parts += [int(cast(int, v)).to_bytes(8, "big", signed=True) for v in numbers]
    return b"".join(parts)


#: Columns of one branch decoded by :func:`decode_element` (strings: offset, length).
B_NAME, B_TITLE, B_LEAF_NAME, B_LEAF_TITLE, B_CLASS_NAME, B_PARENT, B_CLONES = range(0, 14, 2)
(
    B_ENTRY_OFFSET_LEN,
    B_WRITE_BASKET,
    B_MAX_BASKETS,
    B_ENTRIES,
    B_LEAF_LENGTH,
    B_LEAF_UNSIGNED,
    B_LEAF_TYPE,
    B_TYPE,
    B_STREAMER_TYPE,
    B_BASKET_BYTES,
    B_BASKET_ENTRY,
    B_BASKET_SEEK,
) = range(14, 26)
B_COLUMNS = 26

_LEAF_ELEMENT = np.frombuffer(b"TLeafElement", np.uint8)


@njit(cache=True, nogil=True)
def decode_element(data: Any, start: int, origin: int, leaf_class: Any, out: Any) -> bool:
    """Decode the ``TBranchElement`` whose header is at ``start`` into ``out`` (columns
    ``B_*``) if it has the common layout: class version 10 over ``TBranch`` v13, short
    strings, unreferenced ``TObject`` parts, no sub-branches, one ``TLeafElement`` without
    a count leaf, no baskets kept inside the tree.  False (nothing promised in ``out``)
    for anything else, which the general decoder then reads."""
    n = _part_end(data, start, len(data), 10)  # nothing of the branch lies beyond it
    base_end = _part_end(data, start + 6, n, 13)  # its TBranch part
    if n < 0 or base_end < 0:
        return False
    cursor = _tnamed(data, start + 12, n, out, B_NAME)
    if cursor < 0:
        return False
    # TAttFill, five numbers, fIOFeatures, seven numbers
    if cursor + 4 > n:
        return False
    cursor += 4 + (_u4(data, cursor) & ~_BYTE_COUNT)
    if cursor + 24 + 4 > n:
        return False
    out[B_ENTRY_OFFSET_LEN] = _i4(data, cursor + 8)
    out[B_WRITE_BASKET] = _i4(data, cursor + 12)
    cursor += 24
    cursor += 4 + (_u4(data, cursor) & ~_BYTE_COUNT)
    if cursor + 44 > n:
        return False
    max_baskets = _i4(data, cursor + 4)
    out[B_MAX_BASKETS] = max_baskets
    out[B_ENTRIES] = (_u4(data, cursor + 12) << 32) | _u4(data, cursor + 16)
    cursor += 44
    # fBranches: none
    count, cursor = _objarray_count(data, cursor, n)
    if count != 0:
        return False
    # fLeaves: one TLeafElement object
    count, cursor = _objarray_count(data, cursor, n)
    if count != 1 or cursor + 8 > n:
        return False
    first = _u4(data, cursor)
    if not first & _BYTE_COUNT or first == _NEW_CLASS_TAG:
        return False
    leaf_end = cursor + 4 + (first & ~_BYTE_COUNT)
    if leaf_end > n:
        return False
    if _class_name_at(data, cursor + 4, origin, leaf_class) < 0:
        return False
    leaf = cursor + 8
    if _u4(data, cursor + 4) == _NEW_CLASS_TAG:
        leaf += len(leaf_class) + 1
    if leaf + 12 + 16 > leaf_end:
        return False
    count_word = _u4(data, leaf)  # TLeafElement
    if not count_word & _BYTE_COUNT:
        return False
    count_word = _u4(data, leaf + 6)  # its TLeaf part
    leaf_base_end = leaf + 10 + (count_word & ~_BYTE_COUNT)
    if not count_word & _BYTE_COUNT or leaf_base_end > leaf_end:
        return False
    cursor = _tnamed(data, leaf + 12, leaf_base_end, out, B_LEAF_NAME)  # TLeaf's TNamed
    if cursor < 0:
        return False
    if cursor + 14 + 4 > leaf_base_end:
        return False
    out[B_LEAF_LENGTH] = _i4(data, cursor)
    out[B_LEAF_UNSIGNED] = data[cursor + 13]
    if _u4(data, cursor + 14) != 0:
        return False  # a count leaf: the general decoder
    if leaf_base_end + 8 > leaf_end:
        return False
    out[B_LEAF_TYPE] = _i4(data, leaf_base_end + 4)
    cursor = leaf_end
    # fBaskets: every slot a null pointer
    count, cursor = _objarray_count(data, cursor, n)
    if count < 0 or cursor + 4 * count > n:
        return False
    for k in range(4 * count):
        if data[cursor + k] != 0:
            return False
    cursor += 4 * count
    # fBasketBytes, fBasketEntry, fBasketSeek: a flag byte, then max_baskets numbers each
    write_basket = out[B_WRITE_BASKET]
    if max_baskets < 0 or not 0 <= write_basket <= max_baskets:
        return False
    for column, size in ((B_BASKET_BYTES, 4), (B_BASKET_ENTRY, 8), (B_BASKET_SEEK, 8)):
        out[column] = cursor + 1
        cursor += 1 + size * max_baskets
    if cursor > base_end:
        return False
    # the TBranchElement members after its TBranch part
    cursor = _short_strings(data, base_end, n, 3, out, B_CLASS_NAME)  # class, parent, clones
    if cursor < 0:
        return False
    if cursor + 22 > n:
        return False
    out[B_TYPE] = _i4(data, cursor + 10)
    out[B_STREAMER_TYPE] = _i4(data, cursor + 14)
    return True
