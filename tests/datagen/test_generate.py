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
        chunksize=1000,
        samples=PHYSICS_SAMPLES,
        seed=7,
        mu=1.0,
    )
    return Fileset.load(report.fileset_path)


@pytest.fixture(scope="module")
def wjets_large(tmp_path_factory: pytest.TempPathFactory) -> Fileset:
    """Enough W+jets MC for a shape statement in the four-jet regions."""
    out = tmp_path_factory.mktemp("wjets")
    report = generate(
        out,
        events_per_sample=15_000,
        luminosity=0.1,
        files_per_sample=2,
        samples=["wjets"],
        seed=11,
    )
    return Fileset.load(report.fileset_path)


def test_same_seed_same_arrays(tmp_path: Path) -> None:
    a = generate(tmp_path / "a", events_per_sample=400, samples=["ttbar"], chunksize=150, workers=1)
    b = generate(tmp_path / "b", events_per_sample=400, samples=["ttbar"], chunksize=150, workers=2)
    c = generate(tmp_path / "c", events_per_sample=400, samples=["ttbar"], chunksize=150, seed=43)
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


_COFFEA_READS = """
import json, sys
import awkward as ak
from coffea import nanoevents
events = nanoevents.NanoEventsFactory.from_root(
    {sys.argv[1]: "CollectionTree"}, schemaclass=nanoevents.PHYSLITESchema, mode="eager"
).events()
print(json.dumps({"jets_pt": ak.to_list(events.Jets.pt),
                  "electrons_eta": ak.to_list(events.Electrons.eta)}))
"""


def test_coffea_physlite_schema_opens_a_generated_file(dataset: Fileset) -> None:
    """In a process of its own, as a user opens it: uproot keeps one model per class name
    and version for a whole process, so after a real release-24 file has defined
    ``DataVector<xAOD::Jet_v1>`` (other tests read one) coffea would skip this file's
    ``AnalysisJets`` interface branch with a warning."""
    import json
    import subprocess
    import sys

    pytest.importorskip("coffea.nanoevents")
    path = dataset.resolve(dataset.samples["ttbar"].files[0])
    done = subprocess.run(
        [sys.executable, "-W", "error::UserWarning", "-c", _COFFEA_READS, str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    theirs = json.loads(done.stdout.strip().splitlines()[-1])
    ours = afkit.read(path, units="MeV")
    assert len(theirs["jets_pt"]) == len(ours)
    assert ak.array_equal(ak.Array(theirs["jets_pt"]), ours.Jets.pt, check_parameters=False,
                          dtype_exact=False)  # fmt: skip
    assert ak.array_equal(ak.Array(theirs["electrons_eta"]), ours.Electrons.eta,
                          check_parameters=False, dtype_exact=False)  # fmt: skip


def _m_bjj(dataset: Fileset, name: str) -> dict[str, np.ndarray]:
    """m_bjj and normalised weights of a sample's events in 4j2b and in 4j1b or 4j2b."""
    sample = dataset.samples[name]
    parts: dict[str, list[np.ndarray]] = {"m2": [], "w2": [], "m": [], "w": []}
    for entry in sample.files:
        sel = select(dataset.resolve(entry))
        weight = ak.to_numpy(sel["mc_weight"]).astype(np.float64) * sample.weight_scale()
        mass = ak.to_numpy(ak.fill_none(sel["m_bjj"], -1.0))
        two, any_b = ak.to_numpy(sel["4j2b"]), ak.to_numpy(sel["4j2b"] | sel["4j1b"])
        parts["m2"].append(mass[two])
        parts["w2"].append(weight[two])
        parts["m"].append(mass[any_b])
        parts["w"].append(weight[any_b])
    return {k: np.concatenate(v) for k, v in parts.items()}


def test_ttbar_peaks_at_the_top_mass_and_dominates_4j2b(
    dataset: Fileset, wjets_large: Fileset
) -> None:
    hists = {
        name: _m_bjj(dataset, name)
        for name in ("ttbar", "wjets", "single_top_s_chan", "single_top_t_chan", "single_top_tW")
    }
    wjets_shape = _m_bjj(wjets_large, "wjets")
    counts, edges = np.histogram(
        hists["ttbar"]["m2"], bins=25, range=(50, 550), weights=hists["ttbar"]["w2"]
    )
    peak = edges[np.argmax(counts)]
    assert peak >= 150, peak
    assert peak + 20 <= 200, peak  # the whole 20 GeV bin lies inside [150, 200]

    def near_top(h: dict[str, np.ndarray]) -> float:
        inside = (h["m"] >= 150) & (h["m"] < 200)
        return float(np.sum(h["w"][inside]) / np.sum(h["w"]))

    # W+jets has no top: far less of its m_bjj sits at the top mass
    assert len(wjets_shape["m"]) >= 100  # enough W+jets MC events thanks to biased sampling
    assert near_top(wjets_shape) < 0.6 * near_top(hists["ttbar"])
    yields = {name: float(np.sum(h["w2"])) for name, h in hists.items()}
    assert yields["ttbar"] > 0.7 * sum(yields.values()), yields


def test_wjets_enhanced_sampling_keeps_the_weighted_spectrum() -> None:
    from afkit.datagen import physics

    n = 400_000
    plain = physics.wjets(np.random.default_rng(1), n, enhanced=False)
    enhanced = physics.wjets(np.random.default_rng(2), n, enhanced=True)
    jets_plain = np.bincount(
        plain.jets.finish(n)[0][1:] - plain.jets.finish(n)[0][:-1], minlength=12
    )
    off = enhanced.jets.finish(n)[0]
    jets_enh = np.bincount(np.diff(off), weights=enhanced.weight_factor, minlength=12)
    assert np.mean(enhanced.weight_factor) == pytest.approx(1.0, abs=0.01)
    # weighted multiplicity distributions agree within statistics (relative, n <= 5)
    for k in range(6):
        assert jets_enh[k] == pytest.approx(
            jets_plain[k], rel=0.05 + 3 / np.sqrt(jets_plain[k] + 1)
        )
    # and the enhanced sample has many more high-multiplicity events
    assert np.sum(np.diff(off) >= 6) > 5 * np.sum(np.diff(plain.jets.finish(n)[0]) >= 6)


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(afkit.ConfigError, match="unknown samples"):
        generate(tmp_path, samples=["zjets"])
    with pytest.raises(afkit.ConfigError, match="events_per_sample"):
        generate(tmp_path, events_per_sample=0)
    with pytest.raises(afkit.ConfigError, match="compression"):
        generate(tmp_path, compression="brotli")


def test_alternative_ttbar_samples_differ_as_documented() -> None:
    from afkit.datagen import physics

    n = 60_000

    def summary(variation: str) -> tuple[float, float, float]:
        chunk = physics.generate(np.random.default_rng(5), "ttbar", variation, n)
        offsets, jets = chunk.jets.finish(n, min_pt=30.0)
        leading = jets["pt"][offsets[:-1][np.diff(offsets) > 0]]
        return (
            float(np.mean(np.diff(offsets))),
            float(np.mean(leading)),
            float(np.median(jets["pt"])),
        )

    nominal = summary("nominal")
    scaleup, scaledown = summary("scaleup"), summary("scaledown")
    me_var, ps_var = summary("ME_var"), summary("PS_var")
    assert scaleup[0] > nominal[0] > scaledown[0]  # more / less radiation: jet multiplicity
    assert me_var[1] > nominal[1] * 1.02  # harder top pT: harder leading jet
    assert ps_var[2] < nominal[2]  # lower jet response
