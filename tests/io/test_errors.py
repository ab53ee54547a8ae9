"""Bad input gets a specific afkit error naming the file — never wrong values."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import uproot

import afkit
from afkit.io.physlite import streamers


def _copy(src: Path, tmp_path: Path) -> Path:
    dst = tmp_path / src.name
    shutil.copy(src, dst)
    return dst


def test_nonexistent_path(tmp_path: Path) -> None:
    path = tmp_path / "nope.root"
    with pytest.raises(afkit.AfkitFileNotFoundError) as info:
        afkit.read(path)
    assert isinstance(info.value, FileNotFoundError)
    assert isinstance(info.value, afkit.AfkitError)
    assert str(path) in str(info.value)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.root"
    path.write_bytes(b"")
    with pytest.raises(afkit.EmptyFileError, match="empty") as info:
        afkit.read(path)
    assert isinstance(info.value, OSError)
    assert str(path) in str(info.value)


def test_not_a_root_file(tmp_path: Path) -> None:
    path = tmp_path / "data.root"
    path.write_text("run,event\n1,2\n")
    with pytest.raises(afkit.NotRootFileError, match="not a ROOT file") as info:
        afkit.read(path)
    assert str(path) in str(info.value)


def test_directory_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(afkit.FileFormatError, match="directory"):
        afkit.read(tmp_path)


def test_file_truncated_midway(tmp_path: Path, r24: Path) -> None:
    data = r24.read_bytes()
    path = tmp_path / "truncated.root"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(afkit.TruncatedFileError, match="truncated") as info:
        afkit.read(path)
    assert str(len(data) // 2) in str(info.value)
    assert str(path) in str(info.value)


def test_damaged_tree_record(tmp_path: Path, r24: Path) -> None:
    path = _copy(r24, tmp_path)
    start = uproot.open(r24).key("CollectionTree").data_cursor.index
    data = bytearray(path.read_bytes())
    data[start : start + 64] = b"\xff" * 64
    path.write_bytes(bytes(data))
    with pytest.raises(afkit.FileFormatError, match="CollectionTree") as info:
        afkit.read(path)
    assert str(path) in str(info.value)


def _basket(path: Path, branch: str) -> tuple[int, int]:
    node = uproot.open(path)["CollectionTree"][branch]
    return int(node.member("fBasketSeek")[0]), int(node.member("fBasketBytes")[0])


@pytest.mark.parametrize(
    ("where", "detail"),
    [
        # a byte flip that still decompresses: caught by afkit's per-entry header checks
        ("middle", "byte count"),
        # a byte flip the decompressor notices
        ("end", "ZS block: Data corruption"),
        # a damaged basket key header (a reader trusting it could allocate 28 GiB)
        ("key", "the key says"),
    ],
)
def test_corrupted_basket_bytes(tmp_path: Path, r24: Path, where: str, detail: str) -> None:
    path = _copy(r24, tmp_path)
    seek, size = _basket(r24, "AnalysisJetsAuxDyn.pt")
    pos = {"middle": seek + size // 2, "end": seek + size - 8, "key": seek + 4}[where]
    data = bytearray(path.read_bytes())
    for i in range(4):
        data[pos + i] ^= 0x5A
    path.write_bytes(bytes(data))
    events = afkit.read(path)
    with pytest.raises(afkit.CorruptDataError, match=detail) as info:
        events.Jets.pt.tolist()
    assert isinstance(info.value, OSError)
    assert "AnalysisJetsAuxDyn.pt" in str(info.value)
    assert str(path) in str(info.value)


def test_missing_tree_suggests_names(r24: Path) -> None:
    with pytest.raises(afkit.MissingTreeError) as info:
        afkit.read(r24, tree="CollectionTre")
    assert isinstance(info.value, KeyError)
    assert "'CollectionTree'" in str(info.value)
    assert str(r24) in str(info.value)


def test_no_default_tree(tmp_path: Path) -> None:
    path = tmp_path / "other.root"
    with uproot.recreate(path) as out:
        out.mktree("Things", {"x": np.float64})
        out["Things"].extend({"x": np.arange(3.0)})
    with pytest.raises(
        afkit.MissingTreeError, match="CollectionTree or EventData or Events"
    ) as info:
        afkit.read(path)
    assert "0 available" not in str(info.value)
    with pytest.raises(afkit.MissingTreeError, match="'Things'"):
        afkit.read(path, tree="Thing")


def test_rntuple_written_by_uproot_is_read(tmp_path: Path) -> None:
    """An RNTuple uproot writes is read by afkit's own decoder (values as written)."""
    path = tmp_path / "ntuple.root"
    with uproot.recreate(path) as out:
        out["Events"] = {"x": np.arange(3.0)}  # uproot >= 5.7 writes an RNTuple here
    if uproot.open(path).classnames().get("Events;1") != "ROOT::RNTuple":
        pytest.skip("this uproot writes a TTree")
    assert afkit.read(path).x.tolist() == [0.0, 1.0, 2.0]


def test_missing_collection_suggests_names(r24: Path) -> None:
    events = afkit.read(r24)
    with pytest.raises(afkit.MissingCollectionError) as info:
        events.Jetz  # noqa: B018
    assert isinstance(info.value, KeyError)
    assert "'Jets'" in str(info.value)
    assert str(r24) in str(info.value)
    with pytest.raises(KeyError, match="'Electrons'"):
        events["Electron"]
    assert not hasattr(events, "Jetz")


def test_missing_field_suggests_names(r24: Path) -> None:
    events = afkit.read(r24)
    with pytest.raises(afkit.MissingBranchError) as info:
        events.Jets.ptt  # noqa: B018
    message = str(info.value)
    assert "'pt'" in message
    assert "Jets" in message
    assert str(r24) in message
    with pytest.raises(afkit.MissingBranchError, match="'runNumber'"):
        events.EventInfo["runNumbr"]


def test_unknown_link_encoding_is_reported(r24: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A link branch whose bytes fit none of the four encodings raises, naming branch and file."""
    from afkit.io.reader import BranchReader

    original = BranchReader.raw

    def fake_raw(self: BranchReader, name: str):  # type: ignore[no-untyped-def]
        data, offsets = original(self, name)
        if name == "EventInfoAuxDyn.hardScatterVertexLink":
            # a hypothetical future layout: 22 bytes per entry (an extra member)
            n = len(offsets) - 1
            data = np.zeros(22 * n, np.uint8)
            offsets = np.arange(0, 22 * n + 1, 22, dtype=np.int64)
        return data, offsets

    monkeypatch.setattr(BranchReader, "raw", fake_raw)
    events = afkit.read(r24, entry_stop=5)
    with pytest.raises(afkit.UnknownEncodingError) as info:
        events.EventInfo.hardScatterVertexLink.m_persKey.tolist()
    assert isinstance(info.value, ValueError)
    assert "hardScatterVertexLink" in str(info.value)
    assert str(r24) in str(info.value)


def test_link_decoders_reject_unknown_layouts() -> None:
    # member-wise vector<ElementLink> whose element class version is not 0
    entry = bytes.fromhex("4000001440090001a706700b000000011afd191900000000")
    data = np.frombuffer(entry, np.uint8)
    with pytest.raises(afkit.UnknownEncodingError, match="entry 0"):
        streamers.decode_vector_links(data, np.array([0, len(entry)], np.int64))
    # an object-wise ElementLink with a wrong inner byte count
    bad = bytes.fromhex("40000006000900000001")
    with pytest.raises(afkit.UnknownEncodingError):
        streamers.decode_vector_links(np.frombuffer(bad, np.uint8), np.array([0, 10], np.int64))


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"entry_start": "5"}, afkit.ArgumentTypeError),
        ({"entry_stop": 2.5}, afkit.ArgumentTypeError),
        ({"entry_start": 10_000}, afkit.ConfigError),
        ({"format": "miniaod"}, afkit.ConfigError),
        ({"units": "eV"}, afkit.ConfigError),
    ],
)
def test_bad_arguments(r24: Path, kwargs: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        afkit.read(r24, **kwargs)  # type: ignore[arg-type]


def test_wrong_source_type() -> None:
    with pytest.raises(afkit.ArgumentTypeError, match="int"):
        afkit.read(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        afkit.read(None)  # type: ignore[arg-type]
