"""Filling ``hist.Hist`` with many variations in one call: :func:`fill_hist`.

An analysis fills one histogram with rows of entries — the nominal selection and each
systematic variation (other values, other weights, other selections) — into the bins of a
category axis (``variation``).  :func:`fill_hist` takes all rows at once as ``(rows, events)``
arrays, accumulates them with :func:`afkit.kernels.fill_variations` (one streaming pass per
row, on the CPU or the GPU the arrays live on) and adds the sums to the histogram, with
boost-histogram's binning (NaN to overflow) and its flow bins.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from afkit.exceptions import ArgumentTypeError, ConfigError
from afkit.kernels._arrays import array_module, to_device, to_host
from afkit.kernels._dispatch import backend_of
from afkit.kernels._jagged import is_awkward

__all__ = ["fill_hist"]


def _rows(value: Any, what: str, backend_hint: str | None = None) -> Any:
    """A ``(rows, events)`` array from a 1-D or 2-D array, an awkward per-event array, or a
    sequence of per-row arrays."""
    if is_awkward(value):
        import awkward as ak

        if value.ndim != 1:
            raise ArgumentTypeError(f"{what} must hold one value per event, not {value.type}")
        value = ak.to_numpy(value) if ak.backend(value) == "cpu" else ak.to_cupy(value)
    elif isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        parts = [_rows(v, what) for v in value]
        if not parts:
            raise ConfigError(f"{what} has no rows")
        backend = backend_of(*parts)
        return array_module(backend).concatenate(parts, axis=0)
    if not (isinstance(value, np.ndarray) or hasattr(value, "__cuda_array_interface__")):
        raise ArgumentTypeError(
            f"{what} must be an array (events,) or (rows, events), not {type(value).__name__}"
        )
    if value.ndim == 1:
        return value.reshape(1, -1)
    if value.ndim != 2:
        raise ConfigError(f"{what} must be (events,) or (rows, events), not shape {value.shape}")
    return value


def fill_hist(
    h: Any,
    values: Any,
    *,
    weight: Any = None,
    selected: Any = None,
    value_rows: Any = None,
    selected_rows: Any = None,
    **categories: Any,
) -> Any:
    """Fill ``h`` with rows of entries in one call; return ``h``.

    Args:
        h: a ``hist.Hist`` whose first axis is the observable (``Regular`` or ``Variable``)
            and whose other axes are categories (``StrCategory``/``IntCategory``), with
            ``Weight`` or ``Double`` storage.
        values: ``(rows, events)`` (or ``(events,)`` for one row), NumPy or CuPy, or a
            sequence of per-event arrays (one per row; awkward arrays too).
        weight: the same shape (or one row for all), default 1.
        selected: booleans of the same shape: which entries to fill (default all).
        value_rows, selected_rows: one row index per weight row into ``values`` and
            ``selected``, for rows that share them (weight variations of one selection):
            ``weight`` then has a row per fill and the others only their distinct rows.
        categories: one value per category axis, by axis name; a sequence gives each row
            its own (``variation=["nominal", "pt_scale_up", ...]``).
    """
    import hist

    if not isinstance(h, hist.Hist):
        raise ArgumentTypeError(f"h must be a hist.Hist, not {type(h).__name__}")
    axis = h.axes[0]
    if not isinstance(axis, (hist.axis.Regular, hist.axis.Variable)):
        raise ConfigError(
            f"the first axis of h must be Regular or Variable, not {type(axis).__name__}"
        )
    x = _rows(values, "values")
    backend = backend_of(x)
    xp = array_module(backend)
    shared = value_rows is not None or selected_rows is not None
    if shared:
        if weight is None:
            raise ConfigError("value_rows/selected_rows need the weight rows they index")
        w = _rows(weight, "weight")
        n_rows = w.shape[0]
        s = (
            xp.ones((1, x.shape[1]), dtype=bool)
            if selected is None
            else _rows(selected, "selected")
        )
        value_rows = np.arange(n_rows) if value_rows is None else value_rows
        selected_rows = (
            np.zeros(n_rows, np.int64)
            if selected is None and selected_rows is None
            else selected_rows
        )
    else:
        n_rows = x.shape[0]
        w = xp.ones_like(x, dtype=np.float64) if weight is None else _rows(weight, "weight")
        s = xp.ones(x.shape, dtype=bool) if selected is None else _rows(selected, "selected")
        w, s = _broadcast(w, n_rows, "weight"), _broadcast(s, n_rows, "selected")
        for name, array in (("weight", w), ("selected", s)):
            if array.shape != x.shape:
                raise ConfigError(f"{name} has shape {array.shape}, values {x.shape}")
    _grow(h, n_rows, categories)
    positions = _category_positions(h, n_rows, categories)

    from afkit.kernels import fill_variations

    sumw = xp.zeros((n_rows, axis.size + 2))
    sumw2 = xp.zeros((n_rows, axis.size + 2))
    category = to_device(np.arange(n_rows, dtype=np.int64), backend)
    if isinstance(axis, hist.axis.Regular):
        binning: dict[str, Any] = {"lo": axis.edges[0], "hi": axis.edges[-1], "nbins": axis.size}
    else:
        binning = {"edges": to_device(np.asarray(axis.edges, np.float64), backend)}
    fill_variations(
        sumw, sumw2, x, w, s, category, value_rows=value_rows, selected_rows=selected_rows,
        **binning,
    )  # fmt: skip
    _add(h, to_host(sumw), to_host(sumw2), positions)
    return h


def _broadcast(array: Any, n_rows: int, what: str) -> Any:
    if array.shape[0] == 1 and n_rows > 1:
        return array_module(backend_of(array)).repeat(array, n_rows, axis=0)
    return array


def _grow(h: Any, n_rows: int, categories: dict[str, Any]) -> None:
    """Add the bins growing category axes lack, for the values this fill gives them: in one
    fill of weight-0 entries in the observable's overflow (nothing is counted)."""

    def values_of(name: str) -> list[Any]:
        value = categories.get(name)
        if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
            return list(dict.fromkeys(value))
        return [value]

    entries: dict[str, list[Any]] = {b.name: [] for b in h.axes[1:] if b.name in categories}
    for a in h.axes[1:]:
        if not a.traits.growth or a.name not in categories:
            continue
        known = set(a)
        new = [v for v in values_of(a.name) if v not in known]
        for v in new:
            for b in entries:
                entries[b].append(v if b == a.name else values_of(b)[0])
    count = len(next(iter(entries.values()), []))
    if count:
        h.fill(**{h.axes[0].name: np.full(count, np.nan)}, **entries, weight=np.zeros(count))


def _category_positions(h: Any, n_rows: int, categories: dict[str, Any]) -> list[tuple[int, ...]]:
    """Per row, the flow-view index of its bin on each category axis."""
    names = [a.name for a in h.axes[1:]]
    unknown = sorted(set(categories) - set(names))
    if unknown:
        raise ConfigError(
            f"h has no axis {', '.join(map(repr, unknown))}; its category axes: {names}"
        )
    missing = [n for n in names if n not in categories]
    if missing:
        raise ConfigError(f"give a value for each category axis: {', '.join(missing)} missing")
    per_axis = []
    for a in h.axes[1:]:
        value = categories[a.name]
        row_values = (
            list(value)
            if isinstance(value, Sequence) and not isinstance(value, (str, bytes))
            else [value] * n_rows
        )
        if len(row_values) != n_rows:
            raise ConfigError(f"{a.name} gives {len(row_values)} values for {n_rows} rows")
        bins = {v: i for i, v in enumerate(a)}  # one dictionary, not a lookup per row
        shift = 1 if a.traits.underflow else 0
        indices = []
        for v in row_values:
            if v not in bins:
                raise ConfigError(f"axis {a.name!r} has no bin {v!r} (it has {list(a)})")
            indices.append(bins[v] + shift)
        per_axis.append(indices)
    return [tuple(axis_indices[r] for axis_indices in per_axis) for r in range(n_rows)]


def _add(h: Any, sumw: Any, sumw2: Any, positions: list[tuple[int, ...]]) -> None:
    """Add each row's (nbins + 2) sums to its category bins of ``h`` (flow bins where the
    observable axis has them; entries beyond an axis without them are dropped, as hist does)."""
    axis = h.axes[0]
    lo = 0 if axis.traits.underflow else 1
    hi = sumw.shape[1] if axis.traits.overflow else sumw.shape[1] - 1
    view = h.view(flow=True)
    weighted = view.dtype.names is not None and "variance" in view.dtype.names
    for row, position in enumerate(positions):
        where = (slice(None), *position)
        if weighted:
            view.value[where] += sumw[row, lo:hi]
            view.variance[where] += sumw2[row, lo:hi]
        else:
            view[where] += sumw[row, lo:hi]
