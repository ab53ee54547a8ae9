"""PHYSLITE-layout files written by ROOT itself: many baskets, wide trees, exact values.

ROOT is the independent writer here and the NumPy arrays it was filled from are the oracle.
The development files have one basket per branch; these have dozens.
"""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot

import afkit
from afkit.io.filespec import clear_open_files

pytest.importorskip("ROOT", reason="ROOT not installed (pip install root; Linux x86-64 wheels)")

from tests.root_writer import jet_arrays, write_jets_file

N_EVENTS = 60_000


@pytest.fixture(scope="module")
def root_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rootwritten") / "physlite_jets.root"
    write_jets_file(path, N_EVENTS, seed=3, n_extra=30)
    return path


def test_values_equal_what_root_was_given(root_file: Path) -> None:
    expected = jet_arrays(N_EVENTS, seed=3)
    tree = uproot.open(root_file)["CollectionTree"]
    assert tree["AnalysisJetsAuxDyn.pt"].num_baskets > 5
    events = afkit.read(root_file, units="MeV")
    assert np.array_equal(ak.to_numpy(ak.num(events.Jets.pt)), np.diff(expected["offsets"]))
    for field in ("pt", "eta", "phi", "m"):
        assert np.array_equal(ak.to_numpy(ak.flatten(events.Jets[field])), expected[field]), field
    gev = afkit.read(root_file)
    assert np.array_equal(
        ak.to_numpy(ak.flatten(gev.Jets.pt)), expected["pt"].astype(np.float64) / 1000.0
    )
    assert np.array_equal(ak.to_numpy(events.EventInfo.eventNumber), np.arange(N_EVENTS))


def test_chunks_across_basket_boundaries(root_file: Path) -> None:
    expected = jet_arrays(N_EVENTS, seed=3)
    starts = [0, 1, 4_999, 17_321, N_EVENTS - 3]
    for start in starts:
        stop = min(start + 12_345, N_EVENTS)
        chunk = afkit.read(root_file, entry_start=start, entry_stop=stop, units="MeV")
        a, b = expected["offsets"][start], expected["offsets"][stop]
        assert np.array_equal(ak.to_numpy(ak.flatten(chunk.Jets.eta)), expected["eta"][a:b])


def test_bytes_read_on_a_wide_physlite_layout_file(root_file: Path) -> None:
    clear_open_files()
    tree = uproot.open(root_file)["CollectionTree"]
    assert len(tree.keys()) >= 35
    events = afkit.read(root_file)
    before = events.bytes_read
    jets = events.Jets
    for field in ("pt", "eta", "phi", "m"):
        ak.to_numpy(ak.flatten(jets[field]))
    touched = [f"AnalysisJetsAuxDyn.{f}" for f in ("pt", "eta", "phi", "m")]
    assert sorted(events.branches_read) == sorted(touched)
    compressed = sum(int(tree[b].compressed_bytes) for b in touched)
    assert events.bytes_read - before <= 1.1 * compressed
    # the untouched 31 branches hold most of the file
    assert compressed < 0.3 * sum(int(b.compressed_bytes) for b in tree.branches)
