"""Segmented sums/counts and gathers equal their reference on CPU and under the CUDA simulator."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from afkit import kernels
from afkit.kernels import reference
from tests.kernels.cudasim import run_simulated


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(0, 7), max_size=40), st.data())
def test_segmented_sum_and_count(counts: list[int], data) -> None:  # type: ignore[no-untyped-def]
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    n = int(offsets[-1])
    values = np.array(
        data.draw(st.lists(st.floats(allow_nan=True, width=64), min_size=n, max_size=n))
    )
    mask = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)), bool)
    assert np.array_equal(
        kernels.segmented_sum(offsets, values, mask),
        reference.segmented_sum(offsets, values, mask),
        equal_nan=True,
    )
    assert np.array_equal(
        kernels.segmented_count(offsets, mask), reference.segmented_count(offsets, mask)
    )


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(width=64), max_size=30), st.data())
def test_gather(content: list[float], data) -> None:  # type: ignore[no-untyped-def]
    c = np.array(content, np.float64)
    index = np.array(
        data.draw(st.lists(st.integers(-1, max(len(c) - 1, -1)), max_size=30)), np.int64
    )
    assert np.array_equal(
        kernels.gather(index, c), reference.gather(index, c, np.nan), equal_nan=True
    )


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(0, 8), max_size=40), st.integers(1, 5), st.data())
def test_leading_values(counts: list[int], k: int, data) -> None:  # type: ignore[no-untyped-def]
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    n = int(offsets[-1])
    values = np.array(
        data.draw(st.lists(st.floats(allow_nan=True, width=64), min_size=n, max_size=n))
    )
    mask = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)), bool)
    got = kernels.leading_values(offsets, values, mask, k)
    assert got.shape == (k, len(counts))
    assert np.array_equal(got, reference.leading_values(offsets, values, mask, k), equal_nan=True)


def test_leading_values_rejects_bad_k() -> None:
    with pytest.raises(ValueError, match="positive"):
        kernels.leading_values(np.array([0, 1]), np.ones(1), np.ones(1, bool), 0)


def test_gather_rejects_out_of_range() -> None:
    with pytest.raises(ValueError, match="beyond"):
        kernels.gather(np.array([0, 5]), np.zeros(3))


def test_ht_and_btag_through_links_on_real_physlite(r24: Path) -> None:
    """HT of selected jets and each jet's DL1dv01_pb via the resolved btaggingLink index."""
    import awkward as ak

    import afkit

    events = afkit.read(r24)
    jets = events.Jets
    offsets = np.concatenate([[0], np.cumsum(ak.to_numpy(ak.num(jets)))]).astype(np.int64)
    pt = ak.to_numpy(ak.flatten(jets.pt))
    mask = pt > 30
    assert np.array_equal(
        kernels.segmented_sum(offsets, pt, mask), ak.to_numpy(ak.sum(jets.pt[jets.pt > 30], axis=1))
    )
    resolver = events.source.resolver("Jets", "btaggingLink")
    pb = events.source.list_content("BTagging", "DL1dv01_pb")
    got = kernels.gather(resolver.index(), pb)
    assert np.array_equal(
        got, ak.to_numpy(ak.flatten(ak.fill_none(jets.btagging.DL1dv01_pb, np.nan))), equal_nan=True
    )


SIMULATED = """
s = _cuda.segmented_sum(d["offsets"], d["values"], d["mask"])
c = _cuda.segmented_count(d["offsets"], d["mask"])
lead = _cuda.leading_values(d["offsets"], d["values"], d["mask"], 4)
np.savez(sys.argv[2], s=s, c=c, g=_cuda.gather(d["index"], d["values"], np.nan), lead=lead)
"""


def test_cuda_versions_under_the_simulator(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    counts = rng.integers(0, 6, 200)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    n = int(offsets[-1])
    inputs = {
        "offsets": offsets,
        "values": rng.normal(50, 20, n),
        "mask": rng.uniform(0, 1, n) < 0.6,
        "index": rng.integers(-1, n, 300),
    }
    out = run_simulated(tmp_path, SIMULATED, inputs)
    assert np.array_equal(
        out["s"], reference.segmented_sum(offsets, inputs["values"], inputs["mask"])
    )
    assert np.array_equal(out["c"], reference.segmented_count(offsets, inputs["mask"]))
    expected = reference.gather(inputs["index"], inputs["values"], np.nan)
    assert np.array_equal(out["g"], expected, equal_nan=True)
    assert np.array_equal(
        out["lead"],
        reference.leading_values(offsets, inputs["values"], inputs["mask"], 4),
        equal_nan=True,
    )


SIMULATED_NEW = """
off, el, req = d["offsets"], d["eligible"], d["required"]
kin = (d["pt"], d["eta"], d["phi"], d["m"])
p4 = _cuda.four_momenta(*kin)
out = {"p4": p4}
for n in (2, 3, 4):
    for by in (0, 1, 2, 3):
        index, sums = _cuda.best_combination(off, *kin, el, req, n, 1, by, 91.0)
        out[f"index_{n}_{by}"], out[f"sums_{n}_{by}"] = index, sums
pairs = _cuda.pair_counts(off, el, off, el, True)
out["pairs"], out["pair_m"] = pairs, _cuda.pair_masses(off, p4, el, off, p4, el, True, pairs)
cross = _cuda.pair_counts(off, el, off, req, False)
out["cross"], out["cross_m"] = cross, _cuda.pair_masses(off, p4, el, off, p4, req, False, cross)
out["dr"], out["where"] = _cuda.nearest(off, d["eta"], d["phi"], off, d["eta"], d["phi"], req, True)
wide = 3 * d["phi"]
out["dr2"], out["where2"] = _cuda.nearest(off, d["eta"], d["phi"], off, d["eta"], wide, req, False)
out["isum"] = _cuda.segmented_sum(off, d["ints"], el)
out["max"], out["found"] = _cuda.segmented_extreme(off, d["pt"], el, True)
out["min"], _ = _cuda.segmented_extreme(off, d["pt"], el, False)
np.savez(sys.argv[2], **out)
"""


def test_new_cuda_kernels_under_the_simulator(tmp_path: Path) -> None:
    """best_combination, pair masses, ΔR matching and the typed reductions: the CUDA kernels
    give the CPU kernels' results exactly (same arithmetic in the same order)."""
    from afkit.kernels import _cpu

    rng = np.random.default_rng(7)
    counts = rng.integers(0, 8, 150)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    n = int(offsets[-1])
    inputs = {
        "offsets": offsets,
        "pt": rng.uniform(20, 200, n),
        "eta": rng.normal(0, 1.5, n),
        "phi": rng.uniform(-np.pi, np.pi, n),
        "m": rng.uniform(0, 15, n),
        "eligible": rng.random(n) < 0.8,
        "required": rng.random(n) < 0.4,
        "ints": rng.integers(0, 30, n),
    }
    out = run_simulated(tmp_path, SIMULATED_NEW, inputs)
    off, el, req = offsets, inputs["eligible"], inputs["required"]
    kin = (inputs["pt"], inputs["eta"], inputs["phi"], inputs["m"])
    p4 = _cpu.four_momenta(*kin)
    assert np.array_equal(out["p4"], p4)
    for k in (2, 3, 4):
        for by in (0, 1, 2, 3):
            index, sums = _cpu.best_combination(off, *kin, el, req, k, 1, by, 91.0)
            assert np.array_equal(out[f"index_{k}_{by}"], index), (k, by)
            assert np.array_equal(out[f"sums_{k}_{by}"], sums, equal_nan=True), (k, by)
    pairs = _cpu.pair_counts(off, el, off, el, True)
    assert np.array_equal(out["pairs"], pairs)
    assert np.array_equal(out["pair_m"], _cpu.pair_masses(off, p4, el, off, p4, el, True, pairs))
    cross = _cpu.pair_counts(off, el, off, req, False)
    assert np.array_equal(out["cross"], cross)
    assert np.array_equal(out["cross_m"], _cpu.pair_masses(off, p4, el, off, p4, req, False, cross))
    dr, where = _cpu.nearest(
        off, inputs["eta"], inputs["phi"], off, inputs["eta"], inputs["phi"], req, True
    )
    assert np.array_equal(out["dr"], dr)
    assert np.array_equal(out["where"], where)
    wide = 3 * inputs["phi"]  # angles beyond pi: the general form
    dr, where = _cpu.nearest(
        off, inputs["eta"], inputs["phi"], off, inputs["eta"], wide, req, False
    )
    assert np.array_equal(out["dr2"], dr)
    assert np.array_equal(out["where2"], where)
    assert np.array_equal(out["isum"], _cpu.segmented_sum(off, inputs["ints"], el))
    largest, found = _cpu.segmented_extreme(off, inputs["pt"], el, True)
    assert np.array_equal(out["max"], largest)
    assert np.array_equal(out["found"], found)
    assert np.array_equal(out["min"], _cpu.segmented_extreme(off, inputs["pt"], el, False)[0])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 7), max_size=25), st.integers(2, 4), st.integers(0, 3), st.data())
def test_best_combination_equals_its_reference(counts, n, by, data) -> None:  # type: ignore[no-untyped-def]
    from afkit.kernels import _cpu

    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    size = int(offsets[-1])

    def floats(lo: float, hi: float) -> np.ndarray:
        return np.array(data.draw(st.lists(st.floats(lo, hi), min_size=size, max_size=size)))

    pt, eta, phi, m = floats(1, 500), floats(-4, 4), floats(-3.2, 3.2), floats(0, 50)
    eligible = np.array(data.draw(st.lists(st.booleans(), min_size=size, max_size=size)), bool)
    required = np.array(data.draw(st.lists(st.booleans(), min_size=size, max_size=size)), bool)
    need = data.draw(st.integers(0, n))
    got = _cpu.best_combination(offsets, pt, eta, phi, m, eligible, required, n, need, by, 91.0)
    expected = reference.best_combination(
        offsets, pt, eta, phi, m, eligible, required, n, need, by, 91.0
    )
    assert np.array_equal(got[0], expected[0])
    assert np.array_equal(got[1], expected[1], equal_nan=True)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 6), max_size=25), st.data())
def test_pairs_and_nearest_equal_their_reference(counts, data) -> None:  # type: ignore[no-untyped-def]
    from afkit.kernels import _cpu

    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    size = int(offsets[-1])

    def floats(lo: float, hi: float) -> np.ndarray:
        return np.array(data.draw(st.lists(st.floats(lo, hi), min_size=size, max_size=size)))

    kin = (floats(1, 500), floats(-4, 4), floats(-3.2, 3.2), floats(0, 50))
    eligible = np.array(data.draw(st.lists(st.booleans(), min_size=size, max_size=size)), bool)
    p4 = _cpu.four_momenta(*kin)
    pairs = _cpu.pair_counts(offsets, eligible, offsets, eligible, True)
    masses = _cpu.pair_masses(offsets, p4, eligible, offsets, p4, eligible, True, pairs)
    ref_pairs, ref_masses = reference.pair_masses(offsets, kin, eligible, None, None, None)
    assert np.array_equal(pairs, ref_pairs)
    assert np.array_equal(masses, ref_masses)
    for phi_b, near in ((kin[2], True), (kin[2] * 2.5, False)):  # within pi, and beyond
        dr, where = _cpu.nearest(offsets, kin[1], kin[2], offsets, kin[1], phi_b, eligible, near)
        ref_dr, ref_where = reference.nearest(
            offsets, kin[1], kin[2], offsets, kin[1], phi_b, eligible
        )
        assert np.array_equal(dr, ref_dr)
        assert np.array_equal(where, ref_where)
    largest, found = _cpu.segmented_extreme(offsets, kin[0], eligible, True)
    ref_largest, ref_found = reference.segmented_extreme(offsets, kin[0], eligible, True)
    assert np.array_equal(largest, ref_largest)
    assert np.array_equal(found, ref_found)
