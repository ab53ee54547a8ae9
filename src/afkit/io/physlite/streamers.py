"""Byte-level decoders for the PHYSLITE encodings uproot cannot read (or reads wrongly).

uproot still fetches and decompresses the baskets; afkit receives each entry's raw bytes
(``offsets`` into one ``uint8`` buffer) and interprets them here.  Every decoder checks the
ROOT byte counts it walks through and raises :class:`~afkit.exceptions.DecodeError` on the
first inconsistency, so a layout afkit does not understand never turns into plausible-looking
numbers.

Layouts (big-endian, ``bc`` = 4-byte byte count with the ``0x40000000`` flag):

* encoding 2, ``vector<vector<ElementLink<T>>>`` object-wise:
  ``bc ver n`` then per inner vector ``m`` and ``m`` ElementLinks, each
  ``bc ver0 chk | bc ver0 chk key index`` (ElementLink wrapping its ElementLinkBase);
* encoding 3, a single ``ElementLink<T>`` at split level 1: ``bc ver0 chk key index``;
* encoding 4, ``vector<ElementLink<T>>`` member-wise: ``bc ver|0x4000 clsver chk n keys[n] idx[n]``;
  the object-wise form of the same type, ``bc ver n`` then n ElementLinks, is decoded too;
* ``vector<vector<T>>`` of a primitive ``T``: ``bc ver n`` then per inner vector ``m`` and
  ``m`` values;
* ``xAOD::EventFormat_v1`` (metadata): four members, each ``bc ver n items``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from afkit._jit import interpreted, njit
from afkit.exceptions import DecodeError, UnknownEncodingError
from afkit.io.rootio.bigendian import BYTE_COUNT_FLAG
from afkit.io.rootio.bigendian import u16 as _u16
from afkit.io.rootio.bigendian import u32 as _u32
from afkit.io.rootio.bytecopy import copy_bytes

_BC_FLAG = BYTE_COUNT_FLAG
INVALID_INDEX = 0xFFFFFFFF
_MEMBERWISE = 0x4000

# Status codes returned by the Numba decoders (0 = fine); turned into DecodeError messages.
STATUS = {
    1: "entry ended inside a header or value",
    2: "byte count without the 0x40000000 flag",
    3: "byte count disagrees with the entry length",
    4: "ElementLink object byte count is not the expected 28 (or 14 for its base)",
    5: "unexpected class version (expected 0 followed by a checksum)",
    6: "member-wise version flag set where object-wise data was expected, or vice versa",
    7: "bytes left over after the last element of the entry",
}


@njit(cache=True, nogil=True)
def _element_link(buf, pos, end):
    """Decode one object-wise ElementLink at ``pos``; return (status, new_pos, key, index)."""
    if pos + 28 > end:
        return 1, pos, 0, 0
    bc = _u32(buf, pos)
    if not bc & _BC_FLAG:
        return 2, pos, 0, 0
    if bc & ~_BC_FLAG != 24:
        return 4, pos, 0, 0
    if _u16(buf, pos + 4) != 0:
        return 5, pos, 0, 0
    base = pos + 10  # skip bc, version 0, checksum
    bc2 = _u32(buf, base)
    if not bc2 & _BC_FLAG:
        return 2, pos, 0, 0
    if bc2 & ~_BC_FLAG != 14:
        return 4, pos, 0, 0
    if _u16(buf, base + 4) != 0:
        return 5, pos, 0, 0
    key = _u32(buf, base + 10)
    index = _u32(buf, base + 14)
    return 0, pos + 28, key, index


@njit(cache=True, nogil=True, inline="always")
def _object_wise_header(data, pos, end):
    """Check an entry's ``bc ver n`` header (object-wise); return (status, n, first item)."""
    zero = np.int64(0)
    if end - pos < 10:
        return 1, zero, pos
    bc = _u32(data, pos)
    if not bc & _BC_FLAG:
        return 2, zero, pos
    if (bc & ~_BC_FLAG) + 4 != end - pos:
        return 3, zero, pos
    if _u16(data, pos + 4) & _MEMBERWISE:
        return 6, zero, pos
    return 0, np.int64(_u32(data, pos + 6)), pos + 10


@njit(cache=True, nogil=True)
def _vv_links_count(data, offsets):
    """First pass of encoding 2: count inner lists and links; return (status, bad_entry, n1, n2)."""
    n1 = 0
    n2 = 0
    for entry in range(len(offsets) - 1):
        end = offsets[entry + 1]
        status, n, pos = _object_wise_header(data, offsets[entry], end)
        if status:
            return status, entry, 0, 0
        n1 += n
        for _ in range(n):
            if pos + 4 > end:
                return 1, entry, 0, 0
            m = _u32(data, pos)
            pos += 4
            for _ in range(m):
                status, pos, _key, _index = _element_link(data, pos, end)
                if status:
                    return status, entry, 0, 0
            n2 += m
        if pos != end:
            return 7, entry, 0, 0
    return 0, -1, n1, n2


@njit(cache=True, nogil=True)
def _vv_links_fill(data, offsets, outer, inner, keys, indices):
    i1 = 0
    i2 = 0
    outer[0] = 0
    inner[0] = 0
    for entry in range(len(offsets) - 1):
        pos = offsets[entry]
        end = offsets[entry + 1]
        n = _u32(data, pos + 6)
        pos += 10
        for _ in range(n):
            m = _u32(data, pos)
            pos += 4
            for _ in range(m):
                _status, pos, key, index = _element_link(data, pos, end)
                keys[i2] = key
                indices[i2] = index
                i2 += 1
            i1 += 1
            inner[i1] = i2
        outer[entry + 1] = i1


@dataclass(frozen=True)
class LinkArrays:
    """Decoded ElementLinks: ``keys``/``indices`` with one or two levels of list offsets."""

    keys: NDArray[np.uint32]
    indices: NDArray[np.uint32]
    offsets: NDArray[np.int64] | None = None  # per event (None: exactly one link per event)
    inner_offsets: NDArray[np.int64] | None = None  # per object, for vector<vector<...>>


def _raise(status: int, entry: int, what: str, error: type[DecodeError] = DecodeError) -> None:
    raise error(f"cannot decode {what}: entry {entry}: {STATUS.get(status, status)}")


def _raise_link(status: int, entry: int, what: str) -> None:
    """Link bytes that fit none of the four known ElementLink encodings."""
    _raise(
        status, entry, f"{what} (bytes match no known ElementLink encoding)", UnknownEncodingError
    )


def decode_vector_vector_links(
    data: NDArray[np.uint8], offsets: NDArray[np.int64], what: str = "links"
) -> LinkArrays:
    """Encoding 2: ``vector<vector<ElementLink<T>>>`` streamed object-wise."""
    status, entry, n1, n2 = _vv_links_count(data, offsets)
    if status:
        _raise_link(status, entry, what)
    outer = np.empty(len(offsets), np.int64)
    inner = np.empty(n1 + 1, np.int64)
    keys = np.empty(n2, np.uint32)
    indices = np.empty(n2, np.uint32)
    _vv_links_fill(data, offsets, outer, inner, keys, indices)
    return LinkArrays(keys, indices, outer, inner)


@njit(cache=True, nogil=True)
def _single_links(data, offsets, keys, indices):
    for entry in range(len(offsets) - 1):
        pos = offsets[entry]
        end = offsets[entry + 1]
        if end - pos != 18:
            return 3, entry
        bc = _u32(data, pos)
        if not bc & _BC_FLAG:
            return 2, entry
        if bc & ~_BC_FLAG != 14:
            return 4, entry
        if _u16(data, pos + 4) != 0:
            return 5, entry
        keys[entry] = _u32(data, pos + 10)
        indices[entry] = _u32(data, pos + 14)
    return 0, -1


def decode_single_links(
    data: NDArray[np.uint8], offsets: NDArray[np.int64], what: str = "link"
) -> LinkArrays:
    """Encoding 3: one ``ElementLink<T>`` per entry (18 bytes) at split level 1."""
    n = len(offsets) - 1
    keys = np.empty(n, np.uint32)
    indices = np.empty(n, np.uint32)
    status, entry = _single_links(data, offsets, keys, indices)
    if status:
        _raise_link(status, entry, what)
    return LinkArrays(keys, indices)


@njit(cache=True, nogil=True)
def _vector_links_count(data, offsets):
    total = 0
    for entry in range(len(offsets) - 1):
        pos = offsets[entry]
        end = offsets[entry + 1]
        if end - pos < 10:
            return 1, entry, 0
        bc = _u32(data, pos)
        if not bc & _BC_FLAG:
            return 2, entry, 0
        if (bc & ~_BC_FLAG) + 4 != end - pos:
            return 3, entry, 0
        version = _u16(data, pos + 4)
        if version & _MEMBERWISE:
            if end - pos < 16:
                return 1, entry, 0
            if _u16(data, pos + 6) != 0:
                return 5, entry, 0
            n = _u32(data, pos + 12)
            if pos + 16 + 8 * n != end:
                return 7 if pos + 16 + 8 * n < end else 1, entry, 0
        else:
            n = _u32(data, pos + 6)
            p = pos + 10
            for _ in range(n):
                status, p, _key, _index = _element_link(data, p, end)
                if status:
                    return status, entry, 0
            if p != end:
                return 7, entry, 0
        total += n
    return 0, -1, total


@njit(cache=True, nogil=True)
def _vector_links_fill(data, offsets, out_offsets, keys, indices):
    k = 0
    out_offsets[0] = 0
    for entry in range(len(offsets) - 1):
        pos = offsets[entry]
        end = offsets[entry + 1]
        if _u16(data, pos + 4) & _MEMBERWISE:
            n = _u32(data, pos + 12)
            base = pos + 16
            for i in range(n):
                keys[k + i] = _u32(data, base + 4 * i)
                indices[k + i] = _u32(data, base + 4 * (n + i))
            k += n
        else:
            n = _u32(data, pos + 6)
            p = pos + 10
            for _ in range(n):
                _status, p, key, index = _element_link(data, p, end)
                keys[k] = key
                indices[k] = index
                k += 1
        out_offsets[entry + 1] = k


def decode_vector_links(
    data: NDArray[np.uint8], offsets: NDArray[np.int64], what: str = "links"
) -> LinkArrays:
    """Encoding 4 (member-wise) and the object-wise form of ``vector<ElementLink<T>>``."""
    status, entry, total = _vector_links_count(data, offsets)
    if status:
        _raise_link(status, entry, what)
    out = np.empty(len(offsets), np.int64)
    keys = np.empty(total, np.uint32)
    indices = np.empty(total, np.uint32)
    _vector_links_fill(data, offsets, out, keys, indices)
    return LinkArrays(keys, indices, out)


@njit(cache=True, nogil=True)
def _vv_prim_count(data, offsets, itemsize):
    n1 = 0
    n2 = 0
    for entry in range(len(offsets) - 1):
        end = offsets[entry + 1]
        status, n, pos = _object_wise_header(data, offsets[entry], end)
        if status:
            return status, entry, 0, 0
        for _ in range(n):
            if pos + 4 > end:
                return 1, entry, 0, 0
            m = _u32(data, pos)
            pos += 4 + m * itemsize
            if pos > end:
                return 1, entry, 0, 0
            n2 += m
        n1 += n
        if pos != end:
            return 7, entry, 0, 0
    return 0, -1, n1, n2


@njit(cache=True, nogil=True)
def _vv_prim_fill(data, offsets, itemsize, outer, inner, content_bytes):
    i1 = 0
    i2 = 0
    b = 0
    outer[0] = 0
    inner[0] = 0
    for entry in range(len(offsets) - 1):
        pos = offsets[entry]
        n = _u32(data, pos + 6)
        pos += 10
        for _ in range(n):
            m = _u32(data, pos)
            pos += 4
            nbytes = m * itemsize
            copy_bytes(content_bytes, b, data, pos, nbytes)
            b += nbytes
            pos += nbytes
            i2 += m
            i1 += 1
            inner[i1] = i2
        outer[entry + 1] = i1


def decode_vector_vector(
    data: NDArray[np.uint8], offsets: NDArray[np.int64], dtype: np.dtype, what: str = "branch"
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray]:
    """``vector<vector<T>>`` of a primitive big-endian ``dtype``: (outer, inner, content)."""
    dtype = np.dtype(dtype).newbyteorder(">")
    status, entry, n1, n2 = _vv_prim_count(data, offsets, dtype.itemsize)
    if status:
        _raise(status, entry, what)
    outer = np.empty(len(offsets), np.int64)
    inner = np.empty(n1 + 1, np.int64)
    content = np.empty(n2 * dtype.itemsize, np.uint8)
    _vv_prim_fill(data, offsets, dtype.itemsize, outer, inner, content)
    return outer, inner, content.view(dtype).astype(dtype.newbyteorder("="))


@njit(cache=True, nogil=True)
def _vector_decode(data, offsets, itemsize, out_offsets, content):
    """Check every entry's ``bc ver n`` header and copy its values into ``content``, in one
    pass: ``(status, entry, content bytes used)``, status 0 when every entry is sound."""
    version = -1
    k = 0
    out_offsets[0] = 0
    for entry in range(len(offsets) - 1):
        pos = offsets[entry]
        end = offsets[entry + 1]
        if end - pos < 10 or end > len(data):
            return 1, entry, k
        bc = _u32(data, pos)
        if not bc & _BC_FLAG:
            return 2, entry, k
        if (bc & ~_BC_FLAG) + 4 != end - pos:
            return 3, entry, k
        v = _u16(data, pos + 4)
        if v & _MEMBERWISE:
            return 6, entry, k
        if version < 0:
            version = v
        elif v != version:
            return 5, entry, k
        n = _u32(data, pos + 6)
        nbytes = n * itemsize
        if 10 + nbytes != end - pos:
            return 7 if 10 + nbytes < end - pos else 1, entry, k
        copy_bytes(content, k, data, pos + 10, nbytes)
        k += nbytes
        out_offsets[entry + 1] = out_offsets[entry] + n
    return 0, -1, k


def vector_decode_numpy(
    data: NDArray[np.uint8],
    offsets: NDArray[np.int64],
    itemsize: int,
    out_offsets: NDArray[np.int64],
    content: NDArray[np.uint8],
) -> tuple[int, int, int]:
    """:func:`_vector_decode` in NumPy, all entries at once: the same checks, in the same
    order within an entry, and the same status for the first faulty entry, for a first look
    at a file (see :func:`afkit._jit.interpreted`)."""
    out_offsets[0] = 0
    entries = len(offsets) - 1
    if entries <= 0:
        return 0, -1, 0
    pos, end = offsets[:-1], offsets[1:]
    length = end - pos
    status = np.zeros(entries, np.int64)
    status[(length < 10) | (end > len(data))] = 1
    sound = status == 0
    if not sound[0]:
        return 1, 0, 0
    at = np.where(sound, pos, pos[0])  # headers read only where they lie inside the data
    header = data[at[:, None] + np.arange(10)].astype(np.int64)
    bc = (header[:, 0] << 24) | (header[:, 1] << 16) | (header[:, 2] << 8) | header[:, 3]
    version = (header[:, 4] << 8) | header[:, 5]
    n = (header[:, 6] << 24) | (header[:, 7] << 16) | (header[:, 8] << 8) | header[:, 9]
    nbytes = 10 + n * itemsize
    for code, fault in (
        (2, (bc & _BC_FLAG) == 0),
        (3, (bc & ~_BC_FLAG) + 4 != length),
        (6, (version & _MEMBERWISE) != 0),
        (5, version != version[0]),
        (7, nbytes < length),
        (1, nbytes > length),
    ):
        status[sound & fault] = code
        sound &= ~fault
    if not sound.all():
        entry = int(np.argmax(~sound))
        return int(status[entry]), entry, 0
    np.cumsum(n, out=out_offsets[1:])
    keep = np.ones(int(end[-1] - pos[0]), np.bool_)
    keep[((pos - pos[0])[:, None] + np.arange(10)).ravel()] = False
    used = int(keep.sum())
    content[:used] = data[int(pos[0]) : int(end[-1])][keep]
    return 0, -1, used


def decode_vector(
    data: NDArray[np.uint8], offsets: NDArray[np.int64], dtype: np.dtype, what: str = "branch"
) -> tuple[NDArray[np.int64], NDArray]:
    """``vector<T>`` of a primitive ``T``, every entry's header checked: (offsets, content).

    Each entry must be ``bc ver n`` followed by exactly ``n`` values, with one vector
    version throughout; anything else (a damaged basket that still decompressed) raises.
    The values take less room than the entries' bytes, so one pass checks and copies
    them into a buffer of that size.
    """
    dtype = np.dtype(dtype).newbyteorder(">")
    entries = len(offsets) - 1
    out_offsets = np.empty(len(offsets), np.int64)
    content = np.empty(int(offsets[-1] - offsets[0]) if entries else 0, np.uint8)
    decode = vector_decode_numpy if interpreted(data.nbytes) else _vector_decode
    status, entry, used = decode(data, offsets, dtype.itemsize, out_offsets, content)
    if status:
        _raise(status, entry, what)
    return out_offsets, content[:used].view(dtype).astype(dtype.newbyteorder("="))


class ByteCursor:
    """Sequential big-endian reader for small metadata objects (pure Python)."""

    def __init__(self, data: bytes, what: str) -> None:
        self.data = data
        self.pos = 0
        self.what = what

    def _take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise DecodeError(f"cannot decode {self.what}: ran past the end at byte {self.pos}")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def u8(self) -> int:
        return self._take(1)[0]

    def u16(self) -> int:
        return int(struct.unpack(">H", self._take(2))[0])

    def u32(self) -> int:
        return int(struct.unpack(">I", self._take(4))[0])

    def string(self) -> str:
        n = self.u8()
        if n == 255:
            n = self.u32()
        return self._take(n).decode("utf-8", errors="replace")

    def member_header(self) -> tuple[int, int]:
        """Read ``bc ver``; return (end position, version)."""
        start = self.pos
        bc = self.u32()
        if not bc & _BC_FLAG:
            raise DecodeError(f"cannot decode {self.what}: no byte count at byte {start}")
        return start + 4 + (bc & ~_BC_FLAG), self.u16()

    def string_vector(self) -> list[str]:
        end, _ = self.member_header()
        items = [self.string() for _ in range(self.u32())]
        self.expect(end)
        return items

    def u32_vector(self) -> list[int]:
        end, _ = self.member_header()
        items = [self.u32() for _ in range(self.u32())]
        self.expect(end)
        return items

    def expect(self, end: int) -> None:
        if self.pos != end:
            raise DecodeError(
                f"cannot decode {self.what}: byte count says {end}, decoding reached {self.pos}"
            )


@dataclass(frozen=True)
class EventFormatEntry:
    """One row of ``xAOD::EventFormat_v1``."""

    branch: str
    cpp_class: str
    parent: str
    key: int


def decode_event_format(raw: bytes, what: str = "EventFormat") -> list[EventFormatEntry]:
    """Decode an ``xAOD::EventFormat_v1`` entry: branch names, classes, parents and keys."""
    cursor = ByteCursor(raw, what)
    branches = cursor.string_vector()
    classes = cursor.string_vector()
    parents = cursor.string_vector()
    keys = cursor.u32_vector()
    cursor.expect(len(raw))
    if not len(branches) == len(classes) == len(parents) == len(keys):
        raise DecodeError(
            f"cannot decode {what}: member lengths differ "
            f"({len(branches)}, {len(classes)}, {len(parents)}, {len(keys)})"
        )
    return [EventFormatEntry(*row) for row in zip(branches, classes, parents, keys, strict=True)]


def warm_up() -> None:
    """Load every decoder's compiled code (from Numba's cache) by decoding zero entries.

    :func:`afkit.run` calls this before forking local workers, which inherit the code.
    """
    data = np.zeros(0, np.uint8)
    offsets = np.zeros(1, np.int64)
    _vector_decode(data, offsets, 4, np.zeros(1, np.int64), data)  # not decode_vector's
    decode_vector_vector(data, offsets, np.dtype(np.float32))
    decode_single_links(data, offsets)
    decode_vector_links(data, offsets)
    decode_vector_vector_links(data, offsets)
