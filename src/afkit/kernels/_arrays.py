"""Array namespaces per backend and the explicit host/device copies afkit offers.

CuPy is imported here (lazily) and nowhere else outside the kernels: code that must allocate or
do element-wise work on either device asks :func:`array_module` for NumPy or CuPy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from afkit.exceptions import ConfigError
from afkit.extras import require

BACKENDS = ("cpu", "cuda")


def _cupy() -> Any:
    return require("cupy", "the cuda backend (an NVIDIA GPU)")


def array_module(backend: str) -> Any:
    """``numpy`` for ``"cpu"``, ``cupy`` for ``"cuda"``."""
    if backend == "cpu":
        return np
    if backend == "cuda":
        return _cupy()
    raise ConfigError(f"backend must be one of {BACKENDS}, not {backend!r}")


def to_device(array: Any, backend: str) -> Any:
    """Copy a host array to ``backend`` explicitly (no copy for ``"cpu"`` NumPy input)."""
    if backend == "cpu":
        return to_host(array)
    return array_module(backend).asarray(array)


def to_host(array: Any) -> Any:
    """A NumPy array with the values of ``array`` (copied from the GPU when it lives there)."""
    if isinstance(array, np.ndarray):
        return array
    if hasattr(array, "get"):  # CuPy
        return array.get()
    if hasattr(array, "copy_to_host"):  # numba device array
        return array.copy_to_host()
    return np.asarray(array)
