"""The classic ATLAS ttbar dilepton eμ selection, written with afkit's analysis toolkit.

One electron and one muon of opposite charge, >= 1 b-tagged jet; observables m_eμ, the
leading-jet pT and the b-jet multiplicity; a cutflow; lepton scale factors with up/down
(correctionlib, examples/data/lepton_sf.json); the lepton momentum scale as a shape
systematic; the good-run list on data; every generator weight normalised with its own sum
of weights, read from the files.

    python examples/ttbar_emu.py FILESET.json OUT.json [--grl GRL.xml] [--executor E]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import awkward as ak
import hist
import numpy as np

import afkit
from afkit import kernels
from afkit.analysis import Correction, LumiMask, Selection, Varied, Weights, fill, pair_mass

DATA = Path(__file__).resolve().parent / "data"
BINS = {"m_emu": (30, 0, 300), "lead_jet_pt": (30, 0, 600), "n_bjets": (6, 0, 6)}
SCALE = {"lep_scale_up": 1.01, "lep_scale_down": 0.99}  # the lepton momentum scale


def histogram(name: str) -> hist.Hist:
    bins, lo, hi = BINS[name]
    return hist.Hist(
        hist.axis.Regular(bins, lo, hi, name=name),
        hist.axis.StrCategory([], name="process", growth=True),
        hist.axis.StrCategory([], name="variation", growth=True),
        storage=hist.storage.Weight(),
    )


class TtbarEmu:
    def __init__(self, grl: str | None = None, scale: dict[str, float] | None = None) -> None:
        self.sf = {f: Correction(DATA / "lepton_sf.json", f"{f}_id") for f in ("electron", "muon")}
        self.grl = LumiMask.from_files(grl) if grl else None
        self.scale = SCALE if scale is None else scale

    def generator_weights(self, events: Any) -> np.ndarray:
        """(events, weights): the generator weights, column 0 the nominal one."""
        return (
            ak.to_numpy(events.EventInfo.mcEventWeights).reshape(len(events), -1).astype(np.float64)
        )

    def leptons(
        self, objects: Any, tight: Any, scale: dict[str, float]
    ) -> tuple[Varied, Varied, tuple[Varied, ...]]:
        """pT (with its scale variations), the selection, and the selected lepton's
        (pt, eta, phi, m) per event and variation."""
        pt = Varied.of(objects.pt, **{k: objects.pt * s for k, s in scale.items()})
        good = (pt > 25) & tight
        first = tuple(pt.broadcast(objects[f]).leading(0, good) for f in ("eta", "phi", "m"))
        return pt, good, (pt.leading(0, good), *first)

    def scale_factor(self, flavour: str, objects: Any, good: Varied) -> dict[str, np.ndarray]:
        chosen = objects[ak.unflatten(good.nominal, ak.num(objects))]
        sf = self.sf[flavour].variations(
            abs(chosen.eta), chosen.pt, values=["nominal", "up", "down"]
        )
        return {k: ak.to_numpy(ak.prod(v, axis=1)) for k, v in sf.items()}

    def process(self, events: Any, context: afkit.WorkContext) -> dict[str, Any]:
        meta, info, n = context.metadata, events.EventInfo, len(events)
        el, mu, jets = events.Electrons, events.Muons, events.Jets
        scale = {} if meta["is_data"] else self.scale  # systematics: MC only
        tight_el = (abs(el.eta) < 2.47) & (el.DFCommonElectronsLHTight == 1)
        el_pt, good_el, e = self.leptons(el, tight_el, scale)
        mu_pt, good_mu, m = self.leptons(mu, (abs(mu.eta) < 2.5) & (mu.quality == 0), scale)
        emu = (good_el.count() == 1) & (good_mu.count() == 1)
        charge = el_pt.broadcast(el.charge).leading(0, good_el) * mu_pt.broadcast(
            mu.charge
        ).leading(0, good_mu)
        good_jets = (jets.pt > 25) & (abs(jets.eta) < 2.5) & (jets.NNJvtPass == 1)
        pb, pc, pu = (kernels.gather(jets.btagging[f"DL1dv01_{x}"]) for x in ("pb", "pc", "pu"))
        with np.errstate(divide="ignore", invalid="ignore"):
            n_b = ak.to_numpy(
                kernels.count(good_jets & (np.log(pb / (0.018 * pc + 0.982 * pu)) > 2.456))
            )

        sel = Selection(n)
        if meta["is_data"] and self.grl is not None:
            sel.add("good_runs", self.grl.mask(info.runNumber, info.lumiBlock))
        sel.add("e_mu", emu.nominal).add("opposite_charge", charge.nominal < 0).add(
            "b_jet", n_b >= 1
        )
        good_runs = sel.all("good_runs") if "good_runs" in sel.names else True
        passed = emu & (charge < 0) & (n_b >= 1) & good_runs

        weights = Weights(n)
        if not meta["is_data"]:
            mcw = self.generator_weights(events)
            norm, sums = meta["xsec"] * meta["luminosity"], meta["sumw_variations"]
            names = list(sums)[: mcw.shape[1]] if sums else [0]
            columns = mcw[:, 1 : len(names)] * (norm / np.array([sums[k] for k in names[1:]]))
            weights.add_matrix("generator", mcw[:, 0] * norm / meta["sumw"], columns,
                               names=[f"gen_{k}" for k in names[1:]])  # fmt: skip
            for flavour, objects, good in (("electron", el, good_el), ("muon", mu, good_mu)):
                sf = self.scale_factor(flavour, objects, good)
                weights.add(f"{flavour}_sf", sf["nominal"], up=sf["up"], down=sf["down"])

        lead_jet = kernels.leading(jets.pt, 1, good_jets)[:, 0]
        observables = {
            "m_emu": pair_mass(*e, *m),
            "lead_jet_pt": ak.to_numpy(ak.fill_none(lead_jet, np.nan)),
            "n_bjets": n_b.astype(np.float64),
        }
        process = "data" if meta["is_data"] else meta["process"]
        hists = {
            name: fill(histogram(name), x, selected=passed, weights=weights, process=process)
            for name, x in observables.items()
        }
        return {"hists": hists, "cutflow": {context.sample: sel.cutflow(weight=weights.weight())}}


def sums(h: hist.Hist) -> dict[str, dict[str, list[float]]]:
    """``{"process/variation": {"sumw": [...], "sumw2": [...]}}``, flow bins included."""
    view, out = h.view(flow=True), {}
    for i, process in enumerate(h.axes["process"]):
        for j, variation in enumerate(h.axes["variation"]):
            out[f"{process}/{variation}"] = {
                "sumw": view.value[:, i, j].tolist(),
                "sumw2": view.variance[:, i, j].tolist(),
            }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("fileset")
    parser.add_argument("output")
    parser.add_argument("--grl", default=str(DATA / "grl_generated.xml"))
    parser.add_argument("--executor", default="processes")
    parser.add_argument("--chunksize", type=int, default=100_000)
    args = parser.parse_args()
    fileset = afkit.Fileset.load(args.fileset)
    fileset.fill_sumw()  # every generator weight's sum of weights, from the files
    processor = TtbarEmu(args.grl)
    result, report = afkit.run(processor, fileset, executor=args.executor, chunksize=args.chunksize)
    for sample, cutflow in result["cutflow"].items():
        print(sample, cutflow, sep="\n")
    out = {
        "hists": {name: sums(h) for name, h in result["hists"].items()},
        "cutflow": {sample: c.to_dict() for sample, c in result["cutflow"].items()},
        "events": report.events_processed,
    }
    Path(args.output).write_text(json.dumps(out))


if __name__ == "__main__":
    main()
