"""Damaged and misused inputs found by a corpus run: each gets a specific afkit error naming
the file (regression tests; every one of them escaped as a raw library error before)."""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uproot

import afkit
from afkit.io.filespec import clear_open_files


@pytest.fixture(autouse=True)
def _fresh_handles() -> Iterator[None]:
    clear_open_files()  # each test opens its own damaged copy
    yield
    clear_open_files()


def _header_offsets(data: bytes) -> dict[str, int]:
    """Byte offsets of the header fields patched below (small and large file layouts)."""
    large = struct.unpack(">i", data[4:8])[0] >= 1000000
    p = 4 + 4 + 4  # magic, fVersion, fBEGIN
    fields = {"fEND": p}
    p += 8 if large else 4
    p += (
        (8 if large else 4) + 4 + 4 + 4 + 1 + 4
    )  # fSeekFree fNbytesFree nfree fNbytesName fUnits fCompress
    fields["fSeekInfo"] = p
    fields["large"] = int(large)
    return fields


def _patch(data: bytearray, field: str, value: int) -> None:
    at = _header_offsets(bytes(data))
    fmt = ">q" if at["large"] else ">i"
    data[at[field] : at[field] + struct.calcsize(fmt)] = struct.pack(fmt, value)


@pytest.mark.parametrize("release", ["r21", "r24"])
def test_truncated_before_the_streamer_record(
    tmp_path: Path, release: str, request: pytest.FixtureRequest
) -> None:
    """An interrupted copy whose header was rewritten to its new length (fEND agrees)."""
    source: Path = request.getfixturevalue(release)
    seek_info = uproot.open(source).file.fSeekInfo
    data = bytearray(source.read_bytes()[: seek_info - 10])
    _patch(data, "fEND", len(data))
    path = tmp_path / "truncated.root"
    path.write_bytes(bytes(data))
    with pytest.raises(afkit.TruncatedFileError, match="streamer record") as info:
        afkit.read(path)
    assert str(path) in str(info.value)


def test_streamer_pointer_past_the_end(tmp_path: Path, r24: Path) -> None:
    data = bytearray(r24.read_bytes())
    _patch(data, "fSeekInfo", len(data) + 1000)
    path = tmp_path / "seekinfo.root"
    path.write_bytes(bytes(data))
    with pytest.raises(afkit.CorruptDataError, match="fSeekInfo") as info:
        afkit.read(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("release", ["r21", "r24"])
def test_flipped_byte_in_the_streamer_record(
    tmp_path: Path, release: str, request: pytest.FixtureRequest
) -> None:
    source: Path = request.getfixturevalue(release)
    handle = uproot.open(source).file
    data = bytearray(source.read_bytes())
    data[handle.fSeekInfo + handle.fNbytesInfo // 2] ^= 0xFF
    path = tmp_path / "streamers.root"
    path.write_bytes(bytes(data))
    with pytest.raises(afkit.CorruptDataError, match="streamer record") as info:
        afkit.read(path).Jets.pt.to_numpy  # noqa: B018
    assert str(path) in str(info.value)


def test_flipped_byte_in_the_tree_record(tmp_path: Path, r24: Path) -> None:
    key = uproot.open(r24).key("CollectionTree")
    data = bytearray(r24.read_bytes())
    data[key.fSeekKey + key.fKeylen + 300] ^= 0xFF
    path = tmp_path / "tree.root"
    path.write_bytes(bytes(data))
    with pytest.raises(afkit.CorruptDataError, match="CollectionTree") as info:
        afkit.read(path)
    assert str(path) in str(info.value)


def test_a_device_is_not_a_root_file() -> None:
    with pytest.raises(afkit.NotRootFileError, match="not a ROOT file"):
        afkit.read("/dev/zero")


def test_the_metadata_tree_is_not_event_data(r24: Path) -> None:
    with pytest.raises(afkit.ConfigError, match=r"not event data.*CollectionTree") as info:
        afkit.read(r24, tree="MetaData")
    assert str(r24) in str(info.value)


def test_physlite_read_as_nanoaod(r24: Path) -> None:
    with pytest.raises(afkit.ConfigError, match="does not look like nanoaod") as info:
        afkit.read(r24, format="nanoaod")
    assert str(r24) in str(info.value)


def test_nanoaod_read_as_physlite(nano: Path) -> None:
    with pytest.raises(afkit.ConfigError, match="does not look like physlite") as info:
        afkit.read(nano, format="physlite")
    assert str(nano) in str(info.value)


def test_a_split_object_branch_is_not_corrupt(r24: Path) -> None:
    """The parent branch of a split object (``CutBookkeepersAux.``) holds no data: a clear
    'not exposed' pointing at its members, not a corrupt-data error; its members read."""
    from afkit.io.filespec import open_file
    from afkit.io.reader import BranchReader
    from afkit.io.tree import open_tree

    handle = open_file(r24)
    reader = BranchReader(open_tree(handle, str(r24), "MetaData"), str(r24), 0, 1)
    with pytest.raises(afkit.UnknownEncodingError, match="sub-branches") as info:
        reader.objects("CutBookkeepersAux.")
    assert not isinstance(info.value, afkit.CorruptDataError)
    assert reader.objects("CutBookkeepersAux.name").tolist()[0][0] == "AllExecutedEvents"
    with pytest.raises(afkit.UnknownEncodingError, match="baskets are sound"):
        reader.objects("CutBookkeepersAux.parentLink")  # uproot misreads this layout


def _silent_server() -> tuple[socket.socket, int]:
    """A loopback server that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                accepted.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    return server, int(server.getsockname()[1])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_xrootd_url_with_nothing_listening_fails_at_once() -> None:
    pytest.importorskip("XRootD", reason="pip install 'afkit[xrootd]'")
    url = f"root://127.0.0.1:{_free_port()}//data/f.root"
    start = time.perf_counter()
    with pytest.raises(afkit.RemoteReadError) as info:
        afkit.read(url)
    assert time.perf_counter() - start < 10
    assert url in str(info.value)
    assert isinstance(info.value, OSError)


def test_xrootd_server_that_never_answers_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("XRootD", reason="pip install 'afkit[xrootd]'")
    monkeypatch.setenv("AFKIT_CONNECT_TIMEOUT", "2")
    monkeypatch.setenv("AFKIT_READ_TIMEOUT", "2")
    server, port = _silent_server()
    url = f"root://127.0.0.1:{port}//data/f.root"
    try:
        start = time.perf_counter()
        with pytest.raises(afkit.RemoteReadError) as info:
            afkit.read(url)
        assert time.perf_counter() - start < 30
        assert url in str(info.value)
    finally:
        server.close()


def test_bad_timeout_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AFKIT_CONNECT_TIMEOUT", "soon")
    with pytest.raises(afkit.ConfigError, match="AFKIT_CONNECT_TIMEOUT"):
        afkit.read("root://127.0.0.1:1//f.root")
