"""The flat columns the AGC needs from one chunk of PHYSLITE events, on CPU or GPU.

:func:`ChunkColumns.from_events` reads exactly the branches of spec §2 through afkit's event
model (GeV as float64 = float64(stored MeV) / 1000; each jet's DL1dv01 probabilities through its
resolved ``btaggingLink``, NaN where a link cannot be followed) and flattens them to offsets +
content, the form :mod:`afkit.kernels` takes.  :meth:`ChunkColumns.to` copies them to a device
explicitly — the "compute stage" after it never touches awkward.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

import awkward as ak
import numpy as np

import afkit.kernels as kernels


def _list_parts(array: ak.Array) -> tuple[np.ndarray, Any] | None:
    """(offsets from 0, content layout) of a one-level list array; None for other layouts.

    The event model's per-object fields are exactly this (a ``ListOffsetArray`` over a
    numeric or optional-numeric content), so the columns come straight from the buffers
    instead of through generic array operations.
    """
    layout = array.layout
    if not isinstance(layout, ak.contents.ListOffsetArray):
        return None
    offsets = np.asarray(layout.offsets.data, dtype=np.int64)
    return offsets - offsets[0], (layout.content, int(offsets[0]), int(offsets[-1]))


def _flat(array: ak.Array, dtype: Any) -> np.ndarray:
    parts = _list_parts(array)
    if parts is not None and isinstance(parts[1][0], ak.contents.NumpyArray):
        content, start, stop = parts[1]
        return np.ascontiguousarray(np.asarray(content.data)[start:stop], dtype=dtype)
    return np.ascontiguousarray(ak.to_numpy(ak.flatten(array, axis=1)), dtype=dtype)


def _flat_or_nan(array: ak.Array) -> np.ndarray:
    """Flattened float64 values of a list of optional numbers, NaN where missing."""
    parts = _list_parts(array)
    if parts is not None:
        option, start, stop = parts[1]
        if isinstance(option, ak.contents.IndexedOptionArray) and isinstance(
            option.content, ak.contents.NumpyArray
        ):
            index = np.asarray(option.index.data)[start:stop]
            values = np.asarray(option.content.data)
            out = np.full(len(index), np.nan)
            present = index >= 0
            out[present] = values[index[present]]
            return out
    return _flat(ak.fill_none(array, np.nan), np.float64)


def _offsets(array: ak.Array) -> np.ndarray:
    parts = _list_parts(array)
    if parts is not None:
        return parts[0]
    counts = ak.to_numpy(ak.num(array, axis=1)).astype(np.int64)
    offsets = np.zeros(len(counts) + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    return offsets


@dataclass(frozen=True)
class ChunkColumns:
    """Per-event and per-object arrays of one chunk (NumPy on the CPU, CuPy on a GPU)."""

    event_number: Any  # uint64, per event
    mc_weight: Any | None  # float64 mcEventWeights[0], per event; None for data
    electron_offsets: Any
    electron_pt: Any
    electron_eta: Any
    electron_tight: Any  # bool: DFCommonElectronsLHTight == 1
    muon_offsets: Any
    muon_pt: Any
    muon_eta: Any
    muon_quality: Any  # int64
    jet_offsets: Any  # over the full jet container (positions key the smearing)
    jet_pt: Any
    jet_eta: Any
    jet_phi: Any
    jet_m: Any
    jet_jvt: Any  # bool: NNJvtPass == 1
    jet_pb: Any  # DL1dv01 probabilities through btaggingLink (float64, NaN if no link)
    jet_pc: Any
    jet_pu: Any

    @property
    def n_events(self) -> int:
        return len(self.event_number)

    @property
    def n_jets(self) -> int:
        return len(self.jet_pt)

    @classmethod
    def from_events(cls, events: Any, *, mc: bool) -> ChunkColumns:
        """Read the AGC columns of ``events`` (an :class:`afkit.Events` chunk in GeV).

        For a whole chunk as :func:`afkit.read` made it, the columns come straight from its
        :class:`~afkit.events.source.EventSource` — the very buffers the event model's
        fields are made of — without building awkward layouts; for any other array (a
        slice or mask of a chunk, a user-made array) through the event model's fields.
        """
        source = getattr(events, "chunk_source", None)
        if source is not None and source.scale:
            return _assemble(cls, _SourceReader(source), mc=mc)
        return _assemble(cls, _ModelReader(events), mc=mc)

    @classmethod
    def empty(cls, *, mc: bool) -> ChunkColumns:
        """Columns of zero events, with the dtypes of real ones (to warm kernels up)."""
        offsets = np.zeros(1, np.int64)
        real = np.zeros(0, np.float64)
        return cls(
            event_number=np.zeros(0, np.uint64),
            mc_weight=real if mc else None,
            electron_offsets=offsets,
            electron_pt=real,
            electron_eta=real,
            electron_tight=np.zeros(0, bool),
            muon_offsets=offsets,
            muon_pt=real,
            muon_eta=real,
            muon_quality=np.zeros(0, np.int64),
            jet_offsets=offsets,
            jet_pt=real,
            jet_eta=real,
            jet_phi=real,
            jet_m=real,
            jet_jvt=np.zeros(0, bool),
            jet_pb=real,
            jet_pc=real,
            jet_pu=real,
        )

    def to(self, backend: str) -> ChunkColumns:
        """The same columns on ``backend`` ("cpu" or "cuda"), copied explicitly."""
        moved = {
            f.name: None
            if getattr(self, f.name) is None
            else kernels.to_device(getattr(self, f.name), backend)
            for f in fields(self)
        }
        return replace(self, **moved)

    @property
    def nbytes(self) -> int:
        """Bytes held by the columns (what a host-to-device copy moves)."""
        return sum(
            int(getattr(self, f.name).nbytes)
            for f in fields(self)
            if getattr(self, f.name) is not None
        )


class _ModelReader:
    """The AGC's inputs through the event model's fields (any array of events)."""

    def __init__(self, events: Any) -> None:
        self.events = events
        self._btag = events.Jets.btagging

    def event_number(self) -> np.ndarray:
        return np.asarray(ak.to_numpy(self.events.EventInfo.eventNumber), dtype=np.uint64)

    def mc_weight(self) -> np.ndarray:
        weights = self.events.EventInfo.mcEventWeights[:, 0]
        return np.asarray(ak.to_numpy(weights), dtype=np.float64)

    def offsets(self, collection: str) -> np.ndarray:
        return _offsets(self.events[collection].pt)

    def values(self, collection: str, name: str, dtype: Any) -> np.ndarray:
        return _flat(self.events[collection][name], dtype)

    def probability(self, name: str) -> np.ndarray:
        return _flat_or_nan(self._btag[name])


class _SourceReader:
    """The same inputs straight from a whole chunk's :class:`EventSource`: the calls the
    event model's buffers are made of, without building awkward layouts."""

    def __init__(self, source: Any) -> None:
        self.source = source
        self.probability = _btagging(source)

    def event_number(self) -> np.ndarray:
        return np.asarray(self.source.scalar("EventInfo", "eventNumber"), dtype=np.uint64)

    def mc_weight(self) -> np.ndarray:
        offsets, weights = self.source.event_list("EventInfo", "mcEventWeights")
        counts = np.diff(offsets)
        if len(counts) and counts.min() < 1:
            from afkit.exceptions import DecodeError

            entry = self.source.reader.entry_start + int(np.argmin(counts))
            raise DecodeError(
                f"EventInfo.mcEventWeights is empty in entry {entry}: no nominal MC weight",
                file=self.source.file,
            )
        return np.asarray(weights[offsets[:-1]], dtype=np.float64)

    def offsets(self, collection: str) -> np.ndarray:
        return self.source.offsets(collection)  # type: ignore[no-any-return]

    def values(self, collection: str, name: str, dtype: Any) -> np.ndarray:
        return np.ascontiguousarray(self.source.list_content(collection, name), dtype=dtype)


def _assemble(cls: type[ChunkColumns], reader: Any, *, mc: bool) -> ChunkColumns:
    """The AGC columns (spec §2) from either reader; the two give equal values (tested)."""
    return cls(
        event_number=reader.event_number(),
        mc_weight=reader.mc_weight() if mc else None,
        electron_offsets=reader.offsets("Electrons"),
        electron_pt=reader.values("Electrons", "pt", np.float64),
        electron_eta=reader.values("Electrons", "eta", np.float64),
        electron_tight=reader.values("Electrons", "DFCommonElectronsLHTight", np.int64) == 1,
        muon_offsets=reader.offsets("Muons"),
        muon_pt=reader.values("Muons", "pt", np.float64),
        muon_eta=reader.values("Muons", "eta", np.float64),
        muon_quality=reader.values("Muons", "quality", np.int64),
        jet_offsets=reader.offsets("Jets"),
        jet_pt=reader.values("Jets", "pt", np.float64),
        jet_eta=reader.values("Jets", "eta", np.float64),
        jet_phi=reader.values("Jets", "phi", np.float64),
        jet_m=reader.values("Jets", "m", np.float64),
        jet_jvt=reader.values("Jets", "NNJvtPass", np.int64) == 1,
        jet_pb=reader.probability("DL1dv01_pb"),
        jet_pc=reader.probability("DL1dv01_pc"),
        jet_pu=reader.probability("DL1dv01_pu"),
    )


def _btagging(source: Any) -> Any:
    """A getter of a field of each jet's b-tagging object (through the link the model
    resolves as ``Jets.btagging``), NaN where the link cannot be followed."""
    from afkit.events.linking import target_fields
    from afkit.exceptions import MissingBranchError
    from afkit.io.physlite.schema import resolved_link_name

    jets = source.collection("Jets")
    link = next(
        (
            f
            for f in jets.fields.values()
            if f.kind == "link" and resolved_link_name(f.name) == "btagging"
        ),
        None,
    )
    if link is None:
        raise MissingBranchError(
            "field", "btagging", jets.fields, file=source.file, where="collection 'Jets'"
        )
    resolver = source.resolver("Jets", link.name)
    targets = target_fields(source.schema, resolver.candidates, source.scale)
    index = resolver.index()

    def probability(name: str) -> np.ndarray:
        if name not in targets:
            raise MissingBranchError(
                "field", name, targets, file=source.file, where="Jets.btagging"
            )
        out: np.ndarray = kernels.gather(index, resolver.content(name, targets[name]))
        return out  # NaN where a jet has no link

    return probability
