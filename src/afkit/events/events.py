"""The :class:`Events` array: an awkward record array of collections, read lazily."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import awkward as ak

from afkit.events.behavior import SOURCE_ATTR as _SOURCE_ATTR

if TYPE_CHECKING:
    from afkit.events.model import LazyModel
    from afkit.events.source import EventSource


#: ak.Array's own state; reading any of it before it exists builds the whole layout
_ARRAY_STATE = frozenset({"_layout", "_behavior", "_attrs", "_cpp_type", "_numbaview"})


class Events(ak.Array):  # type: ignore[misc]
    """One chunk of events; each field is a collection (``Jets``, ``EventInfo``, ...).

    Nothing is read until a field's values are needed; :attr:`bytes_read` tells how many
    bytes reading has cost so far.  Use it like any awkward array — slicing, masks,
    ``ak.num`` — plus the few afkit properties below.

    Even the awkward layout is made on demand: ``events.Jets`` builds only the ``Jets``
    collection, and the full record is built the first time the events are used as an
    array (slicing, ``len``-free awkward functions, printing).  A processor that touches
    three collections pays for three.
    """

    @classmethod
    def deferred(cls, model: LazyModel) -> Events:
        """Events whose layout ``model`` makes on first use (see :class:`LazyModel`)."""
        self = cls.__new__(cls)
        state = self.__dict__
        state["_afkit_model"] = model
        state["_afkit_origin"] = model  # kept after the layout is built (see to())
        state["_afkit_source"] = model.source
        state["_afkit_collections"] = {}
        return self

    def _pending(self) -> LazyModel | None:
        model: LazyModel | None = self.__dict__.get("_afkit_model")
        return model

    def _materialize(self) -> None:
        built = self.__dict__["_afkit_model"].full()
        ak.Array.__init__(self, built.layout, behavior=built.behavior, attrs=built.attrs)
        del self.__dict__["_afkit_model"]

    def __getattr__(self, where: str) -> Any:
        model = self._pending()
        if where.startswith("_"):
            if model is not None and where in _ARRAY_STATE:
                self._materialize()
                return getattr(self, where)
            return super().__getattr__(where)
        if model is not None:
            return self._collection(model, where)
        if where not in self.fields:
            self._missing(where)
        try:
            return super().__getattr__(where)
        except AttributeError as err:
            from afkit.events.behavior import unwrap_afkit_error

            unwrap_afkit_error(err)
            raise

    def __getitem__(self, where: Any) -> Any:
        model = self._pending()
        if isinstance(where, str):
            if model is not None:
                return self._collection(model, where)
            if where not in self.fields:
                self._missing(where)
        return super().__getitem__(where)

    def _collection(self, model: LazyModel, name: str) -> Any:
        built: dict[str, Any] = self.__dict__["_afkit_collections"]
        if name not in built:
            if name not in model.fields:
                self._missing(name)
            built[name] = model.field(name)
        return built[name]

    def __len__(self) -> int:
        model = self._pending()
        return model.length if model is not None else int(super().__len__())

    @property
    def fields(self) -> list[str]:
        """Names of the collections (and top-level variables)."""
        model = self._pending()
        return list(model.fields) if model is not None else list(super().fields)

    def _missing(self, where: str) -> None:
        from afkit.exceptions import MissingCollectionError

        raise MissingCollectionError("collection", where, self.fields, file=self.file)

    @property
    def source(self) -> EventSource:
        """The chunk's data provider (file, entry range, schema, cache)."""
        source = self.__dict__.get("_afkit_source")
        if source is None:  # an array derived from the events (a slice, a mask)
            source = self.attrs[_SOURCE_ATTR]
        return source  # type: ignore[no-any-return]

    @property
    def backend(self) -> str:
        """Where the arrays' buffers live: ``"cpu"`` or ``"cuda"``."""
        model = self._pending()
        if model is not None:
            return model.backend
        return str(ak.backend(self))

    def to(self, backend: str) -> Events:
        """These events with every buffer on ``backend`` ("cpu" or "cuda").

        For a chunk as :func:`afkit.read` made it nothing is read or copied yet: each buffer
        is copied to the device the first time a field that needs it is used, once, links
        and behaviours included.  Events derived from it (a slice, a mask) are copied with
        ``ak.to_backend``, which copies every buffer they hold: move a chunk before
        selecting from it.  Without CuPy (or a GPU) the error says what to install.
        """
        from afkit.kernels import array_module

        array_module(backend)  # checks the name, and CuPy for "cuda"
        if backend == self.backend:
            return self
        origin: LazyModel | None = self.__dict__.get("_afkit_origin")
        if origin is not None:  # the chunk as read: a new lazy model on the other backend
            return Events.deferred(origin.on(backend))
        return ak.to_backend(self, backend)  # type: ignore[no-any-return]

    def release(self) -> None:
        """Free the buffers this chunk keeps for reuse.

        Each branch is decoded once per chunk and kept, so that a field used twice (or a
        link and its target) is read once.  A processor that has taken what it needs — e.g.
        copied its columns with :func:`afkit.events.columns` — can give that memory back
        before computing: the arrays it holds stay valid, and a field touched again is
        simply read again.  (The AGC's processor does this: it lowers a worker's peak memory
        by the chunk's decoded branches.)
        """
        self.source.release()

    @property
    def file(self) -> str:
        """Path or URL of the file these events come from."""
        return self.source.file

    @property
    def entry_range(self) -> tuple[int, int]:
        """``(entry_start, entry_stop)`` of this chunk in its tree."""
        reader = self.source.reader
        return reader.entry_start, reader.entry_stop

    @property
    def bytes_read(self) -> int:
        """Compressed bytes requested from the file so far for this chunk."""
        return self.source.reader.bytes_read

    @property
    def branches_read(self) -> list[str]:
        """Branches read so far for this chunk, in order."""
        return list(self.source.reader.branches_read)

    @property
    def collections(self) -> list[str]:
        """Names of the collections (the record's fields)."""
        return list(self.fields)

    def branch(self, name: str) -> ak.Array:
        """Read any branch of the tree as uproot interprets it (escape hatch, eager)."""
        return self.source.reader.objects(name)
