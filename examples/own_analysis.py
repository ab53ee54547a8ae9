"""Your own analysis, fast: a dilepton + jets selection on afkit's public API, CPU or GPU.

Run on any PHYSLITE file:  python examples/own_analysis.py FILE [--backend cuda]

The same code runs on the GPU when the events are read there (``backend="cuda"``, needs
CuPy): awkward operations and afkit's kernels follow the data.  What it shows:

* counts, sums and leading objects per event (``kernels.count``, ``kernels.sum``,
  ``kernels.leading``) instead of awkward's reducers over masked copies,
* the best pair and trijet without materialising combinations (``kernels.best_combination``),
* ΔR overlap removal without the object × object table (``kernels.match_within``),
* following a link (``kernels.gather`` of ``jets.btagging.DL1dv01_pb``),
* one fill call for several variations into a ``hist.Hist`` (``kernels.fill_hist``),
* the column view (``afkit.events.columns``): flat arrays of just the fields you name.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import awkward as ak
import hist
import numpy as np

import afkit
from afkit import kernels

DEFAULT = Path(__file__).resolve().parents[1] / "tests" / "data" / "uproot-issue-951.root"


def analyse(path: str, backend: str) -> hist.Hist:
    events = afkit.read(path, backend=backend)  # GeV; every buffer on the chosen device
    jets, electrons, muons = events.Jets, events.Electrons, events.Muons

    # objects (masks stay lists per event; nothing is copied yet)
    good_jets = (jets.pt > 20) & (abs(jets.eta) < 2.5)
    good_el = (electrons.pt > 10) & (abs(electrons.eta) < 2.47)
    good_mu = (muons.pt > 10) & (abs(muons.eta) < 2.5)

    # jets away from electrons: the nearest electron further than ΔR 0.4
    isolated = good_jets & ~kernels.match_within(jets, electrons, 0.4, mask_b=good_el)

    # per-event counts, sums and the leading jet pT
    n_jets = kernels.count(isolated)
    ht = kernels.sum(jets.pt, isolated)
    lead_pt = kernels.leading(jets.pt, 1, isolated)[:, 0]

    # b-tagging through the jets' resolved links (NaN where a jet has no b-tagging object)
    pb = kernels.gather(jets.btagging.DL1dv01_pb)
    pc = kernels.gather(jets.btagging.DL1dv01_pc)
    pu = kernels.gather(jets.btagging.DL1dv01_pu)
    with np.errstate(divide="ignore", invalid="ignore"):
        btagged = isolated & (np.log(pb / (0.018 * pc + 0.982 * pu)) > 2.456)

    # the muon pair closest to the Z mass, and the trijet with the largest pT and a b-tag
    z = kernels.best_combination(muons, 2, by="mass", target=91.19, mask=good_mu)
    top = kernels.best_combination(jets, 3, by="pt", require=btagged, mask=isolated)

    print(f"{len(events)} events on {ak.backend(ht)}")
    print(
        f"  events with >= 4 jets: {int(ak.sum(n_jets >= 4))}; mean HT {float(ak.mean(ht)):.1f} GeV"
    )
    print(f"  leading jet pT of the first events: {ak.to_list(lead_pt[:3])}")
    print(f"  Z candidates: {int(ak.count(z.mass))}; top candidates: {int(ak.count(top.mass))}")

    # the trijet mass, nominal and with jet pT scaled by 3 %, filled in one call
    scaled = ak.with_field(jets, jets.pt * 1.03, "pt")
    top_up = kernels.best_combination(scaled, 3, by="pt", require=btagged, mask=isolated)
    masses = [ak.fill_none(top.mass, np.nan), ak.fill_none(top_up.mass, np.nan)]
    selected = ak.to_numpy(n_jets >= 3) if backend == "cpu" else ak.to_cupy(n_jets >= 3)
    h = hist.Hist(
        hist.axis.Regular(20, 0, 600, name="m_bjj", label="m(bjj) [GeV]"),
        hist.axis.StrCategory(["nominal", "jes_up"], name="variation"),
        storage=hist.storage.Weight(),
    )
    to_array = ak.to_numpy if backend == "cpu" else ak.to_cupy
    kernels.fill_hist(
        h,
        [to_array(m) for m in masses],
        selected=[selected, selected],
        variation=["nominal", "jes_up"],
    )
    print(f"  m_bjj entries per variation: {h[sum, :].values().tolist()}")

    # the column view: flat arrays of the named fields (what the AGC engine computes on)
    cols = afkit.events.columns(events.to("cpu"), {"Jets": ["pt", "btagging.DL1dv01_pb"]})
    print(f"  column view: {len(cols.Jets.pt)} jets, offsets {cols.Jets.offsets[:4].tolist()}")
    return h


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", default=str(DEFAULT))
    parser.add_argument("--backend", default="cpu", choices=["cpu", "cuda"])
    arguments = parser.parse_args()
    analyse(arguments.file, arguments.backend)
