"""awkward arrays in and out of the kernels: one-level jagged layouts as offsets + content.

The kernels compute on flat buffers.  :func:`jagged` takes a user's awkward array — a list per
event of numbers, possibly with missing values (``?float64`` from a resolved link), possibly
a slice or mask of a larger array — and returns its offsets (from 0) and content without
copying where the layout allows; :func:`objects` does the same for a record of kinematic
fields.  :func:`wrap_jagged` and :func:`wrap_events` turn results back into awkward arrays
on the backend the input came from.  Events that are themselves missing (``?var * ...``)
are treated as empty and are missing again in the result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import awkward as ak
import numpy as np

from afkit.exceptions import ArgumentTypeError, ConfigError

_OPTION = (
    ak.contents.IndexedOptionArray,
    ak.contents.ByteMaskedArray,
    ak.contents.BitMaskedArray,
    ak.contents.UnmaskedArray,
)


def is_awkward(value: Any) -> bool:
    """True for awkward arrays (the high-level ``ak.Array`` and its subclasses)."""
    return isinstance(value, ak.Array)


def awkward_backend(*arrays: Any) -> str:
    """The one backend (``"cpu"`` or ``"cuda"``) of awkward arrays; mixed ones raise."""
    found = {ak.backend(a) for a in arrays if a is not None}
    if len(found) > 1:
        raise ConfigError(
            f"kernel inputs live on different backends ({', '.join(sorted(found))}); move "
            "them explicitly with ak.to_backend(array, 'cuda') (or events.to('cuda')) — "
            "afkit never copies implicitly"
        )
    backend = found.pop() if found else "cpu"
    if backend not in ("cpu", "cuda"):
        raise ConfigError(f"kernels run on the cpu and cuda backends, not {backend!r}")
    return backend


@dataclass(frozen=True)
class Jagged:
    """A list per event of numbers as buffers: ``content[offsets[e]:offsets[e + 1]]``.

    ``valid`` marks the elements that are present (None where every one is); ``missing``
    marks the events that are themselves missing (None where none is).
    """

    offsets: Any
    content: Any
    valid: Any
    missing: Any
    backend: str

    @property
    def n_events(self) -> int:
        return int(len(self.offsets) - 1)


def _xp(backend: str) -> Any:
    from afkit.kernels._arrays import array_module

    return array_module(backend)


def _event_lists(layout: Any, what: str) -> tuple[Any, Any]:
    """(list layout, per-event missing mask or None) of an array of lists per event."""
    missing = None
    if isinstance(layout, _OPTION):
        option = layout.to_IndexedOptionArray64()
        index = option.index.data
        missing = index < 0
        layout = ak.fill_none(ak.Array(layout), [], axis=0).layout
        if isinstance(layout, ak.contents.UnionArray):  # fill_none with [] may make a union
            layout = layout.simplify_uniontype(merge=True, mergebool=False)
    if isinstance(layout, (ak.contents.ListArray, ak.contents.RegularArray)):
        layout = layout.to_ListOffsetArray64(True)
    if not isinstance(layout, ak.contents.ListOffsetArray):
        raise ArgumentTypeError(
            f"{what} must be a list per event (var * ...), not {ak.Array(layout).type}"
        )
    if not isinstance(layout.content, (ak.contents.NumpyArray, ak.contents.EmptyArray, *_OPTION)):
        layout = ak.to_packed(ak.Array(layout)).layout  # (an indexed content: slices, sorts)
    return layout, missing


def jagged(array: Any, what: str = "argument", *, dtype: Any = None) -> Jagged:
    """Offsets (int64, from 0) and content of a list per event of numbers (or booleans).

    Missing elements (an option-type content) come back as ``valid = False`` with an
    arbitrary value in ``content``; the kernels skip them, as awkward's reducers do.
    """
    if not is_awkward(array):
        raise ArgumentTypeError(f"{what} must be an awkward array, not {type(array).__name__}")
    backend = awkward_backend(array)
    xp = _xp(backend)
    lists, missing = _event_lists(array.layout, what)
    offsets = xp.asarray(lists.offsets.data, dtype=np.int64)
    start, stop = int(offsets[0]), int(offsets[-1])
    content = lists.content
    valid = None
    if isinstance(content, _OPTION):
        option = content.to_IndexedOptionArray64()
        index = xp.asarray(option.index.data)[start:stop]
        inner = _numbers(option.content, what)
        valid = index >= 0
        if len(inner):
            values = inner[xp.where(valid, index, 0)]
        else:
            values = xp.zeros(len(index), inner.dtype)
    else:
        values = _numbers(content, what)[start:stop]
    if start:
        offsets = offsets - start
    values = xp.ascontiguousarray(values, dtype=dtype) if dtype else xp.ascontiguousarray(values)
    return Jagged(xp.ascontiguousarray(offsets), values, valid, missing, backend)


def _numbers(content: Any, what: str) -> Any:
    if isinstance(content, ak.contents.EmptyArray):  # (a list of only missing values)
        return content.to_NumpyArray(np.float64).data
    if not isinstance(content, ak.contents.NumpyArray) or content.data.ndim != 1:
        raise ArgumentTypeError(
            f"{what} must hold numbers in each event's list (var * float64, ...), not "
            f"var * {ak.Array(content).type.content}"
        )
    return content.data


#: Names of each coordinate, in order of preference, in the kernels' record inputs.
KINEMATICS = {
    "pt": ("pt", "rho"),
    "eta": ("eta",),
    "phi": ("phi",),
    "mass": ("m", "mass", "tau"),
}


def objects(
    array: Any, what: str, fields: tuple[str, ...] = ("pt", "eta", "phi", "mass")
) -> dict[str, Jagged]:
    """The kinematic fields of a list per event of records (jets, leptons) as buffers that
    share one offsets array; ``fields`` names the coordinates needed."""
    if not is_awkward(array):
        raise ArgumentTypeError(f"{what} must be an awkward array, not {type(array).__name__}")
    names = ak.fields(array)
    out: dict[str, Jagged] = {}
    for coordinate in fields:
        choice = next((n for n in KINEMATICS[coordinate] if n in names), None)
        if choice is None:
            raise ArgumentTypeError(
                f"{what} needs a {coordinate} field ({' or '.join(KINEMATICS[coordinate])}); "
                f"it has {', '.join(names) or 'no fields'}"
            )
        out[coordinate] = jagged(array[choice], f"{what}.{choice}", dtype=np.float64)
    first = next(iter(out.values()))
    for column in out.values():
        if column.n_events != first.n_events or len(column.content) != len(first.content):
            raise ConfigError(f"the fields of {what} disagree on the number of objects")
    return out


def wrap_jagged(offsets: Any, content: Any, backend: str, missing: Any = None) -> ak.Array:
    """An awkward list per event from buffers (on ``backend``), missing events where
    ``missing`` says."""
    layout = ak.contents.ListOffsetArray(ak.index.Index64(offsets), ak.contents.NumpyArray(content))
    result = ak.Array(layout)
    if backend != ak.backend(result):
        result = ak.to_backend(result, backend)
    return _restore_missing(result, missing)


def wrap_events(values: Any, backend: str, missing: Any = None, present: Any = None) -> ak.Array:
    """A per-event awkward array from a buffer, missing where ``present`` is False or the
    event itself was missing."""
    result = ak.Array(ak.contents.NumpyArray(values))
    if present is not None:
        result = ak.mask(result, ak.Array(ak.contents.NumpyArray(present)))
    return _restore_missing(result, missing)


def _restore_missing(result: ak.Array, missing: Any) -> ak.Array:
    if missing is None:
        return result
    return ak.mask(result, ak.Array(ak.contents.NumpyArray(~missing)))
