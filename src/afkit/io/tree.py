"""One TTree of an open file: afkit's own metadata where it can read it, uproot's on demand.

:class:`TreeHandle` is what the reader and the schema cache hold.  Opening a tree decodes its
metadata with :mod:`afkit.io.rootio` (milliseconds); uproot's full model of the tree is built
only when something needs it — a branch layout afkit does not decode itself, the first file
of a new layout (to build its schema), or the ``Events.branch`` escape hatch.  A tree afkit's
decoder cannot read at all is handled by uproot throughout.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from afkit.exceptions import AfkitError, CorruptDataError, cause_of
from afkit.io.rootio.baskets import CorruptBasket, decompress
from afkit.io.rootio.branch import BranchMeta
from afkit.io.rootio.source import LocalBytes, UprootBytes, byte_source
from afkit.io.rootio.stream import NativeUnsupported
from afkit.io.rootio.ttree import TreeMeta, parse_tree

#: ROOT basic-type codes (TStreamerInfo / TLeafElement::fType) -> NumPy dtype.
_TYPE_CODES = {
    1: ">i1", 2: ">i2", 3: ">i4", 4: ">i8", 5: ">f4", 6: ">i4", 8: ">f8",
    11: ">u1", 12: ">u2", 13: ">u4", 14: ">u8", 16: ">i8", 17: ">u8", 18: "?",
}  # fmt: skip
#: TLeaf classes -> (signed dtype, unsigned dtype).
_LEAF_CLASSES = {
    "TLeafB": (">i1", ">u1"), "TLeafS": (">i2", ">u2"), "TLeafI": (">i4", ">u4"),
    "TLeafL": (">i8", ">u8"), "TLeafF": (">f4", ">f4"), "TLeafD": (">f8", ">f8"),
    "TLeafO": ("?", "?"),
}  # fmt: skip
#: C++ element names of ``std::vector`` branches afkit decodes itself.
_VECTOR_ELEMENTS = {
    "char": ">i1", "unsigned char": ">u1", "short": ">i2", "unsigned short": ">u2",
    "int": ">i4", "unsigned int": ">u4", "long": ">i8", "unsigned long": ">u8",
    "Long64_t": ">i8", "ULong64_t": ">u8", "long long": ">i8", "unsigned long long": ">u8",
    "float": ">f4", "double": ">f8", "bool": "?", "Char_t": ">i1", "UChar_t": ">u1",
    "Short_t": ">i2", "UShort_t": ">u2", "Int_t": ">i4", "UInt_t": ">u4", "Float_t": ">f4",
    "Double_t": ">f8", "Bool_t": "?",
}  # fmt: skip
_VECTOR = re.compile(r"^(?:std::)?vector<\s*([A-Za-z_ ]+?)\s*>$")
_SPLIT_MEMBER_TYPES = (31, 41)  # a member of a split collection: values only, no headers


class TreeHandle:
    """A TTree: entry count, branch names and basket access, uproot's model when asked."""

    def __init__(self, handle: Any, path: str, name: str, native: TreeMeta | None) -> None:
        self.handle = handle
        self.path = path
        self.name = name
        self.native = native
        self._uproot: Any = None
        self._bytes: LocalBytes | UprootBytes | None = None
        self._lock = threading.Lock()
        self.cache: dict[Any, Any] = {}  # per-tree memo (schema, format), see afkit.io.open

    @classmethod
    def from_uproot(cls, ttree: Any, path: str) -> TreeHandle:
        """Wrap a tree uproot already opened (no native metadata)."""
        tree = cls(ttree.file, path, ttree.name, None)
        tree._uproot = ttree
        return tree

    @property
    def uproot(self) -> Any:
        """uproot's model of the tree, built on first use."""
        with self._lock:
            if self._uproot is None:
                with self.interpreting(f"the record of tree {self.name!r}"):
                    self._uproot = self.handle[self.name]
            return self._uproot

    @contextmanager
    def interpreting(self, what: str) -> Iterator[None]:
        """Turn uproot's failures while it interprets ``what`` (the tree record, its branches'
        types) into a :class:`CorruptDataError` naming the file and the damaged part.

        uproot reads the file's streamer record lazily, when a type first needs it; a damaged
        one surfaces as a decompression or deserialization error anywhere.  It is reported as
        such (checked here by reading the record), anything else as damage to ``what``.
        """
        try:
            yield
        except AfkitError:
            raise
        except Exception as err:  # uproot raises what its parsers and decompressors meet
            raise self._damage(what, err) from err

    def _damage(self, what: str, err: Exception) -> CorruptDataError:
        root_file = self.root_file
        try:
            root_file.streamers  # noqa: B018 - reads and parses the streamer record
        except Exception as streamer_err:  # noqa: BLE001 - the record is damaged
            return CorruptDataError(
                f"the file's streamer record (TStreamerInfo list at byte "
                f"{getattr(root_file, 'fSeekInfo', '?')}) is damaged: "
                f"{type(streamer_err).__name__}: {cause_of(streamer_err)}",
                file=self.path,
            )
        return CorruptDataError(
            f"cannot read {what}: {type(err).__name__}: {cause_of(err)}", file=self.path
        )

    @property
    def root_file(self) -> Any:
        """uproot's file object (streamer infos), without building the tree model."""
        return getattr(self.handle, "file", self.handle)

    @property
    def source(self) -> Any:
        """uproot's byte source (what uproot's own reads go through)."""
        return self.root_file.source

    @property
    def bytes(self) -> LocalBytes | UprootBytes:
        """afkit's byte source for basket reads (``pread`` for local files)."""
        with self._lock:
            if self._bytes is None:
                self._bytes = byte_source(self.path, self.source)
            return self._bytes

    @property
    def num_entries(self) -> int:
        if self.native is not None:
            return self.native.num_entries
        return int(self.uproot.num_entries)

    def keys(self, recursive: bool = True) -> list[str]:
        if self.native is not None:
            try:
                return self.native.keys(recursive)
            except NativeUnsupported:
                pass  # a branch afkit cannot decode: uproot lists them all
        return list(self.uproot.keys(recursive=recursive))

    def _find(self, name: str) -> BranchMeta | bool | None:
        """afkit's metadata of ``name``; None: no such branch; False: ask uproot."""
        assert self.native is not None
        try:
            return self.native.find(name)
        except NativeUnsupported:
            return False

    def has(self, name: str) -> bool:
        if self.native is not None:
            found = self._find(name)
            if found is not False:
                return found is not None
        return name in self.uproot

    def branch_meta(self, name: str) -> BranchMeta | None:
        """afkit's metadata of the branch holding ``name``'s data (None: ask uproot)."""
        if self.native is None:
            return None
        branch = self._find(name)
        if not branch:
            return None
        assert isinstance(branch, BranchMeta)
        if branch.write_basket == 0 and len(branch.branches) == 1:
            # split-level-1 wrappers (a single ElementLink) keep their data in a sub-branch
            branch = branch.branches[0]
        return branch

    def member_vector_dtype(self, branch: BranchMeta, name: str) -> np.dtype[Any] | None:
        """Element dtype of ``name``, a ``std::vector<T>`` member of a split object (its
        branch names the object's class; the member's type is in the file's streamer info),
        for a primitive ``T``; None otherwise.  (``CutBookkeepersAux.sumOfEventWeights``.)"""
        if branch.branches or branch.classname != "TBranchElement" or branch.type != 0:
            return None
        if branch.streamer_type not in (300, 500) or not branch.class_name:
            return None
        member = name.rsplit(".", 1)[-1]
        cache = self.cache.setdefault("member_dtypes", {})
        key = (branch.class_name, member)
        if key not in cache:
            cache[key] = _member_element(self.root_file, branch.class_name, member)
        found: np.dtype[Any] | None = cache[key]
        return found

    def structure_key(self) -> tuple[Any, ...] | None:
        """Layout key from afkit's metadata plus the file's streamer record (None: no metadata)."""
        if self.native is None:
            return None
        try:
            digest = _streamer_digest(self.root_file)
        except Exception:  # noqa: BLE001 - an odd streamer record: uproot's key instead
            return None
        return ("native", self.native.structure_key(), digest)


def open_tree(handle: Any, path: str, name: str) -> TreeHandle:
    """The :class:`TreeHandle` of ``name`` in ``handle``, decoded once per open file."""
    trees = handle.__dict__.setdefault("_afkit_trees", {})
    if name not in trees:
        tree = TreeHandle(handle, path, name, None)
        tree.native = _native_meta(tree)
        trees[name] = tree
    found: TreeHandle = trees[name]
    return found


def _native_meta(tree: TreeHandle) -> TreeMeta | None:
    """afkit's decoding of the tree's metadata; None where only uproot can (or should) say.

    The tree record is read through the tree's own byte source (``pread`` for a local
    file), like its baskets."""
    try:
        key = tree.handle.key(tree.name)
        start = int(key.fSeekKey)
        (raw,) = tree.bytes.ranges([(start, start + int(key.fNbytes))])
        payload = decompress(raw[int(key.fKeylen) :], int(key.fObjlen))
        return parse_tree(payload, int(key.fKeylen), tree.name)
    except (NativeUnsupported, CorruptBasket):
        return None  # uproot reads it, or reports the damage in its established way
    except Exception:  # noqa: BLE001 - any surprise in the fast path defers to uproot
        return None


def _streamer_digest(root_file: Any) -> str:
    """Digest of the file's streamer-info record: files of one release share it."""
    cached: str | None = root_file.__dict__.get("_afkit_streamer_digest")
    if cached is None:
        start, size = int(root_file.fSeekInfo), int(root_file.fNbytesInfo)
        raw = np.asarray(root_file.source.chunk(start, start + size).raw_data, dtype=np.uint8)
        # the record's key header holds the write date; hash only the streamers themselves
        keylen = int.from_bytes(raw[14:16].tobytes(), "big") if len(raw) >= 16 else 0
        cached = hashlib.sha1(raw[keylen:].tobytes()).hexdigest()
        root_file.__dict__["_afkit_streamer_digest"] = cached
    return cached


def _member_element(root_file: Any, class_name: str, member: str) -> np.dtype[Any] | None:
    """The primitive element dtype of ``class_name``'s ``std::vector`` member ``member``."""
    try:
        streamer = root_file.streamer_named(class_name)
    except Exception:  # noqa: BLE001 - no usable streamer info: the general reader decides
        return None
    for element in getattr(streamer, "elements", ()):
        if element.name == member:
            match = _VECTOR.match(str(element.typename).strip())
            if match and match.group(1) in _VECTOR_ELEMENTS:
                return np.dtype(_VECTOR_ELEMENTS[match.group(1)])
            return None
    return None


def flat_dtype(branch: BranchMeta) -> np.dtype[Any] | None:
    """Dtype of a one-value-per-entry branch afkit reads itself (None: not such a branch)."""
    if branch.branches or len(branch.leaves) != 1:
        return None
    leaf = branch.leaves[0]
    if leaf.has_count or leaf.length != 1:
        return None
    if leaf.classname in _LEAF_CLASSES:
        return np.dtype(_LEAF_CLASSES[leaf.classname][leaf.is_unsigned])
    if leaf.classname == "TLeafElement" and branch.type == 0:
        code = branch.streamer_type
        if code is not None and code in _TYPE_CODES and leaf.element_type == code:
            return np.dtype(_TYPE_CODES[code])
    return None


def values_dtype(branch: BranchMeta) -> np.dtype[Any] | None:
    """Dtype of a counted branch stored as bare values (``T[n]`` leaves, split members)."""
    if branch.branches or len(branch.leaves) != 1:
        return None
    leaf = branch.leaves[0]
    if not leaf.has_count:
        return None
    if leaf.classname in _LEAF_CLASSES and branch.classname == "TBranch":
        return np.dtype(_LEAF_CLASSES[leaf.classname][leaf.is_unsigned])
    if (
        leaf.classname == "TLeafElement"
        and branch.type in _SPLIT_MEMBER_TYPES
        and leaf.element_type in _TYPE_CODES
        and leaf.element_type == branch.streamer_type
    ):
        return np.dtype(_TYPE_CODES[leaf.element_type])
    return None


def vector_dtype(branch: BranchMeta) -> np.dtype[Any] | None:
    """Element dtype of a streamed ``std::vector<T>`` branch of a primitive ``T``."""
    if branch.branches or branch.classname != "TBranchElement" or branch.type != 0:
        return None
    if branch.streamer_type != -1 or branch.class_name is None:
        return None
    match = _VECTOR.match(branch.class_name.strip())
    if match is None or match.group(1) not in _VECTOR_ELEMENTS:
        return None
    return np.dtype(_VECTOR_ELEMENTS[match.group(1)])
