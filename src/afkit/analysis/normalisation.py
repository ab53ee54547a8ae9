"""Sums of MC weights before any skim, from the files themselves: :func:`sum_of_weights`.

Normalising MC to a luminosity needs ``sumw``, the sum of the generator weights over *all*
events the sample was made from — before the derivation's skim, which the files' event
counts no longer show.  The files record it:

* PHYSLITE: the ``MetaData`` tree's CutBookkeepers.  afkit takes the ``AllExecutedEvents``
  bookkeeper of the input stream (``StreamAOD`` where there are several; ``input_stream=``
  chooses) at the highest processing cycle, for the nominal weight (``CutBookkeepers``) and
  every generator weight (``CutBookkeepers_weight_i``), keyed by the file's weight names
  (``TruthMetaData.weightNames``: name ``i`` ↔ ``mcEventWeights[:, i]``;
  ``CutBookkeepers`` is index 0).  Files without names are keyed by index.
  ``IncompleteCutBookkeepers`` (jobs that did not finish) are reported, not added.
* NanoAOD: the ``Runs`` tree: ``genEventSumw`` (and ``genEventSumw2``, ``genEventCount``),
  and each element of ``LHEScaleSumw``, ``LHEPdfSumw``, ... as ``LHEScaleSumw[i]``.

Sums over several files add, file by file; the files of one call must agree on the names.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from afkit.exceptions import ConfigError, MissingBranchError, MissingNameError, MissingTreeError

__all__ = ["SumOfWeights", "sum_of_weights"]

#: The bookkeeper of the input before any cut.
ALL_EXECUTED = "AllExecutedEvents"


@dataclass
class SumOfWeights(Mapping[Any, float]):
    """``{weight name (or index): sum}`` over the files, with how it was obtained."""

    sums: dict[Any, float]
    events: int  # the events the sums are over (before any skim)
    files: list[str] = field(default_factory=list)
    source: str = ""  # "CutBookkeepers" or "Runs"
    incomplete: list[str] = field(default_factory=list)  # files with incomplete bookkeepers

    def __getitem__(self, key: Any) -> float:
        try:
            return self.sums[key]
        except KeyError:
            raise MissingNameError("weight", str(key), [str(k) for k in self.sums]) from None

    def __iter__(self) -> Iterator[Any]:
        return iter(self.sums)

    def __len__(self) -> int:
        return len(self.sums)

    @property
    def nominal(self) -> float:
        """The nominal sum: index 0 (PHYSLITE) or ``genEventSumw`` (NanoAOD)."""
        first = next(iter(self.sums))
        return self.sums["genEventSumw"] if "genEventSumw" in self.sums else self.sums[first]

    def __add__(self, other: object) -> SumOfWeights:
        if not isinstance(other, SumOfWeights):
            return NotImplemented
        if list(other.sums) != list(self.sums):
            raise ConfigError("cannot add sums of weights of different weight names")
        return SumOfWeights(
            {k: v + other.sums[k] for k, v in self.sums.items()},
            self.events + other.events,
            self.files + other.files,
            self.source or other.source,
            self.incomplete + other.incomplete,
        )


def sum_of_weights(
    files: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    *,
    input_stream: str | None = None,
) -> SumOfWeights:
    """The sums of weights of one file or several (added), from their metadata."""
    paths = [files] if isinstance(files, (str, os.PathLike)) else list(files)
    if not paths:
        raise ConfigError("sum_of_weights needs at least one file")
    total: SumOfWeights | None = None
    for path in paths:
        one = _of_file(os.fspath(path), input_stream)
        if total is not None and list(one.sums) != list(total.sums):
            raise ConfigError(
                f"{path} has other weight names than {total.files[0]}: its sums cannot be added",
                file=os.fspath(path),
            )
        total = one if total is None else total + one
    assert total is not None
    return total


def _of_file(path: str, input_stream: str | None) -> SumOfWeights:
    from afkit.io.physlite.metadata import cutbookkeepers, weight_names

    try:
        books = cutbookkeepers(path)
    except MissingTreeError as missing_metadata:
        from afkit.io.nanoaod import run_sums

        try:
            runs = run_sums(path)
        except MissingTreeError:
            raise MissingTreeError(
                "metadata tree", "MetaData (PHYSLITE) or Runs (NanoAOD)",
                missing_metadata.suggestions, file=path,
            ) from None  # fmt: skip
        return _from_runs(path, runs)
    names = weight_names(path)
    complete = [b for b in books if not b.incomplete and b.name == ALL_EXECUTED]
    if not complete:
        raise MissingBranchError(
            "bookkeeper", ALL_EXECUTED, sorted({b.name for b in books}), file=path,
            where="the CutBookkeepers",
        )  # fmt: skip
    stream = _stream(path, complete, input_stream)
    chosen: dict[int, Any] = {}
    for book in complete:
        if book.input_stream != stream:
            continue
        best = chosen.get(book.weight_index)
        if best is None or book.cycle > best.cycle:
            chosen[book.weight_index] = book
    indices = sorted(chosen)
    if names and len(names) < len(indices):
        raise ConfigError(
            f"the file has {len(indices)} weight bookkeepers but {len(names)} weight names",
            file=path,
        )
    sums = {(names[i] if names else i): chosen[i].sum_of_weights for i in indices}
    incomplete = [path] if any(b.incomplete and b.name == ALL_EXECUTED for b in books) else []
    return SumOfWeights(sums, chosen[0].accepted_events, [path], "CutBookkeepers", incomplete)


def _stream(path: str, books: list[Any], wanted: str | None) -> str:
    streams = sorted({b.input_stream for b in books})
    if wanted is not None:
        if wanted not in streams:
            raise MissingNameError("input stream", wanted, streams, file=path)
        return wanted
    if len(streams) == 1:
        return str(streams[0])
    if "StreamAOD" in streams:
        return "StreamAOD"
    raise ConfigError(
        f"the bookkeepers count several input streams ({', '.join(streams)}): choose one "
        "with input_stream=",
        file=path,
    )


def _from_runs(path: str, runs: dict[str, Any]) -> SumOfWeights:
    if "genEventSumw" not in runs:
        raise MissingBranchError("branch", "genEventSumw", list(runs), file=path, where="Runs")
    sums: dict[Any, float] = {}
    for name, value in runs.items():
        if isinstance(value, np.ndarray):
            sums.update({f"{name}[{i}]": float(v) for i, v in enumerate(value)})
        else:
            sums[name] = float(value)
    events = int(runs.get("genEventCount", 0))
    return SumOfWeights(sums, events, [path], "Runs")
