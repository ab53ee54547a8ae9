"""The processor protocol: what users implement to run an analysis over a fileset.

``process(events)`` is called once per chunk with :class:`afkit.Events` (which knows its file,
entry range and, through :attr:`WorkContext`, its sample) and returns an accumulator: numbers,
NumPy arrays, ``hist.Hist``, or dicts/lists of those.  Accumulators of all chunks are merged with
:func:`afkit.accumulate.add`; ``postprocess(accumulator)``, if defined, runs once at the end.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class WorkContext:
    """What a chunk belongs to: passed to processors that accept it."""

    sample: str
    file: str
    entry_start: int
    entry_stop: int
    metadata: dict[str, Any]


@runtime_checkable
class Processor(Protocol):
    """Per-chunk analysis code."""

    def process(self, events: Any, context: WorkContext) -> Any:
        """Return the accumulator of one chunk."""
        ...
