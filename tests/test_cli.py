"""``afkit inspect`` on every development file, through click's runner and as a process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from afkit.cli import main
from tests.conftest import NANO, R21, R24, data_file


@pytest.mark.parametrize("name", [R21, R24, NANO])
def test_inspect_every_file(name: str) -> None:
    path = data_file(name)
    result = CliRunner().invoke(main, ["inspect", str(path)])
    assert result.exit_code == 0, result.output
    assert "collections" in result.output
    if name != NANO:
        assert "ElementLinks" in result.output
        assert "Jets" in result.output
        assert "branches afkit does not expose" in result.output  # never silently dropped


def test_inspect_reports_link_targets(r24: Path) -> None:
    result = CliRunner().invoke(main, ["inspect", str(r24)])
    lines = [line for line in result.output.splitlines() if "Jets.btaggingLink" in line]
    assert lines
    assert "BTagging" in lines[0]


def test_inspect_missing_file_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["inspect", str(tmp_path / "missing.root")])
    assert result.exit_code == 2
    assert "no such file" in result.output


def test_console_script_runs(r24: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "afkit", "inspect", "--no-links", "--entry-stop", "5", str(r24)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "5 entries" in completed.stdout


def test_agc_ml_engine_option() -> None:
    runner = CliRunner()
    helped = runner.invoke(main, ["agc", "--help"])
    assert helped.exit_code == 0
    assert "--ml-engine [afkit|xgboost]" in helped.output
    refused = runner.invoke(main, ["agc", "--ml-engine", "tmva"])
    assert refused.exit_code == 2
    assert "'tmva' is not one of 'afkit', 'xgboost'" in refused.output
