"""Schemas kept on disk between processes, named by the tree layout they were built for.

Building the schema of a PHYSLITE tree means interpreting a thousand branches' types
(through uproot's model of the tree), about two seconds — paid again by every fresh
process: each notebook kernel, each ``afkit agc``, each new batch worker.  Files of one
release share their layout, so the schema built for one serves them all.  This store keeps
it under the layout's digest (afkit's own decoding of the branch identities and the file's
streamer record, see :meth:`afkit.io.tree.TreeHandle.structure_key`), next to the version of
afkit and of the code that builds schemas: any change there makes a new name.

Where: ``$AFKIT_CACHE_DIR/schemas`` if the variable is set (an empty value or ``off``
turns the store off), else ``$XDG_CACHE_HOME/afkit/schemas`` or ``~/.cache/afkit/schemas``.
The store is an optimisation only: a folder that cannot be written, or an entry that cannot
be read back, means the schema is built as if the store were not there.
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
import sys
import tempfile
from pathlib import Path
from typing import Any

#: Modules whose code decides what a schema holds (their text enters every entry's name).
_BUILDER_MODULES = (
    "afkit.io.schema",
    "afkit.io.physlite.schema",
    "afkit.io.physlite.storegate",
    "afkit.io.physlite.static_objects",
    "afkit.io.nanoaod",
    "afkit.units",
)


def store_folder() -> Path | None:
    """The folder entries go to, or ``None`` when the store is turned off."""
    configured = os.environ.get("AFKIT_CACHE_DIR")
    if configured is not None:
        if configured.strip().lower() in ("", "off", "0", "none"):
            return None
        return Path(configured) / "schemas"
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "afkit" / "schemas"


@functools.cache
def _code_fingerprint() -> str:
    """afkit's version and the text of the schema-building modules."""
    from afkit.version import __version__

    digest = hashlib.sha1(__version__.encode())
    for name in _BUILDER_MODULES:
        module = sys.modules.get(name)
        if module is None:
            __import__(name)
            module = sys.modules[name]
        path = getattr(module, "__file__", None)
        if path:
            digest.update(Path(path).read_bytes())
    return digest.hexdigest()


def entry_name(build: Any, layout: tuple[Any, ...]) -> str:
    """The file name of ``build``'s schema for ``layout`` (a native structure key)."""
    text = repr((build.__module__, build.__qualname__, layout, _code_fingerprint()))
    return hashlib.sha1(text.encode()).hexdigest() + ".pickle"


def load(build: Any, layout: tuple[Any, ...]) -> Any | None:
    """The stored schema, or ``None`` (not stored, store off, or unreadable)."""
    folder = store_folder()
    if folder is None:
        return None
    try:
        data = (folder / entry_name(build, layout)).read_bytes()
        return pickle.loads(data)
    except FileNotFoundError:
        return None
    except Exception:  # noqa: BLE001 - a damaged or foreign entry: build the schema anew
        return None


def save(build: Any, layout: tuple[Any, ...], schema: Any) -> None:
    """Store ``schema`` (atomically: readers never see half an entry); failures are ignored."""
    folder = store_folder()
    if folder is None:
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
        data = pickle.dumps(schema, protocol=pickle.HIGHEST_PROTOCOL)
        handle, temporary = tempfile.mkstemp(dir=folder, suffix=".part")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(temporary, folder / entry_name(build, layout))
        except BaseException:
            os.unlink(temporary)
            raise
    except Exception:  # noqa: BLE001 - a read-only or full disk: the store is optional
        return


def clear() -> int:
    """Remove every stored schema; returns how many entries went."""
    folder = store_folder()
    if folder is None or not folder.is_dir():
        return 0
    removed = 0
    for entry in folder.glob("*.pickle"):
        try:
            entry.unlink()
            removed += 1
        except OSError:
            pass
    return removed
