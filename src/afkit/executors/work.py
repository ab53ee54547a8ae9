"""One work item, processed with retries: the function every executor runs on its workers."""

from __future__ import annotations

import time
from typing import Any

from afkit.executors.plan import WorkItem
from afkit.processor import WorkContext

#: What a work item returns: (accumulator, None) on success, (None, error text) on failure.
Outcome = tuple[Any, str | None]


def is_transient(err: BaseException) -> bool:
    """Worth retrying: I/O hiccups (timeouts, dropped connections), not a bad file or a bug.

    afkit's own errors describe the file itself (missing, truncated, corrupt, wrong layout) and
    would fail again; other ``OSError``/``TimeoutError`` (network reads) may not.
    """
    from afkit.exceptions import AfkitError

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
    import afkit
    from afkit.exceptions import AfkitError

    attempt = 0
    while True:
        try:
            events = afkit.read(
                item.file, tree=item.tree, entry_start=item.entry_start, entry_stop=item.entry_stop
            )
            context = WorkContext(
                item.sample, item.file, item.entry_start, item.entry_stop, metadata
            )
            return processor.process(events, context), None
        except AfkitError as err:
            return None, f"{type(err).__name__}: {err}"
        except (OSError, TimeoutError) as err:
            if not is_transient(err) or attempt >= retries:
                return None, f"{type(err).__name__} after {attempt + 1} attempt(s): {err}"
            time.sleep(backoff * 2**attempt)
            attempt += 1
