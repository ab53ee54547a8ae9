"""Which branches a generated PHYSLITE file has, and how a generated chunk fills them.

Names, C++ types and units follow real release-24 PHYSLITE (``AnalysisJetsAuxDyn.pt`` is a
``std::vector<float>`` in MeV, ``NNJvtPass`` a ``std::vector<char>``, muon ``quality`` a
``std::vector<unsigned char>``, ``btaggingLink`` a split ``vector<ElementLink<...>>`` with the
real StoreGate key of ``BTagging_AntiKt4EMPFlow``, ...).  Besides the columns the AGC reads,
each object collection gets *filler* variables with realistic value distributions (quantised
floats, small integers, flags), and tracks and vertices are added, so that reading the AGC
columns touches a few per cent of the file, as with real PHYSLITE.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from afkit.datagen.physics import Chunk, btag_probabilities
from afkit.datagen.rootwriter import Column
from afkit.io.physlite.storegate import CONTAINER_CLIDS, storegate_key

BTAG_CONTAINER = "BTagging_AntiKt4EMPFlow"
BTAG_KEY = storegate_key(BTAG_CONTAINER, CONTAINER_CLIDS["xAOD::BTagging"])
MEV = 1000.0

#: collection -> (container, interface class, number of filler floats, ints, flags per object)
FILLER = {
    "jets": ("AnalysisJets", "DataVector<xAOD::Jet_v1>", 36, 8, 8),
    "electrons": ("AnalysisElectrons", "DataVector<xAOD::Electron_v1>", 44, 8, 12),
    "muons": ("AnalysisMuons", "DataVector<xAOD::Muon_v1>", 44, 12, 8),
    "photons": ("AnalysisPhotons", "DataVector<xAOD::Photon_v1>", 26, 6, 8),
    "taus": ("AnalysisTauJets", "DataVector<xAOD::TauJet_v3>", 30, 8, 8),
}
#: tracks and calorimeter clusters per event (Poisson means) and their filler variables
#: storage thresholds [GeV]: objects below are not reconstructed/kept, as in PHYSLITE
#: Kinematic fields of each collection (muons store no ``m``, as in real PHYSLITE).
KINEMATICS = ("pt", "eta", "phi", "m", "charge")
#: Per generated parton kind (physics.PARTON_*): the AGC truth label (spec §8.8-8.9) ...
PARTON_LABEL = np.array([0, 24, 6, -6, 0, 0, 0, 0], np.int32)
#: ... and c of the track count N ~ Poisson(c ln(pt / GeV)) (quark- or gluon-like jets).
NTRACKS_SCALE = np.array([3.2, 2.0, 2.4, 2.4, 1.2, 2.0, 2.4, 0.7])
MIN_PT = {"jets": 15.0, "electrons": 4.5, "muons": 3.0, "photons": 10.0, "taus": 15.0}
TRACKS_PER_EVENT, TRACK_FLOATS, TRACK_COUNTS = 180, 20, 8
CLUSTERS_PER_EVENT, CLUSTER_FLOATS = 80, 14
VERTEX_FLOATS = 6


def columns(*, is_data: bool) -> list[Column]:
    """Every branch of a generated file (MC files also carry the MC-only EventInfo fields)."""
    out = [
        Column("EventInfo", "interface", target="xAOD::EventInfo_v1"),
        Column("EventInfoAuxDyn.eventNumber", "scalar", "uint64"),
        Column("EventInfoAuxDyn.runNumber", "scalar", "uint32"),
        Column("EventInfoAuxDyn.lumiBlock", "scalar", "uint32"),
        Column("EventInfoAuxDyn.averageInteractionsPerCrossing", "scalar", "float32"),
        Column("EventInfoAuxDyn.actualInteractionsPerCrossing", "scalar", "float32"),
    ]
    if not is_data:
        out += [
            Column("AnalysisJetsAuxDyn.AGCPartonLabel", "vector", "int32"),
            Column("EventInfoAuxDyn.mcChannelNumber", "scalar", "uint32"),
            Column("EventInfoAuxDyn.mcEventNumber", "scalar", "uint64"),
            Column("EventInfoAuxDyn.mcEventWeights", "vector", "float32"),
        ]
    for key, (container, cls, floats, ints, flags) in FILLER.items():
        out.append(Column(container, "interface", target=cls))
        aux = f"{container}AuxDyn."
        kinematics = ("pt", "eta", "phi", "charge") if key == "muons" else KINEMATICS
        out += [Column(aux + f, "vector", "float32") for f in kinematics]
        out += [Column(aux + f"fillerF{i}", "vector", "float32") for i in range(floats)]
        out += [Column(aux + f"fillerI{i}", "vector", "int32") for i in range(ints)]
        out += [Column(aux + f"fillerB{i}", "vector", "int8") for i in range(flags)]
    out += [
        Column("AnalysisElectronsAuxDyn.DFCommonElectronsLHTight", "vector", "int8"),
        Column("AnalysisMuonsAuxDyn.quality", "vector", "uint8"),
        Column("AnalysisJetsAuxDyn.NNJvtPass", "vector", "int8"),
        Column("AnalysisJetsAuxDyn.HadronConeExclTruthLabelID", "vector", "int32"),
        Column("AnalysisJetsAuxDyn.DFCommonJets_QGTagger_NTracks", "vector", "int32"),
        Column("AnalysisJetsAuxDyn.btaggingLink", "link", target="BTagging_v1"),
        Column(BTAG_CONTAINER, "interface", target="DataVector<xAOD::BTagging_v1>"),
        Column(f"{BTAG_CONTAINER}AuxDyn.DL1dv01_pb", "vector", "float32"),
        Column(f"{BTAG_CONTAINER}AuxDyn.DL1dv01_pc", "vector", "float32"),
        Column(f"{BTAG_CONTAINER}AuxDyn.DL1dv01_pu", "vector", "float32"),
        Column(f"{BTAG_CONTAINER}AuxDyn.GN2v01_pb", "vector", "float32"),
        Column(f"{BTAG_CONTAINER}AuxDyn.GN2v01_pc", "vector", "float32"),
        Column(f"{BTAG_CONTAINER}AuxDyn.GN2v01_pu", "vector", "float32"),
        Column("MET_Core_AnalysisMET", "interface", target="xAOD::MissingETContainer_v1"),
        Column("MET_Core_AnalysisMETAuxDyn.mpx", "vector", "float32"),
        Column("MET_Core_AnalysisMETAuxDyn.mpy", "vector", "float32"),
        Column("MET_Core_AnalysisMETAuxDyn.sumet", "vector", "float32"),
        Column("MET_Core_AnalysisMETAuxDyn.source", "vector", "uint64"),
        Column("InDetTrackParticles", "interface", target="DataVector<xAOD::TrackParticle_v1>"),
        Column("PrimaryVertices", "interface", target="DataVector<xAOD::Vertex_v1>"),
    ]
    for name in ("phi", "theta", "qOverP", "d0", "z0", "vz"):
        out.append(Column(f"InDetTrackParticlesAuxDyn.{name}", "vector", "float32"))
    out += [
        Column(f"InDetTrackParticlesAuxDyn.fillerF{i}", "vector", "float32")
        for i in range(TRACK_FLOATS)
    ]
    out += [
        Column(f"InDetTrackParticlesAuxDyn.hitCount{i}", "vector", "uint8")
        for i in range(TRACK_COUNTS)
    ]
    out.append(Column("egammaClusters", "interface", target="DataVector<xAOD::CaloCluster_v1>"))
    for name in ("calE", "calEta", "calPhi", "calM"):
        out.append(Column(f"egammaClustersAuxDyn.{name}", "vector", "float32"))
    out += [
        Column(f"egammaClustersAuxDyn.fillerF{i}", "vector", "float32")
        for i in range(CLUSTER_FLOATS)
    ]
    for name in ("x", "y", "z"):
        out.append(Column(f"PrimaryVerticesAuxDyn.{name}", "vector", "float32"))
    out += [
        Column(f"PrimaryVerticesAuxDyn.fillerF{i}", "vector", "float32")
        for i in range(VERTEX_FLOATS)
    ]
    out.append(Column("PrimaryVerticesAuxDyn.vertexType", "vector", "uint8"))
    return out


def _quantised(values: NDArray[np.float64], bits: int = 10) -> NDArray[np.float32]:
    """Round to ``bits`` mantissa bits, as Athena's float compression of many variables does."""
    mantissa, exponent = np.frexp(values)
    return np.ldexp(np.round(mantissa * (1 << bits)) / (1 << bits), exponent).astype(np.float32)


def _decoration(
    rng: np.random.Generator, scale: NDArray[np.float64], bits: int = 7
) -> NDArray[np.float32]:
    """A filler decoration: often exactly zero (not computed/below threshold), else quantised."""
    values = np.abs(rng.normal(scale, np.abs(scale) * 0.5 + 1.0))
    values[rng.uniform(0, 1, len(values)) < 0.45] = 0.0
    return _quantised(values, bits)


def fill(
    rng: np.random.Generator,
    chunk: Chunk,
    *,
    first_event: int,
    run: int,
    dsid: int,
    weights: NDArray[np.float64] | None,
    pileup_mu: float = 35.0,
    ml_rng: np.random.Generator | None = None,
) -> dict[str, object]:
    """Branch arrays for ``chunk`` (keys as in :func:`columns`).

    ``ml_rng`` draws the AGC ML step's jet track counts (spec §8.9): a stream of its own, so
    that adding them changed no other branch (default: one seeded from ``first_event``)."""
    if ml_rng is None:
        ml_rng = np.random.default_rng([first_event, 0x5A1])
    n = chunk.n
    data: dict[str, object] = {
        "EventInfoAuxDyn.eventNumber": np.arange(first_event, first_event + n, dtype=np.uint64),
        "EventInfoAuxDyn.runNumber": np.full(n, run, np.uint32),
        "EventInfoAuxDyn.lumiBlock": (
            np.arange(first_event, first_event + n) // 2000 % 5000 + 1
        ).astype(np.uint32),
    }
    mu = np.clip(rng.normal(pileup_mu, 8.0, n), 0, None)
    data["EventInfoAuxDyn.averageInteractionsPerCrossing"] = _quantised(np.round(mu * 100) / 100)
    data["EventInfoAuxDyn.actualInteractionsPerCrossing"] = _quantised(np.floor(mu) + 0.5)
    if weights is not None:
        data["EventInfoAuxDyn.mcChannelNumber"] = np.full(n, dsid, np.uint32)
        data["EventInfoAuxDyn.mcEventNumber"] = np.arange(
            first_event, first_event + n, dtype=np.uint64
        )
        # a few generator weights per event; [0] is the nominal one the AGC uses
        extra = weights[:, None] * rng.normal(1.0, 0.05, (n, 3))
        all_weights = np.concatenate([weights[:, None], extra], axis=1)
        data["EventInfoAuxDyn.mcEventWeights"] = (np.arange(n + 1) * 4, all_weights.ravel())

    visible_px = np.zeros(n)
    visible_py = np.zeros(n)
    sumet = np.zeros(n)
    for key, (container, _, floats, ints, flags) in FILLER.items():
        objects = getattr(chunk, key)
        offsets, values = (
            objects.finish(n, min_pt=MIN_PT[key])
            if objects.event
            else (np.zeros(n + 1, np.int64), {})
        )
        k = int(offsets[-1])
        pt = values.get("pt", np.zeros(0))
        eta = values.get("eta", np.zeros(0))
        phi = (values.get("phi", np.zeros(0)) + np.pi) % (2 * np.pi) - np.pi
        mass = values.get("m", np.zeros(k) if key != "muons" else np.full(k, 0.10566))
        if key == "electrons":
            mass = np.full(k, 0.000511)
        aux = f"{container}AuxDyn."
        data[aux + "pt"] = (offsets, (pt * MEV).astype(np.float32))
        data[aux + "eta"] = (offsets, eta.astype(np.float32))
        data[aux + "phi"] = (offsets, phi.astype(np.float32))
        if key != "muons":
            data[aux + "m"] = (offsets, (mass * MEV).astype(np.float32))
        data[aux + "charge"] = (offsets, values.get("charge", np.zeros(k)).astype(np.float32))
        for i in range(floats):  # isolation-, shower- and calibration-like quantities
            data[aux + f"fillerF{i}"] = (
                offsets,
                _decoration(rng, pt * MEV * (0.02 + 0.01 * (i % 5))),
            )
        for i in range(ints):
            data[aux + f"fillerI{i}"] = (offsets, rng.poisson(1 + i % 4, k).astype(np.int32))
        for i in range(flags):
            data[aux + f"fillerB{i}"] = (offsets, (rng.uniform(0, 1, k) < 0.85).astype(np.int8))
        if key == "electrons":
            data[aux + "DFCommonElectronsLHTight"] = (
                offsets,
                values.get("id", np.zeros(k)).astype(np.int8),
            )
        elif key == "muons":
            data[aux + "quality"] = (offsets, values.get("id", np.zeros(k)).astype(np.uint8))
        elif key == "jets":
            pileup = values.get("pileup", np.zeros(k)) > 0
            passes = np.where(pileup, rng.uniform(0, 1, k) < 0.08, rng.uniform(0, 1, k) < 0.97)
            passes |= pt > 60.0
            data[aux + "NNJvtPass"] = (offsets, passes.astype(np.int8))
            flavour = values.get("flavour", np.zeros(k))
            data[aux + "HadronConeExclTruthLabelID"] = (offsets, flavour.astype(np.int32))
            parton = values.get("parton", np.zeros(k)).astype(np.int64)
            tracks = ml_rng.poisson(NTRACKS_SCALE[parton] * np.log(pt))
            data[aux + "DFCommonJets_QGTagger_NTracks"] = (offsets, tracks.astype(np.int32))
            if weights is not None:  # truth: MC only
                data[aux + "AGCPartonLabel"] = (offsets, PARTON_LABEL[parton])
            index = np.arange(k) - np.repeat(offsets[:-1], np.diff(offsets))
            data[aux + "btaggingLink"] = (
                offsets,
                np.full(k, BTAG_KEY, np.uint32),
                index.astype(np.uint32),
            )
            btag = f"{BTAG_CONTAINER}AuxDyn."
            for tagger, smear in (("DL1dv01", 0.0), ("GN2v01", 0.3)):
                pb, pc, pu = btag_probabilities(rng, np.where(flavour == 15, 0.0, flavour))
                if smear:
                    pb = np.clip(pb * rng.normal(1.0, smear, k), 1e-6, 1 - 1e-6)
                    pu = np.clip(1 - pb - pc, 1e-6, None)
                data[btag + f"{tagger}_pb"] = (offsets, pb.astype(np.float32))
                data[btag + f"{tagger}_pc"] = (offsets, pc.astype(np.float32))
                data[btag + f"{tagger}_pu"] = (offsets, pu.astype(np.float32))
        event = np.repeat(np.arange(n), np.diff(offsets))
        if k and key != "taus":
            np.add.at(visible_px, event, pt * np.cos(phi))
            np.add.at(visible_py, event, pt * np.sin(phi))
            np.add.at(sumet, event, pt)

    # MET terms: (total, jets+leptons, soft) as in MET_Core; resolution ~ 0.5 sqrt(sumet)
    soft_x, soft_y = (
        rng.normal(0, 0.5 * np.sqrt(sumet + 100.0)),
        rng.normal(0, 0.5 * np.sqrt(sumet + 100.0)),
    )
    met_x, met_y = -visible_px + soft_x, -visible_py + soft_y
    terms = 3
    offsets = np.arange(n + 1) * terms
    data["MET_Core_AnalysisMETAuxDyn.mpx"] = (
        offsets,
        (np.stack([met_x, -visible_px, soft_x], 1).ravel() * MEV).astype(np.float32),
    )
    data["MET_Core_AnalysisMETAuxDyn.mpy"] = (
        offsets,
        (np.stack([met_y, -visible_py, soft_y], 1).ravel() * MEV).astype(np.float32),
    )
    data["MET_Core_AnalysisMETAuxDyn.sumet"] = (
        offsets,
        (np.stack([sumet + 20, sumet, np.full(n, 20.0)], 1).ravel() * MEV).astype(np.float32),
    )
    data["MET_Core_AnalysisMETAuxDyn.source"] = (
        offsets,
        np.tile(np.array([0x10000, 0x1000, 0x20000], np.uint64), n),
    )

    # tracks, clusters and vertices: the bulk of the bytes, never read by the AGC
    n_tracks = rng.poisson(TRACKS_PER_EVENT, n)
    offsets = np.concatenate([[0], np.cumsum(n_tracks)])
    k = int(offsets[-1])
    track = "InDetTrackParticlesAuxDyn."
    data[track + "phi"] = (offsets, rng.uniform(-np.pi, np.pi, k).astype(np.float32))
    data[track + "theta"] = (offsets, rng.uniform(0.1, 3.0, k).astype(np.float32))
    data[track + "qOverP"] = (
        offsets,
        _quantised(rng.choice([-1, 1], k) / (1000 + rng.exponential(5000, k))),
    )
    data[track + "d0"] = (offsets, _quantised(rng.normal(0, 0.05, k)))
    data[track + "z0"] = (offsets, _quantised(rng.normal(0, 40.0, k)))
    data[track + "vz"] = (offsets, _quantised(rng.normal(0, 35.0, k)))
    for i in range(TRACK_FLOATS):
        data[track + f"fillerF{i}"] = (offsets, _decoration(rng, np.full(k, 0.01 * (i + 1)), 6))
    for i in range(TRACK_COUNTS):
        data[track + f"hitCount{i}"] = (offsets, rng.poisson(1 + i % 5, k).astype(np.uint8))
    n_clusters = rng.poisson(CLUSTERS_PER_EVENT, n)
    offsets = np.concatenate([[0], np.cumsum(n_clusters)])
    k = int(offsets[-1])
    cluster = "egammaClustersAuxDyn."
    energy = 500.0 + rng.exponential(8000.0, k)
    data[cluster + "calE"] = (offsets, _quantised(energy, 12))
    data[cluster + "calEta"] = (offsets, _quantised(rng.uniform(-2.5, 2.5, k), 12))
    data[cluster + "calPhi"] = (offsets, _quantised(rng.uniform(-np.pi, np.pi, k), 12))
    data[cluster + "calM"] = (offsets, np.zeros(k, np.float32))
    for i in range(CLUSTER_FLOATS):
        data[cluster + f"fillerF{i}"] = (offsets, _decoration(rng, energy * 0.01 * (i + 1), 6))
    n_vertices = 1 + rng.poisson(np.clip(mu, 1, None) * 0.6)
    offsets = np.concatenate([[0], np.cumsum(n_vertices)])
    k = int(offsets[-1])
    vertex = "PrimaryVerticesAuxDyn."
    data[vertex + "x"] = (offsets, _quantised(rng.normal(-0.5, 0.01, k)))
    data[vertex + "y"] = (offsets, _quantised(rng.normal(-0.5, 0.01, k)))
    data[vertex + "z"] = (offsets, _quantised(rng.normal(0, 35.0, k)))
    for i in range(VERTEX_FLOATS):
        data[vertex + f"fillerF{i}"] = (offsets, _quantised(np.abs(rng.normal(1.0 + i, 0.3, k)), 8))
    first = np.zeros(k, np.uint8)
    first[offsets[:-1]] = 1
    data[vertex + "vertexType"] = (offsets, np.where(first == 1, 1, 3).astype(np.uint8))
    return data
