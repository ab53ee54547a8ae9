"""GPU benchmarks: weighted-fill rate and the AGC compute stage, GPU vs one CPU core.

* fill: :func:`afkit.kernels.fill_variations` into the AGC layout (25 bins, 13 variation rows
  of one process, weighted) on device arrays; rate = selected entries per second, and rows
  scanned per second (every (variation, event) pair is read).
* AGC compute stage: :func:`afkit.agc.fill_chunk` (selection with every kinematic variation,
  smearing, b-tag weights, trijet mass, all fills) on the same columns, on the GPU (CuPy/Numba
  CUDA, columns already on the device; the host-to-device copy is timed apart) and on one CPU
  core (Numba); the histograms are checked equal in the run.  Columns come from a generated
  ttbar fileset (``--fileset``), tiled to ``--events`` with distinct event numbers.

Result: benchmarks/results/gpu.json (or ``--out DIR``).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import fields, replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import summary, versions, write_result
from afkit import kernels
from afkit.agc import ChunkColumns, fill_chunk, new_histograms, spec


def read_columns(fileset_path: str) -> ChunkColumns:
    import afkit
    from afkit.fileset import Fileset

    fileset = Fileset.load(fileset_path)
    sample = fileset.samples["ttbar"]
    parts = []
    for entry in sample.files:
        events = afkit.read(fileset.resolve(entry), tree=entry.tree)
        parts.append(ChunkColumns.from_events(events, mc=True))
    return concatenate(parts)


def concatenate(parts: list[ChunkColumns]) -> ChunkColumns:
    out = {}
    for f in fields(ChunkColumns):
        arrays = [getattr(p, f.name) for p in parts]
        if f.name.endswith("_offsets"):
            shifted, base = [arrays[0]], arrays[0][-1]
            for a in arrays[1:]:
                shifted.append(a[1:] + base)
                base = base + a[-1]
            out[f.name] = np.concatenate(shifted)
        else:
            out[f.name] = np.concatenate(arrays)
    return ChunkColumns(**out)


def tile(columns: ChunkColumns, events: int) -> ChunkColumns:
    copies = -(-events // columns.n_events)
    parts = []
    for k in range(copies):
        shifted = columns.event_number + np.uint64(k * 10**10)
        parts.append(replace(columns, event_number=shifted))
    return concatenate(parts)


def sync() -> None:
    import cupy

    cupy.cuda.Device().synchronize()


def gpu_timed(fn, repeat: int) -> tuple[list[float], object]:  # type: ignore[no-untyped-def]
    times, result = [], None
    for _ in range(repeat):
        sync()
        start = time.perf_counter()
        result = fn()
        sync()
        times.append(time.perf_counter() - start)
    return times, result


def bench_fill(events: int, repeat: int) -> dict[str, object]:
    import cupy as cp

    rng = np.random.default_rng(3)
    rows = 13
    values = cp.asarray(rng.normal(250, 150, (rows, events)))
    weights = cp.asarray(rng.normal(1.0, 0.3, (rows, events)))
    selected = cp.asarray(rng.uniform(0, 1, (rows, events)) < 0.5)
    category = cp.arange(rows, dtype=cp.int64)
    sumw, sumw2 = cp.zeros((rows, 27)), cp.zeros((rows, 27))

    def fill() -> None:
        kernels.fill_variations(
            sumw,
            sumw2,
            values,
            weights,
            selected,
            category,
            lo=spec.LO,
            hi=spec.HI,
            nbins=spec.NBINS,
        )

    start = time.perf_counter()
    fill()
    sync()
    first = time.perf_counter() - start
    times, _ = gpu_timed(fill, repeat)
    entries = int(selected.sum())
    # equality with the CPU kernel on a slice
    n = min(events, 2_000_000)
    host = [kernels.to_host(a[:, :n]) for a in (values, weights, selected)]
    cw, cw2 = np.zeros((rows, 27)), np.zeros((rows, 27))
    kernels.fill_variations(
        cw, cw2, *host, np.arange(rows), lo=spec.LO, hi=spec.HI, nbins=spec.NBINS
    )
    gw, gw2 = cp.zeros((rows, 27)), cp.zeros((rows, 27))
    kernels.fill_variations(
        gw,
        gw2,
        values[:, :n].copy(),
        weights[:, :n].copy(),
        selected[:, :n].copy(),
        category,
        lo=spec.LO,
        hi=spec.HI,
        nbins=spec.NBINS,
    )
    assert np.allclose(kernels.to_host(gw), cw, rtol=1e-9), "GPU fill differs from CPU"
    assert np.allclose(kernels.to_host(gw2), cw2, rtol=1e-9), "GPU fill differs from CPU"
    best = min(times)
    return {
        "layout": "Regular(25, 50, 550), 13 variation rows, Weight storage",
        "events": events,
        "rows_scanned": rows * events,
        "entries_selected": entries,
        "gpu": summary(times),
        "first_call_s": first,
        "entries_per_s": entries / best,
        "rows_scanned_per_s": rows * events / best,
        "target": ">= 16 G entries/s",
        "meets_target": entries / best >= 16e9,
        "equal_to_cpu_on_first_2M_events": True,
    }


def bench_agc(columns: ChunkColumns, repeat: int) -> dict[str, object]:
    def run(cols: ChunkColumns, backend: str) -> dict[str, object]:
        hists = new_histograms(backend)
        fill_chunk(cols, hists, process="ttbar", variation="nominal", weight_scale=0.5)
        return hists

    run(columns, "cpu")  # JIT / cache load
    t_cpu = []
    for _ in range(max(2, repeat // 2)):
        start = time.perf_counter()
        cpu_hists = run(columns, "cpu")
        t_cpu.append(time.perf_counter() - start)
    start = time.perf_counter()
    device = columns.to("cuda")
    sync()
    copy = time.perf_counter() - start
    start = time.perf_counter()
    run(device, "cuda")
    sync()
    first = time.perf_counter() - start
    t_gpu, gpu_hists = gpu_timed(lambda: run(device, "cuda"), repeat)
    for region in spec.REGIONS:
        a = cpu_hists[region.name].to_hist()  # type: ignore[index]
        b = gpu_hists[region.name].to_hist()  # type: ignore[index]
        assert np.allclose(a.values(flow=True), b.values(flow=True), rtol=1e-9, atol=0)
        assert np.allclose(a.variances(flow=True), b.variances(flow=True), rtol=1e-9, atol=0)
    speedup = min(t_cpu) / min(t_gpu)
    cpu_factors = kernels.smearing_factors(columns.event_number, columns.jet_offsets)
    gpu_factors = kernels.to_host(kernels.smearing_factors(device.event_number, device.jet_offsets))
    ulp = np.abs(cpu_factors.view(np.int64) - gpu_factors.view(np.int64))
    return {
        "events": columns.n_events,
        "jets": columns.n_jets,
        "column_bytes": columns.nbytes,
        "cpu_one_core": summary(t_cpu),
        "gpu": summary(t_gpu),
        "gpu_first_call_s": first,
        "host_to_device_copy_s": copy,
        "cpu_events_per_s": columns.n_events / min(t_cpu),
        "gpu_events_per_s": columns.n_events / min(t_gpu),
        "speedup": speedup,
        "speedup_including_copy": min(t_cpu) / (min(t_gpu) + copy),
        "target": ">= 20x one CPU core",
        "meets_target": speedup >= 20,
        "histograms_equal": True,
        "smearing_factors_differing_from_cpu": float(np.mean(ulp != 0)),
        "smearing_max_ulp_difference": int(ulp.max()),
        "smearing_note": "integer part exact; CUDA libdevice log/cos vs host libm differ in "
        "the last bit for a few % of jets (bit-for-bit holds for CPU and the CUDA simulator)",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fileset", required=True, help="generated fileset with a ttbar sample")
    parser.add_argument("--events", type=int, default=4_000_000)
    parser.add_argument("--fill-events", type=int, default=50_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    import cupy

    props = cupy.cuda.runtime.getDeviceProperties(0)
    columns = tile(read_columns(args.fileset), args.events)
    agc = bench_agc(columns, args.repeat)
    fill = bench_fill(args.fill_events, args.repeat)
    payload = {
        "device": props["name"].decode(),
        "device_memory_gib": props["totalGlobalMem"] / 2**30,
        "agc_compute_stage": agc,
        "weighted_fill": fill,
        "versions": versions(
            "afkit",
            "numba",
            "numba-cuda",
            "cupy-cuda12x",
            "cupy-cuda13x",
            "numpy",
            "awkward",
            "hist",
        ),
    }
    out = write_result("gpu", payload, args.out)
    print(
        f"{payload['device']}: AGC compute x{agc['speedup']:.1f} one core "
        f"({agc['gpu_events_per_s'] / 1e6:.1f} M events/s); fill "
        f"{fill['entries_per_s'] / 1e9:.1f} G entries/s; wrote {out}"
    )


if __name__ == "__main__":
    main()
