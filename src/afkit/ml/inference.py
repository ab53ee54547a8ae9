"""Evaluate a :class:`~afkit.ml.model.TreeEnsemble` on rows of features, CPU or CUDA.

Rows come as a 2-D array (NumPy, or CuPy / any CUDA array for the GPU kernel) or as an
awkward array whose last axis holds one row's features (``events × candidates × features``
and deeper): the margins then keep every axis but the last.  Features are rounded to float32
(nearest-even, as xgboost does to float64 input); NaN means missing; an infinite feature is
an error, as in xgboost.  The computation follows the data; nothing is copied between devices.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

import afkit.kernels as kernels
from afkit.exceptions import ArgumentTypeError, ConfigError
from afkit.ml.model import TreeEnsemble

__all__ = ["ENGINES", "margins"]

#: Who evaluates the trees: afkit's own Numba/CUDA kernels, or xgboost's predictor (needs the
#: ``xgboost`` package, ``pip install "afkit[ml]"``; one thread, on the data's device).
ENGINES: tuple[str, ...] = ("afkit", "xgboost")


def margins(model: TreeEnsemble, features: Any, *, engine: str = "afkit") -> Any:
    """Margin (``Booster.predict(output_margin=True)``, float32) of every row of
    ``features``; see the module docstring for the accepted inputs.

    ``engine="xgboost"`` hands the rows to ``xgboost.Booster.inplace_predict`` instead of
    afkit's kernels — same inputs, same checks, the same margins: a cross-check in one
    keyword (the model must come from :func:`~afkit.ml.load_xgboost`).
    """
    if not isinstance(model, TreeEnsemble):
        raise ArgumentTypeError(
            f"margins takes a TreeEnsemble (afkit.ml.load_xgboost), not {type(model).__name__}"
        )
    check_engine(engine)
    if _is_awkward(features):
        return _awkward_margins(model, features, engine)
    if isinstance(features, np.ndarray) or (
        hasattr(features, "__array__") and not hasattr(features, "__cuda_array_interface__")
    ):
        return _cpu_margins(model, np.asarray(features), engine)
    if hasattr(features, "__cuda_array_interface__"):
        return _cuda_margins(model, features, engine)
    raise ArgumentTypeError(
        "features must be a 2-D NumPy/CUDA array or an awkward array of rows, "
        f"not {type(features).__name__}"
    )


def _check_shape(model: TreeEnsemble, shape: tuple[int, ...]) -> None:
    if len(shape) != 2:
        raise ConfigError(f"features must be rows × {model.n_features} values, got shape {shape}")
    if shape[1] != model.n_features:
        raise ConfigError(
            f"the model ({model.source}) takes {model.n_features} features per row, "
            f"the rows have {shape[1]}"
        )


def check_engine(engine: str) -> None:
    """Refuse an unknown ``engine`` with the valid names."""
    if engine not in ENGINES:
        raise ConfigError(f"engine {engine!r} is not one of {', '.join(map(repr, ENGINES))}")


def _cpu_margins(model: TreeEnsemble, x: np.ndarray, engine: str = "afkit") -> np.ndarray:
    _check_shape(model, x.shape)
    rows = np.ascontiguousarray(x, dtype=np.float32)
    if np.isinf(rows).any():
        raise ConfigError(_infinite(model, int(np.isinf(rows).any(axis=1).sum())))
    if engine == "xgboost":
        return _xgboost_margins(model, rows, "cpu")  # type: ignore[no-any-return]
    return kernels.ensemble_margins(rows, node_arrays(model), model.base_margin)  # type: ignore[no-any-return]


def _cuda_margins(model: TreeEnsemble, x: Any, engine: str = "afkit") -> Any:
    _check_shape(model, tuple(x.shape))
    xp = kernels.array_module("cuda")
    rows = xp.ascontiguousarray(xp.asarray(x), dtype=np.float32)
    if bool(xp.isinf(rows).any()):
        raise ConfigError(_infinite(model, int(xp.isinf(rows).any(axis=1).sum())))
    if engine == "xgboost":
        return _xgboost_margins(model, rows, "cuda")
    nodes = tuple(kernels.to_device(a, "cuda") for a in node_arrays(model))
    base = kernels.to_device(np.array([model.base_margin], np.float32), "cuda")
    return kernels.ensemble_margins(rows, nodes, base)


def _xgboost_margins(model: TreeEnsemble, rows: Any, device: str) -> Any:
    """``inplace_predict`` margins of float32 rows on ``device`` (one thread on the CPU:
    afkit parallelises over workers, not inside a chunk)."""
    booster = booster_of(model)
    booster.set_param({"device": device, "nthread": 1})
    out = booster.inplace_predict(rows, predict_type="margin", missing=np.nan)
    return out.astype(np.float32, copy=False).reshape(-1)


def booster_of(model: TreeEnsemble) -> Any:
    """The ``xgboost.Booster`` of a model read by :func:`~afkit.ml.load_xgboost`, built once
    from its JSON document and kept with the model."""
    booster = model.__dict__.get("_booster")
    if booster is not None:
        return booster
    try:
        import xgboost
    except ImportError:
        raise ConfigError(
            'engine="xgboost" needs the xgboost package: pip install "afkit[ml]" '
            '(or use engine="afkit", which needs nothing more)'
        ) from None
    if model.document is None:
        raise ConfigError(
            f"{model.source}: this TreeEnsemble was not read from an xgboost model "
            'document (afkit.ml.load_xgboost), so xgboost cannot evaluate it; use engine="afkit"'
        )
    booster = xgboost.Booster()
    booster.load_model(bytearray(json.dumps(model.document).encode()))
    object.__setattr__(model, "_booster", booster)  # a cache, not a field: frozen dataclass
    return booster


def node_arrays(model: TreeEnsemble) -> tuple[np.ndarray, ...]:
    """``(roots, left, right, feature, threshold, default_left)``: what the kernels walk."""
    return (
        model.roots,
        model.left,
        model.right,
        model.feature,
        model.threshold,
        model.default_left,
    )


def _infinite(model: TreeEnsemble, rows: int) -> str:
    return (
        f"{rows} row(s) have an infinite feature; tree models (xgboost, {model.source}) "
        "take finite values or NaN for missing"
    )


def _is_awkward(value: Any) -> bool:
    return type(value).__module__.startswith("awkward")


def _awkward_margins(model: TreeEnsemble, features: Any, engine: str) -> Any:
    import awkward as ak

    array = ak.Array(features)
    if array.ndim < 2:
        raise ConfigError(f"features must have a last axis of {model.n_features} values per row")
    counts = []
    while array.ndim > 2:
        counts.append(ak.num(array, axis=1))
        array = ak.flatten(array, axis=1)
    widths = ak.num(array, axis=1)
    backend = ak.backend(array)
    xp = kernels.array_module("cuda" if backend == "cuda" else "cpu")
    flat = ak.flatten(array, axis=1)
    to_array = ak.to_cupy if backend == "cuda" else ak.to_numpy
    if len(widths) and bool(xp.any(to_array(widths) != model.n_features)):
        raise ConfigError(_width_message(model))
    rows = to_array(flat).reshape(-1, model.n_features)
    if backend == "cuda":
        result = _cuda_margins(model, rows, engine)
    else:
        result = _cpu_margins(model, rows, engine)
    out = ak.Array(result)
    for level in reversed(counts):
        out = ak.unflatten(out, level)
    return out


def _width_message(model: TreeEnsemble) -> str:
    return (
        f"every row must have {model.n_features} features (the model {model.source}); "
        "some rows have another number"
    )
