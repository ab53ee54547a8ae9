"""The public API is small, explicit and locked: changing it means changing the committed list."""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys

import afkit
from tests.conftest import REPO

#: ``module -> names``: what ``__all__`` of afkit and of each public subpackage must be.
LOCKED = json.loads((REPO / "tests" / "public_api.json").read_text())


def test_every_public_module_exports_exactly_the_committed_names() -> None:
    for module_name, names in LOCKED.items():
        module = importlib.import_module(module_name)
        assert sorted(module.__all__) == names, module_name
        for name in names:
            assert hasattr(module, name), f"{module_name}.{name}"


def test_dir_shows_the_public_names() -> None:
    assert set(dir(afkit)) >= set(LOCKED["afkit"])


def test_subpackages_are_attributes_without_importing_them_first() -> None:
    code = "import afkit; print(afkit.agc.__name__, afkit.kernels.__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["afkit.agc", "afkit.kernels"]


def test_every_error_is_an_afkit_error_and_a_builtin() -> None:
    for name in afkit.__all__:
        obj = getattr(afkit, name)
        if isinstance(obj, type) and issubclass(obj, Exception) and obj is not afkit.AfkitError:
            assert issubclass(obj, afkit.AfkitError), name
            builtin_bases = [
                b
                for b in obj.__mro__
                if b.__module__ == "builtins" and b not in (Exception, BaseException, object)
            ]
            assert builtin_bases, f"{name} derives from no natural builtin"


def _loaded_after(imports: str, prefixes: tuple[str, ...]) -> list[str]:
    """The modules starting with one of ``prefixes`` a fresh interpreter holds after
    ``import`` of ``imports``."""
    code = (
        f"import sys, {imports}; "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {prefixes!r} "
        f"or m.startswith({prefixes!r})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return list(ast.literal_eval(out.stdout.strip()))


def test_import_afkit_is_light() -> None:
    """``import afkit`` loads neither awkward, uproot, numba nor the event model."""
    heavy = ("awkward", "uproot", "numba", "afkit.events", "afkit.io")
    assert _loaded_after("afkit", heavy) == []


def test_io_does_not_import_the_event_model() -> None:
    io = "afkit.io, afkit.io.open, afkit.io.reader, afkit.io.nanoaod, afkit.io.physlite.schema"
    assert _loaded_after(io, ("afkit.events",)) == []


def test_nanoaod_does_not_use_the_physlite_schema() -> None:
    assert _loaded_after("afkit.io.nanoaod", ("afkit.io.physlite",)) == []


def test_no_module_imports_the_root_package() -> None:
    """Submodules import what they use from its own module, never ``afkit`` itself (whose
    public names are lazy re-exports of theirs)."""
    offenders = []
    for path in sorted((REPO / "src" / "afkit").rglob("*.py")):
        if path.name == "__init__.py" and path.parent.name == "afkit":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import) and any(a.name == "afkit" for a in node.names):
                offenders.append(f"{path.relative_to(REPO)}:{node.lineno}")
            if isinstance(node, ast.ImportFrom) and node.module == "afkit" and node.level == 0:
                offenders.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert offenders == []


#: What afkit.agc may use: afkit's public API (the showcase is one client of it).
AGC_MAY_IMPORT = {
    "afkit.kernels",
    "afkit.ml",
    "afkit.ml.assignment",
    "afkit.events",
    "afkit.histograms",
    "afkit.executors",
    "afkit.fileset",
    "afkit.processor",
    "afkit.exceptions",
    "afkit.extras",
    "afkit.datagen",
}


def test_the_agc_uses_only_public_api() -> None:
    """afkit.agc imports from afkit's public modules only, and only their public names (in
    their ``__all__`` where they have one): no reach-in to private readers or helpers."""
    offenders = []
    for path in sorted((REPO / "src" / "afkit" / "agc").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            where = f"{path.name}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Import):
                for alias in node.names:
                    outside = alias.name.startswith("afkit.") and not alias.name.startswith(
                        "afkit.agc"
                    )
                    if outside and alias.name not in AGC_MAY_IMPORT:
                        offenders.append(f"{where} import {alias.name}")
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("afkit."):
                module = node.module or ""
                if module == "afkit.agc" or module.startswith("afkit.agc."):
                    continue
                if module not in AGC_MAY_IMPORT:
                    offenders.append(f"{where} from {module}")
                    continue
                exported = getattr(importlib.import_module(module), "__all__", None)
                for alias in node.names:
                    private = alias.name.startswith("_")
                    if private or (exported is not None and alias.name not in exported):
                        offenders.append(f"{where} {module}.{alias.name}")
    assert offenders == []
