"""Kernels vs their awkward formulations, one core, same data, equality asserted in the run.

* best-pT trijet mass: afkit's Numba kernel vs ``ak.combinations`` (AGC spec §4);
* counter-based smearing (spec §5): afkit's Numba kernel, bit-for-bit against the reference on
  a sample.

First-call (JIT / cache load) time is reported apart from steady state (best of N).
Result: benchmarks/results/kernels.json.   python benchmarks/bench_kernels.py [--events N]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import awkward as ak
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import summary, timed, versions, write_result
from afkit import kernels
from afkit.kernels import reference


def combinations_trijet(jet: ak.Array) -> np.ndarray:
    tri = ak.combinations(jet, 3, fields=["a", "b", "c"])
    parts = [tri[f] for f in ("a", "b", "c")]
    px = sum(p.pt * np.cos(p.phi) for p in parts)
    py = sum(p.pt * np.sin(p.phi) for p in parts)
    pz = sum(p.pt * np.sinh(p.eta) for p in parts)
    e = sum(np.sqrt((p.pt * np.cosh(p.eta)) ** 2 + p.m**2) for p in parts)
    has_b = tri.a.tag | tri.b.tag | tri.c.tag
    best = ak.argmax(ak.where(has_b, np.hypot(px, py), -1.0), axis=1, keepdims=True)
    mass = ak.firsts(np.sqrt(np.maximum(e**2 - px**2 - py**2 - pz**2, 0.0))[best])
    return ak.to_numpy(ak.fill_none(ak.where(ak.firsts(has_b[best]), mass, np.nan), np.nan))


PROCESSES = ["ttbar", "single_top_s_chan", "single_top_t_chan", "single_top_tW", "wjets", "data"]
VARIATIONS = (
    ["nominal", "pt_scale_up", "pt_res_up"]
    + [f"btag_var_{i}_{d}" for i in range(4) for d in ("up", "down")]
    + ["scale_var_up", "scale_var_down", "ME_var", "PS_var", "scaleup", "scaledown"][:5]
)


def bench_fill(
    rng: np.random.Generator, n: int, repeat: int, edges: list[float] | None = None
) -> dict[str, object]:
    """AGC layout: 25 bins x 6 processes x 16 variations, weighted storage; one process filled.

    With ``edges``, the observable axis is variable instead of Regular(25, 50, 550).
    """
    import hist

    from afkit.histograms import WeightedCategoryHistogram

    n_var = len(VARIATIONS)
    values = rng.normal(250, 120, (n_var, n))
    weights = rng.normal(1.0, 0.3, (n_var, n))
    selected = rng.uniform(0, 1, (n_var, n)) < 0.5
    entries = int(selected.sum())

    def afkit_fill() -> object:
        if edges is not None:
            h = WeightedCategoryHistogram.variable(edges, PROCESSES, VARIATIONS)
        else:
            h = WeightedCategoryHistogram(25, 50, 550, PROCESSES, VARIATIONS)
        h.fill("ttbar", VARIATIONS, values, weights, selected)
        return h.to_hist()

    def hist_fill() -> object:
        h = hist.Hist(
            hist.axis.Regular(25, 50, 550) if edges is None else hist.axis.Variable(edges),
            hist.axis.StrCategory(PROCESSES),
            hist.axis.StrCategory(VARIATIONS),
            storage=hist.storage.Weight(),
        )
        for i, variation in enumerate(VARIATIONS):
            h.fill(values[i][selected[i]], "ttbar", variation, weight=weights[i][selected[i]])
        return h

    start = time.perf_counter()
    afkit_fill()
    first = time.perf_counter() - start
    t_afkit, ours = timed(afkit_fill, repeat)
    t_hist, theirs = timed(hist_fill, repeat)
    a, b = ours.view(flow=True), theirs.view(flow=True)  # type: ignore[attr-defined]
    assert np.array_equal(a.value, b.value), "afkit fill differs from hist"
    assert np.allclose(a.variance, b.variance, rtol=1e-13, atol=0)
    ratio = min(t_hist) / min(t_afkit)
    return {
        "layout": ("Regular(25, 50, 550)" if edges is None else f"Variable({edges})")
        + " x 6 processes x 16 variations, Weight storage",
        "events": n,
        "variations": n_var,
        "entries": entries,
        "afkit": summary(t_afkit),
        "afkit_first_call_s": first,
        "hist_fill": summary(t_hist),
        "afkit_entries_per_s": entries / min(t_afkit),
        "hist_entries_per_s": entries / min(t_hist),
        "speedup": ratio,
        "target": ">= 3x hist's own fill (one core)",
        "meets_target": ratio >= 3,
        "note": "hist's time includes masking each variation's arrays, as a hist user must",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(1)
    counts = np.minimum(rng.poisson(5.5, args.events), 12)  # selected jets per event, AGC-like
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    n = int(offsets[-1])
    pt, eta = 30 + rng.exponential(60, n), rng.normal(0, 1.2, n)
    phi, m, tag = rng.uniform(-np.pi, np.pi, n), rng.uniform(3, 25, n), rng.uniform(0, 1, n) < 0.3

    start = time.perf_counter()
    first = kernels.best_trijet_mass(offsets, pt, eta, phi, m, tag)
    first_call = time.perf_counter() - start
    t_kernel, got = timed(
        lambda: kernels.best_trijet_mass(offsets, pt, eta, phi, m, tag), args.repeat
    )
    jet = ak.unflatten(ak.zip({"pt": pt, "eta": eta, "phi": phi, "m": m, "tag": tag}), counts)
    t_awkward, expected = timed(lambda: combinations_trijet(jet), max(2, args.repeat // 2))
    assert np.allclose(got, expected, rtol=1e-9, equal_nan=True), (
        "trijet differs from ak.combinations"
    )
    assert np.array_equal(first, got, equal_nan=True)

    numbers = rng.integers(0, 2**63, args.events, dtype=np.uint64)
    all_jets = np.concatenate([[0], np.cumsum(counts + rng.poisson(2, args.events))]).astype(
        np.int64
    )
    start = time.perf_counter()
    kernels.smearing_factors(numbers, all_jets)
    smear_first = time.perf_counter() - start
    t_smear, factors = timed(lambda: kernels.smearing_factors(numbers, all_jets), args.repeat)
    sample = slice(0, 2000)
    ref = reference.smearing_factors(numbers[sample], all_jets[:2001])
    assert np.array_equal(factors[: len(ref)].view(np.uint64), ref.view(np.uint64))

    fill = bench_fill(rng, args.events * 5, args.repeat)
    variable = bench_fill(
        rng, args.events * 5, args.repeat, edges=[50, 75, 100, 150, 200, 300, 400, 550]
    )

    speedup = min(t_awkward) / min(t_kernel)
    payload = {
        "description": "one core; AGC-like jets (Poisson 5.5 selected jets/event, 30% tagged)",
        "events": args.events,
        "jets": n,
        "trijet": {
            "afkit_numba": summary(t_kernel),
            "afkit_first_call_s": first_call,
            "awkward_combinations": summary(t_awkward),
            "speedup": speedup,
            "target": ">= 10x the ak.combinations formulation",
            "meets_target": speedup >= 10,
            "results_equal": True,
        },
        "smearing": {
            "afkit_numba": summary(t_smear),
            "afkit_first_call_s": smear_first,
            "jets_per_s": int(all_jets[-1]) / min(t_smear),
            "bit_for_bit_with_reference_on_first_2000_events": True,
        },
        "weighted_fill": fill,
        "weighted_fill_variable_axis": variable,
        "versions": versions("afkit", "numba", "numpy", "awkward", "hist", "boost-histogram"),
    }
    out = write_result("kernels", payload)
    best_kernel, best_awkward = min(t_kernel), min(t_awkward)
    print(f"trijet: numba {best_kernel:.3f}s vs combinations {best_awkward:.3f}s -> x{speedup:.1f}")
    print(f"smearing: {payload['smearing']['jets_per_s'] / 1e6:.1f} M jets/s; wrote {out}")
    for label, result in (("fill", fill), ("variable-axis fill", variable)):
        rate = result["afkit_entries_per_s"] / 1e6  # type: ignore[operator]
        print(f"{label}: x{result['speedup']:.1f} hist ({rate:.0f} M entries/s)")


if __name__ == "__main__":
    main()
