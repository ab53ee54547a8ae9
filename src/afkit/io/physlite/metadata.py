"""PHYSLITE file metadata: the CutBookkeepers (sums of weights before any skim) and the
generator-weight names, from the ``MetaData`` tree.

Athena records, for every file it writes, the events and the sums of MC weights its inputs
had — per cut stage (``AllExecutedEvents`` is the input before any selection), per input
stream and per processing cycle — in ``CutBookkeepers`` (the nominal weight) and
``CutBookkeepers_weight_i`` (generator weight ``i``, named by ``TruthMetaData.weightNames``:
index ``i`` ↔ ``mcEventWeights[:, i]`` ↔ ``CutBookkeepers_weight_i``, index 0 ↔
``CutBookkeepers``).  ``IncompleteCutBookkeepers`` hold what jobs that did not finish saw.

Each is a split ``xAOD::CutBookkeeperAuxContainer_v1``: one vector per member and entry of
the ``MetaData`` tree (several entries where files were merged).  The numeric members are
read by afkit's own reader; the string members (``name``, ``inputStream``, ``description``)
through uproot's object reading.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from afkit.exceptions import MissingBranchError, MissingTreeError
from afkit.io.filespec import normalize_source
from afkit.io.reader import BranchReader, whole_tree_reader

METADATA_TREE = "MetaData"

_CONTAINER = re.compile(
    r"^(?P<name>(?:Incomplete)?CutBookkeepers(?:_weight_(?P<index>\d+))?)Aux\.$"
)


@dataclass(frozen=True)
class CutBookkeeper:
    """One bookkeeping record: the events (and sums of weights) one stage of one job saw."""

    container: str  # CutBookkeepers, CutBookkeepers_weight_7, IncompleteCutBookkeepers
    weight_index: int  # 0 for CutBookkeepers, i for CutBookkeepers_weight_i
    incomplete: bool
    name: str  # AllExecutedEvents, PHYSLITEKernel, ...
    description: str
    input_stream: str  # StreamAOD, ...
    cycle: int
    accepted_events: int
    sum_of_weights: float
    sum_of_weights_squared: float
    name_identifier: int
    unique_identifier: int


def _metadata_reader(path: str) -> BranchReader:
    return whole_tree_reader(path, METADATA_TREE)


def cutbookkeepers(source: Any) -> list[CutBookkeeper]:
    """Every CutBookkeeper of the file (all containers, all entries of ``MetaData``).

    Raises :class:`~afkit.exceptions.MissingTreeError` without a ``MetaData`` tree and
    :class:`~afkit.exceptions.MissingBranchError` without CutBookkeepers in it.
    """
    path = normalize_source(source)
    reader = _metadata_reader(path)
    names = reader.handle.keys(recursive=False)
    # split containers (Athena) or their members as top-level branches (plain ROOT writers)
    tops = {n if n.endswith("Aux.") else n.split("Aux.", 1)[0] + "Aux." for n in names}
    containers = sorted(
        {(m.group("name"), m.group("index")) for m in map(_CONTAINER.match, tops) if m},
        key=lambda c: (c[0].startswith("Incomplete"), int(c[1] or 0)),
    )
    if not any(c == "CutBookkeepers" for c, _ in containers):
        raise MissingBranchError(
            "bookkeepers", "CutBookkeepersAux.", names, file=path, where="tree 'MetaData'"
        )
    out = []
    for container, index in containers:
        out += _records(reader, container, int(index) if index else 0)
    return out


def _records(reader: BranchReader, container: str, index: int) -> list[CutBookkeeper]:
    def numbers(member: str) -> tuple[np.ndarray, np.ndarray]:
        return reader.jagged(f"{container}Aux.{member}")

    offsets, accepted = numbers("nAcceptedEvents")
    _, sumw = numbers("sumOfEventWeights")
    _, sumw2 = numbers("sumOfEventWeightsSquared")
    _, cycle = numbers("cycle")
    _, name_id = numbers("nameIdentifier")
    _, unique_id = numbers("uniqueIdentifier")

    def strings(member: str) -> list[str]:
        return _string_vectors(reader, f"{container}Aux.{member}")

    names, streams, descriptions = strings("name"), strings("inputStream"), strings("description")
    n = int(offsets[-1])
    if not len(names) == len(streams) == len(descriptions) == n:
        from afkit.exceptions import DecodeError

        raise DecodeError(
            f"{container}: the members disagree on the number of bookkeepers", file=reader.file
        )
    incomplete = container.startswith("Incomplete")
    return [
        CutBookkeeper(
            container,
            index,
            incomplete,
            names[k],
            descriptions[k],
            streams[k],
            int(cycle[k]),
            int(accepted[k]),
            float(sumw[k]),
            float(sumw2[k]),
            int(name_id[k]),
            int(unique_id[k]),
        )
        for k in range(n)
    ]


def _string_vectors(reader: BranchReader, branch: str) -> list[str]:
    """Every string of a ``std::vector<std::string>`` branch over the reader's entries,
    decoded from the entries' bytes (byte count, version, count, then the strings) —
    uproot's object reading takes ~50 ms per branch, and a file has hundreds of them."""
    from afkit.io.physlite.streamers import ByteCursor

    data, offsets = reader.raw(branch)
    out: list[str] = []
    for entry in range(len(offsets) - 1):
        raw = bytes(data[offsets[entry] : offsets[entry + 1]])
        cursor = ByteCursor(raw, f"{branch} in {reader.file}")
        out += cursor.string_vector()
        cursor.expect(len(raw))
    return out


def weight_names(source: Any) -> list[str]:
    """The generator-weight names of the file (``TruthMetaData.weightNames`` of its first
    truth-metadata object); ``[]`` where the file has none (data, files without MetaData)."""
    path = normalize_source(source)
    try:
        reader = _metadata_reader(path)
    except MissingTreeError:
        return []
    branch = "TruthMetaDataAux.weightNames"
    if not reader.handle.has(branch):
        return []
    entries = reader.objects(branch).tolist()
    for entry in entries:
        for names in entry:
            if names:
                return [str(n) for n in names]
    return []
