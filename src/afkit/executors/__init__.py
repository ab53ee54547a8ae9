"""Running processors over filesets: planning, executors, reports.

``afkit.run(processor, fileset, executor="processes" | "iterative", chunksize=...)`` returns
``(result, RunReport)``.  One task per work item, accumulators tree-reduced in plan order so
every executor and chunking gives the same result.  Bad files: ``on_error="fail"`` raises the
first error (naming the file); ``"skip"`` records it and accounts the skipped events.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Literal

from afkit.accumulate import tree_reduce
from afkit.exceptions import AfkitError, ConfigError
from afkit.executors.plan import WorkItem, plan
from afkit.executors.report import ChunkFailure, RunReport, SampleAccount
from afkit.fileset import Fileset
from afkit.processor import WorkContext

__all__ = ["RunReport", "WorkItem", "plan", "run"]

Executor = Literal["iterative", "processes"]
OnError = Literal["fail", "skip"]


def _process_item(
    processor: Any, item: WorkItem, metadata: dict[str, Any]
) -> tuple[Any, str | None]:
    """Run one work item; return (accumulator, None) or (None, error text) for afkit errors."""
    import afkit

    try:
        events = afkit.read(
            item.file, tree=item.tree, entry_start=item.entry_start, entry_stop=item.entry_stop
        )
        context = WorkContext(item.sample, item.file, item.entry_start, item.entry_stop, metadata)
        return processor.process(events, context), None
    except AfkitError as err:
        return None, f"{type(err).__name__}: {err}"


def run(
    processor: Any,
    fileset: Fileset,
    *,
    executor: Executor = "processes",
    chunksize: int = 100_000,
    workers: int | None = None,
    on_error: OnError = "fail",
    progress: Callable[[int, int], None] | None = None,
) -> tuple[Any, RunReport]:
    """Run ``processor`` over every chunk of ``fileset``; return (merged result, report)."""
    if executor not in ("iterative", "processes"):
        raise ConfigError(f"executor must be 'iterative' or 'processes', not {executor!r}")
    if on_error not in ("fail", "skip"):
        raise ConfigError(f"on_error must be 'fail' or 'skip', not {on_error!r}")
    start = time.perf_counter()
    items = plan(fileset, chunksize=chunksize)
    report = RunReport(executor=executor, chunks=len(items))
    for item in items:
        report.samples.setdefault(item.sample, SampleAccount()).planned += item.events
    metadata = {
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
    results: list[Any] = [None] * len(items)

    def record(i: int, outcome: tuple[Any, str | None]) -> None:
        value, error = outcome
        item = items[i]
        account = report.samples[item.sample]
        if error is None:
            results[i] = value
            account.processed += item.events
            return
        if on_error == "fail":
            raise AfkitError(
                f"chunk {item.entry_start}-{item.entry_stop} failed: {error}", file=item.file
            )
        account.skipped += item.events
        report.failures.append(
            ChunkFailure(item.sample, item.file, item.entry_start, item.entry_stop, error)
        )

    if executor == "iterative" or len(items) <= 1:
        for i, item in enumerate(items):
            record(i, _process_item(processor, item, metadata[item.sample]))
            if progress:
                progress(i + 1, len(items))
    else:
        n_workers = workers or os.cpu_count() or 1
        with ProcessPoolExecutor(n_workers) as pool:
            futures = [
                pool.submit(_process_item, processor, item, metadata[item.sample]) for item in items
            ]
            for i, future in enumerate(futures):
                record(i, future.result())
                if progress:
                    progress(i + 1, len(items))
    report.check()
    result = tree_reduce([r for r in results if r is not None])
    if hasattr(processor, "postprocess"):
        result = processor.postprocess(result)
    report.seconds = time.perf_counter() - start
    return result, report
