"""ΔR matching between two collections of one event: nearest object, smallest ΔR, cones.

For every object of ``a`` (a lepton, say) these look at the objects of ``b`` (jets) of the
same event in one compiled pass, without the ``a × b`` table of ``a.metric_table(b)``:

* :func:`nearest` — the position of the closest object of ``b`` and its ΔR,
* :func:`min_delta_r` — the smallest ΔR (``ak.min(a.metric_table(b), axis=2)``),
* :func:`match_within` — whether any is closer than a cone
  (``ak.any(a.metric_table(b) < cone, axis=2)``).

ΔR is ``vector``'s: ``sqrt(Δφ² + Δη²)`` with ``Δφ = (φa − φb + π) mod 2π − π``.  Objects are
awkward arrays with ``eta`` and ``phi`` fields, or mappings of flat arrays with ``offsets=``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from afkit.exceptions import ConfigError
from afkit.kernels._arrays import array_module
from afkit.kernels._dispatch import implementation
from afkit.kernels._inputs import flat_mask, kinematics
from afkit.kernels._jagged import is_awkward, jagged

__all__ = ["Match", "match_within", "min_delta_r", "nearest"]

_ANGLES = ("eta", "phi")


@dataclass(frozen=True)
class Match:
    """For each object of ``a``: the nearest object of ``b`` (its position in the event's
    list of ``b``) and the ΔR to it; None (-1 and inf with ``offsets=``) where there is none
    (or none within ``max_dr``)."""

    index: Any
    delta_r: Any


def _search(
    a: Any, b: Any, mask_b: Any, offsets: Any, offsets_b: Any
) -> tuple[Any, Any, Any, Any, str, bool]:
    """(ΔR, position, offsets of a, missing events, backend, awkward?) of every a's nearest b."""
    awkward = is_awkward(a)
    if is_awkward(b) != awkward:
        raise ConfigError("give a and b in the same form (both awkward, or both flat)")
    offs_a, kin_a, backend, missing = kinematics(a, "a", offsets, _ANGLES)
    offs_b, kin_b, backend_b, _ = kinematics(b, "b", offsets_b, _ANGLES)
    if backend_b != backend:
        raise ConfigError(f"a lives on {backend}, b on {backend_b}: move one explicitly")
    if len(offs_b) != len(offs_a):
        raise ConfigError(f"a has {len(offs_a) - 1} events, b {len(offs_b) - 1}")
    n_b = len(kin_b["eta"])
    if mask_b is not None and awkward:
        column = jagged(mask_b, "mask_b", dtype=np.bool_)
        if len(column.content) != n_b:
            raise ConfigError("mask_b does not go with b (another collection?)")
        eligible = column.content if column.valid is None else column.content & column.valid
    elif mask_b is not None:
        eligible = flat_mask(mask_b, n_b, backend, "mask_b")
    else:
        eligible = None if backend == "cpu" else flat_mask(None, n_b, backend)  # (all)
    xp = array_module(backend)
    near = bool(
        xp.all(xp.abs(kin_a["phi"]) <= np.pi) and xp.all(xp.abs(kin_b["phi"]) <= np.pi)
    )  # (NaN fails the check: such inputs take the general form)
    dr, where = implementation(backend).nearest(
        offs_a, kin_a["eta"], kin_a["phi"], offs_b, kin_b["eta"], kin_b["phi"], eligible, near
    )
    return dr, where, offs_a, missing, backend, awkward


def _wrap(values: Any, offsets: Any, backend: str, missing: Any, present: Any = None) -> Any:
    import awkward as ak

    content = ak.contents.NumpyArray(values)
    if present is not None:
        content = ak.contents.ByteMaskedArray(
            ak.index.Index8(present.astype(np.int8)), content, valid_when=True
        )
    result = ak.Array(ak.contents.ListOffsetArray(ak.index.Index64(offsets), content))
    if missing is not None:
        result = ak.mask(result, ak.Array(~missing))
    return result


def nearest(
    a: Any,
    b: Any,
    *,
    max_dr: float | None = None,
    mask_b: Any = None,
    offsets: Any = None,
    offsets_b: Any = None,
) -> Match:
    """For every object of ``a``, the nearest object of ``b`` in ΔR (the first on ties),
    considering only ``mask_b`` objects and, with ``max_dr``, only those closer than it."""
    dr, where, offs_a, missing, backend, awkward = _search(a, b, mask_b, offsets, offsets_b)
    if max_dr is not None:
        xp = array_module(backend)
        beyond = ~(dr < max_dr)
        where = xp.where(beyond, -1, where)
        dr = xp.where(beyond, np.inf, dr)
    if not awkward:
        return Match(where, dr)
    found = where >= 0
    return Match(
        _wrap(where, offs_a, backend, missing, found), _wrap(dr, offs_a, backend, missing, found)
    )


def min_delta_r(
    a: Any, b: Any, *, mask_b: Any = None, offsets: Any = None, offsets_b: Any = None
) -> Any:
    """For every object of ``a``, the smallest ΔR to an object of ``b`` of its event; None
    (inf with ``offsets=``) where ``b`` has none."""
    dr, where, offs_a, missing, backend, awkward = _search(a, b, mask_b, offsets, offsets_b)
    if not awkward:
        return dr
    return _wrap(dr, offs_a, backend, missing, where >= 0)


def match_within(
    a: Any,
    b: Any,
    cone: float,
    *,
    mask_b: Any = None,
    offsets: Any = None,
    offsets_b: Any = None,
) -> Any:
    """For every object of ``a``, whether an object of ``b`` of its event lies within
    ``ΔR < cone`` (False where ``b`` has none): e.g. ``~match_within(jets, electrons, 0.4)``
    for jets away from electrons."""
    if not cone > 0:
        raise ConfigError(f"cone must be a positive ΔR, not {cone!r}")
    dr, _, offs_a, missing, backend, awkward = _search(a, b, mask_b, offsets, offsets_b)
    inside = dr < cone
    if not awkward:
        return inside
    return _wrap(inside, offs_a, backend, missing)
