"""Column pages to values: fetch, check, decompress and decode every encoding ROOT writes.

A column's elements in an entry range lie in pages of the clusters covering it.  The pages'
bytes are requested in one call, each page's XXH3 checksum (when stored) is checked against
its compressed bytes, each page is decompressed straight into its place in one buffer, and
the page-wise encodings are undone in place: split (byte planes), zigzag, delta (index
columns), bit packing (booleans, truncated and quantised reals), half floats.  Index
columns count from 0 in each cluster; :func:`read_column` returns them as offsets into the
child column's elements over the whole range asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import xxhash
from numpy.typing import NDArray

from afkit._jit import interpreted, njit
from afkit.io.rntuple.descriptor import Cluster, ColumnDesc
from afkit.io.rntuple.envelopes import RNTupleFormatError, UnsupportedRNTupleError
from afkit.io.rootio.baskets import CorruptBasket, decompress_into
from afkit.io.rootio.bytecopy import copy_bytes, move_bytes

PLAIN, SPLIT, ZIGZAG, DELTA, BIT, HALF, TRUNC, QUANT, SWITCH = range(9)


@dataclass(frozen=True)
class ColumnType:
    """How one on-disk column type is stored and what it becomes in memory."""

    name: str
    dtype: np.dtype[Any]  # in memory
    bits: int  # on disk per element (0: given by the column, for Trunc/Quant)
    encoding: int
    index: bool = False


def _t(name: str, dtype: Any, bits: int, encoding: int, index: bool = False) -> ColumnType:
    return ColumnType(name, np.dtype(dtype), bits, encoding, index)


COLUMN_TYPES: dict[int, ColumnType] = {
    0x00: _t("Bit", np.bool_, 1, BIT),
    0x01: _t("Byte", np.uint8, 8, PLAIN),
    0x02: _t("Char", np.uint8, 8, PLAIN),
    0x03: _t("Int8", np.int8, 8, PLAIN),
    0x04: _t("UInt8", np.uint8, 8, PLAIN),
    0x05: _t("Int16", "<i2", 16, PLAIN),
    0x06: _t("UInt16", "<u2", 16, PLAIN),
    0x07: _t("Int32", "<i4", 32, PLAIN),
    0x08: _t("UInt32", "<u4", 32, PLAIN),
    0x09: _t("Int64", "<i8", 64, PLAIN),
    0x0A: _t("UInt64", "<u8", 64, PLAIN),
    0x0B: _t("Real16", np.float32, 16, HALF),
    0x0C: _t("Real32", "<f4", 32, PLAIN),
    0x0D: _t("Real64", "<f8", 64, PLAIN),
    0x0E: _t("Index32", np.int64, 32, PLAIN, index=True),
    0x0F: _t("Index64", np.int64, 64, PLAIN, index=True),
    0x10: _t("Switch", np.int64, 96, SWITCH),
    0x11: _t("SplitInt16", "<i2", 16, ZIGZAG),
    0x12: _t("SplitUInt16", "<u2", 16, SPLIT),
    0x13: _t("SplitInt32", "<i4", 32, ZIGZAG),
    0x14: _t("SplitUInt32", "<u4", 32, SPLIT),
    0x15: _t("SplitInt64", "<i8", 64, ZIGZAG),
    0x16: _t("SplitUInt64", "<u8", 64, SPLIT),
    0x17: _t("SplitReal16", np.float32, 16, HALF),
    0x18: _t("SplitReal32", "<f4", 32, SPLIT),
    0x19: _t("SplitReal64", "<f8", 64, SPLIT),
    0x1A: _t("SplitIndex32", np.int64, 32, DELTA, index=True),
    0x1B: _t("SplitIndex64", np.int64, 64, DELTA, index=True),
    0x1C: _t("Real32Trunc", np.float32, 0, TRUNC),
    0x1D: _t("Real32Quant", np.float32, 0, QUANT),
}
_SPLIT_HALF = {0x17}
_RAW_DTYPE: dict[int, np.dtype[Any]] = {
    8: np.dtype(np.uint8),
    16: np.dtype("<u2"),
    32: np.dtype("<u4"),
    64: np.dtype("<u8"),
}


def column_type(column: ColumnDesc) -> ColumnType:
    """The column's type, or :class:`UnsupportedRNTupleError` for an unknown one."""
    known = COLUMN_TYPES.get(column.type)
    if known is None:
        raise UnsupportedRNTupleError(
            f"column type 0x{column.type:02X} is not one RNTuple 1.0 defines"
        )
    if known.bits and column.bits != known.bits:
        raise RNTupleFormatError(
            f"column type {known.name} stored with {column.bits} bits (it has {known.bits})"
        )
    if known.encoding == TRUNC and not 10 <= column.bits <= 31:
        raise RNTupleFormatError(f"a Real32Trunc column with {column.bits} bits (10-31 allowed)")
    if known.encoding == QUANT:
        if not 1 <= column.bits <= 32:
            raise RNTupleFormatError(f"a Real32Quant column with {column.bits} bits (1-32 allowed)")
        if column.value_range is None:
            raise RNTupleFormatError("a Real32Quant column without its value range")
    return known


def _stored_bytes(elements: int, bits: int) -> int:
    return (elements * bits + 7) // 8


class PageError(RNTupleFormatError):
    """A page's bytes are damaged (checksum, decompression or size)."""


@njit(cache=True, nogil=True)
def _unpack_bits(words: Any, nbits: int, count: int, out: Any) -> None:
    """``count`` values of ``nbits`` packed LSB first in little-endian 32-bit ``words``."""
    mask = (np.uint64(1) << np.uint64(nbits)) - np.uint64(1)
    nwords = len(words)
    for i in range(count):
        bit = i * nbits
        w = bit // 32
        shift = np.uint64(bit % 32)
        value = np.uint64(words[w]) >> shift
        if shift + np.uint64(nbits) > np.uint64(32) and w + 1 < nwords:
            value |= np.uint64(words[w + 1]) << (np.uint64(32) - shift)
        out[i] = np.uint32(value & mask)


def unpack_bits_numpy(words: NDArray[np.uint32], nbits: int, count: int, out: Any) -> None:
    """:func:`_unpack_bits` in NumPy, for a process that has compiled nothing yet."""
    bit = np.arange(count, dtype=np.uint64) * np.uint64(nbits)
    w = (bit // np.uint64(32)).astype(np.int64)
    shift = bit % np.uint64(32)
    value = words[w].astype(np.uint64) >> shift
    spill = np.flatnonzero((shift + np.uint64(nbits) > np.uint64(32)) & (w + 1 < len(words)))
    value[spill] |= words[w[spill] + 1].astype(np.uint64) << (np.uint64(32) - shift[spill])
    out[:] = (value & np.uint64((1 << nbits) - 1)).astype(np.uint32)


def _unsplit(raw: NDArray[np.uint8], width: int) -> NDArray[np.uint8]:
    """Byte planes (all first bytes, then all second bytes, ...) back to elements."""
    if width == 1:
        return raw
    return np.ascontiguousarray(raw.reshape(width, -1).T).reshape(-1)


def decode_page(
    raw: NDArray[np.uint8], elements: int, ctype: ColumnType, column: ColumnDesc
) -> NDArray[Any]:
    """One decompressed page's ``elements`` values, for the encodings decoded with NumPy.

    Bits, truncated and quantised reals, half floats, switches and plain 32-bit index
    columns; split, zigzag and delta pages are decoded in compiled code by
    :func:`_decode_into`.
    """
    enc = ctype.encoding
    if enc == BIT:
        return np.unpackbits(raw, bitorder="little")[:elements].astype(np.bool_)
    if enc in (TRUNC, QUANT):
        nbits = column.bits
        words = raw
        pad = (-len(words)) % 4
        if pad:
            words = np.concatenate([words, np.zeros(pad, np.uint8)])
        packed = np.empty(elements, np.uint32)
        if nbits == 32:
            packed[:] = words.view("<u4")[:elements]
        else:
            unpack = unpack_bits_numpy if interpreted(words.nbytes) else _unpack_bits
            unpack(words.view("<u4"), nbits, elements, packed)
        if enc == TRUNC:
            return np.asarray((packed << np.uint32(32 - nbits)).view(np.float32))
        assert column.value_range is not None
        low, high = column.value_range
        scale = (high - low) / ((1 << nbits) - 1) if nbits < 64 else 0.0
        return (low + packed.astype(np.float64) * scale).astype(np.float32)
    if enc == SWITCH:
        records = raw.reshape(elements, 12)
        index = np.ascontiguousarray(records[:, :8]).view("<i8").reshape(-1)
        tag = np.ascontiguousarray(records[:, 8:]).view("<i4").reshape(-1)
        return np.stack([index, tag.astype(np.int64)], axis=1)
    if enc == HALF:
        data = _unsplit(raw, 2) if column.type in _SPLIT_HALF else raw
        return np.asarray(data.view("<f2"), np.float32)
    if ctype.index:  # Index32 (plain): widened
        return np.asarray(raw.view(_RAW_DTYPE[column.bits]), np.int64)
    return np.asarray(raw.view(ctype.dtype))


def _checked_page(raw: NDArray[np.uint8], has_checksum: bool, where: str) -> NDArray[np.uint8]:
    if not has_checksum:
        return raw
    if len(raw) < 8:
        raise PageError(f"{where}: page cut short before its checksum")
    body, stored = raw[:-8], int.from_bytes(raw[-8:].tobytes(), "little")
    if xxhash.xxh3_64_intdigest(body.data) != stored:
        raise PageError(f"{where}: the page's checksum does not match its bytes")
    return body


@njit(cache=True, nogil=True, inline="always")
def _element(src: Any, n: int, width: int, i: int) -> Any:
    """Element ``i`` of byte planes, as an unsigned integer (the common widths unrolled)."""
    u = np.uint64
    if width == 8:
        return (
            u(src[i])
            | (u(src[n + i]) << u(8))
            | (u(src[2 * n + i]) << u(16))
            | (u(src[3 * n + i]) << u(24))
            | (u(src[4 * n + i]) << u(32))
            | (u(src[5 * n + i]) << u(40))
            | (u(src[6 * n + i]) << u(48))
            | (u(src[7 * n + i]) << u(56))
        )
    if width == 4:
        return (
            u(src[i])
            | (u(src[n + i]) << u(8))
            | (u(src[2 * n + i]) << u(16))
            | (u(src[3 * n + i]) << u(24))
        )
    if width == 2:
        return u(src[i]) | (u(src[n + i]) << u(8))
    value = u(0)
    for b in range(width):
        value |= u(src[b * n + i]) << u(8 * b)
    return value


@njit(cache=True, nogil=True)
def _unsplit_words(src: Any, n: int, width: int, dst: Any) -> None:
    """Byte planes into ``dst``, an unsigned integer view of ``width`` bytes per element."""
    if width == 4:
        for i in range(n):
            dst[i] = (
                np.uint32(src[i])
                | (np.uint32(src[n + i]) << np.uint32(8))
                | (np.uint32(src[2 * n + i]) << np.uint32(16))
                | (np.uint32(src[3 * n + i]) << np.uint32(24))
            )
    else:
        for i in range(n):
            dst[i] = _element(src, n, width, i)


@njit(cache=True, nogil=True)
def _unsplit_zigzag(src: Any, n: int, width: int, dst: Any) -> None:
    """Byte planes of zigzag-coded integers into signed ``dst``."""
    for i in range(n):
        u = _element(src, n, width, i)
        dst[i] = np.int64(u >> np.uint64(1)) ^ -np.int64(u & np.uint64(1))


@njit(cache=True, nogil=True)
def _unsplit_delta(src: Any, n: int, width: int, dst: Any) -> None:
    """Byte planes of delta-coded index values into their running sum (int64 ``dst``)."""
    total = np.int64(0)
    for i in range(n):
        total += np.int64(_element(src, n, width, i))
        dst[i] = total


#: elements per block of :func:`_unsplit_in_place` (its scratch is a few blocks of bytes)
_BLOCK = 64


def unsplit_scratch(n: int, width: int) -> tuple[NDArray[np.uint8], NDArray[np.bool_]]:
    """The small buffers :func:`_unsplit_in_place` needs for ``n`` elements of ``width``
    bytes: ``2 * width + 2`` blocks of bytes, and one flag per block of the page."""
    return np.empty((2 * width + 2) * _BLOCK, np.uint8), np.empty(width * (n // _BLOCK), np.bool_)


@njit(cache=True, nogil=True)
def _unsplit_in_place(buf: Any, n: int, width: int, work: Any, seen: Any) -> None:
    """Byte planes of ``n`` elements (``buf[:n * width]``: all first bytes, then all second
    bytes, ...) into the elements themselves, in place, with scratch of a few blocks.

    The planes' last ``n % _BLOCK`` bytes go to scratch, the planes' full blocks are moved
    together (plane-major to block-major order, each block moved once along its cycle of the
    permutation, ``seen`` marking the blocks done), then each run of ``width`` blocks — the
    planes of ``_BLOCK`` elements — and the tail are interleaved through scratch."""
    g = _BLOCK
    full = n // g
    rest = n - full * g
    tails = work[: width * g]
    group = work[width * g : 2 * width * g]
    carry = work[2 * width * g : 2 * width * g + g]
    spare = work[2 * width * g + g : 2 * width * g + 2 * g]
    for b in range(width):  # the planes' tails, plane after plane
        copy_bytes(tails, b * rest, buf, b * n + full * g, rest)
    for b in range(1, width):  # full blocks of every plane back to back (moving left)
        move_bytes(buf, b * full * g, buf, b * n, full * g)
    blocks = width * full
    seen[:blocks] = False
    for start in range(blocks):  # block (plane b, block j) to position j * width + b
        if seen[start]:
            continue
        seen[start] = True
        copy_bytes(carry, 0, buf, start * g, g)
        cur = start
        while True:
            nxt = (cur % full) * width + cur // full
            if seen[nxt]:  # back at the start: its block was taken first
                copy_bytes(buf, nxt * g, carry, 0, g)
                break
            copy_bytes(spare, 0, buf, nxt * g, g)
            copy_bytes(buf, nxt * g, carry, 0, g)
            copy_bytes(carry, 0, spare, 0, g)
            seen[nxt] = True
            cur = nxt
    for j in range(full):  # each run of width blocks: the planes of g elements
        base = j * width * g
        copy_bytes(group, 0, buf, base, width * g)
        _interleave(group, g, width, buf[base : base + width * g])
    if rest:
        _interleave(tails, rest, width, buf[full * g * width : n * width])


@njit(cache=True, nogil=True, inline="always")
def _interleave(planes: Any, m: int, width: int, out: Any) -> None:
    """``m`` elements of 2, 4 or 8 bytes from their byte planes (``planes[b * m + i]``)
    into ``out``, elements back to back, a whole element written at a time."""
    if width == 4:
        _unsplit_words(planes, m, 4, out.view(np.uint32))
    elif width == 8:
        _unsplit_words(planes, m, 8, out.view(np.uint64))
    else:
        _unsplit_words(planes, m, 2, out.view(np.uint16))


#: :func:`_widen_forward` modes
_COPY, _RUNNING_SUM, _UNZIGZAG = 0, 1, 2


@njit(cache=True, nogil=True)
def _widen_forward(src: Any, dst: Any, mode: int) -> None:
    """``dst[i]`` from ``src[i]`` for each ``i`` in order: the value, the running sum
    (delta-coded index values) or the zigzag-decoded integer.  ``src`` may lie in
    ``dst``'s own bytes, at its end: element ``i`` is written only over bytes no later
    element is read from."""
    total = np.int64(0)
    for i in range(len(src)):
        if mode == _RUNNING_SUM:
            total += np.int64(src[i])
            dst[i] = total
        elif mode == _UNZIGZAG:
            u = np.uint64(src[i])
            dst[i] = np.int64(u >> np.uint64(1)) ^ -np.int64(u & np.uint64(1))
        else:
            dst[i] = src[i]


@dataclass(frozen=True)
class ColumnPart:
    """One cluster's share of a column read: its column, and how many elements it must have.

    ``column`` is ``None`` where the cluster has no pages for the field (a column added
    later); ``elements`` then are zeros, as the format prescribes.  Pages covering fewer
    elements than ``elements`` (a column added within the cluster) are preceded by zeros.
    """

    cluster: Cluster
    column: ColumnDesc | None
    elements: int


def read_column(
    parts: list[ColumnPart],
    dtype: np.dtype[Any],
    source: Any,
    where: str,
    *,
    switch: bool = False,
    lead: int = 0,
) -> NDArray[Any]:
    """The elements of the parts, back to back, decoded into one array of ``dtype``.

    Pages come from ``source.each_range`` (a local file maps each page alone while it is
    decoded, so no compressed page is copied), each checked and decompressed into its
    place: plain columns of the memory type straight into the result, split and other
    encoded pages into the result's bytes after their place where later pages of the same
    run overwrite them, otherwise into the end of their own place (and, for the encodings
    decoded with NumPy, into one scratch page), then decoded into place.  Index columns
    keep their per-cluster counting (callers add each cluster's base); a ``switch`` column
    gives (index, tag) rows.  ``lead`` zero elements come first (room for an offsets
    array's leading 0, so that collection offsets are built in place).
    """
    total = sum(p.elements for p in parts) + lead
    out = np.zeros((total, 2) if switch else total, dtype)
    ranges: list[tuple[int, int]] = []
    plan: list[tuple[int, int, ColumnDesc, int, bool]] = []  # (part, at, column, n, checksum)
    at = lead
    for number, part in enumerate(parts):
        column = part.column
        info = None if column is None else part.cluster.columns.get(column.id)
        if column is None or info is None or info.suppressed:
            at += part.elements
            continue
        stored = info.elements
        if stored > part.elements:
            raise RNTupleFormatError(
                f"{where}: a cluster holds {stored} elements of a column, its field {part.elements}"
            )
        at += part.elements - stored  # leading zeros of a column added within the cluster
        table = info.table
        for elements, offset, size, checksum in zip(
            table["elements"].tolist(),
            table["offset"].tolist(),
            table["size"].tolist(),
            table["checksum"].tolist(),
            strict=True,
        ):
            ranges.append((offset, offset + size + (8 if checksum else 0)))
            plan.append((number, at, column, elements, checksum))
            at += elements
    # where each page's run of back-to-back pages ends: the bytes after a page up to there
    # are written later, so they can hold the page before it is decoded into place
    byte = out.dtype.itemsize * (2 if switch else 1)
    run_end = [0] * len(plan)
    end = 0
    for k in range(len(plan) - 1, -1, -1):
        _, at, _, n, _ = plan[k]
        if k + 1 == len(plan) or plan[k + 1][1] != at + n:
            end = (at + n) * byte
        run_end[k] = end
    flat = out.reshape(-1).view(np.uint8)
    # a first look at a file (nothing compiled yet, a small column) decodes with NumPy
    numpy_pages = interpreted(out.nbytes)
    raws = source.each_range(ranges) if ranges else iter(())
    scratch = np.empty(0, np.uint8)
    for page_number, (raw, (number, at, column, n, checksum)) in enumerate(
        zip(raws, plan, strict=True)
    ):
        first_entry = parts[number].cluster.first_entry
        here = f"{where}, page {page_number} (cluster from entry {first_entry})"
        body = _checked_page(raw, checksum, here)
        ctype = column_type(column)
        size = _stored_bytes(n, column.bits)
        target = out[at : at + n]
        direct = ctype.encoding == PLAIN and not ctype.index and ctype.dtype == dtype
        direct = direct or (ctype.index and column.bits == 64 and ctype.encoding == PLAIN)
        if direct:
            buffer = target.view(np.uint8)
        elif numpy_pages:
            if len(scratch) < size:
                scratch = np.empty(size, np.uint8)
            buffer = scratch[:size]
        elif run_end[page_number] - (at + n) * byte >= size:  # room in the bytes after it
            buffer = flat[(at + n) * byte : (at + n) * byte + size]
        elif _decodes_in_place(ctype, column, target):
            _decompress(body, target.view(np.uint8)[target.nbytes - size :], here)
            _decode_in_place(n, ctype, column, target)
            del raw, body
            continue
        else:
            if len(scratch) < size:
                del scratch  # not two scratch pages at once
                scratch = np.empty(size, np.uint8)
            buffer = scratch[:size]
        _decompress(body, buffer, here)
        if numpy_pages and not direct:
            decode_into_numpy(buffer, n, ctype, column, target)
        elif not direct:
            _decode_into(buffer, n, ctype, column, target)
        del raw, body, buffer
    return out


def _decompress(body: NDArray[np.uint8], buffer: NDArray[np.uint8], here: str) -> None:
    try:
        decompress_into(body, buffer)
    except CorruptBasket as err:
        raise PageError(f"{here}: {err}") from err


def _decodes_in_place(ctype: ColumnType, column: ColumnDesc, target: NDArray[Any]) -> bool:
    """Whether a page can be decompressed into the end of its own place and decoded there:
    byte-wide elements, plain or split (zigzag and delta included), kept at their width or
    twice it (index columns, a double field stored as 32-bit reals)."""
    width = column.bits // 8
    return (
        ctype.encoding in (PLAIN, SPLIT, ZIGZAG, DELTA)
        and column.type not in _SPLIT_HALF
        and column.bits % 8 == 0
        and width in (1, 2, 4, 8)
        and target.ndim == 1
        and target.itemsize in (width, 2 * width)
    )


def _decode_in_place(n: int, ctype: ColumnType, column: ColumnDesc, target: NDArray[Any]) -> None:
    """Decode a page decompressed into the last ``n * width`` bytes of ``target``: byte
    planes back to elements where split, then each value widened (or summed, or
    zigzag-decoded) forward into ``target``, which never overwrites a value not yet read."""
    width = column.bits // 8
    enc = ctype.encoding
    stored = target.view(np.uint8)[target.nbytes - n * width :]
    if enc != PLAIN and width > 1:
        work, seen = unsplit_scratch(n, width)
        _unsplit_in_place(stored, n, width, work, seen)
    raw = enc in (ZIGZAG, DELTA) or ctype.index
    values = stored.view(_RAW_DTYPE[column.bits] if raw else ctype.dtype)
    mode = _RUNNING_SUM if enc == DELTA else _UNZIGZAG if enc == ZIGZAG else _COPY
    if mode == _COPY and values.dtype == target.dtype:
        return  # already in place
    _widen_forward(values, target, mode)


def decode_into_numpy(
    raw: NDArray[np.uint8], n: int, ctype: ColumnType, column: ColumnDesc, target: NDArray[Any]
) -> None:
    """:func:`_decode_into` in NumPy (byte planes transposed, zigzag and running sums as
    array operations), for a process that has compiled nothing yet."""
    enc = ctype.encoding
    if enc in (SPLIT, ZIGZAG, DELTA) and column.type not in _SPLIT_HALF:
        width = column.bits // 8
        words = _unsplit(raw[: n * width], width).view(_RAW_DTYPE[column.bits])
        if enc == ZIGZAG:
            u = words.astype(np.uint64)
            decoded = (u >> np.uint64(1)).astype(np.int64) ^ -(u & np.uint64(1)).astype(np.int64)
            target[:] = decoded
        elif enc == DELTA:
            target[:] = np.cumsum(words.astype(np.int64))
        else:
            target[:] = words.view(ctype.dtype)
        return
    target[:] = decode_page(raw, n, ctype, column)


def _decode_into(
    raw: NDArray[np.uint8], n: int, ctype: ColumnType, column: ColumnDesc, target: NDArray[Any]
) -> None:
    """Decode one decompressed page of ``n`` elements into ``target``."""
    enc = ctype.encoding
    if enc in (SPLIT, ZIGZAG, DELTA) and column.type not in _SPLIT_HALF:
        width = column.bits // 8
        if enc == ZIGZAG:
            _unsplit_zigzag(raw, n, width, target)
        elif enc == DELTA:
            _unsplit_delta(raw, n, width, target)
        elif target.dtype == ctype.dtype:
            _unsplit_words(raw, n, width, target.view(_RAW_DTYPE[column.bits]))
        else:  # e.g. a double field stored as SplitReal32 (Double32_t)
            plain = np.empty(n, _RAW_DTYPE[column.bits])
            _unsplit_words(raw, n, width, plain)
            target[:] = plain.view(ctype.dtype)
        return
    target[:] = decode_page(raw, n, ctype, column)
