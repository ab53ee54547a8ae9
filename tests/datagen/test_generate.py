"""The synthetic AGC dataset: determinism, bookkeeping, links, readers, physics."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot

import afkit

pytest.importorskip("ROOT", reason="ROOT not installed (pip install 'afkit[generate]')")

from afkit.datagen.generate import generate
from afkit.datagen.layout import BTAG_KEY
from afkit.fileset import Fileset
from tests.agc_reference import select

PHYSICS_SAMPLES = [
    "ttbar",
    "single_top_s_chan",
    "single_top_t_chan",
    "single_top_tW",
    "wjets",
    "data",
]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Fileset:
    out = tmp_path_factory.mktemp("agc")
    report = generate(
        out,
        events_per_sample=3000,
        luminosity=0.1,
        files_per_sample=2,
        chunk_size=1000,
        samples=PHYSICS_SAMPLES,
        seed=7,
        mu=1.0,
    )
    return Fileset.load(report.fileset_path)


def test_same_seed_same_arrays(tmp_path: Path) -> None:
    a = generate(
        tmp_path / "a", events_per_sample=400, samples=["ttbar"], chunk_size=150, workers=1
    )
    b = generate(
        tmp_path / "b", events_per_sample=400, samples=["ttbar"], chunk_size=150, workers=2
    )
    c = generate(tmp_path / "c", events_per_sample=400, samples=["ttbar"], chunk_size=150, seed=43)
    branches = [
        "AnalysisJetsAuxDyn.pt",
        "AnalysisMuonsAuxDyn.eta",
        "EventInfoAuxDyn.mcEventWeights",
        "InDetTrackParticlesAuxDyn.z0",
    ]
    for name in ("ttbar/ttbar_000.root", "ttbar/ttbar_001.root"):
        ta, tb, tc = (
            uproot.open(r.fileset_path.parent / name)["CollectionTree"] for r in (a, b, c)
        )
        for branch in branches:
            assert ak.array_equal(ta[branch].array(), tb[branch].array()), branch
        assert not ak.array_equal(
            ta["AnalysisJetsAuxDyn.pt"].array(), tc["AnalysisJetsAuxDyn.pt"].array()
        )


def test_fileset_counts_equal_file_entries(dataset: Fileset) -> None:
    numbers = []
    for sample in dataset.samples.values():
        assert len(sample.files) == 2
        for entry in sample.files:
            tree = uproot.open(dataset.resolve(entry))[entry.tree]
            assert tree.num_entries == entry.events
            numbers.append(tree["EventInfoAuxDyn.eventNumber"].array(library="np"))
    numbers = np.concatenate(numbers)
    assert len(np.unique(numbers)) == len(numbers)  # unique across the dataset
    assert dataset.samples["ttbar"].events == 3000


def test_sumw_equals_the_sum_of_nominal_weights(dataset: Fileset) -> None:
    for sample in dataset.samples.values():
        if sample.is_data:
            continue
        total = 0.0
        for entry in sample.files:
            weights = uproot.open(dataset.resolve(entry))["CollectionTree"][
                "EventInfoAuxDyn.mcEventWeights"
            ].array()
            first = ak.to_numpy(weights[:, 0])
            assert first.dtype == np.float32
            total += float(first.astype(np.float64).sum())
        assert sample.sumw == pytest.approx(total, rel=1e-12)
    wjets = uproot.open(dataset.resolve(dataset.samples["wjets"].files[0]))["CollectionTree"]
    assert ak.any(wjets["EventInfoAuxDyn.mcEventWeights"].array()[:, 0] < 0)  # NLO-like negatives


def test_data_is_drawn_per_process_and_has_no_mc_branches(dataset: Fileset) -> None:
    data = dataset.samples["data"]
    assert data.is_data
    assert data.injected_mu == 1.0
    assert data.events == sum(data.composition.values())
    expected_ttbar = 729.84 * 0.1
    assert abs(data.composition["ttbar"] - expected_ttbar) < 5 * np.sqrt(expected_ttbar)
    tree = uproot.open(dataset.resolve(data.files[0]))["CollectionTree"]
    assert "EventInfoAuxDyn.mcEventWeights" not in set(tree.keys())


def test_links_resolve_to_the_right_btagging_entries(dataset: Fileset) -> None:
    events = afkit.read(dataset.resolve(dataset.samples["ttbar"].files[0]))
    link = events.Jets.btaggingLink
    assert ak.all(ak.flatten(link.m_persKey) == BTAG_KEY)
    assert ak.array_equal(ak.local_index(events.Jets.pt), link.m_persIndex, dtype_exact=False)
    resolved = events.Jets.btagging.DL1dv01_pb
    assert not ak.any(ak.is_none(resolved, axis=1))  # every jet has its b-tagging object
    assert ak.to_list(resolved) == ak.to_list(events.BTagging.DL1dv01_pb)
    assert afkit.inspect(dataset.resolve(dataset.samples["ttbar"].files[0])).undecodable == ()


def test_coffea_physlite_schema_opens_a_generated_file(dataset: Fileset) -> None:
    nanoevents = pytest.importorskip("coffea.nanoevents")
    path = dataset.resolve(dataset.samples["ttbar"].files[0])
    events = nanoevents.NanoEventsFactory.from_root(
        {path: "CollectionTree"}, schemaclass=nanoevents.PHYSLITESchema, mode="eager"
    ).events()
    ours = afkit.read(path, units="MeV")
    assert len(events) == len(ours)
    assert ak.array_equal(events.Jets.pt, ours.Jets.pt, check_parameters=False)
    assert ak.array_equal(events.Electrons.eta, ours.Electrons.eta, check_parameters=False)


def test_ttbar_peaks_at_the_top_mass_and_dominates_4j2b(dataset: Fileset) -> None:
    yields: dict[str, float] = {}
    peaks: dict[str, float] = {}
    for name in ("ttbar", "wjets", "single_top_t_chan"):
        sample = dataset.samples[name]
        masses, total = [], 0.0
        for entry in sample.files:
            sel = select(dataset.resolve(entry))
            region = sel["4j2b"]
            masses.append(ak.to_numpy(sel["m_bjj"][region]))
            total += float(ak.sum(sel["mc_weight"][region])) * sample.weight_scale()
        m = np.concatenate(masses)
        yields[name] = total
        counts, edges = np.histogram(m, bins=25, range=(50, 550))
        peaks[name] = float(edges[np.argmax(counts)] + 10) if len(m) else float("nan")
    assert 150 <= peaks["ttbar"] <= 200, peaks
    assert not 150 <= peaks["wjets"] <= 200 or yields["wjets"] < 0.05 * yields["ttbar"], peaks
    assert yields["ttbar"] > 0.6 * sum(yields.values()), yields


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(afkit.ConfigError, match="unknown samples"):
        generate(tmp_path, samples=["zjets"])
    with pytest.raises(afkit.ConfigError, match="events_per_sample"):
        generate(tmp_path, events_per_sample=0)
    with pytest.raises(afkit.ConfigError, match="compression"):
        generate(tmp_path, compression="brotli")
