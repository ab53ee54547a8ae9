"""The AGC ttbar measurement from Python: histograms, fit, outputs.

    python examples/agc.py FILESET.json [OUTDIR]

FILESET.json comes from ``afkit generate`` (or describes your own PHYSLITE samples).
"""

from __future__ import annotations

import sys

from afkit import agc

fileset = sys.argv[1]
outdir = sys.argv[2] if len(sys.argv) > 2 else "agc-output"

result = agc.run(fileset, outdir=outdir, executor="processes", chunksize=100_000)

report = result.report
print(f"{report.events_processed} of {report.events_planned} events, {report.chunks} chunks")
for sample, counts in result.events.items():
    print(
        f"  {sample:22s} {counts['events']:7d} events  4j1b {counts['4j1b']:5d}"
        f"  4j2b {counts['4j2b']:5d}"
    )

h = result.hists["4j2b"]  # hist.Hist: observable x process x variation, weighted
print("ttbar m_bjj nominal yield:", h[:, "ttbar", "nominal"].sum().value)

fit = result.fit
print(f"{fit.poi} = {fit.value:.3f} ± {fit.uncertainty:.3f}")
for name, (pull, constraint) in fit.pulls.items():
    print(f"  {name:24s} {pull:+.2f} ± {constraint:.2f}")
print("outputs:", ", ".join(str(p) for p in result.outputs.values()))
