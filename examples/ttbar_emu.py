"""The classic ATLAS ttbar dilepton eμ selection, written with afkit's analysis toolkit.

One electron and one muon of opposite charge and >= 1 b-tagged jet; observables m_eμ,
leading-jet pT, b-jet multiplicity; a cutflow; lepton scale factors with up/down
(correctionlib, examples/data/lepton_sf.json); a lepton momentum-scale shape systematic; the
good-run list on data; every generator weight normalised with its own sum of weights.

    python examples/ttbar_emu.py FILESET.json OUT.json [--grl GRL.xml]
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
AXES = {"m_emu": (30, 0, 300), "lead_jet_pt": (30, 0, 600), "n_bjets": (6, 0, 6)}


class TtbarEmu:
    def __init__(self, grl: str | None = None) -> None:
        self.sf = {f: Correction(DATA / "lepton_sf.json", f"{f}_id") for f in ("electron", "muon")}
        self.grl = LumiMask.from_files(grl) if grl else None

    def process(self, events: Any, context: afkit.WorkContext) -> dict[str, Any]:
        meta, info = context.metadata, events.EventInfo
        el, mu, jets = events.Electrons, events.Muons, events.Jets
        scale = {"lep_scale_up": 1.01, "lep_scale_down": 0.99}  # lepton momentum scale
        el_pt = Varied.of(el.pt, **{k: el.pt * s for k, s in scale.items()})
        mu_pt = Varied.of(mu.pt, **{k: mu.pt * s for k, s in scale.items()})
        good_el = (el_pt > 25) & ((abs(el.eta) < 2.47) & (el.DFCommonElectronsLHTight == 1))
        good_mu = (mu_pt > 25) & ((abs(mu.eta) < 2.5) & (mu.quality == 0))
        emu = (good_el.count() == 1) & (good_mu.count() == 1)
        charge = el_pt.broadcast(el.charge).leading(0, good_el) * mu_pt.broadcast(
            mu.charge
        ).leading(0, good_mu)
        good_jets = (jets.pt > 25) & (abs(jets.eta) < 2.5) & (jets.NNJvtPass == 1)
        pb, pc, pu = (kernels.gather(jets.btagging[f"DL1dv01_{x}"]) for x in ("pb", "pc", "pu"))
        with np.errstate(divide="ignore", invalid="ignore"):
            bjets = good_jets & (np.log(pb / (0.018 * pc + 0.982 * pu)) > 2.456)
        n_b = ak.to_numpy(kernels.count(bjets))

        sel = Selection(len(events))
        if meta["is_data"] and self.grl is not None:
            sel.add("good_runs", self.grl.mask(info.runNumber, info.lumiBlock))
        sel.add("e_mu", emu.nominal).add("opposite_charge", charge.nominal < 0).add(
            "b_jet", n_b >= 1
        )
        good_runs = sel.all("good_runs") if "good_runs" in sel.names else True
        passed = emu & (charge < 0) & (n_b >= 1) & good_runs

        weights = Weights(len(events))
        if not meta["is_data"]:
            mcw = ak.to_numpy(info.mcEventWeights).reshape(len(events), -1).astype(np.float64)
            norm = meta["xsec"] * meta["luminosity"]
            gen = meta["sumw_variations"] or {0: meta["sumw"]}
            names = list(gen)[: mcw.shape[1]]
            weights.add_matrix("generator", mcw[:, 0] * norm / meta["sumw"],
                               mcw[:, 1:len(names)] * (norm / np.array([gen[n] for n in names[1:]])),
                               names=[f"gen_{n}" for n in names[1:]])  # fmt: skip
            for flavour, leptons, good in (
                ("electron", el, good_el.nominal),
                ("muon", mu, good_mu.nominal),
            ):
                chosen = leptons[ak.unflatten(good, ak.num(leptons))]
                sf = self.sf[flavour].variations(
                    abs(chosen.eta), chosen.pt, values=["nominal", "up", "down"]
                )
                weights.add(f"{flavour}_sf", *(ak.to_numpy(ak.prod(sf[v], axis=1)) for v in ("nominal",)),
                            up=ak.to_numpy(ak.prod(sf["up"], axis=1)), down=ak.to_numpy(ak.prod(sf["down"], axis=1)))  # fmt: skip

        pick = dict(el=good_el, mu=good_mu)
        lead = {k: (v.leading(0, pick[k]), v.broadcast(o.eta).leading(0, pick[k]), v.broadcast(o.phi).leading(0, pick[k]),
                    v.broadcast(o.m).leading(0, pick[k])) for k, v, o in (("el", el_pt, el), ("mu", mu_pt, mu))}  # fmt: skip
        observables = {
            "m_emu": pair_mass(*lead["el"], *lead["mu"]),
            "lead_jet_pt": ak.to_numpy(
                ak.fill_none(kernels.leading(jets.pt, 1, good_jets)[:, 0], np.nan)
            ),
            "n_bjets": n_b.astype(np.float64),
        }
        process = "data" if meta["is_data"] else meta["process"]
        hists = {}
        for name, (bins, lo, hi) in AXES.items():
            h = hist.Hist(hist.axis.Regular(bins, lo, hi, name=name), hist.axis.StrCategory([], name="process", growth=True),
                          hist.axis.StrCategory([], name="variation", growth=True), storage=hist.storage.Weight())  # fmt: skip
            hists[name] = fill(
                h, observables[name], selected=passed, weights=weights, process=process
            )
        return {"hists": hists, "cutflow": {context.sample: sel.cutflow(weight=weights.weight())}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("fileset")
    parser.add_argument("output")
    parser.add_argument("--grl", default=str(DATA / "grl_generated.xml"))
    parser.add_argument("--executor", default="processes")
    args = parser.parse_args()
    fileset = afkit.Fileset.load(args.fileset)
    fileset.fill_sumw()  # sums of weights of every generator weight, from the files
    result, report = afkit.run(TtbarEmu(args.grl), fileset, executor=args.executor)
    for process, cutflow in result["cutflow"].items():
        print(process, cutflow, sep="\n")
    out = {
        name: {"/".join(k): v for k, v in _sums(h).items()} for name, h in result["hists"].items()
    }
    Path(args.output).write_text(json.dumps({"hists": out, "events": report.events_processed}))


def _sums(h: hist.Hist) -> dict[tuple[str, str], dict[str, list[float]]]:
    view = h.view(flow=True)
    return {(p, v): {"sumw": view.value[:, i, j].tolist(), "sumw2": view.variance[:, i, j].tolist()}
            for i, p in enumerate(h.axes["process"]) for j, v in enumerate(h.axes["variation"])}  # fmt: skip


if __name__ == "__main__":
    main()
