"""CMS NanoAOD through the same ``afkit.read`` API, against uproot."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import uproot

import afkit


def test_collections_and_event_variables(nano: Path) -> None:
    events = afkit.read(nano)
    assert len(events) == 200
    for name in ("Jet", "Electron", "Muon", "Photon", "Tau", "MET", "PV", "GenPart"):
        assert name in events.fields
    tree = uproot.open(nano)["Events"]
    assert np.array_equal(ak.to_numpy(events.event), tree["event"].array(library="np"))
    assert np.array_equal(ak.to_numpy(events.run), tree["run"].array(library="np"))
    assert np.array_equal(ak.to_numpy(events.MET.pt), tree["MET_pt"].array(library="np"))


def test_every_jagged_field_equals_uproot(nano: Path) -> None:
    events = afkit.read(nano)
    tree = uproot.open(nano)["Events"]
    checked = 0
    for name, spec in events.source.schema.collections.items():
        if spec.single:
            continue
        for f in spec.fields.values():
            assert ak.to_list(events[name][f.name]) == ak.to_list(tree[f.branch].array()), f.branch
            checked += 1
    assert checked > 300


def test_values_are_gev_and_unscaled(nano: Path) -> None:
    events = afkit.read(nano)
    tree = uproot.open(nano)["Events"]
    assert ak.array_equal(events.Jet.pt, tree["Jet_pt"].array())
    assert ak.flatten(events.Jet.pt).layout.dtype == np.float32


def test_four_vectors(nano: Path) -> None:
    events = afkit.read(nano)
    jets = events.Jet[ak.num(events.Jet) >= 2]
    mass = (jets[:, 0] + jets[:, 1]).mass
    assert ak.all(mass > 0)
    assert ak.all(abs(jets.px - jets.pt * np.cos(jets.phi)) < 1e-3)


def test_lists_per_event_without_collection(nano: Path) -> None:
    events = afkit.read(nano)
    tree = uproot.open(nano)["Events"]
    assert ak.to_list(events.LHEPdfWeight) == ak.to_list(tree["LHEPdfWeight"].array())


def test_inspect_exposes_every_branch(nano: Path) -> None:
    summary = afkit.inspect(nano)
    assert summary.format == "nanoaod"
    assert summary.undecodable == ()
