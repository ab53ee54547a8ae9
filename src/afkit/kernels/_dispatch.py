"""Pick a kernel implementation from where the input arrays live; never move data implicitly."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from afkit.exceptions import ConfigError
from afkit.extras import require

Backend = Literal["cpu", "cuda"]


def backend_of(*arrays: Any) -> Backend:
    """``"cpu"`` for NumPy arrays, ``"cuda"`` for CuPy / CUDA-array-interface arrays."""
    kinds = set()
    for array in arrays:
        if isinstance(array, np.ndarray):
            kinds.add("cpu")
        elif hasattr(array, "__cuda_array_interface__"):
            kinds.add("cuda")
        else:
            raise ConfigError(f"kernels take NumPy or CUDA arrays, not {type(array).__name__}")
    if len(kinds) > 1:
        raise ConfigError(
            "kernel inputs live on different devices (cpu and cuda); move them explicitly "
            "(e.g. awkward.to_backend or cupy.asarray) — afkit never copies implicitly"
        )
    return "cuda" if "cuda" in kinds else "cpu"


def implementation(backend: str) -> Any:
    """The module implementing the kernels for ``backend``."""
    if backend == "cpu":
        from afkit.kernels import _cpu

        return _cpu
    return require("afkit.kernels._cuda", "the CUDA kernels (a GPU)", extra="cuda")
