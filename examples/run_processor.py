"""Run a processor over a fileset: once with workers forked for the run, then twice more with
workers kept in an afkit.ProcessPool, as a notebook would between cells.

Run: python examples/run_processor.py [FILE]   (default: the r24 development file)
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import awkward as ak
import hist
import numpy as np

import afkit
from afkit.fileset import FileEntry, Fileset, SampleEntry

DEFAULT = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "uproot-issue-951.root"


class LeadingJetPt:
    """Leading jet pT of events with at least one jet, and the events seen."""

    def process(self, events: Any, context: Any) -> dict[str, Any]:
        jets = events.Jets
        leading = jets[ak.num(jets) > 0][:, 0]
        h = hist.Hist(hist.axis.Regular(30, 0, 300, name="pt", label="leading jet pT [GeV]"))
        h.fill(ak.to_numpy(leading.pt))
        return {"leading_pt": h, "events": len(events)}


def main(path: str) -> None:
    file = str(Path(path).resolve())
    # the same file listed twice, as two samples: a fileset of two files without declared
    # counts (-1), which planning reads from the files
    fileset = Fileset(
        {
            name: SampleEntry(name, "ttbar", "nominal", [FileEntry(file, "CollectionTree", -1)])
            for name in ("first", "second")
        },
        luminosity=1.0,
    )
    reference, report = afkit.run(LeadingJetPt(), fileset, executor="processes", workers=2)
    print(f"forked workers: {report.events_processed} events in {report.chunks} chunks")

    with afkit.ProcessPool(workers=2) as pool:
        for chunksize in (7, 25):
            result, report = afkit.run(LeadingJetPt(), fileset, pool=pool, chunksize=chunksize)
            same = np.array_equal(result["leading_pt"].values(), reference["leading_pt"].values())
            print(
                f"pool, chunks of {chunksize}: {report.chunks} chunks, "
                f"{report.workers_started} workers started, same histogram: {same}"
            )
            if not (same and report.complete):
                raise SystemExit("the runs disagree")
    h = result["leading_pt"]
    centers = h.axes[0].centers
    mean = float(np.sum(centers * h.values()) / max(h.sum(), 1))
    print(f"{result['events']} events, leading-jet pT mean ≈ {mean:.1f} GeV (binned)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else str(DEFAULT))
