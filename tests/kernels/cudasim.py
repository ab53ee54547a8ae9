"""Run CUDA kernels under Numba's CUDA simulator in a fresh process (the variable must be set
before numba.cuda is first imported): inputs and outputs travel as .npz files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

_PRELUDE = """
import sys, warnings
import numpy as np
warnings.simplefilter("ignore")
np.seterr(all="ignore")  # uint64 wrap-around in the simulator's NumPy scalars is intended
from afkit.kernels import _cuda
d = np.load(sys.argv[1])
"""


def run_simulated(
    tmp_path: Path, body: str, inputs: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Execute ``body`` (sees ``_cuda``, ``d`` = inputs, writes outputs with
    ``np.savez(sys.argv[2], ...)``) under ``NUMBA_ENABLE_CUDASIM=1``; return the outputs."""
    np.savez(tmp_path / "in.npz", **inputs)
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            _PRELUDE + body,
            str(tmp_path / "in.npz"),
            str(tmp_path / "out.npz"),
        ],
        env={**os.environ, "NUMBA_ENABLE_CUDASIM": "1"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    with np.load(tmp_path / "out.npz") as out:
        return {k: out[k] for k in out.files}
