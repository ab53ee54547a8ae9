"""The ML step's inference: afkit's fused kernel against xgboost and the coffea way, same events.

Events with 4-8 jets (the AGC's 4j2b multiplicities; at most 6 take part: 12, 60 or 180
permutations), the shipped ``model_even``/``model_odd`` chosen by parity, one core.

* afkit: ``afkit.ml.assignment.assign_jets`` — permutations built, scored and compared in one
  kernel per event.
* xgboost (the peer, as its docs recommend for batch scoring): every permutation's features
  materialised (afkit's ``permutation_features``, timed apart), ``Booster.inplace_predict``
  with ``predict_type="margin"`` per model, then the first argmax per event in NumPy.
* afkit margins only: ``afkit.ml.margins`` on the same materialised rows (tree walking alone).
* coffea style (the acceptance peer): the whole step as coffea users write it — awkward
  permutation indices, the jets of each role by jagged indexing, features with ``vector``,
  ``inplace_predict``, ``ak.argmax`` (``benchmarks/peers/coffea_ml.py``); the jets start as
  awkward Momentum4D arrays, as NanoEvents give them.

Interleaved repeats; the chosen permutations are checked equal in the run.  Writes
``benchmarks/results/ml_inference.json``.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from importlib import resources

import numpy as np

from _common import versions, write_result


def _events(n: int, seed: int = 3) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    counts = rng.integers(4, 9, n)
    k = int(counts.sum())
    return {
        "offsets": np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        "pt": rng.exponential(50.0, k) + 30.0,
        "eta": rng.uniform(-2.5, 2.5, k),
        "phi": rng.uniform(-math.pi, math.pi, k),
        "mass": rng.uniform(3.0, 20.0, k),
        "btag": rng.normal(1.0, 3.0, k),
        "ntrk": rng.poisson(12, k).astype(np.float64),
        "lepton": np.stack(
            [rng.exponential(40, n) + 30, rng.uniform(-2.4, 2.4, n),
             rng.uniform(-math.pi, math.pi, n), np.full(n, 0.000511)], axis=1),
        "number": rng.integers(0, 1 << 40, n),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    import xgboost

    from afkit.ml import load_xgboost, margins
    from afkit.ml.assignment import assign_jets, permutation_features

    folder = resources.files("afkit.agc") / "models"
    files = [str(folder / n) for n in ("model_even.json", "model_odd.json")]
    models = [load_xgboost(f) for f in files]
    boosters = [xgboost.Booster(model_file=f) for f in files]
    for b in boosters:
        b.set_param({"nthread": 1})
    ev = _events(args.events)
    choice = np.where(ev["number"] % 2 == 0, 1, 0)
    jets = {k: ev[k] for k in ("pt", "eta", "phi", "mass", "btag", "ntrk")}
    lepton = {f"lepton_{k}": ev["lepton"][:, i] for i, k in enumerate(("pt", "eta", "phi", "mass"))}

    def ours() -> np.ndarray:
        return assign_jets(models, **jets, **lepton, choice=choice, offsets=ev["offsets"]).index

    def rows() -> tuple[np.ndarray, np.ndarray]:
        return permutation_features(**jets, **lepton, offsets=ev["offsets"])

    features, row_offsets = rows()
    row_model = np.repeat(choice, np.diff(row_offsets))

    def chosen(scores: np.ndarray) -> np.ndarray:
        out = np.empty(len(row_offsets) - 1, np.int64)
        for e in range(len(out)):
            out[e] = int(np.argmax(scores[row_offsets[e] : row_offsets[e + 1]]))
        return out

    def peer() -> np.ndarray:
        scores = np.empty(len(features), np.float32)
        for m, booster in enumerate(boosters):
            pick = row_model == m
            scores[pick] = booster.inplace_predict(features[pick], predict_type="margin")
        return chosen(scores)

    def tree_walk_only() -> np.ndarray:
        scores = np.empty(len(features), np.float32)
        for m, model in enumerate(models):
            pick = row_model == m
            scores[pick] = margins(model, features[pick])
        return scores

    import awkward as ak

    from peers import coffea_ml

    counts = np.diff(ev["offsets"])
    momentum_jets = coffea_ml.momentum_jets(**{k: ak.unflatten(v, counts) for k, v in jets.items()})
    lepton_vectors = ak.zip(
        {k.removeprefix("lepton_"): v for k, v in lepton.items()}, with_name="Momentum4D"
    )
    odd = ev["number"] % 2 == 1

    def coffea_style() -> np.ndarray:
        index, _ = coffea_ml.best_permutation(momentum_jets, lepton_vectors, odd, boosters)
        return ak.to_numpy(ak.fill_none(index, -1))

    assert np.array_equal(ours(), peer()), "afkit and xgboost chose different permutations"
    agreement = float(np.mean(coffea_style() == ours()))
    cases = {
        "afkit_assign_jets": ours,
        "coffea_style_step": coffea_style,
        "materialise_rows": rows,
        "xgboost_predict": peer,
        "afkit_margins_on_rows": tree_walk_only,
    }
    times: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(args.repeat):
        for name, call in cases.items():
            start = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - start)
    best = {k: min(v) for k, v in times.items()}
    n_rows = len(features)
    result = {
        "versions": versions("afkit", "numba", "numpy", "xgboost"),
        "events": args.events,
        "permutations": n_rows,
        "trees": [m.n_trees for m in models],
        "seconds_best": best,
        "seconds_median": {k: statistics.median(v) for k, v in times.items()},
        "events_per_second": {k: args.events / v for k, v in best.items()},
        "coffea_style_agreement": agreement,
        "per_event_microseconds": {k: 1e6 * v / args.events for k, v in best.items()},
        "per_permutation_nanoseconds": {k: 1e9 * v / n_rows for k, v in best.items()},
        "ratios": {
            "coffea_style_over_afkit": best["coffea_style_step"] / best["afkit_assign_jets"],
            "xgboost_over_afkit": best["xgboost_predict"] / best["afkit_assign_jets"],
            "xgboost_plus_rows_over_afkit": (best["xgboost_predict"] + best["materialise_rows"])
            / best["afkit_assign_jets"],
        },
        "note": "one core; xgboost nthread=1; xgboost_predict excludes building its rows "
        "(materialise_rows, listed apart) and equals afkit's choice in the run; "
        "coffea_style_step is the whole step the coffea way (benchmarks/peers/coffea_ml.py: "
        "awkward permutations and features with vector, xgboost inplace_predict, ak.argmax), "
        "its agreement with afkit's choice is coffea_style_agreement (vector's own float order)",
    }
    path = write_result("ml_inference", result)
    print(path.read_text())


if __name__ == "__main__":
    main()
