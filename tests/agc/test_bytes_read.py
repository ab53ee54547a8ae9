"""The AGC reads the branches spec §2 names and nothing else (issue: bytes read ≤ 1.02×).

The needed list is written out here from the spec, not taken from the engine; the needed
bytes are the branches' baskets on disk as uproot reports them (an independent count).
"""

from __future__ import annotations

import uproot

import afkit
from afkit.agc import AGCProcessor
from afkit.fileset import Fileset

#: Spec §2 (objects, the link into BTagging and its three probabilities) and §1 (the event
#: number keys the smearing; MC weights normalise), as the TTree stores them.
NEEDED = [
    "EventInfoAuxDyn.eventNumber",
    "AnalysisElectronsAuxDyn.pt",
    "AnalysisElectronsAuxDyn.eta",
    "AnalysisElectronsAuxDyn.DFCommonElectronsLHTight",
    "AnalysisMuonsAuxDyn.pt",
    "AnalysisMuonsAuxDyn.eta",
    "AnalysisMuonsAuxDyn.quality",
    "AnalysisJetsAuxDyn.pt",
    "AnalysisJetsAuxDyn.eta",
    "AnalysisJetsAuxDyn.phi",
    "AnalysisJetsAuxDyn.m",
    "AnalysisJetsAuxDyn.NNJvtPass",
    "AnalysisJetsAuxDyn.btaggingLink.m_persKey",
    "AnalysisJetsAuxDyn.btaggingLink.m_persIndex",
    "BTagging_AntiKt4EMPFlowAuxDyn.DL1dv01_pb",
    "BTagging_AntiKt4EMPFlowAuxDyn.DL1dv01_pc",
    "BTagging_AntiKt4EMPFlowAuxDyn.DL1dv01_pu",
]
MC_ONLY = ["EventInfoAuxDyn.mcEventWeights"]


def test_the_agc_reads_only_the_branches_it_needs(agc_datasets: dict[float, Fileset]) -> None:
    fileset = agc_datasets[1.0]
    needed = 0
    for sample in fileset.samples.values():
        names = NEEDED + ([] if sample.is_data else MC_ONLY)
        for entry in sample.files:
            with uproot.open(fileset.resolve(entry)) as handle:
                tree = handle["CollectionTree"]
                needed += sum(int(tree[name].compressed_bytes) for name in names)
    _, report = afkit.run(AGCProcessor(), fileset, executor="iterative")
    assert report.complete
    assert needed <= report.bytes_read <= 1.02 * needed, report.bytes_read / needed
