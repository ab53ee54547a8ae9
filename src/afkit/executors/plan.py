"""Planning: turn a fileset into work items (file, tree, entry range) without opening files.

Files whose event count the fileset declares are split into chunks of at most ``chunksize``
entries directly; files without a count are opened once to read it.
"""

from __future__ import annotations

from dataclasses import dataclass

from afkit.fileset import FileEntry, Fileset


@dataclass(frozen=True)
class WorkItem:
    """One chunk of one file."""

    sample: str
    file: str
    tree: str
    entry_start: int
    entry_stop: int

    @property
    def events(self) -> int:
        return self.entry_stop - self.entry_start

    @property
    def key(self) -> str:
        return f"{self.file}::{self.tree}::{self.entry_start}-{self.entry_stop}"


def _count(fileset: Fileset, entry: FileEntry) -> int:
    """The declared event count, or (count < 0: unknown) the tree's entries read from the file."""
    if entry.events >= 0:
        return entry.events
    from afkit.io.filespec import open_file
    from afkit.io.open import event_entries

    path = fileset.resolve(entry)
    handle = open_file(path, reuse=False)  # own handle: safe from threads and the LRU
    try:
        return event_entries(handle, path, entry.tree)
    finally:
        handle.close()


def plan(fileset: Fileset, *, chunksize: int, threads: int = 8) -> list[WorkItem]:
    """Work items of every file of every sample, in fileset order.

    Files without a declared count are opened once each, ``threads`` at a time (opening is
    I/O-bound: remote files overlap their latencies).
    """
    from concurrent.futures import ThreadPoolExecutor

    from afkit.exceptions import ConfigError

    if not isinstance(chunksize, int) or chunksize < 1:
        raise ConfigError(f"chunksize must be a positive integer, not {chunksize!r}")
    entries = [(name, entry) for name, s in fileset.samples.items() for entry in s.files]
    unknown = [entry for _, entry in entries if entry.events < 0]
    counts: dict[int, int] = {}
    if unknown:
        with ThreadPoolExecutor(min(threads, len(unknown))) as pool:
            found = pool.map(lambda e: _count(fileset, e), unknown)
            counts = {id(e): n for e, n in zip(unknown, found, strict=True)}
    items = []
    for name, entry in entries:
        path = fileset.resolve(entry)
        total = entry.events if entry.events >= 0 else counts[id(entry)]
        for start in range(0, total, chunksize):
            items.append(WorkItem(name, path, entry.tree, start, min(start + chunksize, total)))
    return items


def largest_first(items: list[WorkItem]) -> list[int]:
    """Positions of ``items`` in the order to hand them to parallel workers: the largest
    chunks first (ties in plan order).  The run ends when the last chunk does; started last,
    the small ones even out the workers' finishing times.  Results are still merged in plan
    order, so the order of execution changes nothing in them."""
    return sorted(range(len(items)), key=lambda i: -items[i].events)
