"""Data quality: good-run lists as a vectorised mask on (run, lumi block).

:class:`LumiMask` reads ATLAS good-run lists (GRL XML: ``LumiRangeCollection`` /
``NamedLumiRange`` / ``LumiBlockCollection`` with a ``Run`` and ``LBRange Start= End=``
elements, both ends included) and CMS golden JSON (``{"run": [[first, last], ...]}``), and
combines several (their union: a block is good if any list has it).  ``mask(run, lumi)``
answers for every event in one compiled pass: each run's good blocks are a row of bits, found
from the run number by a dense table, so an event costs two loads and a bit test.

Malformed files raise :class:`LumiListError` naming the file and what is wrong.
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Any

import numpy as np

from afkit._jit import njit
from afkit.exceptions import AfkitFileNotFoundError, ConfigError

__all__ = ["LumiListError", "LumiMask"]

#: Largest lumi block a list may name (blocks are bits of a row; real ones stay below 10^4).
MAX_LUMI_BLOCK = 1 << 20


class LumiListError(ConfigError):
    """A good-run list that cannot be read: not XML/JSON of the expected layout."""


def _ranges_from_xml(path: str, text: str) -> dict[int, list[tuple[int, int]]]:
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as err:
        raise LumiListError(f"not a GRL XML file: {err}", file=path) from err
    ranges: dict[int, list[tuple[int, int]]] = {}
    collections = list(root.iter("LumiBlockCollection"))
    if not collections:
        raise LumiListError(
            f"no LumiBlockCollection in the GRL (root element <{root.tag}>)", file=path
        )
    for k, collection in enumerate(collections):
        run_element = collection.find("Run")
        if run_element is None or not (run_element.text or "").strip().isdigit():
            raise LumiListError(f"LumiBlockCollection {k} has no <Run> number", file=path)
        run = int(run_element.text)  # type: ignore[arg-type]
        for lb in collection.iter("LBRange"):
            try:
                start, end = int(lb.attrib["Start"]), int(lb.attrib["End"])
            except (KeyError, ValueError) as err:
                raise LumiListError(
                    f"run {run}: an LBRange without integer Start and End ({lb.attrib})",
                    file=path,
                ) from err
            ranges.setdefault(run, []).append((start, end))
    return ranges


def _ranges_from_json(path: str, text: str) -> dict[int, list[tuple[int, int]]]:
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as err:
        raise LumiListError(f"not a golden JSON file: {err}", file=path) from err
    if not isinstance(raw, dict):
        raise LumiListError("a golden JSON maps run numbers to lists of [first, last]", file=path)
    ranges: dict[int, list[tuple[int, int]]] = {}
    for run, pairs in raw.items():
        if not str(run).isdigit() or not isinstance(pairs, list):
            raise LumiListError(f"entry {run!r}: not a run number with a list of ranges", file=path)
        for pair in pairs:
            if (
                not isinstance(pair, list)
                or len(pair) != 2
                or not all(isinstance(v, int) for v in pair)
            ):
                raise LumiListError(f"run {run}: {pair!r} is not [first, last]", file=path)
            ranges.setdefault(int(run), []).append((pair[0], pair[1]))
    return ranges


def _read(source: str | os.PathLike[str]) -> dict[int, list[tuple[int, int]]]:
    path = os.fspath(source)
    if not Path(path).is_file():
        raise AfkitFileNotFoundError("no such good-run list", file=path)
    text = Path(path).read_text()
    stripped = text.lstrip()
    ranges = (
        _ranges_from_json(path, text) if stripped.startswith("{") else _ranges_from_xml(path, text)
    )
    for run, pairs in ranges.items():
        for start, end in pairs:
            if not 0 <= start <= end < MAX_LUMI_BLOCK:
                raise LumiListError(
                    f"run {run}: lumi-block range {start}-{end} is empty or outside "
                    f"0..{MAX_LUMI_BLOCK - 1}",
                    file=path,
                )
    return ranges


class LumiMask:
    """The good (run, lumi block) pairs of one or more good-run lists (their union)."""

    def __init__(self, ranges: dict[int, list[tuple[int, int]]]) -> None:
        self.runs = np.array(sorted(ranges), dtype=np.int64)
        if len(self.runs) == 0:
            raise LumiListError("the good-run list names no run")
        width = max(end for pairs in ranges.values() for _, end in pairs) + 1
        words = (width + 63) // 64
        self._bits = np.zeros((len(self.runs), words), np.uint64)
        for row, run in enumerate(self.runs):
            for start, end in ranges[int(run)]:
                _set_bits(self._bits[row], start, end)
        self._first = int(self.runs[0])
        span = int(self.runs[-1]) - self._first + 1
        self._row_of = np.full(span, -1, np.int64)  # run - first run -> row (dense: fast)
        self._row_of[self.runs - self._first] = np.arange(len(self.runs))
        self.ranges = {int(r): sorted(p) for r, p in ranges.items()}

    @classmethod
    def from_files(cls, *paths: str | os.PathLike[str]) -> LumiMask:
        """The union of the good-run lists in ``paths`` (GRL XML or golden JSON, by content)."""
        if not paths:
            raise ConfigError("LumiMask.from_files needs at least one good-run list")
        merged: dict[int, list[tuple[int, int]]] = {}
        for path in paths:
            for run, pairs in _read(path).items():
                merged.setdefault(run, []).extend(pairs)
        return cls(merged)

    def __or__(self, other: LumiMask) -> LumiMask:
        merged = {r: list(p) for r, p in self.ranges.items()}
        for run, pairs in other.ranges.items():
            merged.setdefault(run, []).extend(pairs)
        return LumiMask(merged)

    def mask(self, run: Any, lumi_block: Any) -> Any:
        """Per event: whether (run, lumi block) is good.  Arrays of one value per event
        (NumPy, or awkward); the result is a NumPy bool array."""
        from afkit.analysis.selection import per_event

        runs = np.ascontiguousarray(per_event(run, "run"), dtype=np.int64)
        blocks = np.ascontiguousarray(per_event(lumi_block, "lumi_block"), dtype=np.int64)
        if runs.shape != blocks.shape:
            raise ConfigError(f"{len(runs)} run numbers but {len(blocks)} lumi blocks")
        return _lookup(runs, blocks, self._first, self._row_of, self._bits)

    __call__ = mask

    def __repr__(self) -> str:
        blocks = sum(end - start + 1 for pairs in self.ranges.values() for start, end in pairs)
        return f"LumiMask({len(self.runs)} runs, {blocks} lumi blocks)"


def _set_bits(row: np.ndarray, start: int, end: int) -> None:
    for block in range(start, end + 1):
        row[block >> 6] |= np.uint64(1) << np.uint64(block & 63)


@njit(cache=True, nogil=True)
def _lookup(runs, blocks, first, row_of, bits):  # type: ignore[no-untyped-def]
    out = np.empty(len(runs), np.bool_)
    span = len(row_of)
    words = bits.shape[1]
    for i in range(len(runs)):
        r = runs[i] - first
        good = False
        if 0 <= r < span:
            row = row_of[r]
            lb = blocks[i]
            if row >= 0 and lb >= 0 and (lb >> 6) < words:
                good = (bits[row, lb >> 6] >> np.uint64(lb & 63)) & np.uint64(1) == 1
        out[i] = good
    return out
