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
