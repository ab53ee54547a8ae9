"""The same afkit API on CMS NanoAOD.

Run: python examples/read_nanoaod.py [FILE]
"""

from __future__ import annotations

import sys
from pathlib import Path

import awkward as ak

import afkit

DEFAULT = (
    Path(__file__).resolve().parents[1] / "tests" / "data" / "nanoAOD_2015_CMS_Open_Data_ttbar.root"
)


def main(path: str) -> None:
    events = afkit.read(path)
    jets = events.Jet[(events.Jet.pt > 30) & (abs(events.Jet.eta) < 2.4)]
    muons = events.Muon[(events.Muon.pt > 30) & events.Muon.tightId]
    print(f"{len(events)} events; run {ak.to_list(events.run[:1])}")
    print(
        "events with >= 4 jets and 1 muon:", int(ak.sum((ak.num(jets) >= 4) & (ak.num(muons) == 1)))
    )


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else str(DEFAULT))
