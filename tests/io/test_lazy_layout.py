"""The event record's awkward layout is made on demand, one collection at a time.

A collection taken from the deferred events must be exactly what the fully built record
holds (same type, same values); using the events as an array builds the record once; bad
names fail the same way either way.
"""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import pytest

import afkit
from afkit.events.model import LazyModel
from afkit.exceptions import MissingCollectionError


def _fully_built(path: Path) -> ak.Array:
    events = afkit.read(path, entry_stop=40)
    _ = events[:]  # used as an array: the whole record is built
    return events


@pytest.mark.parametrize("which", ["r21", "r24", "nano"])
def test_each_collection_equals_the_fully_built_record(
    which: str, request: pytest.FixtureRequest
) -> None:
    path = request.getfixturevalue(which)
    full = _fully_built(path)
    for name in full.fields:
        lazy = afkit.read(path, entry_stop=40)[name]  # a fresh chunk, only this collection
        assert str(lazy.type) == str(full[name].type), name
        assert type(lazy) is type(full[name]), name
        assert ak.array_equal(lazy, full[name], equal_nan=True), name


def test_a_collection_does_not_build_the_record(r24: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: LazyModel) -> ak.Array:
        raise AssertionError("the whole event record was built")

    monkeypatch.setattr(LazyModel, "full", refuse)
    events = afkit.read(r24, entry_stop=30)
    assert len(events) == 30
    assert "AnalysisJets" in events.fields or "Jets" in events.fields
    jets = events.Jets if "Jets" in events.fields else events.AnalysisJets
    assert len(ak.flatten(jets.pt)) >= 0
    assert events.source.num_entries == 30
    with pytest.raises(AssertionError, match="whole event record"):
        events[:5]  # slicing needs the record


def test_the_record_is_built_once_and_keeps_its_source(r24: Path) -> None:
    events = afkit.read(r24, entry_stop=30)
    source = events.source
    first = events[:10]
    assert isinstance(first, afkit.Events)
    assert first.source is source
    assert events.fields == first.fields
    assert len(ak.num(events[events.fields[0]], axis=0) * [1]) >= 0
    assert events.layout is events.layout  # built once


@pytest.mark.parametrize("build_first", [False, True])
def test_unknown_collection_names_the_closest(r24: Path, build_first: bool) -> None:
    events = afkit.read(r24, entry_stop=5)
    if build_first:
        _ = events[:]
    for access in (lambda: events.Jetz, lambda: events["Jetz"]):
        with pytest.raises(MissingCollectionError, match="Jets"):
            access()


def test_a_finished_chunk_is_freed_without_the_cycle_collector(r24: Path) -> None:
    """A chunk's buffers (megabytes per chunk) must go when its events go: no reference
    cycle may keep its source alive until Python's cycle collector happens to run."""
    import gc
    import weakref

    gc.collect()
    gc.disable()
    try:
        events = afkit.read(r24, entry_stop=30)
        jets = events.Jets if "Jets" in events.fields else events.AnalysisJets
        _ = ak.sum(ak.num(jets.btagging.DL1dv01_pb, axis=1))  # resolves a link
        _ = events[:5]  # builds the whole record
        source = weakref.ref(events.source)
        del events, jets, _
        assert source() is None
    finally:
        gc.enable()


def test_a_file_left_by_the_open_file_cache_frees_its_tree(tmp_path: Path, r24: Path) -> None:
    """Files beyond the open-file cache are closed; their decoded trees (the tree record,
    branch metadata) must go then, not when the cycle collector happens to run."""
    import gc
    import shutil
    import weakref

    from afkit.io import filespec

    copies = []
    for i in range(filespec._OPEN_CACHE_SIZE + 1):
        copies.append(tmp_path / f"copy{i}.root")
        shutil.copy(r24, copies[-1])
    filespec.clear_open_files()
    gc.collect()
    gc.disable()
    try:
        first = afkit.read(copies[0], entry_stop=5)
        tree = weakref.ref(first.source.reader.handle)
        del first
        assert tree() is not None  # still cached
        for path in copies[1:]:
            afkit.read(path, entry_stop=5)  # the first file leaves the cache
        assert tree() is None
    finally:
        gc.enable()
        filespec.clear_open_files()
