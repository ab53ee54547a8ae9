"""Random but physics-shaped AGC columns (no file needed): inputs for backend comparisons."""

from __future__ import annotations

import numpy as np

from afkit.agc.columns import ChunkColumns


def _offsets(counts: np.ndarray) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)


def random_columns(n_events: int, seed: int = 0, *, mc: bool = True) -> ChunkColumns:
    """Electrons, muons and jets with AGC-like spectra; ~2 % of jets without a b-tag link."""
    rng = np.random.default_rng(seed)
    n_el, n_mu = rng.poisson(0.6, n_events), rng.poisson(0.6, n_events)
    n_jet = rng.poisson(6.0, n_events)
    e, m, j = int(n_el.sum()), int(n_mu.sum()), int(n_jet.sum())
    probabilities = rng.dirichlet([0.4, 0.3, 1.0], j)
    probabilities[rng.uniform(0, 1, j) < 0.02] = np.nan  # links that cannot be followed
    return ChunkColumns(
        event_number=rng.integers(0, 2**63, n_events, dtype=np.uint64),
        mc_weight=rng.normal(1.0, 0.2, n_events) if mc else None,
        electron_offsets=_offsets(n_el),
        electron_pt=20 + rng.exponential(30, e),
        electron_eta=rng.uniform(-3, 3, e),
        electron_tight=rng.uniform(0, 1, e) < 0.8,
        muon_offsets=_offsets(n_mu),
        muon_pt=20 + rng.exponential(30, m),
        muon_eta=rng.uniform(-3, 3, m),
        muon_quality=rng.integers(0, 4, m),
        jet_offsets=_offsets(n_jet),
        jet_pt=np.sort(20 + rng.exponential(40, j))[::-1].copy(),
        jet_eta=rng.uniform(-3, 3, j),
        jet_phi=rng.uniform(-np.pi, np.pi, j),
        jet_m=rng.uniform(2, 20, j),
        jet_jvt=rng.uniform(0, 1, j) < 0.9,
        jet_pb=probabilities[:, 0].copy(),
        jet_pc=probabilities[:, 1].copy(),
        jet_pu=probabilities[:, 2].copy(),
    )
