"""Tree-ensemble inference: afkit's kernels against xgboost's own predict, bit for bit."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
import pytest

import afkit
from afkit.ml import load_xgboost, margins
from tests.kernels.cudasim import run_simulated

xgb = pytest.importorskip("xgboost")


def _rows(n: int = 4000, width: int = 7, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, width))
    x[::7, 2] = np.nan  # missing values take each node's default branch
    x[::11, 5] = np.nan
    x[::13, 0] = 1e-3 * np.round(x[::13, 0] * 1e3)  # values on a grid: equal to thresholds
    return x


def _train(x: np.ndarray, **parameters: Any) -> Any:
    target = (x[:, 0] + np.nan_to_num(x[:, 2]) * x[:, 1] > 0).astype(int)
    rounds = parameters.pop("rounds", 40)
    settings = {
        "objective": "binary:logistic",
        "base_score": 0.5,
        "max_depth": 6,
        "tree_method": "hist",
        "seed": 5,
        **parameters,
    }
    return xgb.train(settings, xgb.DMatrix(x, label=target), num_boost_round=rounds)


def _document(booster: Any) -> dict[str, Any]:
    return json.loads(booster.save_raw("json"))


@pytest.mark.parametrize(
    ("objective", "base_score"),
    [
        ("binary:logistic", 0.5),
        ("binary:logistic", 0.7),  # offset computed in float32, as xgboost does
        ("binary:logistic", 0.123),
        ("reg:logistic", 0.91),
        ("binary:logitraw", 0.2),
        ("reg:squarederror", 1.7),
    ],
)
def test_margins_equal_xgboost_bit_for_bit(objective: str, base_score: float) -> None:
    x = _rows()
    booster = _train(x, objective=objective, base_score=base_score)
    model = load_xgboost(_document(booster))
    expected = booster.predict(xgb.DMatrix(x), output_margin=True)
    got = margins(model, x)
    assert got.dtype == np.float32
    assert np.array_equal(got, expected)
    assert np.array_equal(model.margins(x.astype(np.float32)), expected)


def test_deep_trees_and_many_rounds_from_a_saved_file(tmp_path: Path) -> None:
    x = _rows(3000, width=20, seed=3)
    booster = _train(x, max_depth=12, rounds=120, learning_rate=0.5)
    booster.save_model(str(tmp_path / "model.json"))
    model = load_xgboost(tmp_path / "model.json")
    assert model.n_trees == 120
    assert model.max_depth > 6
    assert np.array_equal(margins(model, x), booster.predict(xgb.DMatrix(x), output_margin=True))
    assert str(tmp_path / "model.json") in repr(model)


def test_a_best_iteration_does_not_cut_trees() -> None:
    """Every tree in the file counts (the AGC spec, §8.4), whatever early stopping recorded."""
    x = _rows(2000)
    booster = _train(x, rounds=30)
    booster.set_attr(best_iteration="9")
    model = load_xgboost(_document(booster))
    assert model.n_trees == 30
    every_tree = booster.predict(xgb.DMatrix(x), output_margin=True, iteration_range=(0, 30))
    assert np.array_equal(margins(model, x), every_tree)


def test_a_model_written_by_hand() -> None:
    """An oracle without xgboost: two stumps and a depth-2 tree, margins worked by hand."""

    def tree(
        left: list[int],
        right: list[int],
        feature: list[int],
        value: list[float],
        default_left: list[int],
    ) -> dict[str, Any]:
        return {
            "left_children": left,
            "right_children": right,
            "split_indices": feature,
            "split_conditions": value,
            "default_left": default_left,
            "split_type": [0] * len(left),
            "categories": [],
            "tree_param": {"size_leaf_vector": "1"},
        }

    document = {
        "learner": {
            "objective": {"name": "reg:squarederror"},
            "learner_model_param": {
                "base_score": "[2.5E-1]",
                "num_feature": "2",
                "num_class": "0",
                "num_target": "1",
            },
            "feature_names": ["a", "b"],
            "gradient_booster": {
                "name": "gbtree",
                "model": {
                    "trees": [
                        tree([1, -1, -1], [2, -1, -1], [0, 0, 0], [1.0, 0.5, -0.5], [1, 0, 0]),
                        tree([1, -1, -1], [2, -1, -1], [1, 0, 0], [0.0, 0.125, 2.0], [0, 0, 0]),
                        tree(
                            [1, 3, -1, -1, -1],
                            [2, 4, -1, -1, -1],
                            [0, 1, 0, 0, 0],
                            [2.0, -1.0, 4.0, 8.0, 16.0],
                            [1, 1, 0, 0, 0],
                        ),
                    ]
                },
            },
        }
    }
    model = load_xgboost(document)
    assert model.feature_names == ("a", "b")
    x = np.array([[0.0, -2.0], [1.0, 0.0], [np.nan, np.nan], [3.0, np.nan]])
    # row 0: a<1 -> 0.5; b<0 -> 0.125; a<2, b<-1 -> 8      => 0.25 + 8.625
    # row 1: a>=1 -> -0.5; b>=0 -> 2; a<2, b>=-1 -> 16     => 0.25 + 17.5
    # row 2: NaN default left -> 0.5; right -> 2; left, left -> 8 => 0.25 + 10.5
    # row 3: -0.5; right -> 2; a>=2 -> 4                    => 0.25 + 5.5
    expected = np.array([8.875, 17.75, 10.75, 5.75], np.float32)
    assert np.array_equal(margins(model, x), expected)


def test_awkward_rows_keep_their_structure() -> None:
    x = _rows(600)
    booster = _train(x)
    model = load_xgboost(_document(booster))
    counts = np.array([3, 0, 5, 1, 591])
    jagged = ak.unflatten(x, counts)  # events × candidates × features
    got = margins(model, jagged)
    assert ak.to_list(ak.num(got)) == counts.tolist()
    expected = booster.predict(xgb.DMatrix(x), output_margin=True)
    assert np.array_equal(ak.to_numpy(ak.flatten(got)), expected)
    rows = margins(model, ak.Array(x.tolist()))  # var-length rows of the right length
    assert np.array_equal(ak.to_numpy(rows), expected)


def test_unsupported_models_are_refused_with_the_reason(tmp_path: Path) -> None:
    x = _rows(500)
    target = (x[:, 0] > 0).astype(int)
    multi = xgb.train(
        {"objective": "multi:softprob", "num_class": 3},
        xgb.DMatrix(x, label=np.arange(500) % 3),
        num_boost_round=2,
    )
    with pytest.raises(afkit.ConfigError, match="3 outputs per row"):
        load_xgboost(_document(multi))
    dart = xgb.train(
        {"booster": "dart", "objective": "binary:logistic"},
        xgb.DMatrix(x, label=target),
        num_boost_round=2,
    )
    with pytest.raises(afkit.ConfigError, match="'dart' is not supported"):
        load_xgboost(_document(dart))
    linear = xgb.train({"booster": "gblinear"}, xgb.DMatrix(x, label=target), num_boost_round=2)
    with pytest.raises(afkit.ConfigError, match="'gblinear' is not supported"):
        load_xgboost(_document(linear))
    poisson = xgb.train(
        {"objective": "count:poisson"}, xgb.DMatrix(x, label=target), num_boost_round=2
    )
    with pytest.raises(afkit.ConfigError, match=r"count:poisson.*supported: binary:logistic"):
        load_xgboost(_document(poisson))
    frame_x = np.where(np.isnan(x), 0, x)
    frame = _categorical_frame(frame_x)
    categories = xgb.DMatrix(
        frame, label=frame["c"].cat.codes.isin([1, 3]).to_numpy(int), enable_categorical=True
    )
    categorical = xgb.train(
        {"tree_method": "hist", "max_cat_to_onehot": 1}, categories, num_boost_round=3
    )
    with pytest.raises(afkit.ConfigError, match=r"categorical features \(c\)"):
        load_xgboost(_document(categorical))
    document = _document(categorical)
    document["learner"]["feature_types"] = ["float"] * 3  # the trees' own marks still count
    with pytest.raises(afkit.ConfigError, match=r"tree [0-9]+ has categorical splits"):
        load_xgboost(document)
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(afkit.ConfigError, match=r"bad.json: not an xgboost JSON model"):
        load_xgboost(tmp_path / "bad.json")
    (tmp_path / "other.json").write_text('{"a": 1}')
    with pytest.raises(afkit.ConfigError, match=r"other.json: not an xgboost JSON model"):
        load_xgboost(tmp_path / "other.json")
    with pytest.raises(afkit.AfkitFileNotFoundError, match=r"missing.json"):
        load_xgboost(tmp_path / "missing.json")


def _categorical_frame(x: np.ndarray) -> Any:
    pandas = pytest.importorskip("pandas")
    frame = pandas.DataFrame(x[:, :3], columns=["a", "b", "c"])
    frame["c"] = pandas.Categorical((np.abs(x[:, 2]) * 3).astype(int) % 5)
    return frame


def test_bad_inputs_are_refused() -> None:
    x = _rows(200)
    model = load_xgboost(_document(_train(x, rounds=3)))
    with pytest.raises(afkit.ConfigError, match="takes 7 features per row, the rows have 6"):
        margins(model, x[:, :6])
    with pytest.raises(afkit.ConfigError, match="rows × 7 values"):
        margins(model, x[:, 0])
    infinite = x.copy()
    infinite[3, 1] = np.inf
    with pytest.raises(afkit.ConfigError, match=r"1 row\(s\) have an infinite feature"):
        margins(model, infinite)
    with pytest.raises(afkit.ConfigError, match="every row must have 7 features"):
        margins(model, ak.Array([[1.0, 2.0], [1.0] * 7]))
    with pytest.raises(afkit.ArgumentTypeError, match="TreeEnsemble"):
        margins("model.json", x)  # type: ignore[arg-type]
    assert margins(model, np.empty((0, 7))).shape == (0,)


SIMULATED = """
from afkit.kernels import _trees_cuda as ml_cuda
arrays = tuple(d[k] for k in ("roots", "left", "right", "feature", "threshold", "default_left"))
out = ml_cuda.margins(d["x"], arrays, d["base"])
np.savez(sys.argv[2], margins=out)
"""


def test_the_cuda_kernel_under_the_simulator_equals_xgboost(tmp_path: Path) -> None:
    x = _rows(300)
    booster = _train(x, base_score=0.3, rounds=8, max_depth=4)
    model = load_xgboost(_document(booster))
    inputs = {
        "x": x.astype(np.float32),
        "roots": model.roots,
        "left": model.left,
        "right": model.right,
        "feature": model.feature,
        "threshold": model.threshold,
        "default_left": model.default_left,
        "base": np.array([model.base_margin], np.float32),
    }
    out = run_simulated(tmp_path, SIMULATED, inputs)
    assert np.array_equal(out["margins"], booster.predict(xgb.DMatrix(x), output_margin=True))


def test_the_shipped_agc_models_equal_xgboost_bit_for_bit() -> None:
    """The two models afkit ships for the AGC's ML step (spec §8.4), on rows spread over
    the features' ranges (and beyond), with missing values."""
    from importlib import resources

    from afkit.agc import spec

    folder = resources.files("afkit.agc") / "models"
    rng = np.random.default_rng(8)
    lo = np.array([r[0] for r in spec.ML_RANGES])
    hi = np.array([r[1] for r in spec.ML_RANGES])
    x = rng.uniform(lo - 0.2 * (hi - lo), hi + 0.2 * (hi - lo), (20_000, 20))
    x[rng.random(x.shape) < 0.01] = np.nan
    for name in ("model_even.json", "model_odd.json"):
        model = load_xgboost(str(folder / name))
        assert model.n_trees == 100
        assert model.base_margin == 0.0
        booster = xgb.Booster(model_file=str(folder / name))
        expected = booster.predict(xgb.DMatrix(x), output_margin=True)
        assert np.array_equal(margins(model, x), expected)


def test_the_shipped_models_under_the_cuda_simulator(tmp_path: Path) -> None:
    from importlib import resources

    folder = resources.files("afkit.agc") / "models"
    rng = np.random.default_rng(9)
    x = rng.uniform([0] * 4 + [50] * 4 + [25] * 4 + [-5] * 4 + [0] * 4,
                    [6] * 4 + [300] * 4 + [300] * 4 + [10] * 4 + [50] * 4, (40, 20))  # fmt: skip
    x[::9, 3] = np.nan
    for name in ("model_even.json", "model_odd.json"):
        model = load_xgboost(str(folder / name))
        inputs = {
            "x": x.astype(np.float32),
            "roots": model.roots, "left": model.left, "right": model.right,
            "feature": model.feature, "threshold": model.threshold,
            "default_left": model.default_left,
            "base": np.array([model.base_margin], np.float32),
        }  # fmt: skip
        out = run_simulated(tmp_path, SIMULATED, inputs)
        expected = xgb.Booster(model_file=str(folder / name)).predict(
            xgb.DMatrix(x), output_margin=True
        )
        assert np.array_equal(out["margins"], expected)


def test_the_xgboost_engine_gives_the_same_margins() -> None:
    x = _rows(2000, width=7, seed=4)
    booster = _train(x, max_depth=5, rounds=30)
    model = load_xgboost(_document(booster))
    expected = booster.predict(xgb.DMatrix(x), output_margin=True)
    assert np.array_equal(margins(model, x, engine="xgboost"), expected)
    nested = ak.unflatten(ak.Array(x), [500, 0, 1500])
    by_xgboost = model.margins(nested, engine="xgboost")
    assert ak.to_list(ak.num(by_xgboost)) == [500, 0, 1500]
    assert np.array_equal(ak.to_numpy(ak.flatten(by_xgboost)), expected)
    with pytest.raises(afkit.ConfigError, match="infinite"):
        margins(model, np.full((1, 7), np.inf), engine="xgboost")
    hand_made = dataclasses.replace(model, document=None)
    with pytest.raises(afkit.ConfigError, match="not read from an xgboost model document"):
        margins(hand_made, x, engine="xgboost")
    with pytest.raises(afkit.ConfigError, match="engine 'onnx' is not one of"):
        margins(model, x, engine="onnx")
