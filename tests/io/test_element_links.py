"""ElementLinks: keys, the four encodings, and resolution — against bytes and plain loops.

Reference values marked "hand-decoded" were read off the raw entry bytes printed in hex
(layouts in shared/spec/physlite-format.md) and are written here literally.
"""

from __future__ import annotations

import struct
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot

import afkit
from afkit.io.physlite import streamers
from afkit.io.physlite.storegate import CONTAINER_CLIDS, element_class, storegate_key

RAW = uproot.AsJagged(uproot.AsDtype("u1"), header_bytes=0)
JET_KEY = 0x1AFD1919  # hand-decoded from METAssoc_AnalysisMETAux.jetLink entry 0
VERTEX_KEY = 0x37D14597  # hand-decoded from EventInfoAuxDyn.hardScatterVertexLink entry 0


@pytest.mark.parametrize(
    ("name", "clid", "key"),
    [
        ("GSFTrackParticles", 1287425431, 776133387),
        ("CombinedMuonTrackParticles", 1287425431, 873304470),
        ("InDetTrackParticles", 1287425431, 490246363),
        ("egammaClusters", 1219821989, 360221983),
        ("TruthElectrons", 1237340765, 394100163),
        ("TruthTaus", 1237340765, 375408000),
        ("TruthParticles", 1237340765, 662974859),
    ],
)
def test_storegate_keys_of_the_format_note(name: str, clid: int, key: int) -> None:
    assert storegate_key(name, clid) == key


def _all_entry_bytes(path: Path, branch: str) -> list[bytes]:
    node = uproot.open(path)["CollectionTree"][branch]
    if node.num_baskets == 0 and len(node.branches) == 1:
        node = node.branches[0]  # split-level-1 wrapper: the data sits in a same-named child
    return [bytes(np.asarray(entry)) for entry in node.array(RAW)]


def _entry_bytes(path: Path, branch: str, entry: int) -> bytes:
    return _all_entry_bytes(path, branch)[entry]


def _event_format(path: Path) -> list[streamers.EventFormatEntry]:
    meta = uproot.open(path)["MetaData"]
    name = next(n for n in meta.keys(recursive=False) if n.startswith("EventFormat"))
    return streamers.decode_event_format(bytes(np.asarray(meta[name].array(RAW, entry_stop=1)[0])))


def test_event_format_keys_equal_computed_keys(physlite: Path) -> None:
    entries = _event_format(physlite)
    assert len(entries) > 50
    checked = 0
    for entry in entries:
        cls = element_class(entry.cpp_class)
        if cls in CONTAINER_CLIDS:
            assert storegate_key(entry.branch, CONTAINER_CLIDS[cls]) == entry.key, entry
            checked += 1
    assert checked >= 15


def test_encoding3_hard_scatter_vertex_link(r24: Path) -> None:
    raw = _entry_bytes(r24, "EventInfoAuxDyn.hardScatterVertexLink", 0)
    # hand-decoded: byte count 14 | version 0 | checksum | key | index
    assert raw.hex() == "4000000e0000feb3df9e37d1459700000000"
    assert storegate_key("PrimaryVertices", CONTAINER_CLIDS["xAOD::Vertex"]) == VERTEX_KEY

    events = afkit.read(r24)
    link = events.EventInfo.hardScatterVertexLink
    assert link.m_persKey[0] == VERTEX_KEY
    assert link.m_persIndex[0] == 0
    # every entry, against an independent struct decode of its 18 bytes
    for entry, data in enumerate(_all_entry_bytes(r24, "EventInfoAuxDyn.hardScatterVertexLink")):
        bc, version, _, key, index = struct.unpack(">IHIII", data)
        assert (bc, version) == (0x4000000E, 0)
        assert (link.m_persKey[entry], link.m_persIndex[entry]) == (key, index)
    vertex = events.EventInfo.hardScatterVertex
    expected_z = [events.PrimaryVertices.z[e][link.m_persIndex[e]] for e in range(len(events))]
    assert ak.to_list(vertex.z) == expected_z


def test_encoding4_member_wise_met_jet_link(r24: Path) -> None:
    entry0 = _entry_bytes(r24, "METAssoc_AnalysisMETAux.jetLink", 0)
    assert entry0[:16].hex() == "4000005c40090000a706700b0000000a"  # bc, ver|0x4000, 0, chk, n=10
    events = afkit.read(r24)
    links = events.METAssociations.jetLink
    # hand-decoded: 9 links into AnalysisJets then the invalid terminator, keys before indices
    assert ak.to_list(links.m_persKey[0]) == [JET_KEY] * 9 + [0]
    assert ak.to_list(links.m_persIndex[0]) == [*range(9), 0xFFFFFFFF]
    assert ak.to_list(links.m_persKey[1]) == [JET_KEY] * 7 + [0]
    assert ak.to_list(links.m_persIndex[1]) == [*range(7), 0xFFFFFFFF]
    assert storegate_key("AnalysisJets", CONTAINER_CLIDS["xAOD::Jet"]) == JET_KEY
    # uproot cannot read this encoding: afkit must not depend on it
    with pytest.raises(ValueError, match="wrong number of bytes"):
        uproot.open(r24)["CollectionTree"]["METAssoc_AnalysisMETAux.jetLink"].array()
    # resolved: the linked jet's pt, or None for the terminator
    jets = events.Jets.pt
    for e in range(len(events)):
        expected = [
            jets[e][i] if k == JET_KEY and i < len(jets[e]) else None
            for k, i in zip(links.m_persKey[e], links.m_persIndex[e], strict=True)
        ]
        assert ak.to_list(events.METAssociations.jet.pt[e]) == expected


def test_encoding2_equals_uproot_object_reading(physlite: Path) -> None:
    events = afkit.read(physlite)
    tree = uproot.open(physlite)["CollectionTree"]
    checked = 0
    for name, spec in events.source.schema.collections.items():
        for f in spec.fields.values():
            if f.kind != "link_nested":
                continue
            ref = tree[f.branch].array()
            mine = events[name][f.name]
            assert ak.to_list(mine.m_persKey) == ak.to_list(ref.m_persKey), f.branch
            assert ak.to_list(mine.m_persIndex) == ak.to_list(ref.m_persIndex), f.branch
            checked += 1
    assert checked >= 10


def test_r21_split_met_jet_link_equals_uproot(r21: Path) -> None:
    events = afkit.read(r21)
    tree = uproot.open(r21)["CollectionTree"]
    assert events.source.schema.collections["METAssociations"].fields["jetLink"].kind == "link"
    assert ak.to_list(events.METAssociations.jetLink.m_persKey) == ak.to_list(
        tree["METAssoc_AnalysisMETAux.jetLink.m_persKey"].array()
    )


def _plain_resolution(keys, indices, targets):  # type: ignore[no-untyped-def]
    """Reference: per event, follow each (key, index) by hand into {key: per-event lists}."""
    out = []
    for e in range(len(keys)):
        row = []
        for k, i in zip(keys[e], indices[e], strict=True):
            values = targets.get(int(k))
            row.append(values[e][i] if values is not None and i < len(values[e]) else None)
        out.append(row)
    return out


def test_jets_resolve_to_their_btagging(physlite: Path) -> None:
    events = afkit.read(physlite)
    btag = events.BTagging
    name = "DL1dv01_pb" if "DL1dv01_pb" in btag.fields else "DL1r_pb"
    container = events.source.schema.collections["BTagging"].container
    key = storegate_key(container, CONTAINER_CLIDS["xAOD::BTagging"])
    link = events.Jets.btaggingLink
    expected = _plain_resolution(
        ak.to_list(link.m_persKey), ak.to_list(link.m_persIndex), {key: ak.to_list(btag[name])}
    )
    assert ak.to_list(events.Jets.btagging[name]) == expected
    assert sum(v is not None for row in expected for v in row) == ak.sum(ak.num(events.Jets))


def test_truth_parents_and_children_resolve_across_containers(r24: Path) -> None:
    events = afkit.read(r24)
    schema = events.source.schema
    truth = {
        s.container: name
        for name, s in schema.collections.items()
        if s.element_class == "xAOD::TruthParticle"
    }
    by_key = {e.key: truth[e.branch] for e in _event_format(r24) if e.branch in truth}
    targets = {k: ak.to_list(events[name].pdgId) for k, name in by_key.items()}
    for collection in ("TruthTop", "TruthBoson", "TruthBottom", "TruthElectrons"):
        for field, resolved in (("parentLinks", "parents"), ("childLinks", "children")):
            links = events[collection][field]
            keys, indices = ak.to_list(links.m_persKey), ak.to_list(links.m_persIndex)
            expected = [
                [
                    [
                        targets[k][e][i] if k in targets and i < len(targets[k][e]) else None
                        for k, i in zip(obj_keys, obj_indices, strict=True)
                    ]
                    for obj_keys, obj_indices in zip(keys[e], indices[e], strict=True)
                ]
                for e in range(len(events))
            ]
            assert ak.to_list(events[collection][resolved].pdgId) == expected, (collection, field)
    # physics sanity: tops decay to W and b
    children = ak.flatten(abs(events.TruthTop.children.pdgId), axis=None)
    assert {5, 24} <= set(ak.to_list(children))


def test_dangling_links_are_missing_never_guessed(physlite: Path) -> None:
    events = afkit.read(physlite)
    # lepton truthParticleLink points to TruthParticles, which PHYSLITE does not keep
    assert "TruthParticles" not in events.fields
    resolved = events.Muons.truthParticle if "truthParticle" in events.Muons.fields else None
    if resolved is not None:
        assert ak.all(ak.is_none(resolved.pdgId, axis=1))
    keys = ak.flatten(events.Muons.truthParticleLink.m_persKey)
    assert ak.any(keys != 0)  # most are valid links: only their target container is absent


def test_invalid_index_is_missing(r24: Path) -> None:
    events = afkit.read(r24)
    jet = events.METAssociations.jet
    index = events.METAssociations.jetLink.m_persIndex
    assert ak.all(ak.is_none(jet, axis=1) == (index == 0xFFFFFFFF))


def test_resolved_targets_only_hold_fields_every_candidate_has(physlite: Path) -> None:
    """Regression: a float64 field of one candidate was taken as common to all, because
    numpy compares ``None == dtype('float64')`` as True; following such a link failed."""
    from afkit.events.linking import target_fields
    from afkit.io.open import schema_of
    from afkit.io.physlite.schema import link_candidates

    schema = schema_of(physlite)
    checked = 0
    for collection in schema.collections.values():
        for f in collection.fields.values():
            if f.link_class is None:
                continue
            candidates = link_candidates(f.link_class, schema)
            for name in target_fields(schema, candidates, True):
                for c in candidates:
                    assert name in schema.collections[c].fields, (f.branch, name, c)
                checked += 1
    assert checked > 0
