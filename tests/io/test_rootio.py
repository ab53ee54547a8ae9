"""afkit's own TTree metadata and basket reader against uproot, the oracle, byte for byte."""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
import pytest
import uproot

import afkit
from afkit.io.filespec import open_file
from afkit.io.reader import BranchReader
from afkit.io.rootio.baskets import read_entries
from afkit.io.rootio.branch import BranchMeta
from afkit.io.rootio.stream import NativeUnsupported
from afkit.io.tree import TreeHandle, flat_dtype, open_tree, values_dtype, vector_dtype

RAW = uproot.AsJagged(uproot.AsDtype("u1"), header_bytes=0)


def _tree(path: Path, name: str) -> tuple[TreeHandle, Any]:
    handle = open_file(path, reuse=False)
    tree = open_tree(handle, str(path), name)
    assert tree.native is not None, "afkit's reader should decode this tree's metadata"
    return tree, uproot.open(path)[name]


def _pairs(tree: TreeHandle, utree: Any) -> list[tuple[BranchMeta, Any]]:
    assert tree.native is not None
    return list(zip(tree.native.walk(), utree.itervalues(recursive=True), strict=True))


def _uproot_raw(branch: Any, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
    """Entry bytes as uproot reads them: its raw-bytes interpretation, or (for fixed-size
    entries, which that interpretation refuses) its baskets' data cut per entry."""
    try:
        layout = branch.array(RAW, entry_start=start, entry_stop=stop, library="ak").layout
    except uproot.deserialization.DeserializationError:
        return _uproot_basket_raw(branch, start, stop)
    offsets = np.asarray(layout.offsets.data, dtype=np.int64)
    content = np.asarray(layout.content.data)[offsets[0] : offsets[-1]]
    return content, offsets - offsets[0]


def _uproot_basket_raw(branch: Any, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
    entries, sizes = [], []
    for i in range(branch.num_baskets):
        first, last = branch.basket_entry_start_stop(i)
        if last <= start or first >= stop:
            continue
        basket = branch.basket(i)
        data = np.asarray(basket.data)
        bounds = basket.byte_offsets
        if bounds is None:
            bounds = np.arange(last - first + 1) * (len(data) // (last - first))
        for entry in range(max(start, first), min(stop, last)):
            piece = data[bounds[entry - first] : bounds[entry - first + 1]]
            entries.append(piece)
            sizes.append(len(piece))
    offsets = np.zeros(len(sizes) + 1, np.int64)
    np.cumsum(sizes, out=offsets[1:])
    content = np.concatenate(entries) if entries else np.zeros(0, np.uint8)
    return content, offsets


@pytest.mark.parametrize("which", ["r21", "r24", "nano"])
def test_metadata_equals_uproot(which: str, request: pytest.FixtureRequest) -> None:
    path = request.getfixturevalue(which)
    name = "Events" if which == "nano" else "CollectionTree"
    tree, utree = _tree(path, name)
    assert tree.num_entries == utree.num_entries
    assert tree.keys() == list(utree.keys(recursive=True, full_paths=False))
    for meta, branch in _pairs(tree, utree):
        assert meta.name == branch.name
        assert meta.classname == branch.classname
        assert meta.title == branch.title
        assert meta.entries == branch.num_entries
        assert meta.write_basket + meta.embedded_baskets == branch.num_baskets
        n = meta.write_basket
        assert np.array_equal(meta.basket_seek[:n], branch.member("fBasketSeek")[:n])
        assert np.array_equal(meta.basket_entry[: n + 1], branch.member("fBasketEntry")[: n + 1])
        assert meta.entry_offset_len == branch.member("fEntryOffsetLen")
        assert [leaf.name for leaf in meta.leaves] == [
            leaf.member("fName") for leaf in branch.member("fLeaves")
        ]


def _same_meta(a: BranchMeta, b: BranchMeta) -> None:
    assert a.structure() == b.structure()
    assert (a.entries, a.write_basket, a.embedded_baskets) == (
        b.entries,
        b.write_basket,
        b.embedded_baskets,
    )
    for x, y in ((a.basket_bytes, b.basket_bytes), (a.basket_seek, b.basket_seek)):
        assert np.array_equal(x, y)
    assert [c.name for c in a.branches] == [c.name for c in b.branches]
    assert [leaf.has_count for leaf in a.leaves] == [leaf.has_count for leaf in b.leaves]


@pytest.mark.parametrize("which", ["r21", "r24", "nano"])
def test_branches_decoded_on_demand_in_any_order(
    which: str, request: pytest.FixtureRequest
) -> None:
    """Opening locates the branches; each is decoded when asked for.  Asked in reverse file
    order, every class name and count leaf it refers to lies in bytes never decoded: they
    must be found where the references point, and give what the in-order decoding gives."""
    path = request.getfixturevalue(which)
    name = "Events" if which == "nano" else "CollectionTree"
    in_order, _ = _tree(path, name)
    assert in_order.native is not None
    expected: dict[str, BranchMeta] = {}
    for b in in_order.native.walk():
        expected.setdefault(b.name, b)  # a split-level-1 wrapper's sub-branch repeats its name
    fresh = open_tree(open_file(path, reuse=False), str(path), name)
    assert fresh.native is not None
    assert fresh.native.keys(recursive=False) == in_order.native.keys(recursive=False)
    assert fresh.native.structure_key() == in_order.native.structure_key()
    for branch_name in reversed(list(expected)):
        found = fresh.native.find(branch_name)
        assert found is not None, branch_name
        _same_meta(found, expected[branch_name])
    assert fresh.native.find("no_such_branch") is None


@pytest.mark.parametrize("which", ["r21", "r24"])
def test_every_branch_entries_byte_identical_to_uproot(
    which: str, request: pytest.FixtureRequest
) -> None:
    path = request.getfixturevalue(which)
    tree, utree = _tree(path, "CollectionTree")
    n = tree.num_entries
    compared = 0
    for i, (meta, branch) in enumerate(_pairs(tree, utree)):
        if meta.write_basket == 0:
            continue
        ranges = [(n // 3, n // 3 + 7)] + ([(0, n), (n - 1, n), (5, 5)] if i % 25 == 0 else [])
        for start, stop in ranges:
            data, offsets = read_entries(tree.bytes, meta, start, stop)
            want_data, want_offsets = _uproot_raw(branch, start, stop)
            assert np.array_equal(offsets, want_offsets), (meta.name, start, stop)
            assert np.array_equal(data, want_data), (meta.name, start, stop)
        compared += 1
    assert compared > 800


@pytest.mark.parametrize("which", ["r21", "r24", "nano"])
def test_decoding_choices_agree_with_uproot_interpretations(
    which: str, request: pytest.FixtureRequest
) -> None:
    """Wherever afkit decides a branch's layout itself, uproot decides the same."""
    path = request.getfixturevalue(which)
    tree, utree = _tree(path, "Events" if which == "nano" else "CollectionTree")
    decided = 0
    for meta, branch in _pairs(tree, utree):
        interpretation = branch.interpretation
        flat, values, vector = flat_dtype(meta), values_dtype(meta), vector_dtype(meta)
        assert sum(x is not None for x in (flat, values, vector)) <= 1, meta.name
        if flat is not None:
            assert isinstance(interpretation, uproot.AsDtype), meta.name
            assert np.dtype(interpretation.from_dtype) == flat, meta.name
        elif values is not None or vector is not None:
            assert isinstance(interpretation, uproot.AsJagged), meta.name
            assert interpretation.header_bytes == (10 if vector is not None else 0), meta.name
            assert np.dtype(interpretation.content.from_dtype) == (values or vector), meta.name
        else:
            continue
        decided += 1
    assert decided > 100


def test_embedded_baskets_are_left_to_uproot(nano: Path) -> None:
    """This NanoAOD file keeps its baskets inside the tree record: uproot reads them."""
    tree, utree = _tree(nano, "Events")
    meta = tree.branch_meta("Jet_pt")
    assert meta is not None
    assert meta.embedded_baskets
    with pytest.raises(NativeUnsupported):
        read_entries(tree.bytes, meta, 0, 10)
    reader = BranchReader(tree, str(nano), 0, tree.num_entries)
    offsets, content = reader.jagged("Jet_pt")
    want = utree["Jet_pt"].array(library="ak")
    assert np.array_equal(np.diff(offsets), ak.to_numpy(ak.num(want)))
    assert np.array_equal(content, ak.to_numpy(ak.flatten(want)))


def _written(path: Path, compression: Any) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(5)
    counts = [rng.integers(0, 6, 300) for _ in range(4)]
    with uproot.recreate(path, compression=compression) as out:
        for i, c in enumerate(counts):  # four extends: four baskets per branch
            batch = {
                "event": np.arange(300, dtype=np.uint64) + 300 * i,
                "x": rng.normal(size=300),
                "flag": rng.integers(0, 2, 300).astype(np.bool_),
                "Jet_pt": ak.unflatten(rng.exponential(30, int(c.sum())).astype(np.float32), c),
            }
            if i == 0:
                out.mktree(
                    "Events",
                    {k: v.type if isinstance(v, ak.Array) else v.dtype for k, v in batch.items()},
                )
            out["Events"].extend(batch)
    return {"counts": np.concatenate(counts)}


@pytest.mark.parametrize(
    "compression",
    [uproot.ZLIB(4), uproot.LZMA(2), uproot.LZ4(1), uproot.ZSTD(5), None],
    ids=["zlib", "lzma", "lz4", "zstd", "none"],
)
def test_every_compression_and_entry_range(tmp_path: Path, compression: Any) -> None:
    path = tmp_path / "written.root"
    truth = _written(path, compression)
    tree, utree = _tree(path, "Events")
    for start, stop in [(0, 1200), (250, 650), (899, 901), (1199, 1200), (7, 7)]:
        reader = BranchReader(tree, str(path), start, stop)
        for name in ("event", "x", "flag"):
            want = utree[name].array(entry_start=start, entry_stop=stop, library="np")
            got = reader.flat(name)
            assert got.dtype == want.dtype.newbyteorder("=")
            assert np.array_equal(got, want)
        offsets, content = reader.jagged("Jet_pt")
        want = utree["Jet_pt"].array(entry_start=start, entry_stop=stop, library="ak")
        assert np.array_equal(np.diff(offsets), truth["counts"][start:stop])
        assert np.array_equal(content, ak.to_numpy(ak.flatten(want)))
        assert reader.bytes_read > 0 or start == stop
    assert tree._uproot is None, "afkit's reader handled every branch without uproot's model"


def test_lz4_checksum_mismatch_is_corrupt_data(tmp_path: Path) -> None:
    path = tmp_path / "lz4.root"
    _written(path, uproot.LZ4(1))
    branch = uproot.open(path)["Events"]["event"]  # compressible: stored LZ4-compressed
    seek, size = int(branch.member("fBasketSeek")[1]), int(branch.member("fBasketBytes")[1])
    data = bytearray(path.read_bytes())
    data[seek + size - 20] ^= 0xFF
    path.write_bytes(bytes(data))
    events = afkit.read(path, format="nanoaod")
    with pytest.raises(afkit.CorruptDataError, match="checksum") as info:
        events.event.to_numpy()
    assert "'event'" in str(info.value)
    assert str(path) in str(info.value)


def test_known_layout_needs_no_uproot_tree_model(tmp_path: Path, r24: Path) -> None:
    """The second file of a layout is read entirely by afkit: schema from the cache."""
    first, second = tmp_path / "a.root", tmp_path / "b.root"
    shutil.copy(r24, first)
    shutil.copy(r24, second)
    afkit.read(first).Jets.pt.tolist()
    events = afkit.read(second)
    pt = events.Jets.pt
    assert ak.all(pt >= 0)
    assert events.source.reader.handle._uproot is None
    assert events.bytes_read > 0


@pytest.mark.parametrize("which", ["r21", "r24", "nano"])
def test_compiled_branch_scan_equals_the_general_decoding(
    which: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Opening a tree reads each branch's identity in compiled code where the layout is the
    common one; it must give exactly what the member-by-member decoding gives."""
    from afkit.io.rootio import ttree

    path = request.getfixturevalue(which)
    name = "Events" if which == "nano" else "CollectionTree"
    scans = {}
    for fused in (True, False):
        monkeypatch.setattr(ttree, "COMPILED_SCAN", fused)
        tree = open_tree(open_file(path, reuse=False), str(path), name)
        assert tree.native is not None
        located = tree.native.located()
        identities = tree.native.identities()
        scans[fused] = [
            (b.name, i, b.start, b.end) for b, i in zip(located, identities, strict=True)
        ]
    assert scans[True] == scans[False]
    assert len(scans[True]) > 100


@pytest.mark.parametrize("which", ["r21", "r24", "nano"])
def test_compiled_branch_decoding_equals_the_general_decoding(
    which: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Branches of the common TBranchElement layout are decoded in one compiled call; every
    member must equal what the member-by-member decoder gives (the others take that one).
    With the compiled paths switched off, a tree decodes its branches without it."""
    from afkit.io.rootio import branch, ttree

    path = request.getfixturevalue(which)
    name = "Events" if which == "nano" else "CollectionTree"
    tree = open_tree(open_file(path, reuse=False), str(path), name)
    assert tree.native is not None
    compiled = 0
    for where in tree.native.located():
        stream = tree.native._stream
        stream.pos = where.start
        general = branch.decode_branch(stream, where.classname)
        fast = branch.compiled_branch(stream, where.start)
        if fast is None:
            continue
        assert where.classname == "TBranchElement"
        compiled += 1
        assert fast.leaves == general.leaves, where.name
        assert fast.branches == general.branches == ()
        _same_meta(fast, general)
        assert fast.structure() == general.structure()
        assert np.array_equal(fast.basket_entry, general.basket_entry)
    assert compiled > (100 if which == "r24" else -1)  # r21 (older ROOT) and NanoAOD: none

    def refuse(*args: object) -> None:
        raise AssertionError("the compiled branch decoding ran with COMPILED_SCAN off")

    monkeypatch.setattr(ttree, "COMPILED_SCAN", False)
    monkeypatch.setattr(ttree, "compiled_branch", refuse)
    general_only = open_tree(open_file(path, reuse=False), str(path), name)
    assert general_only.native is not None
    assert len(general_only.native.branches) == len(tree.native.keys(recursive=False))


def _tree_record(path: Path) -> tuple[np.ndarray, int]:
    """The decompressed ``CollectionTree`` key payload of ``path`` and its key length."""
    from afkit.io.rootio.baskets import decompress

    handle = open_file(path, reuse=False)
    key = handle.key("CollectionTree")
    tree = open_tree(handle, str(path), "CollectionTree")
    start = int(key.fSeekKey)
    (raw,) = tree.bytes.ranges([(start, start + int(key.fNbytes))])
    return decompress(raw[int(key.fKeylen) :], int(key.fObjlen)).copy(), int(key.fKeylen)


def test_structure_key_sees_each_identity_member_and_nothing_else(r24: Path) -> None:
    """The structure key (which shares one event-model plan between files) changes when a
    single byte of a branch's name, title, class name or streamer checksum changes, and not
    when only where its baskets lie or how many entries it has changes."""
    from afkit.io.rootio import scan
    from afkit.io.rootio.ttree import parse_tree

    payload, keylen = _tree_record(r24)
    base = parse_tree(payload, keylen, "CollectionTree")
    key = base.structure_key()
    located = [b for b in base.located() if b.row is not None]
    assert len(located) > 100
    row = located[len(located) // 2].row
    assert row is not None
    for column in (scan.NAME, scan.TITLE, scan.CLASS_NAME):
        damaged = payload.copy()
        damaged[row[column]] ^= 0x20  # same length, another letter
        assert parse_tree(damaged, keylen, "CollectionTree").structure_key() != key, column
    damaged = payload.copy()
    damaged[row[scan.CLONES] + row[scan.CLONES + 1] + 3] ^= 1  # fCheckSum follows fClonesName
    assert parse_tree(damaged, keylen, "CollectionTree").structure_key() != key
    decoded = base.find(located[len(located) // 2].name)
    assert decoded is not None
    assert decoded.entries > 0
    same = payload.copy()
    count = np.int64(decoded.entries).astype(">i8").tobytes()
    entries_at = bytes(payload[row[scan.START] : row[scan.END]]).find(count)
    assert entries_at > 0
    same[row[scan.START] + entries_at + 7] ^= 1  # its fEntryNumber or fEntries: no structure
    assert parse_tree(same, keylen, "CollectionTree").structure_key() == key


def test_compiled_scan_survives_damaged_tree_records(r24: Path) -> None:
    """The compiled scan reads raw bytes without bounds checks of its own making: cut and
    scrambled tree records must give a result or NativeUnsupported, never a crash."""
    from afkit.io.rootio.ttree import parse_tree

    payload, keylen = _tree_record(r24)
    rng = np.random.default_rng(5)
    outcomes = {"decoded": 0, "refused": 0}
    for trial in range(300):
        damaged = payload.copy()
        if trial % 3 == 0:
            damaged = damaged[: int(rng.integers(0, len(damaged)))]
        else:
            where = rng.integers(0, len(damaged), size=int(rng.integers(1, 40)))
            damaged[where] = rng.integers(0, 256, size=len(where), dtype=np.uint8)
        try:
            tree = parse_tree(damaged, keylen, "CollectionTree")
            for i in range(
                0, len(tree.keys(recursive=False)), 7
            ):  # branches decoded from damaged bytes
                with contextlib.suppress(NativeUnsupported):
                    tree._decode(i)
            outcomes["decoded"] += 1
        except NativeUnsupported:
            outcomes["refused"] += 1
    assert outcomes["refused"] > 0
