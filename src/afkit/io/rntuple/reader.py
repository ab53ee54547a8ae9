"""RNTuple event data behind the same reader and schema interfaces as TTrees.

The event model reads through a :class:`~afkit.io.reader.BranchReader`-shaped object and
its schema is built from a tree's branch names and C++ types.  For an RNTuple,
:class:`RNTupleReader` answers the same questions (``flat``, ``jagged``, ``nested_lists``,
``link_arrays``, bytes read, ...) from afkit's RNTuple decoder, and :class:`FieldsAsBranches`
presents the top-level fields to the PHYSLITE and NanoAOD schema builders under the names
and type spellings those expect: ``AnalysisJetsAuxDyn:pt`` is the branch
``AnalysisJetsAuxDyn.pt`` (Athena writes ``:`` where the TTree had ``.``), NanoAOD's
``ROOT::VecOps::RVec<float>`` a ``float[]`` array.  ElementLinks are ordinary records in
RNTuple (``m_persKey``, ``m_persIndex``) and are read as such, not through a TTree's streamer
encodings.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import awkward as ak
import numpy as np
from numpy.typing import NDArray

from afkit.exceptions import (
    AfkitError,
    CorruptDataError,
    DecodeError,
    MissingBranchError,
    UnknownEncodingError,
)
from afkit.io.physlite.streamers import LinkArrays
from afkit.io.readcache import CachedReads
from afkit.io.rntuple.envelopes import RNTupleFormatError, UnsupportedRNTupleError
from afkit.io.rntuple.ntuple import FieldNotReadable, RNTuple
from afkit.io.schema import Undecodable

_RVEC = re.compile(r"^(?:ROOT::VecOps::RVec|ROOT::RVec|std::vector)<(.+)>$")
_CARDINALITY = re.compile(r"^ROOT::RNTupleCardinality<std::(uint32|uint64)_t>$")


def branch_name(field_name: str) -> str:
    """The TTree branch name of an Athena RNTuple field (``:`` -> ``.``)."""
    return field_name.replace(":", ".")


@dataclass
class FieldBranch:
    """One top-level field in the shape the schema builders read a branch in."""

    name: str
    typename: str
    field_name: str
    branches: list[Any] = field(default_factory=list)
    interpretation: Any = None

    def has_member(self, _name: str) -> bool:
        return False

    def member(self, name: str) -> Any:
        raise KeyError(name)


class FieldsAsBranches:
    """An RNTuple's top-level fields as the tree-like object the schema builders take.

    ``flat_arrays``: present collections of numbers as ``T[]`` (NanoAOD's leaf-count
    spelling) rather than ``std::vector<T>`` (PHYSLITE's).
    """

    def __init__(self, ntuple: RNTuple, *, flat_arrays: bool) -> None:
        self.name = ntuple.name
        self.file = None
        self.branches: list[FieldBranch] = []
        #: fields left out because a column has a type this reader does not know
        self.unreadable: list[Undecodable] = []
        for top in ntuple.schema.top_fields():
            if top.name.startswith("_collection") and not top.type_name:
                continue  # RNTupleImporter's storage; its projections are the branches
            reason = _unknown_columns(ntuple, top)
            if reason is not None:
                self.unreadable.append(Undecodable(branch_name(top.name), top.type_name, reason))
                continue
            typename = top.type_name
            cardinality = _CARDINALITY.match(typename)
            if cardinality:
                typename = f"std::{cardinality.group(1)}_t"
            vector = _RVEC.match(typename)
            if vector:
                typename = f"std::vector<{vector.group(1)}>"
                if flat_arrays:
                    typename = f"{vector.group(1)}[]"
            self.branches.append(FieldBranch(branch_name(top.name), typename, top.name))

    def keys(self, recursive: bool = False) -> list[str]:
        return self.names()

    def names(self) -> list[str]:
        return [b.name for b in self.branches]


def fields_as_branches(ntuple: RNTuple, *, flat_arrays: bool) -> FieldsAsBranches:
    """:class:`FieldsAsBranches` of the RNTuple, made once per schema (files share it)."""
    key = ("branches", ntuple.name, flat_arrays)
    view = ntuple.schema.memo.get(key)
    if view is None:
        view = ntuple.schema.memo[key] = FieldsAsBranches(ntuple, flat_arrays=flat_arrays)
    assert isinstance(view, FieldsAsBranches)
    return view


def _unknown_columns(ntuple: RNTuple, desc: Any) -> str | None:
    """Why a field cannot be read at all (a column of a type this reader does not know)."""
    from afkit.io.rntuple.pages import column_type

    stack = [desc]
    while stack:
        node = stack.pop()
        for column in ntuple.columns_of(node):
            try:
                column_type(column)
            except RNTupleFormatError as err:
                return str(err)
        stack.extend(ntuple.schema.fields[c] for c in node.children)
    return None


class RNTupleHandle:
    """What callers ask of a reader's ``handle``: the object's name and its branch names."""

    def __init__(self, ntuple: RNTuple) -> None:
        self.ntuple = ntuple
        self.name = ntuple.name
        self.path = ntuple.path
        self.root_file = None
        self._fields = {branch_name(n): n for n in ntuple.field_names()}

    def keys(self, recursive: bool = False) -> list[str]:
        return list(self._fields)

    def has(self, name: str) -> bool:
        return name in self._fields

    def field_name(self, name: str) -> str | None:
        return self._fields.get(name)


class RNTupleReader(CachedReads):
    """Fields of one RNTuple over ``[entry_start, entry_stop)``, with a cache.

    The counterpart of :class:`~afkit.io.reader.BranchReader` for RNTuple: names are the
    branch spellings (``Container.var``), values plain NumPy buffers.  Every decoder failure
    becomes an afkit error naming the file.
    """

    def __init__(self, ntuple: RNTuple, entry_start: int, entry_stop: int) -> None:
        self.ntuple = ntuple
        self.handle = RNTupleHandle(ntuple)
        self.file = ntuple.path
        self.entry_start = entry_start
        self.entry_stop = entry_stop
        super().__init__()
        self._start_bytes = ntuple.source.num_requested_bytes
        self.branches_read: list[str] = []

    @property
    def num_entries(self) -> int:
        return self.entry_stop - self.entry_start

    @property
    def bytes_read(self) -> int:
        """Bytes requested from the file since this reader was made (compressed, as stored)."""
        return int(self.ntuple.source.num_requested_bytes - self._start_bytes)

    def _field(self, name: str) -> str:
        found = self.handle.field_name(name)
        if found is None:
            raise MissingBranchError(
                "branch",
                name,
                self.handle.keys(),
                file=self.file,
                where=f"RNTuple {self.ntuple.name!r}",
            )
        return found

    def _array(self, name: str) -> ak.Array:
        """The field ``name`` over the reader's range (cached)."""

        def make() -> ak.Array:
            layout, a, b = self._window(name)
            return ak.Array(layout)[a:b]

        return self.cached("array", name, make)

    def _window(self, name: str) -> tuple[ak.contents.Content, int, int]:
        """The field over the clusters covering the range, and the range in it (cached)."""

        def make() -> tuple[ak.contents.Content, int, int]:
            field_name = self._field(name)
            self.branches_read.append(name)
            with self._decoding(field_name):
                return self.ntuple.layout(field_name, self.entry_start, self.entry_stop)

        return self.cached("window", name, make)  # type: ignore[no-any-return]

    @contextmanager
    def _decoding(self, field_name: str) -> Iterator[None]:
        """Decoder failures as afkit errors naming the file and the field."""
        try:
            yield
        except FieldNotReadable as err:
            raise UnknownEncodingError(str(err), file=self.file) from err
        except UnsupportedRNTupleError as err:
            raise UnknownEncodingError(f"field {field_name!r}: {err}", file=self.file) from err
        except RNTupleFormatError as err:
            raise CorruptDataError(f"field {field_name!r}: {err}", file=self.file) from err

    def compressed_bytes(self, name: str) -> int:
        """Bytes of the field's pages on disk (all its columns, every cluster)."""
        desc = self.ntuple.field(self._field(name))
        columns: set[int] = set()
        stack = [desc]
        while stack:
            node = stack.pop()
            columns.update(c for c in node.columns if c >= 0)
            stack.extend(self.ntuple.schema.fields[c] for c in node.children)
        total = 0
        for cluster in self.ntuple.clusters():
            for column in columns:
                info = cluster.columns.get(column)
                if info is not None:
                    total += int(info.table["size"].sum())
        return total

    def flat(self, name: str) -> NDArray[Any]:
        """One number per entry."""

        def make() -> NDArray[Any]:
            layout, a, b = self._window(name)
            if not isinstance(layout, ak.contents.NumpyArray):
                raise DecodeError(f"field of {name!r} is not one number per entry", file=self.file)
            return np.asarray(layout.data)[a:b]

        return self.cached("flat", name, make)  # type: ignore[no-any-return]

    def jagged(self, name: str) -> tuple[NDArray[np.int64], NDArray[Any]]:
        """A list of numbers per entry: (offsets from 0, content)."""

        def make() -> tuple[NDArray[np.int64], NDArray[Any]]:
            offsets, content = _list_level(*self._window(name), name, self.file)
            if not isinstance(content, ak.contents.NumpyArray):
                raise DecodeError(f"{name!r} is not a list of numbers", file=self.file)
            return offsets, np.asarray(content.data)

        return self.cached("jagged", name, make)  # type: ignore[no-any-return]

    def nested_lists(
        self, name: str, dtype: np.dtype[Any]
    ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[Any]]:
        """A list of lists of numbers per entry: (outer offsets, inner offsets, content)."""

        def make() -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[Any]]:
            outer, inner_layout = _list_level(*self._window(name), name, self.file)
            inner, content = _list_level(inner_layout, 0, inner_layout.length, name, self.file)
            if not isinstance(content, ak.contents.NumpyArray):
                raise DecodeError(f"{name!r} is not a list of lists of numbers", file=self.file)
            return outer, inner, np.asarray(content.data, dtype)

        return self.cached("nested", name, make)  # type: ignore[no-any-return]

    def link_arrays(self, name: str, kind: str) -> LinkArrays:
        """ElementLinks of ``name`` (records of ``m_persKey`` and ``m_persIndex``)."""

        def make() -> LinkArrays:
            layout, a, b = self._window(name)
            outer = inner = None
            if kind in ("link_vector", "link", "link_nested"):
                outer, layout = _list_level(layout, a, b, name, self.file)
            else:
                layout = layout[a:b]
            if kind == "link_nested":
                inner, layout = _list_level(layout, 0, layout.length, name, self.file)
            keys, indices = _link_members(layout, name, self.file)
            return LinkArrays(keys, indices, outer, inner)

        return self.cached("links", name, make)  # type: ignore[no-any-return]

    def raw(self, name: str) -> tuple[NDArray[np.uint8], NDArray[np.int64]]:
        raise UnknownEncodingError(
            f"{name!r}: RNTuple fields have no serialized per-entry bytes", file=self.file
        )

    def objects(self, name: str) -> ak.Array:
        """Any field as afkit's RNTuple decoder reads it (``Events.branch``)."""
        return self._array(name)


def _list_level(
    layout: ak.contents.Content, a: int, b: int, name: str, file: str
) -> tuple[NDArray[np.int64], ak.contents.Content]:
    """Entries ``[a, b)`` of a list layout: offsets from 0 and the content they span."""
    if isinstance(layout, ak.contents.RegularArray):
        layout = layout.to_ListOffsetArray64(True)
    if not isinstance(layout, (ak.contents.ListOffsetArray, ak.contents.ListArray)):
        raise DecodeError(f"{name!r} is not a list field", file=file)
    if not isinstance(layout, ak.contents.ListOffsetArray):
        layout = layout.to_ListOffsetArray64(True)
    offsets = np.asarray(layout.offsets.data, np.int64)[a : b + 1]
    first, last = int(offsets[0]), int(offsets[-1])
    content = layout.content
    if isinstance(content, ak.contents.NumpyArray):
        content = ak.contents.NumpyArray(np.asarray(content.data)[first:last])
    else:
        content = content[first:last]
    return offsets - first, content


def _link_members(
    layout: ak.contents.Content, name: str, file: str
) -> tuple[NDArray[np.uint32], NDArray[np.uint32]]:
    if not isinstance(layout, ak.contents.RecordArray) or not {
        "m_persKey",
        "m_persIndex",
    } <= set(layout.fields):
        raise DecodeError(f"{name!r} has no m_persKey/m_persIndex records", file=file)
    keys = np.asarray(layout.content("m_persKey").data, np.uint32)
    indices = np.asarray(layout.content("m_persIndex").data, np.uint32)
    return keys[: layout.length], indices[: layout.length]


def open_rntuple(path: str, source: Any, key: Any) -> RNTuple:
    """The RNTuple of ``key``, with every decoder failure an afkit error naming the file."""
    try:
        return RNTuple(source, key, path)
    except AfkitError:
        raise
    except UnsupportedRNTupleError as err:
        raise UnknownEncodingError(f"RNTuple {key.name!r}: {err}", file=path) from err
    except RNTupleFormatError as err:
        raise CorruptDataError(f"RNTuple {key.name!r}: {err}", file=path) from err
    except OSError as err:
        raise CorruptDataError(f"RNTuple {key.name!r}: {err}", file=path) from err
