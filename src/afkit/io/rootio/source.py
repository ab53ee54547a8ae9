"""Byte ranges of a file: ``pread`` for local files, uproot's source for remote ones.

Local reads go straight to the operating system (a few microseconds per basket) instead of
through a general-purpose I/O layer with its own threads (a quarter of a millisecond per
request); remote files (XRootD, HTTP) keep uproot's fsspec sources, which batch requests.
Both count the bytes requested, so ``Events.bytes_read`` stays exact.  ``each_range``
hands ranges over one at a time: a local file gives each as a view of a read-only memory map
of that range alone, closed when the next is asked for (no copy of a compressed page is
made: the caller reads the operating system's cached file pages, one range's worth mapped
at a time), a remote file still asks for all at once.  A local file must not shrink while
it is being read (as for any memory-mapped file).
"""

from __future__ import annotations

import contextlib
import mmap
import os
import queue
import threading
import weakref
from collections.abc import Iterator
from typing import Any

import numpy as np
from numpy.typing import NDArray

#: a read-only shared map, its pages read in when it is made where the system can (one
#: call instead of a fault per page)
_MAP_FLAGS: dict[str, int] = (
    {"flags": mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0), "prot": mmap.PROT_READ}
    if hasattr(mmap, "MAP_SHARED")
    else {"access": mmap.ACCESS_READ}  # Windows
)


class LocalBytes:
    """Byte ranges of a local file: ``ranges`` by ``os.pread``, ``each_range`` as views of
    one-range memory maps (both thread safe, no shared file position).  The file's size is
    taken when it is opened: a range past it is an error, as for a file cut short."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd = os.open(path, os.O_RDONLY)
        self._finalizer = weakref.finalize(self, os.close, self._fd)
        self._lock = threading.Lock()
        self.num_requested_bytes = 0
        self._size = os.fstat(self._fd).st_size

    def ranges(self, ranges: list[tuple[int, int]]) -> list[NDArray[np.uint8]]:
        out = []
        for start, stop in ranges:
            data = os.pread(self._fd, stop - start, start)
            if len(data) != stop - start:
                raise OSError(
                    f"{self.path}: wanted bytes {start}-{stop}, the file ends after {len(data)}"
                )
            out.append(np.frombuffer(data, np.uint8))
        with self._lock:
            self.num_requested_bytes += sum(stop - start for start, stop in ranges)
        return out

    def each_range(self, ranges: list[tuple[int, int]]) -> Iterator[NDArray[np.uint8]]:
        """The ranges' bytes in order, each a read-only view of a memory map of just that
        range, made when the caller asks for it and closed when the caller asks for the
        next one (or the iteration ends): no copy of a compressed page is made, and the
        process maps one range's file pages at a time (they stay in the operating system's
        cache).  A caller must not keep a view past its turn (one that does keeps its map
        alive until the view is gone)."""
        grain = mmap.ALLOCATIONGRANULARITY
        for start, stop in ranges:
            if stop > self._size or start < 0:
                raise OSError(
                    f"{self.path}: wanted bytes {start}-{stop}, the file ends after "
                    f"{max(self._size - start, 0)}"
                )
            with self._lock:
                self.num_requested_bytes += stop - start
            if stop == start:
                yield np.zeros(0, np.uint8)
                continue
            first = start - start % grain
            mapping = mmap.mmap(self._fd, stop - first, offset=first, **_MAP_FLAGS)
            try:
                yield np.frombuffer(mapping, np.uint8)[start - first :]
            finally:
                with contextlib.suppress(BufferError):  # a view outlived its turn: the map
                    mapping.close()  # goes with the last of them

    def close(self) -> None:
        self._finalizer()


class UprootBytes:
    """Byte ranges through an uproot source (remote files); counts come from uproot."""

    def __init__(self, source: Any) -> None:
        self._source = source

    @property
    def num_requested_bytes(self) -> int:
        return int(self._source.num_requested_bytes)

    def ranges(self, ranges: list[tuple[int, int]]) -> list[NDArray[np.uint8]]:
        if not ranges:
            return []
        chunks = self._source.chunks(ranges, notifications=queue.Queue())
        return [np.asarray(chunk.raw_data, dtype=np.uint8) for chunk in chunks]

    def each_range(self, ranges: list[tuple[int, int]]) -> Iterator[NDArray[np.uint8]]:
        """The ranges' bytes in order; all are requested together (one round trip)."""
        yield from self.ranges(ranges)


def byte_source(path: str, uproot_source: Any) -> LocalBytes | UprootBytes:
    """The fastest byte source for ``path``: local ``pread`` where possible."""
    from afkit.io.filespec import is_remote

    if not is_remote(path) and os.path.isfile(path):
        return LocalBytes(path)
    return UprootBytes(uproot_source)
