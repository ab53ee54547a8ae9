"""mplhep plots of the AGC fit: pre- and post-fit stacks per region, nuisance-parameter pulls."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from afkit.agc import spec
from afkit.agc.statistics import FitResult, Prediction, Validation
from afkit.extras import require

LABELS = {
    "ttbar": r"$t\bar{t}$",
    "wjets": "W+jets",
    "single_top_s_chan": "single top, s-chan.",
    "single_top_t_chan": "single top, t-chan.",
    "single_top_tW": "tW",
}


def _pyplot():  # type: ignore[no-untyped-def]
    matplotlib = require("matplotlib", "plots")
    matplotlib.use("Agg")
    plt = require("matplotlib.pyplot", "plots")
    mplhep = require("mplhep", "plots")
    return plt, mplhep


def stack(
    result: FitResult | Validation, prediction: Prediction, region: str, path: str | Path
) -> Path:
    """Stacked prediction with its uncertainty band and the data of one region (of the
    fit, or one channel of the ML validation)."""
    plt, mplhep = _pyplot()
    edges = np.asarray(
        result.bin_edges[region] if isinstance(result, Validation) else result.bin_edges
    )
    samples = sorted(prediction.yields[region], key=lambda s: sum(prediction.yields[region][s]))
    fig, ax = plt.subplots(figsize=(6, 5))
    mplhep.histplot(
        [np.asarray(prediction.yields[region][s]) for s in samples],
        bins=edges,
        stack=True,
        histtype="fill",
        label=[LABELS.get(s, s) for s in samples],
        ax=ax,
    )
    total = np.sum([prediction.yields[region][s] for s in samples], axis=0)
    band = np.asarray(prediction.total_uncertainty[region])
    ax.stairs(
        total + band,
        edges,
        baseline=total - band,
        fill=True,
        hatch="///",
        alpha=0.0,
        label="uncertainty",
        color="gray",
    )
    data = np.asarray(result.data[region])
    centres = 0.5 * (edges[1:] + edges[:-1])
    ax.errorbar(centres, data, yerr=np.sqrt(data), fmt="ko", label="data")
    observable = {r.name: r.label for r in spec.REGIONS}.get(region, region)
    ax.set_xlabel(observable)
    ax.set_ylabel("events / bin")
    ax.set_title(f"{region}, {prediction.label}")
    ax.set_ylim(0, max(total.max(initial=0), data.max(initial=0)) * 1.4 + 1)
    ax.legend(fontsize="small")
    target = Path(path)
    fig.savefig(target, bbox_inches="tight")
    plt.close(fig)
    return target


def pulls(result: FitResult, path: str | Path) -> Path:
    """Post-fit pulls and constraints of every constrained nuisance parameter (not staterror)."""
    plt, _ = _pyplot()
    names = list(result.pulls)
    values = np.array([result.pulls[n][0] for n in names])
    errors = np.array([result.pulls[n][1] for n in names])
    y = np.arange(len(names))[::-1]
    fig, ax = plt.subplots(figsize=(6, 0.35 * len(names) + 1.2))
    ax.axvspan(-2, 2, color="yellow", alpha=0.4)
    ax.axvspan(-1, 1, color="limegreen", alpha=0.4)
    ax.errorbar(values, y, xerr=errors, fmt="ko")
    ax.set_yticks(y, names)
    ax.set_xlim(-3, 3)
    ax.set_xlabel(r"$(\hat{\theta} - \theta_0) / \Delta\theta$")
    ax.set_title(f"{result.poi} = {result.value:.3f} ± {result.uncertainty:.3f}")
    target = Path(path)
    fig.savefig(target, bbox_inches="tight")
    plt.close(fig)
    return target
