"""The AGC ttbar analysis written by hand, as a physicist writes their own analysis.

It uses only afkit.read/afkit.run (the events), awkward arrays, afkit's kernels (the hot
steps: counts, sums, the trijet search, the fill) and hist — not afkit.agc.  The histograms it
writes equal afkit's AGC engine's bin by bin (tests/agc/test_by_hand.py checks it), and it
runs nearly as fast (benchmarks/bench_by_hand.py measures it).

    python examples/agc_by_hand.py FILESET.json OUT.json [--workers N] [--chunksize N]

OUT.json: {"hists": {"<region>/<process>/<variation>": {"sumw": [...], "sumw2": [...]}}}, 27
bins each (25 + under/overflow), only the histograms that were filled.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import awkward as ak
import hist
import numpy as np

import afkit
from afkit import kernels

VARIATIONS = [
    "nominal", "scaleup", "scaledown", "ME_var", "PS_var", "pt_scale_up", "pt_res_up",
    *(f"btag_var_{i}_{s}" for i in range(4) for s in ("up", "down")),
    "scale_var_up", "scale_var_down",
]  # fmt: skip
PROCESSES = ["ttbar", "single_top_s_chan", "single_top_t_chan", "single_top_tW", "wjets", "data"]


def new_histogram() -> hist.Hist:
    return hist.Hist(
        hist.axis.Regular(25, 50, 550, name="observable"),
        hist.axis.StrCategory(PROCESSES, name="process"),
        hist.axis.StrCategory(VARIATIONS, name="variation"),
        storage=hist.storage.Weight(),
    )


class AGCByHand:
    """Spec §2-5: objects, regions, HT and m_bjj, all variations."""

    def process(self, events: Any, context: afkit.WorkContext) -> dict[str, hist.Hist]:
        meta = context.metadata
        process = "data" if meta["is_data"] else meta["process"]
        variation = "nominal" if meta["is_data"] else meta["variation"]
        if meta["is_data"]:
            weight = np.ones(len(events))
        else:
            mc = ak.to_numpy(events.EventInfo.mcEventWeights[:, 0]).astype(np.float64)
            weight = mc * (meta["xsec"] * meta["luminosity"] / meta["sumw"])

        el, mu, jets = events.Electrons, events.Muons, events.Jets
        good_el = (el.pt > 30) & (abs(el.eta) < 2.47) & (el.DFCommonElectronsLHTight == 1)
        good_mu = (mu.pt > 30) & (abs(mu.eta) < 2.5) & (mu.quality == 0)
        one_lepton = ak.to_numpy(kernels.count(good_el) + kernels.count(good_mu) == 1)

        quality = (abs(jets.eta) < 2.5) & (jets.NNJvtPass == 1)
        pb, pc, pu = (kernels.gather(jets.btagging[f"DL1dv01_{x}"]) for x in ("pb", "pc", "pu"))
        with np.errstate(divide="ignore", invalid="ignore"):
            tagged = np.log(pb / (0.018 * pc + 0.982 * pu)) > 2.456

        def select(pt: Any) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], Any]:
            """Regions and observables with this jet pT (§2-4)."""
            selected = (pt > 30) & quality
            btagged = selected & tagged
            n_jets, n_btags = (
                ak.to_numpy(kernels.count(selected)),
                ak.to_numpy(kernels.count(btagged)),
            )
            four_jets = one_lepton & (n_jets >= 4)
            regions = {"4j1b": four_jets & (n_btags == 1), "4j2b": four_jets & (n_btags >= 2)}
            ht = ak.to_numpy(kernels.sum(pt, selected))
            varied = ak.with_field(jets, pt, "pt")
            in_4j2b = selected & regions["4j2b"]  # the trijet search needs 4j2b events only
            m_bjj = kernels.best_trijet_mass(varied, btagged, mask=in_4j2b)
            observables = {"4j1b": ht, "4j2b": ak.to_numpy(ak.fill_none(m_bjj, np.nan))}
            return regions, observables, selected

        regions, observables, selected = select(jets.pt)
        rows = [(variation, regions, observables, weight)]
        if variation == "nominal" and not meta["is_data"]:
            for name, pt in (
                ("pt_scale_up", jets.pt * 1.03),
                (
                    "pt_res_up",
                    jets.pt * kernels.smearing_factors(events.EventInfo.eventNumber, jets.pt),
                ),
            ):
                rows.append((name, *select(pt)[:2], weight))
            leading = ak.to_numpy(ak.fill_none(kernels.leading(jets.pt, 4, selected), np.nan))
            for i in range(4):
                shift = 0.075 * leading[:, i] / 50.0
                rows.append((f"btag_var_{i}_up", regions, observables, weight * (1.0 + shift)))
                rows.append((f"btag_var_{i}_down", regions, observables, weight * (1.0 - shift)))
            if process == "wjets":
                rows.append(("scale_var_up", regions, observables, weight * (1.0 + 0.025)))
                rows.append(("scale_var_down", regions, observables, weight * (1.0 - 0.025)))

        out = {}
        for region in ("4j1b", "4j2b"):
            out[region] = kernels.fill_hist(
                new_histogram(),
                [obs[region] for _, _, obs, _ in rows],
                weight=[w for *_, w in rows],
                selected=[reg[region] for _, reg, _, _ in rows],
                process=process,
                variation=[name for name, *_ in rows],
            )
        return out


def histograms_json(hists: dict[str, hist.Hist]) -> dict[str, Any]:
    """``{"hists": {"region/process/variation": {"sumw", "sumw2"}}}`` of the filled ones."""
    out: dict[str, Any] = {}
    for region, h in sorted(hists.items()):
        view = h.view(flow=True)
        for p, process in enumerate(h.axes["process"]):
            for v, variation in enumerate(h.axes["variation"]):
                sumw, sumw2 = view.value[:, p, v], view.variance[:, p, v]
                if np.any(sumw != 0) or np.any(sumw2 != 0):
                    key = f"{region}/{process}/{variation}"
                    out[key] = {"sumw": sumw.tolist(), "sumw2": sumw2.tolist()}
    return {"hists": out}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("fileset")
    parser.add_argument("output")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--chunksize", type=int, default=100_000)
    parser.add_argument("--executor", default="processes")
    args = parser.parse_args()
    start = time.perf_counter()
    result, report = afkit.run(
        AGCByHand(),
        afkit.Fileset.load(args.fileset),
        executor=args.executor,
        workers=args.workers,
        chunksize=args.chunksize,
    )
    seconds = time.perf_counter() - start
    if not report.complete:
        raise SystemExit(f"not every event was processed: {report.failures}")
    with open(args.output, "w") as handle:
        json.dump(histograms_json(result), handle)
    print(f"{report.events_processed} events in {seconds:.2f} s; histograms in {args.output}")


if __name__ == "__main__":
    main()
