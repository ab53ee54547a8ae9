"""afkit's writer of PHYSLITE-layout ROOT files, built on ROOT's own I/O.

Real PHYSLITE branches have xAOD classes (``DataVector<xAOD::Jet_v1>`` interface branches,
``vector<ElementLink<DataVector<xAOD::BTagging_v1>>>`` split into ``m_persKey`` and
``m_persIndex``).  ``cxx/afkit_physlite_types.h`` declares data-free stand-ins with exactly these
names and layouts; ROOT compiles their dictionary once (ACLiC, cached under
``$AFKIT_CACHE`` or ``~/.cache/afkit``) and then writes branches that readers cannot tell from
Athena's: same classes, same split, same streamers.  Filling happens in C++
(``cxx/afkit_tree_writer.h``) from NumPy buffers handed over one chunk at a time, so memory
stays bounded by the chunk and speed by ROOT's compression.

Needs the ``root`` package and a C++ compiler (``pip install 'afkit[generate]'``).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from afkit.exceptions import AfkitError, ConfigError
from afkit.extras import require

CXX = Path(__file__).resolve().parent / "cxx"
HEADERS = (
    "afkit_physlite_types.h",
    "afkit_columns.h",
    "afkit_tree_writer.h",
    "afkit_metadata_writer.h",
    "afkit_ntuple_writer.h",
)
#: What the event data is written as: a TTree (every release) or an RNTuple (Athena 25).
FileFormat = Literal["ttree", "rntuple"]
FILE_FORMATS = ("ttree", "rntuple")
#: The RNTuple Athena writes PHYSLITE's events to (the TTree is ``CollectionTree``).
RNTUPLE_NAME = "EventData"

#: numpy dtype -> the name used by TreeWriter's typed methods
TYPE_NAMES = {
    "float32": "float32",
    "float64": "float64",
    "int8": "int8",
    "uint8": "uint8",
    "int16": "int16",
    "uint16": "uint16",
    "int32": "int32",
    "uint32": "uint32",
    "int64": "int64",
    "uint64": "uint64",
}
LINK_TARGETS = (
    "Electron_v1",
    "Muon_v1",
    "Jet_v1",
    "Photon_v1",
    "TauJet_v3",
    "BTagging_v1",
    "TrackParticle_v1",
    "CaloCluster_v1",
    "TruthParticle_v1",
    "Vertex_v1",
)
ALGORITHMS = {"zlib": 1, "lzma": 2, "lz4": 4, "zstd": 5}

ColumnKind = Literal["scalar", "vector", "link", "interface"]


@dataclass(frozen=True)
class Column:
    """One branch to write.

    ``scalar``: one ``dtype`` value per event (a plain TBranch, like ``EventInfoAuxDyn.runNumber``);
    ``vector``: ``std::vector<dtype>`` per event; ``link``: ``vector<ElementLink<DataVector<xAOD::
    target>>>`` split into key and index; ``interface``: the data-free container branch naming the
    class (``target`` is the class, e.g. ``DataVector<xAOD::Jet_v1>``).
    """

    name: str
    kind: ColumnKind
    dtype: str | None = None
    target: str | None = None


def compression_setting(text: str) -> int:
    """``"zstd5"`` -> 505, ``"zlib1"`` -> 101, ``"none"`` -> 0 (ROOT's algorithm*100 + level)."""
    if text == "none":
        return 0
    algorithm = text.rstrip("0123456789").rstrip("_-")
    level = text[len(text.rstrip("0123456789")) :]
    if algorithm not in ALGORITHMS or not level or not 1 <= int(level) <= 9:
        raise ConfigError(
            f"compression must be like 'zstd5', 'zlib5', 'lz4_4', 'lzma6' or 'none', not {text!r}"
        )
    return ALGORITHMS[algorithm] * 100 + int(level)


def _cache_dir(root: Any) -> Path:
    """The build directory of the dictionary for these headers and this ROOT installation.

    The compiled library records the absolute path of the ROOT it was linked against (its
    RUNPATH), so a library built by one environment's ROOT, loaded by another's, brings a second
    copy of ``libCore`` into the process, which crashes at exit ("double free").  The key
    therefore covers the ROOT version and its library directory as well as the headers.
    """
    base = Path(os.environ.get("AFKIT_CACHE", Path.home() / ".cache" / "afkit"))
    digest = hashlib.sha256()
    for header in HEADERS:
        digest.update((CXX / header).read_bytes())
    digest.update(str(root.gROOT.GetVersion()).encode())
    digest.update(str(Path(root.__file__).resolve().parent).encode())
    return base / f"rootdict-{digest.hexdigest()[:12]}"


_ROOT: Any = None

# Run in a child process with nothing but ROOT imported: ACLiC links the library it builds
# against every shared library loaded in the compiling process, so a build inside a session that
# had loaded, say, pyarrow would need libarrow in every later process that loads it.
_COMPILE_IN_CLEAN_PROCESS = """
import sys, warnings
warnings.simplefilter("ignore")
import ROOT
ROOT.gInterpreter.AddIncludePath(sys.argv[1])
ROOT.gSystem.SetBuildDir(sys.argv[1], True)
sys.exit(0 if ROOT.gSystem.CompileMacro(sys.argv[2], "kO") else 1)
"""


def _compile_dictionary(cache: Path) -> Path:
    """Build the stand-in dictionary in ``cache`` (once; later calls find it built)."""
    library = cache / "afkit_physlite_types_h.so"
    if library.is_file():
        return library
    done = subprocess.run(
        [sys.executable, "-c", _COMPILE_IN_CLEAN_PROCESS, str(cache), str(cache / HEADERS[0])],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0 or not library.is_file():
        raise AfkitError(
            "ROOT could not compile afkit's xAOD stand-in dictionary (is a C++ compiler "
            f"installed?) in {cache}:\n{(done.stdout + done.stderr)[-3000:]}"
        )
    return library


def load_root() -> Any:
    """Import ROOT and load the stand-in dictionary and the writer (compiled once, cached)."""
    global _ROOT
    if _ROOT is not None:
        return _ROOT
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the PyPI build announces "alpha"
        ROOT = require("ROOT", "writing PHYSLITE-layout files")
    cache = _cache_dir(ROOT)
    cache.mkdir(parents=True, exist_ok=True)
    lock_path = cache / ".lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel workers must not compile at the same time
        for header in HEADERS:
            target = cache / header
            if not target.exists():
                shutil.copy(CXX / header, target)
        library = _compile_dictionary(cache)
    ROOT.gInterpreter.AddIncludePath(str(cache))
    if ROOT.gSystem.Load(str(library)) < 0:
        raise AfkitError(f"ROOT could not load afkit's xAOD stand-in dictionary {library}")
    for header in ("afkit_tree_writer.h", "afkit_metadata_writer.h"):
        if not ROOT.gInterpreter.Declare(f'#include "{header}"'):
            raise AfkitError(f"ROOT could not load {header}")
    _ROOT = ROOT
    return ROOT


_NTUPLE_DECLARED = False


def load_ntuple_writer() -> Any:
    """:func:`load_root` plus the RNTuple writer (declared on first use: only RNTuple output
    pays for ROOT's RNTuple headers)."""
    global _NTUPLE_DECLARED
    root = load_root()
    if not _NTUPLE_DECLARED:
        if not root.gInterpreter.Declare('#include "afkit_ntuple_writer.h"'):
            raise AfkitError("ROOT could not load afkit_ntuple_writer.h (ROOT >= 6.36 needed)")
        _NTUPLE_DECLARED = True
    return root


class TreeFileWriter:
    """Write one ROOT file of PHYSLITE-layout event data, chunk by chunk.

    ``file_format="ttree"``: the TTree ``tree`` with branches named as in PHYSLITE;
    ``"rntuple"``: the RNTuple ``EventData`` (for ``tree="CollectionTree"``, else ``tree``) in
    Athena 25's layout, fields named as the branches with ``:`` for ``.``.  ``auto_flush`` is
    the TTree's basket flush (negative: bytes); for RNTuple its magnitude is the approximate
    compressed cluster size in bytes.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        columns: Sequence[Column],
        *,
        tree: str = "CollectionTree",
        compression: str = "zstd5",
        auto_flush: int = -30_000_000,
        file_format: FileFormat = "ttree",
    ) -> None:
        if file_format not in FILE_FORMATS:
            raise ConfigError(f"file_format must be 'ttree' or 'rntuple', not {file_format!r}")
        root = load_ntuple_writer() if file_format == "rntuple" else load_root()
        self.path = Path(path)
        self.columns = {c.name: c for c in columns}
        if len(self.columns) != len(columns):
            raise ConfigError("duplicate column names")
        setting = compression_setting(compression)
        if file_format == "rntuple":
            name = RNTUPLE_NAME if tree == "CollectionTree" else tree
            self._writer = root.afkit.NTupleWriter(str(self.path), name, setting, abs(auto_flush))
        else:
            self._writer = root.afkit.TreeWriter(str(self.path), tree, setting, auto_flush)
        self._index: dict[str, int] = {}
        for column in columns:
            self._index[column.name] = self._add(column)
        self.entries = 0

    def _add(self, column: Column) -> int:
        w = self._writer
        if column.kind == "interface":
            return int(w.add_interface(column.name, column.target))
        if column.kind == "link":
            if column.target not in LINK_TARGETS:
                raise ConfigError(f"{column.name}: link target must be one of {LINK_TARGETS}")
            return int(w.add_link(column.name, column.target))
        if column.dtype not in TYPE_NAMES:
            raise ConfigError(f"{column.name}: dtype must be one of {sorted(TYPE_NAMES)}")
        return int(getattr(w, f"add_{column.kind}_{TYPE_NAMES[column.dtype]}")(column.name))

    def write(self, n_events: int, data: Mapping[str, Any]) -> None:
        """Append ``n_events`` entries.

        ``data`` maps each non-interface column to: a length-``n_events`` array (scalar), an
        ``(offsets, values)`` pair (vector; offsets int64 of length ``n_events + 1`` from 0), or an
        ``(offsets, keys, indices)`` triple (link).
        """
        needed = {n for n, c in self.columns.items() if c.kind != "interface"}
        missing, extra = needed - set(data), set(data) - needed
        if missing or extra:
            raise ConfigError(f"columns missing: {sorted(missing)}; unknown: {sorted(extra)}")
        keep: list[NDArray[Any]] = []  # the buffers must outlive fill()
        w = self._writer
        for name, value in data.items():
            column, i = self.columns[name], self._index[name]
            if column.kind == "scalar":
                array = _contiguous(value, column.dtype, n_events, name)
                keep.append(array)
                getattr(w, f"set_scalar_{TYPE_NAMES[column.dtype]}")(i, array)  # type: ignore[index]
            elif column.kind == "vector":
                offsets = _offsets(value[0], n_events, name)
                values = _contiguous(value[1], column.dtype, int(offsets[-1]), name)
                keep += [offsets, values]
                getattr(w, f"set_vector_{TYPE_NAMES[column.dtype]}")(i, values, offsets)  # type: ignore[index]
            else:
                offsets = _offsets(value[0], n_events, name)
                keys = _contiguous(value[1], "uint32", int(offsets[-1]), name)
                indices = _contiguous(value[2], "uint32", int(offsets[-1]), name)
                keep += [offsets, keys, indices]
                w.set_link(i, keys, indices, offsets)
        self.entries = int(w.fill(n_events))
        del keep

    def close(self) -> None:
        """Write the tree (or commit the RNTuple) and close the file."""
        self._writer.close()

    def __enter__(self) -> TreeFileWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _contiguous(value: Any, dtype: str | None, length: int, name: str) -> NDArray[Any]:
    array = np.ascontiguousarray(value, dtype=dtype)
    if array.ndim != 1 or len(array) != length:
        raise ConfigError(f"{name}: expected {length} values, got shape {array.shape}")
    if length == 0:  # cppyy passes no pointer for an empty array; C++ reads none of it anyway
        return np.zeros(1, dtype=array.dtype)
    return array


def _offsets(value: Any, n_events: int, name: str) -> NDArray[np.int64]:
    offsets = np.ascontiguousarray(value, dtype=np.int64)
    if len(offsets) != n_events + 1 or offsets[0] != 0 or np.any(np.diff(offsets) < 0):
        raise ConfigError(f"{name}: offsets must be {n_events + 1} non-decreasing values from 0")
    return offsets


#: Names the generated files give their generator weights (``mcEventWeights[:, i]``).
WEIGHT_NAMES = ("nominal", "var_scale_up", "var_scale_down", "var_pdf_1")


def write_metadata(
    path: str | os.PathLike[str], events: int, sums: Any = None, squares: Any = None
) -> None:
    """Add the ``MetaData`` tree to a written file: CutBookkeepers of all ``events`` (no skim)
    with the sums (and sums of squares) of each generator weight, and the weights' names
    (:data:`WEIGHT_NAMES`); ``sums=None`` for data (the bookkeepers count events)."""
    root = load_root()
    if sums is None:
        root.afkit.write_metadata(str(path), int(events), 0, np.zeros(1), np.zeros(1), "")
        return
    sums = np.ascontiguousarray(sums, dtype=np.float64)
    squares = np.ascontiguousarray(squares, dtype=np.float64)
    if len(sums) != len(squares) or len(sums) > len(WEIGHT_NAMES):
        raise ConfigError(f"{len(sums)} weight sums for at most {len(WEIGHT_NAMES)} named weights")
    names = ";".join(WEIGHT_NAMES[: len(sums)])
    root.afkit.write_metadata(str(path), int(events), len(sums), sums, squares, names)
