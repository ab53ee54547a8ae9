"""The eμ analysis of examples/ttbar_emu.py written the way coffea's documentation does it:
PHYSLITESchema NanoEvents, ``PackedSelection`` for the cuts, ``analysis_tools.Weights`` for the
weights and their variations, correctionlib evaluated on flattened arrays, ``lumi_tools
.LumiMask`` (golden JSON) on data, hist, and the shape systematic as a loop re-running the
selection per variation.  Units: coffea gives PHYSLITE's MeV; converted to GeV as afkit does
(float64, then / 1000)."""

from __future__ import annotations

from typing import Any

import awkward as ak
import correctionlib
import hist
import numpy as np
import vector
from coffea import processor
from coffea.analysis_tools import PackedSelection, Weights

vector.register_awkward()

#: The muon mass in GeV (PDG): PHYSLITE stores none.
MUON_MASS_GEV = 0.1056583755
SCALE = {"nominal": 1.0, "lep_scale_up": 1.01, "lep_scale_down": 0.99}
BINS = {"m_emu": (30, 0, 300), "lead_jet_pt": (30, 0, 600), "n_bjets": (6, 0, 6)}


def gev(x: ak.Array) -> ak.Array:
    return ak.values_astype(x, np.float64) / 1000.0


class CoffeaEmu(processor.ProcessorABC):  # type: ignore[misc]
    def __init__(
        self, samples: dict[str, dict[str, Any]], sf_file: str, golden_json: str | None
    ) -> None:
        from coffea.lumi_tools import LumiMask

        self.samples = samples
        corrections = correctionlib.CorrectionSet.from_file(sf_file)
        self.sf = {"electron": corrections["electron_id"], "muon": corrections["muon_id"]}
        self.lumi = LumiMask(golden_json) if golden_json else None

    def evaluate(self, flavour: str, leptons: ak.Array, syst: str) -> np.ndarray:
        flat_eta = ak.to_numpy(ak.flatten(abs(leptons.eta)))
        flat_pt = ak.to_numpy(ak.flatten(leptons.pt))
        values = self.sf[flavour].evaluate(syst, flat_eta, flat_pt)
        return ak.to_numpy(ak.prod(ak.unflatten(values, ak.num(leptons)), axis=1))

    def process(self, events: Any) -> dict[str, Any]:
        meta = self.samples[events.metadata["dataset"]]
        process = "data" if meta["is_data"] else meta["process"]
        hists = {
            name: hist.Hist(
                hist.axis.Regular(b, lo, hi, name=name),
                hist.axis.StrCategory([], name="process", growth=True),
                hist.axis.StrCategory([], name="variation", growth=True),
                storage=hist.storage.Weight(),
            )
            for name, (b, lo, hi) in BINS.items()
        }
        el, mu, jets, info = events.Electrons, events.Muons, events.Jets, events.EventInfo
        btag = events.BTagging_AntiKt4EMPFlow[jets.btaggingLink.m_persIndex]
        disc = np.log(
            gev(btag.DL1dv01_pb) / (0.018 * gev(btag.DL1dv01_pc) + 0.982 * gev(btag.DL1dv01_pu))
        )
        jet_pt = gev(jets.pt)
        good_jets = (jet_pt > 25) & (abs(jets.eta) < 2.5) & (jets.NNJvtPass == 1)
        n_b = ak.to_numpy(ak.sum(good_jets & (disc > 2.456), axis=1))
        lead_jet = ak.to_numpy(ak.fill_none(ak.firsts(jet_pt[good_jets]), np.nan))
        good_run = (
            self.lumi(ak.to_numpy(info.runNumber), ak.to_numpy(info.lumiBlock))
            if meta["is_data"] and self.lumi is not None
            else np.ones(len(events), bool)
        )
        n = len(events)
        weights = Weights(n, storeIndividual=True)
        gen_names: list[Any] = []
        if not meta["is_data"]:
            mcw = ak.to_numpy(info.mcEventWeights).reshape(n, -1).astype(np.float64)
            norm = meta["xsec"] * meta["luminosity"]
            weights.add("generator", mcw[:, 0] * norm / meta["sumw"])
            sums = meta["sumw_variations"]
            gen_names = list(sums)[1 : mcw.shape[1]] if sums else []
            gen = {k: mcw[:, i + 1] * norm / sums[k] for i, k in enumerate(gen_names)}

        def leptons(objects: Any, tight: Any, factor: float, mass: Any) -> tuple[Any, Any]:
            pt = gev(objects.pt) * factor
            good = (pt > 25) & tight
            chosen = ak.zip(
                {"pt": pt[good], "eta": objects.eta[good], "phi": objects.phi[good],
                 "mass": (mass * ak.ones_like(pt))[good], "charge": objects.charge[good]},
                with_name="Momentum4D",
            )  # fmt: skip
            return good, chosen

        for variation, factor in SCALE.items():
            if meta["is_data"] and variation != "nominal":
                continue
            good_el, e = leptons(
                el,
                (abs(el.eta) < 2.47) & (el.DFCommonElectronsLHTight == 1),
                factor,
                gev(el.m),
            )
            # PHYSLITE stores no muon mass: the PDG value, in GeV
            good_mu, m = leptons(mu, (abs(mu.eta) < 2.5) & (mu.quality == 0), factor, MUON_MASS_GEV)
            selection = PackedSelection()
            selection.add("good_runs", good_run)
            selection.add("e_mu", ak.to_numpy((ak.num(e) == 1) & (ak.num(m) == 1)))
            charge = ak.fill_none(ak.firsts(e.charge) * ak.firsts(m.charge), 0)
            selection.add("opposite_charge", ak.to_numpy(charge < 0))
            selection.add("b_jet", n_b >= 1)
            passed = selection.all("good_runs", "e_mu", "opposite_charge", "b_jet")
            pair = ak.firsts(e) + ak.firsts(m)
            observables = {
                "m_emu": ak.to_numpy(ak.fill_none(pair.mass, np.nan)),
                "lead_jet_pt": lead_jet,
                "n_bjets": n_b.astype(np.float64),
            }
            if not meta["is_data"]:
                if variation == "nominal":
                    this = Weights(n, storeIndividual=True)
                    this.add("generator", weights.partial_weight(include=["generator"]))
                    for flavour, objects, good in (
                        ("electron", el, good_el),
                        ("muon", mu, good_mu),
                    ):
                        chosen = objects[good]
                        chosen = ak.with_field(chosen, gev(chosen.pt), "pt")
                        this.add(f"{flavour}_sf", self.evaluate(flavour, chosen, "nominal"),
                                 weightUp=self.evaluate(flavour, chosen, "up"),
                                 weightDown=self.evaluate(flavour, chosen, "down"))  # fmt: skip
                    nominal_weights = this
                w = nominal_weights.weight()
            else:
                w = np.ones(n)
            for name, h in hists.items():
                h.fill(
                    observables[name][passed],
                    process=process,
                    variation=variation,
                    weight=w[passed],
                )
            if variation == "nominal" and not meta["is_data"]:
                for syst in nominal_weights.variations:
                    ws = nominal_weights.weight(syst)
                    label = syst[:-2] + "_up" if syst.endswith("Up") else syst[:-4] + "_down"
                    for name, h in hists.items():
                        h.fill(
                            observables[name][passed],
                            process=process,
                            variation=label,
                            weight=ws[passed],
                        )
                others = nominal_weights.partial_weight(exclude=["generator"])
                for k in gen_names:  # one fill per generator weight
                    ws = others * gen[k]
                    for name, h in hists.items():
                        h.fill(
                            observables[name][passed],
                            process=process,
                            variation=f"gen_{k}",
                            weight=ws[passed],
                        )
        return {"hists": hists, "events": n}

    def postprocess(self, accumulator: Any) -> Any:
        return accumulator
