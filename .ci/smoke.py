"""Smoke test of an installed afkit (run by .ci/run in fresh venvs, from outside the checkout).

Checks what a user gets from ``pip install``: the import and version, the console script, the
package data (the writer's C++ headers) found from the installed package, reading a real file,
generating a tiny sample and the AGC command's help.  Usage: python smoke.py DATA_DIR WORKDIR
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run(*command: str) -> str:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"smoke: {' '.join(command)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done.stdout


def main(data: Path, work: Path) -> None:
    import afkit

    source = Path(afkit.__file__).resolve()
    assert "site-packages" in str(source), f"afkit imported from {source}, not the install"
    print(f"afkit {afkit.__version__} from {source.parent}")
    assert run("afkit", "--version").strip().endswith(afkit.__version__)

    physlite = data / "uproot-issue-951.root"
    events = afkit.read(physlite)
    jets = events.Jets
    n_jets = int(sum(len(j) for j in jets.pt.tolist()))
    assert n_jets == 455, n_jets
    print(f"afkit.read: {len(events)} events, {n_jets} jets")
    shown = run("afkit", "inspect", str(physlite), "--no-links")
    assert "Jets" in shown
    print("afkit inspect: ok")

    from afkit.datagen import rootwriter

    assert (rootwriter.CXX / "afkit_tree_writer.h").is_file(), rootwriter.CXX
    out = work / "tiny"
    run(
        "afkit", "generate", str(out), "--events-per-sample", "200", "--sample", "ttbar",
        "--files-per-sample", "1", "--workers", "1",
    )  # fmt: skip
    generated = afkit.read(next(out.rglob("*.root")))
    assert len(generated) == 200
    print("afkit generate: ok")
    assert "--checkpoint" in run("afkit", "agc", "--help")
    print("afkit agc --help: ok")


if __name__ == "__main__":
    os.environ.setdefault("AFKIT_CACHE", str(Path(sys.argv[2]) / "cache"))
    main(Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve())
