"""Early release-21 files store ``EventInfoAux.`` unsplit: one streamed object per event.

The file is written by ROOT itself from a dictionary of ``xAOD::EventAuxInfo_v1`` with the
real class layout (same streamer checksums as the release-21 file in tests/data), so the
bytes are ROOT's own; the values afkit decodes must equal what ROOT reads back.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import uproot

import afkit

pytest.importorskip("ROOT", reason="ROOT writes the test file (pip install root)")


@pytest.fixture(scope="module")
def unsplit(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, np.ndarray]]:
    from tests.root_writer import write_unsplit_event_info

    folder = tmp_path_factory.mktemp("unsplit")
    path = folder / "early_r21_event_info.root"
    expected = write_unsplit_event_info(path, 23, folder / "build")
    return path, expected


def test_the_file_really_is_unsplit_and_uproot_cannot_read_it(unsplit) -> None:  # type: ignore[no-untyped-def]
    path, _ = unsplit
    branch = uproot.open(path)["CollectionTree"]["EventInfoAux."]
    assert branch.member("fSplitLevel") == 0
    assert not branch.branches
    with pytest.raises(Exception):  # noqa: B017, PT011 - uproot's own failure, whatever it is
        branch.array(library="np")


def test_event_numbers_equal_what_root_reads(unsplit) -> None:  # type: ignore[no-untyped-def]
    path, expected = unsplit
    info = afkit.read(path).EventInfo
    for name, values in expected.items():
        got = info[name].to_numpy()
        assert got.dtype == values.dtype, name
        assert np.array_equal(got, values), name
    assert info.mcEventWeights[:, 0].to_numpy().tolist() == [
        1.0 + 0.125 * i for i in range(len(expected["runNumber"]))
    ]


def test_a_chunk_reads_its_own_entries(unsplit) -> None:  # type: ignore[no-untyped-def]
    path, expected = unsplit
    info = afkit.read(path, entry_start=5, entry_stop=17).EventInfo
    assert np.array_equal(info.eventNumber.to_numpy(), expected["eventNumber"][5:17])


def test_damaged_entries_are_an_error_never_values(unsplit, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Cut entries decode to an error: every entry must end exactly where its bytes do."""
    from afkit.io.physlite.static_objects import decode_static_objects, object_plan

    path, _ = unsplit
    handle = uproot.open(path)
    plan = object_plan(handle.file, "xAOD::EventAuxInfo_v1")
    reader = afkit.read(path).source.reader
    data, offsets = reader.raw("EventInfoAux.")
    whole = decode_static_objects(data, offsets, plan, what="EventInfoAux.")
    assert len(whole["runNumber"]) == 23
    short = offsets.copy()
    short[1:] -= 3  # every entry three bytes short of its object
    short[0] = 0
    with pytest.raises(afkit.DecodeError, match="entry 0"):
        decode_static_objects(data[: short[-1]], short, plan, what="EventInfoAux.")
