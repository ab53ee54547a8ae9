"""The public API is small, explicit and locked."""

from __future__ import annotations

import afkit

PUBLIC = {
    "AfkitError",
    "AfkitFileNotFoundError",
    "ArgumentTypeError",
    "ConfigError",
    "CorruptDataError",
    "DecodeError",
    "EmptyFileError",
    "Events",
    "FileFormatError",
    "Fileset",
    "FileSummary",
    "MissingBranchError",
    "MissingCollectionError",
    "MissingDependencyError",
    "MissingNameError",
    "MissingTreeError",
    "NotRootFileError",
    "ProcessPool",
    "RunReport",
    "TruncatedFileError",
    "UnknownEncodingError",
    "__version__",
    "inspect",
    "read",
    "run",
}


def test_all_is_locked() -> None:
    assert set(afkit.__all__) == PUBLIC


def test_dir_shows_the_public_names() -> None:
    assert set(dir(afkit)) >= PUBLIC


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
