"""RNTuple's metadata containers: the anchor, envelopes and the frames inside them.

The anchor (a ``ROOT::RNTuple`` key, big-endian, with an XXH3 checksum) says where the header
and footer envelopes lie.  An envelope is (type id, length), a little-endian payload of
record and list frames, and an XXH3-64 checksum of everything before it.  Frames carry their
own sizes so that a reader skips what a newer writer appended; :class:`Frames` reads them and
refuses anything that runs past its frame or envelope.  Every failure is an
:class:`RNTupleFormatError` saying what was wrong where.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import xxhash
from numpy.typing import NDArray

from afkit.io.rootio.baskets import CorruptBasket, decompress

_ANCHOR = struct.Struct(">HHHHQQQQQQQ")
_ANCHOR_CLASS_HEADER = 6  # byte count (4) and class version (2) of the streamed object
_CHECKSUM = 8
_LARGE_LOCATOR = 0x01

HEADER, FOOTER, PAGE_LIST = 1, 2, 3
_ENVELOPE_NAMES = {HEADER: "header", FOOTER: "footer", PAGE_LIST: "page list"}


class RNTupleFormatError(Exception):
    """RNTuple metadata or pages are damaged or in a form this reader does not know."""


class UnsupportedRNTupleError(RNTupleFormatError):
    """The file uses an RNTuple feature (format version, flag, type) this reader does not know."""


@dataclass(frozen=True)
class Anchor:
    """The RNTuple's entry point: format version and the header and footer envelopes."""

    version: tuple[int, int, int, int]
    seek_header: int
    nbytes_header: int
    len_header: int
    seek_footer: int
    nbytes_footer: int
    len_footer: int
    max_key_size: int

    @property
    def version_text(self) -> str:
        return ".".join(str(v) for v in self.version)


def parse_anchor(payload: bytes) -> Anchor:
    """The anchor from a ``ROOT::RNTuple`` key's object bytes (after the key header)."""
    body = payload[_ANCHOR_CLASS_HEADER:]
    if len(body) < _ANCHOR.size + _CHECKSUM:
        raise RNTupleFormatError(f"the anchor has {len(payload)} bytes, too few for an anchor")
    fields = body[: _ANCHOR.size]
    (stored,) = struct.unpack_from(">Q", body, _ANCHOR.size)
    if xxhash.xxh3_64_intdigest(fields) != stored:
        raise RNTupleFormatError("the anchor's checksum does not match its bytes")
    values = _ANCHOR.unpack(fields)
    anchor = Anchor(tuple(values[:4]), *values[4:])
    if anchor.version[0] != 1:
        raise UnsupportedRNTupleError(
            f"RNTuple format version {anchor.version_text}: this reader knows epoch 1 (1.x.x.x)"
        )
    return anchor


def open_envelope(
    raw: NDArray[np.uint8], length: int, expected_type: int
) -> tuple[NDArray[np.uint8], int]:
    """An envelope's payload (between its preamble and checksum), checked and decompressed,
    and its checksum (the footer and page lists name their header by it).

    ``raw`` is the envelope as stored (``nbytes``), ``length`` its uncompressed size.
    """
    what = _ENVELOPE_NAMES.get(expected_type, f"type {expected_type}")
    try:
        data = decompress(raw, length)
    except CorruptBasket as err:
        raise RNTupleFormatError(f"the {what} envelope does not decompress: {err}") from err
    if len(data) < 8 + _CHECKSUM:
        raise RNTupleFormatError(f"the {what} envelope has {len(data)} bytes, too few")
    stored = int.from_bytes(data[-_CHECKSUM:].tobytes(), "little")
    if xxhash.xxh3_64_intdigest(data[:-_CHECKSUM].tobytes()) != stored:
        raise RNTupleFormatError(f"the {what} envelope's checksum does not match its bytes")
    preamble = int.from_bytes(data[:8].tobytes(), "little")
    type_id, stated = preamble & 0xFFFF, preamble >> 16
    if type_id != expected_type:
        raise RNTupleFormatError(f"the {what} envelope has type id {type_id}")
    if stated != length:
        raise RNTupleFormatError(
            f"the {what} envelope says it has {stated} bytes, its locator says {length}"
        )
    return data[8:-_CHECKSUM], stored


@dataclass(frozen=True)
class Locator:
    """Where a page or envelope lies: byte offset and (compressed) size."""

    offset: int
    size: int


class Frames:
    """A cursor over an envelope's payload that reads integers, strings and frames.

    ``limit`` is the end of the frame being read; nothing is read past it.
    """

    def __init__(self, data: bytes, what: str, at: int = 0, limit: int | None = None) -> None:
        self.data = data
        self.what = what
        self.pos = at
        self.limit = len(data) if limit is None else limit

    def _take(self, fmt: struct.Struct) -> Any:
        if self.pos + fmt.size > self.limit:
            raise RNTupleFormatError(
                f"the {self.what} is cut short (a value at byte {self.pos} runs past its frame)"
            )
        (value,) = fmt.unpack_from(self.data, self.pos)
        self.pos += fmt.size
        return value

    def unpack(self, fmt: struct.Struct) -> tuple[Any, ...]:
        """Several values at once (``fmt`` little-endian), bounds checked like the others."""
        if self.pos + fmt.size > self.limit:
            raise RNTupleFormatError(
                f"the {self.what} is cut short (a record at byte {self.pos} runs past its frame)"
            )
        values = fmt.unpack_from(self.data, self.pos)
        self.pos += fmt.size
        return values

    def u16(self) -> int:
        return int(self._take(_U16))

    def u32(self) -> int:
        return int(self._take(_U32))

    def i32(self) -> int:
        return int(self._take(_I32))

    def u64(self) -> int:
        return int(self._take(_U64))

    def i64(self) -> int:
        return int(self._take(_I64))

    def f64(self) -> float:
        return float(self._take(_F64))

    def string(self) -> str:
        length = self.u32()
        if self.pos + length > self.limit:
            raise RNTupleFormatError(f"the {self.what} has a string running past its frame")
        text = self.data[self.pos : self.pos + length].decode("utf-8", "replace")
        self.pos += length
        return text

    def feature_flags(self) -> int:
        flags = 0
        shift = 0
        while True:
            word = self.i64()
            flags |= (word & 0x7FFFFFFFFFFFFFFF) << shift
            if word >= 0:
                return flags
            shift += 63

    def _frame(self, want_list: bool) -> tuple[Frames, int]:
        start = self.pos
        size = self.i64()
        is_list = size < 0
        size = abs(size)
        if is_list != want_list:
            kind = "list" if want_list else "record"
            raise RNTupleFormatError(f"the {self.what} has no {kind} frame at byte {start}")
        if size < 8 or start + size > self.limit:
            raise RNTupleFormatError(
                f"the {self.what} has a frame at byte {start} of size {size} past its end"
            )
        count = self.u32() if is_list else 0
        inner = Frames(self.data, self.what, self.pos, start + size)
        self.pos = start + size
        return inner, count

    def record(self) -> Frames:
        """The record frame at the cursor (the cursor moves past it)."""
        inner, _ = self._frame(False)
        return inner

    def items(self) -> Iterator[Frames]:
        """The items of the list frame at the cursor, each a cursor over its own frame.

        Items that are records are read as record frames; use :meth:`list_items` for lists of
        unframed items (page descriptions).
        """
        inner, count = self._frame(True)
        for _ in range(count):
            yield inner.record()

    def list_of_lists(self) -> Iterator[tuple[Frames, int]]:
        """Items of a list frame whose items are themselves list frames: (cursor, count)."""
        inner, count = self._frame(True)
        for _ in range(count):
            yield inner._frame(True)

    def locator(self) -> Locator:
        start = self.pos
        head = self.i32()
        if head >= 0:
            return Locator(self.u64(), head)
        size = head & 0xFFFF  # of the locator itself
        kind = abs(int(np.int8(np.uint8((head >> 24) & 0xFF).view(np.int8))))
        if kind != _LARGE_LOCATOR:
            raise UnsupportedRNTupleError(
                f"the {self.what} has a locator of unknown type {kind} at byte {start}"
            )
        length = self.u64()
        offset = self.u64()
        self.pos = max(self.pos, start + size)
        return Locator(offset, length)

    def envelope_link(self) -> tuple[int, Locator]:
        length = self.u64()
        return length, self.locator()


_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_I32 = struct.Struct("<i")
_U64 = struct.Struct("<Q")
_I64 = struct.Struct("<q")
_F64 = struct.Struct("<d")
