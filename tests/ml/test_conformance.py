"""AGC spec §8.8's conformance case, shipped with afkit: a small fixed model and eight
events with every permutation's margin and the expected choice, as xgboost computed them
(``python -m afkit.agc.training --conformance``).  Checked without xgboost."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from afkit.ml import load_xgboost, margins
from afkit.ml.assignment import assign_jets, permutation_features
from tests.kernels.cudasim import run_simulated


@pytest.fixture(scope="module")
def case() -> dict[str, Any]:
    path = resources.files("afkit.agc") / "models" / "conformance.json"
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def _inputs(case: dict[str, Any]) -> dict[str, Any]:
    events = case["events"]
    counts = [len(e["jets"]["pt"]) for e in events]
    out = {k: np.concatenate([e["jets"][k] for e in events]) for k in events[0]["jets"]}
    out.update({k: np.array([e["lepton"][k] for e in events]) for k in events[0]["lepton"]})
    out["offsets"] = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return out


def test_every_permutation_margin_and_the_choice(case: dict[str, Any]) -> None:
    model = load_xgboost(case["model"])
    assert model.n_trees == 3
    inputs = _inputs(case)
    rows, _ = permutation_features(**inputs)
    expected = np.concatenate([np.array(e["margins"], np.float32) for e in case["events"]])
    assert np.array_equal(margins(model, rows), expected)
    best = assign_jets(model, **inputs)
    assert best.index.tolist() == [e["best_index"] for e in case["events"]]
    ties = [len(set(e["margins"])) < len(e["margins"]) for e in case["events"]]
    assert all(ties)  # three shallow trees: equal margins, the first one is chosen


SIMULATED = """
from afkit.kernels import _trees_cuda
names = ("permutations", "first", "roots", "tree_first", "left", "right", "feature",
         "threshold", "default_left", "bases")
features, index, margin, bad = _trees_cuda.best_permutations(
    d["offsets"], d["pt"], d["eta"], d["phi"], d["mass"], d["btag"], d["ntrk"], d["lepton"],
    d["choice"], tuple(d[k] for k in names))
np.savez(sys.argv[2], index=index, margin=margin)
"""


def test_the_cuda_kernel_under_the_simulator(case: dict[str, Any], tmp_path: Path) -> None:
    from afkit.ml.assignment import _model_tables

    model = load_xgboost(case["model"])
    inputs = _inputs(case)
    names = ("permutations", "first", "roots", "tree_first", "left", "right", "feature",
             "threshold", "default_left", "bases")  # fmt: skip
    lepton = np.stack([inputs[f"lepton_{k}"] for k in ("pt", "eta", "phi", "mass")], axis=1)
    arrays = {
        **{k: inputs[k] for k in ("offsets", "pt", "eta", "phi", "mass", "btag", "ntrk")},
        "lepton": lepton,
        "choice": np.zeros(len(case["events"]), np.int64),
        **dict(zip(names, _model_tables([model]), strict=True)),
    }
    out = run_simulated(tmp_path, SIMULATED, arrays)
    assert out["index"].tolist() == [e["best_index"] for e in case["events"]]
    assert out["margin"].tolist() == [
        float(np.float32(e["margins"][e["best_index"]])) for e in case["events"]
    ]


def test_xgboost_agrees_with_the_recorded_case(case: dict[str, Any], tmp_path: Path) -> None:
    xgb = pytest.importorskip("xgboost")
    (tmp_path / "model.json").write_text(json.dumps(case["model"]))
    booster = xgb.Booster(model_file=str(tmp_path / "model.json"))
    rows, _ = permutation_features(**_inputs(case))
    expected = np.concatenate([np.array(e["margins"], np.float32) for e in case["events"]])
    assert np.array_equal(booster.predict(xgb.DMatrix(rows), output_margin=True), expected)
