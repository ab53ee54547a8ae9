"""Touching a field reads that branch and nothing else; bytes_read proves it."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot

import afkit
from afkit.io.filespec import clear_open_files


def _compressed(path: Path, tree: str, branches: list[str]) -> int:
    t = uproot.open(path)[tree]
    return sum(int(t[b].compressed_bytes) for b in branches)


@pytest.fixture
def wide_nanoaod(tmp_path: Path) -> Path:
    """A NanoAOD-style file afkit writes itself: 200 branches, 20k events, many baskets."""
    path = tmp_path / "wide.root"
    rng = np.random.default_rng(7)
    n_events, n_fields = 20_000, 40
    counts = rng.poisson(4, n_events)
    branches: dict[str, object] = {}
    for collection in ("Jet", "Electron", "Muon", "Photon", "Tau"):
        for i in range(n_fields):
            branches[f"{collection}_v{i}"] = ak.unflatten(
                rng.normal(50, 20, counts.sum()).astype(np.float32), counts
            )
    with uproot.recreate(path, compression=uproot.ZSTD(5)) as out:
        types = {k: v.type for k, v in branches.items()}  # type: ignore[attr-defined]
        out.mktree("Events", types, counter_name=lambda c: "n" + c.split("_")[0])
        for start in range(0, n_events, 2000):
            out["Events"].extend({k: v[start : start + 2000] for k, v in branches.items()})  # type: ignore[index]
    return path


def test_one_field_reads_one_branch_of_a_wide_file(wide_nanoaod: Path) -> None:
    clear_open_files()
    events = afkit.read(wide_nanoaod)
    assert len(events.source.reader.tree.keys()) > 200
    before = events.bytes_read
    values = ak.to_numpy(ak.flatten(events.Jet.v7))
    touched = ["nJet", "Jet_v7"]
    assert events.branches_read == ["Jet_v7", "nJet"] or set(events.branches_read) == set(touched)
    read = events.bytes_read - before
    assert read <= 1.1 * _compressed(wide_nanoaod, "Events", touched)
    assert len(values) > 0
    # a second field of the same collection adds only its own branch
    before = events.bytes_read
    _ = ak.to_numpy(ak.flatten(events.Jet.v3))
    assert events.bytes_read - before <= 1.1 * _compressed(wide_nanoaod, "Events", ["Jet_v3"])


def test_physlite_anchor_field_reads_exactly_its_branch(r24: Path) -> None:
    clear_open_files()
    events = afkit.read(r24)
    before = events.bytes_read
    ak.to_numpy(ak.flatten(events.Jets.pt))
    assert events.branches_read == ["AnalysisJetsAuxDyn.pt"]
    assert events.bytes_read - before <= 1.1 * _compressed(
        r24, "CollectionTree", ["AnalysisJetsAuxDyn.pt"]
    )


def test_physlite_kinematics_read_only_their_branches(r24: Path) -> None:
    clear_open_files()
    events = afkit.read(r24)
    before = events.bytes_read
    jets = events.Jets
    ak.to_numpy(ak.flatten((jets.pt > 30) & (abs(jets.eta) < 2.5)))
    ak.to_numpy(ak.flatten(jets.phi + jets.m))
    touched = [f"AnalysisJetsAuxDyn.{f}" for f in ("pt", "eta", "phi", "m")]
    assert sorted(events.branches_read) == sorted(touched)
    assert events.bytes_read - before <= 1.1 * _compressed(r24, "CollectionTree", touched)


def test_link_reads_link_target_field_and_counts(r24: Path) -> None:
    """A link target's field: the link, the jets' counts and that field — which also counts
    the b-tagging objects (BTagging has no kinematic field; its branches are all about the
    same size), so no other branch is read only to count them."""
    clear_open_files()
    events = afkit.read(r24)
    ak.to_list(events.Jets.btagging.DL1dv01_pb)
    assert set(events.branches_read) == {
        "AnalysisJetsAuxDyn.btaggingLink.m_persKey",
        "AnalysisJetsAuxDyn.btaggingLink.m_persIndex",
        "AnalysisJetsAuxDyn.pt",  # the jets' object counts (their anchor field)
        "BTagging_AntiKt4EMPFlowAuxDyn.DL1dv01_pb",  # the values, and the objects' counts
    }
    clear_open_files()
    events = afkit.read(r24)
    ak.to_list(events.Jets.btagging)  # every field: counted from the largest branch
    source = events.source
    assert source.offsets("BTagging") is source.offsets("BTagging")
    largest = source.schema.collections["BTagging"].anchor(source.compressed_bytes)
    assert largest is not None
    assert largest.branch == "BTagging_AntiKt4EMPFlowAuxDyn.DL1dv00_pb"


def test_an_anchor_read_already_must_be_near_the_largest_branch() -> None:
    """Without a kinematic field, the counts come from the largest branch, or from one read
    anyway within 10 % of its size — never from a much smaller branch (maybe a sparse
    decoration, stored empty where it was not set)."""
    from afkit.io.schema import CollectionSpec, FieldSpec

    sizes = {"B.big": 1000, "B.near": 950, "B.small": 400}
    spec = CollectionSpec(
        name="B",
        container="B",
        cpp_class=None,
        single=False,
        fields={
            name.split(".")[1]: FieldSpec(
                name=name.split(".")[1], kind="list", branch=name, cpp_type="vector<float>"
            )
            for name in sizes
        },
    )
    anchor = spec.anchor(sizes.__getitem__)
    assert anchor is not None
    assert anchor.branch == "B.big"
    near = spec.anchor(sizes.__getitem__, lambda branch: branch == "B.near")
    assert near is not None
    assert near.branch == "B.near"
    small = spec.anchor(sizes.__getitem__, lambda branch: branch == "B.small")
    assert small is not None
    assert small.branch == "B.big"


def test_nothing_is_read_until_used(r24: Path) -> None:
    clear_open_files()
    events = afkit.read(r24)
    _ = events.Jets, events.TruthTop, events.EventInfo
    assert events.branches_read == []
    # projecting a field needs the collection's object counts (its anchor field), no more
    _ = events.TruthTop.parents
    assert events.branches_read == ["TruthTopAuxDyn.px"]


def test_entry_ranges_are_chunks_of_the_whole(physlite: Path) -> None:
    whole = afkit.read(physlite)
    parts = [afkit.read(physlite, entry_start=s, entry_stop=s + 7) for s in range(0, len(whole), 7)]
    assert sum(len(p) for p in parts) == len(whole)
    assert ak.to_list(ak.concatenate([p.Jets.pt for p in parts])) == ak.to_list(whole.Jets.pt)
    assert ak.to_list(
        ak.concatenate([p.Jets.btagging[p.Jets.btagging.fields[0]] for p in parts])
    ) == ak.to_list(whole.Jets.btagging[whole.Jets.btagging.fields[0]])
    assert [p.entry_range for p in parts][:2] == [(0, 7), (7, 14)]


def test_release_frees_the_decoded_branches_and_reads_again_on_demand(r24: Path) -> None:
    clear_open_files()
    events = afkit.read(r24)
    pt = ak.to_numpy(ak.flatten(events.Jets.pt))
    source = events.source
    assert source.reader.is_cached("jagged", "AnalysisJetsAuxDyn.pt")
    before = events.bytes_read
    events.release()
    assert not source.reader.is_cached("jagged", "AnalysisJetsAuxDyn.pt")
    assert np.array_equal(pt, ak.to_numpy(ak.flatten(events.Jets.pt)))  # still valid
    again = afkit.events.columns(events, {"Jets": ["pt"]}).Jets.pt
    assert np.array_equal(again, pt)
    assert events.bytes_read > before  # read again, not kept
