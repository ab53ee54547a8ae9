"""An independent, plain awkward/NumPy implementation of the AGC selection (spec §2-4).

Written from shared/spec/agc-physlite.md only, deliberately naive (``ak.combinations``), to
serve as the oracle for afkit's own AGC code and as the physics check of generated data.
Values are taken in MeV from the file and converted as the spec says: float64, then / 1000.
"""

from __future__ import annotations

import awkward as ak
import numpy as np

import afkit

BTAG_CUT = 2.456


def _gev(values: ak.Array) -> ak.Array:
    return ak.values_astype(values, np.float64) / 1000.0


def select(path: str) -> dict[str, ak.Array]:
    """Per event: region flags, observables (HT, m_bjj) and the nominal MC weight factor."""
    events = afkit.read(path, units="MeV")
    el, mu, jets = events.Electrons, events.Muons, events.Jets
    el_ok = (_gev(el.pt) > 30) & (abs(el.eta) < 2.47) & (el.DFCommonElectronsLHTight == 1)
    mu_ok = (_gev(mu.pt) > 30) & (abs(mu.eta) < 2.5) & (mu.quality == 0)
    pt = _gev(jets.pt)
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
    m_bjj = ak.firsts(mass[best])
    out = {
        "4j1b": base & (n_b == 1),
        "4j2b": base & (n_b >= 2),
        "HT": ak.sum(sel.pt, axis=1),
        "m_bjj": m_bjj,
        "eventNumber": events.EventInfo.eventNumber,
    }
    if "mcEventWeights" in events.EventInfo.fields:
        out["mc_weight"] = events.EventInfo.mcEventWeights[:, 0]
    return out
