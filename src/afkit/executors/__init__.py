"""Running processors over filesets: planning, executors, checkpoints, reports.

``afkit.run(processor, fileset, executor=...)`` returns ``(result, RunReport)``.  Executors:
``iterative`` (in this process, for debugging), ``processes`` (local pool; the default),
``dask`` (any ``distributed.Client`` or scheduler address; a ``LocalCluster`` if none) and
``jobqueue`` (SLURM/HTCondor/PBS worker jobs from a :class:`SiteProfile`).  One task per work
item, accumulators tree-reduced in plan order, so every executor and chunking gives the same
result.  Bad files: ``on_error="fail"`` raises the first error (naming the file); ``"skip"``
records it and accounts the skipped events.  ``checkpoint=DIR`` makes a killed run resumable.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, Literal

from afkit.accumulate import tree_reduce
from afkit.exceptions import AfkitError, ConfigError
from afkit.executors.checkpoint import Checkpoint
from afkit.executors.jobqueue import SiteProfile
from afkit.executors.plan import WorkItem, largest_first, plan
from afkit.executors.report import ChunkFailure, RunReport, SampleAccount
from afkit.executors.work import Outcome, process_item
from afkit.fileset import Fileset

__all__ = ["Checkpoint", "RunReport", "SiteProfile", "WorkItem", "plan", "run"]

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
        }
        for name, s in fileset.samples.items()
    }


def _local(
    processor: Any,
    items: list[WorkItem],
    metadata: dict[str, dict[str, Any]],
    workers: int | None,
    pooled: bool,
    retries: int,
    backoff: float,
) -> Iterator[tuple[int, Outcome]]:
    if not pooled or len(items) <= 1:
        for i, item in enumerate(items):
            yield i, process_item(processor, item, metadata[item.sample], retries, backoff)
        return
    import gc
    import multiprocessing

    # Forked workers share the parent's memory pages until written.  The cycle collector
    # writes to every object it visits, so its first full pass in each worker would copy
    # the whole parent heap (Numba and LLVM included); frozen objects are not visited.
    freeze = multiprocessing.get_start_method(allow_none=False) == "fork"
    if freeze:
        gc.freeze()  # (no collection first: a full pass costs ~0.1 s with Numba loaded)
    pool = ProcessPoolExecutor(workers or os.cpu_count() or 1)
    try:
        futures = {
            pool.submit(
                process_item, processor, items[i], metadata[items[i].sample], retries, backoff
            ): i
            for i in largest_first(items)
        }
        if freeze:
            gc.unfreeze()  # the workers exist now; the parent collects as usual
            freeze = False
        for future in as_completed(futures):
            yield futures[future], future.result()
    finally:
        if freeze:
            gc.unfreeze()
        # Every result is in (or the run failed): items not started are dropped, and the
        # workers are left to exit on their own — the pool's thread reaps them — instead of
        # the caller waiting ~10 ms for it (or, failing fast, for the whole queue).
        pool.shutdown(wait=False, cancel_futures=True)


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


#: Samples whose first file the parent opens before forking workers, so that the workers
#: inherit the schema of every layout among them (data and MC files differ, for one).
#: Opening a file costs a few milliseconds; building a new layout's schema ~0.1 s per worker.
_WARM_FILES = 32


def _warm_parent(processor: Any, items: list[WorkItem]) -> None:
    """Load, once in this process, what every fork-started worker would otherwise load again.

    Workers forked from this process inherit its memory: Numba code loaded here (afkit's
    decoders and the processor's optional ``warm_up()``) and schemas built here (from the
    first local file of the first few samples) cost them nothing — about a second per worker
    and run otherwise.  Files whose schema an earlier run in this process built are not
    read again.
    Nothing is done where workers are spawned fresh.  Errors are left to the workers, which
    report them against their chunks.
    """
    import multiprocessing

    if multiprocessing.get_start_method(allow_none=False) != "fork":
        return
    from afkit.io.api import read, schema_is_cached
    from afkit.io.warm import warm_up as warm_reader

    warm_reader()
    warm_up = getattr(processor, "warm_up", None)
    if callable(warm_up):
        warm_up()

    from afkit.io.filespec import is_remote

    firsts: dict[str, WorkItem] = {}
    for item in items:
        if not is_remote(item.file):  # remote opens would delay the start by their latency
            firsts.setdefault(item.sample, item)
    for item in list(firsts.values())[:_WARM_FILES]:
        if schema_is_cached(item.file, item.tree):
            continue  # an earlier run in this process built it: nothing to inherit anew
        try:
            read(item.file, tree=item.tree, entry_stop=0)
        except (AfkitError, OSError):
            continue


def run(
    processor: Any,
    fileset: Fileset,
    *,
    executor: Executor = "processes",
    chunksize: int = 100_000,
    workers: int | None = None,
    on_error: OnError = "fail",
    progress: Callable[[int, int], None] | bool | None = None,
    client: Any = None,
    site: SiteProfile | str | os.PathLike[str] | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    retries: int = 2,
    backoff: float = 0.5,
) -> tuple[Any, RunReport]:
    """Run ``processor`` over every chunk of ``fileset``; return (merged result, report).

    Args:
        executor: ``iterative``, ``processes``, ``dask`` or ``jobqueue``.
        chunksize: entries per work item.  workers: local pool / LocalCluster size.
        on_error: ``fail`` (raise naming the file) or ``skip`` (report it, account its events).
        progress: ``True`` for a rich progress bar (with the Dask dashboard link), or a
            callable ``progress(done, total)`` called after each work item.
        client: for ``dask``: a ``distributed.Client``, a scheduler address, or None.
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
        value, error = outcome
        item = items[i]
        account = report.samples[item.sample]
        done += 1
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
    if executor == "processes" and len(todo) > 1:
        _warm_parent(processor, todo)
    if executor in ("iterative", "processes"):
        stream = _local(
            processor, todo, metadata, workers, executor == "processes", retries, backoff
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
