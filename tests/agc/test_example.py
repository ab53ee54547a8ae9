"""examples/agc.py runs on a generated dataset and prints the fitted signal strength."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow


def test_agc_example_runs(agc_fileset_path: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / "examples" / "agc.py"), str(agc_fileset_path),
         str(tmp_path / "out")],
        capture_output=True, text=True, timeout=600, check=False, cwd=REPO,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "ttbar_norm = " in done.stdout
    assert (tmp_path / "out" / "pulls.png").exists()
