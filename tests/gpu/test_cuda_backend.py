"""On a real NVIDIA GPU: every CUDA kernel and the AGC compute stage equal the CPU backend.

Opt-in (``--run-gpu``); CI runs the same kernels under the CUDA simulator (tests/kernels).
Counts must be identical; sums of weights may differ by summation order only (atomics).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from afkit import kernels
from afkit.agc import fill_chunk, new_histograms, spec
from tests.agc_columns import random_columns

pytestmark = pytest.mark.gpu
cp = pytest.importorskip("cupy")


@pytest.fixture(scope="module")
def jagged() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(5)
    counts = rng.poisson(6, 200_000)
    counts[:50] = 0  # empty events
    counts[50:60] = 40  # large counts
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    n = int(offsets[-1])
    values = rng.normal(60, 30, n)
    values[::97] = np.nan
    return {
        "offsets": offsets,
        "values": values,
        "mask": rng.uniform(0, 1, n) < 0.6,
        "eta": rng.uniform(-3, 3, n),
        "phi": rng.uniform(-3, 3, n),
        "m": rng.uniform(0, 20, n),
        "events": rng.integers(0, 2**63, len(counts), dtype=np.uint64),
    }


def test_device_is_a_gpu() -> None:
    assert cp.cuda.runtime.getDeviceCount() >= 1
    assert kernels.backend_of(cp.zeros(3)) == "cuda"


def test_jagged_kernels_equal_cpu(jagged: dict[str, np.ndarray]) -> None:
    d = {k: cp.asarray(v) for k, v in jagged.items()}
    o, v, m = jagged["offsets"], jagged["values"], jagged["mask"]
    pairs = [
        (kernels.segmented_count(d["offsets"], d["mask"]), kernels.segmented_count(o, m)),
        (
            kernels.segmented_sum(d["offsets"], d["values"], d["mask"]),
            kernels.segmented_sum(o, v, m),
        ),
        (
            kernels.leading_values(d["offsets"], d["values"], d["mask"], 4),
            kernels.leading_values(o, v, m, 4),
        ),
    ]
    for got, expected in pairs:
        assert np.array_equal(kernels.to_host(got), expected, equal_nan=True)
    index = np.random.default_rng(1).integers(-1, len(v), len(v))
    assert np.array_equal(
        kernels.to_host(kernels.gather(cp.asarray(index), d["values"])),
        kernels.gather(index, v),
        equal_nan=True,
    )


def test_smearing_on_the_gpu(jagged: dict[str, np.ndarray]) -> None:
    """The integer part (splitmix64, u1, u2) is exact; CUDA's libdevice log/cos may differ from
    the host libm in the last bits, so factors agree to a few ulp, not always bit for bit."""
    got = kernels.to_host(
        kernels.smearing_factors(cp.asarray(jagged["events"]), cp.asarray(jagged["offsets"]))
    )
    expected = kernels.smearing_factors(jagged["events"], jagged["offsets"])
    ulp = np.abs(got.view(np.int64) - expected.view(np.int64))
    print(f"smearing: {np.mean(ulp != 0):.2e} of factors differ, max {ulp.max()} ulp")
    assert ulp.max() <= 8


def test_trijet_equals_cpu(jagged: dict[str, np.ndarray]) -> None:
    o, mask = jagged["offsets"], jagged["mask"]
    args = [jagged["values"], jagged["eta"], jagged["phi"], jagged["m"], mask]
    expected = kernels.best_trijet_mass(o, *args)
    got = kernels.to_host(kernels.best_trijet_mass(cp.asarray(o), *[cp.asarray(a) for a in args]))
    # same operations, but the device may contract multiply-adds: agree to rounding
    assert np.array_equal(np.isnan(got), np.isnan(expected))
    ok = ~np.isnan(expected)
    assert np.allclose(got[ok], expected[ok], rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize("nbins", [25, 600])  # shared-memory and global-atomics paths
def test_fill_equals_cpu(nbins: int) -> None:
    rng = np.random.default_rng(nbins)
    values = rng.normal(250, 200, (13, 1_000_000))
    values[0, :100] = np.nan
    weights = rng.normal(1, 0.5, values.shape)
    selected = rng.uniform(0, 1, values.shape) < 0.3
    category = np.arange(13, dtype=np.int64)
    expected = np.zeros((13, nbins + 2)), np.zeros((13, nbins + 2))
    kernels.fill_variations(
        *expected, values, weights, selected, category, lo=50.0, hi=550.0, nbins=nbins
    )
    got = cp.zeros((13, nbins + 2)), cp.zeros((13, nbins + 2))
    kernels.fill_variations(
        *got,
        cp.asarray(values),
        cp.asarray(weights),
        cp.asarray(selected),
        cp.asarray(category),
        lo=50.0,
        hi=550.0,
        nbins=nbins,
    )
    for g, e in zip(got, expected, strict=True):
        assert np.allclose(kernels.to_host(g), e, rtol=1e-9, atol=1e-9)
    counts = np.zeros((13, nbins + 2)), np.zeros((13, nbins + 2))
    kernels.fill_variations(
        *counts, values, np.ones_like(weights), selected, category, lo=50.0, hi=550.0, nbins=nbins
    )
    device_counts = cp.zeros((13, nbins + 2)), cp.zeros((13, nbins + 2))
    kernels.fill_variations(
        *device_counts,
        cp.asarray(values),
        cp.ones(values.shape),
        cp.asarray(selected),
        cp.asarray(category),
        lo=50.0,
        hi=550.0,
        nbins=nbins,
    )
    assert np.array_equal(kernels.to_host(device_counts[0]), counts[0])


@pytest.mark.parametrize(
    ("process", "variation"),
    [("ttbar", "nominal"), ("wjets", "nominal"), ("ttbar", "ME_var"), ("data", "nominal")],
)
def test_agc_compute_stage_equals_cpu(process: str, variation: str) -> None:
    columns = random_columns(200_000, seed=3, mc=process != "data")
    cpu, gpu = new_histograms("cpu"), new_histograms("cuda")
    scale = 1.0 if process == "data" else 0.37
    n_cpu = fill_chunk(columns, cpu, process=process, variation=variation, weight_scale=scale)
    n_gpu = fill_chunk(
        columns.to("cuda"), gpu, process=process, variation=variation, weight_scale=scale
    )
    assert n_cpu == n_gpu
    assert n_cpu["4j1b"] > 100
    assert n_cpu["4j2b"] > 100
    for region in spec.REGIONS:
        h_cpu, h_gpu = cpu[region.name].to_hist(), gpu[region.name].to_hist()
        assert np.allclose(h_gpu.values(flow=True), h_cpu.values(flow=True), rtol=1e-9, atol=0)
        assert np.allclose(
            h_gpu.variances(flow=True), h_cpu.variances(flow=True), rtol=1e-9, atol=0
        )


def test_agc_processor_on_a_generated_file() -> None:
    """End to end on a file afkit generated (carried to the GPU host in AFKIT_GPU_FILESET)."""
    import afkit
    from afkit.agc import AGCProcessor
    from afkit.fileset import Fileset

    path = os.environ.get("AFKIT_GPU_FILESET")
    if not path or not Path(path).exists():
        pytest.skip("set AFKIT_GPU_FILESET to a generated fileset JSON")
    fileset = Fileset.load(path)
    cpu, _ = afkit.run(AGCProcessor("cpu"), fileset, executor="iterative", chunksize=2000)
    gpu, _ = afkit.run(AGCProcessor("cuda"), fileset, executor="iterative", chunksize=2000)
    assert cpu["events"] == gpu["events"]
    for region in spec.REGIONS:
        a, b = cpu["hists"][region.name], gpu["hists"][region.name]
        assert np.allclose(a.values(flow=True), b.values(flow=True), rtol=1e-9, atol=0)
