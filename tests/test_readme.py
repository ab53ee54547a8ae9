"""The README's test command is the one .ci/run executes."""

from __future__ import annotations

import re

from tests.conftest import REPO


def test_ci_runs_the_readme_test_command() -> None:
    readme = (REPO / "README.md").read_text()
    block = re.search(r"## Run the tests.*?```console\n(.*?)\n```", readme, re.S)
    assert block is not None
    command = block.group(1).strip()
    assert command in (REPO / ".ci" / "run").read_text()


def test_readme_main_command_runs_the_agc_with_its_extra() -> None:
    readme = (REPO / "README.md").read_text()
    block = re.search(r"## Run the AGC.*?```console\n(.*?)\n```", readme, re.S)
    assert block is not None
    command = block.group(1).strip()
    assert command.endswith("&& afkit agc")
    pyproject = (REPO / "pyproject.toml").read_text()
    extra = re.search(r'-e "\.\[(\w+)\]"', command)
    assert extra is not None
    assert re.search(rf"^{extra.group(1)} = ", pyproject, re.M)
