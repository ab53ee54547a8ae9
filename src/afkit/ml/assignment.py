"""Jet–parton assignment for semileptonic ttbar: every jet permutation scored by a BDT.

For each event, every assignment of its first ≤ 6 jets (file order) to the four partons —
two W-decay quarks ``w1``, ``w2`` (unordered: ``w1 > w2``), the hadronic top's b ``bh`` and
the leptonic top's b ``bl`` — is described by 20 features (:data:`FEATURE_NAMES`: ΔR's,
masses and pT's of the candidate W and tops, and each jet's pT, b-tag discriminant and track
count), scored by a tree ensemble, and the permutation with the largest margin is kept (ties:
the first in the canonical order of :func:`permutations`).  Up to 180 permutations per event
are built, scored and compared inside one kernel, Numba on the CPU or CUDA on a GPU: nothing
per permutation is materialised.  The definitions are those of the AGC (AGC PHYSLITE spec
§8.2-8.5), in float64 from the inputs, the BDT input rounded to float32.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

import numpy as np

import afkit.kernels as kernels
from afkit.exceptions import ArgumentTypeError, ConfigError
from afkit.ml.inference import check_engine, margins
from afkit.ml.model import TreeEnsemble

__all__ = [
    "FEATURE_NAMES",
    "MAX_JETS",
    "MUON_MASS",
    "Assignment",
    "assign_jets",
    "permutation_features",
    "permutations",
]

#: The 20 features of one permutation, in the BDT's column order.
FEATURE_NAMES: tuple[str, ...] = (
    "deltar_leptonbtoplep",
    "deltar_w1w2",
    "deltar_w1btophad",
    "deltar_w2btophad",
    "mass_leptonbtoplep",
    "mass_w1w2",
    "mass_w1w2btophad",
    "pt_w1w2btophad",
    "pt_w1",
    "pt_w2",
    "pt_btophad",
    "pt_btoplep",
    "btag_w1",
    "btag_w2",
    "btag_btophad",
    "btag_btoplep",
    "ntrk_w1",
    "ntrk_w2",
    "ntrk_btophad",
    "ntrk_btoplep",
)
#: Jets after the sixth (file order) take no part.
MAX_JETS = 6
#: Muon mass in GeV (PDG, float64): PHYSLITE stores none.
MUON_MASS = 0.1056583755


@cache
def permutations(n: int) -> np.ndarray:
    """The canonical permutations ``P(n)`` of ``n`` jets (4 ≤ n ≤ 6): every ``(w1, w2, bh,
    bl)`` of distinct indices with ``w1 > w2``, sorted lexicographically; int64 ``(K, 4)``
    with ``K = n! / (2 (n - 4)!)`` (12, 60, 180).  A row's position is the permutation index."""
    if not 4 <= n <= MAX_JETS:
        raise ConfigError(f"permutations are defined for 4 to {MAX_JETS} jets, not {n}")
    rows = sorted(p for p in itertools.permutations(range(n), 4) if p[0] > p[1])
    table = np.array(rows, np.int64)
    table.flags.writeable = False
    return table


@lru_cache(maxsize=1)
def _tables() -> tuple[np.ndarray, np.ndarray]:
    """``P(4)``, ``P(5)``, ``P(6)`` stacked, and where each starts (``first[n - 4]``)."""
    parts = [permutations(n) for n in range(4, MAX_JETS + 1)]
    first = np.zeros(len(parts) + 1, np.int64)
    np.cumsum([len(p) for p in parts], out=first[1:])
    return np.ascontiguousarray(np.concatenate(parts)), first


@dataclass(frozen=True)
class Assignment:
    """The chosen permutation per event (NumPy, or CuPy for GPU inputs).

    ``index``: position in :func:`permutations` ``(min(jets, 6))``, -1 for events with fewer
    than 4 jets; ``margin``: its BDT margin (float32, NaN for those events); ``features``:
    its 20 float64 features, ``(events, 20)`` in :data:`FEATURE_NAMES` order (NaN rows for
    those events).
    """

    index: Any
    margin: Any
    features: Any

    def feature(self, name: str) -> Any:
        """One feature's column by name (e.g. ``"mass_w1w2btophad"``, the ML top mass)."""
        if name not in FEATURE_NAMES:
            from difflib import get_close_matches

            near = get_close_matches(name, FEATURE_NAMES, n=3)
            hint = f"; did you mean {', '.join(near)}?" if near else ""
            raise ConfigError(f"no feature {name!r}{hint}")
        return self.features[:, FEATURE_NAMES.index(name)]

    def jets(self, n_jets: Any) -> Any:
        """The chosen ``(w1, w2, bh, bl)`` jet positions per event, given each event's jet
        count (int64 ``(events, 4)``; -1 rows for events without a permutation)."""
        xp = kernels.array_module(kernels.backend_of(self.index))
        n = xp.minimum(xp.asarray(n_jets), MAX_JETS)
        table, first = (xp.asarray(t) for t in _tables())
        valid = self.index >= 0
        rows = xp.where(valid, first[xp.clip(n - 4, 0, 2)] + self.index, 0)
        return xp.where(valid[:, None], table[rows], -1)


def assign_jets(
    models: TreeEnsemble | Sequence[TreeEnsemble],
    *,
    pt: Any,
    eta: Any,
    phi: Any,
    mass: Any,
    btag: Any,
    ntrk: Any,
    lepton_pt: Any,
    lepton_eta: Any,
    lepton_phi: Any,
    lepton_mass: Any,
    choice: Any = 0,
    offsets: Any = None,
    engine: str = "afkit",
) -> Assignment:
    """Score every jet permutation of every event and keep the best (module docstring).

    Args:
        models: one :class:`TreeEnsemble` of 20 features, or several (e.g. the AGC's two
            parity-crossed models) chosen per event by ``choice``.
        pt, eta, phi, mass, btag, ntrk: the jets taking part, per event in file order
            (GeV): awkward arrays of lists, or flat arrays with ``offsets``.  Missing values
            (a b-tag behind a broken link) are NaN, which the trees treat as missing.
        lepton_pt, lepton_eta, lepton_phi, lepton_mass: the event's one lepton, per event.
        choice: which model scores each event (int per event, or one int for all).
        offsets: int64 list offsets of flat jet arrays (``events + 1``, from 0).
        engine: ``"afkit"`` (one kernel builds, scores and compares the permutations) or
            ``"xgboost"`` (every permutation's features materialised, scored by xgboost's
            predictor, the first best kept in NumPy: the same result, slower; CPU inputs).

    Returns:
        :class:`Assignment`, on the device of the inputs.
    """
    check_engine(engine)
    ensembles = [models] if isinstance(models, TreeEnsemble) else list(models)
    if not ensembles or not all(isinstance(m, TreeEnsemble) for m in ensembles):
        raise ArgumentTypeError("models must be a TreeEnsemble or a sequence of them")
    for model in ensembles:
        if model.n_features != len(FEATURE_NAMES):
            raise ConfigError(
                f"the model {model.source} takes {model.n_features} features; jet "
                f"assignment gives {len(FEATURE_NAMES)} ({', '.join(FEATURE_NAMES[:3])}, ...)"
            )
    jet_offsets, jets, lepton, backend = _inputs(
        offsets, pt, eta, phi, mass, btag, ntrk, lepton_pt, lepton_eta, lepton_phi, lepton_mass
    )
    xp = kernels.array_module(backend)
    n_events = len(jet_offsets) - 1
    which = _choice(choice, n_events, len(ensembles), xp)
    if engine == "xgboost":
        if backend != "cpu":
            raise ConfigError(
                'engine="xgboost" scores materialised permutation rows, built on the CPU; '
                'on a GPU use engine="afkit" (the CUDA kernel materialises nothing)'
            )
        return _assign_by_xgboost(ensembles, jet_offsets, jets, lepton, which)
    tables = _model_tables(ensembles)
    if backend == "cpu":
        device_tables = tables
    else:
        device_tables = tuple(kernels.to_device(t, backend) for t in tables)
    features, index, margin = kernels.best_permutations(
        jet_offsets, tuple(jets), lepton, which, device_tables
    )
    return Assignment(index=index, margin=margin, features=features)


def _assign_by_xgboost(
    ensembles: list[TreeEnsemble],
    jet_offsets: np.ndarray,
    jets: list[np.ndarray],
    lepton: np.ndarray,
    which: np.ndarray,
) -> Assignment:
    """:func:`assign_jets` with xgboost scoring every materialised permutation row."""
    table, first = _tables()
    row_offsets = _row_offsets(jet_offsets, MAX_JETS)
    per_event = np.diff(row_offsets)
    n_events = len(per_event)
    rows = kernels.permutation_rows(
        jet_offsets, tuple(jets), lepton, table, first, MAX_JETS, row_offsets
    )
    row_model = np.repeat(which, per_event)
    scores = np.empty(len(rows), np.float32)
    for m, model in enumerate(ensembles):
        pick = row_model == m
        if pick.any():
            scores[pick] = margins(model, rows[pick], engine="xgboost")
    index = np.full(n_events, -1, np.int64)
    margin = np.full(n_events, np.nan, np.float32)
    features = np.full((n_events, len(FEATURE_NAMES)), np.nan)
    has = per_event > 0
    if has.any():
        starts = row_offsets[:-1][has]
        best = np.maximum.reduceat(scores, starts)
        # the first row reaching its event's maximum (ties: the smallest index, spec §8.5)
        event_of_row = np.repeat(np.arange(n_events), per_event)
        reaching = np.flatnonzero(scores == np.repeat(best, per_event[has]))
        firsts = np.unique(event_of_row[reaching], return_index=True)[1]
        chosen = reaching[firsts]
        index[has] = chosen - starts
        margin[has] = scores[chosen]
        features[has] = rows[chosen]
    return Assignment(index=index, margin=margin, features=features)


def permutation_features(
    *,
    pt: Any,
    eta: Any,
    phi: Any,
    mass: Any,
    btag: Any,
    ntrk: Any,
    lepton_pt: Any,
    lepton_eta: Any,
    lepton_phi: Any,
    lepton_mass: Any,
    offsets: Any = None,
    max_jets: int = MAX_JETS,
) -> tuple[np.ndarray, np.ndarray]:
    """The 20 features of every permutation of each event's first ``min(jets, max_jets)``
    jets, in canonical order (the rows a BDT is trained on; ``max_jets=4``: the AGC's 12 rows
    per event).  Arguments as :func:`assign_jets`; CPU arrays.

    Returns:
        ``(features, row_offsets)``: float64 ``(rows, 20)``, and int64 ``events + 1`` offsets
        of each event's rows (none for events with fewer than 4 jets).
    """
    if not 4 <= max_jets <= MAX_JETS:
        raise ConfigError(f"max_jets must be 4 to {MAX_JETS}, not {max_jets}")
    jet_offsets, jets, lepton, _ = _inputs(
        offsets, pt, eta, phi, mass, btag, ntrk, lepton_pt, lepton_eta, lepton_phi, lepton_mass
    )
    table, first = _tables()
    row_offsets = _row_offsets(kernels.to_host(jet_offsets), max_jets)
    out = kernels.permutation_rows(
        jet_offsets, tuple(jets), lepton, table, first, max_jets, row_offsets
    )
    return out, row_offsets


def _row_offsets(jet_offsets: np.ndarray, max_jets: int) -> np.ndarray:
    """Where each event's permutation rows start: ``|P(min(jets, max_jets))|`` rows per
    event (none below 4 jets), as ``events + 1`` int64 offsets."""
    _, first = _tables()
    n = np.minimum(np.diff(jet_offsets), max_jets)
    per_event = np.where(n >= 4, first[np.clip(n - 3, 1, 3)] - first[np.clip(n - 4, 0, 2)], 0)
    row_offsets = np.zeros(len(n) + 1, np.int64)
    np.cumsum(per_event, out=row_offsets[1:])
    return row_offsets


def _inputs(
    offsets: Any,
    pt: Any,
    eta: Any,
    phi: Any,
    mass: Any,
    btag: Any,
    ntrk: Any,
    lepton_pt: Any,
    lepton_eta: Any,
    lepton_phi: Any,
    lepton_mass: Any,
) -> tuple[Any, list[Any], Any, str]:
    """Jet offsets, the six jet columns, the (events, 4) lepton table, and the backend."""
    jet_offsets, jets = _jet_columns(
        offsets, pt=pt, eta=eta, phi=phi, mass=mass, btag=btag, ntrk=ntrk
    )
    backend = kernels.backend_of(jet_offsets, *jets)
    xp = kernels.array_module(backend)
    n_events = len(jet_offsets) - 1
    lepton = xp.stack(
        [
            _per_event(v, n_events, xp, name)
            for v, name in (
                (lepton_pt, "lepton_pt"),
                (lepton_eta, "lepton_eta"),
                (lepton_phi, "lepton_phi"),
                (lepton_mass, "lepton_mass"),
            )
        ],
        axis=1,
    )
    return jet_offsets, jets, lepton, backend


def _jet_columns(offsets: Any, **named: Any) -> tuple[Any, list[Any]]:
    if offsets is None:
        if not all(_is_awkward(v) for v in named.values()):
            raise ArgumentTypeError(
                "jet columns are awkward arrays of lists, or flat arrays given with offsets="
            )
        lists = {k: kernels.jagged(v, k, dtype=np.float64) for k, v in named.items()}
        first = lists["pt"]
        for k, v in lists.items():
            if len(v.offsets) != len(first.offsets) or bool((v.offsets != first.offsets).any()):
                raise ConfigError(f"jet column {k!r} has other list lengths than 'pt'")
        xp = kernels.array_module(kernels.backend_of(first.offsets))
        columns = []
        for v in lists.values():
            content = xp.ascontiguousarray(v.content, dtype=np.float64)
            if v.valid is not None:
                content = xp.where(v.valid, content, np.nan)
            columns.append(content)
        return xp.ascontiguousarray(first.offsets, dtype=np.int64), columns
    xp = kernels.array_module(kernels.backend_of(offsets))
    offsets = xp.ascontiguousarray(offsets, dtype=np.int64)
    columns = []
    for k, v in named.items():
        column = xp.ascontiguousarray(v, dtype=np.float64)
        if column.ndim != 1 or len(column) != int(offsets[-1]):
            raise ConfigError(
                f"jet column {k!r} has {len(column)} values; offsets end at {int(offsets[-1])}"
            )
        columns.append(column)
    return offsets, columns


def _is_awkward(value: Any) -> bool:
    return type(value).__module__.startswith("awkward")


def _per_event(value: Any, n_events: int, xp: Any, name: str) -> Any:
    if _is_awkward(value):
        import awkward as ak

        value = ak.to_cupy(value) if ak.backend(value) == "cuda" else ak.to_numpy(value)
    column = xp.ascontiguousarray(value, dtype=np.float64)
    if column.shape != (n_events,):
        raise ConfigError(f"{name} must have one value per event ({n_events}), not {column.shape}")
    return column


def _choice(choice: Any, n_events: int, n_models: int, xp: Any) -> Any:
    if np.isscalar(choice):
        which = xp.full(n_events, int(choice), np.int64)  # type: ignore[arg-type]
    else:
        which = xp.ascontiguousarray(choice, dtype=np.int64)
    if which.shape != (n_events,):
        raise ConfigError(f"choice must be one model index per event ({n_events})")
    if n_events and (int(which.min()) < 0 or int(which.max()) >= n_models):
        raise ConfigError(f"choice must index the {n_models} model(s): 0 to {n_models - 1}")
    return which


def _model_tables(ensembles: list[TreeEnsemble]) -> tuple[np.ndarray, ...]:
    """The permutation tables and every model's nodes in one pool (host arrays)."""
    table, first = _tables()
    node_start = np.cumsum([0] + [m.n_nodes for m in ensembles])
    tree_first = np.cumsum([0] + [m.n_trees for m in ensembles]).astype(np.int64)

    def shifted(a: np.ndarray, by: int) -> np.ndarray:
        return np.where(a >= 0, a + by, -1)

    owned = list(zip(ensembles, node_start[:-1], strict=True))
    roots = np.concatenate([m.roots + s for m, s in owned]).astype(np.int32)
    left = np.concatenate([shifted(m.left, s) for m, s in owned])
    right = np.concatenate([shifted(m.right, s) for m, s in owned])
    return (
        table,
        first,
        roots,
        tree_first,
        left.astype(np.int32),
        right.astype(np.int32),
        np.concatenate([m.feature for m in ensembles]).astype(np.int32),
        np.concatenate([m.threshold for m in ensembles]).astype(np.float32),
        np.concatenate([m.default_left for m in ensembles]).astype(np.uint8),
        np.array([m.base_margin for m in ensembles], np.float32),
    )
