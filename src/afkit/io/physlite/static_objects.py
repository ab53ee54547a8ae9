"""Unsplit static aux stores (``EventInfoAux.`` at split level 0, early release-21 files).

Such a branch stores each entry as one object streamed from its ``TStreamerInfo``: a header
per base class — byte count, version, and, for classes without a ClassDef (ROOT "foreign"
classes) version 0 followed by the 4-byte streamer checksum — then the data members in
streamer order.  uproot expects no checksum and fails ("cursor moved by 20 bytes (through
SG::IAuxStore)": five interface bases, four bytes each).

The object's *own* header is not in the entry: a top-level branch at split level 0 streams
the members of its class directly (the class and its version are the branch's metadata), so
an entry starts with the header of its first base class.  ROOT writes files so (checked on a
file written by ROOT itself, see the tests); an entry that does start with the class's own
header — its byte count covering the whole entry, its version or checksum the class's — is
decoded too.

:func:`object_plan` turns the file's streamer infos into a flat list of operations once;
:func:`decode_static_objects` runs it over every entry in compiled code and returns one
column per numeric member.  Members afkit does not expose as numbers (strings, STL
containers, nested objects) are skipped through their own byte counts; the decoder checks
that each entry ends exactly where its byte count says.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from afkit._jit import njit
from afkit.exceptions import DecodeError, UnknownEncodingError
from afkit.io.physlite.streamers import STATUS
from afkit.io.rootio.bigendian import BYTE_COUNT_FLAG as _BC_FLAG
from afkit.io.rootio.bigendian import u16 as _u16
from afkit.io.rootio.bigendian import u32 as _u32

OP_HEADER = 0  # bc + version (+ checksum when version is 0)
OP_BASIC = 1  # arg1 = size in bytes, arg2 = output column
OP_SKIP_BC = 2  # a member written with its own byte count
OP_STRING = 3  # 1-byte length, or 255 and a 4-byte length

#: TStreamerBasicType fType -> numpy dtype code (big-endian on disk)
BASIC_TYPES: dict[int, str] = {
    1: "i1",
    2: "i2",
    3: "i4",
    4: "i8",
    5: "f4",
    8: "f8",
    9: "f4",
    11: "u1",
    12: "u2",
    13: "u4",
    14: "u8",
    16: "i8",
    17: "u8",
    18: "?",
}


@dataclass(frozen=True)
class ObjectPlan:
    """Compiled layout of one streamed class: operations and the numeric members they fill."""

    ops: NDArray[np.int64]  # shape (n, 3): op, arg1, arg2; ops[0] is the class's own header
    members: tuple[tuple[str, np.dtype[Any]], ...]
    version: int  # the class's version in the streamer info
    checksum: int  # its streamer checksum (what a foreign class's header carries)


def object_plan(file: Any, class_name: str) -> ObjectPlan:
    """Build the decoding plan for ``class_name`` from the file's streamer infos."""
    ops: list[tuple[int, int, int]] = []
    members: list[tuple[str, np.dtype[Any]]] = []
    _plan_class(file, class_name, ops, members, depth=0)
    streamer = file.streamer_named(class_name)
    return ObjectPlan(
        np.asarray(ops, dtype=np.int64).reshape(-1, 3),
        tuple(members),
        int(streamer.class_version),
        int(streamer.member("fCheckSum")) & 0xFFFFFFFF,
    )


def _plan_class(
    file: Any,
    class_name: str,
    ops: list[tuple[int, int, int]],
    members: list[tuple[str, np.dtype[Any]]],
    depth: int,
) -> None:
    if depth > 32:
        raise UnknownEncodingError(f"class hierarchy of {class_name} is too deep")
    streamer = file.streamer_named(class_name)
    if streamer is None:
        raise UnknownEncodingError(f"no streamer info for {class_name} in the file")
    ops.append((OP_HEADER, 0, 0))
    for element in streamer.elements:
        kind = type(element).__name__
        if kind == "Model_TStreamerBase":
            _plan_class(file, element.name, ops, members, depth + 1)
        elif kind == "Model_TStreamerBasicType":
            code = BASIC_TYPES.get(int(element.member("fType")))
            if code is None:
                raise UnknownEncodingError(
                    f"{class_name}.{element.name}: basic type code {element.member('fType')}"
                )
            dtype = np.dtype(code)
            ops.append((OP_BASIC, dtype.itemsize, len(members)))
            members.append((element.name, dtype))
        elif kind in ("Model_TStreamerSTLstring", "Model_TStreamerString"):
            ops.append((OP_STRING, 0, 0))
        elif kind in (
            "Model_TStreamerSTL",
            "Model_TStreamerObject",
            "Model_TStreamerObjectAny",
            "Model_TStreamerObjectPointer",
        ):
            ops.append((OP_SKIP_BC, 0, 0))
        else:
            raise UnknownEncodingError(f"{class_name}.{element.name}: streamer element {kind}")


@njit(cache=True, nogil=True)
def _has_own_header(data, pos, end, version, checksum):
    """Whether the entry at ``pos`` starts with the class's own header: a byte count that
    covers the whole entry, then the class's version (or 0 and its checksum)."""
    if end - pos < 6:
        return False
    first = _u32(data, pos)
    if not first & _BC_FLAG or (first & ~_BC_FLAG) + 4 != end - pos:
        return False
    found = _u16(data, pos + 4)
    if found == 0:
        return end - pos >= 10 and _u32(data, pos + 6) == checksum
    return found == version


@njit(cache=True, nogil=True)
def _run_plan(data, offsets, ops, out, class_version, checksum):
    for entry in range(len(offsets) - 1):
        pos = offsets[entry]
        end = offsets[entry + 1]
        # ops[0] is the class's own header, which split-level-0 entries leave out
        first_op = 0 if _has_own_header(data, pos, end, class_version, checksum) else 1
        for k in range(first_op, ops.shape[0]):
            op = ops[k, 0]
            if op == OP_HEADER:
                if pos + 6 > end:
                    return 1, entry
                if not _u32(data, pos) & _BC_FLAG:
                    return 2, entry
                version = _u16(data, pos + 4)
                pos += 10 if version == 0 else 6
            elif op == OP_BASIC:
                size = ops[k, 1]
                if pos + size > end:
                    return 1, entry
                value = np.uint64(0)
                for b in range(size):
                    value = (value << np.uint64(8)) | np.uint64(data[pos + b])
                out[ops[k, 2], entry] = value
                pos += size
            elif op == OP_SKIP_BC:
                if pos + 4 > end:
                    return 1, entry
                bc = _u32(data, pos)
                if not bc & _BC_FLAG:
                    return 2, entry
                pos += 4 + (bc & ~_BC_FLAG)
            else:  # OP_STRING
                if pos + 1 > end:
                    return 1, entry
                n = data[pos]
                pos += 1
                if n == 255:
                    n = _u32(data, pos)
                    pos += 4
                pos += n
            if pos > end:
                return 1, entry
        if pos != end:
            return 7, entry
    return 0, -1


def decode_static_objects(
    data: NDArray[np.uint8], offsets: NDArray[np.int64], plan: ObjectPlan, what: str
) -> dict[str, NDArray[Any]]:
    """Decode every entry; return ``member -> values`` for the numeric members."""
    out = np.zeros((len(plan.members), len(offsets) - 1), dtype=np.uint64)
    status, entry = _run_plan(data, offsets, plan.ops, out, plan.version, plan.checksum)
    if status:
        raise DecodeError(f"cannot decode {what}: entry {entry}: {STATUS.get(status, status)}")
    columns: dict[str, NDArray[Any]] = {}
    for row, (name, dtype) in enumerate(plan.members):
        bits = out[row]
        if dtype.kind == "f":
            columns[name] = bits.astype(np.uint32 if dtype.itemsize == 4 else np.uint64).view(dtype)
        elif dtype.kind == "b":
            columns[name] = bits != 0
        else:
            columns[name] = bits.astype(f"u{dtype.itemsize}").view(dtype)
    return columns
