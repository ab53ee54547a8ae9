"""Spec §6: AGC histograms -> cabinetry configuration (in memory) -> pyhf workspace -> fit.

The configuration is a Python dict built here; cabinetry's template building is routed to a
function that cuts afkit's ``hist.Hist`` objects to the fit binning, so no ROOT file is written
or read on the way (cabinetry keeps its templates as ``.npz`` in a scratch folder).
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from afkit.agc import spec
from afkit.exceptions import ConfigError
from afkit.extras import require

#: Modifier names of the statistical model (systematic name -> what it is built from).
MC_SAMPLES = list(spec.MC_PROCESSES)


def _systematics() -> list[dict[str, Any]]:
    def one_sided(name: str, variation: str, samples: list[str]) -> dict[str, Any]:
        return {
            "Name": name,
            "Up": {"VariationPath": f"_{variation}"},
            "Down": {"Symmetrize": True},
            "Samples": samples,
            "Type": "NormPlusShape",
        }

    def two_sided(name: str, up: str, down: str, samples: list[str]) -> dict[str, Any]:
        return {
            "Name": name,
            "Up": {"VariationPath": f"_{up}"},
            "Down": {"VariationPath": f"_{down}"},
            "Samples": samples,
            "Type": "NormPlusShape",
        }

    systematics = [
        one_sided("ME_variation", "ME_var", ["ttbar"]),
        one_sided("PS_variation", "PS_var", ["ttbar"]),
        two_sided("ttbar_scale", "scaleup", "scaledown", ["ttbar"]),
        one_sided("jet_energy_scale", spec.PT_SCALE_UP, MC_SAMPLES),
        one_sided("jet_energy_resolution", spec.PT_RES_UP, MC_SAMPLES),
    ]
    for i in range(spec.BTAG_JETS):
        systematics.append(
            two_sided(f"btag_NP_{i + 1}", f"btag_var_{i}_up", f"btag_var_{i}_down", MC_SAMPLES)
        )
    systematics.append(two_sided("wjets_scale", "scale_var_up", "scale_var_down", ["wjets"]))
    systematics.append(
        {
            "Name": "luminosity",
            "Up": {"Normalization": spec.LUMINOSITY_UNCERTAINTY},
            "Down": {"Normalization": -spec.LUMINOSITY_UNCERTAINTY},
            "Samples": MC_SAMPLES,
            "Type": "Normalization",
        }
    )
    return systematics


def cabinetry_config(
    histogram_folder: str | Path,
    *,
    pseudo_data: bool = False,
    channels: list[str] | None = None,
) -> dict[str, Any]:
    """The cabinetry configuration of spec §6 (regions, samples, systematics, POI); with
    ``channels`` the same model over other histograms (the ML validation, §8.7)."""
    data_name = "pseudodata" if pseudo_data else spec.DATA
    regions = (
        [{"Name": r.name, "RegionPath": r.name, "Variable": r.observable} for r in spec.REGIONS]
        if channels is None
        else [{"Name": c, "RegionPath": c, "Variable": c} for c in channels]
    )
    return {
        "General": {
            "Measurement": "afkit_agc_ttbar",
            "POI": spec.POI,
            "HistogramFolder": str(histogram_folder),
            # templates come from afkit's histograms in memory (see template_histogram);
            # the path names them the way afkit's ROOT output does
            "InputPath": "histograms.root:{RegionPath}_{SamplePath}{VariationPath}",
            "VariationPath": "",
        },
        "Regions": regions,
        "Samples": [{"Name": data_name, "SamplePath": data_name, "Data": True}]
        + [{"Name": p, "SamplePath": p} for p in spec.MC_PROCESSES],
        "Systematics": _systematics(),
        "NormFactors": [
            {
                "Name": spec.POI,
                "Samples": "ttbar",
                "Nominal": 1.0,
                "Bounds": list(spec.POI_BOUNDS),
            }
        ],
    }


def fit_bin_edges() -> np.ndarray:
    """11 bins of 40 GeV over [110, 550)."""
    width = (spec.HI - spec.LO) / spec.NBINS * spec.FIT_MERGE
    return np.arange(spec.FIT_LO, spec.FIT_HI + width / 2, width)


def to_fit_binning(values: np.ndarray) -> np.ndarray:
    """Cut per-bin ``values`` (the 25 analysis bins, no flow) to [110, 550), merge pairs."""
    width = (spec.HI - spec.LO) / spec.NBINS
    first = round((spec.FIT_LO - spec.LO) / width)
    last = round((spec.FIT_HI - spec.LO) / width)
    cut = np.asarray(values, dtype=np.float64)[first:last]
    merged: np.ndarray = cut.reshape(-1, spec.FIT_MERGE).sum(axis=1)
    return merged


def template(
    hists: dict[str, Any], region: str, process: str, variation: str
) -> tuple[np.ndarray, np.ndarray]:
    """(sum of weights, sum of squared weights) of one template in the fit binning.

    MC bins whose sum of weights is negative (possible with negative-weight generators and few
    events) are set to 0 — a negative expectation has no Poisson meaning; the variance is kept.
    """
    h = hists[region][:, process, variation]
    cut, _ = channel_binning(region)
    values = cut(h.values())
    if process != spec.DATA:
        values = np.where(values > 0, values, 0.0)
    return values, cut(h.variances())


def channel_binning(channel: str) -> tuple[Any, np.ndarray]:
    """How a channel's histogram becomes its template: ``(cut, edges)``.  The §6 regions are
    cut to [110, 550) and merged in pairs; the ML validation channels (§8.7) keep their 25
    bins without flow."""
    if channel in spec.ML_FEATURES:
        lo, hi = spec.ML_RANGES[spec.ML_FEATURES.index(channel)]
        edges = np.linspace(lo, hi, spec.ML_NBINS + 1)
        return (lambda values: np.asarray(values, dtype=np.float64)), edges
    return to_fit_binning, fit_bin_edges()


def pseudo_data(hists: dict[str, Any], region: str) -> tuple[np.ndarray, np.ndarray]:
    """The AGC code's pseudo-data: ½ (ttbar ME_var + ttbar PS_var) + wjets (spec §6)."""
    me = template(hists, region, "ttbar", "ME_var")
    ps = template(hists, region, "ttbar", "PS_var")
    wjets = template(hists, region, "wjets", spec.NOMINAL)
    return 0.5 * (me[0] + ps[0]) + wjets[0], 0.25 * (me[1] + ps[1]) + wjets[1]


def _boost_histogram(
    values: np.ndarray, variances: np.ndarray, edges: np.ndarray | None = None
) -> Any:
    import boost_histogram as bh

    edges = fit_bin_edges() if edges is None else edges
    h = bh.Histogram(bh.axis.Variable(edges), storage=bh.storage.Weight())
    view = h.view()
    view.value = values
    view.variance = variances
    return h


def build_workspace(
    hists: dict[str, Any],
    *,
    pseudo_data_: bool = False,
    workdir: str | Path | None = None,
    pruned: list[str] | None = None,
    channels: list[str] | None = None,
    offset: float = 0.0,
) -> dict[str, Any]:
    """The pyhf workspace of spec §6 from the region histograms (``{region: hist.Hist}``).

    Systematics that are undefined for a sample in a channel are removed
    (:func:`prune_ill_defined`); their descriptions are appended to ``pruned`` if given.
    ``channels`` (other histograms of ``hists``) and ``offset`` (added to every template bin)
    build the ML validation workspace instead (:func:`ml_validation`).
    """
    cabinetry = require("cabinetry", "the AGC fit")
    names = [r.name for r in spec.REGIONS] if channels is None else list(channels)
    missing = [name for name in names if name not in hists]
    if missing:
        raise ConfigError(f"histograms for regions {missing} are missing; have {sorted(hists)}")
    if channels is None:
        _check_templates(hists)
    quiet = _Quiet("cabinetry")  # empty bins of small samples are normal; checked above instead
    with quiet, tempfile.TemporaryDirectory(prefix="afkit-cabinetry-", dir=workdir) as folder:
        config = cabinetry_config(folder, pseudo_data=pseudo_data_, channels=channels)
        cabinetry.configuration.validate(config)
        router = cabinetry.route.Router()

        @router.register_template_builder()  # type: ignore[untyped-decorator]
        def from_afkit_histograms(
            region: dict[str, Any],
            sample: dict[str, Any],
            systematic: dict[str, Any],
            template_name: str | None,
        ) -> Any:
            name = region["Name"]
            edges = channel_binning(name)[1]
            if sample.get("Data"):
                if pseudo_data_:
                    values, variances = pseudo_data(hists, name)
                else:
                    values, variances = template(hists, name, spec.DATA, spec.NOMINAL)
            else:
                variation = spec.NOMINAL
                if template_name is not None:
                    variation = systematic[template_name]["VariationPath"].lstrip("_")
                values, variances = template(hists, name, sample["Name"], variation)
            return _boost_histogram(values + offset, variances, edges)

        cabinetry.templates.build(config, router=router)
        cabinetry.templates.postprocess(config)
        workspace: dict[str, Any] = cabinetry.workspace.build(config)
    removed = prune_ill_defined(workspace)
    for line in removed:
        logging.getLogger("afkit.agc").warning("pruned %s", line)
    if pruned is not None:
        pruned.extend(removed)
    return workspace


def prune_ill_defined(workspace: dict[str, Any]) -> list[str]:
    """Remove the systematics of a sample in a channel where they are undefined; say which.

    A normalisation effect is a ratio of yields: it is undefined (0/0, or <= 0 after
    symmetrisation) where a sample's nominal or varied yield in the channel vanishes — with
    small MC samples this happens to minor backgrounds.  Such a modifier pair (normsys and its
    histosys) would make the likelihood NaN; it is removed and reported instead.
    """
    removed = []
    for channel in workspace["channels"]:
        for sample in channel["samples"]:
            bad = set()
            for modifier in sample["modifiers"]:
                if modifier["type"] == "normsys":
                    hi, lo = modifier["data"]["hi"], modifier["data"]["lo"]
                    if not (np.isfinite(hi) and np.isfinite(lo) and hi > 0 and lo > 0):
                        bad.add(modifier["name"])
            if bad:
                sample["modifiers"] = [
                    m
                    for m in sample["modifiers"]
                    if not (m["name"] in bad and m["type"] in ("normsys", "histosys"))
                ]
                removed += [
                    f"{name} on {sample['name']} in {channel['name']}" for name in sorted(bad)
                ]
    return removed


def _check_templates(hists: dict[str, Any]) -> None:
    """Every fit bin needs a positive total MC prediction, or the likelihood is undefined."""
    for region in spec.REGIONS:
        total = np.sum(
            [template(hists, region.name, p, spec.NOMINAL)[0] for p in spec.MC_PROCESSES], axis=0
        )
        empty = [
            f"[{lo:g}, {hi:g})"
            for lo, hi, value in zip(fit_bin_edges()[:-1], fit_bin_edges()[1:], total, strict=True)
            if not value > 0
        ]
        if empty:
            raise ConfigError(
                f"region {region.name}: the MC prediction is empty in fit bins "
                f"{', '.join(empty)}; the fit needs more MC events (generate larger samples)"
            )


class _Quiet:
    """Raise a logger's level to ERROR inside a ``with`` block."""

    def __init__(self, name: str) -> None:
        self.logger = logging.getLogger(name)
        self.level = self.logger.level

    def __enter__(self) -> None:
        self.level = self.logger.level
        self.logger.setLevel(logging.ERROR)

    def __exit__(self, *exc: object) -> None:
        self.logger.setLevel(self.level)


@dataclass(frozen=True)
class Prediction:
    """Yields per channel and sample in the fit binning, with the total's uncertainty."""

    label: str
    yields: dict[str, dict[str, list[float]]]  # channel -> sample -> per bin
    total_uncertainty: dict[str, list[float]]  # channel -> per bin


@dataclass(frozen=True)
class FitResult:
    """The maximum-likelihood fit of the AGC model (spec §6)."""

    poi: str
    value: float
    uncertainty: float
    pulls: dict[str, tuple[float, float]]  # nuisance parameter -> (pull, post-fit uncertainty)
    normfactors: dict[str, tuple[float, float]]
    bin_edges: list[float]
    data: dict[str, list[float]]  # channel -> observed per bin
    prefit: Prediction
    postfit: Prediction
    twice_nll: float
    # every parameter at the best fit, for evaluating other models there (§8.7)
    labels: list[str] = field(default_factory=list)
    bestfit: list[float] = field(default_factory=list)
    bestfit_uncertainty: list[float] = field(default_factory=list)
    correlation: list[list[float]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _prediction(model: Any, result: Any | None, label: str) -> Prediction:
    import cabinetry

    predicted = cabinetry.model_utils.prediction(model, fit_results=result, label=label)
    channels, samples = model.config.channels, model.config.samples
    yields = {
        c: {s: [float(v) for v in predicted.model_yields[ci][si]] for si, s in enumerate(samples)}
        for ci, c in enumerate(channels)
    }
    total = {
        c: [float(v) for v in predicted.total_stdev_model_bins[ci][-1]]
        for ci, c in enumerate(channels)
    }
    return Prediction(label, yields, total)


def _data_per_channel(model: Any, data: Any) -> list[list[float]]:
    """The observed bin contents of each channel (``data`` without the auxiliary data), from
    pyhf's public model config (channel order, each channel's slice of the main data)."""
    main = [float(v) for v in data[: model.config.nmaindata]]
    return [main[model.config.channel_slices[c]] for c in model.config.channels]


def fit(workspace: dict[str, Any]) -> FitResult:
    """Maximum-likelihood fit with cabinetry (MINUIT, Hessian uncertainties)."""
    import cabinetry

    model, data = cabinetry.model_utils.model_and_data(workspace)
    try:
        result = cabinetry.fit.fit(model, data)
    except Exception as err:
        raise ConfigError(f"the maximum-likelihood fit failed: {err}") from err
    labels = list(result.labels)
    poi = labels.index(spec.POI)
    prefit_unc = cabinetry.model_utils.prefit_uncertainties(model)
    nominal = cabinetry.model_utils.asimov_parameters(model)
    pulls: dict[str, tuple[float, float]] = {}
    normfactors: dict[str, tuple[float, float]] = {}
    for i, label in enumerate(labels):
        best, unc = float(result.bestfit[i]), float(result.uncertainty[i])
        if prefit_unc[i] == 0.0:  # unconstrained: normalisation factors (the POI among them)
            normfactors[label] = (best, unc)
        elif not label.startswith("staterror"):
            pulls[label] = (
                (best - float(nominal[i])) / float(prefit_unc[i]),
                unc / float(prefit_unc[i]),
            )
    observed = _data_per_channel(model, data)
    return FitResult(
        poi=spec.POI,
        value=float(result.bestfit[poi]),
        uncertainty=float(result.uncertainty[poi]),
        pulls=pulls,
        normfactors=normfactors,
        bin_edges=[float(e) for e in fit_bin_edges()],
        data={c: [float(v) for v in observed[i]] for i, c in enumerate(model.config.channels)},
        prefit=_prediction(model, None, "pre-fit"),
        postfit=_prediction(model, result, "post-fit"),
        twice_nll=float(result.best_twice_nll),
        labels=labels,
        bestfit=[float(v) for v in result.bestfit],
        bestfit_uncertainty=[float(v) for v in result.uncertainty],
        correlation=[[float(v) for v in row] for row in result.corr_mat],
    )


@dataclass(frozen=True)
class Validation:
    """The ML validation workspace (spec §8.7) evaluated, not fitted."""

    workspace: dict[str, Any]
    channels: list[str]
    bin_edges: dict[str, list[float]]
    data: dict[str, list[float]]
    prefit: Prediction
    bestfit: Prediction  # at the §6 fit's best-fit parameters

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k != "workspace"}


def ml_validation(
    hists: dict[str, Any],
    fit_result: FitResult,
    *,
    pseudo_data_: bool = False,
    workdir: str | Path | None = None,
) -> Validation:
    """Spec §8.7: one channel per ML histogram of features 0, 1, 2, 4, 5, 6, 7 (25 bins, no
    flow), the §6 samples, modifiers, ``ttbar_norm`` and data rule, every bin offset by
    1e-6 as the AGC's export does; evaluated pre-fit and at ``fit_result``'s best fit
    (cabinetry's ``match_fit_results``), not fitted."""
    cabinetry = require("cabinetry", "the ML validation")
    channels = [spec.ML_FEATURES[i] for i in spec.ML_VALIDATION_FEATURES]
    workspace = build_workspace(
        hists,
        pseudo_data_=pseudo_data_,
        workdir=workdir,
        channels=channels,
        offset=spec.ML_EXPORT_OFFSET,
    )
    model, data = cabinetry.model_utils.model_and_data(workspace)
    best = cabinetry.fit.FitResults(
        np.asarray(fit_result.bestfit),
        np.asarray(fit_result.bestfit_uncertainty),
        list(fit_result.labels),
        np.asarray(fit_result.correlation),
        fit_result.twice_nll,
    )
    matched = cabinetry.model_utils.match_fit_results(model, best)
    observed = _data_per_channel(model, data)
    return Validation(
        workspace=workspace,
        channels=list(model.config.channels),
        bin_edges={c: [float(e) for e in channel_binning(c)[1]] for c in model.config.channels},
        data={c: observed[i] for i, c in enumerate(model.config.channels)},
        prefit=_prediction(model, None, "pre-fit"),
        bestfit=_prediction(model, matched, "best-fit"),
    )
