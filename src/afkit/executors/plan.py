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

    return int(open_file(fileset.resolve(entry))[entry.tree].num_entries)


def plan(fileset: Fileset, *, chunksize: int) -> list[WorkItem]:
    """Work items of every file of every sample, in fileset order."""
    from afkit.exceptions import ConfigError

    if not isinstance(chunksize, int) or chunksize < 1:
        raise ConfigError(f"chunksize must be a positive integer, not {chunksize!r}")
    items = []
    for name, sample in fileset.samples.items():
        for entry in sample.files:
            path = fileset.resolve(entry)
            total = _count(fileset, entry)
            for start in range(0, total, chunksize):
                items.append(WorkItem(name, path, entry.tree, start, min(start + chunksize, total)))
    return items
