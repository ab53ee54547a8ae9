"""The fast column view: flat columns of the fields an analysis names, on CPU or GPU.

:func:`columns` turns a chunk of events into plain arrays — per collection its object
offsets and one flat array per field — which the kernels (:mod:`afkit.kernels`, flat form)
and NumPy/CuPy operate on without awkward layouts in between:

    cols = afkit.events.columns(events, {
        "Jets": ["pt", "eta", "phi", "m", "btagging.DL1dv01_pb"],
        "EventInfo": ["eventNumber", "mcEventWeights[0]"],
    })
    cols.Jets.offsets, cols.Jets.pt, cols.Jets["btagging.DL1dv01_pb"], cols.EventInfo.eventNumber

Field syntax: a field of the collection (``pt``); a field reached through a resolved link,
``link.field`` (float64, NaN where the link cannot be followed); for a single-object
collection, ``field[i]``: element ``i`` of a list per event (an event without it is an error
naming the entry).  Values are those of the event model — GeV as float64 for PHYSLITE
energies — and the same whichever way they are read: for a whole chunk as
:func:`afkit.read` made it the columns come straight from the chunk's decoded buffers (no
awkward layout is built); for any other events (a slice, a mask, events on a GPU) through
the event model's fields.  ``backend="cuda"`` (or :meth:`EventColumns.to`) copies them to
the GPU, each once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import awkward as ak
import numpy as np

from afkit.exceptions import (
    ArgumentTypeError,
    DecodeError,
    MissingBranchError,
    MissingCollectionError,
)

__all__ = ["CollectionColumns", "EventColumns", "columns"]

_ELEMENT = re.compile(r"^(?P<name>[^\[\]]+)\[(?P<index>\d+)\]$")


@dataclass(frozen=True)
class CollectionColumns:
    """The requested fields of one collection: flat arrays and the per-event ``offsets``
    (``None`` for single-object collections such as ``EventInfo``, whose fields hold one
    value per event)."""

    name: str
    offsets: Any
    fields: dict[str, Any]

    def __getitem__(self, name: str) -> Any:
        try:
            return self.fields[name]
        except KeyError:
            raise MissingBranchError(
                "column", name, self.fields, where=f"columns of {self.name!r}"
            ) from None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return self[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.fields)

    @property
    def counts(self) -> Any:
        """Objects per event (None for single-object collections)."""
        return None if self.offsets is None else self.offsets[1:] - self.offsets[:-1]


@dataclass(frozen=True)
class EventColumns:
    """The columns of one chunk: ``cols.Jets.pt``, ``cols["EventInfo"]["eventNumber"]``."""

    n_events: int
    collections: dict[str, CollectionColumns]
    backend: str = "cpu"
    file: str | None = field(default=None, compare=False)

    def __getitem__(self, name: str) -> CollectionColumns:
        try:
            return self.collections[name]
        except KeyError:
            raise MissingCollectionError(
                "collection", name, self.collections, where="these columns", file=self.file
            ) from None

    def __getattr__(self, name: str) -> CollectionColumns:
        if name.startswith("_"):
            raise AttributeError(name)
        return self[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.collections)

    def to(self, backend: str) -> EventColumns:
        """The same columns on ``backend`` ("cpu" or "cuda"), each array copied once."""
        from afkit.kernels import to_device

        if backend == self.backend:
            return self

        def move(value: Any) -> Any:
            return None if value is None else to_device(value, backend)

        moved = {
            name: replace(
                c, offsets=move(c.offsets), fields={k: move(v) for k, v in c.fields.items()}
            )
            for name, c in self.collections.items()
        }
        return replace(self, collections=moved, backend=backend)

    @property
    def nbytes(self) -> int:
        """Bytes held by the arrays (what a host-to-device copy moves)."""
        total = 0
        for c in self.collections.values():
            arrays = [c.offsets, *c.fields.values()]
            total += sum(int(a.nbytes) for a in arrays if a is not None)
        return total


def _moved(fields: dict[str, Any], move: Any) -> dict[str, Any]:
    return {k: move(v) for k, v in fields.items()}


Request = Mapping[str, Sequence[str]]


def columns(events: Any, request: Request, *, backend: str = "cpu") -> EventColumns:
    """Flat columns of ``request`` (``{collection: [field, ...]}``) from ``events``.

    Raises :class:`~afkit.exceptions.MissingCollectionError` /
    :class:`~afkit.exceptions.MissingBranchError` with the nearest names for an unknown
    collection or field.
    """
    if not isinstance(request, Mapping):
        raise ArgumentTypeError(
            f"request must map collections to field names, not {type(request).__name__}"
        )
    source = _whole_chunk_source(events)
    reader: _SourceColumns | _ModelColumns = (
        _SourceColumns(source) if source is not None else _ModelColumns(events)
    )
    out = {}
    for name, names in request.items():
        if isinstance(names, str) or not isinstance(names, Sequence):
            raise ArgumentTypeError(f"the fields of {name!r} must be a list of names")
        out[name] = reader.collection(name, list(names))
    result = EventColumns(len(events), out, "cpu", getattr(source, "file", None))
    return result.to(backend) if backend != "cpu" else result


def _whole_chunk_source(events: Any) -> Any:
    """The chunk's :class:`~afkit.events.source.EventSource` when ``events`` is the whole
    chunk as read, on the CPU, in GeV-scaled or stored units alike; None otherwise."""
    from afkit.events.events import Events

    if not isinstance(events, Events):
        return None
    source = events.__dict__.get("_afkit_source")  # set only on the chunk as read
    if source is None or events.backend != "cpu":
        return None
    return source


def _split(name: str) -> tuple[str, str | None, int | None]:
    """``field``, ``link.field`` or ``field[i]`` -> (field or link, linked field, element)."""
    element = _ELEMENT.match(name)
    if element:
        return element.group("name"), None, int(element.group("index"))
    link, dot, target = name.partition(".")
    return (link, target, None) if dot else (name, None, None)


class _SourceColumns:
    """Columns straight from a whole chunk's decoded buffers (what the model's fields are
    made of), without awkward layouts."""

    def __init__(self, source: Any) -> None:
        self.source = source

    def collection(self, name: str, names: list[str]) -> CollectionColumns:
        spec = self.source.collection(name)
        offsets = None if spec.single else self.source.offsets(name)
        fields = {n: self.value(name, spec, n) for n in names}
        return CollectionColumns(name, offsets, fields)

    def value(self, collection: str, spec: Any, name: str) -> Any:
        base, target, element = _split(name)
        if target is not None:
            return self.linked(collection, spec, base, target)
        field_spec = self.source.field(collection, base)
        if element is not None:
            offsets, content = self.source.event_list(collection, base)
            return _element(offsets, content, element, f"{collection}.{base}", self.source)
        if spec.single:
            if field_spec.kind == "list":
                raise ArgumentTypeError(
                    f"{collection}.{base} is a list per event: ask for {base}[0] (an element)"
                )
            return self.source.scalar(collection, base)
        return np.ascontiguousarray(self.source.list_content(collection, base))

    def linked(self, collection: str, spec: Any, link: str, target: str) -> Any:
        from afkit.events.linking import target_fields
        from afkit.io.physlite.schema import resolved_link_name
        from afkit.kernels import gather

        stored = next(
            (f for f in spec.fields.values() if f.kind.startswith("link") and (
                f.name == link or resolved_link_name(f.name) == link)),
            None,
        )  # fmt: skip
        if stored is None or stored.kind not in ("link", "link_vector"):
            raise MissingBranchError(
                "link", link, [resolved_link_name(f.name) for f in spec.fields.values()
                               if f.kind in ("link", "link_vector")],
                file=self.source.file, where=f"collection {collection!r}",
            )  # fmt: skip
        resolver = self.source.resolver(collection, stored.name)
        targets = target_fields(self.source.schema, resolver.candidates, self.source.scale)
        if target not in targets:
            raise MissingBranchError(
                "field", target, targets, file=self.source.file, where=f"{collection}.{link}"
            )
        index, content = resolver.field_values(target, targets[target])
        return gather(index, content)


def _element(offsets: Any, content: Any, element: int, what: str, source: Any) -> Any:
    counts = np.diff(offsets)
    short = np.flatnonzero(counts <= element)
    if len(short):
        entry = (source.reader.entry_start if source is not None else 0) + int(short[0])
        raise DecodeError(
            f"{what} has no element {element} in entry {entry} ({int(counts[short[0]])} values)",
            file=getattr(source, "file", None),
        )
    return np.ascontiguousarray(content[offsets[:-1] + element])


class _ModelColumns:
    """The same columns through the event model's fields (any array of events)."""

    def __init__(self, events: Any) -> None:
        self.events = events

    def collection(self, name: str, names: list[str]) -> CollectionColumns:
        array = self.events[name]
        single = array.ndim == 1
        if not single:
            array = ak.to_backend(array, "cpu")
            offsets = _offsets(array)
        else:
            array = ak.to_backend(array, "cpu")
            offsets = None
        fields = {n: self.value(array, name, n, single) for n in names}
        return CollectionColumns(name, offsets, fields)

    def value(self, array: Any, collection: str, name: str, single: bool) -> Any:
        base, target, element = _split(name)
        column = array[base]
        if target is not None:
            linked = column[target]
            return _flat(ak.fill_none(linked, np.nan), np.float64)
        if element is not None:
            offsets = _offsets(column)
            content = _flat(column, None)
            return _element(offsets, content, element, f"{collection}.{base}", None)
        if single:
            if column.ndim != 1:
                raise ArgumentTypeError(
                    f"{collection}.{base} is a list per event: ask for {base}[0] (an element)"
                )
            return np.ascontiguousarray(ak.to_numpy(column))
        return _flat(column, None)


def _offsets(array: Any) -> Any:
    layout = array.layout
    if isinstance(layout, ak.contents.ListOffsetArray):
        offsets = np.asarray(layout.offsets.data, dtype=np.int64)
        return offsets - offsets[0]
    counts = ak.to_numpy(ak.num(array, axis=1)).astype(np.int64)
    out = np.zeros(len(counts) + 1, np.int64)
    np.cumsum(counts, out=out[1:])
    return out


def _flat(array: Any, dtype: Any) -> Any:
    layout = array.layout
    if isinstance(layout, ak.contents.ListOffsetArray) and isinstance(
        layout.content, ak.contents.NumpyArray
    ):
        offsets = layout.offsets.data
        data = np.asarray(layout.content.data)[int(offsets[0]) : int(offsets[-1])]
        return np.ascontiguousarray(data, dtype=dtype)
    return np.ascontiguousarray(ak.to_numpy(ak.flatten(array, axis=1)), dtype=dtype)
