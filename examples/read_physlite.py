"""Read a PHYSLITE file with afkit: objects, b-tagging through links, event weights.

Run: python examples/read_physlite.py [FILE]   (default: the r24 development file)
"""

from __future__ import annotations

import sys
from pathlib import Path

import awkward as ak
import numpy as np

import afkit

DEFAULT = Path(__file__).resolve().parents[1] / "tests" / "data" / "uproot-issue-951.root"


def main(path: str) -> None:
    events = afkit.read(path)
    print(f"{len(events)} events from {events.file}")

    jets = events.Jets
    good = jets[(jets.pt > 30) & (abs(jets.eta) < 2.5) & (jets.NNJvtPass == 1)]
    btag = good.btagging  # follows AnalysisJetsAuxDyn.btaggingLink into BTagging_AntiKt4EMPFlow
    discriminant = np.log(btag.DL1dv01_pb / (0.018 * btag.DL1dv01_pc + 0.982 * btag.DL1dv01_pu))
    n_b = ak.sum(discriminant > 2.456, axis=1)
    print("selected jets per event:", ak.to_list(ak.num(good))[:10])
    print("b-tagged jets per event:", ak.to_list(n_b)[:10])

    two = good[ak.num(good) >= 2]
    print("leading dijet mass [GeV]:", np.round(ak.to_numpy((two[:, 0] + two[:, 1]).mass)[:5], 2))

    weights = events.EventInfo.mcEventWeights[:, 0]
    print("sum of nominal MC weights:", float(ak.sum(weights)))

    tops = events.TruthTop
    print("top children pdgIds (first event):", ak.to_list(tops.children.pdgId[0]))
    print(
        "compressed bytes read:", events.bytes_read, "from", len(events.branches_read), "branches"
    )


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else str(DEFAULT))
