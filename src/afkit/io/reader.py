"""Branch reading: baskets to plain NumPy buffers, by afkit's own reader or by uproot.

:class:`BranchReader` reads whole branches over one entry range and hands back plain NumPy
buffers (offsets starting at 0, native byte order) or each entry's raw bytes for the layouts
afkit decodes itself.  Basket bytes come from :mod:`afkit.io.rootio` for the branch layouts it
decodes (numbers, ``std::vector`` of numbers, counted arrays, raw entries — byte-identical to
uproot's, see the tests) and from uproot for everything else.

It caches per branch, so the lazy event model can ask for the same branch from several places
(a field and its offsets, a link and its target) and pay once, and it counts the compressed
bytes actually requested so users can verify column projection.
"""

from __future__ import annotations

from typing import Any

import awkward as ak
import numpy as np
import uproot
from numpy.typing import NDArray

from afkit.exceptions import (
    AfkitError,
    CorruptDataError,
    DecodeError,
    MissingBranchError,
    UnknownEncodingError,
    cause_of,
)
from afkit.io.physlite import streamers
from afkit.io.physlite.streamers import decode_vector
from afkit.io.readcache import CachedReads
from afkit.io.rootio.baskets import CorruptBasket, read_entries
from afkit.io.rootio.stream import NativeUnsupported
from afkit.io.tree import TreeHandle, flat_dtype, values_dtype, vector_dtype

_RAW = uproot.AsJagged(uproot.AsDtype("u1"), header_bytes=0)


class BranchReader(CachedReads):
    """Read branches of one TTree over ``[entry_start, entry_stop)``, with a cache."""

    def __init__(
        self, tree: TreeHandle | Any, file: str, entry_start: int, entry_stop: int
    ) -> None:
        self.handle = tree if isinstance(tree, TreeHandle) else TreeHandle.from_uproot(tree, file)
        self.file = file
        self.entry_start = entry_start
        self.entry_stop = entry_stop
        super().__init__()
        self._source = self.handle.source
        self._bytes = self.handle.bytes
        self._start_bytes = self._source.num_requested_bytes + self._bytes.num_requested_bytes
        self.branches_read: list[str] = []

    @property
    def tree(self) -> Any:
        """uproot's model of the tree (built on first use)."""
        return self.handle.uproot

    @property
    def num_entries(self) -> int:
        return self.entry_stop - self.entry_start

    @property
    def bytes_read(self) -> int:
        """Bytes requested from the file since this reader was made (compressed, as stored)."""
        now = self._source.num_requested_bytes + self._bytes.num_requested_bytes
        return int(now - self._start_bytes)

    def _missing(self, name: str) -> MissingBranchError:
        return MissingBranchError(
            "branch", name, self.handle.keys(), file=self.file, where=f"tree {self.handle.name!r}"
        )

    def branch(self, name: str) -> Any:
        """The uproot branch ``name``, or :class:`MissingBranchError` with close names."""
        if self.handle.native is not None and not self.handle.has(name):
            raise self._missing(name)
        member = self._member_of_split(name)
        if member is not None:
            return member
        try:
            return self.tree[name]
        except uproot.KeyInFileError:
            raise self._missing(name) from None

    def _member_of_split(self, name: str) -> Any:
        """``Parent.member`` looked up in its split parent ``Parent.``'s own sub-branches:
        uproot's lookup by name searches every branch of the tree recursively (~20 ms in a
        4000-branch MetaData tree), the parent knows its dozen members."""
        parent, dot, _ = name.partition(".")
        if not dot or name == parent + ".":
            return None
        tree = self.tree
        try:
            top = tree.branches
        except Exception:  # noqa: BLE001 - a tree uproot cannot list: its own lookup
            return None
        if self.__dict__.get("_top_names") is None:
            self._top_names = {b.name: b for b in top}
        holder = self._top_names.get(parent + ".")
        if holder is None:
            return None
        for branch in holder.branches:
            if branch.name == name:
                return branch
        return None

    def compressed_bytes(self, name: str) -> int:
        """Bytes of ``name``'s baskets on disk."""
        meta = self.handle.branch_meta(name)
        if meta is not None:
            return meta.compressed_bytes
        if self.handle.native is not None and not self.handle.has(name):
            raise self._missing(name)
        return int(self.branch(name).compressed_bytes)

    def _native_entries(self, name: str) -> tuple[NDArray[np.uint8], NDArray[np.int64], Any] | None:
        """(raw entry bytes, offsets, branch metadata) from afkit's reader; None: use uproot."""
        meta = self.handle.branch_meta(name)
        if meta is None:
            if self.handle.native is not None and not self.handle.has(name):
                raise self._missing(name)
            return None
        try:
            data, offsets = read_entries(self._bytes, meta, self.entry_start, self.entry_stop)
        except NativeUnsupported:
            return None
        except CorruptBasket as err:
            raise CorruptDataError(
                f"cannot read branch {name!r} entries {self.entry_start}-{self.entry_stop}: {err}",
                file=self.file,
            ) from err
        self.branches_read.append(name)
        return data, offsets, meta

    def _array(self, name: str, interpretation: Any = None) -> ak.Array:
        branch = self.branch(name)
        if branch.num_baskets == 0 and len(branch.branches) == 1:
            # split-level-1 wrappers (a single ElementLink) keep their data in a sub-branch
            # of the same name, which a lookup by name never returns
            branch = branch.branches[0]
        if interpretation is None:
            self._check_interpretable(name, branch)
        self.branches_read.append(name)
        try:
            return branch.array(
                interpretation,
                entry_start=self.entry_start,
                entry_stop=self.entry_stop,
                library="ak",
            )
        except AfkitError:
            raise
        except Exception as err:
            # (decompressors raise their own types; a corrupt key header can even ask
            # numpy for tens of GiB)
            raise self._failure(name, branch, err) from err

    def _check_interpretable(self, name: str, branch: Any) -> None:
        """A branch uproot has no interpretation for is not exposed (with why), not corrupt."""
        kind = type(branch.interpretation).__name__
        if kind == "AsGrouped" or (branch.branches and branch.num_baskets == 0):
            parts = ", ".join(repr(b.name) for b in branch.branches[:6])
            more = f" (+{len(branch.branches) - 6} more)" if len(branch.branches) > 6 else ""
            raise UnknownEncodingError(
                f"branch {name!r} ({branch.typename}) is a split object without data of its "
                f"own: its members are its {len(branch.branches)} sub-branches, {parts}{more}; "
                "read those",
                file=self.file,
            )
        if kind.startswith("Unknown") or isinstance(branch.interpretation, Exception):
            raise UnknownEncodingError(
                f"branch {name!r} ({branch.typename}) is not exposed: neither afkit nor "
                f"uproot reads its type ({cause_of(branch.interpretation)})",
                file=self.file,
            )

    def _failure(self, name: str, branch: Any, err: Exception) -> AfkitError:
        """What an uproot read failure means: damaged baskets (afkit's own reader of the raw
        entries fails too) or a layout uproot misreads (the bytes themselves are sound)."""
        where = f"branch {name!r} entries {self.entry_start}-{self.entry_stop}"
        try:
            sound = self._native_entries(name) is not None
        except AfkitError:
            sound = False
        if sound:
            return UnknownEncodingError(
                f"{where}: the baskets are sound, but uproot cannot interpret them as "
                f"{branch.typename}: {type(err).__name__}: {cause_of(err)}",
                file=self.file,
            )
        return CorruptDataError(f"cannot read {where}: {type(err).__name__}: {err}", file=self.file)

    def flat(self, name: str) -> NDArray[Any]:
        """One value per entry (``T`` branches)."""

        def make() -> NDArray[Any]:
            native = self._native_entries(name)
            dtype = flat_dtype(native[2]) if native is not None else None
            if native is not None and dtype is not None:
                data = native[0]
                if len(data) != self.num_entries * dtype.itemsize:
                    raise CorruptDataError(
                        f"branch {name!r} holds {len(data)} bytes for {self.num_entries} "
                        f"entries of {dtype}",
                        file=self.file,
                    )
                return _native(data.view(dtype))
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
            native = self._native_entries(name)
            if native is not None:
                data, offsets, meta = native
                element = vector_dtype(meta) or self.handle.member_vector_dtype(meta, name)
                if element is not None:
                    try:
                        return decode_vector(data, offsets, element, what=f"branch {name!r}")
                    except DecodeError as err:
                        raise CorruptDataError(str(err), file=self.file) from err
                element = values_dtype(meta)
                if element is not None:
                    return _values(data, offsets, element, name, self.file)
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
        native = self._native_entries(name)
        if native is not None:
            return native[0], native[1]
        layout = self._array(name, _RAW).layout
        offsets, data = _list_buffers(layout, name, self.file)
        return data, offsets

    def nested_lists(
        self, name: str, dtype: np.dtype[Any]
    ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[Any]]:
        """``vector<vector<T>>``: (per-entry offsets, per-list offsets, content), cached."""

        def make() -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[Any]]:
            data, offsets = self.raw(name)
            return streamers.decode_vector_vector(
                data, offsets, dtype, what=f"{name} in {self.file}"
            )

        return self.cached("nested", name, make)  # type: ignore[no-any-return]

    def link_arrays(self, name: str, kind: str) -> streamers.LinkArrays:
        """The (key, index) pairs of an ElementLink branch of the given schema ``kind``."""
        what = f"{name} in {self.file}"

        def make() -> streamers.LinkArrays:
            if kind == "link":
                off_k, keys = self.jagged(name + ".m_persKey")
                off_i, idx = self.jagged(name + ".m_persIndex")
                if not np.array_equal(off_k, off_i):
                    raise DecodeError(f"key and index counts differ in {name!r}", file=self.file)
                return streamers.LinkArrays(keys.astype(np.uint32), idx.astype(np.uint32), off_k)
            data, offsets = self.raw(name)
            if kind == "link_single":
                return streamers.decode_single_links(data, offsets, what=what)
            if kind == "link_vector":
                return streamers.decode_vector_links(data, offsets, what=what)
            if kind == "link_nested":
                return streamers.decode_vector_vector_links(data, offsets, what=what)
            raise DecodeError(f"{name!r} is not a link field", file=self.file)

        return self.cached("links", name, make)  # type: ignore[no-any-return]

    def objects(self, name: str) -> ak.Array:
        """Branches only uproot's object path reads (``vector<string>``, ...)."""
        return self.cached("objects", name, lambda: self._array(name))


def whole_tree_reader(path: str, name: str) -> BranchReader:
    """A reader of every entry of the TTree ``name`` of ``path`` (a metadata or ``Runs`` tree).

    Raises :class:`~afkit.exceptions.UnknownEncodingError` when ``name`` is an RNTuple and
    :class:`~afkit.exceptions.MissingTreeError` (naming the trees there are) when it is absent.
    """
    from afkit.exceptions import MissingTreeError, UnknownEncodingError
    from afkit.io.filespec import open_file
    from afkit.io.tree import open_tree

    handle = open_file(path)
    classes = {k.split(";")[0]: v for k, v in handle.classnames().items()}
    if classes.get(name) != "TTree":
        if classes.get(name) == "ROOT::RNTuple":
            raise UnknownEncodingError(
                f"{name!r} is an RNTuple; afkit reads it as a TTree", file=path
            )
        trees = [k for k, v in classes.items() if v in ("TTree", "ROOT::RNTuple")]
        raise MissingTreeError("tree", name, trees, file=path)
    tree = open_tree(handle, path, name)
    return BranchReader(tree, path, 0, tree.num_entries)


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


def _values(
    data: NDArray[np.uint8], offsets: NDArray[np.int64], dtype: np.dtype[Any], name: str, file: str
) -> tuple[NDArray[np.int64], NDArray[Any]]:
    """Entries of bare values (no per-entry header): byte offsets become element offsets."""
    size = dtype.itemsize
    if len(data) % size or np.any(offsets % size):
        raise CorruptDataError(
            f"branch {name!r}: entry sizes are not multiples of its {size}-byte {dtype}", file=file
        )
    return offsets // size, _native(data.view(dtype))


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
