"""Unsplit static aux objects (early r21 ``EventInfoAux.``), decoded from the file's streamers.

No development file stores EventInfoAux unsplit, so entries are encoded here by the layout
rules of the format note (a header per class: byte count, version, and for foreign classes
version 0 plus the streamer checksum) from the *split* members of the real r21 file, with
that file's real streamer infos — and must decode back to the split branches' values.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import uproot

from afkit.exceptions import DecodeError, UnknownEncodingError
from afkit.io.physlite.static_objects import decode_static_objects, object_plan

CLASS = "xAOD::EventAuxInfo_v1"
FOREIGN = {
    "SG::IAuxStore",
    "SG::IConstAuxStore",
    "SG::IAuxStoreIO",
    "SG::IAuxStoreHolder",
    "ILockable",
    "xAOD::AuxInfoBase",
}
FMT = {
    1: "b",
    2: "h",
    3: "i",
    4: "q",
    5: "f",
    8: "d",
    11: "B",
    12: "H",
    13: "I",
    14: "Q",
    16: "q",
    17: "Q",
    18: "?",
}


def _encode(file, name: str, values: dict[str, object]) -> bytes:  # type: ignore[no-untyped-def]
    """Stream one object the way ROOT does for these classes (reference encoder for the test)."""
    streamer = file.streamer_named(name)
    body = b""
    for element in streamer.elements:
        kind = type(element).__name__
        if kind == "Model_TStreamerBase":
            body += _encode(file, element.name, values)
        elif kind == "Model_TStreamerBasicType":
            body += struct.pack(">" + FMT[int(element.member("fType"))], values[element.name])
        elif kind == "Model_TStreamerSTL":  # an empty vector: byte count, version, n = 0
            body += struct.pack(">IHI", 0x40000000 | 6, 6, 0)
        else:
            raise AssertionError(kind)
    if name in FOREIGN:
        header = struct.pack(">HI", 0, streamer.member("fCheckSum"))
    else:
        header = struct.pack(">H", streamer.class_version)
    payload = header + body
    return struct.pack(">I", 0x40000000 | len(payload)) + payload


@pytest.fixture(scope="module")
def split_values(r21: Path):  # type: ignore[no-untyped-def]
    handle = uproot.open(r21)
    tree = handle["CollectionTree"]
    plan = object_plan(handle.file, CLASS)
    columns = {name: tree[f"EventInfoAux.{name}"].array(library="np") for name, _ in plan.members}
    return handle.file, plan, columns


def test_plan_covers_the_event_numbers(split_values) -> None:  # type: ignore[no-untyped-def]
    _, plan, _ = split_values
    names = [n for n, _ in plan.members]
    assert names[:3] == ["runNumber", "eventNumber", "lumiBlock"]
    assert dict(plan.members)["eventNumber"] == np.dtype("u8")


def test_unsplit_entries_decode_to_the_split_values(split_values) -> None:  # type: ignore[no-untyped-def]
    file, plan, columns = split_values
    n = len(columns["runNumber"])
    entries = [_encode(file, CLASS, {k: v[i].item() for k, v in columns.items()}) for i in range(n)]
    # the five foreign interface bases add 4 checksum bytes each: the 20 bytes uproot trips on
    assert (
        entries[0].count(struct.pack(">I", file.streamer_named("ILockable").member("fCheckSum")))
        == 1
    )
    data = np.frombuffer(b"".join(entries), np.uint8)
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum([len(e) for e in entries], out=offsets[1:])
    decoded = decode_static_objects(data, offsets, plan, what="EventInfoAux.")
    for name, values in columns.items():
        assert np.array_equal(decoded[name], values, equal_nan=True), name


def test_a_short_entry_is_an_error(split_values) -> None:  # type: ignore[no-untyped-def]
    file, plan, columns = split_values
    entry = _encode(file, CLASS, {k: v[0].item() for k, v in columns.items()})
    broken = struct.pack(">I", 0x40000000 | (len(entry) - 8)) + entry[4:-4]
    with pytest.raises(DecodeError, match="entry 0"):
        decode_static_objects(
            np.frombuffer(broken, np.uint8), np.array([0, len(broken)]), plan, "x"
        )


def test_unknown_class_is_reported(split_values) -> None:  # type: ignore[no-untyped-def]
    file, _, _ = split_values
    with pytest.raises(UnknownEncodingError, match="no streamer info"):
        object_plan(file, "xAOD::NotAClass_v7")
