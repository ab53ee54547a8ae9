"""The Dask executor: one future per work item on any ``distributed`` cluster.

No task graph is built: work items are submitted directly (``client.submit``) and collected
as they finish; accumulators are merged by the driver in plan order.  Dask reschedules the
tasks of a worker that dies (up to ``distributed.scheduler.allowed-failures`` times, then the
item is reported as failed), so a lost worker costs time, not events.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from afkit.exceptions import ConfigError
from afkit.executors.plan import WorkItem, largest_first
from afkit.executors.work import Outcome, process_item
from afkit.extras import require

#: Compared between the driver and every worker before a run (a mismatch breaks pickling or
#: changes results in ways that are hard to trace).
CHECKED_PACKAGES = ("afkit", "awkward", "uproot", "numba", "numpy", "hist", "dask", "distributed")


def _distributed() -> Any:
    return require("distributed", "the dask executor")


def local_cluster(workers: int | None = None, *, profile: bool = False, **options: Any) -> Any:
    """A ``distributed.LocalCluster`` as afkit starts one: ``workers`` single-threaded worker
    processes (default: one per core), dashboard on a free port.

    Unlike Dask's defaults, the workers keep glibc's own memory-trimming policy (Dask's nanny
    sets ``MALLOC_TRIM_THRESHOLD_=65536``, which hands every freed large array back to the
    system, so that the next chunk's arrays are fresh mappings to fault in again: the AGC's
    chunks ran ~7-15 % slower with it here), and do not sample their threads' stacks for the
    dashboard's profile page unless ``profile=True`` (sampling every 10 ms cost ~5-8 %).
    ``options`` go to ``LocalCluster``.
    """
    distributed = _distributed()
    import os

    import dask

    n = workers or os.cpu_count() or 1
    settings = dict(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0")
    settings.update(options)
    config = {
        "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
        "distributed.worker.profile.enabled": profile,
    }
    with dask.config.set(config):
        return distributed.LocalCluster(**settings)


@contextmanager
def connect(client: Any, workers: int | None) -> Iterator[Any]:
    """A ``distributed.Client``: the one given, one connected to an address, or one of a
    :func:`local_cluster` closed afterwards."""
    distributed = _distributed()
    if isinstance(client, distributed.Client):
        yield client
        return
    if isinstance(client, str):
        with distributed.Client(client) as connected:
            yield connected
        return
    if client is not None:
        raise ConfigError(
            f"client must be a distributed.Client, an address or None, not {client!r}"
        )
    with local_cluster(workers) as cluster, distributed.Client(cluster) as local:
        yield local


def preflight(client: Any) -> dict[str, Any]:
    """Check that every worker runs the driver's Python and package versions; return them.

    Raises :class:`afkit.ConfigError` listing each mismatch (worker, package, both versions).
    """
    versions = client.get_versions(packages=list(CHECKED_PACKAGES))
    mine = versions["client"]
    problems = []
    for address, theirs in versions.get("workers", {}).items():
        if theirs is None:
            continue
        pairs = [("python", mine["host"].get("python"), theirs["host"].get("python"))]
        pairs += [(p, mine["packages"].get(p), theirs["packages"].get(p)) for p in CHECKED_PACKAGES]
        for name, here, there in pairs:
            if here != there:
                problems.append(f"{address}: {name} {there} (driver: {here})")
    if problems:
        raise ConfigError("workers differ from the driver: " + "; ".join(problems))
    return dict(mine["packages"], python=mine["host"].get("python"))


def outcomes(
    client: Any,
    processor: Any,
    items: list[WorkItem],
    metadata: dict[str, dict[str, Any]],
    *,
    retries: int,
    backoff: float,
) -> Iterator[tuple[int, Outcome]]:
    """Submit every item (largest first); yield ``(index, outcome)`` in completion order."""
    distributed = _distributed()
    run_id = uuid.uuid4().hex[:8]
    # a fresh key per run: equal processors of consecutive runs must not share scattered data
    remote = client.scatter(processor, broadcast=True, hash=False) if items else None
    futures = {
        client.submit(
            process_item,
            remote,
            items[i],
            metadata[items[i].sample],
            retries,
            backoff,
            key=f"afkit-{run_id}-{i}",
            pure=False,
            priority=-rank,  # Dask runs higher priorities first: the largest chunks
        ): i
        for rank, i in enumerate(largest_first(items))
    }
    # results travel back as each task finishes, in the client's event loop, instead of one
    # blocking request per future from this thread
    finished = distributed.as_completed(futures, with_results=True, raise_errors=False)
    for future, result in finished:
        index = futures[future]
        if future.status == "error":
            error = result[1]  # (type, exception, traceback)
            if not isinstance(error, distributed.KilledWorker):
                raise error
            outcome = Outcome(None, f"KilledWorker: the item's workers died repeatedly ({error})")
        else:
            outcome = result
        future.release()
        yield index, outcome
