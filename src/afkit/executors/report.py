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


@dataclass(frozen=True)
class LostWorker:
    """A local worker process that died during a run (killed, out of memory, crashed).

    ``chunk`` is the key of the work item it was running (None if it died between items);
    that item, like every other one not finished when the workers were lost, was run again.
    """

    pid: int
    exitcode: int | None  # negative: killed by that signal (-9: SIGKILL)
    chunk: str | None

    def describe(self) -> str:
        """``pid 1234 (killed by SIGKILL) while running FILE::TREE::0-100``."""
        if self.exitcode is not None and self.exitcode < 0:
            import signal

            try:
                how = f"killed by {signal.Signals(-self.exitcode).name}"
            except ValueError:
                how = f"killed by signal {-self.exitcode}"
        else:
            how = f"exit code {self.exitcode}"
        doing = f" while running {self.chunk}" if self.chunk else " between chunks"
        return f"pid {self.pid} ({how}){doing}"


@dataclass(frozen=True)
class RetriedChunk:
    """A work item that was run more than once, and why (lost worker, transient I/O error)."""

    sample: str
    chunk: str  # the item's key: file::tree::start-stop
    reason: str


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
    lost_workers: list[LostWorker] = field(default_factory=list)  # local workers that died
    retried: list[RetriedChunk] = field(default_factory=list)  # items run more than once
    bytes_read: int = 0  # file bytes the processed items read (none for checkpointed ones)

    @property
    def events_planned(self) -> int:
        return sum(s.planned for s in self.samples.values())

    @property
    def events_processed(self) -> int:
        return sum(s.processed for s in self.samples.values())

    @property
    def events_skipped(self) -> int:
        return sum(s.skipped for s in self.samples.values())

    def faults(self) -> list[str]:
        """One line per lost worker and per retried chunk (empty for a clean run)."""
        lines = [f"lost worker {w.describe()}" for w in self.lost_workers]
        lines += [f"retried {r.chunk} ({r.reason})" for r in self.retried]
        return lines

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
