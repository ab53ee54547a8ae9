"""afkit's kernels on awkward arrays vs the plain-awkward idiom each replaces.

One core, AGC-sized arrays (100 k events, Poisson 6 jets and ~1.5 leptons per event), the
same awkward inputs for both sides, results asserted equal inside the run (floating-point
sums and masses to 1e-9 relative).  Each side is timed as a user calls it: awkward arrays in,
awkward arrays out.  Best of N after one call that compiles/loads the kernels (reported).

Targets (issue "The fast path for everyone"): no kernel slower than its idiom; the
combinatorial and matching ones (best combination, ΔR matching, pair masses) >= 5x.
Result: benchmarks/results/awkward_kernels.json.
    python benchmarks/bench_awkward_kernels.py [--events N] [--repeat N]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
import vector

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import summary, timed, versions, write_result
from afkit import kernels

vector.register_awkward()

COMBINATORIAL = {
    "best_combination_3",
    "best_combination_2_mass",
    "best_combination_4",
    "pair_masses",
    "pair_masses_cross",
    "min_delta_r",
    "nearest",
    "match_within",
}


def collection(rng: np.random.Generator, events: int, mean: float, cap: int) -> ak.Array:
    counts = np.minimum(rng.poisson(mean, events), cap)
    n = int(counts.sum())
    fields = {
        "pt": 25 + rng.exponential(50, n),
        "eta": rng.normal(0, 1.4, n),
        "phi": rng.uniform(-np.pi, np.pi, n),
        "mass": rng.uniform(2, 20, n),
    }
    return ak.unflatten(ak.zip(fields, with_name="Momentum4D"), counts)


def assert_close(a: Any, b: Any, what: str) -> None:
    x = ak.to_numpy(ak.fill_none(ak.flatten(a, axis=None), np.nan)).astype(float)
    y = ak.to_numpy(ak.fill_none(ak.flatten(b, axis=None), np.nan)).astype(float)
    assert x.shape == y.shape, what
    assert np.allclose(x, y, rtol=1e-9, atol=1e-4, equal_nan=True), what
    na, nb = ak.to_list(ak.is_none(a, axis=-1)), ak.to_list(ak.is_none(b, axis=-1))
    assert na == nb, f"{what}: missing values differ"


def idiom_best(
    objects: ak.Array, n: int, by: str, require: ak.Array | None, target: float | None
) -> ak.Array:
    """The best combination as analyses write it: combinations, sums, scores, argmax."""
    combos = ak.combinations(objects, n)
    parts = [combos[str(k)] for k in range(n)]
    total = parts[0]
    for part in parts[1:]:
        total = total + part
    if by == "pt":
        score = total.pt
    elif target is None:
        score = total.mass
    else:
        score = -abs(total.mass - target)
    if require is not None:
        flags = ak.combinations(require, n)
        ok = flags["0"]
        for k in range(1, n):
            ok = ok | flags[str(k)]
        score = ak.where(ok, score, -np.inf)
        best = ak.argmax(score, axis=1, keepdims=True)
        found = ak.firsts(ok[best])
        return ak.mask(ak.firsts(total[best].mass), ak.fill_none(found, False))
    best = ak.argmax(score, axis=1, keepdims=True)
    return ak.firsts(total[best].mass)


def cases(
    jets: ak.Array, leptons: ak.Array
) -> dict[str, tuple[Callable[[], Any], Callable[[], Any]]]:
    """name -> (afkit kernel call, awkward idiom), both from the same awkward inputs."""
    mask = jets.pt > 40
    tagged = jets.pt > 80
    table: dict[str, Any] = {}

    def metric() -> Any:  # the ΔR table of the idiom (built inside each timed idiom call)
        pairs = ak.cartesian([leptons, jets], nested=True)
        return pairs["0"].deltaR(pairs["1"])

    table["count"] = (lambda: kernels.count(mask), lambda: ak.count_nonzero(mask, axis=1))
    table["sum"] = (lambda: kernels.sum(jets.pt, mask), lambda: ak.sum(jets.pt[mask], axis=1))
    table["max"] = (lambda: kernels.max(jets.pt, mask), lambda: ak.max(jets.pt[mask], axis=1))
    table["any"] = (lambda: kernels.any(mask), lambda: ak.any(mask, axis=1))
    table["leading_4"] = (
        lambda: kernels.leading(jets.pt, 4, mask),
        lambda: ak.pad_none(jets.pt[mask], 4, clip=True),
    )
    table["best_combination_3"] = (
        lambda: kernels.best_combination(jets, 3, by="pt", require=tagged).mass,
        lambda: idiom_best(jets, 3, "pt", tagged, None),
    )
    table["best_combination_4"] = (
        lambda: kernels.best_combination(jets, 4, by="mass").mass,
        lambda: idiom_best(jets, 4, "mass", None, None),
    )
    table["best_combination_2_mass"] = (  # the dijet closest to the W mass
        lambda: kernels.best_combination(jets, 2, by="mass", target=80.4).mass,
        lambda: idiom_best(jets, 2, "mass", None, 80.4),
    )
    table["pair_masses"] = (
        lambda: kernels.pair_masses(jets),
        lambda: (lambda c: (c["0"] + c["1"]).mass)(ak.combinations(jets, 2)),
    )
    table["pair_masses_cross"] = (
        lambda: kernels.pair_masses(leptons, jets),
        lambda: (lambda c: (c["0"] + c["1"]).mass)(ak.cartesian([leptons, jets])),
    )
    table["min_delta_r"] = (
        lambda: kernels.min_delta_r(leptons, jets),
        lambda: ak.min(metric(), axis=2),
    )
    table["nearest"] = (
        lambda: kernels.nearest(leptons, jets).index,
        lambda: ak.argmin(metric(), axis=2),
    )
    table["match_within"] = (
        lambda: kernels.match_within(leptons, jets, 0.4),
        lambda: ak.any(metric() < 0.4, axis=2),
    )
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(11)
    jets = collection(rng, args.events, 6.0, 14)
    leptons = collection(rng, args.events, 1.5, 5)
    results: dict[str, Any] = {}
    for name, (ours, theirs) in cases(jets, leptons).items():
        start = time.perf_counter()
        ours()
        first = time.perf_counter() - start
        t_ours, got = timed(ours, args.repeat)
        t_theirs, expected = timed(theirs, max(2, args.repeat // 2))
        assert_close(got, expected, name)
        ratio = min(t_theirs) / min(t_ours)
        target = 5.0 if name in COMBINATORIAL else 1.0
        results[name] = {
            "afkit": summary(t_ours),
            "afkit_first_call_s": first,
            "awkward_idiom": summary(t_theirs),
            "speedup": ratio,
            "target": f">= {target:g}x the awkward idiom",
            "meets_target": ratio >= target,
        }
        ours_ms, theirs_ms = min(t_ours) * 1e3, min(t_theirs) * 1e3
        print(f"{name:26s} afkit {ours_ms:8.2f} ms  idiom {theirs_ms:9.2f} ms  x{ratio:.1f}")
    payload = {
        "description": "one core; awkward arrays in and out on both sides; equality asserted",
        "events": args.events,
        "jets": int(ak.sum(ak.num(jets))),
        "leptons": int(ak.sum(ak.num(leptons))),
        "cases": results,
        "all_targets_met": all(r["meets_target"] for r in results.values()),
        "versions": versions("afkit", "numba", "numpy", "awkward", "vector"),
    }
    print(f"wrote {write_result('awkward_kernels', payload)}")


if __name__ == "__main__":
    main()
