"""Per-event reductions over a list per event: count, sum, min, max, any, all, leading N.

Each takes awkward arrays (a list per event, ``var * float64`` or ``var * ?float64``, on the
cpu or cuda backend) and returns an awkward array of one value per event on the same
backend, equal to awkward's own reducer with ``axis=1`` (``ak.count_nonzero``, ``ak.sum``,
``ak.min``, ...); missing elements are skipped as awkward skips them.  ``mask=`` selects the
objects that take part without making the masked array first.  With ``offsets=`` they take
flat buffers instead and return flat buffers (NaN where an event has no value).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from afkit.exceptions import ConfigError
from afkit.kernels._arrays import array_module
from afkit.kernels._dispatch import implementation
from afkit.kernels._inputs import flat_mask, mask_of, raw
from afkit.kernels._jagged import awkward_backend, jagged, wrap_events

__all__ = ["all", "any", "count", "leading", "max", "min", "sum"]


def _accumulator(dtype: Any) -> Any:
    """float64 for real values, int64 for integers and booleans (as ``ak.sum`` gives)."""
    return np.float64 if np.dtype(dtype).kind == "f" else np.int64


def count(mask: Any, *, offsets: Any = None) -> Any:
    """Per event, how many objects pass ``mask`` (e.g. ``count(jets.pt > 30)``)."""
    if offsets is None:
        column = jagged(mask, "mask", dtype=np.bool_)
        use = column.content if column.valid is None else column.content & column.valid
        out = implementation(column.backend).segmented_count(column.offsets, use)
        return wrap_events(out, column.backend, column.missing)
    backend, (offsets, mask) = raw(offsets, (mask, np.bool_))
    return implementation(backend).segmented_count(offsets, mask)


def sum(values: Any, mask: Any = None, *, offsets: Any = None) -> Any:
    """Per event, the sum of ``values`` over the objects where ``mask`` (all if None);
    float64 for real values, int64 for integers and booleans; 0 for no object."""
    if offsets is None:
        column = jagged(values, "values")
        use = mask_of(column, mask)
        data = array_module(column.backend).ascontiguousarray(
            column.content, dtype=_accumulator(column.content.dtype)
        )
        out = implementation(column.backend).segmented_sum(column.offsets, data, use)
        return wrap_events(out, column.backend, column.missing)
    backend, (offsets, values) = raw(offsets, (values, None))
    values = array_module(backend).ascontiguousarray(values, dtype=_accumulator(values.dtype))
    use = flat_mask(mask, len(values), backend)
    return implementation(backend).segmented_sum(offsets, values, use)


def _extreme(values: Any, mask: Any, offsets: Any, largest: bool) -> Any:
    if offsets is None:
        column = jagged(values, "values")
        use = mask_of(column, mask)
        out, found = implementation(column.backend).segmented_extreme(
            column.offsets, column.content, use, largest
        )
        return wrap_events(out, column.backend, column.missing, present=found)
    backend, (offsets, values) = raw(offsets, (values, None))
    use = flat_mask(mask, len(values), backend)
    out, found = implementation(backend).segmented_extreme(offsets, values, use, largest)
    xp = array_module(backend)
    return xp.where(found, out.astype(np.float64), np.nan)


def min(values: Any, mask: Any = None, *, offsets: Any = None) -> Any:
    """Per event, the smallest of ``values`` over the objects where ``mask``; None (NaN with
    ``offsets=``) for events without one.  NaN values are skipped."""
    return _extreme(values, mask, offsets, False)


def max(values: Any, mask: Any = None, *, offsets: Any = None) -> Any:
    """Per event, the largest of ``values`` over the objects where ``mask``; None (NaN with
    ``offsets=``) for events without one.  NaN values are skipped."""
    return _extreme(values, mask, offsets, True)


def any(mask: Any, *, offsets: Any = None) -> Any:
    """Per event, whether any object passes ``mask`` (False for no object)."""
    if offsets is None:
        column = jagged(mask, "mask", dtype=np.bool_)
        use = column.content if column.valid is None else column.content & column.valid
        out = implementation(column.backend).segmented_count(column.offsets, use)
        return wrap_events(out > 0, column.backend, column.missing)
    return count(mask, offsets=offsets) > 0


def all(mask: Any, *, offsets: Any = None) -> Any:
    """Per event, whether every (present) object passes ``mask`` (True for no object)."""
    if offsets is None:
        column = jagged(mask, "mask", dtype=np.bool_)
        failing = mask_of(column, None) & ~column.content
        out = implementation(column.backend).segmented_count(column.offsets, failing)
        return wrap_events(out == 0, column.backend, column.missing)
    backend, (offsets, mask) = raw(offsets, (mask, np.bool_))
    return implementation(backend).segmented_count(offsets, ~mask) == 0


def leading(values: Any, n: int, mask: Any = None, *, offsets: Any = None) -> Any:
    """The first ``n`` values of the objects where ``mask`` in each event (object order; the
    leading-pT ones for pT-ordered collections), as float64.

    Awkward input gives ``n * ?float64`` per event, None where an event has fewer —
    ``ak.pad_none(values[mask], n, clip=True)``; with ``offsets=`` a ``(n, events)`` array
    with NaN where an event has fewer.
    """
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ConfigError(f"n must be a positive integer, not {n!r}")
    if offsets is None:
        import awkward as ak

        cpu = awkward_backend(values) == "cpu"
        # on the CPU the kernel reads the values in their own type and counts in the same
        # pass; the CUDA kernels take float64 and count apart
        column = jagged(values, "values", dtype=None if cpu else np.float64)
        if cpu and column.content.dtype.kind not in "fiub":
            column = jagged(values, "values", dtype=np.float64)
        use = mask_of(column, mask)
        kernels = implementation(column.backend)
        if cpu:
            rows, counts = kernels.leading_counted(column.offsets, column.content, use, n)
        else:
            rows = kernels.leading_values(column.offsets, column.content, use, n)
            counts = kernels.segmented_count(column.offsets, use)
        xp = array_module(column.backend)
        table = xp.ascontiguousarray(rows.T)
        have = xp.arange(n)[None, :] < counts[:, None]
        result = ak.mask(ak.Array(table), ak.Array(have))
        if column.missing is not None:
            result = ak.mask(result, ak.Array(~column.missing))
        return result
    backend, (offsets, values) = raw(offsets, (values, np.float64))
    use = flat_mask(mask, len(values), backend)
    return implementation(backend).leading_values(offsets, values, use, n)
