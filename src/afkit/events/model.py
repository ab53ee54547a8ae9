"""Build the lazy awkward event model from a schema and an :class:`EventSource`.

The form is fixed from metadata; each buffer is a zero-argument callable into the source, so
awkward materialises only what an expression touches.  Buffer keys are
``{collection}/{field}[/...]-{attribute}``.

Field layout per storage kind (list collections; single-object ones sit at event level):

==============  ===========================================================================
``list``        ``NumpyArray`` under the collection's ``ListOffsetArray``
``nested``      ``ListOffsetArray`` per object
link kinds      raw ``{m_persKey, m_persIndex}`` record under the stored name, plus the
                resolved target (``IndexedOptionArray``; missing where the link cannot be
                followed) under :func:`~afkit.io.physlite.schema.resolved_link_name`
==============  ===========================================================================
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import awkward as ak
import numpy as np

from afkit.events import behavior as bh
from afkit.events.events import Events
from afkit.events.linking import target_fields
from afkit.events.source import EventSource
from afkit.io.nanoaod import TOP_LEVEL
from afkit.io.physlite.schema import link_candidates, resolved_link_name
from afkit.io.schema import CollectionSpec, FieldSpec

Buffers = dict[str, Callable[[], Any]]
FormDict = dict[str, Any]


@functools.lru_cache(maxsize=64)
def _primitive(dtype: np.dtype[Any]) -> str:
    return "bool" if dtype.kind == "b" else str(np.dtype(dtype).newbyteorder("=").name)


def _numpy(key: str, dtype: np.dtype[Any]) -> FormDict:
    return {"class": "NumpyArray", "primitive": _primitive(dtype), "form_key": key}


class LazyModel:
    """The form and buffers of one chunk, turned into awkward layouts on demand.

    Making the awkward layout of a whole PHYSLITE event (several hundred nodes) costs
    milliseconds per chunk, more than many processors spend on the data they use.  So
    :class:`Events` holds this instead and asks it for one collection at a time
    (:meth:`field`), or for the whole record (:meth:`full`) when the events are used as an
    array.  A collection's buffer callables are registered when it is first asked for;
    either way they are callables into one :class:`EventSource`, so nothing is read twice.
    The awkward forms and the record's field list depend only on the schema and the energy
    scaling and are cached on the schema.
    """

    def __init__(self, builder: ModelBuilder, backend: str = "cpu") -> None:
        self._builder = builder
        self.source = builder.source
        self.scale = builder.scale
        self.backend = backend
        #: record field -> (collection, position among TOP_LEVEL's variables or None)
        self._plan: dict[str, tuple[str, int | None]] = self._cached(
            ("plan", self.scale), builder.plan
        )
        self.fields = list(self._plan)
        self._built: dict[str, FormDict | None] = {}

    @property
    def length(self) -> int:
        return self.source.num_entries

    def _cached(self, key: Any, make: Callable[[], Any]) -> Any:
        cache = self.source.schema.forms  # shared by every chunk of this schema
        value = cache.get(key)
        if value is None:
            value = cache[key] = make()
        return value

    def _collection(self, name: str) -> FormDict | None:
        """The collection's form dict, its buffers registered (once per chunk)."""
        if name not in self._built:
            self._built[name] = self._builder.collection(name)
        return self._built[name]

    def _field_form(self, name: str) -> FormDict:
        collection, position = self._plan[name]
        form = self._collection(collection)
        assert form is not None
        return form if position is None else form["contents"][position]

    def _array(self, form: Any) -> ak.Array:
        if self.backend == "cpu":
            container: Any = self._builder.buffers
        else:
            container = _DeviceBuffers(self._builder.buffers, self.source, self.backend)
        return ak.from_buffers(
            form,
            self.length,
            container,
            backend=self.backend,
            behavior=bh.behavior(),
            attrs={bh.SOURCE_ATTR: self.source},
        )

    def on(self, backend: str) -> LazyModel:
        """The same chunk's model with its buffers on ``backend`` (copied when first used)."""
        return LazyModel(self._builder, backend)

    def full(self) -> ak.Array:
        """The whole event record (every collection) as one awkward array."""
        contents = [self._field_form(f) for f in self.fields]  # registers every buffer
        form = self._cached(
            self.scale,
            lambda: ak.forms.from_dict(
                {
                    "class": "RecordArray",
                    "fields": self.fields,
                    "contents": contents,
                    "parameters": {"__record__": bh.EVENTS},
                }
            ),
        )
        return self._array(form)

    def field(self, name: str) -> ak.Array:
        """One collection (or top-level variable), as ``events[name]`` would give it."""
        contents = self._field_form(name)
        form = self._cached((self.scale, name), lambda: ak.forms.from_dict(contents))
        return self._array(form)


class _DeviceBuffers(Mapping[str, Callable[[], Any]]):
    """The builder's buffer callables, each handing awkward a device copy of its host buffer,
    made the first time it is used and kept in the chunk's source (so a collection and the
    full record built from the same buffer share one copy)."""

    def __init__(self, buffers: Buffers, source: EventSource, backend: str) -> None:
        from afkit.kernels import array_module

        self._buffers = buffers
        self._source = source
        self._backend = backend
        array_module(backend)  # fails at once, naming what to install, without CuPy

    def __getitem__(self, key: str) -> Callable[[], Any]:
        make = self._buffers[key]
        return lambda: self._source.device_buffer(key, make, self._backend)

    def __iter__(self) -> Iterator[str]:
        return iter(self._buffers)

    def __len__(self) -> int:
        return len(self._buffers)


class ModelBuilder:
    """Makes the form and the buffer callables of one chunk, a collection at a time."""

    def __init__(self, source: EventSource) -> None:
        self.source = source
        self.buffers: Buffers = {}
        self.scale = source.scale

    def _dtype(self, spec: FieldSpec) -> np.dtype[Any]:
        assert spec.dtype is not None
        return np.dtype(np.float64) if (self.scale and spec.energy) else spec.dtype

    def build(self, backend: str = "cpu") -> Events:
        """The chunk's :class:`Events`; awkward layouts are made only when first used, with
        their buffers on ``backend`` ("cpu", or "cuda": copied to the GPU when first used)."""
        return Events.deferred(LazyModel(self, backend))

    def collection(self, name: str) -> FormDict | None:
        """Form dict of collection ``name`` (None: nothing in it the model holds); its
        buffer callables are added to :attr:`buffers`."""
        spec = self.source.schema.collections[name]
        return self._single(spec) if spec.single else self._list(spec)

    def plan(self) -> dict[str, tuple[str, int | None]]:
        """The record's fields in order: each collection, or for NanoAOD's plain event
        variables (which sit at the top) the variable and its position in
        :data:`~afkit.io.nanoaod.TOP_LEVEL`.  Built on a scratch builder: registers nothing."""
        scratch = ModelBuilder(self.source)
        out: dict[str, tuple[str, int | None]] = {}
        for name in self.source.schema.collections:
            form = scratch.collection(name)
            if form is None:
                continue
            if name == TOP_LEVEL:
                for i, variable in enumerate(form["fields"]):
                    out[variable] = (name, i)
            else:
                out[name] = (name, None)
        return out

    # -- collections --------------------------------------------------------------------
    def _record_params(self, spec: CollectionSpec, names: list[str]) -> dict[str, Any]:
        record = bh.MOMENTUM if bh.has_kinematics(names) else bh.OBJECT
        return {"__record__": record, bh.COLLECTION_PARAM: spec.name}

    def _list(self, spec: CollectionSpec) -> FormDict | None:
        src, c = self.source, spec.name
        fields: list[str] = []
        contents: list[FormDict] = []
        for f in spec.fields.values():
            for name, form in self._object_field(spec, f):
                fields.append(name)
                contents.append(form)
        if not fields:
            return None
        self.buffers[f"{c}-offsets"] = lambda: src.offsets(c)
        return {
            "class": "ListOffsetArray",
            "offsets": "i64",
            "form_key": c,
            "content": {
                "class": "RecordArray",
                "fields": fields,
                "contents": contents,
                "parameters": self._record_params(spec, fields),
            },
        }

    def _single(self, spec: CollectionSpec) -> FormDict | None:
        src, c = self.source, spec.name
        fields: list[str] = []
        contents: list[FormDict] = []
        for f in spec.fields.values():
            key = f"{c}/{f.name}"
            if f.kind in ("scalar", "static"):
                self.buffers[f"{key}-data"] = (lambda n: lambda: src.scalar(c, n))(f.name)
                fields.append(f.name)
                contents.append(_numpy(key, self._dtype(f)))
            elif f.kind == "list":
                self.buffers[f"{key}-offsets"] = (lambda n: lambda: src.event_list(c, n)[0])(f.name)
                self.buffers[f"{key}/c-data"] = (lambda n: lambda: src.event_list(c, n)[1])(f.name)
                fields.append(f.name)
                contents.append(
                    {
                        "class": "ListOffsetArray",
                        "offsets": "i64",
                        "form_key": key,
                        "content": _numpy(f"{key}/c", self._dtype(f)),
                    }
                )
            elif f.kind == "link_single":
                for name, form in self._link_fields(spec, f, nested=False):
                    fields.append(name)
                    contents.append(form)
        if not fields:
            return None
        return {
            "class": "RecordArray",
            "fields": fields,
            "contents": contents,
            "parameters": {"__record__": bh.OBJECT, bh.COLLECTION_PARAM: spec.name},
        }

    # -- fields -------------------------------------------------------------------------
    def _object_field(self, spec: CollectionSpec, f: FieldSpec) -> list[tuple[str, FormDict]]:
        src, c, key = self.source, spec.name, f"{spec.name}/{f.name}"
        if f.kind in ("list", "constant"):
            self.buffers[f"{key}-data"] = lambda: src.list_content(c, f.name)
            return [(f.name, _numpy(key, self._dtype(f)))]
        if f.kind == "nested":
            self.buffers[f"{key}-offsets"] = lambda: src.nested(c, f.name)[0]
            self.buffers[f"{key}/c-data"] = lambda: src.nested(c, f.name)[1]
            form = {
                "class": "ListOffsetArray",
                "offsets": "i64",
                "form_key": key,
                "content": _numpy(f"{key}/c", self._dtype(f)),
            }
            return [(f.name, form)]
        if f.kind in ("link", "link_vector"):
            return self._link_fields(spec, f, nested=False)
        if f.kind == "link_nested":
            return self._link_fields(spec, f, nested=True)
        return []  # "object" kinds: reported by inspect, read with Events.branch()

    def _link_fields(
        self, spec: CollectionSpec, f: FieldSpec, *, nested: bool
    ) -> list[tuple[str, FormDict]]:
        src, c, key = self.source, spec.name, f"{spec.name}/{f.name}"
        self.buffers[f"{key}/key-data"] = lambda: src.links(c, f.name).keys
        self.buffers[f"{key}/index-data"] = lambda: src.links(c, f.name).indices
        raw: FormDict = {
            "class": "RecordArray",
            "fields": ["m_persKey", "m_persIndex"],
            "contents": [
                _numpy(f"{key}/key", np.dtype(np.uint32)),
                _numpy(f"{key}/index", np.dtype(np.uint32)),
            ],
        }
        out: list[tuple[str, FormDict]] = []
        resolved = self._resolved(spec, f)
        if nested:
            self.buffers[f"{key}-offsets"] = lambda: src.links(c, f.name).inner_offsets
            out.append(
                (
                    f.name,
                    {"class": "ListOffsetArray", "offsets": "i64", "form_key": key, "content": raw},
                )
            )
            if resolved is not None:
                self.buffers[f"{key}@list-offsets"] = lambda: src.links(c, f.name).inner_offsets
                out.append(
                    (
                        resolved[0],
                        {
                            "class": "ListOffsetArray",
                            "offsets": "i64",
                            "form_key": f"{key}@list",
                            "content": resolved[1],
                        },
                    )
                )
        else:
            out.append((f.name, raw))
            if resolved is not None:
                out.append(resolved)
        return out

    def _resolved(self, spec: CollectionSpec, f: FieldSpec) -> tuple[str, FormDict] | None:
        assert f.link_class is not None
        schema = self.source.schema
        candidates = link_candidates(f.link_class, schema)
        targets = target_fields(schema, candidates, self.scale)
        if not candidates or not targets:
            return None
        name = resolved_link_name(f.name)
        if name in spec.fields:
            name = f.name + "_target"
        src, c, key = self.source, spec.name, f"{spec.name}/{f.name}@"
        self.buffers[f"{key}-index"] = lambda: src.resolver(c, f.name).index()
        contents = []
        for tname, dtype in targets.items():
            self.buffers[f"{key}/{tname}-data"] = (
                lambda t, d: lambda: src.resolver(c, f.name).content(t, d)
            )(tname, dtype)
            contents.append(_numpy(f"{key}/{tname}", dtype))
        record = bh.MOMENTUM if bh.has_kinematics(list(targets)) else bh.OBJECT
        return name, {
            "class": "IndexedOptionArray",
            "index": "i64",
            "form_key": key,
            "content": {
                "class": "RecordArray",
                "fields": list(targets),
                "contents": contents,
                "parameters": {"__record__": record, bh.LINK_PARAM: f"{spec.name}/{f.name}"},
            },
        }
