"""Optional dependencies: the one place afkit imports them, naming the extra that provides each.

afkit's core (reading, the event model, the CPU kernels, local executors, histograms) needs
only its required dependencies.  Everything else comes with an extra of the ``afkit``
distribution; :func:`require` imports such a module on first use, or raises
:class:`~afkit.exceptions.MissingDependencyError` with the ``pip install`` line that adds it:

>>> require("pyhf", "the AGC fit")  # doctest: +SKIP
MissingDependencyError: the AGC fit needs pyhf: pip install 'afkit[stats]'
"""

from __future__ import annotations

import importlib
from types import ModuleType

from afkit.exceptions import MissingDependencyError

__all__ = ["EXTRA_OF", "install_hint", "require"]

#: Importable module -> the extra of afkit that installs it.
EXTRA_OF: dict[str, str] = {
    "XRootD": "xrootd",
    "fsspec_xrootd": "xrootd",
    "aiohttp": "http",
    "requests": "http",
    "dask": "dask",
    "distributed": "dask",
    "dask_jobqueue": "dask",
    "yaml": "dask",
    "pyhf": "stats",
    "cabinetry": "stats",
    "iminuit": "stats",
    "matplotlib": "plot",
    "mplhep": "plot",
    "ROOT": "generate",
    "cupy": "cuda",
    "numba.cuda": "cuda",
    "correctionlib": "correctionlib",
}


def install_hint(module: str, extra: str | None = None) -> str:
    """The ``pip install`` command that provides ``module`` (or the given ``extra``)."""
    extra = extra or EXTRA_OF.get(module, EXTRA_OF.get(module.split(".")[0], "all"))
    return f"pip install 'afkit[{extra}]'"


def require(module: str, feature: str, *, extra: str | None = None) -> ModuleType:
    """Import ``module`` for ``feature`` (words for the message: "the dask executor").

    ``extra`` names the extra to install where :data:`EXTRA_OF` does not know the module
    (afkit's own modules that need an optional package).

    Raises:
        MissingDependencyError: the module is not installed (or fails to import); the
            message names the feature, the missing module and the extra to install.
    """
    try:
        return importlib.import_module(module)
    except ImportError as err:
        missing = getattr(err, "name", None) or module
        raise MissingDependencyError(
            f"{feature} needs {missing}: {install_hint(module, extra)}"
        ) from err
