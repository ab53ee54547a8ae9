"""Pieces of the AGC compute stage checked on their own."""

from __future__ import annotations

import types

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from afkit.agc import spec
from afkit.agc.columns import ChunkColumns
from afkit.agc.compute import candidates, jet_owner


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 6), max_size=30))
def test_jet_owner_is_the_same_on_both_paths(counts: list[int]) -> None:
    """NumPy repeats each event number; the device path (CuPy has no repeat by counts)
    binary-searches the offsets: the same owners either way."""
    offsets = np.concatenate([[0], np.cumsum(counts, dtype=np.int64)]).astype(np.int64)
    like_cupy = types.SimpleNamespace(
        searchsorted=np.searchsorted, arange=np.arange, int64=np.int64
    )
    expected = [event for event, n in enumerate(counts) for _ in range(n)]
    assert jet_owner(offsets, np).tolist() == expected
    assert jet_owner(offsets, like_cupy).tolist() == expected


def test_candidates_keep_exactly_the_events_a_region_can_take() -> None:
    """One lepton and four jets passing |eta| and NNJvt: the events kept, with all their
    jets in order (the smearing is keyed by position in the full container)."""
    rng = np.random.default_rng(3)
    n = 400
    n_jets = rng.integers(0, 9, n)
    n_el, n_mu = rng.integers(0, 3, n), rng.integers(0, 2, n)

    def offsets(counts: np.ndarray) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)

    jets = int(n_jets.sum())
    columns = ChunkColumns(
        event_number=np.arange(n, dtype=np.uint64),
        mc_weight=rng.normal(1, 0.1, n),
        electron_offsets=offsets(n_el),
        electron_pt=rng.uniform(10, 60, int(n_el.sum())),
        electron_eta=rng.uniform(-3, 3, int(n_el.sum())),
        electron_tight=rng.uniform(size=int(n_el.sum())) < 0.8,
        muon_offsets=offsets(n_mu),
        muon_pt=rng.uniform(10, 60, int(n_mu.sum())),
        muon_eta=rng.uniform(-3, 3, int(n_mu.sum())),
        muon_quality=rng.integers(0, 3, int(n_mu.sum())),
        jet_offsets=offsets(n_jets),
        jet_pt=rng.uniform(10, 100, jets),
        jet_eta=rng.uniform(-3.5, 3.5, jets),
        jet_phi=rng.uniform(-3, 3, jets),
        jet_m=rng.uniform(0, 20, jets),
        jet_jvt=rng.uniform(size=jets) < 0.9,
        jet_pb=rng.uniform(size=jets),
        jet_pc=rng.uniform(size=jets),
        jet_pu=rng.uniform(size=jets),
    )
    weight = columns.mc_weight * 2.0
    got = candidates(columns, weight, np)
    kept, jet_rows = [], []
    for event in range(n):
        lo, hi = columns.jet_offsets[event], columns.jet_offsets[event + 1]
        good_jets = (np.abs(columns.jet_eta[lo:hi]) < spec.JET_ABS_ETA_MAX) & columns.jet_jvt[lo:hi]
        e_lo, e_hi = columns.electron_offsets[event], columns.electron_offsets[event + 1]
        m_lo, m_hi = columns.muon_offsets[event], columns.muon_offsets[event + 1]
        leptons = sum(
            pt > spec.ELECTRON_PT_MIN and abs(eta) < spec.ELECTRON_ABS_ETA_MAX and tight
            for pt, eta, tight in zip(
                columns.electron_pt[e_lo:e_hi],
                columns.electron_eta[e_lo:e_hi],
                columns.electron_tight[e_lo:e_hi],
                strict=True,
            )
        ) + sum(
            pt > spec.MUON_PT_MIN
            and abs(eta) < spec.MUON_ABS_ETA_MAX
            and q == spec.MUON_TIGHT_QUALITY
            for pt, eta, q in zip(
                columns.muon_pt[m_lo:m_hi],
                columns.muon_eta[m_lo:m_hi],
                columns.muon_quality[m_lo:m_hi],
                strict=True,
            )
        )
        if leptons == 1 and good_jets.sum() >= spec.MIN_JETS:
            kept.append(event)
            jet_rows.extend(range(lo, hi))
    assert 0 < len(kept) < n
    assert got.event_number.tolist() == kept
    assert np.array_equal(got.weight, weight[kept])
    assert np.array_equal(got.jet_pt, columns.jet_pt[jet_rows])
    assert np.array_equal(got.jet_pu, columns.jet_pu[jet_rows])
    assert np.array_equal(np.diff(got.jet_offsets), n_jets[kept])
    assert got.jet_event.tolist() == [i for i, e in enumerate(kept) for _ in range(n_jets[e])]
