"""Checkpoints: each finished work item's accumulator on disk, so a killed run resumes.

The driver writes an item's accumulator as soon as it arrives (to a temporary name, then an
atomic rename: a kill never leaves a half-written entry).  Entries are keyed by the item
(file, tree, entry range) and the processor (its class and pickled state), so a different
processor or chunking never reuses them.  A rerun with the same checkpoint directory processes
only the items without an entry; none is counted twice.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from pathlib import Path
from typing import Any

from afkit.executors.plan import WorkItem


class Checkpoint:
    """A directory of finished work items for one processor."""

    def __init__(self, directory: str | os.PathLike[str], processor: Any) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        kind = f"{type(processor).__module__}.{type(processor).__qualname__}"
        self._processor = hashlib.sha256(kind.encode() + pickle.dumps(processor)).hexdigest()

    def _path(self, item: WorkItem) -> Path:
        digest = hashlib.sha256(f"{self._processor}|{item.sample}|{item.key}".encode())
        return self.directory / f"{digest.hexdigest()[:40]}.pkl"

    def load(self, item: WorkItem) -> tuple[bool, Any]:
        """(True, accumulator) if ``item`` finished in an earlier run, else (False, None)."""
        path = self._path(item)
        if not path.exists():
            return False, None
        with path.open("rb") as handle:
            return True, pickle.load(handle)

    def store(self, item: WorkItem, value: Any) -> None:
        path = self._path(item)
        temporary = path.with_suffix(f".tmp{os.getpid()}")
        with temporary.open("wb") as handle:
            pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(path)
