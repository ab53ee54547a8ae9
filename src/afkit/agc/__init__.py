"""The AGC ttbar measurement on PHYSLITE (shared spec ``agc-physlite.md``), end to end.

``afkit.agc.run(fileset)`` fills the region histograms with every variation through
:func:`afkit.run` and :class:`AGCProcessor` (afkit's kernels, CPU or GPU), fits them with
cabinetry/pyhf and writes ROOT, JSON and plots; ``afkit agc`` is the same from the shell.
The ML step (spec §8, :mod:`afkit.agc.ml`) adds the BDT jet assignment's histograms and
their validation workspace.
"""

from __future__ import annotations

from afkit.agc.columns import ChunkColumns
from afkit.agc.compute import fill_chunk, new_histograms
from afkit.agc.ml import new_ml_histograms, shipped_models
from afkit.agc.pipeline import AGCResult, default_dataset, run
from afkit.agc.processor import AGCProcessor
from afkit.agc.statistics import (
    FitResult,
    Validation,
    build_workspace,
    cabinetry_config,
    fit,
    ml_validation,
)

__all__ = [
    "AGCProcessor",
    "AGCResult",
    "ChunkColumns",
    "FitResult",
    "Validation",
    "build_workspace",
    "cabinetry_config",
    "default_dataset",
    "fill_chunk",
    "fit",
    "ml_validation",
    "new_histograms",
    "new_ml_histograms",
    "run",
    "shipped_models",
]
