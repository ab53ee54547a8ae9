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


ML_FEATURES = (
    "deltar_leptonbtoplep", "deltar_w1w2", "deltar_w1btophad", "deltar_w2btophad",
    "mass_leptonbtoplep", "mass_w1w2", "mass_w1w2btophad", "pt_w1w2btophad",
    "pt_w1", "pt_w2", "pt_btophad", "pt_btoplep", "btag_w1", "btag_w2", "btag_btophad",
    "btag_btoplep", "ntrk_w1", "ntrk_w2", "ntrk_btophad", "ntrk_btoplep",
)  # fmt: skip
ML_RANGES = (
    [(0, 6)] * 4
    + [(50, 300)] * 2
    + [(50, 550)] * 2
    + [(25, 300)] * 4
    + [(-5, 10)] * 4
    + [(0, 50)] * 4
)


def _p4(pt: float, eta: float, phi: float, m: float) -> tuple[float, float, float, float]:
    px, py, pz = pt * math.cos(phi), pt * math.sin(phi), pt * math.sinh(eta)
    return px, py, pz, math.sqrt(((px * px + py * py) + pz * pz) + m * m)


def ml_step(
    jets: dict[str, list[list[float]]],
    lepton: list[tuple[float, ...]],
    numbers: list[int],
    boosters: tuple[object, object],
) -> np.ndarray:
    """Spec §8.2-8.5 per event (``jets``: per event lists of pt, eta, phi, m, D, N of its
    selected jets; ``lepton``: pt, eta, phi, m): the chosen permutation's 20 features
    (NaN rows for events with fewer than 4 jets).  Permutations from itertools, sums in
    Python, xgboost's own predict, NumPy's first argmax."""
    import itertools

    import xgboost

    def mass(p: tuple[float, ...]) -> float:
        return math.sqrt(max(p[3] * p[3] - p[0] * p[0] - p[1] * p[1] - p[2] * p[2], 0.0))

    def dr(eta_a: float, phi_a: float, eta_b: float, phi_b: float) -> float:
        d = phi_a - phi_b
        dphi = d - 6.283185307179586 * math.floor((d + 3.141592653589793) / 6.283185307179586)
        deta = eta_a - eta_b
        return math.sqrt(deta * deta + dphi * dphi)

    out = np.full((len(numbers), 20), np.nan)
    for e, number in enumerate(numbers):
        n = min(len(jets["pt"][e]), 6)
        if n < 4:
            continue
        pt, eta, phi = (jets[k][e][:n] for k in ("pt", "eta", "phi"))
        d, ntrk = jets["btag"][e][:n], jets["ntrk"][e][:n]
        p = [_p4(pt[j], eta[j], phi[j], jets["m"][e][j]) for j in range(n)]
        lpt, leta, lphi, lm = lepton[e]
        lep = _p4(lpt, leta, lphi, lm)
        rows = []
        for w1, w2, bh, bl in sorted(q for q in itertools.permutations(range(n), 4) if q[0] > q[1]):
            w = tuple(a + b for a, b in zip(p[w1], p[w2], strict=True))
            t = tuple(a + b for a, b in zip(w, p[bh], strict=True))
            lb = tuple(a + b for a, b in zip(lep, p[bl], strict=True))
            rows.append([
                dr(leta, lphi, eta[bl], phi[bl]), dr(eta[w1], phi[w1], eta[w2], phi[w2]),
                dr(eta[w1], phi[w1], eta[bh], phi[bh]), dr(eta[w2], phi[w2], eta[bh], phi[bh]),
                mass(lb), mass(w), mass(t), math.sqrt(t[0] * t[0] + t[1] * t[1]),
                pt[w1], pt[w2], pt[bh], pt[bl], d[w1], d[w2], d[bh], d[bl],
                ntrk[w1], ntrk[w2], ntrk[bh], ntrk[bl],
            ])  # fmt: skip
        booster = boosters[1] if number % 2 == 0 else boosters[0]  # parities crossed
        scores = booster.predict(xgboost.DMatrix(np.array(rows)), output_margin=True)
        out[e] = rows[int(np.argmax(scores))]
    return out


def _ml_features(
    events: ak.Array,
    jet_ok: ak.Array,
    disc: ak.Array,
    pt: ak.Array,
    el_ok: ak.Array,
    mu_ok: ak.Array,
    in_4j2b: ak.Array,
    boosters: tuple[object, object],
) -> np.ndarray:
    el, mu, jets = events.Electrons, events.Muons, events.Jets
    chosen = jet_ok & in_4j2b
    columns = {
        "pt": pt[chosen], "eta": ak.values_astype(jets.eta[chosen], np.float64),
        "phi": ak.values_astype(jets.phi[chosen], np.float64), "m": _gev(jets.m[chosen]),
        "btag": ak.fill_none(disc[chosen], np.nan),
        "ntrk": ak.values_astype(jets.DFCommonJets_QGTagger_NTracks[chosen], np.float64),
    }  # fmt: skip
    lists = {k: ak.to_list(v) for k, v in columns.items()}
    e = ak.zip(
        {
            "pt": _gev(el.pt[el_ok]),
            "eta": ak.values_astype(el.eta[el_ok], np.float64),
            "phi": ak.values_astype(el.phi[el_ok], np.float64),
            "m": _gev(el.m[el_ok]),
        }
    )
    m = ak.zip(
        {
            "pt": _gev(mu.pt[mu_ok]),
            "eta": ak.values_astype(mu.eta[mu_ok], np.float64),
            "phi": ak.values_astype(mu.phi[mu_ok], np.float64),
        }
    )
    lepton = []
    for one_e, one_m in zip(ak.to_list(e), ak.to_list(m), strict=True):
        if one_e:
            lepton.append((one_e[0]["pt"], one_e[0]["eta"], one_e[0]["phi"], one_e[0]["m"]))
        elif one_m:
            lepton.append((one_m[0]["pt"], one_m[0]["eta"], one_m[0]["phi"], 0.1056583755))
        else:
            lepton.append((math.nan,) * 4)
    numbers = ak.to_list(events.EventInfo.eventNumber)
    return ml_step(lists, lepton, numbers, boosters)


def _analyse(
    events: ak.Array, pt: ak.Array, boosters: tuple[object, object] | None = None
) -> dict[str, ak.Array]:
    """Regions and observables for jet transverse momenta ``pt`` (GeV, jagged); with
    ``boosters`` (xgboost's model_even, model_odd) also the ML features (spec §8)."""
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
    out = {
        "4j1b": base & (n_b == 1),
        "4j2b": base & (n_b >= 2),
        "HT": ak.sum(sel.pt, axis=1),
        "m_bjj": ak.firsts(mass[best]),
        "selected_pt": sel.pt,
    }
    if boosters is not None:
        features = _ml_features(events, jet_ok, disc, pt, el_ok, mu_ok, out["4j2b"], boosters)
        for i, name in enumerate(ML_FEATURES):
            out[name] = features[:, i]
    return out


def select(
    path: str,
    entry_start: int | None = None,
    entry_stop: int | None = None,
    pt_variation: str = "nominal",
    boosters: tuple[object, object] | None = None,
) -> dict[str, ak.Array]:
    """Per event: region flags, observables (HT, m_bjj; with ``boosters`` the ML features)
    and the nominal MC weight factor."""
    events = afkit.read(path, units="MeV", entry_start=entry_start, entry_stop=entry_stop)
    pt = _gev(events.Jets.pt)
    if pt_variation == "pt_scale_up":
        pt = pt * 1.03
    elif pt_variation == "pt_res_up":
        counts = ak.to_numpy(ak.num(pt))
        factors = smearing(ak.to_numpy(events.EventInfo.eventNumber), counts)
        pt = pt * ak.unflatten(factors, counts)
    out = _analyse(events, pt, boosters)
    out["eventNumber"] = events.EventInfo.eventNumber
    if "mcEventWeights" in events.EventInfo.fields:
        out["mc_weight"] = events.EventInfo.mcEventWeights[:, 0]
    return out


def histograms(
    fileset: afkit.Fileset, boosters: tuple[object, object] | None = None
) -> dict[str, object]:
    """The AGC histograms of spec §4-5 for every sample of ``fileset``, filled with hist;
    with ``boosters`` also the 20 ML histograms of spec §8.6."""
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
    if boosters is not None:
        for name, (lo, hi) in zip(ML_FEATURES, ML_RANGES, strict=True):
            out[name] = hist.Hist(
                hist.axis.Regular(25, lo, hi),
                hist.axis.StrCategory(processes),
                hist.axis.StrCategory(variations),
                storage=hist.storage.Weight(),
            )
            observable[name] = name
    region_of = {name: "4j2b" for name in ML_FEATURES}

    def fill(sel: dict[str, ak.Array], process: str, variation: str, w: np.ndarray) -> None:
        for name, h in out.items():
            mask = ak.to_numpy(sel[region_of.get(name, name)])
            x = ak.to_numpy(ak.fill_none(sel[observable[name]], np.nan))[mask]
            h.fill(x, process, variation, weight=w[mask])

    for sample in fileset.samples.values():
        for entry in sample.files:
            path = fileset.resolve(entry)
            nominal = select(path, boosters=boosters)
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
                fill(select(path, pt_variation=kind, boosters=boosters), sample.process, kind, w)
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
