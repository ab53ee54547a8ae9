"""Processors shared by the executor tests (importable by worker processes and batch jobs)."""

from __future__ import annotations

import time
from typing import Any, ClassVar

import awkward as ak


class JetProcessor:
    """Jet pT histogram, event and jet counts, and every event number seen (to catch doubles)."""

    def process(self, events: Any, context: Any) -> dict[str, Any]:
        import hist

        h = hist.Hist(hist.axis.Regular(20, 0, 400, name="pt"), storage=hist.storage.Weight())
        h.fill(ak.to_numpy(ak.flatten(events.Jets.pt)))
        return {
            context.sample: {
                "pt": h,
                "events": len(events),
                "jets": int(ak.sum(ak.num(events.Jets))),
                "event_numbers": ak.to_list(events.EventInfo.eventNumber),
            }
        }


class SlowJetProcessor(JetProcessor):
    """The same, taking ``delay`` seconds per chunk: long enough runs to kill things in."""

    def __init__(self, delay: float) -> None:
        self.delay = delay

    def process(self, events: Any, context: Any) -> dict[str, Any]:
        time.sleep(self.delay)
        return super().process(events, context)


class WarmedJetProcessor(JetProcessor):
    """Records, in the process that calls it, that ``warm_up`` ran (the parent, for forks)."""

    warmed_in: ClassVar[list[int]] = []

    def warm_up(self) -> None:
        import os

        WarmedJetProcessor.warmed_in.append(os.getpid())


class DiesOnceProcessor(JetProcessor):
    """The jet processor, except that the worker process taking the chunk starting at
    ``entry`` kills itself (SIGKILL) the first time: a worker lost mid-run."""

    def __init__(self, marker: str, entry: int) -> None:
        self.marker = marker
        self.entry = entry

    def process(self, events: Any, context: Any) -> dict[str, Any]:
        import os
        import signal

        if context.entry_start == self.entry and not os.path.exists(self.marker):
            with open(self.marker, "w") as f:
                f.write(str(os.getpid()))
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(0.05)  # the other chunks stay in flight meanwhile
        return super().process(events, context)
