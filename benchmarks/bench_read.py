"""Reading jet kinematics: afkit.read vs uproot's own ``arrays()``, same file, same process.

Writes (once, cached under benchmarks/data/) a 1 M-event file in the PHYSLITE layout with ROOT,
then times, best of N after a warm-up run:

* ``uproot``: ``tree.arrays([pt, eta, phi, m])`` and flattening each field to NumPy;
* ``afkit_mev``: ``afkit.read(path, units="MeV")`` and the same four fields (the same values);
* ``afkit_gev``: the default, which also converts pt and m to float64 GeV.

Every run checks afkit's values against uproot's. Result: benchmarks/results/read_jets.json.

    python benchmarks/bench_read.py [--events 1000000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import awkward as ak
import numpy as np
import uproot

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.root_writer

import afkit
from _common import summary, timed, versions, write_result
from afkit.io.filespec import clear_open_files

DATA = Path(__file__).resolve().parent / "data"
FIELDS = ("pt", "eta", "phi", "m")
BRANCHES = [f"AnalysisJetsAuxDyn.{f}" for f in FIELDS]


def read_uproot(path: Path) -> list[np.ndarray]:
    tree = uproot.open(path)["CollectionTree"]
    arrays = tree.arrays(BRANCHES)
    return [ak.to_numpy(ak.flatten(arrays[b])) for b in BRANCHES]


def read_afkit(path: Path, units: str) -> list[np.ndarray]:
    clear_open_files()  # no reuse of the parsed tree between runs: same work as uproot.open
    jets = afkit.read(path, units=units).Jets
    return [ak.to_numpy(ak.flatten(jets[f])) for f in FIELDS]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()

    from tests.root_writer import write_jets_file

    DATA.mkdir(exist_ok=True)
    path = DATA / f"physlite_jets_{args.events}.root"
    written = {}
    if not path.exists():
        start = time.perf_counter()
        written = write_jets_file(path, args.events)
        written["write_s"] = time.perf_counter() - start

    tree = uproot.open(path)["CollectionTree"]
    compressed = sum(int(tree[b].compressed_bytes) for b in BRANCHES)
    uncompressed = sum(int(tree[b].uncompressed_bytes) for b in BRANCHES)

    reference = read_uproot(path)  # warm-up of both paths (page cache, Numba cache)
    for units in ("MeV", "GeV"):
        read_afkit(path, units)

    # interleave the methods in every repetition so that drift (CPU clock, page cache,
    # other processes) affects them alike
    methods = {
        "uproot": lambda: read_uproot(path),
        "afkit_mev": lambda: read_afkit(path, "MeV"),
        "afkit_gev": lambda: read_afkit(path, "GeV"),
    }
    times: dict[str, list[float]] = {k: [] for k in methods}
    for _ in range(args.repeat):
        for label, fn in methods.items():
            elapsed, values = timed(fn, 1)
            times[label].extend(elapsed)
            if label == "uproot":
                continue
            for f, got, ref in zip(FIELDS, values, reference, strict=True):
                converted = label == "afkit_gev" and f in ("pt", "m")
                expected = ref.astype(np.float64) / 1000.0 if converted else ref
                assert np.array_equal(got, expected), f"{label}: {f} differs from uproot"
    results = {k: summary(v) for k, v in times.items()}

    best_uproot = results["uproot"]["best_s"]
    ratios = {k: results[k]["best_s"] / best_uproot for k in ("afkit_mev", "afkit_gev")}
    median_ratios = {
        k: results[k]["median_s"] / results["uproot"]["median_s"]
        for k in ("afkit_mev", "afkit_gev")
    }
    payload = {
        "description": "1 core, local file, 4 jet-kinematics branches of a PHYSLITE-layout tree",
        "file": {
            "events": args.events,
            "layout": "std::vector<float> TBranchElements written by ROOT, ZSTD-5, 35 jet branches",
            "bytes_on_disk": path.stat().st_size,
            "read_branches_compressed_bytes": compressed,
            "read_branches_uncompressed_bytes": uncompressed,
            **written,
        },
        "times": results,
        "events_per_s": {k: args.events / v["best_s"] for k, v in results.items()},
        "ratio_to_uproot": ratios,
        "ratio_to_uproot_median": median_ratios,
        "target": "afkit <= 1.2 x uproot arrays() time",
        "meets_target": {k: v <= 1.2 for k, v in ratios.items()},
        "values_checked_against_uproot": True,
        "versions": versions("afkit", "uproot", "awkward", "awkward-cpp", "numpy", "numba", "root"),
    }
    out = write_result("read_jets", payload)
    mev, gev = ratios["afkit_mev"], ratios["afkit_gev"]
    print(f"uproot {best_uproot:.3f}s  afkit MeV x{mev:.2f}  GeV x{gev:.2f}")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
