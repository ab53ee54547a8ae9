"""Per-chunk memo of decoded buffers, shared by the TTree and RNTuple readers.

The lazy event model asks for the same branch from several places (a field and its
collection's offsets, a link and its target); a reader decodes it once per chunk and hands
back the same buffers afterwards, also when worker threads ask at the same time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


class CachedReads:
    """``cached(kind, name, make)``: ``make()`` once per ``(kind, name)``, thread safe."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str], Any] = {}
        self._lock = threading.RLock()

    def clear(self) -> None:
        """Forget every decoded buffer (a later request decodes it again)."""
        with self._lock:
            self._cache.clear()

    def is_cached(self, kind: str, name: str) -> bool:
        """Whether ``(kind, name)`` was decoded already in this chunk."""
        return (kind, name) in self._cache

    def cached(self, kind: str, name: str, make: Callable[[], Any]) -> Any:
        """Return the cached value for ``(kind, name)``, computing it once."""
        key = (kind, name)
        with self._lock:
            if key not in self._cache:
                self._cache[key] = make()
            return self._cache[key]
