"""Big-endian numbers and ROOT's byte-count flag, read inside compiled (Numba) code.

ROOT writes every number big-endian and every class part behind a 4-byte byte count whose
``0x40000000`` bit is set.  These helpers are inlined into the decoders that walk such bytes
(the tree scan, the basket cut, the PHYSLITE encodings); they return ``int64`` so that mixing
them with offsets and lengths never promotes to floating point.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from afkit._jit import njit

#: The bit that marks a 4-byte word as a byte count (ROOT's ``kByteCountMask``).
BYTE_COUNT_FLAG = 0x40000000


@njit(cache=True, nogil=True, inline="always")
def u32(data: Any, at: int) -> int:
    """The unsigned 32-bit big-endian number at ``data[at:at + 4]``."""
    return int(
        (np.int64(data[at]) << 24)
        | (np.int64(data[at + 1]) << 16)
        | (np.int64(data[at + 2]) << 8)
        | np.int64(data[at + 3])
    )


@njit(cache=True, nogil=True, inline="always")
def u16(data: Any, at: int) -> int:
    """The unsigned 16-bit big-endian number at ``data[at:at + 2]``."""
    return int((np.int64(data[at]) << 8) | np.int64(data[at + 1]))


@njit(cache=True, nogil=True, inline="always")
def i32(data: Any, at: int) -> int:
    """The signed 32-bit big-endian number at ``data[at:at + 4]``."""
    value = u32(data, at)
    return value - (1 << 32) if value >= (1 << 31) else value


@njit(cache=True, nogil=True, inline="always")
def i16(data: Any, at: int) -> int:
    """The signed 16-bit big-endian number at ``data[at:at + 2]``."""
    value = u16(data, at)
    return value - (1 << 16) if value >= (1 << 15) else value
