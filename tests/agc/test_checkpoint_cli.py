"""``afkit agc --checkpoint DIR``: a run whose driver is killed resumes with identical outputs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import uproot

from afkit.executors.plan import plan
from afkit.fileset import Fileset

pytestmark = pytest.mark.slow

CHUNKSIZE = 500


def _agc(fileset: Path, outdir: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "afkit",
        "agc",
        "--fileset",
        str(fileset),
        "--outdir",
        str(outdir),
        "--chunksize",
        str(CHUNKSIZE),
        "--workers",
        "2",
        "--no-plots",
        *extra,
    ]


def _histograms(path: Path) -> dict[str, tuple[list[float], list[float]]]:
    with uproot.open(path) as handle:
        return {
            key: (h.values(flow=True).tolist(), h.variances(flow=True).tolist())
            for key, h in ((k, handle[k]) for k in handle.keys(cycle=False))
            if h.classname.startswith("TH1")
        }


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (Linux ``/proc``; none elsewhere)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    """Whether ``pid`` still runs (a zombie left for its new parent to reap does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def test_killed_driver_resumes_from_the_checkpoint(agc_fileset_path: Path, tmp_path: Path) -> None:
    checkpoint = tmp_path / "checkpoint"
    chunks = len(plan(Fileset.load(agc_fileset_path), chunksize=CHUNKSIZE))
    log = tmp_path / "killed.log"
    with log.open("wb") as output:
        first = subprocess.Popen(
            _agc(agc_fileset_path, tmp_path / "killed", "--checkpoint", str(checkpoint)),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 300
        workers: list[int] = []
        while time.monotonic() < deadline and first.poll() is None:
            if checkpoint.exists() and len(list(checkpoint.glob("*.pkl"))) >= 10:
                workers = _children(first.pid)
                os.kill(first.pid, signal.SIGKILL)  # the driver dies mid-run
                break
            time.sleep(0.005)
        first.wait(timeout=60)
    assert first.returncode == -signal.SIGKILL, log.read_text()[-2000:]
    # its workers notice and end too, instead of waiting for work forever
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(_alive(pid) for pid in workers):
        time.sleep(0.05)
    assert not [pid for pid in workers if _alive(pid)]
    kept = len(list(checkpoint.glob("*.pkl")))
    assert 10 <= kept < chunks

    resumed = subprocess.run(
        _agc(agc_fileset_path, tmp_path / "resumed", "--checkpoint", str(checkpoint)),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"{kept} chunks taken from the checkpoint" in resumed.stdout
    clean = subprocess.run(
        _agc(agc_fileset_path, tmp_path / "clean"),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert clean.returncode == 0, clean.stderr[-3000:]

    a = _histograms(tmp_path / "resumed" / "histograms.root")
    b = _histograms(tmp_path / "clean" / "histograms.root")
    assert a.keys() == b.keys()
    assert len(a) > 20
    for key in a:
        assert np.array_equal(a[key][0], b[key][0]), key
        assert np.array_equal(a[key][1], b[key][1]), key
    assert (tmp_path / "resumed" / "workspace.json").read_text() == (
        tmp_path / "clean" / "workspace.json"
    ).read_text()
    fit_a = json.loads((tmp_path / "resumed" / "result.json").read_text())
    fit_b = json.loads((tmp_path / "clean" / "result.json").read_text())
    assert fit_a["ttbar_norm"] == fit_b["ttbar_norm"]
    assert fit_a["fit"] == fit_b["fit"]
    assert fit_a["run"]["from_checkpoint"] == kept
    assert fit_a["run"]["events_processed"] == fit_b["run"]["events_processed"]
