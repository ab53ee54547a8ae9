"""The AGC columns of a whole chunk come from its source directly; they must equal, value
for value, what the event model's fields give (the path every other array takes)."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import numpy as np

import afkit
from afkit.agc.columns import ChunkColumns
from afkit.events.columns import _whole_chunk_source
from afkit.exceptions import MissingBranchError
from afkit.fileset import Fileset


def _assert_equal(fast: ChunkColumns, model: ChunkColumns) -> None:
    for f in fields(ChunkColumns):
        a, b = getattr(fast, f.name), getattr(model, f.name)
        if a is None or b is None:
            assert a is None, f.name
            assert b is None, f.name
            continue
        assert a.dtype == b.dtype, f.name
        assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), f.name


def test_source_columns_equal_the_event_model_fields(agc_datasets: dict[float, Fileset]) -> None:
    fileset = agc_datasets[1.0]
    for sample in fileset.samples.values():
        path = fileset.resolve(sample.files[0])
        events = afkit.read(path, entry_start=100, entry_stop=2100)
        assert _whole_chunk_source(events) is not None
        fast = ChunkColumns.from_events(events, mc=not sample.is_data)
        derived = events[:]  # an array derived from the chunk: read through the model
        assert _whole_chunk_source(derived) is None
        model = ChunkColumns.from_events(derived, mc=not sample.is_data)
        _assert_equal(fast, model)
        assert fast.n_events == 2000


def test_real_physlite_files_agree_on_both_paths(physlite: Path) -> None:
    """r24 has every AGC field: equal columns; r21 lacks DL1dv01: the same error."""
    events = afkit.read(physlite, entry_stop=40)
    outcomes: list[object] = []
    for chunk in (events, events[:]):
        try:
            outcomes.append(ChunkColumns.from_events(chunk, mc=True))
        except MissingBranchError as err:
            outcomes.append(type(err))
    if isinstance(outcomes[0], ChunkColumns):
        assert isinstance(outcomes[1], ChunkColumns)
        _assert_equal(outcomes[0], outcomes[1])
        assert outcomes[0].n_jets > 0
    else:
        assert outcomes[0] is outcomes[1] is MissingBranchError
