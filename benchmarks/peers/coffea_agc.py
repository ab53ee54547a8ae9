"""The AGC spec (shared/spec/agc-physlite.md §1-5) written the way a coffea user would:
PHYSLITESchema NanoEvents, awkward array programming, ``ak.combinations`` for the trijet, hist
for the histograms, run by ``coffea.processor.Runner``.  The b-tagging record is reached through
``btaggingLink.m_persIndex`` (coffea does not resolve ElementLinks).  With ``ml=True`` it adds
the spec's §8 ML step the coffea way (``peers/coffea_ml.py``: awkward permutations and features
with vector, ``xgboost`` scoring, ``ak.argmax``) and its 20 histograms."""

from __future__ import annotations

from typing import Any

import awkward as ak
import hist
import numpy as np
from coffea import processor

PROCESSES = ["ttbar", "single_top_s_chan", "single_top_t_chan", "single_top_tW", "wjets", "data"]
VARIATIONS = (
    ["nominal", "scaleup", "scaledown", "ME_var", "PS_var", "pt_scale_up", "pt_res_up"]
    + [f"btag_var_{i}_{d}" for i in range(4) for d in ("up", "down")]
    + ["scale_var_up", "scale_var_down"]
)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def smearing(event_number: ak.Array, pt: ak.Array) -> ak.Array:
    counts = ak.to_numpy(ak.num(pt))
    seeds = np.repeat(_splitmix64(ak.to_numpy(event_number).astype(np.uint64)), counts)
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    position = (np.arange(len(seeds)) - starts).astype(np.uint64)
    with np.errstate(over="ignore"):
        a = _splitmix64(seeds + position)
    b = _splitmix64(a)
    u1 = ((a >> np.uint64(11)) + np.uint64(1)).astype(np.float64) / 2.0**53
    u2 = (b >> np.uint64(11)).astype(np.float64) / 2.0**53
    z = np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)
    return ak.unflatten(1.0 + 0.05 * z, counts)


ML_FEATURES = [
    "deltar_leptonbtoplep", "deltar_w1w2", "deltar_w1btophad", "deltar_w2btophad",
    "mass_leptonbtoplep", "mass_w1w2", "mass_w1w2btophad", "pt_w1w2btophad",
    "pt_w1", "pt_w2", "pt_btophad", "pt_btoplep",
    "btag_w1", "btag_w2", "btag_btophad", "btag_btoplep",
    "ntrk_w1", "ntrk_w2", "ntrk_btophad", "ntrk_btoplep",
]  # fmt: skip
ML_RANGES = [(0, 6)] * 4 + [(50, 300)] * 2 + [(50, 550)] * 2 + [(25, 300)] * 4
ML_RANGES += [(-5, 10)] * 4 + [(0, 50)] * 4
MUON_MASS = 0.1056583755


def xgboost_models() -> tuple[Any, Any]:
    """The shipped model_even / model_odd as one-thread xgboost Boosters."""
    from importlib import resources

    import xgboost

    folder = resources.files("afkit.agc") / "models"
    boosters = []
    for name in ("model_even.json", "model_odd.json"):
        booster = xgboost.Booster(model_file=str(folder / name))
        booster.set_param({"nthread": 1})
        boosters.append(booster)
    return boosters[0], boosters[1]


class CoffeaAGC(processor.ProcessorABC):  # type: ignore[misc]
    def __init__(self, samples: dict[str, dict[str, Any]], ml: bool = False) -> None:
        self.samples = samples
        self.ml = ml
        self.boosters = xgboost_models() if ml else None

    def process(self, events: Any) -> dict[str, Any]:
        meta = self.samples[events.metadata["dataset"]]
        hists = {
            region: hist.Hist(
                hist.axis.Regular(25, 50, 550, name="observable"),
                hist.axis.StrCategory(PROCESSES, name="process"),
                hist.axis.StrCategory(VARIATIONS, name="variation"),
                storage=hist.storage.Weight(),
            )
            for region in ("4j1b", "4j2b")
        }
        if self.ml:
            for name, (lo, hi) in zip(ML_FEATURES, ML_RANGES, strict=True):
                hists[name] = hist.Hist(
                    hist.axis.Regular(25, lo, hi, name="observable"),
                    hist.axis.StrCategory(PROCESSES, name="process"),
                    hist.axis.StrCategory(VARIATIONS, name="variation"),
                    storage=hist.storage.Weight(),
                )
        el, mu, jets = events.Electrons, events.Muons, events.Jets
        el_ok = (el.pt / 1000 > 30) & (abs(el.eta) < 2.47) & (el.DFCommonElectronsLHTight == 1)
        mu_ok = (mu.pt / 1000 > 30) & (abs(mu.eta) < 2.5) & (mu.quality == 0)
        one_lepton = (ak.sum(el_ok, axis=1) + ak.sum(mu_ok, axis=1)) == 1
        btag = events.BTagging_AntiKt4EMPFlow[jets.btaggingLink.m_persIndex]
        disc = np.log(
            ak.values_astype(btag.DL1dv01_pb, np.float64)
            / (
                0.018 * ak.values_astype(btag.DL1dv01_pc, np.float64)
                + 0.982 * ak.values_astype(btag.DL1dv01_pu, np.float64)
            )
        )
        pt0 = ak.values_astype(jets.pt, np.float64) / 1000.0
        quality = (abs(jets.eta) < 2.5) & (jets.NNJvtPass == 1)
        is_data = meta["is_data"]
        process = "data" if is_data else meta["process"]
        n = len(events)
        weight = np.ones(n)
        if not is_data:
            weight = ak.to_numpy(events.EventInfo.mcEventWeights[:, 0]).astype(np.float64)
            weight = weight * meta["xsec"] * meta["luminosity"] / meta["sumw"]

        if self.ml:
            from peers import coffea_ml

            def lepton_of(objects: Any, ok: Any, mass: Any) -> ak.Array:
                return ak.zip(
                    {
                        "pt": ak.values_astype(objects.pt[ok], np.float64) / 1000.0,
                        "eta": ak.values_astype(objects.eta[ok], np.float64),
                        "phi": ak.values_astype(objects.phi[ok], np.float64),
                        "mass": mass,
                    }
                )

            el_mass = ak.values_astype(el.m[el_ok], np.float64) / 1000.0
            mu_mass = ak.ones_like(ak.values_astype(mu.pt[mu_ok], np.float64)) * MUON_MASS
            lepton = ak.firsts(
                ak.concatenate(
                    [lepton_of(el, el_ok, el_mass), lepton_of(mu, mu_ok, mu_mass)], axis=1
                )
            )
            lepton = ak.zip(
                {k: lepton[k] for k in ("pt", "eta", "phi", "mass")}, with_name="Momentum4D"
            )
            ntrk = ak.values_astype(jets.DFCommonJets_QGTagger_NTracks, np.float64)
            odd = ak.to_numpy(events.EventInfo.eventNumber) % 2 == 1

        def ml_features(pt: ak.Array, ok: ak.Array, region: np.ndarray) -> np.ndarray:
            """The chosen permutation's 20 features of each 4j2b event (spec §8)."""
            chosen = coffea_ml.momentum_jets(
                pt=pt[ok][region],
                eta=ak.values_astype(jets.eta[ok][region], np.float64),
                phi=ak.values_astype(jets.phi[ok][region], np.float64),
                mass=ak.values_astype(jets.m[ok][region], np.float64) / 1000.0,
                btag=disc[ok][region],
                ntrk=ntrk[ok][region],
            )
            _, rows = coffea_ml.best_permutation(chosen, lepton[region], odd[region], self.boosters)
            return rows

        def select(pt: ak.Array) -> dict[str, Any]:
            ok = (pt > 30) & quality
            tagged = ok & (disc > 2.456)
            n_b = ak.sum(tagged, axis=1)
            base = one_lepton & (ak.sum(ok, axis=1) >= 4)
            sel = ak.zip(
                {
                    "pt": pt[ok],
                    "eta": ak.values_astype(jets.eta[ok], np.float64),
                    "phi": ak.values_astype(jets.phi[ok], np.float64),
                    "m": ak.values_astype(jets.m[ok], np.float64) / 1000.0,
                    "b": tagged[ok],
                }
            )
            tri = ak.combinations(sel, 3, fields=["a", "b_", "c"])
            parts = [tri.a, tri.b_, tri.c]
            px = sum(p.pt * np.cos(p.phi) for p in parts)
            py = sum(p.pt * np.sin(p.phi) for p in parts)
            pz = sum(p.pt * np.sinh(p.eta) for p in parts)
            e = sum(
                np.sqrt(
                    (p.pt * np.cos(p.phi)) ** 2
                    + (p.pt * np.sin(p.phi)) ** 2
                    + (p.pt * np.sinh(p.eta)) ** 2
                    + p.m**2
                )
                for p in parts
            )
            has_b = tri.a.b | tri.b_.b | tri.c.b
            best = ak.argmax(ak.where(has_b, np.hypot(px, py), -1.0), axis=1, keepdims=True)
            mass = np.sqrt(np.maximum(e**2 - px**2 - py**2 - pz**2, 0.0))
            in_4j2b = ak.to_numpy(base & (n_b >= 2))
            return {
                "4j1b": ak.to_numpy(base & (n_b == 1)),
                "4j2b": in_4j2b,
                "ml": ml_features(pt, ok, in_4j2b) if self.ml else None,
                "obs_4j1b": ak.to_numpy(ak.sum(sel.pt, axis=1)),
                "obs_4j2b": ak.to_numpy(ak.fill_none(ak.firsts(mass[best]), np.nan)),
                "lead": ak.to_numpy(ak.fill_none(ak.pad_none(sel.pt, 4, clip=True), np.nan)),
            }

        def fill(s: dict[str, Any], variation: str, w: np.ndarray) -> None:
            for region in ("4j1b", "4j2b"):
                m = s[region]
                hists[region].fill(
                    observable=s[f"obs_{region}"][m],
                    process=process,
                    variation=variation,
                    weight=w[m],
                )
            if self.ml:
                w_4j2b = w[s["4j2b"]]
                for i, name in enumerate(ML_FEATURES):
                    hists[name].fill(
                        observable=s["ml"][:, i],
                        process=process,
                        variation=variation,
                        weight=w_4j2b,
                    )

        nominal = select(pt0)
        variation = "nominal" if is_data else meta["variation"]
        fill(nominal, variation, weight)
        if not is_data and variation == "nominal":
            fill(select(pt0 * 1.03), "pt_scale_up", weight)
            fill(select(pt0 * smearing(events.EventInfo.eventNumber, pt0)), "pt_res_up", weight)
            for i in range(4):
                shift = 0.075 * nominal["lead"][:, i] / 50
                fill(nominal, f"btag_var_{i}_up", weight * (1 + shift))
                fill(nominal, f"btag_var_{i}_down", weight * (1 - shift))
            if process == "wjets":
                fill(nominal, "scale_var_up", weight * 1.025)
                fill(nominal, "scale_var_down", weight * 0.975)
        return {"hists": hists, "events": n}

    def postprocess(self, accumulator: Any) -> Any:
        return accumulator
