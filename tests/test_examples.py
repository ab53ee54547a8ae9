"""Every script in examples/ runs to completion on the development files."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import DATA, NANO, R24, REPO, data_file

# these take a generated dataset's fileset: tests/agc and tests/analysis run them
ON_A_FILESET = ("agc.py", "agc_by_hand.py", "ttbar_emu.py")
EXAMPLES = sorted(p for p in (REPO / "examples").glob("*.py") if p.name not in ON_A_FILESET)


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(script) -> None:  # type: ignore[no-untyped-def]
    data = data_file(NANO if "nanoaod" in script.name else R24)
    completed = subprocess.run(
        [sys.executable, str(script), str(data)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=REPO,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert completed.stdout.strip()
    assert DATA.exists()
