"""The compiled byte copy used by the vector decoders: exact, and bounds-checked."""

from __future__ import annotations

import numba
import numpy as np
import pytest

from afkit.io.rootio.bytecopy import copy_bytes


@numba.njit
def _copy(dst, dst_at, src, src_at, nbytes):  # type: ignore[no-untyped-def]
    copy_bytes(dst, dst_at, src, src_at, nbytes)


def test_copies_exactly_the_range() -> None:
    src = np.arange(50, dtype=np.uint8)
    dst = np.zeros(20, np.uint8)
    _copy(dst, 3, src, 10, 7)
    expected = np.zeros(20, np.uint8)
    expected[3:10] = src[10:17]
    assert np.array_equal(dst, expected)
    _copy(dst, 0, src, 0, 0)  # nothing to copy is fine
    assert np.array_equal(dst, expected)


@pytest.mark.parametrize(
    ("dst_at", "src_at", "nbytes"),
    [(0, 45, 6), (15, 0, 6), (-1, 0, 2), (0, -1, 2), (0, 0, -1)],
)
def test_out_of_bounds_raises(dst_at: int, src_at: int, nbytes: int) -> None:
    src = np.arange(50, dtype=np.uint8)
    dst = np.zeros(20, np.uint8)
    with pytest.raises(IndexError):
        _copy(dst, dst_at, src, src_at, nbytes)
    assert not dst.any()
