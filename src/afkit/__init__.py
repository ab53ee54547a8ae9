"""afkit: columnar particle-physics analysis for analysis facilities.

Map of the package (the data flow from reading to results):

* :mod:`afkit.io` — files and bytes: sources and URLs (``filespec``), afkit's own ROOT decoding
  (``rootio``), branch reading (``reader``), opening a tree with its schema (``open``) and the
  formats (``physlite``: schema, ElementLink encodings, StoreGate keys; ``nanoaod``).  It
  knows nothing of the event model.
* :mod:`afkit.events` — the lazy event model (:class:`Events`), its behaviours, and
  :func:`afkit.read`, which puts an opened tree behind it.
* :mod:`afkit.units` — the MeV/GeV policy.
* :mod:`afkit.exceptions` — :class:`AfkitError` and its subclasses.
* :mod:`afkit.extras` — the optional dependencies and the extras that provide them.
* :mod:`afkit.fileset`, :mod:`afkit.executors`, :mod:`afkit.processor`, :mod:`afkit.accumulate` —
  running processors over filesets (``afkit.run``) with exact event accounting.
* :mod:`afkit.kernels`, :mod:`afkit.histograms` — Numba/CUDA hot paths and ``hist.Hist`` output.
* :mod:`afkit.datagen` — the PHYSLITE-layout writer and the synthetic AGC dataset.
* :mod:`afkit.analysis` — the analysis toolkit: selections and cutflows, weights and their
  variations, shape systematics in one pass, sums of weights from the files, good-run lists,
  correctionlib corrections.
* :mod:`afkit.ml` — boosted-tree inference with afkit's kernels (xgboost JSON models, margins
  bit for bit), and the BDT jet–parton assignment of semileptonic ttbar.
* :mod:`afkit.agc` — the AGC ttbar measurement end to end, built on the public API.
* :mod:`afkit.cli` — the ``afkit`` command (``inspect``, ``generate``, ``agc``).

``import afkit`` is light: the exceptions are imported at once, everything else (and its
dependencies: awkward, uproot, numba, ...) the first time one of its names is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from afkit.exceptions import (
    AfkitError,
    AfkitFileNotFoundError,
    ArgumentTypeError,
    ConfigError,
    CorruptDataError,
    DecodeError,
    EmptyFileError,
    FileFormatError,
    MissingBranchError,
    MissingCollectionError,
    MissingDependencyError,
    MissingNameError,
    MissingTreeError,
    NotRootFileError,
    RemoteReadError,
    TruncatedFileError,
    UnknownEncodingError,
)
from afkit.version import __version__

#: Public names defined in submodules, imported on first use: name -> module.
_LAZY = {
    "Events": "afkit.events.events",
    "read": "afkit.events.reading",
    "inspect": "afkit.inspection",
    "FileSummary": "afkit.inspection",
    "Fileset": "afkit.fileset",
    "FileEntry": "afkit.fileset",
    "SampleEntry": "afkit.fileset",
    "Processor": "afkit.processor",
    "WorkContext": "afkit.processor",
    "run": "afkit.executors",
    "ProcessPool": "afkit.executors.local",
    "RunReport": "afkit.executors.report",
    "ChunkFailure": "afkit.executors.report",
    "LostWorker": "afkit.executors.report",
    "WorkItem": "afkit.executors.plan",
    "sum_of_weights": "afkit.analysis.normalisation",
}

#: Subpackages reachable as attributes (``afkit.agc``) without importing them first.
_SUBPACKAGES = frozenset(
    {
        "accumulate",
        "agc",
        "analysis",
        "cli",
        "datagen",
        "events",
        "exceptions",
        "executors",
        "extras",
        "fileset",
        "histograms",
        "inspection",
        "io",
        "kernels",
        "ml",
        "processor",
        "units",
        "version",
    }
)

__all__ = [
    "AfkitError",
    "AfkitFileNotFoundError",
    "ArgumentTypeError",
    "ChunkFailure",
    "ConfigError",
    "CorruptDataError",
    "DecodeError",
    "EmptyFileError",
    "Events",
    "FileEntry",
    "FileFormatError",
    "FileSummary",
    "Fileset",
    "LostWorker",
    "MissingBranchError",
    "MissingCollectionError",
    "MissingDependencyError",
    "MissingNameError",
    "MissingTreeError",
    "NotRootFileError",
    "ProcessPool",
    "Processor",
    "RemoteReadError",
    "RunReport",
    "SampleEntry",
    "TruncatedFileError",
    "UnknownEncodingError",
    "WorkContext",
    "WorkItem",
    "__version__",
    "inspect",
    "read",
    "run",
    "sum_of_weights",
]


def __getattr__(name: str) -> Any:
    """Import a public name's module, or a subpackage, the first time it is used."""
    module = _LAZY.get(name)
    if module is not None:
        value = getattr(importlib.import_module(module), name)
        globals()[name] = value
        return value
    if name in _SUBPACKAGES:
        return importlib.import_module(f"afkit.{name}")
    raise AttributeError(f"module 'afkit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(__all__) | _SUBPACKAGES | set(globals()))


if TYPE_CHECKING:  # what type checkers and IDEs see behind the lazy names
    from afkit.analysis.normalisation import sum_of_weights
    from afkit.events.events import Events
    from afkit.events.reading import read
    from afkit.executors import run
    from afkit.executors.local import ProcessPool
    from afkit.executors.plan import WorkItem
    from afkit.executors.report import ChunkFailure, LostWorker, RunReport
    from afkit.fileset import FileEntry, Fileset, SampleEntry
    from afkit.inspection import FileSummary, inspect
    from afkit.processor import Processor, WorkContext
