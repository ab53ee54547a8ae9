"""Jet–parton assignment against an independent implementation of AGC spec §8.2-8.5:
itertools permutations, features with Python's math, xgboost's own predict, NumPy argmax."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
import pytest

import afkit
from afkit.ml import load_xgboost
from afkit.ml.assignment import assign_jets, permutations
from tests.kernels.cudasim import run_simulated

xgb = pytest.importorskip("xgboost")


def test_canonical_permutations_match_the_spec() -> None:
    p4 = [tuple(r) for r in permutations(4)]
    assert len(p4) == 12
    assert len(permutations(5)) == 60
    assert len(permutations(6)) == 180
    assert p4[:7] == [
        (1, 0, 2, 3),
        (1, 0, 3, 2),
        (2, 0, 1, 3),
        (2, 0, 3, 1),
        (2, 1, 0, 3),
        (2, 1, 3, 0),
        (3, 0, 1, 2),
    ]
    assert p4[-1] == (3, 2, 1, 0)
    with pytest.raises(afkit.ConfigError, match="4 to 6 jets"):
        permutations(3)


def _events(n_events: int, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    counts = rng.integers(0, 9, n_events)
    n = int(counts.sum())
    btag = rng.normal(1.0, 3.0, n)
    btag[rng.random(n) < 0.05] = np.nan  # a b-tag behind a broken link
    return {
        "counts": counts,
        "pt": rng.exponential(60.0, n) + 25.0,
        "eta": rng.uniform(-2.5, 2.5, n),
        "phi": rng.uniform(-math.pi, math.pi, n),
        "mass": rng.uniform(2.0, 20.0, n),
        "btag": btag,
        "ntrk": rng.poisson(10, n).astype(np.float64),
        "lepton": np.stack(
            [
                rng.exponential(40.0, n_events) + 30.0,
                rng.uniform(-2.4, 2.4, n_events),
                rng.uniform(-math.pi, math.pi, n_events),
                np.where(rng.random(n_events) < 0.5, 0.000511, 0.1056583755),
            ],
            axis=1,
        ),
    }


def _p4(pt: float, eta: float, phi: float, m: float) -> tuple[float, float, float, float]:
    px, py, pz = pt * math.cos(phi), pt * math.sin(phi), pt * math.sinh(eta)
    return px, py, pz, math.sqrt(((px * px + py * py) + pz * pz) + m * m)


def _mass(p: tuple[float, ...]) -> float:
    px, py, pz, e = p
    return math.sqrt(max(e * e - px * px - py * py - pz * pz, 0.0))


def _dr(eta_a: float, phi_a: float, eta_b: float, phi_b: float) -> float:
    d = phi_a - phi_b
    dphi = d - 6.283185307179586 * math.floor((d + 3.141592653589793) / 6.283185307179586)
    deta = eta_a - eta_b  # (not ** 2: CPython's pow can differ from deta * deta in the last bit)
    return math.sqrt(deta * deta + dphi * dphi)


def _reference_rows(ev: dict[str, Any]) -> list[list[list[float]]]:
    """Per event, the 20 features of every permutation in canonical order (spec §8.3)."""
    out, start = [], 0
    for e, count in enumerate(ev["counts"]):
        jets = range(start, start + min(count, 6))
        start += count
        n = len(jets)
        if n < 4:
            out.append([])
            continue
        lpt, leta, lphi, lm = ev["lepton"][e]
        lep = _p4(lpt, leta, lphi, lm)
        j = [jets[0] + i for i in range(n)]
        p = [_p4(ev["pt"][i], ev["eta"][i], ev["phi"][i], ev["mass"][i]) for i in j]
        order = sorted(q for q in itertools.permutations(range(n), 4) if q[0] > q[1])
        rows = []
        for w1, w2, bh, bl in order:
            a1, a2, ah, al = j[w1], j[w2], j[bh], j[bl]
            w = tuple(x + y for x, y in zip(p[w1], p[w2], strict=True))
            t = tuple(x + y for x, y in zip(w, p[bh], strict=True))
            lb = tuple(x + y for x, y in zip(lep, p[bl], strict=True))
            rows.append(
                [
                    _dr(leta, lphi, ev["eta"][al], ev["phi"][al]),
                    _dr(ev["eta"][a1], ev["phi"][a1], ev["eta"][a2], ev["phi"][a2]),
                    _dr(ev["eta"][a1], ev["phi"][a1], ev["eta"][ah], ev["phi"][ah]),
                    _dr(ev["eta"][a2], ev["phi"][a2], ev["eta"][ah], ev["phi"][ah]),
                    _mass(lb),
                    _mass(w),
                    _mass(t),
                    math.sqrt(t[0] * t[0] + t[1] * t[1]),
                    *(ev["pt"][i] for i in (a1, a2, ah, al)),
                    *(ev["btag"][i] for i in (a1, a2, ah, al)),
                    *(ev["ntrk"][i] for i in (a1, a2, ah, al)),
                ]
            )
        out.append(rows)
    return out


def _models(rows: np.ndarray) -> list[Any]:
    """Two models of different depth on the 20 features (targets: a mass window)."""
    target = (np.abs(rows[:, 6] - 170.0) < 40.0).astype(int)
    boosters = []
    for depth, seed in ((4, 5), (6, 7)):
        boosters.append(
            xgb.train(
                {
                    "objective": "binary:logistic",
                    "base_score": 0.5,
                    "max_depth": depth,
                    "tree_method": "hist",
                    "seed": seed,
                    "learning_rate": 0.3,
                },
                xgb.DMatrix(rows, label=target),
                num_boost_round=25,
            )
        )
    return boosters


@pytest.fixture(scope="module")
def case() -> dict[str, Any]:
    ev = _events(400, seed=11)
    reference = _reference_rows(ev)
    flat = np.array([r for rows in reference for r in rows])
    boosters = _models(flat)
    choice = (np.arange(len(ev["counts"])) * 7 % 3 == 0).astype(np.int64)
    # expected: xgboost margins of every row; the first largest per event
    margins = [b.predict(xgb.DMatrix(flat), output_margin=True) for b in boosters]
    index, margin, features, row = [], [], [], 0
    for e, rows in enumerate(reference):
        if not rows:
            index.append(-1), margin.append(np.nan), features.append([np.nan] * 20)
            continue
        scores = margins[choice[e]][row : row + len(rows)]
        best = int(np.argmax(scores))  # the first of equal maxima
        index.append(best), margin.append(scores[best]), features.append(rows[best])
        row += len(rows)
    return {
        "events": ev,
        "models": [load_xgboost(json.loads(b.save_raw("json"))) for b in boosters],
        "choice": choice,
        "index": np.array(index),
        "margin": np.array(margin, np.float32),
        "features": np.array(features),
    }


def _check(result: Any, case: dict[str, Any]) -> None:
    assert np.array_equal(np.asarray(result.index), case["index"])
    assert np.array_equal(np.asarray(result.margin), case["margin"], equal_nan=True)
    assert np.array_equal(np.asarray(result.features), case["features"], equal_nan=True)


def test_awkward_jets_equal_the_independent_implementation(case: dict[str, Any]) -> None:
    ev = case["events"]
    jets = {
        k: ak.unflatten(ev[k], ev["counts"]) for k in ("pt", "eta", "phi", "mass", "btag", "ntrk")
    }
    result = assign_jets(
        case["models"],
        **jets,
        lepton_pt=ev["lepton"][:, 0],
        lepton_eta=ev["lepton"][:, 1],
        lepton_phi=ev["lepton"][:, 2],
        lepton_mass=ev["lepton"][:, 3],
        choice=case["choice"],
    )
    _check(result, case)
    assert np.array_equal(
        result.feature("mass_w1w2btophad"), case["features"][:, 6], equal_nan=True
    )
    chosen = result.jets(ev["counts"])
    has = case["index"] >= 0
    assert len(set(case["index"][has])) > 10  # not trivial
    assert case["index"].max() >= 60
    n = np.minimum(ev["counts"][has], 6)
    expected = [tuple(permutations(k)[i]) for k, i in zip(n, case["index"][has], strict=True)]
    assert [tuple(r) for r in chosen[has]] == expected
    assert (chosen[~has] == -1).all()
    with pytest.raises(afkit.ConfigError, match="did you mean mass_w1w2btophad"):
        result.feature("mass_w1w2btophd")


def test_flat_jets_with_offsets_and_option_type_btags(case: dict[str, Any]) -> None:
    ev = case["events"]
    offsets = np.concatenate([[0], np.cumsum(ev["counts"])])
    btag = ak.unflatten(
        ak.Array(np.where(np.isnan(ev["btag"]), None, ev["btag"]).tolist()), ev["counts"]
    )
    flat = assign_jets(
        case["models"],
        pt=ev["pt"],
        eta=ev["eta"],
        phi=ev["phi"],
        mass=ev["mass"],
        btag=ev["btag"],
        ntrk=ev["ntrk"],
        offsets=offsets,
        lepton_pt=ev["lepton"][:, 0],
        lepton_eta=ev["lepton"][:, 1],
        lepton_phi=ev["lepton"][:, 2],
        lepton_mass=ev["lepton"][:, 3],
        choice=case["choice"],
    )
    _check(flat, case)
    jets = {k: ak.unflatten(ev[k], ev["counts"]) for k in ("pt", "eta", "phi", "mass", "ntrk")}
    optional = assign_jets(  # None b-tags (a broken link) count as missing, like NaN
        case["models"],
        **jets,
        btag=btag,
        lepton_pt=ev["lepton"][:, 0],
        lepton_eta=ev["lepton"][:, 1],
        lepton_phi=ev["lepton"][:, 2],
        lepton_mass=ev["lepton"][:, 3],
        choice=case["choice"],
    )
    _check(optional, case)


def test_bad_inputs_are_refused(case: dict[str, Any]) -> None:
    ev = case["events"]
    offsets = np.concatenate([[0], np.cumsum(ev["counts"])])
    args = dict(
        pt=ev["pt"],
        eta=ev["eta"],
        phi=ev["phi"],
        mass=ev["mass"],
        btag=ev["btag"],
        ntrk=ev["ntrk"],
        offsets=offsets,
        lepton_pt=ev["lepton"][:, 0],
        lepton_eta=ev["lepton"][:, 1],
        lepton_phi=ev["lepton"][:, 2],
        lepton_mass=ev["lepton"][:, 3],
    )
    with pytest.raises(afkit.ConfigError, match="choice must index the 2 model"):
        assign_jets(case["models"], **args, choice=2)
    with pytest.raises(afkit.ConfigError, match="'eta' has 3 values"):
        assign_jets(case["models"], **{**args, "eta": ev["eta"][:3]})
    with pytest.raises(afkit.ConfigError, match="lepton_pt must have one value per event"):
        assign_jets(case["models"], **{**args, "lepton_pt": ev["lepton"][:5, 0]})
    infinite = ev["pt"].copy()
    infinite[:] = np.inf
    with pytest.raises(afkit.ConfigError, match="infinite feature"):
        assign_jets(case["models"], **{**args, "pt": infinite})
    small = load_xgboost(
        json.loads(
            xgb.train(
                {"objective": "binary:logistic", "base_score": 0.5},
                xgb.DMatrix(np.zeros((4, 3)), label=[0, 1, 0, 1]),
                num_boost_round=1,
            ).save_raw("json")
        )
    )
    with pytest.raises(afkit.ConfigError, match="takes 3 features; jet assignment gives 20"):
        assign_jets(small, **args)


SIMULATED = """
from afkit.kernels import _trees_cuda as ml_cuda
names = ("permutations", "first", "roots", "tree_first", "left", "right", "feature",
         "threshold", "default_left", "bases")
features, index, margin, bad = ml_cuda.best_permutations(
    d["offsets"], d["pt"], d["eta"], d["phi"], d["mass"], d["btag"], d["ntrk"], d["lepton"],
    d["choice"], tuple(d[k] for k in names))
np.savez(sys.argv[2], features=features, index=index, margin=margin, bad=np.array(bad))
"""


def test_the_cuda_kernel_under_the_simulator(case: dict[str, Any], tmp_path: Path) -> None:
    from afkit.ml.assignment import _model_tables

    ev = case["events"]
    keep = 60  # the simulator runs Python per thread: a slice of the events
    counts = ev["counts"][:keep]
    n = int(counts.sum())
    names = (
        "permutations",
        "first",
        "roots",
        "tree_first",
        "left",
        "right",
        "feature",
        "threshold",
        "default_left",
        "bases",
    )
    inputs = {
        "offsets": np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        **{
            k: np.ascontiguousarray(ev[k][:n]) for k in ("pt", "eta", "phi", "mass", "btag", "ntrk")
        },
        "lepton": np.ascontiguousarray(ev["lepton"][:keep]),
        "choice": case["choice"][:keep],
        **dict(zip(names, _model_tables(case["models"]), strict=True)),
    }
    out = run_simulated(tmp_path, SIMULATED, inputs)
    assert not out["bad"]
    assert np.array_equal(out["index"], case["index"][:keep])
    assert np.array_equal(out["margin"], case["margin"][:keep], equal_nan=True)
    assert np.array_equal(out["features"], case["features"][:keep], equal_nan=True)


def test_all_permutation_features_equal_the_independent_rows(case: dict[str, Any]) -> None:
    from afkit.ml.assignment import permutation_features

    ev = case["events"]
    offsets = np.concatenate([[0], np.cumsum(ev["counts"])])
    args = dict(
        pt=ev["pt"],
        eta=ev["eta"],
        phi=ev["phi"],
        mass=ev["mass"],
        btag=ev["btag"],
        ntrk=ev["ntrk"],
        offsets=offsets,
        lepton_pt=ev["lepton"][:, 0],
        lepton_eta=ev["lepton"][:, 1],
        lepton_phi=ev["lepton"][:, 2],
        lepton_mass=ev["lepton"][:, 3],
    )
    rows, row_offsets = permutation_features(**args)
    expected = [r for rows_ in _reference_rows(ev) for r in rows_]
    assert np.array_equal(rows, np.array(expected), equal_nan=True)
    assert row_offsets[-1] == len(expected)
    four, four_offsets = permutation_features(**args, max_jets=4)  # training rows: 12 each
    per_event = np.diff(four_offsets)
    assert set(per_event) == {0, 12}
    assert (per_event == 12).sum() == (ev["counts"] >= 4).sum()
    clipped = {**ev, "counts": ev["counts"]}
    first4 = [r[:12] if len(r) else r for r in _reference_rows_first(clipped, 4)]
    assert np.array_equal(four, np.array([r for rows_ in first4 for r in rows_]), equal_nan=True)


def _reference_rows_first(ev: dict[str, Any], keep: int) -> list[list[list[float]]]:
    """The independent rows with only each event's first ``keep`` jets."""
    starts = np.concatenate([[0], np.cumsum(ev["counts"])])
    index = np.concatenate(
        [np.arange(s, s + min(c, keep)) for s, c in zip(starts[:-1], ev["counts"], strict=True)]
    ).astype(int)
    trimmed = {k: ev[k][index] for k in ("pt", "eta", "phi", "mass", "btag", "ntrk")}
    trimmed["counts"] = np.minimum(ev["counts"], keep)
    trimmed["lepton"] = ev["lepton"]
    return _reference_rows(trimmed)


def _walk_and_bits(monkeypatch: pytest.MonkeyPatch, models: Any, case: dict[str, Any]) -> Any:
    """``assign_jets`` by the node walk and by leaf bit-vectors; both results."""
    import afkit.kernels.trees as trees

    ev = case["events"]
    args = dict(
        pt=ev["pt"],
        eta=ev["eta"],
        phi=ev["phi"],
        mass=ev["mass"],
        btag=ev["btag"],
        ntrk=ev["ntrk"],
        offsets=np.concatenate([[0], np.cumsum(ev["counts"])]),
        lepton_pt=ev["lepton"][:, 0],
        lepton_eta=ev["lepton"][:, 1],
        lepton_phi=ev["lepton"][:, 2],
        lepton_mass=ev["lepton"][:, 3],
        choice=case["choice"],
    )
    out = []
    for bits in (False, True):
        monkeypatch.setattr(trees, "_LEAF_BITS", bits)
        out.append(assign_jets(models, **args))
    return out


def test_the_node_walk_equals_the_independent_implementation_too(
    case: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    walk, bits = _walk_and_bits(monkeypatch, case["models"], case)
    _check(walk, case)
    _check(bits, case)


def _random_ensemble(rng: np.random.Generator, values: np.ndarray, trees: int) -> Any:
    """A hand-made ensemble over the 20 features: trees of random shape (a single leaf to 64
    leaves), thresholds drawn from the features' own float32 values (so rows hit them
    exactly), random default directions, float32 leaves."""
    from afkit.ml.model import TreeEnsemble

    roots, left, right, feature, threshold, default = [], [], [], [], [], []
    for _ in range(trees):
        root = len(left)
        roots.append(root)
        budget = int(rng.integers(1, 65))  # leaves of this tree
        open_leaves = [root]
        left.append(-1), right.append(-1), feature.append(0), threshold.append(0.0)
        default.append(0)
        leaves = 1
        while leaves < budget:
            node = open_leaves.pop(int(rng.integers(len(open_leaves))))
            f = int(rng.integers(20))
            column = values[:, f][~np.isnan(values[:, f])]
            left[node], right[node] = len(left), len(left) + 1
            feature[node] = f
            threshold[node] = float(np.float32(column[int(rng.integers(len(column)))]))
            default[node] = int(rng.integers(2))
            for _ in range(2):
                open_leaves.append(len(left))
                left.append(-1), right.append(-1), feature.append(0), threshold.append(0.0)
                default.append(0)
            leaves += 1
        for node in range(root, len(left)):
            if left[node] < 0:
                threshold[node] = float(np.float32(rng.normal(0.0, 0.3)))
    return TreeEnsemble(
        roots=np.array(roots, np.int32),
        left=np.array(left, np.int32),
        right=np.array(right, np.int32),
        feature=np.array(feature, np.int32),
        threshold=np.array(threshold, np.float32),
        default_left=np.array(default, np.uint8),
        base_margin=np.float32(0.25),
        n_features=20,
        objective="binary:logitraw",
        source=f"<random, {trees} trees>",
    )


def test_leaf_bit_vectors_equal_the_node_walk_on_random_trees(
    case: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Random shapes, exact threshold ties, NaN default both ways, one-leaf trees, 64-leaf
    trees: both CPU algorithms give the same index, margin and features bit for bit."""
    rng = np.random.default_rng(23)
    values = np.nan_to_num(case["features"][case["index"] >= 0], nan=1.0)
    models = [_random_ensemble(rng, values, trees) for trees in (40, 7)]
    from afkit.kernels import _trees_bits
    from afkit.ml.assignment import _model_tables

    tables = _model_tables(models)
    ok, _, _, node_tree, _, _, _ = _trees_bits.leaf_tables(*tables[2:9], 20)
    assert ok
    assert len(node_tree) == sum(int((m.left >= 0).sum()) for m in models)
    walk, bits = _walk_and_bits(monkeypatch, models, case)
    assert np.array_equal(walk.index, bits.index)
    assert np.array_equal(walk.margin.view(np.int32), bits.margin.view(np.int32))
    assert np.array_equal(walk.features, bits.features, equal_nan=True)
    assert len(set(bits.index[bits.index >= 0])) > 10


def test_trees_of_more_than_64_leaves_take_the_node_walk(
    case: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from afkit.kernels import _trees_bits
    from afkit.ml.assignment import _model_tables

    values = np.nan_to_num(case["features"][case["index"] >= 0], nan=1.0)
    wide = _wide_tree_ensemble(values)
    assert not _trees_bits.leaf_tables(*_model_tables([wide])[2:9], 20)[0]
    walk, bits = _walk_and_bits(monkeypatch, [wide, wide], case)
    assert np.array_equal(walk.index, bits.index)
    assert np.array_equal(walk.margin.view(np.int32), bits.margin.view(np.int32))


def _wide_tree_ensemble(values: np.ndarray) -> Any:
    """One tree of 70 leaves: a chain of splits on the W mass, each left child a leaf."""
    from afkit.ml.model import TreeEnsemble

    cuts = np.quantile(values[:, 5], np.linspace(0.02, 0.98, 69)).astype(np.float32)
    left, right, feature, threshold = [], [], [], []
    for i, c in enumerate(cuts):  # node 2i: split, node 2i + 1: its left leaf
        left += [2 * i + 1, -1]
        right += [2 * i + 2, -1]
        feature += [5, 0]
        threshold += [float(c), float(np.float32(i * 0.01))]
    left.append(-1), right.append(-1), feature.append(0), threshold.append(1.0)
    return TreeEnsemble(
        roots=np.array([0], np.int32),
        left=np.array(left, np.int32),
        right=np.array(right, np.int32),
        feature=np.array(feature, np.int32),
        threshold=np.array(threshold, np.float32),
        default_left=np.zeros(len(left), np.uint8),
        base_margin=np.float32(0.0),
        n_features=20,
        objective="binary:logitraw",
    )


def test_the_xgboost_engine_gives_the_same_assignment(case: dict[str, Any]) -> None:
    ev = case["events"]
    inputs = {
        **{
            k: ak.unflatten(ev[k], ev["counts"])
            for k in ("pt", "eta", "phi", "mass", "btag", "ntrk")
        },
        **{f"lepton_{k}": ev["lepton"][:, i] for i, k in enumerate(("pt", "eta", "phi", "mass"))},
    }
    _check(assign_jets(case["models"], **inputs, choice=case["choice"], engine="xgboost"), case)
    with pytest.raises(afkit.ConfigError, match="engine 'sklearn' is not one of 'afkit'"):
        assign_jets(case["models"], **inputs, engine="sklearn")


def test_plain_row_margins_by_levels_equal_the_node_walk(
    case: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``ml.margins`` on rows: blocks of rows taken level by level against the walk, bit for
    bit, on random trees (ties, NaN defaults both ways), a 69-level chain and row counts
    that do not fill the last block; NaN features included."""
    import afkit.kernels.trees as trees
    from afkit.ml import margins

    rng = np.random.default_rng(31)
    values = np.nan_to_num(case["features"][case["index"] >= 0], nan=1.0)
    rows = np.concatenate([values, values[::-1] * 1.01])[:1003].copy()
    rows[rng.random(rows.shape) < 0.05] = np.nan
    for model in (_random_ensemble(rng, values, 30), _wide_tree_ensemble(values)):
        by_levels = margins(model, rows)
        monkeypatch.setattr(trees, "_LEVELS", False)
        walked = margins(model, rows)
        monkeypatch.setattr(trees, "_LEVELS", True)
        assert np.array_equal(by_levels.view(np.int32), walked.view(np.int32))
        assert len(np.unique(walked)) > 20
