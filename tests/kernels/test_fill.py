"""Weighted many-variation fill: reference, hist's own fill, CUDA simulator, Numba cache."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import afkit
from afkit import kernels
from afkit.histograms import WeightedCategoryHistogram
from afkit.kernels import reference
from tests.kernels.cudasim import run_simulated

values_st = st.floats(allow_nan=True, allow_infinity=True, width=64)


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 4), st.integers(0, 60), st.data())
def test_cpu_fill_equals_reference(n_var: int, n: int, data) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    values = np.array(
        data.draw(st.lists(values_st, min_size=n_var * n, max_size=n_var * n)), np.float64
    ).reshape(n_var, n)
    weights = rng.normal(0, 2, (n_var, n))
    selected = rng.uniform(0, 1, (n_var, n)) < 0.8
    category = rng.integers(0, 3, n_var)
    got = (np.zeros((3, 12)), np.zeros((3, 12)))
    expected = (np.zeros((3, 12)), np.zeros((3, 12)))
    kernels.fill_variations(*got, values, weights, selected, category, lo=-5.0, hi=5.0, nbins=10)
    reference.fill_variations(*expected, values, weights, selected, category, -5.0, 5.0, 10)
    assert np.array_equal(got[0], expected[0])
    assert np.array_equal(got[1], expected[1])


edges_st = st.lists(
    st.floats(-50, 50, allow_nan=False, width=64), min_size=2, max_size=12, unique=True
).map(sorted)


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 4), st.integers(0, 60), edges_st, st.data())
def test_cpu_variable_fill_equals_reference(n_var: int, n: int, edges: list[float], data) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    values = np.array(
        data.draw(st.lists(values_st, min_size=n_var * n, max_size=n_var * n)), np.float64
    ).reshape(n_var, n)
    if n:  # values exactly on edges: the lower edge belongs to the bin
        values.flat[rng.integers(0, values.size, min(5, values.size))] = rng.choice(edges, 1)
    weights = rng.normal(0, 2, (n_var, n))
    selected = rng.uniform(0, 1, (n_var, n)) < 0.8
    category = rng.integers(0, 3, n_var)
    e = np.array(edges)
    width = len(edges) + 1
    got = (np.zeros((3, width)), np.zeros((3, width)))
    expected = (np.zeros((3, width)), np.zeros((3, width)))
    kernels.fill_variations(*got, values, weights, selected, category, edges=e)
    reference.fill_variations(
        *expected, values, weights, selected, category, e[0], e[-1], len(e) - 1, e
    )
    assert np.array_equal(got[0], expected[0])
    assert np.array_equal(got[1], expected[1])


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 6), st.integers(0, 40), st.booleans(), st.data())
def test_shared_rows_equal_repeated_rows(n_var: int, n: int, variable: bool, data) -> None:  # type: ignore[no-untyped-def]
    """Rows named by value_rows/selected_rows fill exactly as the same rows repeated."""
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    n_values, n_selected = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    values = rng.normal(0, 4, (n_values, n))
    values[rng.uniform(0, 1, values.shape) < 0.05] = np.nan
    selected = rng.uniform(0, 1, (n_selected, n)) < 0.7
    # runs of equal indices (the compaction cache) as well as jumps back and forth
    value_rows = (
        np.sort(rng.integers(0, n_values, n_var))
        if data.draw(st.booleans())
        else (rng.integers(0, n_values, n_var))
    )
    selected_rows = rng.integers(0, n_selected, n_var)
    weights = rng.normal(1, 0.5, (n_var, n))
    category = rng.integers(0, 3, n_var)
    axis = (
        {"edges": np.array([-6.0, -1.0, 0.0, 0.5, 3.0])}
        if variable
        else {"lo": -5.0, "hi": 5.0, "nbins": 4}
    )
    got = (np.zeros((3, 6)), np.zeros((3, 6)))
    expected = (np.zeros((3, 6)), np.zeros((3, 6)))
    kernels.fill_variations(
        *got, values, weights, selected, category, value_rows=value_rows,
        selected_rows=selected_rows, **axis,
    )  # fmt: skip
    kernels.fill_variations(
        *expected, values[value_rows], weights, selected[selected_rows], category, **axis
    )
    assert np.array_equal(got[0], expected[0])
    assert np.array_equal(got[1], expected[1])


def test_shared_rows_are_checked() -> None:
    sums = (np.zeros((1, 4)), np.zeros((1, 4)))
    args = (np.zeros((1, 3)), np.ones((2, 3)), np.ones((1, 3), bool), np.zeros(2, int))
    with pytest.raises(afkit.ConfigError, match="value_rows"):
        kernels.fill_variations(*sums, *args, lo=0, hi=1, nbins=2, value_rows=[0],
                                selected_rows=[0, 0])  # fmt: skip
    with pytest.raises(afkit.ConfigError, match="selected_rows must lie"):
        kernels.fill_variations(*sums, *args, lo=0, hi=1, nbins=2, value_rows=[0, 0],
                                selected_rows=[0, 1])  # fmt: skip
    with pytest.raises(afkit.ConfigError, match="same"):
        kernels.fill_variations(*sums, *args, lo=0, hi=1, nbins=2)


def test_variable_axis_equals_hists_own_fill() -> None:
    hist = pytest.importorskip("hist")
    rng = np.random.default_rng(5)
    edges = [0.0, 25.0, 50.0, 100.0, 200.0, 400.0, 1000.0]
    variations = ["nominal", "pt_scale_up"]
    h = WeightedCategoryHistogram.variable(edges, ["ttbar", "wjets"], variations, name="ht")
    n = 20_000
    values = rng.exponential(150, (2, n)) - 10
    values[:, :10] = np.nan
    values[:, 10:20] = 400.0  # on an edge
    values[:, 20:25] = 1000.0  # on the last edge: overflow, as in hist
    weights = rng.normal(1, 0.4, (2, n))
    selected = rng.uniform(0, 1, (2, n)) < 0.6
    h.fill("wjets", variations, values, weights, selected)
    got = h.to_hist()
    ref = hist.Hist(
        hist.axis.Variable(edges),
        hist.axis.StrCategory(["ttbar", "wjets"]),
        hist.axis.StrCategory(variations),
        storage=hist.storage.Weight(),
    )
    for i, variation in enumerate(variations):
        ref.fill(values[i][selected[i]], "wjets", variation, weight=weights[i][selected[i]])
    assert list(got.axes[0].edges) == edges
    assert np.array_equal(got.view(flow=True).value, ref.view(flow=True).value)
    assert np.allclose(
        got.view(flow=True).variance, ref.view(flow=True).variance, rtol=1e-14, atol=0
    )


def test_hist_output_equals_hists_own_fill() -> None:
    hist = pytest.importorskip("hist")
    rng = np.random.default_rng(4)
    variations = ["nominal", "pt_scale_up", "btag_var_0_up"]
    h = WeightedCategoryHistogram(25, 50, 550, ["ttbar", "wjets"], variations, name="m_bjj")
    n = 20_000
    values = rng.normal(180, 90, (3, n))
    values[:, :10] = np.nan  # events without an observable land in overflow, as in hist
    weights = rng.normal(1, 0.4, (3, n))
    selected = rng.uniform(0, 1, (3, n)) < 0.6
    h.fill("ttbar", variations, values, weights, selected)
    got = h.to_hist()
    ref = hist.Hist(
        hist.axis.Regular(25, 50, 550),
        hist.axis.StrCategory(["ttbar", "wjets"]),
        hist.axis.StrCategory(variations),
        storage=hist.storage.Weight(),
    )
    for i, variation in enumerate(variations):
        ref.fill(values[i][selected[i]], "ttbar", variation, weight=weights[i][selected[i]])
    assert np.array_equal(got.view(flow=True).value, ref.view(flow=True).value)
    assert np.allclose(
        got.view(flow=True).variance, ref.view(flow=True).variance, rtol=1e-14, atol=0
    )
    assert list(got.axes["variation"]) == variations


def test_histograms_of_one_layout_add_like_their_hists() -> None:
    """Chunks' histograms merge by adding arrays; the sum converts to the sum of the hists.
    Histograms of another binning or category list refuse to add."""
    rng = np.random.default_rng(7)
    variations = ["nominal", "pt_scale_up"]
    parts = []
    for process in ("ttbar", "wjets"):
        h = WeightedCategoryHistogram(10, 0, 100, ["ttbar", "wjets"], variations)
        values = rng.uniform(-10, 110, (2, 500))
        h.fill(process, variations, values, rng.normal(1, 0.3, (2, 500)), values > 20)
        parts.append(h)
    total = afkit.accumulate.add(parts[0], parts[1])
    expected = parts[0].to_hist() + parts[1].to_hist()
    assert np.array_equal(total.to_hist().view(flow=True), expected.view(flow=True))
    assert total.to_host() is total
    assert parts[0].sumw.sum() > 0
    assert not np.array_equal(total.sumw, parts[0].sumw)  # the operands are left as they were
    other = WeightedCategoryHistogram(11, 0, 100, ["ttbar", "wjets"], variations)
    with pytest.raises(afkit.ConfigError, match="different binning"):
        _ = parts[0] + other
    with pytest.raises(afkit.ConfigError, match="cannot merge"):
        afkit.accumulate.add(parts[0], 3.0)


def test_bad_shapes_and_configs() -> None:
    with pytest.raises(ValueError, match="same"):
        kernels.fill_variations(
            np.zeros((1, 4)),
            np.zeros((1, 4)),
            np.zeros((1, 3)),
            np.zeros((1, 2)),
            np.ones((1, 3), bool),
            np.zeros(1, int),
            lo=0,
            hi=1,
            nbins=2,
        )
    row = (np.zeros((1, 4)), np.zeros((1, 4)), np.zeros((1, 3)), np.zeros((1, 3)))
    for bad in ([0.0], [0.0, 0.0, 1.0], [0.0, np.nan], [2.0, 1.0, 3.0]):
        with pytest.raises(ValueError, match="edges"):
            kernels.fill_variations(
                *row, np.ones((1, 3), bool), np.zeros(1, int), edges=np.array(bad)
            )
    with pytest.raises(ValueError, match="either"):
        kernels.fill_variations(
            *row, np.ones((1, 3), bool), np.zeros(1, int), edges=np.array([0.0, 1.0]), nbins=1
        )
    with pytest.raises(ValueError, match="regular"):
        kernels.fill_variations(*row, np.ones((1, 3), bool), np.zeros(1, int), lo=0, hi=1)
    with pytest.raises(afkit.ConfigError):
        WeightedCategoryHistogram(0, 0, 1, ["a"], ["b"])
    with pytest.raises(afkit.ConfigError, match="edges"):
        WeightedCategoryHistogram.variable([0.0, 2.0, 1.0], ["a"], ["b"])
    h = WeightedCategoryHistogram(2, 0, 1, ["a"], ["b"])
    with pytest.raises(afkit.ConfigError, match="unknown"):
        h.fill("zz", ["b"], np.zeros((1, 1)), np.zeros((1, 1)), np.ones((1, 1), bool))


SIMULATED = """
sumw, sumw2 = np.zeros((3, 27)), np.zeros((3, 27))
args = [d[k] for k in ("values", "weights", "selected", "category")]
rows = [np.arange(len(d["category"]))] * 2
_cuda.fill_variations(sumw, sumw2, *args, 50.0, 550.0, 25, None, *rows)  # shared-memory path
fine_w, fine_w2 = np.zeros((3, 602)), np.zeros((3, 602))
_cuda.fill_variations(fine_w, fine_w2, *args, 50.0, 550.0, 600, None, *rows)  # global atomics
edges = d["edges"]
var_w, var_w2 = np.zeros((3, len(edges) + 1)), np.zeros((3, len(edges) + 1))
_cuda.fill_variations(var_w, var_w2, *args, 0.0, 0.0, len(edges) - 1, edges, *rows)  # variable
shared_w, shared_w2 = np.zeros((3, 27)), np.zeros((3, 27))
shared = [np.array([0, 0, 1, 0]), np.array([1, 1, 0, 0])]
_cuda.fill_variations(shared_w, shared_w2, d["values"][:2], d["weights"], d["selected"][:2],
                      d["category"], 50.0, 550.0, 25, None, *shared)  # rows shared
np.savez(sys.argv[2], sumw=sumw, sumw2=sumw2, fine_w=fine_w, fine_w2=fine_w2,
         var_w=var_w, var_w2=var_w2, shared_w=shared_w, shared_w2=shared_w2)
"""


def test_cuda_fill_under_the_simulator(tmp_path: Path) -> None:
    rng = np.random.default_rng(8)
    inputs = {
        "values": rng.normal(200, 150, (4, 500)),
        "weights": rng.normal(1, 0.5, (4, 500)),
        "selected": rng.uniform(0, 1, (4, 500)) < 0.7,
        "category": np.array([0, 1, 2, 1]),
        "edges": np.array([0.0, 50.0, 120.0, 200.0, 350.0, 600.0]),
    }
    inputs["values"][0, :3] = np.nan
    inputs["values"][1, :4] = 200.0  # on an edge
    out = run_simulated(tmp_path, SIMULATED, inputs)
    sumw, sumw2 = np.zeros((3, 27)), np.zeros((3, 27))
    reference.fill_variations(
        sumw,
        sumw2,
        inputs["values"],
        inputs["weights"],
        inputs["selected"],
        inputs["category"],
        50.0,
        550.0,
        25,
    )
    # atomic adds may sum in another order on a device; the simulator happens to be serial
    assert np.allclose(out["sumw"], sumw, rtol=1e-12, atol=1e-12)
    assert np.allclose(out["sumw2"], sumw2, rtol=1e-12, atol=1e-12)
    fine_w, fine_w2 = np.zeros((3, 602)), np.zeros((3, 602))
    args = [inputs[k] for k in ("values", "weights", "selected", "category")]
    reference.fill_variations(fine_w, fine_w2, *args, 50.0, 550.0, 600)
    assert np.allclose(out["fine_w"], fine_w, rtol=1e-12, atol=1e-12)
    assert np.allclose(out["fine_w2"], fine_w2, rtol=1e-12, atol=1e-12)
    edges = inputs["edges"]
    var_w, var_w2 = np.zeros((3, len(edges) + 1)), np.zeros((3, len(edges) + 1))
    reference.fill_variations(var_w, var_w2, *args, 0.0, 600.0, len(edges) - 1, edges)
    assert np.allclose(out["var_w"], var_w, rtol=1e-12, atol=1e-12)
    assert np.allclose(out["var_w2"], var_w2, rtol=1e-12, atol=1e-12)
    shared_w, shared_w2 = np.zeros((3, 27)), np.zeros((3, 27))
    reference.fill_variations(
        shared_w, shared_w2, inputs["values"][[0, 0, 1, 0]], inputs["weights"],
        inputs["selected"][[1, 1, 0, 0]], inputs["category"], 50.0, 550.0, 25,
    )  # fmt: skip
    assert np.allclose(out["shared_w"], shared_w, rtol=1e-12, atol=1e-12)
    assert np.allclose(out["shared_w2"], shared_w2, rtol=1e-12, atol=1e-12)


CACHE = r"""
import json, numpy as np
from afkit import kernels
from afkit.kernels import _cpu
kernels.fill_variations(np.zeros((1, 4)), np.zeros((1, 4)), np.zeros((1, 3)), np.ones((1, 3)),
                        np.ones((1, 3), bool), np.zeros(1, np.int64), lo=0.0, hi=1.0, nbins=2)
one, zero = np.ones(3), np.zeros(3)
kernels.best_trijet_mass(np.array([0, 3]), one, zero, zero, one, np.ones(3, bool))
kernels.smearing_factors(np.array([1], np.uint64), np.array([0, 2]))
names = ("fill_variations", "best_trijet_mass", "smearing_factors")
stats = {name: getattr(_cpu, name).stats for name in names}
print(json.dumps({k: [s.cache_hits.total(), s.cache_misses.total()] for k, s in stats.items()}))
"""


def test_numba_cache_is_reused_by_a_second_process() -> None:
    def run() -> dict[str, list[int]]:
        done = subprocess.run(
            [sys.executable, "-c", CACHE], capture_output=True, text=True, timeout=600, check=True
        )
        return json.loads(done.stdout.strip().splitlines()[-1])

    run()  # populates the on-disk cache if this machine has none yet
    second = run()
    for name, (hits, misses) in second.items():
        assert misses == 0, f"{name} recompiled in a second process"
        assert hits >= 1, name
