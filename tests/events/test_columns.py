"""The public column view: equal values on both of its paths, and clear errors."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pytest

import afkit
from afkit.events import columns

REQUEST = {
    "Jets": ["pt", "eta", "phi", "m", "NNJvtPass", "btagging.DL1dv01_pb"],
    "Electrons": ["pt", "charge"],
    "Muons": ["pt", "m"],
    "EventInfo": ["eventNumber", "mcEventWeights[0]"],
}


def test_whole_chunk_and_derived_events_give_equal_columns(r24: Path) -> None:
    events = afkit.read(r24, entry_start=3, entry_stop=45)
    fast = columns(events, REQUEST)
    slow = columns(events[:], REQUEST)
    assert fast.n_events == slow.n_events == 42
    for name, fields in REQUEST.items():
        a, b = fast[name], slow[name]
        if a.offsets is None:
            assert b.offsets is None
        else:
            assert np.array_equal(a.offsets, b.offsets)
        for f in fields:
            assert a[f].dtype == b[f].dtype, (name, f)
            assert np.array_equal(a[f], b[f], equal_nan=a[f].dtype.kind == "f"), (name, f)


def test_columns_equal_the_event_model(r24: Path) -> None:
    events = afkit.read(r24)
    cols = columns(events, REQUEST)
    jets = events.Jets
    assert np.array_equal(cols.Jets.counts, ak.to_numpy(ak.num(jets)))
    assert np.array_equal(cols.Jets.pt, ak.to_numpy(ak.flatten(jets.pt)))
    linked = ak.to_numpy(ak.flatten(ak.fill_none(jets.btagging.DL1dv01_pb, np.nan)))
    assert np.array_equal(cols.Jets["btagging.DL1dv01_pb"], linked, equal_nan=True)
    weights = ak.to_numpy(events.EventInfo.mcEventWeights[:, 0])
    assert np.array_equal(cols.EventInfo["mcEventWeights[0]"], weights)
    assert np.all(cols.Muons.m == 0.1056583755)  # the PDG mass the model gives muons


def test_nanoaod_columns(nano: Path) -> None:
    events = afkit.read(nano)
    cols = columns(events, {"Jet": ["pt", "eta"], "MET": ["pt"]})
    assert np.array_equal(cols.Jet.pt, ak.to_numpy(ak.flatten(events.Jet.pt)))
    assert np.array_equal(cols.MET.pt, ak.to_numpy(events.MET.pt))


def test_bad_requests_name_what_exists(r24: Path) -> None:
    events = afkit.read(r24)
    with pytest.raises(afkit.MissingCollectionError, match="Jets"):
        columns(events, {"Jet": ["pt"]})
    with pytest.raises(afkit.MissingBranchError, match="'pt'"):
        columns(events, {"Jets": ["ptt"]})
    with pytest.raises(afkit.MissingBranchError, match="btagging"):
        columns(events, {"Jets": ["btaging.DL1dv01_pb"]})
    with pytest.raises(afkit.ArgumentTypeError, match=r"mcEventWeights\[0\]"):
        columns(events, {"EventInfo": ["mcEventWeights"]})
    with pytest.raises(afkit.ArgumentTypeError, match="list of names"):
        columns(events, {"Jets": "pt"})
    with pytest.raises(afkit.DecodeError, match="no element 500"):
        columns(events, {"EventInfo": ["mcEventWeights[500]"]})
    with pytest.raises(afkit.MissingBranchError):
        columns(events, {"Jets": ["pt"]}).Jets.eta  # noqa: B018


def test_events_on_a_gpu_need_cupy(r24: Path) -> None:
    import importlib.util

    if importlib.util.find_spec("cupy") is None:
        with pytest.raises(afkit.MissingDependencyError, match=r"afkit\[cuda\]"):
            afkit.read(r24, backend="cuda")
        with pytest.raises(afkit.MissingDependencyError, match=r"afkit\[cuda\]"):
            afkit.read(r24).to("cuda")
    else:
        pytest.skip("CuPy is installed: tests/gpu checks the cuda backend")
    with pytest.raises(afkit.ConfigError, match="backend"):
        afkit.read(r24, backend="tpu")
