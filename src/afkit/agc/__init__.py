"""The AGC ttbar measurement on PHYSLITE (shared spec ``agc-physlite.md``), end to end.

``afkit.agc.run(fileset)`` fills the region histograms with every variation through
:func:`afkit.run` and :class:`AGCProcessor` (afkit's kernels, CPU or GPU), fits them with
cabinetry/pyhf and writes ROOT, JSON and plots; ``afkit agc`` is the same from the shell.
"""

from __future__ import annotations

from afkit.agc.columns import ChunkColumns
from afkit.agc.compute import fill_chunk, new_histograms
from afkit.agc.pipeline import AGCResult, default_dataset, run
from afkit.agc.processor import AGCProcessor
from afkit.agc.statistics import FitResult, build_workspace, cabinetry_config, fit

__all__ = [
    "AGCProcessor",
    "AGCResult",
    "ChunkColumns",
    "FitResult",
    "build_workspace",
    "cabinetry_config",
    "default_dataset",
    "fill_chunk",
    "fit",
    "new_histograms",
    "run",
]
