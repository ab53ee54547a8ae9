"""The typed report of a run: exact event accounting, per sample, and every failure."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ChunkFailure:
    """A work item that could not be processed."""

    sample: str
    file: str
    entry_start: int
    entry_stop: int
    error: str


@dataclass
class SampleAccount:
    """Events of one sample: planned = processed + skipped, always."""

    planned: int = 0
    processed: int = 0
    skipped: int = 0


@dataclass
class RunReport:
    """What a run did. ``complete`` is True only when every planned event was processed."""

    executor: str
    chunks: int = 0
    samples: dict[str, SampleAccount] = field(default_factory=dict)
    failures: list[ChunkFailure] = field(default_factory=list)
    seconds: float = 0.0
    from_checkpoint: int = 0  # work items taken from the checkpoint, not processed again
    dashboard: str | None = None  # the Dask dashboard of the run, when there is one
    versions: dict[str, str] = field(default_factory=dict)  # checked on every Dask worker
    workers_started: int = 0  # local worker processes forked for this run (0: a warm pool's)

    @property
    def events_planned(self) -> int:
        return sum(s.planned for s in self.samples.values())

    @property
    def events_processed(self) -> int:
        return sum(s.processed for s in self.samples.values())

    @property
    def events_skipped(self) -> int:
        return sum(s.skipped for s in self.samples.values())

    @property
    def complete(self) -> bool:
        return self.events_processed == self.events_planned and not self.failures

    def check(self) -> None:
        """Raise if the accounting does not close (a bug, never expected)."""
        for name, s in self.samples.items():
            if s.planned != s.processed + s.skipped:
                raise AssertionError(
                    f"accounting of {name}: {s.planned} != {s.processed} + {s.skipped}"
                )
