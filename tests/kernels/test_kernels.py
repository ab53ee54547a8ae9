"""Kernels equal their reference (bit for bit where the spec asks), on every backend available."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import afkit
from afkit import kernels
from afkit.kernels import reference
from tests.kernels.cudasim import run_simulated

counts = st.lists(st.integers(0, 9), min_size=0, max_size=40)


def _offsets(c: list[int]) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(c)]).astype(np.int64)


@settings(max_examples=80, deadline=None)
@given(counts, st.data())
def test_smearing_cpu_equals_reference_bit_for_bit(c: list[int], data) -> None:  # type: ignore[no-untyped-def]
    numbers = np.array(
        data.draw(st.lists(st.integers(0, 2**64 - 1), min_size=len(c), max_size=len(c))), np.uint64
    )
    offsets = _offsets(c)
    expected = reference.smearing_factors(numbers, offsets)
    got = kernels.smearing_factors(numbers, offsets)
    assert got.dtype == np.float64
    assert np.array_equal(got.view(np.uint64), expected.view(np.uint64))


def test_smearing_is_independent_of_chunking() -> None:
    rng = np.random.default_rng(1)
    numbers = rng.integers(0, 2**63, 1000, dtype=np.uint64)
    c = rng.integers(0, 8, 1000)
    whole = kernels.smearing_factors(numbers, _offsets(c))
    parts = [
        kernels.smearing_factors(numbers[a : a + 137], _offsets(c[a : a + 137]))
        for a in range(0, 1000, 137)
    ]
    assert np.array_equal(whole, np.concatenate(parts))
    z = (whole - 1.0) / 0.05
    assert abs(z.mean()) < 0.05 and abs(z.std() - 1.0) < 0.05  # noqa: PT018 - a standard normal


def test_smearing_spec_example_by_hand() -> None:
    """eventNumber 0, jet 0: splitmix64 chain evaluated here with Python integers."""
    mask = (1 << 64) - 1

    def sm(x: int) -> int:
        z = (x + 0x9E3779B97F4A7C15) & mask
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        return z ^ (z >> 31)

    assert sm(0) == 0xE220A8397B1DCDAF  # the published first splitmix64 output for state 0
    a = sm(sm(0) + 0)
    b = sm(a)
    import math

    z = math.sqrt(-2 * math.log(((a >> 11) + 1) / 2**53)) * math.cos(
        2 * math.pi * (b >> 11) / 2**53
    )
    got = kernels.smearing_factors(np.array([0], np.uint64), np.array([0, 1]))
    assert got[0] == 1.0 + 0.05 * z


jets = st.lists(
    st.tuples(
        st.floats(0, 500), st.floats(-3, 3), st.floats(-3.2, 3.2), st.floats(0, 50), st.booleans()
    ),
    max_size=9,
)


@settings(max_examples=80, deadline=None)
@given(st.lists(jets, max_size=25))
def test_trijet_cpu_equals_reference(events) -> None:  # type: ignore[no-untyped-def]
    offsets = _offsets([len(e) for e in events])
    flat = [j for e in events for j in e]
    cols = [np.array([j[i] for j in flat], np.float64) for i in range(4)]
    tagged = np.array([j[4] for j in flat], np.bool_)
    expected = reference.best_trijet_mass(offsets, *cols, tagged)
    got = kernels.best_trijet_mass(offsets, *cols, tagged)
    assert np.array_equal(got, expected, equal_nan=True)


def test_trijet_handles_nan_inputs_like_the_reference() -> None:
    offsets = np.array([0, 4, 8])
    pt = np.array([50.0, np.nan, 40.0, 30.0, 60.0, 50.0, 40.0, 30.0])
    eta = np.zeros(8)
    phi = np.array([0.0, 1.0, 2.0, 3.0, 0.0, 1.0, 2.0, 3.0])
    mass = np.full(8, 5.0)
    tagged = np.array([True, False, False, False, False, True, False, False])
    got = kernels.best_trijet_mass(offsets, pt, eta, phi, mass, tagged)
    assert np.array_equal(
        got, reference.best_trijet_mass(offsets, pt, eta, phi, mass, tagged), equal_nan=True
    )


def test_trijet_equals_the_combinations_formulation() -> None:
    rng = np.random.default_rng(3)
    c = rng.integers(0, 9, 3000)
    offsets = _offsets(list(c))
    n = int(offsets[-1])
    pt, eta = rng.exponential(60, n) + 30, rng.normal(0, 1.2, n)
    phi, mass, tagged = (
        rng.uniform(-np.pi, np.pi, n),
        rng.uniform(2, 20, n),
        rng.uniform(0, 1, n) < 0.3,
    )
    got = kernels.best_trijet_mass(offsets, pt, eta, phi, mass, tagged)
    jet = ak.unflatten(ak.zip({"pt": pt, "eta": eta, "phi": phi, "m": mass, "b": tagged}), c)
    tri = ak.combinations(jet, 3, fields=["a", "b2", "c"])
    px = sum(tri[f].pt * np.cos(tri[f].phi) for f in ("a", "b2", "c"))
    py = sum(tri[f].pt * np.sin(tri[f].phi) for f in ("a", "b2", "c"))
    pz = sum(tri[f].pt * np.sinh(tri[f].eta) for f in ("a", "b2", "c"))
    e = sum(
        np.sqrt((tri[f].pt * np.cosh(tri[f].eta)) ** 2 + tri[f].m ** 2) for f in ("a", "b2", "c")
    )
    has_b = tri.a.b | tri.b2.b | tri.c.b
    best = ak.argmax(ak.where(has_b, np.hypot(px, py), -1.0), axis=1, keepdims=True)
    m = ak.firsts(np.sqrt(np.maximum(e**2 - px**2 - py**2 - pz**2, 0))[best])
    m = ak.to_numpy(ak.fill_none(ak.where(ak.firsts(has_b[best]), m, np.nan), np.nan))
    assert np.allclose(got, m, rtol=1e-9, equal_nan=True)


def test_mixed_devices_and_foreign_types_are_rejected() -> None:
    class FakeCuda:
        __cuda_array_interface__ = {}  # noqa: RUF012

    with pytest.raises(afkit.ConfigError, match="different devices"):
        kernels.backend_of(np.zeros(2), FakeCuda())
    with pytest.raises(afkit.ConfigError, match="NumPy or CUDA"):
        kernels.smearing_factors([1, 2], np.array([0, 1, 2]))


SIMULATED = """
smear = _cuda.smearing_factors(d["numbers"], d["offsets"], 0.05)
cols = [d[k] for k in ("pt", "eta", "phi", "m", "tagged")]
tri = _cuda.best_trijet_mass(d["offsets"], *cols)
np.savez(sys.argv[2], smear=np.asarray(smear), tri=np.asarray(tri))
"""


def test_cuda_kernels_under_the_simulator(tmp_path: Path) -> None:
    rng = np.random.default_rng(9)
    c = rng.integers(0, 7, 300)
    offsets = _offsets(list(c))
    n = int(offsets[-1])
    inputs = {
        "numbers": rng.integers(0, 2**64 - 1, 300, dtype=np.uint64, endpoint=True),
        "offsets": offsets,
        "pt": rng.exponential(60, n) + 30,
        "eta": rng.normal(0, 1.2, n),
        "phi": rng.uniform(-np.pi, np.pi, n),
        "m": rng.uniform(2, 20, n),
        "tagged": rng.uniform(0, 1, n) < 0.3,
    }
    out = run_simulated(tmp_path, SIMULATED, inputs)
    expected_smear = reference.smearing_factors(inputs["numbers"], offsets)
    assert np.array_equal(out["smear"].view(np.uint64), expected_smear.view(np.uint64))
    expected_tri = reference.best_trijet_mass(
        offsets, inputs["pt"], inputs["eta"], inputs["phi"], inputs["m"], inputs["tagged"]
    )
    assert np.array_equal(out["tri"], expected_tri, equal_nan=True)
