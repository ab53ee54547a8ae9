"""Tree ensembles read from xgboost's JSON model format into flat node arrays.

A :class:`TreeEnsemble` holds every tree of a ``gbtree`` model with numerical splits as five
arrays over all nodes (children, split feature, threshold or leaf value, default direction)
plus each tree's root, so that one compiled loop (CPU or CUDA) can walk them.  xgboost itself
is not needed to load or evaluate a model; it is the oracle in the tests.

What a model must be, and why: ``gbtree`` (``dart`` scales trees at prediction, ``gblinear``
has none), one output (no multi-class or multi-target), scalar leaves, numerical splits only
(categorical splits test set membership), and an objective whose margin offset is known
(:data:`OBJECTIVES`).  Anything else is refused with a :class:`~afkit.exceptions.ConfigError`
naming the file and what is unsupported — never evaluated approximately.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from afkit.exceptions import AfkitFileNotFoundError, ConfigError

__all__ = ["OBJECTIVES", "TreeEnsemble", "load_xgboost"]

#: Objectives afkit evaluates, and how each turns ``base_score`` into the margin's offset:
#: ``logit`` (``log(p / (1 - p))``) for the logistic ones, ``identity`` for the others.
OBJECTIVES: dict[str, str] = {
    "binary:logistic": "logit",
    "reg:logistic": "logit",
    "binary:logitraw": "identity",
    "reg:squarederror": "identity",
}


@dataclass(frozen=True)
class TreeEnsemble:
    """A boosted-tree model as flat node arrays (see the module docstring).

    ``margin(x) = base_margin + tree_0(x) + tree_1(x) + ...``, accumulated in float32 in
    tree order from ``base_margin``: what ``xgboost.Booster.predict(output_margin=True)``
    returns.  At an inner node go left when ``x[feature] < threshold`` (float32), right
    otherwise; a NaN feature goes the node's default way.  A leaf's value is its
    ``threshold`` entry.
    """

    roots: np.ndarray  # int32 (trees,): node index of each tree's root
    left: np.ndarray  # int32 (nodes,): left child, -1 at leaves
    right: np.ndarray  # int32 (nodes,)
    feature: np.ndarray  # int32 (nodes,)
    threshold: np.ndarray  # float32 (nodes,): split value, or leaf value at leaves
    default_left: np.ndarray  # uint8 (nodes,): NaN goes left
    base_margin: np.float32
    n_features: int
    objective: str
    feature_names: tuple[str, ...] = ()
    source: str = "<dict>"
    max_depth: int = field(default=0)
    #: The xgboost JSON document it was read from (for ``engine="xgboost"``), if any.
    document: Mapping[str, Any] | None = field(default=None, repr=False, compare=False)

    @property
    def n_trees(self) -> int:
        """Number of trees (every one is evaluated)."""
        return len(self.roots)

    @property
    def n_nodes(self) -> int:
        return len(self.left)

    def __repr__(self) -> str:
        return (
            f"TreeEnsemble({self.n_trees} trees, {self.n_nodes} nodes, depth ≤ {self.max_depth}, "
            f"{self.n_features} features, {self.objective}, from {self.source})"
        )

    def margins(self, features: Any, *, engine: str = "afkit") -> Any:
        """The model's margin for each row of ``features``; see :func:`afkit.ml.margins`."""
        from afkit.ml.inference import margins

        return margins(self, features, engine=engine)


def load_xgboost(model: str | os.PathLike[str] | Mapping[str, Any]) -> TreeEnsemble:
    """Read an xgboost JSON model (``Booster.save_model("m.json")``), from a path or the
    parsed document, into a :class:`TreeEnsemble`.

    Raises :class:`~afkit.exceptions.ConfigError` for models afkit does not evaluate
    (categorical splits, ``dart``/``gblinear``, several outputs, other objectives) and for
    documents that are not xgboost models; :class:`~afkit.exceptions.AfkitFileNotFoundError`
    for a missing file.
    """
    if isinstance(model, Mapping):
        return _from_document(model, "<dict>")
    path = os.fspath(model)
    if not os.path.exists(path):
        raise AfkitFileNotFoundError(f"no model file {path!r}")
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ConfigError(
            f"{path}: not an xgboost JSON model ({error}); save it with "
            "Booster.save_model('model.json') (UBJSON and the old binary format are not read)"
        ) from None
    return _from_document(document, path)


def _from_document(document: Mapping[str, Any], source: str) -> TreeEnsemble:
    try:
        learner = document["learner"]
        booster = learner["gradient_booster"]
        parameters = learner["learner_model_param"]
        objective = learner["objective"]["name"]
    except (KeyError, TypeError):
        raise ConfigError(
            f"{source}: not an xgboost JSON model (expected learner.gradient_booster, "
            "learner.learner_model_param and learner.objective)"
        ) from None
    if booster.get("name") != "gbtree":
        raise ConfigError(
            f"{source}: booster {booster.get('name')!r} is not supported; afkit evaluates "
            "'gbtree' models ('dart' rescales trees when predicting, 'gblinear' has no trees)"
        )
    outputs = max(int(parameters.get("num_class", "0")), int(parameters.get("num_target", "1")))
    if outputs > 1:
        raise ConfigError(f"{source}: {outputs} outputs per row; afkit evaluates one-output models")
    if objective not in OBJECTIVES:
        raise ConfigError(
            f"{source}: objective {objective!r} is not supported; supported: "
            f"{', '.join(sorted(OBJECTIVES))}"
        )
    n_features = int(parameters["num_feature"])
    names = tuple(learner.get("feature_names") or ())
    kinds = list(learner.get("feature_types") or ())
    categorical = [names[i] if i < len(names) else str(i) for i, k in enumerate(kinds) if k == "c"]
    if categorical:
        raise ConfigError(
            f"{source}: categorical features ({', '.join(categorical)}) and their categorical "
            "splits are not supported; afkit evaluates numerical splits only (one-hot encode)"
        )
    base_score = _base_score(parameters.get("base_score", "0.5"), source)
    trees = booster["model"]["trees"]
    roots, lefts, rights, features, thresholds, defaults, depth = [], [], [], [], [], [], 0
    start = 0
    for number, tree in enumerate(trees):
        _check_numerical(tree, number, source)
        left = np.asarray(tree["left_children"], np.int64)
        right = np.asarray(tree["right_children"], np.int64)
        inner = left >= 0
        lefts.append(np.where(inner, left + start, -1))
        rights.append(np.where(inner, right + start, -1))
        feature = np.asarray(tree["split_indices"], np.int64)
        if len(feature) and (feature[inner] >= n_features).any():
            raise ConfigError(f"{source}: tree {number} splits on a feature ≥ {n_features}")
        features.append(np.where(inner, feature, 0))
        thresholds.append(np.asarray(tree["split_conditions"], np.float64).astype(np.float32))
        defaults.append(np.asarray(tree["default_left"], np.uint8))
        roots.append(start)
        depth = max(depth, _depth(left, right))
        start += len(left)
    offset = (
        _logit(base_score, source) if OBJECTIVES[objective] == "logit" else np.float32(base_score)
    )
    return TreeEnsemble(
        roots=np.asarray(roots, np.int32),
        left=_concat(lefts, np.int32),
        right=_concat(rights, np.int32),
        feature=_concat(features, np.int32),
        threshold=_concat(thresholds, np.float32),
        default_left=_concat(defaults, np.uint8),
        base_margin=offset,
        n_features=n_features,
        objective=objective,
        feature_names=names,
        source=source,
        max_depth=depth,
        document=document,
    )


def _logit(probability: float, source: str) -> np.float32:
    """``-log(1/p - 1)`` as xgboost computes a logistic model's offset: ``p`` and the
    quotient in float32 (the float64 formula differs in the last bit for some ``p``)."""
    p = np.float32(probability)
    if not 0.0 < p < 1.0:
        raise ConfigError(
            f"{source}: base_score {probability} of a logistic model must lie in (0, 1)"
        )
    ratio = np.float32(np.float32(1.0) / p - np.float32(1.0))
    return np.float32(-math.log(float(ratio)))  # type: ignore[no-any-return]


def _concat(parts: list[np.ndarray], dtype: Any) -> np.ndarray:
    return np.concatenate(parts).astype(dtype) if parts else np.empty(0, dtype)


def _base_score(text: Any, source: str) -> float:
    """``base_score`` as xgboost writes it: ``"5E-1"`` (1.x, 2.x) or ``"[5E-1]"`` (3.x)."""
    raw = str(text).strip()
    if raw.startswith("["):
        values = [v for v in raw.strip("[]").split(",") if v.strip()]
        if len(values) != 1:
            raise ConfigError(f"{source}: base_score {raw!r}: one value expected")
        raw = values[0]
    return float(raw)


def _check_numerical(tree: Mapping[str, Any], number: int, source: str) -> None:
    split_types = tree.get("split_type") or []
    if any(int(t) != 0 for t in split_types) or tree.get("categories"):
        raise ConfigError(
            f"{source}: tree {number} has categorical splits; afkit evaluates numerical "
            "splits only (train with enable_categorical=False, or one-hot encode)"
        )
    leaf_size = int(tree.get("tree_param", {}).get("size_leaf_vector", "1"))
    if leaf_size > 1:
        raise ConfigError(f"{source}: tree {number} has vector leaves ({leaf_size} values)")


def _depth(left: np.ndarray, right: np.ndarray) -> int:
    """Longest root-to-leaf path (edges) of one tree."""
    deepest, stack = 0, [(0, 0)] if len(left) else []
    while stack:
        node, depth = stack.pop()
        if left[node] < 0:
            deepest = max(deepest, depth)
        else:
            stack.append((int(left[node]), depth + 1))
            stack.append((int(right[node]), depth + 1))
    return deepest
