"""Shape systematics in one pass: arrays with a variation axis, and one fill for all rows.

A shape variation changes a column (lepton pT × 1.01, smeared jet pT); everything computed
from it changes too, everything else does not.  :class:`Varied` holds a column's nominal and
varied values as rows of one array — ``rows[0]`` nominal — per object (with the collection's
``offsets``) or per event.  NumPy operations broadcast it against plain arrays, so a cut on an
unvaried column is computed once and combined with the varied ones; per-event reductions
(:meth:`Varied.count`, :meth:`Varied.sum`, :meth:`Varied.leading`, ...) run afkit's kernels
once over all rows.  :func:`fill` then writes every shape row (with the nominal weight) and
every weight variation (with the nominal shape) into a ``hist.Hist`` in one kernel call.
No Python loop runs over the variations' events.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from afkit.exceptions import ArgumentTypeError, ConfigError

__all__ = ["Varied", "fill", "pair_mass"]


def _flat(value: Any, what: str) -> tuple[Any, Any]:
    """(values, offsets or None) of an array: flat arrays as they are, awkward lists per
    event as their content and offsets, awkward per-event arrays as arrays."""
    import awkward as ak

    if isinstance(value, ak.Array):
        if value.ndim == 1:
            from afkit.analysis.selection import per_event

            return per_event(value, what), None
        from afkit.kernels import jagged

        column = jagged(value, what)
        if column.missing is not None:
            raise ConfigError(f"{what} has missing events: fill them first (ak.fill_none)")
        values = column.content
        if column.valid is not None:
            values = values.astype(np.float64) if values.dtype.kind != "b" else values
            values[~column.valid] = np.nan if values.dtype.kind == "f" else False
        return values, column.offsets
    if isinstance(value, np.ndarray) or hasattr(value, "__cuda_array_interface__"):
        return value, None
    raise ArgumentTypeError(f"{what} must be an array, not {type(value).__name__}")


def _operators(ufunc: Any) -> tuple[Any, Any]:
    """The operator method for ``ufunc`` and its reflected twin (``a + v``, ``v + a``)."""

    def method(self: Varied, other: Any) -> Varied:
        return Varied(self.names, ufunc(self.values, self._operand(other)), self.offsets)

    def reflected(self: Varied, other: Any) -> Varied:
        return Varied(self.names, ufunc(self._operand(other), self.values), self.offsets)

    return method, reflected


class Varied:
    """Rows of one column: ``names[0]`` is ``"nominal"``, each other row a shape variation.

    ``values`` is ``(rows, n)``: per object when ``offsets`` is given (a list per event),
    per event otherwise.  Arithmetic, comparisons and NumPy functions apply row by row and
    broadcast plain arrays (of the same objects or events) across the rows.
    """

    __array_priority__ = 100

    def __init__(self, names: Sequence[str], values: Any, offsets: Any = None) -> None:
        self.names = tuple(names)
        if not self.names or self.names[0] != "nominal":
            raise ConfigError(f"a Varied's first row is 'nominal', not {self.names[:1]}")
        if len(set(self.names)) != len(self.names):
            raise ConfigError(f"variation names repeat: {self.names}")
        if values.ndim != 2 or values.shape[0] != len(self.names):
            raise ConfigError(f"values must be ({len(self.names)} rows, n), not {values.shape}")
        self.values = values
        self.offsets = offsets

    @classmethod
    def of(cls, nominal: Any, *, offsets: Any = None, **variations: Any) -> Varied:
        """The nominal column and its variations (keyword: name=values), of equal shape:
        flat arrays (with ``offsets=`` for a per-object column) or awkward arrays."""
        base, found = _flat(nominal, "nominal")
        offsets = offsets if offsets is not None else found
        rows = [base]
        for name, values in variations.items():
            row, row_offsets = _flat(values, name)
            if row.shape != base.shape:
                raise ConfigError(f"variation {name!r} has shape {row.shape}, nominal {base.shape}")
            if row_offsets is not None and offsets is not None and len(row_offsets) != len(offsets):
                raise ConfigError(f"variation {name!r} has other events than the nominal")
            rows.append(row)
        from afkit.kernels import array_module, backend_of

        xp = array_module(backend_of(*rows))
        return cls(["nominal", *variations], xp.stack(rows), offsets)

    # -- views ---------------------------------------------------------------------------
    @property
    def nominal(self) -> Any:
        return self.values[0]

    def __getitem__(self, name: str) -> Any:
        try:
            return self.values[self.names.index(name)]
        except ValueError:
            from afkit.exceptions import MissingNameError

            raise MissingNameError("variation", name, self.names) from None

    @property
    def n_events(self) -> int:
        return len(self.offsets) - 1 if self.offsets is not None else int(self.values.shape[1])

    def __repr__(self) -> str:
        kind = "per object" if self.offsets is not None else "per event"
        return f"Varied({list(self.names)}, {self.values.shape[1]} values {kind})"

    # -- NumPy -------------------------------------------------------------------------
    def _operand(self, other: Any) -> Any:
        if isinstance(other, Varied):
            if other.names != self.names:
                raise ConfigError(f"variations differ: {self.names} and {other.names}")
            if (other.offsets is None) != (self.offsets is None):
                raise ConfigError("a per-object and a per-event Varied do not combine")
            return other.values
        import awkward as ak

        if isinstance(other, ak.Array):
            values, offsets = _flat(other, "operand")
            if (offsets is None) != (self.offsets is None):
                raise ConfigError("a per-object array and a per-event one do not combine")
            return values[None, ...]
        if isinstance(other, np.ndarray) or hasattr(other, "__cuda_array_interface__"):
            return other[None, ...] if getattr(other, "ndim", 0) == 1 else other
        return other  # a number

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        if method != "__call__" or kwargs.get("out") is not None:
            return NotImplemented
        args = [x.values if x is self else self._operand(x) for x in inputs]
        result = ufunc(*args, **kwargs)
        if isinstance(result, tuple):
            return tuple(Varied(self.names, r, self.offsets) for r in result)
        return Varied(self.names, result, self.offsets)

    __add__, __radd__ = _operators(np.add)
    __sub__, __rsub__ = _operators(np.subtract)
    __mul__, __rmul__ = _operators(np.multiply)
    __truediv__, __rtruediv__ = _operators(np.true_divide)
    __and__, __rand__ = _operators(np.logical_and)
    __or__, __ror__ = _operators(np.logical_or)
    __pow__ = _operators(np.power)[0]
    __lt__ = _operators(np.less)[0]
    __gt__ = _operators(np.greater)[0]
    __le__ = _operators(np.less_equal)[0]
    __ge__ = _operators(np.greater_equal)[0]
    __eq__ = _operators(np.equal)[0]
    __ne__ = _operators(np.not_equal)[0]

    def __invert__(self) -> Varied:
        return Varied(self.names, ~self.values, self.offsets)

    def __neg__(self) -> Varied:
        return Varied(self.names, -self.values, self.offsets)

    def __abs__(self) -> Varied:
        return Varied(self.names, abs(self.values), self.offsets)

    __hash__ = None  # type: ignore[assignment]

    # -- per-event reductions (one kernel call over every row) ---------------------------
    def _tiled(self) -> tuple[Any, int]:
        """Offsets of all rows' events end to end: row r's event e is segment r * n + e."""
        if self.offsets is None:
            raise ConfigError("a per-event Varied has nothing to reduce per event")
        from afkit.kernels import array_module, backend_of

        xp = array_module(backend_of(self.values))
        offsets = xp.asarray(self.offsets, dtype=np.int64)
        rows, per_row = self.values.shape
        starts = offsets[None, :-1] + (xp.arange(rows, dtype=np.int64) * per_row)[:, None]
        tiled = xp.empty(rows * (len(offsets) - 1) + 1, np.int64)
        tiled[:-1] = starts.ravel()
        tiled[-1] = rows * per_row
        return tiled, len(offsets) - 1

    def _mask_values(self, mask: Any) -> Any:
        if mask is None:
            return None
        values = self._operand(mask)
        from afkit.kernels import array_module, backend_of

        xp = array_module(backend_of(self.values))
        return xp.ascontiguousarray(xp.broadcast_to(values, self.values.shape)).ravel()

    def _per_event(self, result: Any) -> Varied:
        return Varied(self.names, result.reshape(len(self.names), -1))

    def count(self) -> Varied:
        """Per event and row: how many objects are True (``self`` a mask)."""
        import afkit.kernels as kernels

        offsets, _ = self._tiled()
        return self._per_event(kernels.count(self.values.ravel(), offsets=offsets))

    def sum(self, mask: Any = None) -> Varied:
        """Per event and row: the sum over the objects where ``mask``."""
        import afkit.kernels as kernels

        offsets, _ = self._tiled()
        return self._per_event(
            kernels.sum(self.values.ravel(), self._mask_values(mask), offsets=offsets)
        )

    def max(self, mask: Any = None) -> Varied:
        """Per event and row: the largest value where ``mask`` (NaN where none)."""
        import afkit.kernels as kernels

        offsets, _ = self._tiled()
        return self._per_event(
            kernels.max(self.values.ravel(), self._mask_values(mask), offsets=offsets)
        )

    def min(self, mask: Any = None) -> Varied:
        """Per event and row: the smallest value where ``mask`` (NaN where none)."""
        import afkit.kernels as kernels

        offsets, _ = self._tiled()
        return self._per_event(
            kernels.min(self.values.ravel(), self._mask_values(mask), offsets=offsets)
        )

    def leading(self, i: int = 0, mask: Any = None) -> Varied:
        """Per event and row: the ``i``-th value where ``mask`` (object order; NaN if none).

        The positions of the chosen objects depend on the mask alone: a Varied mask keeps
        them, so picking several columns with one mask (pt, eta, phi, m of the leading
        lepton) finds the objects once and gathers each column from those positions."""
        from afkit.kernels import array_module, backend_of

        backend = backend_of(self.values)
        xp = array_module(backend)
        positions = self._leading_positions(i, mask)
        out = xp.empty(positions.shape, dtype=np.float64)
        if backend == "cpu" and self.values.shape[1]:
            from afkit.analysis._compiled import take_per_row

            take_per_row(self.values, positions, out)  # one compiled pass over every row
            return self._per_event(out)
        for row in range(len(self.names)):  # a row of a broadcast column is a plain 1-d view
            found = positions[row]
            values = self.values[row]
            if len(values) == 0:
                out[row] = np.nan
                continue
            out[row] = values[xp.maximum(found, 0)]
            out[row][found < 0] = np.nan
        return self._per_event(out)

    def _leading_positions(self, i: int, mask: Any) -> Any:
        """``(rows, events)``: the position within its row of each event's ``i``-th object
        where ``mask`` (-1 where there is none); kept on a Varied mask for its next use."""
        import afkit.kernels as kernels
        from afkit.kernels import array_module, backend_of

        cache = mask.__dict__.setdefault("_positions", {}) if isinstance(mask, Varied) else {}
        key = (i, self.values.shape)
        if key in cache:
            return cache[key]
        backend = backend_of(self.values)
        xp = array_module(backend)
        rows, per_row = self.values.shape
        if backend == "cpu":
            from afkit.analysis._compiled import nth_positions

            flags = (
                np.ones((rows, per_row), dtype=bool)
                if mask is None
                else np.broadcast_to(self._operand(mask), self.values.shape)
            )
            positions = np.empty((rows, self.n_events), np.int64)
            nth_positions(np.asarray(self.offsets, dtype=np.int64), flags, i, positions)
            cache[key] = positions
            return positions
        offsets, n_events = self._tiled()
        index = xp.broadcast_to(xp.arange(per_row, dtype=np.float64)[None, :], (rows, per_row))
        flags = self._mask_values(mask) if mask is not None else xp.ones(rows * per_row, dtype=bool)
        chosen = kernels.leading_values(offsets, xp.ascontiguousarray(index).ravel(), flags, i + 1)
        found = chosen[i].reshape(rows, n_events)
        positions = xp.where(xp.isnan(found), -1, found).astype(np.int64)
        cache[key] = positions
        return positions

    def broadcast(self, values: Any) -> Varied:
        """An unvaried column of the same objects (or events) as rows like these, without
        copying it: to pick it with a varied selection (``pt.broadcast(el.charge)``)."""
        from afkit.kernels import array_module, backend_of

        flat = self._operand(values)
        xp = array_module(backend_of(self.values))
        return Varied(self.names, xp.broadcast_to(flat, self.values.shape), self.offsets)

    def take(self, index: Any) -> Varied:
        """Per event and row: the value at each event's position ``index`` (a per-event
        Varied or array of positions within the event's list, -1 for none -> NaN)."""
        from afkit.kernels import array_module, backend_of

        xp = array_module(backend_of(self.values))
        positions = index.values if isinstance(index, Varied) else xp.broadcast_to(
            xp.asarray(index)[None, :], (len(self.names), self.n_events)
        )  # fmt: skip
        offsets = xp.asarray(self.offsets, dtype=np.int64)
        flat = offsets[None, :-1] + positions
        valid = positions >= 0
        out = xp.take_along_axis(self.values.astype(np.float64), xp.where(valid, flat, 0), axis=1)
        return Varied(self.names, xp.where(valid, out, np.nan))


def fill(
    h: Any,
    observable: Any,
    *,
    selected: Any = None,
    weights: Any = None,
    weight_variations: Sequence[str] | None = None,
    axis: str = "variation",
    **categories: Any,
) -> Any:
    """Fill ``h`` with every shape and weight variation in one kernel call; return ``h``.

    Rows: each shape variation of ``observable``/``selected`` (Varied per event, or plain
    arrays: the nominal only) with the nominal weight, named after it on the ``axis``
    category axis; then each weight variation of ``weights`` (an
    :class:`~afkit.analysis.Weights`, all its variations unless ``weight_variations`` names
    some) with the nominal observable and selection.  ``categories`` give the other category
    axes' bins (``process="ttbar"``).
    """
    from afkit.analysis.weights import Weights
    from afkit.kernels import array_module, backend_of, fill_hist

    shape_names = ["nominal"]
    for value in (observable, selected):
        if isinstance(value, Varied):
            if value.offsets is not None:
                raise ConfigError("fill takes per-event values (reduce per-object ones first)")
            if shape_names != ["nominal"] and list(value.names) != shape_names:
                raise ConfigError(f"observable and selection vary differently: {value.names}")
            shape_names = list(value.names)
    rows_of = {}
    for label, value in (("observable", observable), ("selected", selected)):
        if value is None:
            continue
        if isinstance(value, Varied):
            rows_of[label] = value.values
        else:
            from afkit.analysis.selection import per_event

            flat = per_event(value, label, np.bool_ if label == "selected" else None)
            rows_of[label] = flat[None, :]
    x = rows_of["observable"]
    n_shapes, n_events = len(shape_names), x.shape[1]
    xp = array_module(backend_of(x))
    x = xp.broadcast_to(x, (n_shapes, n_events))
    sel = rows_of.get("selected")
    sel = (
        xp.ones((n_shapes, n_events), bool)
        if sel is None
        else xp.broadcast_to(sel, (n_shapes, n_events))
    )
    n_weights = (
        weights.n_events
        if isinstance(weights, Weights)
        else (None if weights is None else len(weights))
    )
    if n_weights is not None and n_weights != n_events:
        raise ConfigError(f"{n_weights} weights for the observable's {n_events} events")
    # only events selected in some shape row can reach the histogram: the weight rows (many,
    # for generator weights) are built for those events alone
    keep = xp.flatnonzero(sel.any(axis=0)) if n_events else xp.zeros(0, np.int64)
    compact = len(keep) < n_events
    if compact:
        x, sel = x[:, keep], sel[:, keep]
    if isinstance(weights, Weights):
        nominal = weights.weight()
        extra = list(weights.variations if weight_variations is None else weight_variations)
        extra_rows = weights.rows(extra, events=keep if compact else None) if extra else None
    else:
        nominal = xp.ones(n_events) if weights is None else xp.asarray(weights, dtype=np.float64)
        extra, extra_rows = [], None
    if compact:
        nominal = nominal[keep]
    names = shape_names + extra
    # shape rows with the nominal weight, then every weight variation on the nominal shape
    # row: the values and selections are passed once and indexed, not repeated per weight
    rows = np.concatenate([np.arange(n_shapes), np.zeros(len(extra), np.int64)])
    w = [xp.broadcast_to(nominal, (n_shapes, len(nominal)))] + ([extra_rows] if extra else [])
    fill_hist(
        h,
        xp.ascontiguousarray(x),
        weight=xp.concatenate(w, axis=0),
        selected=xp.ascontiguousarray(sel),
        value_rows=rows,
        selected_rows=rows,
        **{axis: names},
        **categories,
    )
    return h


def pair_mass(
    pt1: Any, eta1: Any, phi1: Any, m1: Any, pt2: Any, eta2: Any, phi2: Any, m2: Any
) -> Any:
    """The invariant mass of two objects given per event (arrays or :class:`Varied` rows):
    ``px = pt cos(phi)``, ``py = pt sin(phi)``, ``pz = pt sinh(eta)``,
    ``E = sqrt(((px² + py²) + pz²) + m²)``, summed component by component, then
    ``sqrt(max(E E - px px - py py - pz pz, 0))`` — the kernels' order of operations.
    NaN inputs (an event without the object) give NaN.  On the CPU one compiled ufunc does
    it all in one pass; on a GPU the same expression runs as CuPy operations."""
    from afkit.kernels import backend_of

    inputs = (pt1, eta1, phi1, m1, pt2, eta2, phi2, m2)
    arrays = [x.values if isinstance(x, Varied) else x for x in inputs]
    if backend_of(*[a for a in arrays if hasattr(a, "shape")]) == "cpu":
        from afkit.analysis._compiled import two_body_mass

        with np.errstate(invalid="ignore"):
            return two_body_mass(*inputs)

    def four(pt: Any, eta: Any, phi: Any, m: Any) -> tuple[Any, Any, Any, Any]:
        px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
        return px, py, pz, np.sqrt(px * px + py * py + pz * pz + m * m)

    a, b = four(pt1, eta1, phi1, m1), four(pt2, eta2, phi2, m2)
    sx, sy, sz, se = (x + y for x, y in zip(a, b, strict=True))
    return np.sqrt(np.maximum(se * se - sx * sx - sy * sy - sz * sz, 0.0))
