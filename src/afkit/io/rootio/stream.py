"""A big-endian cursor over one streamed ROOT object (a decompressed key payload).

ROOT writes objects with a byte count in front of each class part, and pointers as either a
null tag, a reference to an object or class already seen, or a new class name followed by
the object.  :class:`Stream` reads these primitives and keeps the class-name table that later
references point into, so objects afkit does not need can be *skipped* by their byte counts
instead of decoded — that is what makes :mod:`afkit.io.rootio.ttree` cheap.

Positions in the class table count from the start of the key (``origin`` = key length),
as ROOT's own buffer does.
"""

from __future__ import annotations

import struct
from typing import Any

_BYTE_COUNT_MASK = 0x40000000
_CLASS_MASK = 0x80000000
_NEW_CLASS_TAG = 0xFFFFFFFF
_MAP_OFFSET = 2
_VERSION_HAS_BYTE_COUNT = 0x4000
_IS_REFERENCED = 1 << 4

_I4 = struct.Struct(">i")
_U4 = struct.Struct(">I")
_HEADER = struct.Struct(">IH")
_TOBJECT = struct.Struct(">HII")


class StreamError(Exception):
    """The bytes do not follow ROOT's streaming rules (damaged, or a layout afkit lacks)."""


class NativeUnsupported(Exception):
    """This file uses a layout afkit's own reader does not decode; use uproot instead."""


class Stream:
    """Sequential reader with ROOT's object-pointer conventions."""

    __slots__ = ("classes", "data", "objects", "origin", "pos")

    def __init__(self, data: Any, origin: int = 0) -> None:
        self.data = bytes(data)  # int indexing and the fastest struct access
        self.pos = 0
        self.origin = origin
        self.classes: dict[int, str] = {}
        self.objects: dict[int, Any] = {}  # decoded objects, for later references

    # -- primitives ---------------------------------------------------------------------
    # (struct checks the buffer length itself; its error becomes a StreamError)
    def fields(self, layout: struct.Struct) -> tuple[Any, ...]:
        try:
            values = layout.unpack_from(self.data, self.pos)
        except struct.error as err:
            raise StreamError(f"ran past the end ({len(self.data)} bytes) at {self.pos}") from err
        self.pos += layout.size
        return values

    def i4(self) -> int:
        return int(self.fields(_I4)[0])

    def u4(self) -> int:
        return int(self.fields(_U4)[0])

    def _check(self, n: int) -> None:
        if self.pos + n > len(self.data):
            raise StreamError(f"ran past the end ({len(self.data)} bytes) at byte {self.pos}")

    def skip(self, n: int) -> None:
        self._check(n)
        self.pos += n

    def string(self) -> str:
        """A ``TString``: one length byte, or 255 and a four-byte length."""
        data, pos = self.data, self.pos
        if pos >= len(data):
            raise StreamError(f"ran past the end ({len(data)} bytes) at byte {pos}")
        n = data[pos]
        pos += 1
        if n == 255:
            self.pos = pos
            n = self.u4()
            pos = self.pos
        if pos + n > len(data):
            raise StreamError(f"string at byte {pos} runs past the end")
        self.pos = pos + n
        return data[pos : pos + n].decode("utf-8", errors="replace")

    def cstring(self) -> str:
        """A NUL-terminated class name."""
        end = self.data.find(b"\0", self.pos)
        if end < 0:
            raise StreamError(f"unterminated class name at byte {self.pos}")
        text = self.data[self.pos : end].decode("ascii", errors="replace")
        self.pos = end + 1
        return text

    # -- object structure ---------------------------------------------------------------
    def header(self) -> tuple[int, int]:
        """A class part's ``byte count, version``: returns (end position, version)."""
        start = self.pos
        count, version = self.fields(_HEADER)
        if not count & _BYTE_COUNT_MASK:
            raise StreamError(f"expected a byte count at byte {start}")
        end: int = start + 4 + (count & ~_BYTE_COUNT_MASK)
        if end > len(self.data):
            raise StreamError(f"byte count at {start} runs past the end")
        return end, int(version)

    def skip_part(self) -> None:
        """Skip one class part (base class or member object) by its byte count."""
        self.pos = self.header()[0]

    def tobject(self) -> None:
        """A ``TObject`` part: version, unique id, bits (and a process id if referenced)."""
        version, _, bits = self.fields(_TOBJECT)
        if version & _VERSION_HAS_BYTE_COUNT:  # rare: a byte count word came first, so
            bits = self.u4()  # the real fBits follow what was read as fUniqueID, fBits
        if bits & _IS_REFERENCED:
            self.skip(2)

    def tnamed(self) -> tuple[str, str]:
        """A ``TNamed`` part: (name, title)."""
        end, _ = self.header()
        self.tobject()
        name, title = self.string(), self.string()
        self.pos = end
        return name, title

    def pointer(self) -> tuple[str | None, int, int]:
        """The start of a streamed pointer: (class name, object end, object key).

        The class name is None for a null pointer, and ``""`` for a reference to an object
        streamed earlier: nothing follows, and the key is the one that object was given
        (look it up in :attr:`objects`).  Otherwise the cursor stands at the object's first
        byte, its bytes end at ``end``, and ``key`` is where to register it in
        :attr:`objects` for later references.
        """
        begin = self.pos
        first = self.u4()
        if not first & _BYTE_COUNT_MASK or first == _NEW_CLASS_TAG:
            tag, end = first, -1
            tag_position = begin
        else:
            tag_position = self.pos
            end = begin + 4 + (first & ~_BYTE_COUNT_MASK)
            tag = self.u4()
        if not tag & _CLASS_MASK:
            return (None if tag == 0 else ""), self.pos, tag
        if tag == _NEW_CLASS_TAG:
            name = self.cstring()
            self.classes[tag_position + self.origin + _MAP_OFFSET] = name
        else:
            ref = tag & ~_CLASS_MASK
            name = self.classes.get(ref) or self._class_at(ref, begin)
        if end < 0:
            raise StreamError(f"object of class {name!r} at byte {begin} has no byte count")
        if end > len(self.data):
            raise StreamError(f"object of class {name!r} at byte {begin} runs past the end")
        return name, end, begin + self.origin + _MAP_OFFSET

    def position_of(self, key: int) -> int:
        """Where the object or class tag a reference ``key`` points to lies in the data."""
        return key - self.origin - _MAP_OFFSET

    def _class_at(self, ref: int, begin: int) -> str:
        """A class name introduced in bytes that were stepped over, not read: it lies where
        the reference points, as a new-class tag and the name."""
        at = self.position_of(ref)
        if not 0 <= at <= len(self.data) - 4 or _U4.unpack_from(self.data, at)[0] != _NEW_CLASS_TAG:
            raise StreamError(f"class reference {ref} at byte {begin} points to no class name")
        end = self.data.find(b"\0", at + 4)
        if end < 0:
            raise StreamError(f"unterminated class name at byte {at + 4}")
        name = self.data[at + 4 : end].decode("ascii", errors="replace")
        self.classes[ref] = name
        return name

    def objarray_header(self) -> int:
        """A ``TObjArray`` header up to its element count; returns the count."""
        self.header()
        self.tobject()
        self.string()  # fName
        count = self.i4()
        self.skip(4)  # fLowerBound
        if count < 0:
            raise StreamError(f"negative element count {count}")
        return count
