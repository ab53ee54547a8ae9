"""A process that has compiled nothing yet opens and reads files without Numba.

Its reader steps take their NumPy and pure-Python forms (see ``afkit._jit.interpreted``):
each is checked here against its compiled kernel on the same input, damaged input included
(the same status for the same first fault), and a fresh process is checked to give the
values a warm one gives without setting Numba up.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import afkit
from afkit import _jit
from afkit.io.open import open_file
from afkit.io.physlite import streamers
from afkit.io.rootio import baskets
from afkit.io.tree import open_tree

floats = st.floats(width=32, allow_nan=True, allow_infinity=True)


def _vector_entry(values: list[float], version: int) -> bytes:
    payload = struct.pack(f">HI{len(values)}f", version, len(values), *values)
    return struct.pack(">I", 0x40000000 | len(payload)) + payload


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(floats, max_size=8), max_size=15), st.data())
def test_vector_decode_numpy_equals_the_compiled_kernel(
    events: list[list[float]], data: st.DataObject
) -> None:
    damage = data.draw(st.sampled_from(["none", "header", "boundary", "version", "memberwise"]))
    victim = data.draw(st.integers(0, max(len(events) - 1, 0)))
    versions = [9] * len(events)
    if damage in ("version", "memberwise") and events:
        versions[victim] = 8 if damage == "version" else 0x4009
    entries = [_vector_entry(e, v) for e, v in zip(events, versions, strict=True)]
    raw = np.frombuffer(b"".join(entries), np.uint8).copy()
    offsets = np.zeros(len(entries) + 1, np.int64)
    np.cumsum([len(e) for e in entries], out=offsets[1:])
    if damage == "header" and events:  # a byte count, version or size byte
        byte, bits = data.draw(
            st.sampled_from([(0, 0x40), (3, 0x01), (4, 0x40), (5, 0x02), (6, 0x80), (9, 0x01)])
        )
        raw[int(offsets[victim]) + byte] ^= bits
    if damage == "boundary" and events:
        offsets[victim + 1] = max(offsets[victim + 1] + data.draw(st.integers(-12, 12)), 0)
    results = []
    for decode in (streamers._vector_decode, streamers.vector_decode_numpy):
        out_offsets = np.zeros(len(offsets), np.int64)
        content = np.zeros(max(int(offsets[-1] - offsets[0]), 0), np.uint8)
        status, entry, used = decode(raw, offsets, 4, out_offsets, content)
        kept = (out_offsets.tolist(), content[:used].tobytes(), used) if status == 0 else None
        results.append((status, entry, kept))
    assert results[0] == results[1]


def _baskets(
    baskets_entries: list[list[bytes]], fixed: list[bool], keylen: int, short: int
) -> tuple[np.ndarray, list[list[int]]]:
    """Decompressed baskets back to back and their layout rows (lo, hi: every entry); the
    last entry-offset table ``short`` bytes short."""
    parts, rows, at = [], [], 0
    for entries, is_fixed in zip(baskets_entries, fixed, strict=True):
        body = b"".join(entries)
        border = len(body)
        if is_fixed:
            size = len(entries[0]) if entries else 0
            blob = body
        else:
            size = 0
            starts = np.cumsum([0] + [len(e) for e in entries])[:-1] + keylen
            blob = body + struct.pack(f">i{len(entries)}i", len(entries) + 1, *starts.tolist())
            blob += b"\0" * 4  # ROOT's table has one word more than its entries
            if short and len(rows) == len(fixed) - 1:
                blob = blob[: len(blob) - min(short, len(blob) - border)]
        rows.append([at, len(blob), border, len(entries), size, keylen, 0, len(entries)])
        parts.append(blob)
        at += len(blob)
    return np.frombuffer(b"".join(parts), np.uint8).copy(), rows


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.lists(st.binary(min_size=0, max_size=6), min_size=0, max_size=6), st.booleans()
        ),
        min_size=1,
        max_size=5,
    ),
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(1, 255)), max_size=3),
    st.data(),
)
def test_cut_entries_numpy_equals_the_compiled_kernel(
    spec: list[tuple[list[bytes], bool]], flips: list[tuple[int, int]], data: st.DataObject
) -> None:
    entries = [
        [e[:1] * 3 for e in es] if is_fixed else es for es, is_fixed in spec
    ]  # fixed-size entries: three bytes each
    keylen, short = data.draw(st.integers(0, 90)), data.draw(st.sampled_from([0, 0, 0, 5, 12]))
    buffer, rows = _baskets(entries, [f for _, f in spec], keylen, short)
    for row in rows:  # a sub-range of each basket's entries
        lo = data.draw(st.integers(0, row[3]))
        row[6], row[7] = lo, data.draw(st.integers(lo, row[3]))
    for where, bits in flips:
        if len(buffer):
            buffer[where % len(buffer)] ^= bits
    layout = np.array(rows, np.int64).reshape(len(rows), 8)
    results = []
    for cut in (baskets._cut_entries, baskets.cut_entries_numpy):
        work = buffer.copy()
        offsets = np.zeros(int((layout[:, 7] - layout[:, 6]).sum()) + 1, np.int64)
        status, bad, used = cut(work, layout, offsets)
        kept = (offsets.tolist(), work[:used].tobytes()) if status == 0 else None
        results.append((status, bad, kept))
    assert results[0] == results[1]


@pytest.mark.parametrize("which", ["r21", "r24", "nano"])
def test_a_tree_opened_without_numba_has_the_compiled_scans_structure_key(
    which: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The schema store finds a layout whether the compiled scan or the general decoder
    opened the tree: both give the same key, the same branches and the same identities."""
    path = request.getfixturevalue(which)
    name = "Events" if which == "nano" else "CollectionTree"
    seen = {}
    for ready in (True, False):
        monkeypatch.setattr(_jit, "compiled_ready", lambda ready=ready: ready)
        native = open_tree(open_file(path, reuse=False), str(path), name).native
        assert native is not None
        seen[ready] = (native.structure_key(), native.keys(recursive=False), native.identities())
    assert seen[True] == seen[False]


def test_baskets_cut_without_numba_equal_the_compiled_cut(
    r24: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = open_tree(open_file(r24, reuse=False), str(r24), "CollectionTree")
    assert tree.native is not None
    names = [n for n in tree.native.keys(recursive=False) if "AuxDyn." in n][:40]
    for name in names:
        branch = tree.native.find(name)
        assert branch is not None
        cuts = []
        for ready in (True, False):
            monkeypatch.setattr(_jit, "compiled_ready", lambda ready=ready: ready)
            data, offsets = baskets.read_entries(tree.bytes, branch, 3, branch.entries - 2)
            cuts.append((data.tobytes(), offsets.tolist()))
        assert cuts[0] == cuts[1], name


_FIRST_LOOK = """
import json, sys
import awkward as ak
import afkit
events = afkit.read(sys.argv[1])
pt = ak.to_list(events.Electrons.pt)
mass = ak.to_list(events.Electrons.mass)
jets = ak.to_list(events.Jets.eta)
print(json.dumps({"pt": pt, "mass": mass, "jets": jets,
                  "numba_set_up": "numba.np.arraymath" in sys.modules}))
"""


def test_a_first_look_at_a_file_sets_no_numba_up_and_reads_the_same(r24: Path) -> None:
    """A fresh process reads fields and a four-vector mass without Numba's set-up (half a
    second), and gets exactly what a process with compiled kernels gets."""
    done = subprocess.run(
        [sys.executable, "-c", _FIRST_LOOK, str(r24)],
        capture_output=True,
        text=True,
        check=True,
    )
    fresh = json.loads(done.stdout.strip().splitlines()[-1])
    assert fresh["numba_set_up"] is False
    streamers.warm_up()  # this process: compiled
    events = afkit.read(r24)
    assert fresh["pt"] == ak.to_list(events.Electrons.pt)
    assert fresh["mass"] == ak.to_list(events.Electrons.mass)
    assert fresh["jets"] == ak.to_list(events.Jets.eta)
    assert len(fresh["jets"]) > 0


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_resolve_numpy_equals_the_compiled_kernel(data: st.DataObject) -> None:
    from afkit.io.physlite import element_links as el

    events = data.draw(st.integers(1, 6))
    targets = data.draw(st.integers(1, 3))
    counts = [data.draw(st.lists(st.integers(0, 4), min_size=events, max_size=events))]
    counts += [[c + t for c in counts[0]] for t in range(1, targets)]
    offsets = np.array([np.concatenate([[0], np.cumsum(c)]) for c in counts], np.int64)
    bases = np.zeros(targets, np.int64)
    np.cumsum(offsets[:-1, -1], out=bases[1:])
    n = data.draw(st.integers(0, 25))
    event = np.array(data.draw(st.lists(st.integers(-1, events), min_size=n, max_size=n)))
    keys = np.array(
        data.draw(st.lists(st.sampled_from([0, 11, 22, 33, 99]), min_size=n, max_size=n))
    )
    big = st.sampled_from([0, 1, 2, 3, 5, el.INVALID_INDEX])
    indices = np.array(data.draw(st.lists(big, min_size=n, max_size=n)), np.uint32)
    table_keys = np.array([11, 22, 33, 11], np.int64)  # a repeated key: the first entry wins
    table_targets = np.array([0, min(1, targets - 1), 5, targets - 1], np.int64)
    results = []
    for resolve in (el._resolve, el.resolve_numpy):
        out = np.full(n, -1, np.int64)
        bad = resolve(
            event.astype(np.int64),
            keys.astype(np.uint32),
            indices,
            table_keys,
            table_targets,
            offsets,
            bases,
            out,
        )
        results.append((bad, out.tolist()))
    assert results[0] == results[1]


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 31), st.lists(st.integers(0, 0xFFFFFFFF), max_size=12), st.data())
def test_unpack_bits_numpy_equals_the_compiled_kernel(
    nbits: int, words: list[int], data: st.DataObject
) -> None:
    from afkit.io.rntuple import pages

    packed = np.array(words, np.uint32)
    count = data.draw(st.integers(0, len(words) * 32 // nbits))
    outs = []
    for unpack in (pages._unpack_bits, pages.unpack_bits_numpy):
        out = np.zeros(count, np.uint32)
        unpack(packed, nbits, count, out)
        outs.append(out.tolist())
    assert outs[0] == outs[1]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.integers(-2, 9), max_size=6), min_size=1, max_size=5))
def test_global_offsets_numpy_equals_the_compiled_kernel(clusters: list[list[int]]) -> None:
    from afkit.io.rntuple import ntuple

    ends = [sorted(c) if k % 2 == 0 else c for k, c in enumerate(clusters)]  # some go backwards
    counts = np.array([len(c) for c in ends], np.int64)
    results = []
    for globalise in (ntuple._global_offsets, ntuple.global_offsets_numpy):
        out = np.zeros(int(counts.sum()) + 1, np.int64)
        out[1:] = [e for c in ends for e in c]
        status = globalise(out[1:], counts, out)
        results.append((status, out.tolist() if status < 0 else None))
    assert results[0] == results[1]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(-40, 4), min_size=0, max_size=6), st.integers(0, 3), st.data())
def test_walk_frames_python_equals_the_compiled_kernel(
    sizes: list[int], extra: int, data: st.DataObject
) -> None:
    from afkit.io.rntuple import descriptor

    blob = b"".join(
        int(s).to_bytes(8, "little", signed=True) + bytes(max(-s - 8, 0)) for s in sizes
    )
    raw = np.frombuffer(blob + bytes(extra), np.uint8)
    limit = data.draw(st.integers(0, len(raw)))
    count = data.draw(st.integers(0, len(sizes) + 1))
    results = []
    for walk in (descriptor._walk_frames, descriptor.walk_frames_python):
        starts, ends = np.zeros(count, np.int64), np.zeros(count, np.int64)
        bad = walk(raw, 0, limit, count, starts, ends)
        results.append((bad, starts.tolist(), ends.tolist()))
    assert results[0] == results[1]


_RNTUPLE_FILES = sorted((Path(__file__).parents[1] / "data" / "rntuple").glob("*.root"))


@pytest.mark.parametrize(
    "path",
    [p for p in _RNTUPLE_FILES if "multicluster_rntuple" not in p.name or "index" in p.name],
    ids=lambda p: p.name,
)
def test_rntuple_fields_read_without_numba_equal_the_compiled_reading(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every field of ROOT's RNTuple feature files (every encoding) read through the NumPy
    forms equals the compiled reading."""
    from afkit.io.rntuple import ntuple
    from afkit.io.rootio.source import LocalBytes

    readings = []
    for ready in (True, False):
        monkeypatch.setattr(_jit, "compiled_ready", lambda ready=ready: ready)
        monkeypatch.setattr(_jit, "INTERPRETED_BYTES", 1 << 40)  # every column
        source = LocalBytes(str(path))
        tables = []
        for key in ntuple.rntuple_keys(source).values():
            nt = ntuple.RNTuple(source, key, str(path))
            arrays = nt.arrays(nt.field_names())
            tables.append({f: ak.to_list(arrays[f]) for f in nt.field_names()})
        readings.append(repr(tables))  # NaN compares equal by its text
    assert readings[0] == readings[1]


def test_one_rule_decides_every_interpreted_step(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small input while nothing is compiled: the NumPy form; large input, or any input
    once Numba is set up: the kernel."""
    monkeypatch.setattr(_jit, "compiled_ready", lambda: False)
    assert _jit.interpreted()
    assert _jit.interpreted(_jit.INTERPRETED_BYTES)
    assert not _jit.interpreted(_jit.INTERPRETED_BYTES + 1)
    monkeypatch.setattr(_jit, "compiled_ready", lambda: True)
    assert not _jit.interpreted()
    assert not _jit.interpreted(1)
