"""An independent, plain awkward/NumPy implementation of the AGC (spec §1-5).

Written from shared/spec/agc-physlite.md only, deliberately naive (``ak.combinations``, Python
integers for the counter-based generator, boost-histogram for the binning), to serve as the
oracle for afkit's own AGC code and as the physics check of generated data.  Values are taken
in MeV from the file and converted as the spec says: float64, then / 1000.
"""

from __future__ import annotations

import math

import awkward as ak
import numpy as np

import afkit

BTAG_CUT = 2.456
MASK64 = (1 << 64) - 1


def _gev(values: ak.Array) -> ak.Array:
    return ak.values_astype(values, np.float64) / 1000.0


def splitmix64(x: int) -> int:
    z = (x + 0x9E3779B97F4A7C15) & MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def smearing(event_numbers: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Spec §5 factors r = 1 + 0.05 z for every jet (flat, in file order)."""
    out = []
    for e, n in zip(event_numbers.tolist(), counts.tolist(), strict=True):
        seed = splitmix64(int(e))
        for j in range(n):
            a = splitmix64((seed + j) & MASK64)
            b = splitmix64(a)
            u1 = ((a >> 11) + 1) / 2**53
            u2 = (b >> 11) / 2**53
            out.append(1.0 + 0.05 * math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2))
    return np.array(out, np.float64)


def _analyse(events: ak.Array, pt: ak.Array) -> dict[str, ak.Array]:
    """Regions and observables for jet transverse momenta ``pt`` (GeV, jagged)."""
    el, mu, jets = events.Electrons, events.Muons, events.Jets
    el_ok = (_gev(el.pt) > 30) & (abs(el.eta) < 2.47) & (el.DFCommonElectronsLHTight == 1)
    mu_ok = (_gev(mu.pt) > 30) & (abs(mu.eta) < 2.5) & (mu.quality == 0)
    jet_ok = (pt > 30) & (abs(jets.eta) < 2.5) & (jets.NNJvtPass == 1)
    btag = jets.btagging
    disc = np.log(
        ak.values_astype(btag.DL1dv01_pb, np.float64)
        / (
            0.018 * ak.values_astype(btag.DL1dv01_pc, np.float64)
            + 0.982 * ak.values_astype(btag.DL1dv01_pu, np.float64)
        )
    )
    tagged = jet_ok & ak.fill_none(disc > BTAG_CUT, False)
    n_lep = ak.sum(el_ok, axis=1) + ak.sum(mu_ok, axis=1)
    n_jet = ak.sum(jet_ok, axis=1)
    n_b = ak.sum(tagged, axis=1)
    base = (n_lep == 1) & (n_jet >= 4)
    sel = ak.zip(
        {
            "pt": pt[jet_ok],
            "eta": ak.values_astype(jets.eta[jet_ok], np.float64),
            "phi": ak.values_astype(jets.phi[jet_ok], np.float64),
            "m": _gev(jets.m[jet_ok]),
            "b": tagged[jet_ok],
        }
    )
    trijet = ak.combinations(sel, 3, fields=["j1", "j2", "j3"])

    def p4(j: ak.Array) -> tuple[ak.Array, ...]:
        px, py = j.pt * np.cos(j.phi), j.pt * np.sin(j.phi)
        pz = j.pt * np.sinh(j.eta)
        return px, py, pz, np.sqrt(px**2 + py**2 + pz**2 + j.m**2)

    parts = [p4(trijet[f]) for f in ("j1", "j2", "j3")]
    px, py, pz, e = (sum(p[i] for p in parts) for i in range(4))
    has_b = trijet.j1.b | trijet.j2.b | trijet.j3.b
    sum_pt = ak.where(has_b, np.hypot(px, py), -1.0)
    best = ak.argmax(sum_pt, axis=1, keepdims=True)  # first maximum: lexicographic tie-break
    mass = np.sqrt(np.maximum(e**2 - px**2 - py**2 - pz**2, 0.0))
    return {
        "4j1b": base & (n_b == 1),
        "4j2b": base & (n_b >= 2),
        "HT": ak.sum(sel.pt, axis=1),
        "m_bjj": ak.firsts(mass[best]),
        "selected_pt": sel.pt,
    }


def select(
    path: str,
    entry_start: int | None = None,
    entry_stop: int | None = None,
    pt_variation: str = "nominal",
) -> dict[str, ak.Array]:
    """Per event: region flags, observables (HT, m_bjj) and the nominal MC weight factor."""
    events = afkit.read(path, units="MeV", entry_start=entry_start, entry_stop=entry_stop)
    pt = _gev(events.Jets.pt)
    if pt_variation == "pt_scale_up":
        pt = pt * 1.03
    elif pt_variation == "pt_res_up":
        counts = ak.to_numpy(ak.num(pt))
        factors = smearing(ak.to_numpy(events.EventInfo.eventNumber), counts)
        pt = pt * ak.unflatten(factors, counts)
    out = _analyse(events, pt)
    out["eventNumber"] = events.EventInfo.eventNumber
    if "mcEventWeights" in events.EventInfo.fields:
        out["mc_weight"] = events.EventInfo.mcEventWeights[:, 0]
    return out


def histograms(fileset: afkit.Fileset) -> dict[str, object]:
    """The AGC histograms of spec §4-5 for every sample of ``fileset``, filled with hist."""
    import hist

    processes = [
        "ttbar",
        "single_top_s_chan",
        "single_top_t_chan",
        "single_top_tW",
        "wjets",
        "data",
    ]
    variations = (
        ["nominal", "scaleup", "scaledown", "ME_var", "PS_var", "pt_scale_up", "pt_res_up"]
        + [f"btag_var_{i}_{d}" for i in range(4) for d in ("up", "down")]
        + ["scale_var_up", "scale_var_down"]
    )
    out = {
        region: hist.Hist(
            hist.axis.Regular(25, 50, 550),
            hist.axis.StrCategory(processes),
            hist.axis.StrCategory(variations),
            storage=hist.storage.Weight(),
        )
        for region in ("4j1b", "4j2b")
    }
    observable = {"4j1b": "HT", "4j2b": "m_bjj"}

    def fill(sel: dict[str, ak.Array], process: str, variation: str, w: np.ndarray) -> None:
        for region, h in out.items():
            mask = ak.to_numpy(sel[region])
            x = ak.to_numpy(ak.fill_none(sel[observable[region]], np.nan))[mask]
            h.fill(x, process, variation, weight=w[mask])

    for sample in fileset.samples.values():
        for entry in sample.files:
            path = fileset.resolve(entry)
            nominal = select(path)
            n = len(nominal["eventNumber"])
            if sample.is_data:
                fill(nominal, "data", "nominal", np.ones(n))
                continue
            w = ak.to_numpy(nominal["mc_weight"]).astype(np.float64) * (
                sample.xsec * sample.luminosity / sample.sumw
            )
            if sample.variation != "nominal":
                fill(nominal, sample.process, sample.variation, w)
                continue
            fill(nominal, sample.process, "nominal", w)
            for kind in ("pt_scale_up", "pt_res_up"):
                fill(select(path, pt_variation=kind), sample.process, kind, w)
            lead = ak.to_numpy(
                ak.fill_none(ak.pad_none(nominal["selected_pt"], 4, clip=True), np.nan)
            )
            for i in range(4):
                shift = 0.075 * lead[:, i] / 50
                fill(nominal, sample.process, f"btag_var_{i}_up", w * (1 + shift))
                fill(nominal, sample.process, f"btag_var_{i}_down", w * (1 - shift))
            if sample.process == "wjets":
                fill(nominal, "wjets", "scale_var_up", w * 1.025)
                fill(nominal, "wjets", "scale_var_down", w * 0.975)
    return out
