"""CMS NanoAOD as an afkit schema: ``nJet`` + ``Jet_*`` -> collection ``Jet``.

NanoAOD is flat: per-object branches ``X_field`` with a counter ``nX``, per-event groups
``X_field`` without a counter (``MET_pt``, ``PV_npvs``, ``HLT_*``) and plain event variables
(``run``, ``event``, ``luminosityBlock``).  Values are already in GeV; nothing is scaled.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from afkit.io.schema import (
    PRIMITIVES,
    CollectionSpec,
    FieldSpec,
    Schema,
    Undecodable,
    normalize_type,
)

#: Name of the pseudo-collection whose fields sit at the top of the Events record.
TOP_LEVEL = "__event__"


def _dtype(cpp_type: str) -> np.dtype[Any] | None:
    text = normalize_type(cpp_type)
    if text.endswith("[]"):
        text = text[:-2]
    code = PRIMITIVES.get(text)
    return np.dtype(code) if code else None


def build_nanoaod_schema(tree: Any) -> tuple[Schema, dict[str, str]]:
    """Return the schema and ``collection -> counter branch`` for a NanoAOD ``Events`` tree."""
    names = [b.name for b in tree.branches]
    typenames = {b.name: b.typename for b in tree.branches}
    counters = {
        n[1:]: n
        for n in names
        if n.startswith("n") and any(m.startswith(n[1:] + "_") for m in names)
    }
    collections: dict[str, CollectionSpec] = {}
    undecodable: list[Undecodable] = []
    groups: dict[str, dict[str, FieldSpec]] = {}
    for name in names:
        if name in counters.values():
            continue
        dtype = _dtype(typenames[name])
        if dtype is None:
            undecodable.append(
                Undecodable(name, typenames[name], "not a number or array of numbers")
            )
            continue
        jagged = normalize_type(typenames[name]).endswith("[]")
        prefix, sep, rest = name.partition("_")
        if sep and prefix in counters and jagged:
            groups.setdefault(prefix, {})[rest] = FieldSpec(
                rest, "list", name, typenames[name], dtype
            )
        elif jagged and "n" + name in names:  # LHEPdfWeight[nLHEPdfWeight]: a list per event
            groups.setdefault(TOP_LEVEL, {})[name] = FieldSpec(
                name, "list", name, typenames[name], dtype
            )
        elif jagged:
            undecodable.append(
                Undecodable(name, typenames[name], "array branch without an nX counter")
            )
        elif sep and prefix and rest:
            groups.setdefault("#" + prefix, {})[rest] = FieldSpec(
                rest, "scalar", name, typenames[name], dtype
            )
        else:
            groups.setdefault(TOP_LEVEL, {})[name] = FieldSpec(
                name, "scalar", name, typenames[name], dtype
            )
    for key, fields in sorted(groups.items()):
        single = key.startswith("#") or key == TOP_LEVEL
        name = key.lstrip("#")
        if single and key != TOP_LEVEL and len(fields) == 1:  # a lone X_y flag stays top-level
            only = next(iter(fields.values()))
            only.name = only.branch
            groups.setdefault(TOP_LEVEL, {})
            collections.setdefault(
                TOP_LEVEL, CollectionSpec(TOP_LEVEL, TOP_LEVEL, None, True, {})
            ).fields[only.branch] = only
            continue
        target = collections.setdefault(name, CollectionSpec(name, name, None, single, {}))
        target.fields.update(fields)
    schema = Schema(collections, undecodable, {c: c for c in collections}, format="nanoaod")
    return schema, {c: counters[c] for c in collections if c in counters}


#: Per-run sums NanoAOD keeps in its ``Runs`` tree.
RUNS_TREE = "Runs"
RUN_SCALARS = ("genEventSumw", "genEventSumw2", "genEventCount")
RUN_ARRAYS = ("LHEScaleSumw", "LHEPdfSumw", "PSSumw", "LHEReweightingSumw")


def run_sums(source: Any) -> dict[str, Any]:
    """The sums of a NanoAOD file's ``Runs`` tree over its entries (runs): each scalar sum
    (``genEventSumw``, ...) as a float, each array (``LHEScaleSumw``, ...) elementwise.

    Raises :class:`~afkit.exceptions.MissingTreeError` without a ``Runs`` tree.
    """
    from afkit.exceptions import DecodeError
    from afkit.io.filespec import normalize_source
    from afkit.io.reader import whole_tree_reader

    path = normalize_source(source)
    reader = whole_tree_reader(path, RUNS_TREE)
    out: dict[str, Any] = {}
    for name in RUN_SCALARS:
        if reader.handle.has(name):
            out[name] = float(np.sum(reader.flat(name), dtype=np.float64))
    for name in RUN_ARRAYS:
        if not reader.handle.has(name):
            continue
        offsets, values = reader.jagged(name)
        counts = np.diff(offsets)
        if len(counts) and np.any(counts != counts[0]):
            raise DecodeError(f"{name} has different lengths in different runs", file=path)
        width = int(counts[0]) if len(counts) else 0
        out[name] = (
            values.reshape(-1, width).sum(axis=0, dtype=np.float64) if width else np.zeros(0)
        )
    return out
