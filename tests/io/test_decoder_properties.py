"""Property tests: afkit's byte decoders invert a plain reference encoder of ROOT's layouts."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from afkit.exceptions import DecodeError
from afkit.io.physlite import streamers

u32 = st.integers(min_value=0, max_value=0xFFFFFFFF)
floats = st.floats(width=32, allow_nan=True, allow_infinity=True)


def _bc(payload: bytes) -> bytes:
    return struct.pack(">I", 0x40000000 | len(payload)) + payload


def _pack(entries: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    data = np.frombuffer(b"".join(entries), np.uint8) if entries else np.zeros(0, np.uint8)
    offsets = np.zeros(len(entries) + 1, np.int64)
    np.cumsum([len(e) for e in entries], out=offsets[1:])
    return data, offsets


def _element_link(key: int, index: int) -> bytes:
    base = _bc(struct.pack(">HIII", 0, 0xFEB3DF9E, key, index))
    return _bc(struct.pack(">HI", 0, 0xD31237D7) + base)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(floats, max_size=30), max_size=40))
def test_vector_of_float(events: list[list[float]]) -> None:
    entries = [_bc(struct.pack(f">HI{len(e)}f", 9, len(e), *e)) for e in events]
    offsets, content = streamers.decode_vector(*_pack(entries), np.dtype("f4"))
    assert list(np.diff(offsets)) == [len(e) for e in events]
    expected = np.array([x for e in events for x in e], np.float32)
    assert np.array_equal(content, expected, equal_nan=True)


@pytest.mark.parametrize("code", ["?", "B", "h", "H", "i", "q", "Q", "d"])
@settings(max_examples=25, deadline=None)
@given(st.lists(st.lists(st.integers(0, 255), max_size=20), max_size=30))
def test_vector_of_every_width(code: str, events: list[list[int]]) -> None:
    """Values of 1, 2, 4 and 8 bytes come out in native order, each entry's own."""
    dtype = np.dtype(code)
    rng = np.random.default_rng(len(events))
    values = [rng.integers(0, 256, size=(len(e), dtype.itemsize), dtype=np.uint8) for e in events]
    if code == "?":
        values = [v % 2 for v in values]
    big = [v.reshape(-1).view(dtype.newbyteorder(">")) for v in values]
    entries = [_bc(struct.pack(">HI", 9, len(b)) + b.tobytes()) for b in big]
    offsets, content = streamers.decode_vector(*_pack(entries), dtype)
    assert content.dtype == dtype
    assert list(np.diff(offsets)) == [len(b) for b in big]
    expected = np.concatenate([b.astype(dtype) for b in big]) if big else np.zeros(0, dtype)
    assert np.array_equal(content.view(np.uint8), expected.view(np.uint8))


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.lists(floats, max_size=12), min_size=1, max_size=20),
    st.data(),
)
def test_vector_damage_is_reported(events: list[list[float]], data: st.DataObject) -> None:
    """A damaged header or a cut entry table raises DecodeError naming the entry — never an
    IndexError, a crash or values read past an entry (the decoder copies with memcpy)."""
    entries = [_bc(struct.pack(f">HI{len(e)}f", 9, len(e), *e)) for e in events]
    buffer, offsets = _pack(entries)
    damaged = buffer.copy()
    victim = data.draw(st.integers(0, len(events) - 1))
    where = int(offsets[victim]) + data.draw(st.sampled_from([0, 3, 6, 9]))  # bc, n's bytes
    damaged[where] ^= data.draw(st.integers(1, 255))
    cut = data.draw(st.booleans())
    if cut:  # the byte table claims more than the buffer holds
        damaged = damaged[: int(offsets[-1]) - 1]
    with pytest.raises(DecodeError, match=f"entry {victim}:" if not cut else "entry "):
        streamers.decode_vector(damaged, offsets, np.dtype("f4"))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(st.lists(st.integers(-(2**31), 2**31 - 1), max_size=6), max_size=8), max_size=30
    )
)
def test_vector_of_vector_of_int(events: list[list[list[int]]]) -> None:
    entries = []
    for e in events:
        body = struct.pack(">HI", 9, len(e))
        for inner in e:
            body += struct.pack(f">I{len(inner)}i", len(inner), *inner)
        entries.append(_bc(body))
    outer, inner, content = streamers.decode_vector_vector(*_pack(entries), np.dtype("i4"))
    assert list(np.diff(outer)) == [len(e) for e in events]
    assert list(np.diff(inner)) == [len(i) for e in events for i in e]
    assert list(content) == [x for e in events for i in e for x in i]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.lists(st.tuples(u32, u32), max_size=5), max_size=6), max_size=30))
def test_encoding2_vector_vector_links(events: list[list[list[tuple[int, int]]]]) -> None:
    entries = []
    for e in events:
        body = struct.pack(">HI", 9, len(e))
        for inner in e:
            body += struct.pack(">I", len(inner)) + b"".join(_element_link(k, i) for k, i in inner)
        entries.append(_bc(body))
    links = streamers.decode_vector_vector_links(*_pack(entries))
    flat = [pair for e in events for inner in e for pair in inner]
    assert list(zip(links.keys.tolist(), links.indices.tolist(), strict=True)) == flat
    assert links.offsets is not None
    assert links.inner_offsets is not None
    assert list(np.diff(links.offsets)) == [len(e) for e in events]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.tuples(u32, u32), max_size=12), max_size=30), st.booleans())
def test_encoding4_member_wise_and_object_wise(
    events: list[list[tuple[int, int]]], memberwise: bool
) -> None:
    entries = []
    for e in events:
        if memberwise:
            keys = [k for k, _ in e]
            idx = [i for _, i in e]
            body = struct.pack(
                f">HHII{len(e)}I{len(e)}I", 0x4009, 0, 0xA706700B, len(e), *keys, *idx
            )
        else:
            body = struct.pack(">HI", 9, len(e)) + b"".join(_element_link(k, i) for k, i in e)
        entries.append(_bc(body))
    links = streamers.decode_vector_links(*_pack(entries))
    assert list(zip(links.keys.tolist(), links.indices.tolist(), strict=True)) == [
        p for e in events for p in e
    ]
    assert links.offsets is not None
    assert list(np.diff(links.offsets)) == [len(e) for e in events]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(u32, u32), max_size=40))
def test_encoding3_single_links(events: list[tuple[int, int]]) -> None:
    entries = [_bc(struct.pack(">HIII", 0, 0xFEB3DF9E, k, i)) for k, i in events]
    links = streamers.decode_single_links(*_pack(entries))
    assert list(zip(links.keys.tolist(), links.indices.tolist(), strict=True)) == events


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.integers(0, 4), min_size=1, max_size=12),  # objects per event, target A
    st.lists(st.integers(0, 4), min_size=1, max_size=12),  # objects per event, target B
    st.data(),
)
def test_resolve_links_equals_a_plain_loop(count_a: list[int], count_b: list[int], data) -> None:  # type: ignore[no-untyped-def]
    from afkit.io.physlite.element_links import INVALID_INDEX, resolve_links

    n = min(len(count_a), len(count_b))
    count_a, count_b = count_a[:n], count_b[:n]
    key_a, key_b, key_absent = 11, 22, 33
    links = data.draw(
        st.lists(
            st.tuples(
                st.integers(0, n - 1),
                st.sampled_from([0, key_a, key_b, key_absent]),
                st.one_of(st.integers(0, 6), st.just(INVALID_INDEX)),
            ),
            max_size=40,
        )
    )
    links.sort()
    offsets = [np.concatenate([[0], np.cumsum(c)]).astype(np.int64) for c in (count_a, count_b)]
    got = resolve_links(
        np.array([e for e, _, _ in links], np.int64),
        np.array([k for _, k, _ in links], np.uint32),
        np.array([i for _, _, i in links], np.uint32),
        {key_a: 0, key_b: 1},
        offsets,
    )
    expected = []
    for event, key, index in links:
        if key == key_a and index < count_a[event]:
            expected.append(int(offsets[0][event]) + index)
        elif key == key_b and index < count_b[event]:
            expected.append(sum(count_a) + int(offsets[1][event]) + index)
        else:
            expected.append(-1)
    assert got.tolist() == expected


def test_resolve_links_rejects_events_outside_the_targets() -> None:
    """A link whose event the target offsets do not cover is an error, not a stray read."""
    from afkit.io.physlite.element_links import resolve_links

    offsets = [np.array([0, 2, 3], np.int64)]  # two events
    args = (np.array([5, 5], np.uint32), np.array([0, 0], np.uint32), {5: 0}, offsets)
    assert resolve_links(np.array([0, 1]), *args).tolist() == [0, 2]
    with pytest.raises(ValueError, match="event 2"):
        resolve_links(np.array([0, 2]), *args)
