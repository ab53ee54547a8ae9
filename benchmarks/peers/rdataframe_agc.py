"""The AGC spec (shared/spec/agc-physlite.md §1-5) with ROOT's RDataFrame, single-threaded.

Per-event logic is C++ declared to the interpreter (``agc::`` below); RDataFrame defines the
selections of the three jet-pT hypotheses, books one weighted TH1D per (region, variation) and
runs every sample's graph.  The b-tagging record is reached through ``btaggingLink.m_persIndex``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

CPP = r"""
#include <cmath>
#include <cstdint>
#include <ROOT/RVec.hxx>
namespace agc {
using ROOT::RVecD;
inline std::uint64_t splitmix64(std::uint64_t x) {
  std::uint64_t z = x + 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}
inline RVecD smear(ULong64_t event, std::size_t n) {
  RVecD out(n);
  const std::uint64_t seed = splitmix64(event);
  for (std::size_t j = 0; j < n; ++j) {
    const std::uint64_t a = splitmix64(seed + j), b = splitmix64(a);
    const double u1 = double((a >> 11) + 1) / 9007199254740992.0;
    const double u2 = double(b >> 11) / 9007199254740992.0;
    out[j] = 1.0 + 0.05 * std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
  }
  return out;
}
template <class F, class T>
int count_leptons(const F& pt, const F& eta, const T& ok, double max_eta, bool tight_is_one) {
  int n = 0;
  for (std::size_t i = 0; i < pt.size(); ++i) {
    const bool quality = tight_is_one ? (ok[i] == 1) : (ok[i] == 0);
    if (double(pt[i]) / 1000.0 > 30 && std::abs(double(eta[i])) < max_eta && quality) ++n;
  }
  return n;
}
template <class I, class F>
ROOT::RVec<char> tagged(const I& index, const F& pb, const F& pc, const F& pu) {
  ROOT::RVec<char> out(index.size());
  for (std::size_t i = 0; i < index.size(); ++i) {
    const auto k = index[i];
    const double d = std::log(double(pb[k]) / (0.018 * double(pc[k]) + 0.982 * double(pu[k])));
    out[i] = d > 2.456;
  }
  return out;
}
struct Selection {
  bool r1 = false, r2 = false;
  double ht = 0, mbjj = NAN;
  double lead[4] = {NAN, NAN, NAN, NAN};
};
template <class F, class C>
Selection select(const RVecD& pt, const F& eta, const F& phi, const F& m, const C& jvt,
                 const ROOT::RVec<char>& btag, bool one_lepton) {
  Selection s;
  std::vector<double> px, py, pz, e; std::vector<char> b;
  int n_b = 0;
  for (std::size_t i = 0; i < pt.size(); ++i) {
    if (!(pt[i] > 30 && std::abs(double(eta[i])) < 2.5 && jvt[i] == 1)) continue;
    if (px.size() < 4) s.lead[px.size()] = pt[i];
    s.ht += pt[i];
    const double x = pt[i] * std::cos(double(phi[i])), y = pt[i] * std::sin(double(phi[i]));
    const double z = pt[i] * std::sinh(double(eta[i])), mm = double(m[i]) / 1000.0;
    px.push_back(x); py.push_back(y); pz.push_back(z);
    e.push_back(std::sqrt(x * x + y * y + z * z + mm * mm)); b.push_back(btag[i]);
    n_b += btag[i];
  }
  const bool base = one_lepton && px.size() >= 4;
  s.r1 = base && n_b == 1; s.r2 = base && n_b >= 2;
  if (s.r2) {
    double best = -1;
    const std::size_t n = px.size();
    for (std::size_t i = 0; i < n; ++i) for (std::size_t j = i + 1; j < n; ++j)
      for (std::size_t k = j + 1; k < n; ++k) {
        if (!(b[i] || b[j] || b[k])) continue;
        const double sx = px[i] + px[j] + px[k], sy = py[i] + py[j] + py[k];
        const double spt = std::sqrt(sx * sx + sy * sy);
        if (spt > best) {
          best = spt;
          const double sz = pz[i] + pz[j] + pz[k], se = e[i] + e[j] + e[k];
          s.mbjj = std::sqrt(std::max(se * se - sx * sx - sy * sy - sz * sz, 0.0));
        }
      }
  }
  return s;
}
}  // namespace agc
"""

_declared = False


def declare(root: Any) -> None:
    global _declared
    if not _declared:
        root.gInterpreter.Declare(CPP)
        _declared = True


def book(root: Any, files: list[str], sample: dict[str, Any]) -> dict[tuple[str, str], Any]:
    """Book every histogram of one sample; returns {(region, variation): RResultPtr<TH1D>}."""
    df = root.RDataFrame("CollectionTree", files)
    aliases = {
        "el_pt": "AnalysisElectronsAuxDyn.pt",
        "el_eta": "AnalysisElectronsAuxDyn.eta",
        "el_tight": "AnalysisElectronsAuxDyn.DFCommonElectronsLHTight",
        "mu_pt": "AnalysisMuonsAuxDyn.pt",
        "mu_eta": "AnalysisMuonsAuxDyn.eta",
        "mu_quality": "AnalysisMuonsAuxDyn.quality",
        "jet_pt": "AnalysisJetsAuxDyn.pt",
        "jet_eta": "AnalysisJetsAuxDyn.eta",
        "jet_phi": "AnalysisJetsAuxDyn.phi",
        "jet_m": "AnalysisJetsAuxDyn.m",
        "jet_jvt": "AnalysisJetsAuxDyn.NNJvtPass",
        "jet_link": "AnalysisJetsAuxDyn.btaggingLink.m_persIndex",
        "pb": "BTagging_AntiKt4EMPFlowAuxDyn.DL1dv01_pb",
        "pc": "BTagging_AntiKt4EMPFlowAuxDyn.DL1dv01_pc",
        "pu": "BTagging_AntiKt4EMPFlowAuxDyn.DL1dv01_pu",
        "event_number": "EventInfoAuxDyn.eventNumber",
    }
    for alias, column in aliases.items():
        df = df.Alias(alias, column)
    is_data = sample["is_data"]
    scale = 1.0 if is_data else sample["xsec"] * sample["luminosity"] / sample["sumw"]
    df = df.Define(
        "one_lepton",
        "agc::count_leptons(el_pt, el_eta, el_tight, 2.47, true)"
        " + agc::count_leptons(mu_pt, mu_eta, mu_quality, 2.5, false) == 1",
    )
    df = df.Define("btag", "agc::tagged(jet_link, pb, pc, pu)")
    df = df.Define("pt_nominal", "ROOT::RVecD(jet_pt) / 1000.0")
    weight = "1.0" if is_data else f"double(EventInfoAuxDyn.mcEventWeights[0]) * {scale!r}"
    df = df.Define("w", weight)
    select = "agc::select({}, jet_eta, jet_phi, jet_m, jet_jvt, btag, one_lepton)"
    df = df.Define("s_nominal", select.format("pt_nominal"))
    variation = "nominal" if is_data else sample["variation"]
    rows: list[tuple[str, str, str]] = [(variation, "s_nominal", "w")]
    if not is_data and variation == "nominal":
        df = df.Define("pt_scale", "pt_nominal * 1.03")
        df = df.Define("pt_res", "pt_nominal * agc::smear(event_number, jet_pt.size())")
        df = df.Define("s_scale", select.format("pt_scale"))
        df = df.Define("s_res", select.format("pt_res"))
        rows += [("pt_scale_up", "s_scale", "w"), ("pt_res_up", "s_res", "w")]
        for i in range(4):
            for side, sign in (("up", "+"), ("down", "-")):
                name = f"w_btag_{i}_{side}"
                df = df.Define(name, f"w * (1 {sign} 0.075 * s_nominal.lead[{i}] / 50)")
                rows.append((f"btag_var_{i}_{side}", "s_nominal", name))
        if sample["process"] == "wjets":
            df = df.Define("w_scale_up", "w * 1.025").Define("w_scale_down", "w * 0.975")
            rows += [
                ("scale_var_up", "s_nominal", "w_scale_up"),
                ("scale_var_down", "s_nominal", "w_scale_down"),
            ]
    booked = {}
    for sel in {r[1] for r in rows}:
        df = df.Define(f"{sel}_ht", f"{sel}.ht").Define(f"{sel}_mbjj", f"{sel}.mbjj")
    for name, sel, w in rows:
        for region, flag, obs in (("4j1b", "r1", "ht"), ("4j2b", "r2", "mbjj")):
            model = root.RDF.TH1DModel(f"{region}_{name}", "", 25, 50.0, 550.0)
            booked[(region, name)] = df.Filter(f"{sel}.{flag}").Histo1D(model, f"{sel}_{obs}", w)
    return booked


def contents(h: Any) -> tuple[np.ndarray, np.ndarray]:
    """(sum of weights, sum of squared weights) of a TH1D including flow bins."""
    n = h.GetNbinsX() + 2
    return (
        np.array([h.GetBinContent(i) for i in range(n)]),
        np.array([h.GetBinError(i) ** 2 for i in range(n)]),
    )
