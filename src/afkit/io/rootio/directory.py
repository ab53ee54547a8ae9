"""The keys of a ROOT file's directories, read from the file's own bytes.

A ROOT file starts with a header that points at its top directory; each directory record
points at its list of keys, and each key names an object (name, class, cycle) and where its
bytes lie.  RNTuple anchors are found this way, without going through a general ROOT reader.
Only what locating an object needs is decoded: name, class name, cycle, the key's position
and sizes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

_FILE_HEADER = struct.Struct(">4sii")  # magic, fVersion, fBEGIN
_SMALL_FILE = struct.Struct(">iiiiiBi")  # fEND fSeekFree fNbytesFree nfree fNbytesName ...
_LARGE_FILE = struct.Struct(">qqiiiBi")
_DIRECTORY = struct.Struct(">hIIii")  # version datimeC datimeM nbytesKeys nbytesName
_KEY_START = struct.Struct(">ihiIhh")  # fNbytes fVersion fObjlen fDatime fKeylen fCycle
_BIG_KEY = 1000  # key and directory versions above this store 64-bit positions


class DirectoryError(Exception):
    """The file's header, a directory record or a key list is not what ROOT writes."""


@dataclass(frozen=True)
class Key:
    """One key of a directory: the object's identity and where its bytes lie."""

    name: str
    classname: str
    cycle: int
    seek: int  # the key's first byte
    nbytes: int  # the key's bytes on disk, header included
    keylen: int  # the header's length: the object's (compressed) bytes start after it
    objlen: int  # the object's uncompressed length


def _tstring(data: bytes, at: int) -> tuple[str, int]:
    """A ROOT TString at ``at``: (text, position after it)."""
    if at >= len(data):
        raise DirectoryError(f"a name at byte {at} lies past the key list")
    length = data[at]
    at += 1
    if length == 255:
        (length,) = struct.unpack_from(">i", data, at)
        at += 4
    if at + length > len(data):
        raise DirectoryError(f"a name at byte {at} runs past the key list")
    return data[at : at + length].decode("utf-8", "replace"), at + length


def read_key(data: bytes, at: int) -> tuple[Key, int]:
    """The key header at ``at`` of ``data`` (a key list): (key, position after it)."""
    if at + _KEY_START.size > len(data):
        raise DirectoryError(f"a key header at byte {at} is cut short")
    nbytes, version, objlen, _datime, keylen, cycle = _KEY_START.unpack_from(data, at)
    pos = at + _KEY_START.size
    fmt = ">qq" if version > _BIG_KEY else ">ii"
    if pos + struct.calcsize(fmt) > len(data):
        raise DirectoryError(f"a key header at byte {at} is cut short")
    seek, _parent = struct.unpack_from(fmt, data, pos)
    pos += struct.calcsize(fmt)
    classname, pos = _tstring(data, pos)
    name, pos = _tstring(data, pos)
    _title, pos = _tstring(data, pos)
    if nbytes <= 0 or keylen <= 0 or seek < 0:
        raise DirectoryError(f"key {name!r} has impossible sizes ({nbytes}, {keylen}, {seek})")
    return Key(name, classname, cycle, seek, nbytes, keylen, objlen), pos


def _directory_record(data: bytes, at: int) -> tuple[int, int]:
    """(fSeekKeys, fNbytesKeys) of the TDirectory record at ``at``."""
    if at + _DIRECTORY.size > len(data):
        raise DirectoryError("the directory record is cut short")
    version, _c, _m, nbytes_keys, _nbytes_name = _DIRECTORY.unpack_from(data, at)
    pos = at + _DIRECTORY.size
    fmt = ">qqq" if version > _BIG_KEY else ">iii"
    if pos + struct.calcsize(fmt) > len(data):
        raise DirectoryError("the directory record is cut short")
    _seek_dir, _seek_parent, seek_keys = struct.unpack_from(fmt, data, pos)
    return int(seek_keys), int(nbytes_keys)


def _keys_at(source: Any, seek_keys: int, nbytes_keys: int) -> list[Key]:
    """The keys of the key list record at ``seek_keys``."""
    if seek_keys <= 0 or nbytes_keys <= 0:
        return []
    (raw,) = source.ranges([(seek_keys, seek_keys + nbytes_keys)])
    data = raw.tobytes()
    _own, pos = read_key(data, 0)  # the key list's own key header
    if pos + 4 > len(data):
        raise DirectoryError("the key list is cut short")
    (count,) = struct.unpack_from(">i", data, pos)
    pos += 4
    keys = []
    for _ in range(count):
        key, pos = read_key(data, pos)
        keys.append(key)
    return keys


def top_keys(source: Any, file_size: int | None = None) -> list[Key]:
    """The keys of the file's top directory (``source`` is a byte source with ``ranges``)."""
    head_len = 100 if file_size is None else min(100, file_size)
    (raw,) = source.ranges([(0, head_len)])
    head = raw.tobytes()
    if len(head) < _FILE_HEADER.size + _SMALL_FILE.size:
        raise DirectoryError("the file header is cut short")
    magic, version, begin = _FILE_HEADER.unpack_from(head, 0)
    if magic != b"root":
        raise DirectoryError("not a ROOT file (no 'root' magic)")
    layout = _LARGE_FILE if version >= 1000000 else _SMALL_FILE
    fields = layout.unpack_from(head, _FILE_HEADER.size)
    nbytes_name = fields[4]
    (record,) = source.ranges([(begin, begin + nbytes_name + 64)])
    seek_keys, nbytes_keys = _directory_record(record.tobytes(), nbytes_name)
    return _keys_at(source, seek_keys, nbytes_keys)


def subdirectory_keys(source: Any, key: Key) -> list[Key]:
    """The keys of the directory ``key`` (a ``TDirectory`` key of some directory)."""
    (record,) = source.ranges([(key.seek + key.keylen, key.seek + key.nbytes)])
    seek_keys, nbytes_keys = _directory_record(record.tobytes(), 0)
    return _keys_at(source, seek_keys, nbytes_keys)


def latest(keys: list[Key]) -> dict[str, Key]:
    """Each name's key of the highest cycle (the object ROOT returns for a bare name)."""
    out: dict[str, Key] = {}
    for key in keys:
        if key.name not in out or key.cycle > out[key.name].cycle:
            out[key.name] = key
    return out
