"""The AGC's ML step written the way coffea users write it: the peer of afkit's assignment.

Per event the permutations of its first ≤ 6 jets as a jagged index array (the canonical
tables of spec §8.2, built with NumPy rather than a Python list per event, which would only
slow the peer), the jets of each role gathered with awkward's jagged indexing, the 20
features with awkward and ``vector`` (Momentum4D sums, ``.mass``, ``.pt``, ``.deltaR``),
flattened into one NumPy matrix, scored with ``xgboost.Booster.inplace_predict`` (margins,
each parity's rows by the other parity's model), unflattened and the first ``ak.argmax`` per
event taken.  This is the AGC reference's ``get_features`` + ``predict`` + ``argmax``
structure.  ``vector`` computes E and the masses in its own order, so a rare event may choose
another permutation than afkit's exact §8 arithmetic: callers report the agreement.
"""

from __future__ import annotations

import itertools
from typing import Any

import awkward as ak
import numpy as np
import vector

vector.register_awkward()

MAX_JETS = 6


def _permutation_tables() -> dict[int, np.ndarray]:
    """``P(n)`` of spec §8.2: (w1, w2, bh, bl) distinct, w1 > w2, sorted."""
    return {
        n: np.array(sorted(p for p in itertools.permutations(range(n), 4) if p[0] > p[1]))
        for n in range(4, MAX_JETS + 1)
    }


TABLES = _permutation_tables()


def permutation_indices(n_jets: np.ndarray) -> ak.Array:
    """Jagged ``(events, permutations, 4)`` jet indices; no permutations below 4 jets."""
    n = np.minimum(n_jets, MAX_JETS)
    counts = np.array([len(TABLES[k]) if k >= 4 else 0 for k in range(MAX_JETS + 1)])[n]
    stacked = np.concatenate([TABLES[4], TABLES[5], TABLES[6]])
    first = np.array([0, 0, 0, 0, 0, 12, 72])  # where P(n) starts in ``stacked``
    starts = np.repeat(first[n], counts)
    local = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    rows = stacked[starts + local]
    return ak.unflatten(ak.Array(rows), counts)


def features(jets: ak.Array, lepton: ak.Array) -> tuple[np.ndarray, np.ndarray]:
    """The 20 features of every permutation, ``(rows, 20)``, and the rows per event.

    ``jets``: Momentum4D records (pt, eta, phi, mass, btag, ntrk) per event; ``lepton``:
    one Momentum4D record per event.
    """
    jets = jets[:, :MAX_JETS]
    perms = permutation_indices(ak.to_numpy(ak.num(jets)))
    w1, w2, bh, bl = (jets[perms[..., i]] for i in range(4))
    w = w1 + w2
    top = w + bh
    columns = [
        lepton.deltaR(bl),
        w1.deltaR(w2),
        w1.deltaR(bh),
        w2.deltaR(bh),
        (lepton + bl).mass,
        w.mass,
        top.mass,
        top.pt,
        w1.pt,
        w2.pt,
        bh.pt,
        bl.pt,
        w1.btag,
        w2.btag,
        bh.btag,
        bl.btag,
        w1.ntrk,
        w2.ntrk,
        bh.ntrk,
        bl.ntrk,
    ]
    matrix = np.stack([ak.to_numpy(ak.flatten(c)) for c in columns], axis=1)
    return matrix, ak.to_numpy(ak.num(perms))


def best_permutation(
    jets: ak.Array, lepton: ak.Array, odd: np.ndarray, boosters: tuple[Any, Any]
) -> tuple[ak.Array, np.ndarray]:
    """Index of the best permutation per event (None below 4 jets) and the chosen rows'
    features ``(events with ≥ 4 jets, 20)``.  ``boosters``: (model_even, model_odd); an
    odd event is scored by model_even and an even one by model_odd (spec §8.4)."""
    matrix, counts = features(jets, lepton)
    row_odd = np.repeat(odd, counts)
    scores = np.empty(len(matrix), np.float32)
    for model, rows in ((boosters[0], row_odd), (boosters[1], ~row_odd)):
        if rows.any():
            scores[rows] = model.inplace_predict(matrix[rows], predict_type="margin")
    per_event = ak.unflatten(scores, counts)
    best = ak.argmax(per_event, axis=1, keepdims=True)
    chosen = ak.drop_none(ak.flatten(ak.unflatten(matrix, counts)[best]))
    return ak.firsts(best), ak.to_numpy(chosen)


def momentum_jets(**columns: ak.Array) -> ak.Array:
    """Jets as Momentum4D records (pt, eta, phi, mass plus btag, ntrk)."""
    return ak.zip(columns, with_name="Momentum4D")
