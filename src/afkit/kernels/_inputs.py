"""Argument handling shared by the kernels' two call forms: awkward arrays, or flat buffers.

A kernel called with awkward arrays takes each list-per-event argument apart
(:mod:`afkit.kernels._jagged`), checks that arguments about the same objects agree on the
objects' counts, and combines a mask with the elements that are present.  Called with
``offsets=`` it takes flat buffers (NumPy or CUDA arrays, checked to live on one device).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from afkit.exceptions import ArgumentTypeError, ConfigError
from afkit.kernels._arrays import array_module
from afkit.kernels._dispatch import backend_of
from afkit.kernels._jagged import Jagged, is_awkward, jagged, objects


def same_objects(first: Jagged, other: Jagged, what: str) -> None:
    """``other`` must describe the same objects as ``first`` (equal counts per event)."""
    if first.offsets is other.offsets:
        return
    xp = array_module(first.backend)
    if len(first.offsets) != len(other.offsets) or not bool(
        xp.array_equal(first.offsets, other.offsets)
    ):
        raise ConfigError(
            f"{what} does not have the same number of objects per event as the values it "
            "goes with (a mask of another collection, or of other events?)"
        )


def present(column: Jagged) -> Any:
    """Per element: present (not None)."""
    if column.valid is not None:
        return column.valid
    return array_module(column.backend).ones(len(column.content), dtype=bool)


def mask_of(base: Jagged, mask: Any, what: str = "mask") -> Any:
    """The elements of ``base`` to use: present, and where the awkward ``mask`` is True (a
    missing mask element counts as False)."""
    if mask is None:
        return present(base)
    m = jagged(mask, what, dtype=np.bool_)
    if m.backend != base.backend:
        raise ConfigError(f"{what} lives on {m.backend}, the values on {base.backend}")
    same_objects(base, m, what)
    use = m.content
    for valid in (base.valid, m.valid):
        if valid is not None:
            use = use & valid
    return use


def flat_mask(mask: Any, n: int, backend: str, what: str = "mask") -> Any:
    """A flat boolean mask (all True for None) of ``n`` elements on ``backend``."""
    xp = array_module(backend)
    if mask is None:
        return xp.ones(n, dtype=bool)
    out = xp.ascontiguousarray(mask, dtype=np.bool_)
    if out.shape != (n,):
        raise ConfigError(f"{what} has {out.shape} elements, the values {n}")
    return out


def kinematics(
    objects_: Any, what: str, offsets: Any, fields: tuple[str, ...] = ("pt", "eta", "phi", "mass")
) -> tuple[Any, dict[str, Any], str, Any]:
    """(offsets, {coordinate: flat float64}, backend, missing events) of a collection given
    as an awkward record array, or as a mapping of flat arrays with ``offsets``."""
    if is_awkward(objects_):
        if offsets is not None:
            raise ConfigError(f"give {what} as an awkward array or with offsets=, not both")
        columns = objects(objects_, what, fields)
        first = next(iter(columns.values()))
        return (
            first.offsets,
            {k: v.content for k, v in columns.items()},
            first.backend,
            first.missing,
        )
    if not isinstance(objects_, Mapping):
        raise ArgumentTypeError(
            f"{what} must be an awkward array of records (pt, eta, phi, m) or a mapping of "
            f"flat arrays with offsets=, not {type(objects_).__name__}"
        )
    if offsets is None:
        raise ConfigError(f"{what} is a mapping of flat arrays: give its offsets= too")
    missing = [f for f in fields if f not in objects_]
    if missing:
        raise ArgumentTypeError(f"{what} lacks {', '.join(missing)} (it has {', '.join(objects_)})")
    backend = backend_of(offsets, *(objects_[f] for f in fields))
    xp = array_module(backend)
    out = {f: xp.ascontiguousarray(objects_[f], dtype=np.float64) for f in fields}
    offsets = xp.ascontiguousarray(offsets, dtype=np.int64)
    n = int(offsets[-1]) if len(offsets) else 0
    for f, values in out.items():
        if values.shape != (n,):
            raise ConfigError(f"{what}[{f!r}] has {values.shape} values, the offsets say {n}")
    return offsets, out, backend, None


def raw(offsets: Any, *arrays: tuple[Any, Any]) -> tuple[str, list[Any]]:
    """Flat-buffer arguments: their backend and each as a contiguous array of its dtype."""
    backend = backend_of(offsets, *(a for a, _ in arrays if a is not None))
    xp = array_module(backend)
    out = [xp.ascontiguousarray(offsets, dtype=np.int64)]
    out += [None if a is None else xp.ascontiguousarray(a, dtype=d) for a, d in arrays]
    return backend, out
