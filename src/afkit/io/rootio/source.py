"""Byte ranges of a file: ``pread`` for local files, uproot's source for remote ones.

Local reads go straight to the operating system (a few microseconds per basket) instead of
through a general-purpose I/O layer with its own threads (a quarter of a millisecond per
request); remote files (XRootD, HTTP) keep uproot's fsspec sources, which batch requests.
Both count the bytes requested, so ``Events.bytes_read`` stays exact.  ``each_range``
hands ranges over one at a time: a local file gives each as a view of a read-only memory map
of the file when it is wanted (no copy of a compressed page is made: the caller reads the
operating system's cached file pages, which are unmapped from the process again when the
iteration ends), a remote file still asks for all at once.  A local file must not shrink
while it is open (as for any memory-mapped file).
"""

from __future__ import annotations

import mmap
import os
import queue
import threading
import weakref
from collections.abc import Iterator
from typing import Any

import numpy as np
from numpy.typing import NDArray


class LocalBytes:
    """Byte ranges of a local file by ``os.pread`` (thread safe, no shared file position)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd = os.open(path, os.O_RDONLY)
        self._finalizer = weakref.finalize(self, os.close, self._fd)
        self._lock = threading.Lock()
        self.num_requested_bytes = 0
        self._size = os.fstat(self._fd).st_size
        # the read-only map of the file, made when each_range is first used
        self._mapping: mmap.mmap | None = None
        self._map: NDArray[np.uint8] | None = None

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
        """The ranges' bytes in order, each a read-only view of the mapped file made when the
        caller asks for it.  When the iteration ends the ranges' file pages are unmapped
        from the process in one call (they stay in the operating system's cache; touching
        them again maps them again): a column's read leaves no mapped pages behind."""
        if self._size == 0:  # nothing to map; every range is past the end
            yield from (self.ranges([span])[0] for span in ranges)
            return
        if self._map is None:
            self._mapping = mmap.mmap(self._fd, 0, access=mmap.ACCESS_READ)
            self._map = np.frombuffer(self._mapping, np.uint8)
        view = self._map
        done: list[tuple[int, int]] = []
        try:
            for start, stop in ranges:
                if stop > self._size or start < 0:
                    raise OSError(
                        f"{self.path}: wanted bytes {start}-{stop}, the file ends after "
                        f"{max(self._size - start, 0)}"
                    )
                with self._lock:
                    self.num_requested_bytes += stop - start
                done.append((start, stop))
                yield view[start:stop]
        finally:
            self._unmap_pages(done)

    def _unmap_pages(self, spans: list[tuple[int, int]]) -> None:
        """Drop the process's mapping of the file pages under the spans (their contents
        stay in the page cache; touching them again maps them again)."""
        if self._mapping is None or not hasattr(mmap, "MADV_DONTNEED"):
            return
        page = mmap.PAGESIZE
        merged: list[list[int]] = []
        for start, stop in sorted(spans):
            first = start - start % page
            if merged and first <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], stop)
            else:
                merged.append([first, stop])
        for first, stop in merged:
            if stop > first:
                self._mapping.madvise(mmap.MADV_DONTNEED, first, stop - first)

    def close(self) -> None:
        """Close the file; the map goes when no array made from it is left."""
        self._map = self._mapping = None
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
