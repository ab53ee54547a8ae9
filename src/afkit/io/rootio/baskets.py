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
from typing import Any

import numpy as np
from numpy.typing import NDArray

from afkit.io.rootio.ttree import BranchMeta, NativeUnsupported

_KEY = struct.Struct(">ihiIhh")  # fNbytes fVersion fObjlen fDatime fKeylen fCycle
_BASKET = struct.Struct(">Hiiii")  # fVersion fBufferSize fNevBufSize fNevBuf fLast
_BLOCK_HEADER = 9


class CorruptBasket(Exception):
    """A basket's bytes disagree with its branch's metadata or fail to decompress."""


def decompress(payload: NDArray[np.uint8], size: int) -> NDArray[np.uint8]:
    """Undo ROOT's block compression (ZSTD, ZLIB, LZ4, LZMA) into ``size`` bytes."""
    if len(payload) == size:
        return payload  # stored uncompressed
    blocks = []
    pos = 0
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
        pos += compressed
        blocks.append(_block(algorithm, block, expected))
    out = blocks[0] if len(blocks) == 1 else np.concatenate(blocks)
    if len(out) != size:
        raise CorruptBasket(f"decompressed to {len(out)} bytes, the key says {size}")
    return out


def _block(algorithm: bytes, block: memoryview, expected: int) -> NDArray[np.uint8]:
    import cramjam

    try:
        if algorithm == b"ZS":
            raw: Any = cramjam.zstd.decompress(block, output_len=expected)
        elif algorithm == b"ZL":
            raw = zlib.decompress(block)
        elif algorithm == b"XZ":
            raw = lzma.decompress(block)
        elif algorithm == b"L4":
            raw = _lz4(block, expected)
        else:
            raise NativeUnsupported(f"compression algorithm {algorithm!r}")
    except (NativeUnsupported, CorruptBasket):
        raise
    except Exception as err:
        raise CorruptBasket(f"{algorithm.decode(errors='replace')} block: {err}") from err
    out = np.frombuffer(raw, np.uint8)
    if len(out) != expected:
        raise CorruptBasket(f"a block decompressed to {len(out)} bytes, its header says {expected}")
    return out


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
    """
    if branch.embedded_baskets:
        raise NativeUnsupported(f"branch {branch.name!r} keeps baskets inside the tree")
    n = branch.write_basket
    edges = branch.basket_entry[: n + 1]
    if n == 0 or len(edges) < n + 1 or edges[n] < branch.entries:
        if stop <= start:
            return np.zeros(0, np.uint8), np.zeros(1, np.int64)
        raise NativeUnsupported(f"branch {branch.name!r}: baskets do not cover its entries")
    first = max(int(np.searchsorted(edges, start, side="right")) - 1, 0)
    last = min(int(np.searchsorted(edges, stop, side="left")), n)  # baskets [first, last)
    wanted = [i for i in range(first, last) if edges[i + 1] > start]
    ranges = [
        (int(branch.basket_seek[i]), int(branch.basket_seek[i]) + int(branch.basket_bytes[i]))
        for i in wanted
    ]
    chunks = source.ranges(ranges)
    pieces: list[NDArray[np.uint8]] = []
    offsets: list[NDArray[np.int64]] = [np.zeros(1, np.int64)]
    total = 0
    for i, raw in zip(wanted, chunks, strict=True):
        first_entry, end_entry = int(edges[i]), int(edges[i + 1])
        data, local = _basket(raw, branch, end_entry - first_entry, i)
        lo = max(start - first_entry, 0)
        hi = min(stop, end_entry) - first_entry
        if lo == 0 and hi == end_entry - first_entry and local[0] == 0:  # the whole basket
            pieces.append(data)
            local += total
            offsets.append(local[1:])
            total = int(local[-1])
            continue
        pieces.append(data[local[lo] : local[hi]])
        offsets.append(local[lo + 1 : hi + 1] - local[lo] + total)
        total += int(local[hi] - local[lo])
    data = np.concatenate(pieces) if pieces else np.zeros(0, np.uint8)
    return data, np.concatenate(offsets)


def _basket(
    raw: NDArray[np.uint8], branch: BranchMeta, entries: int, index: int
) -> tuple[NDArray[np.uint8], NDArray[np.int64]]:
    """One basket's entry bytes and per-entry offsets (``entries + 1`` of them)."""
    what = f"basket {index} of branch {branch.name!r}"
    if len(raw) < _KEY.size:
        raise CorruptBasket(f"{what}: {len(raw)} bytes cannot hold a key header")
    nbytes, _, objlen, _, keylen, _ = _KEY.unpack_from(raw.data, 0)
    if nbytes != len(raw) or not _KEY.size + _BASKET.size < keylen <= nbytes:
        raise CorruptBasket(f"{what}: key header says {nbytes} bytes, key length {keylen}")
    _, _, entry_size, nev, last = _BASKET.unpack_from(raw.data, keylen - _BASKET.size - 1)
    if nev != entries:
        raise CorruptBasket(f"{what}: holds {nev} entries, the branch says {entries}")
    payload = decompress(raw[keylen:nbytes], objlen)
    border = last - keylen
    if not 0 <= border <= objlen:
        raise CorruptBasket(f"{what}: data end {border} outside its {objlen} bytes")
    if border != objlen:  # an entry-offset table follows the data
        table = payload[border:]
        if len(table) < 4 * (entries + 1):
            raise CorruptBasket(f"{what}: entry-offset table too short")
        local = np.empty(entries + 1, np.int64)
        np.subtract(table[4 : 4 * (entries + 1)].view(">i4"), keylen, out=local[:-1])
        local[-1] = border
        if entries and local[0] != 0:  # data not right after the key: a layout for uproot
            raise NativeUnsupported(f"{what}: first entry at byte {local[0]}")
        if (local[1:] < local[:-1]).any():
            raise CorruptBasket(f"{what}: entry offsets out of order")
    else:
        if entries * entry_size != border:  # entry size not fNevBufSize: let uproot decide
            raise NativeUnsupported(f"{what}: {entries} entries of {entry_size} != {border} bytes")
        local = np.arange(entries + 1, dtype=np.int64) * entry_size
    return payload[:border], local
