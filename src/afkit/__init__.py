"""afkit: columnar particle-physics analysis for analysis facilities.

Map of the package (the data flow from reading to results):

* :mod:`afkit.io` — open files and read branches (``filespec``, ``reader``), and the formats
  (``physlite``: schema, ElementLink encodings, StoreGate keys; ``nanoaod``).
* :mod:`afkit.events` — the lazy event model (:class:`Events`) and its behaviours.
* :mod:`afkit.units` — the MeV/GeV policy.
* :mod:`afkit.exceptions` — :class:`AfkitError` and its subclasses.
* :mod:`afkit.fileset`, :mod:`afkit.executors`, :mod:`afkit.processor`, :mod:`afkit.accumulate` —
  running processors over filesets (``afkit.run``) with exact event accounting.
* :mod:`afkit.kernels`, :mod:`afkit.histograms` — Numba/CUDA hot paths and ``hist.Hist`` output.
* :mod:`afkit.datagen` — the PHYSLITE-layout writer and the synthetic AGC dataset.
* :mod:`afkit.cli` — the ``afkit`` command (``inspect``, ``generate``).
"""

from __future__ import annotations

from afkit.events.events import Events
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
    TruncatedFileError,
    UnknownEncodingError,
)
from afkit.executors import ProcessPool, RunReport, run
from afkit.fileset import Fileset
from afkit.inspection import FileSummary, inspect
from afkit.io.api import read

__version__ = "0.1.0"

__all__ = [
    "AfkitError",
    "AfkitFileNotFoundError",
    "ArgumentTypeError",
    "ConfigError",
    "CorruptDataError",
    "DecodeError",
    "EmptyFileError",
    "Events",
    "FileFormatError",
    "FileSummary",
    "Fileset",
    "MissingBranchError",
    "MissingCollectionError",
    "MissingDependencyError",
    "MissingNameError",
    "MissingTreeError",
    "NotRootFileError",
    "ProcessPool",
    "RunReport",
    "TruncatedFileError",
    "UnknownEncodingError",
    "__version__",
    "inspect",
    "read",
    "run",
]
