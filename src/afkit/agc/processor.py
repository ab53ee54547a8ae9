"""The AGC as an afkit processor: one chunk of events in, region histograms and counts out."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

import afkit.kernels as kernels
from afkit.agc import spec
from afkit.agc.columns import ChunkColumns
from afkit.agc.compute import fill_chunk, new_histograms
from afkit.histograms import WeightedCategoryHistogram
from afkit.kernels import array_module
from afkit.processor import WorkContext


class AGCProcessor:
    """Spec §2-5 per chunk: read the columns, (copy them to the GPU,) select and fill.

    The accumulator is ``{"hists": {region: histogram}, "events": {sample: {...}},
    "timing": {...}}``; ``events`` counts the chunk's events and its nominal events per region,
    ``timing`` splits the seconds into reading (I/O and decoding) and computing.  Chunks'
    histograms are :class:`~afkit.histograms.WeightedCategoryHistogram` (in host memory),
    which merge by adding two arrays; :meth:`postprocess` turns the merged ones into
    ``hist.Hist`` once, at the end of a run.
    """

    def __init__(self, backend: str = "cpu", *, ml: bool = False, ml_engine: str = "afkit") -> None:
        array_module(backend)  # fails early, naming what to install, if the backend is absent
        _check_ml_engine(ml_engine, backend, ml)
        self.backend = backend
        self.ml = ml  # the ML step (spec §8): 20 more histograms, by feature name
        self.ml_engine = ml_engine  # who scores the permutations: afkit's kernels or xgboost
        if ml:
            from afkit.agc.ml import shipped_models

            shipped_models()  # the model files load (and fail) here, not in every chunk

    def _histograms(self) -> dict[str, WeightedCategoryHistogram]:
        histograms = new_histograms(self.backend)
        if self.ml:
            from afkit.agc.ml import new_ml_histograms

            histograms.update(new_ml_histograms(self.backend))
        return histograms

    def _models(self) -> tuple[Any, ...] | None:
        if not self.ml:
            return None
        from afkit.agc.ml import shipped_models

        return shipped_models()

    def warm_up(self) -> None:
        """Load the compute stage's kernels (from Numba's cache) by running it on no events.

        :func:`afkit.run` calls this in the parent before forking local workers, which then
        inherit the loaded code instead of each loading it again.
        """
        if self.backend != "cpu":
            return  # device kernels are loaded per process, where the device context lives
        # the b-tag lookup of the columns (float32 content, as stored, and float64)
        kernels.gather(np.zeros(0, np.int64), np.zeros(0, np.float32))
        kernels.gather(np.zeros(0, np.int64), np.zeros(0))
        columns = ChunkColumns.empty(mc=True, ml=self.ml)
        fill_chunk(
            columns,
            self._histograms(),
            process=spec.PROCESSES[0],
            variation=spec.NOMINAL,
            weight_scale=1.0,
            models=self._models(),
        )

    def process(self, events: Any, context: WorkContext) -> dict[str, Any]:
        meta = context.metadata
        is_data = bool(meta.get("is_data", False))
        process = spec.DATA if is_data else str(meta["process"])
        variation = spec.NOMINAL if is_data else str(meta.get("variation", spec.NOMINAL))
        if process not in spec.PROCESSES:
            from afkit.exceptions import ConfigError

            raise ConfigError(
                f"sample {context.sample!r} has process {process!r}; the AGC knows "
                f"{', '.join(spec.PROCESSES)}",
                file=context.file,
            )
        start = time.perf_counter()
        columns = ChunkColumns.from_events(events, mc=not is_data, ml=self.ml, release=True)
        read = time.perf_counter()
        if self.backend != "cpu":
            columns = columns.to(self.backend)
        histograms = self._histograms()
        scale = 1.0 if is_data else _weight_scale(meta, context)
        counts = fill_chunk(
            columns,
            histograms,
            process=process,
            variation=variation,
            weight_scale=scale,
            models=self._models(),
            ml_engine=self.ml_engine,
        )
        hists = {name: h.to_host() for name, h in histograms.items()}
        done = time.perf_counter()
        return {
            "hists": hists,
            "events": {context.sample: {"events": columns.n_events, **counts}},
            "timing": {"read": read - start, "compute": done - read},
        }

    def postprocess(self, accumulator: dict[str, Any] | None) -> dict[str, Any] | None:
        """The merged result with its histograms as ``hist.Hist`` (None: no chunk ran)."""
        if accumulator is None:
            return None
        hists = accumulator.get("hists", {})
        return {
            **accumulator,
            "hists": {
                name: h.to_hist() if isinstance(h, WeightedCategoryHistogram) else h
                for name, h in hists.items()
            },
        }


def _check_ml_engine(engine: str, backend: str, ml: bool) -> None:
    """Refuse, before any chunk runs, an ML engine that cannot run here."""
    from afkit.exceptions import ConfigError
    from afkit.ml import ENGINES

    if engine not in ENGINES:
        raise ConfigError(f"ml_engine {engine!r} is not one of {', '.join(map(repr, ENGINES))}")
    if not ml or engine == "afkit":
        return
    if backend != "cpu":
        raise ConfigError(
            'ml_engine="xgboost" scores permutation rows built on the CPU; with '
            f'backend={backend!r} use ml_engine="afkit"'
        )
    try:
        import xgboost  # noqa: F401
    except ImportError:
        raise ConfigError(
            'ml_engine="xgboost" needs the xgboost package: pip install "afkit[ml]"'
        ) from None


def _weight_scale(meta: dict[str, Any], context: WorkContext) -> float:
    """``xsec * L / sumw`` of the chunk's sample (spec §1)."""
    sumw = float(meta.get("sumw", 0.0))
    if sumw == 0.0:
        from afkit.exceptions import ConfigError

        raise ConfigError(
            f"sample {context.sample!r} declares sumw = 0: cannot normalise it", file=context.file
        )
    return float(meta["xsec"]) * float(meta["luminosity"]) / sumw
