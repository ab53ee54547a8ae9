"""Basket reading: fetch, decompress and cut the entries ``[start, stop)`` of one branch.

Each basket on disk is a key header, a ``TBasket`` header and the (compressed) payload: the
entries' bytes, then — for variable-size entries — a table of where each entry starts.  This
module returns every requested entry's bytes back to back with offsets from 0, the same
"raw entries" afkit's decoders consume, after checking each basket against the branch's
metadata (byte and entry counts, offset order).  A basket that does not match raises
:class:`CorruptBasket`; nothing is guessed.
"""

from __future__ import annotations

import lzma
import struct
import zlib
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray

from afkit._jit import interpreted, njit
from afkit.io.rootio.branch import BranchMeta
from afkit.io.rootio.bytecopy import move_bytes
from afkit.io.rootio.stream import NativeUnsupported

_KEY = struct.Struct(">ihiIhh")  # fNbytes fVersion fObjlen fDatime fKeylen fCycle
_BASKET = struct.Struct(">Hiiii")  # fVersion fBufferSize fNevBufSize fNevBuf fLast
_BLOCK_HEADER = 9


class CorruptBasket(Exception):
    """A basket's bytes disagree with its branch's metadata or fail to decompress."""


def decompress(payload: NDArray[np.uint8], size: int) -> NDArray[np.uint8]:
    """Undo ROOT's block compression (ZSTD, ZLIB, LZ4, LZMA) into ``size`` bytes."""
    if len(payload) == size:
        return payload  # stored uncompressed
    out = np.empty(size, np.uint8)
    decompress_into(payload, out)
    return out


def decompress_into(payload: NDArray[np.uint8], out: NDArray[np.uint8]) -> None:
    """:func:`decompress` into ``out``, which must be exactly the uncompressed size."""
    size = len(out)
    if len(payload) == size:
        out[:] = payload  # stored uncompressed
        return
    pos = 0
    filled = 0
    view = memoryview(payload.data)
    while pos < len(payload):
        if pos + _BLOCK_HEADER > len(payload):
            raise CorruptBasket(f"compression block header cut at byte {pos}")
        algorithm = bytes(view[pos : pos + 2])
        compressed = int.from_bytes(view[pos + 3 : pos + 6], "little")
        expected = int.from_bytes(view[pos + 6 : pos + 9], "little")
        pos += _BLOCK_HEADER
        block = view[pos : pos + compressed]
        if len(block) != compressed:
            raise CorruptBasket(f"compression block at byte {pos} is cut short")
        if filled + expected > size:
            raise CorruptBasket(f"decompresses to more than the {size} bytes the key says")
        pos += compressed
        _block(algorithm, block, out[filled : filled + expected])
        filled += expected
    if filled != size:
        raise CorruptBasket(f"decompressed to {filled} bytes, the key says {size}")


def _block(algorithm: bytes, block: memoryview, out: NDArray[np.uint8]) -> None:
    """One compression block into ``out`` (exactly its uncompressed size)."""
    import cramjam

    expected = len(out)
    try:
        if algorithm == b"ZS":
            written = cramjam.zstd.decompress_into(block, cast(Any, out))
        else:
            if algorithm == b"ZL":
                raw: Any = zlib.decompress(block)
            elif algorithm == b"XZ":
                raw = lzma.decompress(block)
            elif algorithm == b"L4":
                raw = _lz4(block, expected)
            else:
                raise NativeUnsupported(f"compression algorithm {algorithm!r}")
            written = len(raw)
            if written == expected:
                out[:] = np.frombuffer(raw, np.uint8)
    except (NativeUnsupported, CorruptBasket):
        raise
    except Exception as err:
        raise CorruptBasket(f"{algorithm.decode(errors='replace')} block: {err}") from err
    if written != expected:
        raise CorruptBasket(f"a block decompressed to {written} bytes, its header says {expected}")


def _lz4(block: memoryview, expected: int) -> Any:
    import cramjam

    try:
        import xxhash
    except ImportError as err:  # uproot reports this with its own hint
        raise NativeUnsupported("LZ4 checksums need xxhash") from err
    checksum = int.from_bytes(block[:8], "big")
    data = block[8:]
    if xxhash.xxh64(data).intdigest() != checksum:
        raise CorruptBasket("LZ4 block checksum mismatch")
    return cramjam.lz4.decompress_block(data, output_len=expected)


def read_entries(
    source: Any, branch: BranchMeta, start: int, stop: int
) -> tuple[NDArray[np.uint8], NDArray[np.int64]]:
    """Entries ``[start, stop)`` of ``branch``: (bytes back to back, offsets from 0).

    ``source`` is a :mod:`afkit.io.rootio.source` byte source (``ranges(list) -> arrays``).
    The baskets are decompressed one after another into one buffer; one compiled pass then
    checks their entry-offset tables and moves the wanted entries' bytes together in place.
    """
    if branch.embedded_baskets:
        raise NativeUnsupported(f"branch {branch.name!r} keeps baskets inside the tree")
    n = branch.write_basket
    edges = branch.basket_entry[: n + 1]
    if n == 0 or len(edges) < n + 1 or edges[n] < branch.entries:
        if stop <= start:
            return np.zeros(0, np.uint8), np.zeros(1, np.int64)
        raise NativeUnsupported(f"branch {branch.name!r}: baskets do not cover its entries")
    if stop <= start:
        return np.zeros(0, np.uint8), np.zeros(1, np.int64)
    first = max(int(np.searchsorted(edges, start, side="right")) - 1, 0)
    last = min(int(np.searchsorted(edges, stop, side="left")), n)  # baskets [first, last)
    bounds = edges[first : last + 1].tolist()  # Python ints: cheaper than NumPy scalars
    seeks = branch.basket_seek[first:last].tolist()
    sizes = branch.basket_bytes[first:last].tolist()
    wanted = [k for k in range(last - first) if bounds[k + 1] > start]
    chunks = source.ranges([(seeks[k], seeks[k] + sizes[k]) for k in wanted])
    rows = []
    payloads = []
    total = 0
    for k, raw in zip(wanted, chunks, strict=True):
        first_entry, end_entry = bounds[k], bounds[k + 1]
        entries = end_entry - first_entry
        keylen, objlen, nbytes, entry_size, border = _basket_header(raw, branch, entries, first + k)
        rows.append(
            (
                total,
                objlen,
                border,
                entries,
                entry_size,
                keylen,
                max(start - first_entry, 0),
                min(stop, end_entry) - first_entry,
            )
        )
        payload = raw[keylen:nbytes]
        _check_size(payload, objlen, branch, first + k)
        payloads.append(payload)
        total += objlen
    buffer = np.empty(total, np.uint8)
    for k, (row, payload) in enumerate(zip(rows, payloads, strict=True)):
        at, objlen = row[_AT], row[_OBJLEN]
        try:
            decompress_into(payload, buffer[at : at + objlen])
        except CorruptBasket as err:
            raise CorruptBasket(f"{_what(branch, first + wanted[k])}: {err}") from None
    layout = np.array(rows, np.int64).reshape(len(rows), _COLUMNS)
    wanted = [first + k for k in wanted]
    offsets = np.empty(int((layout[:, _HI] - layout[:, _LO]).sum()) + 1, np.int64)
    cut = cut_entries_numpy if interpreted(buffer.nbytes) else _cut_entries
    status, bad, used = cut(buffer, layout, offsets)
    if status:
        _refuse(status, branch, wanted[bad], layout[bad], buffer)
    return buffer[:used], offsets


def _check_size(payload: NDArray[np.uint8], objlen: int, branch: BranchMeta, index: int) -> None:
    """Check the key's uncompressed size against the compression blocks' own headers before
    anything is allocated for it: a damaged key must not make the reader ask for gigabytes."""
    if len(payload) == objlen:
        return  # stored uncompressed
    pos = total = 0
    while pos + _BLOCK_HEADER <= len(payload):
        total += int.from_bytes(payload[pos + 6 : pos + 9].tobytes(), "little")
        pos += _BLOCK_HEADER + int.from_bytes(payload[pos + 3 : pos + 6].tobytes(), "little")
    if total != objlen:
        raise CorruptBasket(
            f"{_what(branch, index)}: its compression blocks hold {total} bytes, "
            f"the key says {objlen}"
        )


def _what(branch: BranchMeta, index: int) -> str:
    return f"basket {index} of branch {branch.name!r}"


#: Columns of the per-basket layout handed to :func:`_cut_entries`.
_AT, _OBJLEN, _BORDER, _ENTRIES, _ENTRY_SIZE, _KEYLEN, _LO, _HI = range(8)
_COLUMNS = 8


def _basket_header(
    raw: NDArray[np.uint8], branch: BranchMeta, entries: int, index: int
) -> tuple[int, int, int, int, int]:
    """Check one basket's key and ``TBasket`` headers against the branch's metadata:
    ``(key length, uncompressed size, bytes on disk, entry size, data end)``."""
    if len(raw) < _KEY.size:
        raise CorruptBasket(f"{_what(branch, index)}: {len(raw)} bytes cannot hold a key header")
    nbytes, _, objlen, _, keylen, _ = _KEY.unpack_from(raw.data, 0)
    if nbytes != len(raw) or not _KEY.size + _BASKET.size < keylen <= nbytes:
        raise CorruptBasket(
            f"{_what(branch, index)}: key header says {nbytes} bytes, key length {keylen}"
        )
    _, _, entry_size, nev, last = _BASKET.unpack_from(raw.data, keylen - _BASKET.size - 1)
    if nev != entries:
        raise CorruptBasket(
            f"{_what(branch, index)}: holds {nev} entries, the branch says {entries}"
        )
    if objlen < 0:
        raise CorruptBasket(f"{_what(branch, index)}: key says {objlen} uncompressed bytes")
    border = last - keylen
    if not 0 <= border <= objlen:
        raise CorruptBasket(f"{_what(branch, index)}: data end {border} outside its {objlen} bytes")
    return keylen, objlen, nbytes, entry_size, border


def _refuse(
    status: int, branch: BranchMeta, index: int, row: NDArray[np.int64], buffer: NDArray[Any]
) -> None:
    """The error for a :func:`_cut_entries` status."""
    what = _what(branch, index)
    if status == 1:
        raise CorruptBasket(f"{what}: entry-offset table too short")
    if status == 2:
        at = int(row[_AT] + row[_BORDER]) + 4
        first = int(buffer[at : at + 4].view(">i4")[0]) - int(row[_KEYLEN])
        raise NativeUnsupported(f"{what}: first entry at byte {first}")
    if status == 3:
        raise CorruptBasket(f"{what}: entry offsets out of order")
    entries, size, border = int(row[_ENTRIES]), int(row[_ENTRY_SIZE]), int(row[_BORDER])
    raise NativeUnsupported(f"{what}: {entries} entries of {size} != {border} bytes")


@njit(cache=True, nogil=True, inline="always")
def _entry_start(buffer: Any, table: int, keylen: int, border: int, entries: int, j: int) -> int:
    """Byte where entry ``j`` of a basket starts (its data end for ``j == entries``)."""
    if j == entries:
        return border
    at = table + 4 * (j + 1)
    word = (
        (np.int64(buffer[at]) << 24)
        | (np.int64(buffer[at + 1]) << 16)
        | (np.int64(buffer[at + 2]) << 8)
        | np.int64(buffer[at + 3])
    )
    if word >= 1 << 31:
        word -= 1 << 32
    return int(word) - keylen


@njit(cache=True, nogil=True)
def _cut_entries(buffer: Any, layout: Any, offsets: Any) -> tuple[int, int, int]:
    """Check each decompressed basket and move entries ``[lo, hi)`` of each to the front
    of ``buffer``, back to back, writing their ``offsets``.  Returns
    ``(status, basket row, bytes used)``: status 0, or 1 (entry-offset table too short),
    2 (first entry not at the data start), 3 (entry offsets out of order), 4 (fixed-size
    entries not filling the data)."""
    used = 0
    count = 0
    offsets[0] = 0
    for row in range(layout.shape[0]):
        at, objlen, border = layout[row, _AT], layout[row, _OBJLEN], layout[row, _BORDER]
        entries, entry_size, keylen = (
            layout[row, _ENTRIES],
            layout[row, _ENTRY_SIZE],
            layout[row, _KEYLEN],
        )
        lo, hi = layout[row, _LO], layout[row, _HI]
        table = at + border
        if border != objlen:  # an entry-offset table: check it and take the offsets
            if border + 4 * (entries + 1) > objlen:
                return 1, row, used
            begin = _entry_start(buffer, table, keylen, border, entries, lo)
            end = begin
            previous = 0
            for j in range(entries + 1):
                start = _entry_start(buffer, table, keylen, border, entries, j)
                if j == 0 and entries and start != 0:
                    return 2, row, used
                if start < previous:
                    return 3, row, used
                previous = start
                if lo < j <= hi:
                    count += 1
                    offsets[count] = used + start - begin
                    end = start
        else:
            if entries * entry_size != border:
                return 4, row, used
            begin, end = lo * entry_size, hi * entry_size
            for j in range(lo + 1, hi + 1):
                count += 1
                offsets[count] = used + (j - lo) * entry_size
        move_bytes(buffer, used, buffer, at + begin, end - begin)
        used += end - begin
    return 0, -1, used


def cut_entries_numpy(
    buffer: NDArray[np.uint8], layout: NDArray[np.int64], offsets: NDArray[np.int64]
) -> tuple[int, int, int]:
    """:func:`_cut_entries` in NumPy, a basket at a time: the same checks (the same status
    for the same first fault), entries and offsets, for a first look at a file (see
    :func:`afkit._jit.interpreted`)."""
    used = 0
    count = 0
    offsets[0] = 0
    for row, (at, objlen, border, entries, entry_size, keylen, lo, hi) in enumerate(
        layout.tolist()
    ):
        if border != objlen:  # an entry-offset table
            if border + 4 * (entries + 1) > objlen:
                return 1, row, used
            table = at + border
            starts = np.empty(entries + 1, np.int64)
            starts[:entries] = buffer[table + 4 : table + 4 * (entries + 1)].view(">i4")
            starts[:entries] -= keylen
            starts[entries] = border
            if entries and starts[0] != 0:
                return 2, row, used
            if entries and bool((starts[1:] < starts[:-1]).any()):
                return 3, row, used
            begin, end = int(starts[lo]), int(starts[hi])
            offsets[count + 1 : count + 1 + hi - lo] = starts[lo + 1 : hi + 1] + (used - begin)
        else:
            if entries * entry_size != border:
                return 4, row, used
            begin, end = lo * entry_size, hi * entry_size
            steps = np.arange(1, hi - lo + 1, dtype=np.int64)
            offsets[count + 1 : count + 1 + hi - lo] = used + steps * entry_size
        count += hi - lo
        buffer[used : used + end - begin] = buffer[at + begin : at + end]
        used += end - begin
    return 0, -1, used
