"""The AGC written by hand on afkit's public API vs afkit's AGC engine, same files, one core.

``examples/agc_by_hand.py`` (afkit.read/afkit.run, awkward, afkit's kernels, hist — not
afkit.agc) and the engine (``afkit.agc.AGCProcessor``) run over the same fileset with the
``iterative`` executor (one core), alternately:

* fresh: each in a new interpreter (import, reading, compiled-code loading, the run: what a
  batch job or ``python analysis.py`` pays), timed from the outside;
* warm: both in one process after a first run (a notebook re-running a cell).

Their histograms are asserted identical (every bin's sum of weights and of squares).
Target (issue "The fast path for everyone"): by hand, fresh, <= 1/0.7 of the engine's time on
a file of >= 100 k events.  Result: benchmarks/results/by_hand.json.

    python benchmarks/bench_by_hand.py FILESET.json [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import summary, versions, write_result

REPO = Path(__file__).resolve().parents[1]
BY_HAND = REPO / "examples" / "agc_by_hand.py"

ENGINE = """
import json, sys, time
start = time.perf_counter()
import afkit
from afkit.agc import AGCProcessor
sys.path.insert(0, {examples!r})
result, report = afkit.run(AGCProcessor(), afkit.Fileset.load(sys.argv[1]), executor="iterative")
assert report.complete
from agc_by_hand import histograms_json
json.dump(histograms_json(result["hists"]), open(sys.argv[2], "w"))
print(json.dumps({{"events": report.events_processed, "seconds": time.perf_counter() - start}}))
"""


def fresh(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, text=True)
    return time.perf_counter() - start


def warm(fileset: str, rounds: int) -> dict[str, Any]:
    """Both analyses in this process, after one run each."""
    import importlib.util

    import afkit
    from afkit.agc import AGCProcessor

    spec = importlib.util.spec_from_file_location("agc_by_hand", BY_HAND)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    files = afkit.Fileset.load(fileset)
    engine, hand = AGCProcessor(), module.AGCByHand()
    times: dict[str, list[float]] = {"engine": [], "by_hand": []}
    for processor in (engine, hand):
        afkit.run(processor, files, executor="iterative")
    for _ in range(rounds):
        for name, processor in (("engine", engine), ("by_hand", hand)):
            start = time.perf_counter()
            afkit.run(processor, files, executor="iterative")
            times[name].append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("fileset")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp(prefix="afkit-by-hand-"))
    engine_cmd = [
        sys.executable, "-c", ENGINE.format(examples=str(BY_HAND.parent)), args.fileset,
        str(out / "engine.json"),
    ]  # fmt: skip
    hand_cmd = [
        sys.executable, str(BY_HAND), args.fileset, str(out / "by_hand.json"),
        "--executor", "iterative",
    ]  # fmt: skip
    times: dict[str, list[float]] = {"engine": [], "by_hand": []}
    for _ in range(args.rounds):  # alternating, so that the machine's phases hit both
        times["engine"].append(fresh(engine_cmd))
        times["by_hand"].append(fresh(hand_cmd))
    a = json.loads((out / "engine.json").read_text())["hists"]
    b = json.loads((out / "by_hand.json").read_text())["hists"]
    assert a.keys() == b.keys(), "different histograms filled"
    assert all(a[k] == b[k] for k in a), "histograms differ"
    warm_times = warm(args.fileset, args.rounds)

    import afkit

    files = afkit.Fileset.load(args.fileset)
    events = sum(s.events for s in files.samples.values())
    largest = max(f.events for s in files.samples.values() for f in s.files)
    fresh_ratio = min(times["by_hand"]) / min(times["engine"])
    warm_ratio = min(warm_times["by_hand"]) / min(warm_times["engine"])
    payload = {
        "description": "one core (iterative executor); fresh interpreters and one warm process",
        "fileset": args.fileset,
        "events": events,
        "largest_file_events": largest,
        "histograms": len(a),
        "histograms_identical": True,
        "fresh": {
            "engine": summary(times["engine"]),
            "by_hand": summary(times["by_hand"]),
            "by_hand_over_engine": fresh_ratio,
            "target": "<= 1/0.7 = 1.43 (by hand at >= 70 % of the engine's speed)",
            "meets_target": fresh_ratio <= 1 / 0.7,
        },
        "warm": {
            "engine": summary(warm_times["engine"]),
            "by_hand": summary(warm_times["by_hand"]),
            "by_hand_over_engine": warm_ratio,
            "engine_events_per_s": events / min(warm_times["engine"]),
            "by_hand_events_per_s": events / min(warm_times["by_hand"]),
        },
        "versions": versions("afkit", "awkward", "numba", "numpy", "hist", "vector"),
    }
    path = write_result("by_hand", payload)
    print(
        f"fresh: engine {min(times['engine']):.2f} s, by hand {min(times['by_hand']):.2f} s "
        f"(x{fresh_ratio:.2f}); warm: engine {min(warm_times['engine']):.3f} s, by hand "
        f"{min(warm_times['by_hand']):.3f} s (x{warm_ratio:.2f}); wrote {path}"
    )


if __name__ == "__main__":
    main()
