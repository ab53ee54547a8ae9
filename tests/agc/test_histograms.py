"""afkit's AGC histograms equal the independent plain awkward/hist implementation of the spec."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import afkit
from afkit.agc import AGCProcessor, spec
from afkit.fileset import Fileset
from tests import agc_reference

pytestmark = pytest.mark.slow


def _subset(fileset: Fileset, names: list[str]) -> Fileset:
    return dataclasses.replace(fileset, samples={n: fileset.samples[n] for n in names})


@pytest.fixture(scope="module")
def small(agc_datasets: dict[float, Fileset]) -> Fileset:
    """Every kind of sample: nominal MC with all variations, W+jets, an alternative ttbar, data."""
    names = ["ttbar", "wjets", "single_top_tW", "ttbar__ME_var", "data"]
    return _subset(agc_datasets[1.0], names)


@pytest.fixture(scope="module")
def afkit_result(small: Fileset) -> dict:
    result, report = afkit.run(
        AGCProcessor(ml=True), small, executor="processes", chunksize=3_000, workers=2
    )
    assert report.complete
    return result


def test_histograms_equal_the_reference_bin_by_bin(small: Fileset, afkit_result: dict) -> None:
    expected = agc_reference.histograms(small)
    for region in spec.REGIONS:
        ours, theirs = afkit_result["hists"][region.name], expected[region.name]
        filled = 0
        for process in spec.PROCESSES:
            for variation in spec.VARIATIONS:
                a = ours[:, process, variation]
                b = theirs[:, process, variation]
                # counts exact: compare the number of entries through unit-weight sums below
                assert np.allclose(
                    a.values(flow=True), b.values(flow=True), rtol=1e-6, atol=1e-12
                ), (region.name, process, variation)
                assert np.allclose(
                    a.variances(flow=True), b.variances(flow=True), rtol=1e-6, atol=1e-12
                ), (region.name, process, variation)
                filled += int(np.count_nonzero(b.values(flow=True)))
        assert filled > 200  # the comparison is not vacuous


def test_entry_counts_are_exact(small: Fileset, afkit_result: dict) -> None:
    """Data are unit-weight: afkit's data histograms are the reference's entry counts exactly."""
    expected = agc_reference.histograms(_subset(small, ["data"]))
    for region in spec.REGIONS:
        a = afkit_result["hists"][region.name][:, "data", "nominal"].values(flow=True)
        b = expected[region.name][:, "data", "nominal"].values(flow=True)
        assert np.array_equal(a, b)
        assert a.sum() > 10
    events = afkit_result["events"]
    assert events["data"]["4j1b"] + events["data"]["4j2b"] > 10
    assert {k: v["events"] for k, v in events.items()} == {
        name: s.events for name, s in small.samples.items()
    }


def test_executor_and_chunking_do_not_change_the_histograms(
    small: Fileset, afkit_result: dict
) -> None:
    again, _ = afkit.run(AGCProcessor(), small, executor="iterative", chunksize=7_777)
    for region in spec.REGIONS:
        a, b = afkit_result["hists"][region.name], again["hists"][region.name]
        assert np.allclose(a.values(flow=True), b.values(flow=True), rtol=1e-12, atol=0)
        assert np.allclose(a.variances(flow=True), b.variances(flow=True), rtol=1e-12, atol=0)


def test_the_xgboost_engine_fills_the_same_ml_histograms(
    small: Fileset, afkit_result: dict
) -> None:
    """``ml_engine="xgboost"`` (materialised rows, xgboost's predictor) against afkit's
    kernel: every histogram the same, bin by bin."""
    pytest.importorskip("xgboost")
    again, _ = afkit.run(
        AGCProcessor(ml=True, ml_engine="xgboost"), small, executor="iterative", chunksize=7_777
    )
    for name in [r.name for r in spec.REGIONS] + list(spec.ML_FEATURES):
        a, b = afkit_result["hists"][name], again["hists"][name]
        assert np.allclose(a.values(flow=True), b.values(flow=True), rtol=1e-12, atol=0), name
    with pytest.raises(afkit.ConfigError, match="ml_engine 'tmva' is not one of"):
        AGCProcessor(ml=True, ml_engine="tmva")


def test_ml_histograms_equal_the_independent_implementation(
    small: Fileset, afkit_result: dict
) -> None:
    """Spec §8: the 20 ML histograms for every process and variation against plain Python
    permutations and features, xgboost's own predict on the shipped model files, hist."""
    xgboost = pytest.importorskip("xgboost")
    from importlib import resources

    folder = resources.files("afkit.agc") / "models"
    boosters = tuple(
        xgboost.Booster(model_file=str(folder / name))
        for name in ("model_even.json", "model_odd.json")
    )
    expected = agc_reference.histograms(small, boosters=boosters)
    filled = 0
    for feature in spec.ML_FEATURES:
        ours, theirs = afkit_result["hists"][feature], expected[feature]
        assert np.array_equal(ours.axes[0].edges, theirs.axes[0].edges), feature
        for process in spec.PROCESSES:
            for variation in spec.VARIATIONS:
                a = ours[:, process, variation]
                b = theirs[:, process, variation]
                assert np.allclose(
                    a.values(flow=True), b.values(flow=True), rtol=1e-9, atol=1e-12
                ), (feature, process, variation)
                assert np.allclose(
                    a.variances(flow=True), b.variances(flow=True), rtol=1e-9, atol=1e-12
                ), (feature, process, variation)
                filled += int(np.count_nonzero(b.values(flow=False)))
    assert filled > 2000  # the comparison is not vacuous
