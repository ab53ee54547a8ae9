"""Make the ML step's two models (spec §8.4, §8.8): ``python -m afkit.agc.training [OUTDIR]``.

1. Generate the training dataset: the generator's ``ttbar`` nominal sample, seed 2026,
   100 000 events (not the analysed dataset).
2. Build the training rows with afkit's kernels: 4j2b events (nominal), their first four
   selected jets labelled exactly {24, 24, 6, -6}; the 12 permutations of those jets, target
   1 for the correct one (:func:`afkit.agc.ml.training_rows`).
3. Train ``model_even`` on the rows of even-``eventNumber`` events and ``model_odd`` on odd
   ones with xgboost (``binary:logistic``, ``base_score=0.5``, ``hist``, 100 trees of depth
   6, learning rate 0.3, seed 5; everything else at xgboost's defaults).
4. Write ``model_even.json``, ``model_odd.json`` and ``training.json`` (what was trained on,
   and each model's per-event and per-jet assignment accuracy on the other parity's events).

The default OUTDIR is the package's own ``afkit/agc/models`` (what afkit ships).  Needs
xgboost (``pip install 'afkit[ml]'``) and the generator (``afkit[generate]``).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from afkit.agc import spec
from afkit.agc.columns import ChunkColumns
from afkit.agc.compute import btag_discriminant, btag_pass, candidates, select
from afkit.agc.ml import MODEL_FILES, training_rows
from afkit.events import read
from afkit.extras import require
from afkit.fileset import Fileset

TRAINING_SEED = 2026
TRAINING_EVENTS = 100_000
#: xgboost parameters of spec §8.8 (``num_boost_round`` = 100 trees)
PARAMETERS: dict[str, Any] = {
    "objective": "binary:logistic",
    "base_score": 0.5,
    "tree_method": "hist",
    "max_depth": 6,
    "learning_rate": 0.3,
    "seed": 5,
}
ROUNDS = 100
CHUNK = 50_000


def rows_of(fileset: Fileset) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Training rows of every ``ttbar`` nominal file, in fileset order, then file order."""
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for sample in fileset.samples.values():
        if sample.process != "ttbar" or sample.variation != spec.NOMINAL:
            continue
        for entry in sample.files:
            path = fileset.resolve(entry)
            for start in range(0, entry.events, CHUNK):
                events = read(path, entry_start=start, entry_stop=start + CHUNK)
                columns = ChunkColumns.from_events(events, mc=True, ml=True, labels=True)
                chosen = candidates(columns, np.ones(columns.n_events), np)
                nominal = select(chosen, chosen.jet_pt, btag_pass(chosen, np), np)
                parts.append(training_rows(chosen, nominal, btag_discriminant(chosen, np), np))
    if not parts:
        raise SystemExit("no ttbar nominal sample in the fileset")
    rows = np.concatenate([p[0] for p in parts])
    target = np.concatenate([p[1] for p in parts])
    numbers = np.concatenate([p[2] for p in parts])
    return rows, target, numbers


def accuracy(booster: Any, rows: np.ndarray, target: np.ndarray) -> dict[str, float]:
    """Per-event (the chosen permutation is the right one) and per-jet (a jet's role is its
    label's) accuracy of ``booster`` over events of 12 rows each."""
    xgboost = require("xgboost", "training the ML step's models")
    from afkit.ml.assignment import permutations

    margins = booster.predict(xgboost.DMatrix(rows), output_margin=True).reshape(-1, 12)
    chosen = np.argmax(margins, axis=1)
    right = np.argmax(target.reshape(-1, 12), axis=1)
    table = permutations(4)
    roles = np.array([0, 0, 1, 2])  # w1, w2 -> W quark; bh; bl
    # the role each of the four jets gets in a permutation: role_of[k, jet]
    role_of = np.empty((12, 4), np.int64)
    for k, slots in enumerate(table):
        role_of[k, slots] = roles
    jets_right = (role_of[chosen] == role_of[right]).mean()
    return {"per_event": float((chosen == right).mean()), "per_jet": float(jets_right)}


def train(outdir: Path, dataset: Path | None = None, workers: int | None = None) -> dict[str, Any]:
    """Steps 1-4 of the module docstring; returns what ``training.json`` holds."""
    xgboost = require("xgboost", "training the ML step's models")
    from afkit.datagen import generate

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="afkit-training-") as scratch:
        folder = dataset or Path(scratch)
        report = generate(
            folder,
            samples=["ttbar"],
            events_per_sample=TRAINING_EVENTS,
            seed=TRAINING_SEED,
            workers=workers,
        )
        rows, target, numbers = rows_of(report.fileset)
    even = numbers % 2 == 0
    per_row_even = np.repeat(even, 12)
    boosters = {}
    for name, chosen in (("model_even", per_row_even), ("model_odd", ~per_row_even)):
        matrix = xgboost.DMatrix(rows[chosen], label=target[chosen])
        boosters[name] = xgboost.train(PARAMETERS, matrix, num_boost_round=ROUNDS)
    outdir.mkdir(parents=True, exist_ok=True)
    for name, file_name in zip(("model_even", "model_odd"), MODEL_FILES, strict=True):
        boosters[name].save_model(str(outdir / file_name))
    summary = {
        "dataset": {"sample": "ttbar", "events": TRAINING_EVENTS, "seed": TRAINING_SEED},
        "trainable_events": {"even": int(even.sum()), "odd": int((~even).sum())},
        "parameters": {**PARAMETERS, "num_boost_round": ROUNDS},
        "xgboost": xgboost.__version__,
        # each model on the events it was not trained on (how the AGC applies it)
        "accuracy_on_other_parity": {
            "model_even": accuracy(
                boosters["model_even"], rows[~per_row_even], target[~per_row_even]
            ),
            "model_odd": accuracy(boosters["model_odd"], rows[per_row_even], target[per_row_even]),
        },
        "seconds": time.perf_counter() - started,
    }
    (outdir / "training.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--conformance"]:
        default = Path(__file__).parent / "models" / "conformance.json"
        make_conformance(Path(args[1]) if len(args) > 1 else default)
        return
    outdir = Path(args[0]) if args else Path(__file__).parent / "models"
    dataset = Path(args[1]) if len(args) > 1 else None
    print(json.dumps(train(outdir, dataset), indent=2))


def make_conformance(path: Path) -> dict[str, Any]:
    """Write spec §8.8's conformance case: a small fixed model (three trees of depth 2 on
    the 20 features) and eight events with every permutation's margin and the expected
    choice, as xgboost computes them — what any tree evaluator is checked against
    (``python -m afkit.agc.training --conformance PATH``)."""
    xgboost = require("xgboost", "making the conformance case")
    from afkit.ml.assignment import permutation_features

    rng = np.random.default_rng(88)
    counts = np.array([4, 5, 6, 7, 4, 6, 5, 6])
    n = int(counts.sum())
    jets: dict[str, Any] = {
        "pt": np.round(rng.exponential(60.0, n) + 30.0, 3),
        "eta": np.round(rng.uniform(-2.4, 2.4, n), 4),
        "phi": np.round(rng.uniform(-3.1, 3.1, n), 4),
        "mass": np.round(rng.uniform(4.0, 15.0, n), 3),
        "btag": np.round(rng.normal(1.5, 3.0, n), 3),
        "ntrk": rng.poisson(12, n).astype(np.float64),
    }
    jets["btag"][5] = np.nan  # a missing b-tag: each node's default branch
    lepton: dict[str, Any] = {
        "lepton_pt": np.round(rng.exponential(40.0, len(counts)) + 30.0, 3),
        "lepton_eta": np.round(rng.uniform(-2.4, 2.4, len(counts)), 4),
        "lepton_phi": np.round(rng.uniform(-3.1, 3.1, len(counts)), 4),
        "lepton_mass": np.where(np.arange(len(counts)) % 2 == 0, 0.000511, 0.1056583755),
    }
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    rows, row_offsets = permutation_features(**jets, **lepton, offsets=offsets)
    target = (np.abs(rows[:, 6] - 172.5) < 30.0).astype(int)  # near the top mass
    booster = xgboost.train(
        {**PARAMETERS, "max_depth": 2, "nthread": 1}, xgboost.DMatrix(rows, label=target), 3
    )
    margins = booster.predict(xgboost.DMatrix(rows), output_margin=True)
    events = []
    for e in range(len(counts)):
        scores = margins[row_offsets[e] : row_offsets[e + 1]]
        events.append(
            {
                "jets": {k: [float(v) for v in a[offsets[e] : offsets[e + 1]]]
                         for k, a in jets.items()},
                "lepton": {k: float(a[e]) for k, a in lepton.items()},
                "margins": [float(s) for s in scores],
                "best_index": int(np.argmax(scores)),
            }
        )  # fmt: skip
    case = {
        "about": "AGC spec §8.8 conformance: margins are float32 values written as float64",
        "xgboost": xgboost.__version__,
        "model": json.loads(booster.save_raw("json")),
        "events": events,
    }
    path.write_text(json.dumps(case, indent=1) + "\n")
    return case


if __name__ == "__main__":
    main()
