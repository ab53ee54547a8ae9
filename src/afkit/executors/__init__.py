"""Running processors over filesets: planning, executors, checkpoints, reports.

``afkit.run(processor, fileset, executor=...)`` returns ``(result, RunReport)``.  Executors:
``iterative`` (in this process, for debugging), ``processes`` (local worker processes, forked
for the run or kept in a :class:`ProcessPool` across runs; the default),
``dask`` (any ``distributed.Client`` or scheduler address; a ``LocalCluster`` if none) and
``jobqueue`` (SLURM/HTCondor/PBS worker jobs from a :class:`SiteProfile`).  One task per work
item, accumulators tree-reduced in plan order, so every executor and chunking gives the same
result.  Bad files: ``on_error="fail"`` raises the first error (naming the file); ``"skip"``
records it and accounts the skipped events.  ``checkpoint=DIR`` makes a killed run resumable.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any, Literal

from afkit.accumulate import tree_reduce
from afkit.exceptions import AfkitError, ConfigError
from afkit.executors.checkpoint import Checkpoint
from afkit.executors.jobqueue import SiteProfile
from afkit.executors.local import ProcessPool, local_outcomes
from afkit.executors.plan import WorkItem, plan
from afkit.executors.report import (
    ChunkFailure,
    LostWorker,
    RetriedChunk,
    RunReport,
    SampleAccount,
)
from afkit.executors.work import Outcome
from afkit.fileset import Fileset
from afkit.processor import Processor

__all__ = [
    "Checkpoint",
    "ChunkFailure",
    "LostWorker",
    "Outcome",
    "ProcessPool",
    "RetriedChunk",
    "RunReport",
    "SampleAccount",
    "SiteProfile",
    "WorkItem",
    "plan",
    "run",
]

Executor = Literal["iterative", "processes", "dask", "jobqueue"]
EXECUTORS = ("iterative", "processes", "dask", "jobqueue")
OnError = Literal["fail", "skip"]


def _metadata(fileset: Fileset) -> dict[str, dict[str, Any]]:
    return {
        name: {
            "xsec": s.xsec,
            "sumw": s.sumw,
            "luminosity": s.luminosity,
            "is_data": s.is_data,
            "process": s.process,
            "variation": s.variation,
            "sumw_variations": dict(s.sumw_variations),
        }
        for name, s in fileset.samples.items()
    }


class _ProgressBar:
    """A rich progress bar for ``run(progress=True)``; callable as ``(done, total)``."""

    def __enter__(self) -> _ProgressBar:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

        self._bar = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            transient=False,
        )
        self._bar.__enter__()
        self._task = self._bar.add_task("chunks", total=None)
        return self

    def __call__(self, done: int, total: int) -> None:
        self._bar.update(self._task, completed=done, total=total)

    def note(self, text: str) -> None:
        self._bar.console.print(text)

    def __exit__(self, *exc: object) -> None:
        self._bar.__exit__(None, None, None)


def run(
    processor: Processor,
    fileset: Fileset,
    *,
    executor: Executor = "processes",
    chunksize: int = 100_000,
    workers: int | None = None,
    on_error: OnError = "fail",
    progress: Callable[[int, int], None] | bool | None = None,
    client: Any = None,
    pool: ProcessPool | None = None,
    site: SiteProfile | str | os.PathLike[str] | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    retries: int = 2,
    backoff: float = 0.5,
) -> tuple[Any, RunReport]:
    """Run ``processor`` over every chunk of ``fileset``; return (merged result, report).

    Args:
        executor: ``iterative``, ``processes``, ``dask`` or ``jobqueue``.
        chunksize: entries per work item.  workers: local processes / LocalCluster size.
        on_error: ``fail`` (raise naming the file) or ``skip`` (report it, account its events).
        progress: ``True`` for a rich progress bar (with the Dask dashboard link), or a
            callable ``progress(done, total)`` called after each work item.
        client: for ``dask``: a ``distributed.Client``, a scheduler address, or None.
        pool: for ``processes``: a :class:`ProcessPool` whose workers are kept across runs
            (by default workers are forked for the run and stopped after it).
        site: for ``jobqueue``: a :class:`SiteProfile` or the path of one (YAML/JSON).
        checkpoint: directory keeping finished items; a rerun processes only the rest.
        retries, backoff: attempts and exponential delay for transient I/O errors.
    """
    if executor not in EXECUTORS:
        raise ConfigError(f"executor must be one of {', '.join(EXECUTORS)}, not {executor!r}")
    if on_error not in ("fail", "skip"):
        raise ConfigError(f"on_error must be 'fail' or 'skip', not {on_error!r}")
    if executor == "jobqueue" and site is None:
        raise ConfigError("the jobqueue executor needs a site profile (site=...)")
    if pool is not None:
        if not isinstance(pool, ProcessPool):
            raise ConfigError(f"pool must be an afkit.ProcessPool, not {pool!r}")
        if executor != "processes":
            raise ConfigError(f"a ProcessPool runs the processes executor, not {executor!r}")
        if workers is not None and workers != pool.workers:
            raise ConfigError(f"workers={workers} differs from the pool's {pool.workers}")
    if progress is True:
        with _ProgressBar() as bar:
            return run(
                processor,
                fileset,
                executor=executor,
                chunksize=chunksize,
                workers=workers,
                on_error=on_error,
                progress=bar,
                client=client,
                pool=pool,
                site=site,
                checkpoint=checkpoint,
                retries=retries,
                backoff=backoff,
            )
    start = time.perf_counter()
    items = plan(fileset, chunksize=chunksize)
    report = RunReport(executor=executor, chunks=len(items))
    for item in items:
        report.samples.setdefault(item.sample, SampleAccount()).planned += item.events
    metadata = _metadata(fileset)
    results: list[Any] = [None] * len(items)
    done = 0

    store = Checkpoint(checkpoint, processor) if checkpoint is not None else None
    pending: list[int] = []
    for i, item in enumerate(items):
        found, value = store.load(item) if store else (False, None)
        if found:
            results[i] = value
            report.samples[item.sample].processed += item.events
            report.from_checkpoint += 1
            done += 1
        else:
            pending.append(i)

    def record(i: int, outcome: Outcome) -> None:
        nonlocal done
        value, error = outcome.value, outcome.error
        item = items[i]
        account = report.samples[item.sample]
        done += 1
        if outcome.attempts > 1:
            report.retried.append(
                RetriedChunk(
                    item.sample, item.key, f"{outcome.attempts} attempts (transient I/O errors)"
                )
            )
        report.bytes_read += outcome.bytes_read
        if error is None:
            results[i] = value
            account.processed += item.events
            if store:
                store.store(item, value)
        elif on_error == "fail":
            raise AfkitError(
                f"chunk {item.entry_start}-{item.entry_stop} failed: {error}", file=item.file
            )
        else:
            account.skipped += item.events
            report.failures.append(
                ChunkFailure(item.sample, item.file, item.entry_start, item.entry_stop, error)
            )
        if callable(progress):
            progress(done, len(items))

    todo = [items[i] for i in pending]
    if executor in ("iterative", "processes"):
        stream = local_outcomes(
            processor,
            todo,
            metadata,
            pool=pool,
            workers=workers,
            pooled=executor == "processes",
            retries=retries,
            backoff=backoff,
            report=report,
        )
        for j, outcome in stream:
            record(pending[j], outcome)
    else:
        from afkit.executors import dask as dask_executor
        from afkit.executors import jobqueue

        if executor == "dask":
            context = dask_executor.connect(client, workers)
        else:
            profile = site if isinstance(site, SiteProfile) else SiteProfile.load(site)  # type: ignore[arg-type]
            context = jobqueue.cluster_client(profile)
        with context as connected:
            report.dashboard = getattr(connected, "dashboard_link", None)
            if isinstance(progress, _ProgressBar) and report.dashboard:
                progress.note(f"Dask dashboard: {report.dashboard}")
            report.versions = dask_executor.preflight(connected)
            stream = dask_executor.outcomes(
                connected, processor, todo, metadata, retries=retries, backoff=backoff
            )
            for j, outcome in stream:
                record(pending[j], outcome)
    report.check()
    result = tree_reduce([r for r in results if r is not None])
    if hasattr(processor, "postprocess"):
        result = processor.postprocess(result)
    report.seconds = time.perf_counter() - start
    return result, report
