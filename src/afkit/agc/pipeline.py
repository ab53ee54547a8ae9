"""The AGC end to end: fileset -> histograms (afkit.run) -> fit -> ROOT/JSON/plots."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from afkit.agc import output, plots, spec, statistics
from afkit.agc.processor import AGCProcessor
from afkit.exceptions import ConfigError
from afkit.executors import RunReport
from afkit.executors import run as run_processor
from afkit.fileset import Fileset

DEFAULT_EVENTS_PER_SAMPLE = 10_000
DEFAULT_SEED = 42
DATASET_VERSION = 3  # bump when the generator's output changes (3: the ML step's branches)


@dataclass
class AGCResult:
    """What :func:`run` produced: the fit, the histograms, the run report and the outputs."""

    fit: statistics.FitResult
    hists: dict[str, Any]
    report: RunReport
    events: dict[str, dict[str, int]]
    seconds: dict[str, float]
    injected_mu: float | None
    pruned: list[str] = field(default_factory=list)  # systematics removed where undefined
    outputs: dict[str, Path] = field(default_factory=dict)
    validation: statistics.Validation | None = None  # the ML step's (spec §8.7), if it ran

    def summary(self) -> dict[str, Any]:
        """JSON-ready result (what ``result.json`` holds)."""
        return {
            "poi": self.fit.poi,
            "ttbar_norm": {"value": self.fit.value, "uncertainty": self.fit.uncertainty},
            "injected_mu": self.injected_mu,
            "fit": self.fit.to_dict(),
            "pruned_systematics": self.pruned,
            "run": {
                "executor": self.report.executor,
                "chunks": self.report.chunks,
                "events_planned": self.report.events_planned,
                "events_processed": self.report.events_processed,
                "events_skipped": self.report.events_skipped,
                "complete": self.report.complete,
                "from_checkpoint": self.report.from_checkpoint,
                "bytes_read": self.report.bytes_read,
                "lost_workers": [w.describe() for w in self.report.lost_workers],
                "retried": [f"{r.chunk} ({r.reason})" for r in self.report.retried],
                "dashboard": self.report.dashboard,
                "seconds": self.seconds,
                "per_sample": self.events,
            },
            "outputs": {k: str(v) for k, v in self.outputs.items()},
        }


def default_dataset(
    *,
    events_per_sample: int = DEFAULT_EVENTS_PER_SAMPLE,
    seed: int = DEFAULT_SEED,
    mu: float = 1.0,
    cache: str | os.PathLike[str] | None = None,
    workers: int | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> Path:
    """The fileset JSON of the default synthetic dataset; generated on first use, then reused.

    It lives under ``$AFKIT_CACHE/datasets`` (default ``~/.cache/afkit/datasets``), named by
    its parameters; a dataset whose files are incomplete is written again.
    """
    root = Path(cache or os.environ.get("AFKIT_CACHE") or Path.home() / ".cache" / "afkit")
    name = f"agc-v{DATASET_VERSION}-n{events_per_sample}-seed{seed}-mu{mu:g}"
    folder = root / "datasets" / name
    fileset_path = folder / "fileset.json"
    if fileset_path.exists():
        fileset = Fileset.load(fileset_path)
        if all(
            Path(fileset.resolve(f)).is_file() for s in fileset.samples.values() for f in s.files
        ):
            return fileset_path
    from afkit.datagen import generate

    report = generate(
        folder,
        events_per_sample=events_per_sample,
        seed=seed,
        mu=mu,
        workers=workers,
        progress=progress,
    )
    return report.fileset_path


def _injected_mu(fileset: Fileset) -> float | None:
    for sample in fileset.samples.values():
        if sample.is_data and sample.injected_mu is not None:
            return float(sample.injected_mu)
    return None


def _check_fileset(fileset: Fileset, pseudo_data: bool) -> None:
    have = {(s.process, s.variation) for s in fileset.samples.values() if not s.is_data}
    need = {(p, spec.NOMINAL) for p in spec.MC_PROCESSES}
    need |= {("ttbar", v) for v in spec.ALTERNATIVE_TTBAR}
    missing = sorted(need - have)
    if missing:
        raise ConfigError(
            "the fileset lacks AGC samples (process, variation): "
            + ", ".join(f"{p}/{v}" for p, v in missing)
        )
    if not pseudo_data and not any(s.is_data for s in fileset.samples.values()):
        raise ConfigError("the fileset has no data sample: add one or use pseudo-data")


def run(
    fileset: Fileset | str | os.PathLike[str],
    *,
    outdir: str | os.PathLike[str] = "agc-output",
    executor: str = "processes",
    backend: str = "cpu",
    workers: int | None = None,
    chunksize: int = 100_000,
    pseudo_data: bool = False,
    make_plots: bool = True,
    progress: Callable[[int, int], None] | None = None,
    client: Any = None,
    site: Any = None,
    checkpoint: str | os.PathLike[str] | None = None,
    ml: bool = True,
    ml_engine: str = "afkit",
) -> AGCResult:
    """Run the AGC (spec §1-6) over ``fileset`` and write its outputs to ``outdir``.

    Outputs: ``histograms.root`` (AGC naming), ``result.json`` (fit, yields, run report) and,
    with ``make_plots``, ``{region}_prefit.png``, ``{region}_postfit.png``, ``pulls.png``.
    ``client`` (dask), ``site`` (jobqueue) and ``checkpoint`` (a directory that makes a
    killed run resumable: a rerun processes only the chunks it lacks) are passed to
    :func:`afkit.run`.  ``ml`` (default on) adds the ML step of spec §8: the 20 histograms of
    the chosen jet permutation's features in 4j2b, by feature name, in ``hists`` and in
    ``histograms.root``; they do not enter the fit.  ``ml_engine="xgboost"`` scores the
    permutations with xgboost's predictor instead of afkit's kernel (same histograms).
    """
    if not isinstance(fileset, Fileset):
        fileset = Fileset.load(fileset)
    _check_fileset(fileset, pseudo_data)
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    result, report = run_processor(
        AGCProcessor(backend, ml=ml, ml_engine=ml_engine),
        fileset,
        executor=executor,  # type: ignore[arg-type]
        chunksize=chunksize,
        workers=workers,
        progress=progress,
        client=client,
        site=site,
        checkpoint=checkpoint,
    )
    if not report.complete:  # on_error="fail": never expected, but never silent either
        raise ConfigError(f"the run did not process every event: {report.failures}")
    histograms_done = time.perf_counter()
    hists = result["hists"]
    pruned: list[str] = []
    workspace = statistics.build_workspace(
        hists, pseudo_data_=pseudo_data, workdir=out, pruned=pruned
    )
    fit = statistics.fit(workspace)
    fit_done = time.perf_counter()
    seconds = {
        "histograms": histograms_done - start,
        "read": result["timing"]["read"],
        "compute": result["timing"]["compute"],
        "fit": fit_done - histograms_done,
    }
    agc = AGCResult(
        fit, hists, report, result["events"], seconds, _injected_mu(fileset), pruned=pruned
    )
    agc.outputs["histograms"] = output.write_root(
        hists, out / "histograms.root", pseudo_data=pseudo_data
    )
    agc.outputs["workspace"] = output.write_json(workspace, out / "workspace.json")
    if ml and all(name in hists for name in spec.ML_FEATURES):
        validation = statistics.ml_validation(hists, fit, pseudo_data_=pseudo_data, workdir=out)
        agc.validation = validation
        agc.outputs["ml_workspace"] = output.write_json(
            validation.workspace, out / "ml_validation_workspace.json"
        )
        agc.outputs["ml_validation"] = output.write_json(
            validation.to_dict(), out / "ml_validation.json"
        )
        if make_plots:
            for channel in validation.channels:
                for prediction in (validation.prefit, validation.bestfit):
                    tag = prediction.label.replace("-", "")
                    agc.outputs[f"{channel}_{tag}"] = plots.stack(
                        validation, prediction, channel, out / f"ml_{channel}_{tag}.png"
                    )
    if make_plots:
        for region in spec.REGIONS:
            for prediction in (fit.prefit, fit.postfit):
                tag = prediction.label.replace("-", "")
                agc.outputs[f"{region.name}_{tag}"] = plots.stack(
                    fit, prediction, region.name, out / f"{region.name}_{tag}.png"
                )
        agc.outputs["pulls"] = plots.pulls(fit, out / "pulls.png")
    agc.seconds["total"] = time.perf_counter() - start
    agc.outputs["result"] = out / "result.json"
    output.write_json(agc.summary(), agc.outputs["result"])
    return agc
