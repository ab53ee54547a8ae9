"""afkit's basket reader on hand-made baskets: entries cut exactly, damage reported.

(The oracle tests in test_rootio.py compare every branch of the real files with uproot;
these cover the layouts and damage those files do not contain.)
"""

from __future__ import annotations

import struct

import numpy as np
import pytest

from afkit.io.rootio.baskets import CorruptBasket, read_entries
from afkit.io.rootio.branch import BranchMeta
from afkit.io.rootio.stream import NativeUnsupported

_PAD = 10  # key header, then padding standing in for the class / object / title strings


class _Blob:
    """A byte source over one in-memory ``bytes`` (what ``ranges`` reads from a file)."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def ranges(self, spans: list[tuple[int, int]]) -> list[np.ndarray]:
        return [np.frombuffer(self.data[a:b], np.uint8) for a, b in spans]


def _basket(entries: list[bytes], *, table: list[int] | None = None, fixed: int = 0) -> bytes:
    """One uncompressed basket: key header, TBasket header, entry data and (for
    variable-size entries) the entry-offset table, its positions counted from the key."""
    keylen = 18 + _PAD + 18 + 1
    data = b"".join(entries)
    if fixed:
        tail = b""
    else:
        starts = (
            table if table is not None else list(np.cumsum([0] + [len(e) for e in entries[:-1]]))
        )
        tail = struct.pack(f">{len(entries) + 1}i", len(entries) + 1, *[keylen + s for s in starts])
    payload = data + tail
    last = keylen + len(data)
    nbytes = keylen + len(payload)
    key = struct.pack(">ihiIhh", nbytes, 4, len(payload), 0, keylen, 1) + b"\0" * _PAD
    head = struct.pack(">Hiiii", 3, 32000, fixed, len(entries), last) + b"\0"
    return key + head + payload


def _branch(baskets: list[bytes], counts: list[int]) -> tuple[_Blob, BranchMeta]:
    seeks = np.cumsum([0] + [len(b) for b in baskets[:-1]])
    edges = np.concatenate([[0], np.cumsum(counts)])
    meta = BranchMeta(
        name="Things.x",
        classname="TBranchElement",
        title="x",
        class_name=None,
        type=None,
        streamer_type=None,
        entry_offset_len=0,
        entries=int(edges[-1]),
        leaves=(),
        branches=(),
        write_basket=len(baskets),
        basket_bytes=np.array([len(b) for b in baskets], ">i4"),
        basket_entry=edges.astype(">i8"),
        basket_seek=seeks.astype(">i8"),
        embedded_baskets=0,
    )
    return _Blob(b"".join(baskets)), meta


def _entries(n: int, seed: int) -> list[bytes]:
    rng = np.random.default_rng(seed)
    return [bytes(rng.integers(0, 256, int(rng.integers(0, 9)), dtype=np.uint8)) for _ in range(n)]


@pytest.mark.parametrize(("start", "stop"), [(0, 17), (3, 9), (5, 6), (6, 15), (16, 17), (4, 4)])
def test_variable_size_entries_cut_exactly(start: int, stop: int) -> None:
    parts = [_entries(6, 1), _entries(7, 2), _entries(4, 3)]
    source, meta = _branch([_basket(p) for p in parts], [len(p) for p in parts])
    data, offsets = read_entries(source, meta, start, stop)
    wanted = [e for p in parts for e in p][start:stop]
    assert bytes(data) == b"".join(wanted)
    assert offsets.tolist() == [0, *np.cumsum([len(e) for e in wanted]).tolist()]


@pytest.mark.parametrize(("start", "stop"), [(0, 10), (2, 7), (4, 5)])
def test_fixed_size_entries_cut_exactly(start: int, stop: int) -> None:
    parts = [[bytes([i] * 4) for i in range(4)], [bytes([i] * 4) for i in range(4, 10)]]
    source, meta = _branch([_basket(p, fixed=4) for p in parts], [4, 6])
    data, offsets = read_entries(source, meta, start, stop)
    assert bytes(data) == b"".join(bytes([i] * 4) for i in range(start, stop))
    assert offsets.tolist() == list(range(0, 4 * (stop - start) + 1, 4))


def test_damaged_offset_tables_are_reported() -> None:
    entries = [b"ab", b"cde", b"f", b"ghij"]
    good = _basket(entries)
    cases = [
        (_basket(entries, table=[0, 5, 2, 6]), CorruptBasket, "entry offsets out of order"),
        (_basket(entries, table=[1, 2, 5, 6]), NativeUnsupported, "first entry at byte 1"),
        (_basket(entries, table=[0, 2, 5, 99]), CorruptBasket, "entry offsets out of order"),
    ]
    for bad, error, message in cases:
        source, meta = _branch([good, bad], [4, 4])
        with pytest.raises(error, match=f"basket 1 of branch 'Things.x': {message}"):
            read_entries(source, meta, 0, 8)
        assert read_entries(source, meta, 0, 4)[0].tobytes() == b"abcdefghij"


def test_short_table_and_wrong_fixed_size_are_reported() -> None:
    entries = [b"ab", b"cd", b"ef"]
    raw = bytearray(_basket(entries))
    # the TBasket's fLast points two entries further: the table seems to start inside itself
    last_at = 18 + _PAD + 14
    struct.pack_into(">i", raw, last_at, struct.unpack_from(">i", raw, last_at)[0] + 8)
    source, meta = _branch([bytes(raw)], [3])
    with pytest.raises(CorruptBasket, match="entry-offset table too short"):
        read_entries(source, meta, 0, 3)
    source, meta = _branch([_basket(entries, fixed=3)], [3])
    with pytest.raises(NativeUnsupported, match="3 entries of 3 != 6 bytes"):
        read_entries(source, meta, 0, 3)


def test_a_damaged_uncompressed_size_is_reported_before_allocating() -> None:
    """The key's fObjlen claiming ~2 GB more than the compression blocks hold is refused
    from the block headers, without allocating what the key claims."""
    import cramjam

    data = bytes(range(200)) * 5
    block = bytes(cramjam.zstd.compress(data))
    header = b"ZS\x01" + len(block).to_bytes(3, "little") + len(data).to_bytes(3, "little")
    raw = bytearray(_basket([data], fixed=len(data)))
    keylen = 18 + _PAD + 18 + 1
    compressed = header + block
    raw[keylen:] = compressed
    struct.pack_into(">i", raw, 0, len(raw))  # fNbytes
    struct.pack_into(">i", raw, 6, 2_000_000_000)  # fObjlen, damaged
    source, meta = _branch([bytes(raw)], [1])
    with pytest.raises(CorruptBasket, match="blocks hold 1000 bytes, the key says 2000000000"):
        read_entries(source, meta, 0, 1)
    struct.pack_into(">i", raw, 6, len(data))  # repaired: reads back exactly
    source, meta = _branch([bytes(raw)], [1])
    assert read_entries(source, meta, 0, 1)[0].tobytes() == data
