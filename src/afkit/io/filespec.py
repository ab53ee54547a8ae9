"""Normalise user inputs (paths, ``root://`` and ``https://`` URLs) and open them with uproot.

Opening is where most bad input shows up, so this module turns every failure into a specific
afkit error naming the file: missing, empty, not ROOT, truncated.  Local files are checked
against their own header (``fEND``) so that an interrupted copy is reported before any
basket is read.
"""

from __future__ import annotations

import os
import struct
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import uproot

from afkit.exceptions import (
    AfkitFileNotFoundError,
    EmptyFileError,
    FileFormatError,
    MissingDependencyError,
    NotRootFileError,
    TruncatedFileError,
)

REMOTE_SCHEMES = ("root://", "http://", "https://", "s3://", "gs://", "xroot://", "file://")


def is_remote(source: str) -> bool:
    """True for URLs uproot reads through fsspec (XRootD, HTTP, object stores)."""
    return source.startswith(REMOTE_SCHEMES) and not source.startswith("file://")


def normalize_source(source: str | os.PathLike[str]) -> str:
    """Return ``source`` as a string, expanding ``~`` for local paths."""
    text = os.fspath(source)
    if text.startswith("file://"):
        text = text[len("file://") :]
    if is_remote(text):
        return text
    return str(Path(text).expanduser())


def check_local_file(path: str) -> None:
    """Raise the specific afkit error if ``path`` is missing, empty, not ROOT or truncated."""
    if not os.path.exists(path):
        raise AfkitFileNotFoundError("no such file", file=path)
    if os.path.isdir(path):
        raise FileFormatError("is a directory, not a ROOT file", file=path)
    size = os.path.getsize(path)
    if size == 0:
        raise EmptyFileError("file is empty (0 bytes)", file=path)
    with open(path, "rb") as handle:
        header = handle.read(64)
    if not header.startswith(b"root"):
        raise NotRootFileError(
            f"not a ROOT file (starts with {header[:4]!r}, expected b'root')", file=path
        )
    end = _header_end(header)
    if end is not None and size < end:
        raise TruncatedFileError(
            f"file is truncated: {size} bytes on disk, its header says {end}", file=path
        )


def _header_end(header: bytes) -> int | None:
    """``fEND`` from a ROOT file header (small or large file layout); None if unreadable."""
    if len(header) < 41:
        return None
    version = struct.unpack(">i", header[4:8])[0]
    if version >= 1000000:  # large file: 8-byte pointers
        return int(struct.unpack(">q", header[12:20])[0])
    return int(struct.unpack(">i", header[12:16])[0])


_OPEN_CACHE_SIZE = 8
_open_files: OrderedDict[tuple[str, int, int], Any] = OrderedDict()
_open_lock = threading.Lock()


def open_file(source: str | os.PathLike[str], *, reuse: bool = True) -> Any:
    """Open ``source`` with uproot, translating failures into afkit errors naming the file.

    Chunks of one file are read one after another, and parsing a PHYSLITE tree's metadata
    (~1000 branches) costs most of a second; so up to eight recently opened files stay open
    per process and are reused while their size and modification time are unchanged.
    """
    path = normalize_source(source)
    key: tuple[str, int, int] | None = None
    if not is_remote(path):
        check_local_file(path)
        stat = os.stat(path)
        key = (path, stat.st_size, stat.st_mtime_ns)
    else:
        key = (path, -1, -1)
    if reuse:
        with _open_lock:
            if key in _open_files:
                _open_files.move_to_end(key)
                return _open_files[key]
    handle = _open_uncached(path)
    if reuse:
        with _open_lock:
            _open_files[key] = handle
            while len(_open_files) > _OPEN_CACHE_SIZE:
                _release(_open_files.popitem(last=False)[1])
    return handle


def clear_open_files() -> None:
    """Close every file :func:`open_file` keeps open."""
    with _open_lock:
        while _open_files:
            _release(_open_files.popitem()[1])


def _release(handle: Any) -> None:
    """Close a file and drop afkit's per-file state (its decoded trees refer back to the
    handle: left in place, the pair would wait for the cycle collector, megabytes each)."""
    handle.close()
    handle.__dict__.pop("_afkit_trees", None)


#: Extra that provides the reader for each remote scheme.
_EXTRAS = {"root": "xrootd", "xroot": "xrootd", "http": "http", "https": "http"}


def _open_uncached(path: str) -> Any:
    try:
        return uproot.open(path)
    except ImportError as err:
        scheme = path.split("://", 1)[0]
        extra = _EXTRAS.get(scheme, "all")
        raise MissingDependencyError(
            f"reading {scheme}:// URLs needs {err.name or 'an optional package'}: "
            f"pip install 'afkit[{extra}]'",
            file=path,
        ) from err
    except FileNotFoundError as err:
        raise AfkitFileNotFoundError(f"cannot open: {err}", file=path) from err
    except (OSError, ValueError, uproot.deserialization.DeserializationError) as err:
        raise FileFormatError(
            f"cannot open as ROOT: {type(err).__name__}: {err}", file=path
        ) from err
