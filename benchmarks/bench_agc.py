"""The AGC peer benchmark: afkit vs coffea vs RDataFrame vs the I/O floor, same files, one core.

* afkit: ``afkit.run(AGCProcessor(), fileset, executor="iterative")`` — read, select, fill.
* coffea: the same spec as a coffea processor (benchmarks/peers/coffea_agc.py), PHYSLITESchema,
  ``processor.Runner`` with the iterative executor.
* RDataFrame: measured when the ``root`` package is importable *and* ``--rdataframe`` is given
  (benchmarks/peers/rdataframe_agc.py); otherwise recorded as not measured.
* I/O floor: uproot reading exactly the branches afkit reads (same chunks), nothing else.
* afkit I/O floor: afkit's own reader fetching, decompressing and cutting the same baskets
  (tree metadata included, no decoding, no event model) — what afkit's reading costs alone.
* zstd floor: the baskets of exactly those branches, already in memory (located by uproot's
  ``fBasketSeek``/``fBasketBytes``, read before timing), decompressed into buffers made
  beforehand — nothing else. The physical floor of any reader of these files.

Every tool runs in this process on one core, interleaved ``--repeat`` times (best time kept);
coffea's histograms are checked equal to afkit's (sums within 1e-6 relative).
Result: benchmarks/results/agc_peers.json.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import afkit
from _common import summary, versions, write_result, zstd_floor
from afkit.agc import AGCProcessor, spec
from afkit.agc.columns import ChunkColumns
from afkit.executors import plan
from afkit.fileset import Fileset, SampleEntry


def sample_metadata(s: SampleEntry) -> dict[str, Any]:
    """What the peer implementations need to know of a sample (normalisation, role)."""
    return {
        "is_data": s.is_data,
        "process": s.process,
        "variation": s.variation,
        "xsec": s.xsec,
        "luminosity": s.luminosity,
        "sumw": s.sumw,
    }


def run_afkit(fileset: Fileset, chunksize: int, ml: bool = False) -> dict[str, Any]:
    result, report = afkit.run(
        AGCProcessor(ml=ml), fileset, executor="iterative", chunksize=chunksize
    )
    assert report.complete
    return result


def branches_read(fileset: Fileset) -> list[str]:
    sample = next(s for s in fileset.samples.values() if not s.is_data)
    events = afkit.read(fileset.resolve(sample.files[0]), entry_stop=10)
    ChunkColumns.from_events(events, mc=True)
    return list(events.branches_read)


def run_floor(fileset: Fileset, chunksize: int, branches: list[str]) -> int:
    import uproot

    n = 0
    for item in plan(fileset, chunksize=chunksize):
        with uproot.open(item.file) as f:
            tree = f[item.tree]
            wanted = [b for b in branches if b in tree]  # data files carry no MC weights
            arrays = tree.arrays(wanted, entry_start=item.entry_start, entry_stop=item.entry_stop)
            n += len(arrays)
    return n


def run_afkit_floor(fileset: Fileset, chunksize: int, branches: list[str]) -> int:
    from afkit.io.filespec import open_file
    from afkit.io.rootio.baskets import read_entries
    from afkit.io.tree import open_tree

    n = 0
    for item in plan(fileset, chunksize=chunksize):
        handle = open_file(item.file, reuse=False)
        try:
            tree = open_tree(handle, item.file, item.tree)
            assert tree.native is not None, f"afkit's reader cannot decode {item.file}"
            for name in branches:
                meta = tree.branch_meta(name)
                if meta is not None:  # data files carry no MC weights
                    read_entries(tree.bytes, meta, item.entry_start, item.entry_stop)
            n += item.events
        finally:
            handle.close()
    return n


def basket_floor_inputs(fileset: Fileset, branches: list[str]) -> tuple[list[Any], list[Any]]:
    """Every basket of ``branches`` in every file: compressed payloads and output buffers.

    Positions come from uproot's reading of the branch records; each basket's key header
    gives where its payload starts and how long it decompresses.  (Baskets kept inside the
    tree record — a seek of 0 — come with the tree's metadata and are left out.)"""
    import uproot

    payloads, outputs = [], []
    for sample in fileset.samples.values():
        for entry in sample.files:
            path = fileset.resolve(entry)
            with uproot.open(path) as handle, open(path, "rb") as raw_file:
                tree = handle[entry.tree]
                for name in branches:
                    if name not in tree:
                        continue  # data files carry no MC weights
                    branch = tree[name]
                    count = branch.num_baskets
                    seeks = branch.member("fBasketSeek")[:count]
                    sizes = branch.member("fBasketBytes")[:count]
                    for seek, size in zip(seeks, sizes, strict=True):
                        if seek == 0:
                            continue
                        raw_file.seek(int(seek))
                        key = raw_file.read(int(size))
                        objlen = int.from_bytes(key[6:10], "big")
                        keylen = int.from_bytes(key[14:16], "big")
                        payloads.append(np.frombuffer(key[keylen:], np.uint8))
                        outputs.append(np.empty(objlen, np.uint8))
    return payloads, outputs


def run_coffea(fileset: Fileset, chunksize: int, ml: bool = False) -> dict[str, Any]:
    from coffea import processor
    from coffea.nanoevents import PHYSLITESchema

    from peers.coffea_agc import CoffeaAGC

    files = {
        name: {"files": {fileset.resolve(f): f.tree for f in s.files}}
        for name, s in fileset.samples.items()
    }
    meta = {name: sample_metadata(s) for name, s in fileset.samples.items()}
    runner = processor.Runner(
        processor.IterativeExecutor(), schema=PHYSLITESchema, chunksize=chunksize
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return runner(files, CoffeaAGC(meta, ml=ml), treename="CollectionTree")  # type: ignore[no-any-return]


def run_rdataframe(fileset: Fileset) -> dict[tuple[str, str, str], Any]:
    from afkit.datagen.rootwriter import load_root
    from peers import rdataframe_agc

    root = load_root()
    root.ROOT.DisableImplicitMT()
    rdataframe_agc.declare(root)
    booked = {}
    for s in fileset.samples.values():
        meta = sample_metadata(s)
        files = [fileset.resolve(f) for f in s.files]
        process = "data" if s.is_data else s.process
        for (region, variation), h in rdataframe_agc.book(root, files, meta).items():
            booked[(region, process, variation)] = h
    root.RDF.RunGraphs(list(booked.values()))
    return {key: rdataframe_agc.contents(h.GetValue()) for key, h in booked.items()}


def compare_rdataframe(ours: dict[str, Any], theirs: dict[tuple[str, str, str], Any]) -> float:
    worst = 0.0
    for (region, process, variation), (values, _) in theirs.items():
        a = ours[region][:, process, variation].values(flow=True)
        assert np.allclose(a, values, rtol=1e-6, atol=1e-9), (region, process, variation)
        scale = np.maximum(np.abs(a), 1e-300)
        worst = max(worst, float(np.max(np.abs(a - values) / scale, initial=0.0)))
    return worst


def compare(ours: dict[str, Any], theirs: dict[str, Any]) -> float:
    worst = 0.0
    for region in spec.REGIONS:
        a = ours[region.name].values(flow=True)
        b = theirs[region.name].values(flow=True)
        assert np.allclose(a, b, rtol=1e-6, atol=1e-9), f"{region.name}: coffea differs"
        scale = np.maximum(np.abs(a), 1e-300)
        worst = max(worst, float(np.max(np.abs(a - b) / scale, initial=0.0)))
    return worst


def ml_agreement(ours: dict[str, Any], theirs: dict[str, Any]) -> dict[str, Any]:
    """How the coffea-way ML histograms compare with afkit's: the peer computes its features
    with ``vector`` (another float order), so a rare event may choose another permutation;
    reported, not asserted.  The total weight per feature must agree."""
    from afkit.agc.spec import ML_FEATURES

    worst, differing, total = 0.0, 0, 0
    for name in ML_FEATURES:
        a = ours[name].values(flow=True)
        b = theirs[name].values(flow=True)
        assert np.isclose(a.sum(), b.sum(), rtol=1e-9), f"{name}: other events filled"
        scale = np.maximum(np.abs(a), 1e-300)
        worst = max(worst, float(np.max(np.abs(a - b) / scale, initial=0.0)))
        differing += int((~np.isclose(a, b, rtol=1e-6, atol=1e-9)).sum())
        total += a.size
    return {
        "coffea_ml_histograms_max_relative_difference": worst,
        "coffea_ml_bins_differing": f"{differing} of {total}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fileset", default=None, help="default: afkit's default AGC dataset")
    parser.add_argument("--chunksize", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--name", default="agc_peers", help="benchmarks/results/NAME.json")
    parser.add_argument(
        "--ml",
        action="store_true",
        help="with the §8 ML step (afkit AGCProcessor(ml=True); coffea: peers/coffea_ml.py)",
    )
    parser.add_argument(
        "--rdataframe",
        action="store_true",
        help="also run the RDataFrame version (needs the root package)",
    )
    args = parser.parse_args()
    if args.fileset is None:
        from afkit.agc import default_dataset

        args.fileset = str(default_dataset())
    fileset = Fileset.load(args.fileset)
    events = sum(s.events for s in fileset.samples.values())
    branches = branches_read(fileset)

    payloads, outputs = basket_floor_inputs(fileset, branches)
    tools = [
        ("afkit", lambda: run_afkit(fileset, args.chunksize, args.ml)),
        ("zstd_floor", lambda: zstd_floor(payloads, outputs)),
        ("coffea", lambda: run_coffea(fileset, args.chunksize, args.ml)),
        ("io_floor", lambda: run_floor(fileset, args.chunksize, branches)),
        ("afkit_io_floor", lambda: run_afkit_floor(fileset, args.chunksize, branches)),
    ]
    if args.rdataframe:
        tools.append(("rdataframe", lambda: run_rdataframe(fileset)))
    times: dict[str, list[float]] = {name: [] for name, _ in tools}
    results: dict[str, Any] = {}
    run_afkit(fileset, args.chunksize, args.ml)  # warm-up: Numba cache load, page cache
    for _ in range(args.repeat):
        for name, fn in tools:
            start = time.perf_counter()
            results[name] = fn()
            times[name].append(time.perf_counter() - start)
    worst = compare(results["afkit"]["hists"], results["coffea"]["hists"])
    rate = {name: events / min(t) for name, t in times.items()}
    payload: dict[str, Any] = {
        "description": "AGC spec §1-5 (all variations)"
        + (" and the §8 ML step (20 histograms, every variation)" if args.ml else "")
        + " on the same generated files, one core, iterative executors; best of the "
        "interleaved runs",
        "ml_step": args.ml,
        "fileset": args.fileset,
        "events": events,
        "files": sum(len(s.files) for s in fileset.samples.values()),
        "chunksize": args.chunksize,
        "branches_read": branches,
        "seconds": {name: summary(t) for name, t in times.items()},
        "events_per_s_per_core": rate,
        "afkit_over_coffea": rate["afkit"] / rate["coffea"],
        "afkit_fraction_of_io_floor": rate["afkit"] / rate["io_floor"],
        "afkit_fraction_of_afkit_io_floor": rate["afkit"] / rate["afkit_io_floor"],
        "afkit_fraction_of_zstd_floor": rate["afkit"] / rate["zstd_floor"],
        "zstd_floor_bytes": {
            "compressed": int(sum(len(p) for p in payloads)),
            "decompressed": int(sum(len(o) for o in outputs)),
        },
        "largest_file_events": max(f.events for s in fileset.samples.values() for f in s.files),
        "coffea_histograms_max_relative_difference": worst,
        **(ml_agreement(results["afkit"]["hists"], results["coffea"]["hists"]) if args.ml else {}),
        "targets": {
            "afkit_over_coffea": ">= 5",
            "afkit_over_rdataframe": ">= 3",
            "afkit_fraction_of_io_floor": ">= 0.75",
            "afkit_fraction_of_zstd_floor": ">= 0.75 on files of >= 100 k events",
        },
        "afkit_time_split_s": results["afkit"]["timing"],
        "rdataframe": "measured" if args.rdataframe else "not measured (pass --rdataframe)",
        "versions": versions(
            "afkit", "coffea", "uproot", "awkward", "numba", "numpy", "hist", "root"
        ),
    }
    if args.rdataframe:
        payload["afkit_over_rdataframe"] = rate["afkit"] / rate["rdataframe"]
        payload["rdataframe_histograms_max_relative_difference"] = compare_rdataframe(
            results["afkit"]["hists"], results["rdataframe"]
        )
    out = write_result(args.name, payload)
    print("events/s per core: " + ", ".join(f"{k} {v:,.0f}" for k, v in rate.items()))
    print(
        f"afkit/coffea x{payload['afkit_over_coffea']:.1f}; "
        f"afkit/io floor {payload['afkit_fraction_of_io_floor']:.2f}; "
        f"afkit/zstd floor {payload['afkit_fraction_of_zstd_floor']:.2f}; wrote {out}"
    )


if __name__ == "__main__":
    main()
