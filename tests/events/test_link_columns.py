"""Fields through links in the column view equal the event model's, for every link target of
the real files — sparse decorations (absent from some events) included.

The column view resolves a link against the target field's own per-event counts (it reads
that field and nothing else); the event model resolves it against the target collection's
object counts.  Both must give the same value, or NaN, for every link.
"""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pytest

import afkit
from afkit.events import columns
from afkit.events.linking import target_fields
from afkit.io.filespec import clear_open_files
from afkit.io.physlite.schema import link_candidates, resolved_link_name
from afkit.io.reader import BranchReader


def test_every_linked_field_equals_the_event_model(physlite: Path) -> None:
    events = afkit.read(physlite)
    schema = events.source.schema
    checked = 0
    for name, spec in schema.collections.items():
        if spec.single:
            continue
        for field in spec.fields.values():
            if field.kind != "link" or field.link_class is None:
                continue
            link = resolved_link_name(field.name)
            candidates = link_candidates(field.link_class, schema)
            for target in target_fields(schema, candidates, True):
                fast = columns(events, {name: [f"{link}.{target}"]})[name][f"{link}.{target}"]
                model = ak.fill_none(events[name][link][target], np.nan)
                expected = ak.to_numpy(ak.flatten(model)).astype(np.float64)
                assert np.array_equal(fast, expected, equal_nan=True), (name, link, target)
                checked += 1
    assert checked > 200


SPARSE = "BTagging_AntiKt4EMPFlowAuxDyn.DL1dv01_pb"


def test_a_decoration_some_events_lack_gives_nan_there_in_both(
    r24: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stored decoration is emptied in every third event (as xAOD writes a variable an
    event never set): both paths give NaN for the links into those events, the stored value
    elsewhere — the column view without reading any other BTagging branch."""
    real = BranchReader.jagged

    def sparse(self: BranchReader, name: str) -> tuple[np.ndarray, np.ndarray]:
        offsets, content = real(self, name)
        if name != SPARSE:
            return offsets, content
        counts = np.diff(offsets)
        absent = np.arange(len(counts)) % 3 == 0
        keep = np.repeat(~absent, counts)
        thinned = np.zeros_like(offsets)
        np.cumsum(np.where(absent, 0, counts), out=thinned[1:])
        return thinned, content[keep]

    full = columns(afkit.read(r24), {"Jets": ["btagging.DL1dv01_pb"]}).Jets
    jets_per_event = np.diff(full.offsets)
    clear_open_files()
    monkeypatch.setattr(BranchReader, "jagged", sparse)
    events = afkit.read(r24)
    fast = columns(events, {"Jets": ["btagging.DL1dv01_pb"]}).Jets["btagging.DL1dv01_pb"]
    read = list(events.source.reader.branches_read)
    model = ak.fill_none(afkit.read(r24).Jets.btagging.DL1dv01_pb, np.nan)
    expected = ak.to_numpy(ak.flatten(model)).astype(np.float64)
    assert np.array_equal(fast, expected, equal_nan=True)
    lacking = np.repeat(np.arange(len(jets_per_event)) % 3 == 0, jets_per_event)
    assert np.all(np.isnan(fast[lacking]))
    stored = full["btagging.DL1dv01_pb"]
    assert np.array_equal(fast[~lacking], stored[~lacking], equal_nan=True)
    assert np.count_nonzero(~np.isnan(fast[~lacking])) > 10
    assert [b for b in read if b.startswith("BTagging")] == [SPARSE]


def test_distinct_keys_equal_numpys_unique() -> None:
    from afkit.events.linking import _distinct

    rng = np.random.default_rng(5)
    cases = [np.array([], np.uint32), np.full(50, 7, np.uint32), np.zeros(9, np.uint32)]
    cases += [rng.choice(np.array(c, np.uint32), 200) for c in ([0, 9], [3, 9], [0, 3, 9])]
    for keys in cases:
        assert _distinct(keys) == set(np.unique(keys).tolist())
