"""examples/agc_by_hand.py — the AGC on afkit's public API, as a user writes it — fills the
engine's histograms exactly (every bin's sum of weights and of squared weights)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import afkit
from afkit.agc import AGCProcessor
from tests.conftest import REPO

pytestmark = pytest.mark.slow

SCRIPT = REPO / "examples" / "agc_by_hand.py"


def test_by_hand_equals_the_engine(agc_fileset_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "by_hand.json"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(agc_fileset_path), str(out), "--chunksize", "3000"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        from agc_by_hand import histograms_json
    finally:
        sys.path.remove(str(SCRIPT.parent))
    result, report = afkit.run(  # the same chunks: sums of weights merge in the same order
        AGCProcessor(), afkit.Fileset.load(agc_fileset_path), executor="iterative", chunksize=3000
    )
    assert report.complete
    engine = histograms_json(result["hists"])["hists"]
    by_hand = json.loads(out.read_text())["hists"]
    assert sorted(engine) == sorted(by_hand)
    assert len(engine) > 100  # every process, region and variation that has entries
    for key, sums in engine.items():
        assert len(sums["sumw"]) == 27, key
        assert by_hand[key] == sums, key
