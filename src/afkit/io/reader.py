"""Branch reading: the only module that asks uproot for basket data.

:class:`BranchReader` reads whole branches over one entry range and hands back plain NumPy
buffers (offsets starting at 0, native byte order) or each entry's raw bytes for the layouts
afkit decodes itself.  It caches per branch, so the lazy event model can ask for the same
branch from several places (a field and its offsets, a link and its target) and pay once, and
it counts the compressed bytes actually requested so users can verify column projection.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import awkward as ak
import numpy as np
import uproot
from numpy.typing import NDArray

from afkit.exceptions import CorruptDataError, DecodeError, MissingBranchError
from afkit.io.physlite.streamers import decode_vector

_RAW = uproot.AsJagged(uproot.AsDtype("u1"), header_bytes=0)


class BranchReader:
    """Read branches of one TTree over ``[entry_start, entry_stop)``, with a cache."""

    def __init__(self, tree: Any, file: str, entry_start: int, entry_stop: int) -> None:
        self.tree = tree
        self.file = file
        self.entry_start = entry_start
        self.entry_stop = entry_stop
        self._cache: dict[tuple[str, str], Any] = {}
        self._lock = threading.RLock()
        self._source = tree.file.source
        self._start_bytes = self._source.num_requested_bytes
        self.branches_read: list[str] = []

    @property
    def num_entries(self) -> int:
        return self.entry_stop - self.entry_start

    @property
    def bytes_read(self) -> int:
        """Bytes requested from the file since this reader was made (compressed, as stored)."""
        return int(self._source.num_requested_bytes - self._start_bytes)

    def branch(self, name: str) -> Any:
        """The uproot branch ``name``, or :class:`MissingBranchError` with close names."""
        try:
            return self.tree[name]
        except uproot.KeyInFileError:
            raise MissingBranchError(
                "branch", name, self.tree.keys(), file=self.file, where=f"tree {self.tree.name!r}"
            ) from None

    def cached(self, kind: str, name: str, make: Callable[[], Any]) -> Any:
        """Return the cached value for ``(kind, name)``, computing it once."""
        key = (kind, name)
        with self._lock:
            if key not in self._cache:
                self._cache[key] = make()
            return self._cache[key]

    def _array(self, name: str, interpretation: Any = None) -> ak.Array:
        branch = self.branch(name)
        if branch.num_baskets == 0 and len(branch.branches) == 1:
            # split-level-1 wrappers (a single ElementLink) keep their data in a sub-branch
            # of the same name, which a lookup by name never returns
            branch = branch.branches[0]
        self.branches_read.append(name)
        try:
            return branch.array(
                interpretation,
                entry_start=self.entry_start,
                entry_stop=self.entry_stop,
                library="ak",
            )
        except MissingBranchError:
            raise
        except Exception as err:
            # (decompressors raise their own types; a corrupt key header can even ask
            # numpy for tens of GiB): report it as corrupt data naming file and branch
            raise CorruptDataError(
                f"cannot read branch {name!r} entries {self.entry_start}-{self.entry_stop}: "
                f"{type(err).__name__}: {err}",
                file=self.file,
            ) from err

    def flat(self, name: str) -> NDArray[Any]:
        """One value per entry (``T`` branches)."""

        def make() -> NDArray[Any]:
            layout = self._array(name).layout
            data = np.asarray(layout.data if hasattr(layout, "data") else ak.to_numpy(layout))
            return _native(data)

        return self.cached("flat", name, make)  # type: ignore[no-any-return]

    def jagged(self, name: str) -> tuple[NDArray[np.int64], NDArray[Any]]:
        """``vector<T>`` / ``T[n]`` branches: (offsets from 0, content).

        ``std::vector<T>`` branches are decoded by afkit from the raw entry bytes with every
        entry header checked; leaf-count arrays (``T[n]``, NanoAOD) go through uproot.
        """

        def make() -> tuple[NDArray[np.int64], NDArray[Any]]:
            dtype = _vector_dtype(self.branch(name))
            if dtype is not None:
                data, offsets = self._raw_bytes(name)
                try:
                    return decode_vector(data, offsets, dtype, what=f"branch {name!r}")
                except DecodeError as err:
                    raise CorruptDataError(str(err), file=self.file) from err
            layout = self._array(name).layout
            return _list_buffers(layout, name, self.file)

        return self.cached("jagged", name, make)  # type: ignore[no-any-return]

    def raw(self, name: str) -> tuple[NDArray[np.uint8], NDArray[np.int64]]:
        """Each entry's serialized bytes: (data, offsets from 0), cached."""
        return self.cached("raw", name, lambda: self._raw_bytes(name))  # type: ignore[no-any-return]

    def _raw_bytes(self, name: str) -> tuple[NDArray[np.uint8], NDArray[np.int64]]:
        layout = self._array(name, _RAW).layout
        offsets, data = _list_buffers(layout, name, self.file)
        return data, offsets

    def objects(self, name: str) -> ak.Array:
        """Branches only uproot's object path reads (``vector<string>``, ...)."""
        return self.cached("objects", name, lambda: self._array(name))


def _vector_dtype(branch: Any) -> np.dtype[Any] | None:
    """Element dtype when ``branch`` is a streamed ``std::vector<T>`` of a primitive ``T``."""
    interpretation = branch.interpretation
    if (
        isinstance(interpretation, uproot.AsJagged)
        and interpretation.header_bytes == 10
        and isinstance(interpretation.content, uproot.AsDtype)
    ):
        dtype: np.dtype[Any] = np.dtype(interpretation.content.from_dtype)
        return dtype
    return None


def _native(data: NDArray[Any]) -> NDArray[Any]:
    if data.dtype.byteorder == ">":
        return data.astype(data.dtype.newbyteorder("="))
    return data


def _list_buffers(layout: Any, name: str, file: str) -> tuple[NDArray[np.int64], NDArray[Any]]:
    if isinstance(layout, ak.contents.ListArray):
        layout = layout.to_ListOffsetArray64(True)
    if not isinstance(layout, ak.contents.ListOffsetArray) or not isinstance(
        layout.content, ak.contents.NumpyArray
    ):
        raise DecodeError(f"branch {name!r} is not a list of numbers ({layout.form.type})")
    offsets = np.asarray(layout.offsets.data, dtype=np.int64)
    content = np.asarray(layout.content.data)
    if offsets[0] != 0:
        content = content[offsets[0] : offsets[-1]]
        offsets = offsets - offsets[0]
    elif len(content) != offsets[-1]:
        content = content[: offsets[-1]]
    return offsets, _native(content)
