"""Page decoding into one column buffer, on hand-made pages whose values are known.

:func:`afkit.io.rntuple.pages.read_column` decodes a split page in the bytes after its place
when later pages of the same run will overwrite them, and in one scratch page otherwise.
These tests lay pages out so that both happen next to zero-filled gaps (a cluster without
the column, a column added within a cluster) that must stay zeros.
"""

from __future__ import annotations

import mmap
from dataclasses import dataclass
from pathlib import Path

import cramjam
import numpy as np
import pytest

from afkit.io.rntuple.descriptor import PAGE_TABLE, Cluster, ColumnDesc, ColumnInCluster
from afkit.io.rntuple.pages import ColumnPart, read_column
from afkit.io.rootio.source import LocalBytes

SPLIT_REAL32 = 0x18
SPLIT_INDEX32 = 0x1A


@dataclass
class Columns:
    """A cluster's page list holding one column (or none)."""

    info: ColumnInCluster | None

    def get(self, column: int) -> ColumnInCluster | None:
        return self.info


class Bytes:
    """A byte source over an in-memory file, counting what is asked for."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.asked = 0

    def add(self, payload: bytes) -> tuple[int, int]:
        at = len(self.data)
        self.data += payload
        return at, len(payload)

    def each_range(self, ranges: list[tuple[int, int]]):  # type: ignore[no-untyped-def]
        for start, stop in ranges:
            self.asked += stop - start
            yield np.frombuffer(bytes(self.data[start:stop]), np.uint8)


def split_bytes(values: np.ndarray) -> bytes:
    """Values as byte planes (all first bytes, then all second bytes, ...)."""
    return values.view(np.uint8).reshape(-1, values.itemsize).T.tobytes()


def zstd_block(raw: bytes) -> bytes:
    """``raw`` in ROOT's block framing around one zstd frame."""
    frame = bytes(cramjam.zstd.compress(raw))
    return b"ZS\x01" + len(frame).to_bytes(3, "little") + len(raw).to_bytes(3, "little") + frame


def column_in(source: Bytes, pages: list[np.ndarray], encode) -> ColumnInCluster:  # type: ignore[no-untyped-def]
    rows = []
    for k, values in enumerate(pages):
        raw = encode(values)
        payload = zstd_block(raw) if k % 2 == 0 else raw  # compressed and stored pages
        offset, size = source.add(payload)
        rows.append((len(values), offset, size, False))
    return ColumnInCluster(np.array(rows, PAGE_TABLE), 0, 505, False)


@pytest.mark.parametrize("lead", [0, 1])
def test_split_pages_next_to_zero_gaps(lead: int) -> None:
    rng = np.random.default_rng(7)
    column = ColumnDesc(id=0, type=SPLIT_REAL32, bits=32, field=0, flags=0, representation=0)
    source = Bytes()
    a = [rng.normal(size=200).astype("<f4"), rng.normal(size=300).astype("<f4")]
    c = [rng.normal(size=150).astype("<f4")]
    first = Cluster(0, 10, Columns(column_in(source, a, split_bytes)))  # type: ignore[arg-type]
    missing = Cluster(10, 10, Columns(None))  # type: ignore[arg-type]
    added = Cluster(20, 10, Columns(column_in(source, c, split_bytes)))  # type: ignore[arg-type]
    parts = [ColumnPart(first, column, 500), ColumnPart(missing, None, 400)]
    parts.append(ColumnPart(added, column, 250))  # 100 elements before it was added
    out = read_column(parts, np.dtype(np.float32), source, "test", lead=lead)
    expected = np.concatenate(
        [np.zeros(lead, "<f4"), *a, np.zeros(400, "<f4"), np.zeros(100, "<f4"), *c]
    )
    np.testing.assert_array_equal(out, expected)
    assert source.asked == len(source.data)


def test_delta_index_pages_keep_their_cluster_counting() -> None:
    """SplitIndex32 pages (each page's deltas start from 0) widen into int64 offsets; each
    cluster counts from 0."""
    column = ColumnDesc(id=0, type=SPLIT_INDEX32, bits=32, field=0, flags=0, representation=0)
    source = Bytes()

    def deltas(ends: list[int]) -> np.ndarray:
        return np.diff(np.asarray(ends, "<u4"), prepend=0).astype("<u4")

    first_pages = [deltas([3, 3, 5, 10]), deltas([11, 12])]
    first = Cluster(0, 6, Columns(column_in(source, first_pages, split_bytes)))  # type: ignore[arg-type]
    second = Cluster(6, 3, Columns(column_in(source, [deltas([3, 3, 5])], split_bytes)))  # type: ignore[arg-type]
    parts = [ColumnPart(first, column, 6), ColumnPart(second, column, 3)]
    out = read_column(parts, np.dtype(np.int64), source, "test", lead=1)
    np.testing.assert_array_equal(out, [0, 3, 3, 5, 10, 11, 12, 3, 3, 5])


def test_local_file_pages_are_views_of_the_mapped_file(tmp_path: Path) -> None:
    path = tmp_path / "bytes.bin"
    data = np.arange(3 * mmap.PAGESIZE, dtype=np.uint32).view(np.uint8)
    path.write_bytes(data.tobytes())
    source = LocalBytes(str(path))
    spans = [(5, 9000), (9000, 9001), (len(data) - 100, len(data))]
    seen = [bytes(raw) for raw in source.each_range(spans)]
    assert seen == [data[a:b].tobytes() for a, b in spans]
    assert source.num_requested_bytes == sum(b - a for a, b in spans)
    # a page read again after its mapping was dropped has the same bytes
    again = next(iter(source.each_range([(5, 9000)])))
    assert again.tobytes() == data[5:9000].tobytes()
    with pytest.raises(OSError, match="the file ends"):
        list(source.each_range([(len(data) - 4, len(data) + 4)]))
    source.close()


@pytest.mark.parametrize("width", [2, 4, 8])
@pytest.mark.parametrize("n", [0, 1, 63, 64, 65, 255, 256, 257, 1000, 3 * 256, 5000])
def test_unsplit_in_place_equals_numpy(width: int, n: int) -> None:
    from afkit.io.rntuple.pages import _unsplit_in_place, unsplit_scratch

    rng = np.random.default_rng(n * width)
    elements = rng.integers(0, 256, size=(n, width), dtype=np.uint8)
    planes = np.ascontiguousarray(elements.T).reshape(-1)
    buf = np.concatenate([planes, np.array([7, 7, 7], np.uint8)])  # bytes after it stay
    work, seen = unsplit_scratch(n, width)
    _unsplit_in_place(buf, n, width, work, seen)
    np.testing.assert_array_equal(buf[: n * width], elements.reshape(-1))
    np.testing.assert_array_equal(buf[n * width :], [7, 7, 7])


SPLIT_INT32 = 0x13


@pytest.mark.parametrize(
    ("kind", "dtype", "values", "encode"),
    [
        ("SplitReal32", np.float32, np.linspace(-3, 9, 700, dtype="<f4"), split_bytes),
        (
            "SplitReal32 kept as double",
            np.float64,
            np.linspace(-3, 9, 700, dtype="<f4"),
            split_bytes,
        ),
        (
            "SplitInt32 (zigzag)",
            np.int32,
            np.arange(-350, 350, dtype="<i4"),
            lambda v: split_bytes(
                ((v.astype(np.int64) << 1) ^ (v.astype(np.int64) >> 63)).astype("<u4")
            ),
        ),
    ],
)
def test_a_page_alone_decodes_in_its_own_place(kind: str, dtype, values, encode) -> None:  # type: ignore[no-untyped-def]
    """One page per cluster, clusters apart: no later page to decode in, no scratch page."""
    column_type = SPLIT_INT32 if "Int32" in kind else SPLIT_REAL32
    column = ColumnDesc(id=0, type=column_type, bits=32, field=0, flags=0, representation=0)
    source = Bytes()
    halves = [values[:300], values[300:]]
    clusters = [
        Cluster(0, 1, Columns(column_in(source, [halves[0]], encode))),  # type: ignore[arg-type]
        Cluster(1, 1, Columns(None)),  # type: ignore[arg-type]
        Cluster(2, 1, Columns(column_in(source, [halves[1]], encode))),  # type: ignore[arg-type]
    ]
    parts = [
        ColumnPart(clusters[0], column, 300),
        ColumnPart(clusters[1], None, 50),
        ColumnPart(clusters[2], column, 400),
    ]
    out = read_column(parts, np.dtype(dtype), source, "test")
    expected = np.concatenate([halves[0], np.zeros(50, values.dtype), halves[1]]).astype(dtype)
    np.testing.assert_array_equal(out, expected)
