"""Normalise user inputs (paths, ``root://`` and ``https://`` URLs) and open them with uproot.

Opening is where most bad input shows up, so this module turns every failure into a specific
afkit error naming the file: missing, empty, not ROOT, truncated, a damaged header.  Local
files are checked against their own header (``fEND``, ``fSeekInfo``) so that an interrupted
copy is reported before any basket is read.

Remote files get a connect and a read timeout, so that an unreachable server is an error
within seconds instead of a hang: ``AFKIT_CONNECT_TIMEOUT`` (default 10 s) and
``AFKIT_READ_TIMEOUT`` (default 60 s), in seconds, set in the environment (workers inherit
it).  For XRootD they set the client's connection window (one attempt) and its request and
stream timeouts, unless the corresponding ``XRD_*`` variable is set already.
"""

from __future__ import annotations

import math
import os
import struct
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import uproot

from afkit.exceptions import (
    AfkitFileNotFoundError,
    CorruptDataError,
    EmptyFileError,
    FileFormatError,
    MissingDependencyError,
    NotRootFileError,
    RemoteReadError,
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
    """Raise the specific afkit error if ``path`` is missing, empty, not ROOT, truncated, or
    its header points outside the file."""
    if not os.path.exists(path):
        raise AfkitFileNotFoundError("no such file", file=path)
    if os.path.isdir(path):
        raise FileFormatError("is a directory, not a ROOT file", file=path)
    regular = os.path.isfile(path)
    try:
        with open(path, "rb") as handle:
            header = handle.read(_HEADER_BYTES)
    except OSError as err:
        raise FileFormatError(f"cannot read: {err}", file=path) from err
    if not header and regular:
        raise EmptyFileError("file is empty (0 bytes)", file=path)
    if not header.startswith(b"root"):
        what = "" if regular else " (not a regular file)"
        raise NotRootFileError(
            f"not a ROOT file{what}: starts with {header[:4]!r}, expected b'root'", file=path
        )
    if not regular:
        raise NotRootFileError("not a regular file (a device or pipe)", file=path)
    check_header(header, os.path.getsize(path), path, _directory_reader(path))


#: Bytes read for the checks: the file header (at most 75 bytes) and some slack.
_HEADER_BYTES = 128


def _directory_reader(path: str) -> Any:
    def read(start: int, size: int) -> bytes:
        with open(path, "rb") as handle:
            handle.seek(start)
            return handle.read(size)

    return read


def check_header(header: bytes, size: int, path: str, read_at: Any) -> None:
    """Check a ROOT file header against the file's ``size``: truncated files (shorter than
    ``fEND``), and pointers (``fBEGIN``, the streamer record ``fSeekInfo``) that lie outside
    the file, which uproot would follow into its own errors without the file's name.

    ``read_at(start, size)`` returns bytes of the file (to look at the top directory).
    """
    fields = _header_fields(header)
    if fields is None:
        raise TruncatedFileError(
            f"file is truncated: {size} bytes, shorter than a ROOT file header", file=path
        )
    begin, end, seek_info, nbytes_info, nbytes_name = fields
    if size < end:
        raise TruncatedFileError(
            f"file is truncated: {size} bytes on disk, its header says {end}", file=path
        )
    if not 0 < begin < size or nbytes_name < 0 or begin + nbytes_name > size:
        raise CorruptDataError(
            f"damaged file header: the top directory at byte {begin} (+{nbytes_name}) lies "
            f"outside the file ({size} bytes)",
            file=path,
        )
    if begin <= seek_info and nbytes_info > 0 and seek_info + nbytes_info <= size:
        return
    keys = _top_keys(read_at(begin + nbytes_name, 42))
    where = f"byte {seek_info} (+{nbytes_info})"
    if keys is not None and keys[0] + keys[1] > size >= seek_info:
        raise TruncatedFileError(
            f"file is truncated: it ends ({size} bytes) before its streamer record at {where} "
            "and its key list, though its header was rewritten to this length",
            file=path,
        )
    if keys is not None and keys[0] + keys[1] > size:
        raise TruncatedFileError(
            f"file is truncated: its streamer record ({where}) and key list lie past its end "
            f"({size} bytes)",
            file=path,
        )
    raise CorruptDataError(
        f"damaged file header: the streamer record pointer fSeekInfo ({where}) lies outside "
        f"the file ({size} bytes)",
        file=path,
    )


def _header_fields(header: bytes) -> tuple[int, int, int, int, int] | None:
    """(fBEGIN, fEND, fSeekInfo, fNbytesInfo, fNbytesName) of a ROOT file header, small or
    large layout; None if the header is incomplete."""
    if len(header) < 8:
        return None
    version = struct.unpack(">i", header[4:8])[0]
    large = version >= 1000000
    layout = ">iqqiiiBiqi" if large else ">iiiiiiBiii"
    if len(header) < 8 + struct.calcsize(layout):
        return None
    begin, end, _, _, _, nbytes_name, _, _, seek_info, nbytes_info = struct.unpack_from(
        layout, header, 8
    )
    return int(begin), int(end), int(seek_info), int(nbytes_info), int(nbytes_name)


def _top_keys(directory: bytes) -> tuple[int, int] | None:
    """(fSeekKeys, fNbytesKeys) of the top directory record; None if unreadable."""
    if len(directory) < 30:
        return None
    version = struct.unpack(">h", directory[:2])[0]
    nbytes_keys = struct.unpack(">i", directory[10:14])[0]
    if version > 1000:  # 8-byte pointers
        if len(directory) < 42:
            return None
        seek_keys = struct.unpack(">q", directory[34:42])[0]
    else:
        seek_keys = struct.unpack(">i", directory[26:30])[0]
    return int(seek_keys), int(nbytes_keys)


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


#: Defaults of the remote timeouts [s] (see the module docstring).
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 60.0


def remote_timeouts() -> tuple[float, float]:
    """(connect, read) timeouts in seconds from ``AFKIT_CONNECT_TIMEOUT`` and
    ``AFKIT_READ_TIMEOUT``; a value that is not a positive number is a :class:`ConfigError`."""
    from afkit.exceptions import ConfigError

    out = []
    for name, default in (
        ("AFKIT_CONNECT_TIMEOUT", CONNECT_TIMEOUT),
        ("AFKIT_READ_TIMEOUT", READ_TIMEOUT),
    ):
        text = os.environ.get(name)
        if text is None or not text.strip():
            out.append(default)
            continue
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not value > 0 or math.isinf(value):
            raise ConfigError(f"{name} must be a positive number of seconds, not {text!r}")
        out.append(value)
    return out[0], out[1]


_XROOTD_SETTINGS = {  # XRootD client setting -> its environment variable
    "ConnectionRetry": "XRD_CONNECTIONRETRY",
    "ConnectionWindow": "XRD_CONNECTIONWINDOW",
    "RequestTimeout": "XRD_REQUESTTIMEOUT",
    "StreamTimeout": "XRD_STREAMTIMEOUT",
    "TimeoutResolution": "XRD_TIMEOUTRESOLUTION",
}


def _configure_xrootd(connect: float, read: float) -> None:
    """Give the XRootD client afkit's timeouts (where the user set no ``XRD_*`` variable).

    The client retries a refused or silent connection for minutes by default (five attempts
    in a two-minute window): one attempt in the connect timeout instead."""
    try:
        from XRootD import client
    except ImportError:
        return  # uproot then reports the missing package, turned into MissingDependencyError
    values = {
        "ConnectionRetry": 1,
        "ConnectionWindow": math.ceil(connect),
        "RequestTimeout": math.ceil(read),
        "StreamTimeout": math.ceil(read),
        # how often the client checks its timeouts (default every 15 s, longer than ours)
        "TimeoutResolution": max(1, min(15, math.ceil(min(connect, read) / 2))),
    }
    put = getattr(client, "EnvPutInt")  # noqa: B009 (not in the package's type stubs)
    for setting, value in values.items():
        if _XROOTD_SETTINGS[setting] not in os.environ:
            put(setting, value)


def _open_uncached(path: str) -> Any:
    remote = is_remote(path)
    options: dict[str, Any] = {}
    if remote:
        connect, read = remote_timeouts()
        if path.startswith(("root://", "xroot://")):
            _configure_xrootd(connect, read)
            options["timeout"] = math.ceil(read)  # the XRootD client takes whole seconds
        else:
            options["timeout"] = read
    try:
        return uproot.open(path, **options)
    except ImportError as err:
        from afkit.extras import install_hint

        scheme = path.split("://", 1)[0]
        missing = err.name or "an optional package"
        hint = install_hint(missing, _EXTRAS.get(scheme))
        raise MissingDependencyError(
            f"reading {scheme}:// URLs needs {missing}: {hint}", file=path
        ) from err
    except FileNotFoundError as err:
        raise AfkitFileNotFoundError(f"cannot open: {err}", file=path) from err
    except (OSError, TimeoutError) as err:
        if remote:
            raise RemoteReadError(
                f"cannot open the remote file: {type(err).__name__}: {err} (connect timeout "
                "AFKIT_CONNECT_TIMEOUT, read timeout AFKIT_READ_TIMEOUT)",
                file=path,
            ) from err
        raise FileFormatError(
            f"cannot open as ROOT: {type(err).__name__}: {err}", file=path
        ) from err
    except (ValueError, uproot.deserialization.DeserializationError) as err:
        raise FileFormatError(
            f"cannot open as ROOT: {type(err).__name__}: {err}", file=path
        ) from err
