"""Damaged and unsupported RNTuple files: a specific afkit error naming the file, never values.

Each case damages a copy of a real file in one place (truncation, a flipped byte in the anchor,
header, footer, page list or a page, a future format version, an unknown column type or
feature flag) and checks the error's class and what it says.  Where a change must keep
checksums consistent (to reach the check behind them), the test re-seals the envelopes of the
uncompressed test file, as a writer of such a file would.  A fuzz test flips random bytes of
a file whose every page is checksummed: each read either fails with an afkit error or returns
exactly the original values.
"""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import xxhash

import afkit
from afkit.exceptions import AfkitError, CorruptDataError, FileFormatError, UnknownEncodingError
from afkit.io.filespec import clear_open_files
from afkit.io.open import schema_of
from afkit.io.rntuple.ntuple import RNTuple, rntuple_keys
from afkit.io.rootio.source import LocalBytes
from tests.conftest import DATA

FOLDER = DATA / "rntuple"
MUONS = FOLDER / "Run2012BC_DoubleMuParked_Muons_1000evts_rntuple_v1-0-0-0.root"
UNCOMPRESSED = FOLDER / "rntviewer-testfile-uncomp-single-rntuple-v1-0-0-0.root"


def layout(path: Path) -> RNTuple:
    source = LocalBytes(str(path))
    (key,) = rntuple_keys(source).values()
    return RNTuple(source, key, str(path))


def damaged(tmp_path: Path, original: Path, edit: dict[int, int], name: str = "bad.root") -> Path:
    """A copy of ``original`` with the bytes at the given offsets replaced."""
    target = tmp_path / name
    shutil.copy(original, target)
    data = bytearray(target.read_bytes())
    for at, value in edit.items():
        data[at] = value
    target.write_bytes(bytes(data))
    clear_open_files()
    return target


def read_all(path: Path, tree: str | None = None) -> dict[str, list[object]]:
    events = afkit.read(path, tree=tree)
    out = {}
    for collection in events.fields:
        out[collection] = ak.to_list(events[collection])
    return out


def test_truncated_file(tmp_path: Path) -> None:
    data = MUONS.read_bytes()
    for cut in (len(data) // 2, len(data) - 100, 200):
        target = tmp_path / f"cut{cut}.root"
        target.write_bytes(data[:cut])
        clear_open_files()
        with pytest.raises(FileFormatError) as err:
            read_all(target)
        assert str(target) in str(err.value)


@pytest.mark.parametrize("where", ["header", "footer"])
def test_flipped_byte_in_an_envelope(tmp_path: Path, where: str) -> None:
    anchor = layout(MUONS).anchor
    seek, nbytes = (
        (anchor.seek_header, anchor.nbytes_header)
        if where == "header"
        else (anchor.seek_footer, anchor.nbytes_footer)
    )
    at = seek + nbytes // 2
    target = damaged(tmp_path, MUONS, {at: MUONS.read_bytes()[at] ^ 0x10})
    with pytest.raises(CorruptDataError) as err:
        read_all(target)
    assert str(target) in str(err.value)
    assert where in str(err.value)


def test_flipped_byte_in_the_page_list(tmp_path: Path) -> None:
    group = layout(MUONS).groups[0]
    at = group.page_list.offset + group.page_list.size // 2
    target = damaged(tmp_path, MUONS, {at: MUONS.read_bytes()[at] ^ 0x01})
    with pytest.raises(CorruptDataError, match="page list") as err:
        read_all(target)
    assert str(target) in str(err.value)


def test_flipped_byte_in_a_page_names_field_and_page(tmp_path: Path) -> None:
    nt = layout(MUONS)
    column = nt.field("Muon_pt").children[0]
    physical = nt.columns_of(nt.schema.fields[column])[0].id  # the projection's source
    page = nt.clusters()[0].columns[physical].pages[0]
    at = page.locator.offset + page.locator.size // 2
    target = damaged(tmp_path, MUONS, {at: MUONS.read_bytes()[at] ^ 0x40})
    events = afkit.read(target)
    assert len(events.Muon.eta) == 1000  # other columns are sound
    with pytest.raises(CorruptDataError) as err:
        ak.to_list(events.Muon.pt)
    text = str(err.value)
    assert str(target) in text
    assert "Muon_pt" in text
    assert "page 0" in text
    assert "checksum" in text


def test_flipped_byte_in_the_anchor(tmp_path: Path) -> None:
    source = LocalBytes(str(MUONS))
    key = rntuple_keys(source)["Events"]
    at = key.seek + key.keylen + 10
    target = damaged(tmp_path, MUONS, {at: MUONS.read_bytes()[at] ^ 0x02})
    with pytest.raises(CorruptDataError, match="anchor") as err:
        read_all(target)
    assert str(target) in str(err.value)


# -- changes behind consistent checksums (the uncompressed file: envelopes stored as-is) ----


def _reseal(data: bytearray, nt: RNTuple) -> None:
    """Recompute every checksum of an uncompressed RNTuple after its bytes were edited."""
    a = nt.anchor

    def seal(seek: int, length: int) -> int:
        body = bytes(data[seek : seek + length - 8])
        digest = xxhash.xxh3_64_intdigest(body)
        data[seek + length - 8 : seek + length] = struct.pack("<Q", digest)
        return digest

    header = seal(a.seek_header, a.len_header)
    # footer payload: feature flags (8 bytes), then the header's checksum
    data[a.seek_footer + 16 : a.seek_footer + 24] = struct.pack("<Q", header)
    seal(a.seek_footer, a.len_footer)
    for group in nt.groups:
        start = group.page_list.offset
        data[start + 8 : start + 16] = struct.pack("<Q", header)
        seal(start, group.page_list_length)


def _edited_uncompressed(tmp_path: Path, edit: dict[int, bytes]) -> Path:
    nt = layout(UNCOMPRESSED)
    data = bytearray(UNCOMPRESSED.read_bytes())
    for at, value in edit.items():
        data[at : at + len(value)] = value
    _reseal(data, nt)
    target = tmp_path / "edited.root"
    target.write_bytes(bytes(data))
    clear_open_files()
    return target


def test_resealing_alone_changes_nothing(tmp_path: Path) -> None:
    target = _edited_uncompressed(tmp_path, {})
    assert target.read_bytes() == UNCOMPRESSED.read_bytes()


def test_unknown_column_type(tmp_path: Path) -> None:
    nt = layout(UNCOMPRESSED)
    data = UNCOMPRESSED.read_bytes()
    header = data[nt.anchor.seek_header : nt.anchor.seek_header + nt.anchor.len_header]
    first = nt.schema.columns[0]
    # the first column record: type (u16), bits (u16), field id (u32) after a record frame size
    pattern = struct.pack("<HHI", first.type, first.bits, first.field)
    offset = header.index(pattern)
    target = _edited_uncompressed(
        tmp_path, {nt.anchor.seek_header + offset: struct.pack("<H", 0x7F)}
    )
    events = afkit.read(target, tree="Contributors")
    undecodable = schema_of(target, tree="Contributors").undecodable
    (listed,) = [u for u in undecodable if u.branch == "firstName"]
    assert "column type 0x7F" in listed.reason
    with pytest.raises(UnknownEncodingError, match="column type 0x7F") as err:
        events.branch("firstName")
    assert str(target) in str(err.value)
    assert events.branch("lastName").tolist()  # the other field is sound


def test_unknown_feature_flag(tmp_path: Path) -> None:
    nt = layout(UNCOMPRESSED)
    flags_at = nt.anchor.seek_header + 8  # after the envelope preamble
    target = _edited_uncompressed(tmp_path, {flags_at: b"\x04"})
    with pytest.raises(UnknownEncodingError, match="feature flag bits \\[2\\]") as err:
        afkit.read(target, tree="Contributors")
    assert str(target) in str(err.value)


def test_future_format_version(tmp_path: Path) -> None:
    source = LocalBytes(str(UNCOMPRESSED))
    key = rntuple_keys(source)["Contributors"]
    start = key.seek + key.keylen + 6  # after the streamed object's byte count and version
    data = bytearray(UNCOMPRESSED.read_bytes())
    data[start : start + 2] = struct.pack(">H", 2)  # epoch 2
    fields = bytes(data[start : start + 64])
    data[start + 64 : start + 72] = struct.pack(">Q", xxhash.xxh3_64_intdigest(fields))
    target = tmp_path / "future.root"
    target.write_bytes(bytes(data))
    clear_open_files()
    with pytest.raises(UnknownEncodingError, match="format version 2") as err:
        afkit.read(target, tree="Contributors")
    assert str(target) in str(err.value)


# -- fuzz ----------------------------------------------------------------------------------


def test_random_byte_flips_never_change_values_silently(tmp_path: Path) -> None:
    """Every byte a value depends on is behind a checksum: a flip raises or changes nothing."""
    original = read_all(MUONS)
    data = MUONS.read_bytes()
    rng = np.random.default_rng(20261203)
    outcomes = {"error": 0, "same": 0}
    for trial in range(200):
        at = int(rng.integers(0, len(data)))
        bit = 1 << int(rng.integers(0, 8))
        target = damaged(tmp_path, MUONS, {at: data[at] ^ bit}, name=f"fuzz{trial}.root")
        try:
            got = read_all(target)
        except AfkitError:
            outcomes["error"] += 1
            continue
        assert got == original, f"flipping bit {bit} of byte {at} changed values silently"
        outcomes["same"] += 1
        target.unlink()
    assert outcomes["error"] > 0
