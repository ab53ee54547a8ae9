"""The generator's branches for the AGC ML step (spec §8.9): truth labels and track counts
drawn from a stream of their own, every other branch as before, muons without a mass."""

from __future__ import annotations

import json
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot

import afkit
from afkit.datagen.generate import generate
from tests.datagen.fingerprint import ARGUMENTS, fingerprint

HERE = Path(__file__).parent
#: Branches the ML step added (new) or took away (muons store no mass, as in real PHYSLITE).
ADDED = {"AnalysisJetsAuxDyn.DFCommonJets_QGTagger_NTracks", "AnalysisJetsAuxDyn.AGCPartonLabel"}
REMOVED = {"AnalysisMuonsAuxDyn.m"}


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ml-branches")
    generate(root, **ARGUMENTS)  # type: ignore[arg-type]
    return root


def test_every_other_branch_is_as_before_the_ml_branches(generated: Path) -> None:
    """The fingerprint was taken with the generator before the ML branches existed."""
    before = json.loads((HERE.parent / "data" / "generated_fingerprint.json").read_text())
    after = fingerprint(generated)
    assert sorted(after) == sorted(before)
    for name, branches in before.items():
        assert set(after[name]) - set(branches) <= ADDED
        assert set(branches) - set(after[name]) == REMOVED
        changed = [b for b in branches if b in after[name] and after[name][b] != branches[b]]
        assert changed == [], name


def _jets(path: Path, mc: bool) -> ak.Array:
    names = ["pt", "DFCommonJets_QGTagger_NTracks"] + (["AGCPartonLabel"] if mc else [])
    with uproot.open(path) as file:
        tree = file["CollectionTree"]
        return ak.zip({n: tree[f"AnalysisJetsAuxDyn.{n}"].array() for n in names})


def test_labels_and_track_counts_follow_the_spec(generated: Path) -> None:
    jets = _jets(generated / "ttbar" / "ttbar_000.root", mc=True)
    label = ak.to_numpy(ak.flatten(jets.AGCPartonLabel))
    assert set(np.unique(label)) == {0, 24, 6, -6}
    # a ttbar event has two top b's: one of each kind in l+jets, never more than two
    per_event = {v: ak.to_numpy(ak.sum(jets.AGCPartonLabel == v, axis=1)) for v in (6, -6)}
    assert (per_event[6] + per_event[-6] <= 2).all()
    assert (per_event[6] <= 2).all()
    assert (per_event[-6] <= 2).all()
    # N ~ Poisson(c ln(pt / GeV)): the mean of N / ln(pt) estimates c per kind
    ntrk = ak.to_numpy(ak.flatten(jets.DFCommonJets_QGTagger_NTracks)).astype(float)
    log_pt = np.log(ak.to_numpy(ak.flatten(jets.pt)).astype(float) / 1000.0)
    for value, c in ((24, 2.0), (6, 2.4), (-6, 2.4)):
        chosen = label == value
        estimate = ntrk[chosen].sum() / log_pt[chosen].sum()
        assert abs(estimate - c) < 0.1 * c, (value, estimate)
    gluon_like = ntrk[label == 0].sum() / log_pt[label == 0].sum()
    assert gluon_like > 2.4  # radiation (3.2) dominates the 0-labelled jets over pile-up (0.7)


def test_data_has_track_counts_but_no_truth(generated: Path) -> None:
    with uproot.open(generated / "data" / "data_000.root") as file:
        names = set(file["CollectionTree"].keys())
    assert "AnalysisJetsAuxDyn.DFCommonJets_QGTagger_NTracks" in names
    assert "AnalysisJetsAuxDyn.AGCPartonLabel" not in names


def test_muons_get_the_pdg_mass_from_the_event_model(generated: Path) -> None:
    events = afkit.read(generated / "ttbar" / "ttbar_000.root")
    muons = events.Muons
    assert ak.sum(ak.num(muons)) > 0
    assert np.all(ak.to_numpy(ak.flatten(muons.m)) == 0.1056583755)  # GeV
    assert np.all(ak.to_numpy(ak.flatten(muons.mass)) == pytest.approx(0.1056583755))
