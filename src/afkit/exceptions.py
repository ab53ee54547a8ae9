"""afkit's exceptions: one root, :class:`AfkitError`, and each also the natural builtin.

Catch ``afkit.AfkitError`` for anything afkit raises on purpose, or the builtin
(``FileNotFoundError``, ``KeyError``, ``OSError``, ``ValueError``) where generic code already
does.  Every error about input names the file (and tree/branch where there is one) and, for a
missing name, the closest names that do exist.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def cause_of(err: object) -> str:
    """The line of another library's error that says what went wrong.

    uproot's errors run to dozens of lines (the objects being read, then the cause, then the
    file and object); afkit's messages quote only the cause and name the file themselves.
    """
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    causes = [line for line in lines if not line.startswith(("in file", "in object"))]
    return causes[-1] if causes else ""


class AfkitError(Exception):
    """Base class of every error afkit raises deliberately."""

    def __init__(self, message: str, *, file: str | None = None) -> None:
        self.file = file
        super().__init__(f"{message} (file: {file})" if file else message)

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return str(self.args[0]) if self.args else ""


class AfkitFileNotFoundError(AfkitError, FileNotFoundError):
    """The input path does not exist."""


class FileFormatError(AfkitError, OSError):
    """The file exists but cannot be read as ROOT data."""


class EmptyFileError(FileFormatError):
    """The file has zero bytes."""


class NotRootFileError(FileFormatError):
    """The file does not start with ROOT's ``root`` magic."""


class TruncatedFileError(FileFormatError):
    """The file is shorter than its own header says (an interrupted copy or write)."""


class CorruptDataError(FileFormatError):
    """A basket failed to decompress or has the wrong size."""


class RemoteReadError(AfkitError, OSError):
    """A remote file (XRootD, HTTP) could not be reached or did not answer in time.

    Unlike the other file errors this may pass: executors retry it (``retries=``)."""


class MissingNameError(AfkitError, KeyError):
    """A named tree, collection, field or branch is absent; lists the nearest names."""

    def __init__(
        self,
        kind: str,
        name: str,
        available: Iterable[str],
        *,
        file: str | None = None,
        where: str | None = None,
    ) -> None:
        self.kind = kind
        self.missing = name
        choices = sorted(set(available))
        self.suggestions = difflib.get_close_matches(name, choices, n=5, cutoff=0.5)
        if not self.suggestions:
            lowered = name.lower()
            self.suggestions = [c for c in choices if lowered in c.lower()][:5]
        location = f" in {where}" if where else ""
        if self.suggestions:
            hint = f"; did you mean {', '.join(repr(s) for s in self.suggestions)}?"
        elif 0 < len(choices) <= 10:
            hint = f"; available: {', '.join(repr(c) for c in choices)}"
        else:
            hint = f"; {len(choices)} available"
        super().__init__(f"no {kind} {name!r}{location}{hint}", file=file)


class MissingTreeError(MissingNameError):
    """The requested TTree is not in the file."""


class MissingCollectionError(MissingNameError, AttributeError):
    """The requested collection is not in the file (also an ``AttributeError``)."""


class MissingBranchError(MissingNameError, AttributeError):
    """The requested branch or field is not in the tree or collection."""


class DecodeError(AfkitError, ValueError):
    """Bytes did not match the layout afkit expected; nothing was returned for them."""


class UnknownEncodingError(DecodeError):
    """A branch's type (e.g. an ElementLink encoding) is one afkit does not know how to read."""


class ConfigError(AfkitError, ValueError):
    """An option or argument has an invalid value."""


class ArgumentTypeError(AfkitError, TypeError):
    """An argument has the wrong type (a number where a path is expected, ...)."""


class MissingDependencyError(AfkitError, ImportError):
    """An optional dependency is needed for this feature; the message gives the pip command."""
