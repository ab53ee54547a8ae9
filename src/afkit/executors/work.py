"""One work item, processed with retries: the function every executor runs on its workers."""

from __future__ import annotations

import os
import time
from typing import Any, NamedTuple

from afkit.executors.plan import WorkItem
from afkit.processor import WorkContext


class Outcome(NamedTuple):
    """What processing one work item gave: its accumulator, or the error that stopped it.

    ``attempts`` counts the tries (more than one after transient I/O errors); ``worker`` is
    the process id that ran it; ``bytes_read`` the file bytes its (last) try read.
    """

    value: Any
    error: str | None
    attempts: int = 1
    worker: int = 0
    bytes_read: int = 0


def is_transient(err: BaseException) -> bool:
    """Worth retrying: I/O hiccups (timeouts, dropped connections), not a bad file or a bug.

    afkit's own errors describe the file itself (missing, truncated, corrupt, wrong layout) and
    would fail again — except :class:`~afkit.exceptions.RemoteReadError` (a server that did not
    answer); other ``OSError``/``TimeoutError`` (network reads) may pass too.
    """
    from afkit.exceptions import AfkitError, RemoteReadError

    if isinstance(err, RemoteReadError):
        return True
    return isinstance(err, (OSError, TimeoutError)) and not isinstance(err, AfkitError)


def process_item(
    processor: Any,
    item: WorkItem,
    metadata: dict[str, Any],
    retries: int = 2,
    backoff: float = 0.5,
) -> Outcome:
    """Read the item's events and run the processor; afkit errors and, after ``retries``
    attempts with exponential ``backoff``, transient I/O errors become an error outcome."""
    from afkit.events.reading import read
    from afkit.exceptions import AfkitError

    attempt = 0
    worker = os.getpid()
    while True:
        try:
            events = read(
                item.file, tree=item.tree, entry_start=item.entry_start, entry_stop=item.entry_stop
            )
            context = WorkContext(
                item.sample, item.file, item.entry_start, item.entry_stop, metadata
            )
            value = processor.process(events, context)
            return Outcome(value, None, attempt + 1, worker, events.bytes_read)
        except (OSError, TimeoutError, AfkitError) as err:
            if not is_transient(err):
                return Outcome(None, f"{type(err).__name__}: {err}", attempt + 1, worker)
            if attempt >= retries:
                text = f"{type(err).__name__} after {attempt + 1} attempt(s): {err}"
                return Outcome(None, text, attempt + 1, worker)
            time.sleep(backoff * 2**attempt)
            attempt += 1
