"""The AGC engine of two afkit source trees on the same files, alternately, one core.

Used to check that a change keeps the engine's speed: e.g. the AGC moving onto the public
API (the column view, the awkward-aware kernels) against the engine before it.  Each tree
runs in its own interpreter (``PYTHONPATH=<tree>/src``), warms up once, then times
``--repeat`` runs of ``afkit.run(AGCProcessor(), fileset, executor="iterative")``; the two
interpreters take turns so that the machine's phases hit both.  Histograms are asserted
identical.  Result: benchmarks/results/engine_ab.json.

    python benchmarks/bench_engine_ab.py --before /path/to/old/tree FILESET.json [...]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import summary, versions, write_result

REPO = Path(__file__).resolve().parents[1]

WORKER = r"""
import json, sys, time
import numpy as np
import afkit
from afkit.agc import AGCProcessor
files = afkit.Fileset.load(sys.argv[1])
processor = AGCProcessor()
afkit.run(processor, files, executor="iterative")
for line in sys.stdin:
    if line.strip() == "stop":
        break
    start = time.perf_counter()
    result, report = afkit.run(processor, files, executor="iterative")
    seconds = time.perf_counter() - start
    sums = {k: np.asarray(h.view(flow=True).value).tolist() for k, h in result["hists"].items()}
    print(json.dumps({"seconds": seconds, "events": report.events_processed, "sums": sums}),
          flush=True)
"""


def start(tree: Path, fileset: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, fileset],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tree,
    )


def ask(worker: subprocess.Popen[str]) -> dict[str, Any]:
    assert worker.stdin is not None
    assert worker.stdout is not None
    worker.stdin.write("run\n")
    worker.stdin.flush()
    return json.loads(worker.stdout.readline())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("filesets", nargs="+")
    parser.add_argument("--before", required=True, type=Path, help="the other source tree")
    parser.add_argument("--label", default="engine on the public API vs before")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    results = []
    for fileset in args.filesets:
        workers = {"before": start(args.before, fileset), "after": start(REPO, fileset)}
        times: dict[str, list[float]] = {"before": [], "after": []}
        sums: dict[str, Any] = {}
        events = 0
        for _ in range(args.repeat):
            for name, worker in workers.items():
                answer = ask(worker)
                times[name].append(answer["seconds"])
                sums[name] = answer["sums"]
                events = answer["events"]
        for worker in workers.values():
            assert worker.stdin is not None
            worker.stdin.write("stop\n")
            worker.stdin.flush()
            worker.wait(timeout=60)
        assert sums["before"] == sums["after"], "the two engines fill different histograms"
        ratio = min(times["before"]) / min(times["after"])
        results.append(
            {
                "fileset": fileset,
                "events": events,
                "before": summary(times["before"]),
                "after": summary(times["after"]),
                "after_events_per_s": events / min(times["after"]),
                "before_events_per_s": events / min(times["before"]),
                "after_speed_over_before": ratio,
                "median_ratio": summary(times["before"])["median_s"]
                / summary(times["after"])["median_s"],
                "meets_target": ratio >= 0.95,
            }
        )
        print(
            f"{fileset}: before {min(times['before']):.3f} s, after {min(times['after']):.3f} s "
            f"-> after runs at {ratio:.3f} of before's speed"
        )
    payload = {
        "description": args.label,
        "before_tree": str(args.before),
        "target": "after >= 0.95 x before's events/s",
        "runs": results,
        "versions": versions("afkit", "awkward", "numba", "numpy"),
    }
    print(f"wrote {write_result('engine_ab', payload)}")


if __name__ == "__main__":
    main()
