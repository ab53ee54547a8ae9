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
        [
            sys.executable,
            str(REPO / "examples" / "agc.py"),
            str(agc_fileset_path),
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "ttbar_norm = " in done.stdout
    assert (tmp_path / "out" / "pulls.png").exists()


def test_agc_notebook_runs(
    agc_fileset_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nbformat = pytest.importorskip("nbformat", reason="pip install nbclient ipykernel")
    nbclient = pytest.importorskip("nbclient", reason="pip install nbclient ipykernel")
    pytest.importorskip("ipykernel", reason="pip install ipykernel")
    monkeypatch.setenv("AFKIT_AGC_FILESET", str(agc_fileset_path))
    notebook = nbformat.read(REPO / "examples" / "agc.ipynb", as_version=4)
    nbclient.NotebookClient(
        notebook, timeout=600, resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    text = "".join(
        out.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
    )
    assert "ttbar_norm = " in text
    assert (tmp_path / "agc-notebook-output" / "result.json").exists()
