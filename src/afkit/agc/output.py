"""AGC outputs: histograms as a ROOT file in the AGC naming, the fit result as JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from afkit.agc import spec


def template_names() -> Iterator[tuple[str, str, str]]:
    """``(process, variation, suffix)`` of every histogram the analysis defines (spec §5)."""
    for process in spec.MC_PROCESSES:
        yield process, spec.NOMINAL, ""
        if process == "ttbar":
            for variation in spec.ALTERNATIVE_TTBAR:
                yield process, variation, f"_{variation}"
        for variation in (spec.PT_SCALE_UP, spec.PT_RES_UP, *spec.BTAG_VARIATIONS):
            yield process, variation, f"_{variation}"
        if process == "wjets":
            for variation in spec.WJETS_VARIATIONS:
                yield process, variation, f"_{variation}"
    yield spec.DATA, spec.NOMINAL, ""


def write_root(hists: dict[str, Any], path: str | Path, *, pseudo_data: bool = False) -> Path:
    """Write ``{region}_{process}[_{variation}]`` TH1Ds (the full analysis binning, flow kept),
    and ``{feature}_{process}[_{variation}]`` for the ML histograms present (spec §8.6).

    With ``pseudo_data`` also ``{region}_pseudodata`` (½ (ME_var + PS_var) + wjets).
    """
    import uproot

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with uproot.recreate(target) as out:
        for region in spec.REGIONS:
            h = hists[region.name]
            for process, variation, suffix in template_names():
                out[f"{region.name}_{process}{suffix}"] = h[:, process, variation]
            if pseudo_data:
                wjets = h[:, "wjets", spec.NOMINAL]
                me, ps = h[:, "ttbar", "ME_var"], h[:, "ttbar", "PS_var"]
                out[f"{region.name}_pseudodata"] = (me + ps) * 0.5 + wjets
        for feature in spec.ML_FEATURES:  # the ML step's, when it ran (spec §8.6)
            if feature in hists:
                h = hists[feature]
                for process, variation, suffix in template_names():
                    out[f"{feature}_{process}{suffix}"] = h[:, process, variation]
    return target


def write_json(payload: dict[str, Any], path: str | Path) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(payload, indent=2, sort_keys=False) + "\n")
    return target
