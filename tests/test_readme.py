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
