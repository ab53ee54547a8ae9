"""The flat columns the AGC needs from one chunk of PHYSLITE events, on CPU or GPU.

:meth:`ChunkColumns.from_events` asks afkit's column view (:func:`afkit.events.columns`)
for exactly the branches of spec §2 — GeV as float64 = float64(stored MeV) / 1000; each jet's
DL1dv01 probabilities through its resolved ``btaggingLink``, NaN where a link cannot be
followed — and names them for the compute stage.  :meth:`ChunkColumns.to` copies them to a
device explicitly; the compute stage after it never touches awkward.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np

import afkit.kernels as kernels
from afkit.events import columns

#: What the AGC reads (spec §2), as a column-view request.
REQUEST: dict[str, list[str]] = {
    "EventInfo": ["eventNumber"],
    "Electrons": ["pt", "eta", "DFCommonElectronsLHTight"],
    "Muons": ["pt", "eta", "quality"],
    "Jets": [
        "pt",
        "eta",
        "phi",
        "m",
        "NNJvtPass",
        "btagging.DL1dv01_pb",
        "btagging.DL1dv01_pc",
        "btagging.DL1dv01_pu",
    ],
}
#: What MC chunks read besides.
MC_REQUEST: dict[str, list[str]] = {"EventInfo": ["mcEventWeights[0]"]}
#: What the ML step (spec §8) reads besides: the lepton's direction and mass, jet track counts.
ML_REQUEST: dict[str, list[str]] = {
    "Electrons": ["phi", "m"],
    "Muons": ["phi"],
    "Jets": ["DFCommonJets_QGTagger_NTracks"],
}
#: The jets' truth labels (MC only): what training the ML step's models reads (spec §8.8).
LABEL_REQUEST: dict[str, list[str]] = {"Jets": ["AGCPartonLabel"]}


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
    # the ML step's (spec §8), None unless asked for
    electron_phi: Any = None
    electron_m: Any = None
    muon_phi: Any = None
    jet_ntrk: Any = None  # float64 of DFCommonJets_QGTagger_NTracks
    jet_label: Any = None  # int64 AGCPartonLabel (training only)

    @property
    def n_events(self) -> int:
        return len(self.event_number)

    @property
    def n_jets(self) -> int:
        return len(self.jet_pt)

    @classmethod
    def from_events(
        cls,
        events: Any,
        *,
        mc: bool,
        ml: bool = False,
        labels: bool = False,
        release: bool = False,
    ) -> ChunkColumns:
        """Read the AGC columns of ``events`` (an :class:`afkit.Events` chunk in GeV) through
        the column view: straight from the chunk's buffers for a whole chunk as read, through
        the event model's fields for any other array of events.  ``ml`` adds what the ML
        step reads, ``labels`` the jets' truth labels.  ``release`` frees the chunk's decoded
        branches (:meth:`afkit.Events.release`) once the columns hold what they need, before
        they are converted to float64: a worker's peak memory is then the columns, not the
        columns and the branches they came from."""
        request = {name: list(fields_) for name, fields_ in REQUEST.items()}
        if mc:
            request["EventInfo"] += MC_REQUEST["EventInfo"]
        for extra, wanted in ((ML_REQUEST, ml), (LABEL_REQUEST, labels)):
            if wanted:
                for name, names in extra.items():
                    request[name] += names
        cols = columns(events, request)
        if release and hasattr(events, "release"):
            events.release()
        info, electrons, muons, jets = cols.EventInfo, cols.Electrons, cols.Muons, cols.Jets
        ml_fields = {}
        if ml:
            ml_fields = {
                "electron_phi": np.ascontiguousarray(electrons.phi, np.float64),
                "electron_m": np.ascontiguousarray(electrons.m, np.float64),
                "muon_phi": np.ascontiguousarray(muons.phi, np.float64),
                "jet_ntrk": np.ascontiguousarray(jets.DFCommonJets_QGTagger_NTracks, np.float64),
            }
        if labels:
            ml_fields["jet_label"] = np.ascontiguousarray(jets.AGCPartonLabel, np.int64)
        return cls(
            **ml_fields,
            event_number=np.asarray(info.eventNumber, dtype=np.uint64),
            mc_weight=np.asarray(info["mcEventWeights[0]"], np.float64) if mc else None,
            electron_offsets=electrons.offsets,
            electron_pt=np.ascontiguousarray(electrons.pt, np.float64),
            electron_eta=np.ascontiguousarray(electrons.eta, np.float64),
            electron_tight=electrons.DFCommonElectronsLHTight == 1,
            muon_offsets=muons.offsets,
            muon_pt=np.ascontiguousarray(muons.pt, np.float64),
            muon_eta=np.ascontiguousarray(muons.eta, np.float64),
            muon_quality=np.ascontiguousarray(muons.quality, np.int64),
            jet_offsets=jets.offsets,
            jet_pt=np.ascontiguousarray(jets.pt, np.float64),
            jet_eta=np.ascontiguousarray(jets.eta, np.float64),
            jet_phi=np.ascontiguousarray(jets.phi, np.float64),
            jet_m=np.ascontiguousarray(jets.m, np.float64),
            jet_jvt=jets.NNJvtPass == 1,
            jet_pb=jets["btagging.DL1dv01_pb"],
            jet_pc=jets["btagging.DL1dv01_pc"],
            jet_pu=jets["btagging.DL1dv01_pu"],
        )

    @classmethod
    def empty(cls, *, mc: bool, ml: bool = False) -> ChunkColumns:
        """Columns of zero events, with the dtypes of real ones (to warm kernels up)."""
        offsets = np.zeros(1, np.int64)
        real = np.zeros(0, np.float64)
        ml_fields = (
            {"electron_phi": real, "electron_m": real, "muon_phi": real, "jet_ntrk": real}
            if ml
            else {}
        )
        return cls(
            **ml_fields,
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
