"""Generator throughput and memory, and how generated files compare with real PHYSLITE.

* Throughput: ``afkit.datagen.generate`` of ttbar on **one core** (``workers=1``) for a small
  and a ~1 GB dataset at the same chunk size; peak RSS of each run (its own process) shows
  that memory is set by the chunk, not the dataset.
* Layout: compressed bytes per event, compression ratio and the fraction of the bytes in the
  columns the AGC reads, for a generated ttbar and W+jets file and for the real files in
  tests/data.

Result: benchmarks/results/generate.json.   python benchmarks/bench_generate.py [--large N]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import uproot

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import versions, write_result

REAL = Path(__file__).resolve().parents[1] / "tests" / "data"
AGC_BRANCHES = (
    [f"AnalysisElectronsAuxDyn.{x}" for x in ("pt", "eta", "phi", "DFCommonElectronsLHTight")]
    + [f"AnalysisMuonsAuxDyn.{x}" for x in ("pt", "eta", "phi", "quality")]
    + [
        f"AnalysisJetsAuxDyn.{x}"
        for x in (
            "pt",
            "eta",
            "phi",
            "m",
            "NNJvtPass",
            "btaggingLink.m_persKey",
            "btaggingLink.m_persIndex",
        )
    ]
    + [f"BTagging_AntiKt4EMPFlowAuxDyn.DL1dv01_{x}" for x in ("pb", "pc", "pu")]
    + ["EventInfoAuxDyn.eventNumber", "EventInfoAuxDyn.mcEventWeights"]
)

CHILD = r"""
import json, sys, time
from afkit.datagen.generate import generate
out, n, chunk = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
report = generate(out, events_per_sample=n, samples=["ttbar"], files_per_sample=1,
                  chunksize=chunk, workers=1)
peak = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM"))
print(json.dumps({"events": report.events, "bytes": report.bytes, "seconds": report.seconds,
                  "events_per_s": report.events_per_second, "peak_rss_kib": peak}))
"""


def layout_figures(path: Path) -> dict[str, float]:
    tree = uproot.open(path)["CollectionTree"]
    branches = list(tree.itervalues(recursive=True))
    compressed = sum(b.compressed_bytes for b in branches)
    uncompressed = sum(b.uncompressed_bytes for b in branches)
    names = set(tree.keys(recursive=True))
    agc = sum(tree[b].compressed_bytes for b in AGC_BRANCHES if b in names)
    return {
        "events": tree.num_entries,
        "branches": len(names),
        "compressed_bytes_per_event": compressed / tree.num_entries,
        "compression_ratio": uncompressed / compressed,
        "agc_column_fraction": agc / compressed,
    }


def run(out: Path, events: int, chunk: int) -> dict[str, float]:
    completed = subprocess.run(
        [sys.executable, "-c", CHILD, str(out), str(events), str(chunk)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", type=int, default=20_000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--chunk", type=int, default=5_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="afkit-gen-") as tmp:
        small = run(Path(tmp) / "small", args.small, args.chunk)
        large = run(Path(tmp) / "large", args.large, args.chunk)
        generated = {
            "ttbar": layout_figures(Path(tmp) / "large" / "ttbar" / "ttbar_000.root"),
        }
        from afkit.datagen.generate import generate

        generate(Path(tmp) / "w", events_per_sample=5000, samples=["wjets"], files_per_sample=1)
        generated["wjets"] = layout_figures(Path(tmp) / "w" / "wjets" / "wjets_000.root")
    real = {
        p.name: layout_figures(p)
        for p in sorted(REAL.glob("*.root"))
        if "PHYSLITE" in p.name or "951" in p.name
    }
    payload = {
        "description": "afkit generate: one-core throughput, memory vs dataset size, file layout",
        "throughput_one_core": {"small": small, "large": large, "chunksize": args.chunk},
        "peak_rss_ratio_large_to_small": large["peak_rss_kib"] / small["peak_rss_kib"],
        "dataset_size_ratio": large["events"] / small["events"],
        "layout": {"generated": generated, "real": real},
        "versions": versions("afkit", "root", "numpy", "uproot"),
    }
    out = write_result("generate", payload)
    print(json.dumps(payload["throughput_one_core"], indent=1))
    print("peak RSS ratio", payload["peak_rss_ratio_large_to_small"])
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
