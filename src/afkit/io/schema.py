"""The format-neutral description of a tree's event data: collections, fields, storage.

A :class:`Schema` is what a format module (:mod:`afkit.io.physlite.schema`,
:mod:`afkit.io.nanoaod`) works out from a tree's metadata without reading data, and what the
event model and the branch reader act on: for every collection its fields, for every field how
it is stored (:data:`FieldKind`) and decoded, and every branch that is not exposed, with why.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

FieldKind = Literal[
    "scalar",  # T per event (single-object collections)
    "list",  # vector<T>: one T per object (or a list per event for single objects)
    "nested",  # vector<vector<T>>: a list per object
    "link",  # vector<ElementLink<T>> split into m_persKey/m_persIndex (encoding 1)
    "link_vector",  # vector<ElementLink<T>> streamed whole: member-wise (encoding 4) or not
    "link_nested",  # vector<vector<ElementLink<T>>> (encoding 2)
    "link_single",  # ElementLink<T> at split level 1 (encoding 3)
    "static",  # a numeric member of an unsplit static aux object (early r21 EventInfoAux.)
    "constant",  # one value per object that the file does not store (the PDG muon mass)
    "object",  # anything else uproot itself reads (vector<string>, ...)
]

PRIMITIVES: dict[str, str] = {
    "float": "f4",
    "double": "f8",
    "bool": "?",
    "Bool_t": "?",
    "char": "i1",
    "int8_t": "i1",
    "Char_t": "i1",
    "signedchar": "i1",
    "unsignedchar": "u1",
    "uint8_t": "u1",
    "UChar_t": "u1",
    "short": "i2",
    "int16_t": "i2",
    "Short_t": "i2",
    "unsignedshort": "u2",
    "uint16_t": "u2",
    "UShort_t": "u2",
    "int": "i4",
    "int32_t": "i4",
    "Int_t": "i4",
    "unsignedint": "u4",
    "uint32_t": "u4",
    "UInt_t": "u4",
    "unsigned": "u4",
    "long": "i8",
    "longlong": "i8",
    "int64_t": "i8",
    "Long64_t": "i8",
    "Long_t": "i8",
    "unsignedlong": "u8",
    "unsignedlonglong": "u8",
    "uint64_t": "u8",
    "ULong64_t": "u8",
    "ULong_t": "u8",
    "Float_t": "f4",
    "Double_t": "f8",
}


@dataclass
class FieldSpec:
    """How one field is stored and decoded."""

    name: str
    kind: FieldKind
    branch: str
    cpp_type: str
    dtype: np.dtype[Any] | None = None  # element dtype for numeric kinds
    energy: bool = False
    link_class: str | None = None  # element class a link points to (xAOD::Jet, ...)
    constant: float | None = None  # the value of a "constant" field, in the stored units


@dataclass
class CollectionSpec:
    """One xAOD container as afkit exposes it."""

    name: str  # user-facing name (Jets)
    container: str  # name in the file (AnalysisJets)
    cpp_class: str | None  # interface class (DataVector<xAOD::Jet_v1>)
    single: bool  # one object per event (EventInfo) rather than a list
    fields: dict[str, FieldSpec] = field(default_factory=dict)

    #: the class of one element (``xAOD::Jet``), which ElementLinks are typed on; None for
    #: formats without such classes
    element_class: str | None = None

    def anchor(
        self,
        compressed_bytes: Callable[[str], int],
        already_read: Callable[[str], bool] = lambda branch: False,
    ) -> FieldSpec | None:
        """The field the collection's object counts are taken from.

        xAOD writes a decoration as an empty vector in events where it was not set, so only a
        variable every object carries can count objects.  The core kinematic and identity
        variables in :data:`ANCHOR_FIELDS` always are; without one of them, the most
        expensive plain per-object fields are taken (the largest branches are the least
        likely to be sparse decorations): of those within 10 % of the largest, one this chunk
        has ``already_read`` (no branch read only to count), else the largest; then any
        other per-object field.  ``compressed_bytes(branch)`` is asked only in that case (it
        may need the branch's metadata decoded).  A sparse anchor cannot go unnoticed: every
        other field is checked against it and a field with more objects raises.
        """
        lists = {f.name: f for f in self.fields.values() if f.kind == "list"}
        for name in ANCHOR_FIELDS:
            if name in lists:
                return lists[name]
        if lists:
            sizes = {f.name: compressed_bytes(f.branch) for f in lists.values()}
            largest = max(lists.values(), key=lambda f: (sizes[f.name], f.name))
            near = [
                f
                for f in lists.values()
                if sizes[f.name] >= 0.9 * sizes[largest.name] and already_read(f.branch)
            ]
            return max(near, key=lambda f: (sizes[f.name], f.name)) if near else largest
        per_object = ("nested", "link", "link_vector", "link_nested")
        others = [f for f in self.fields.values() if f.kind in per_object]
        return others[0] if others else None


#: Variables every object of their container carries, in order of preference.
ANCHOR_FIELDS = (
    "pt",
    "px",
    "eta",
    "phi",
    "m",
    "e",
    "pdgId",
    "barcode",
    "status",
    "z",
    "x",
    "mpx",
    "sumet",
    "charge",
    "theta",
    "qOverP",
    "d0",
    "z0",
)


@dataclass(frozen=True)
class Undecodable:
    """A branch afkit does not expose, and why."""

    branch: str
    cpp_type: str
    reason: str


@dataclass
class Schema:
    """Everything :func:`build_schema` found."""

    collections: dict[str, CollectionSpec]
    undecodable: list[Undecodable]
    by_container: dict[str, str]  # container name -> collection name
    format: str = "physlite"  # or "nanoaod"
    #: awkward forms built from this schema, by energy scaling (see afkit.events.model)
    forms: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)


def normalize_type(cpp_type: str) -> str:
    """Canonical C++ type text: no ``std::``, no spaces (``vector<vector<float>>``)."""
    return cpp_type.replace("std::", "").replace(" ", "")
