"""The AGC's ML step (spec §8): jet–parton assignment by a BDT in every 4j2b event.

For each kinematic hypothesis of a chunk (nominal, pT scale, pT resolution) the 4j2b events'
selected jets (file order, at most six) and their one lepton go through
:func:`afkit.ml.assign_jets` — every permutation scored by the parity-crossed model (an event
with even ``eventNumber`` is scored by the model trained on odd ones, and vice versa) — and
the best permutation's 20 features fill 20 histograms, for every variation that fills 4j2b.
The two models ship with afkit (``afkit/agc/models``); :mod:`afkit.agc.training` makes them.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from afkit.agc import spec
from afkit.histograms import WeightedCategoryHistogram
from afkit.ml import TreeEnsemble, load_xgboost
from afkit.ml.assignment import assign_jets, permutation_features

#: The shipped model files: trained on even / odd eventNumber (spec §8.4).
MODEL_FILES = ("model_even.json", "model_odd.json")


@lru_cache(maxsize=1)
def shipped_models() -> tuple[TreeEnsemble, TreeEnsemble]:
    """``(model_even, model_odd)`` from the installed package."""
    folder = resources.files("afkit.agc") / "models"
    even, odd = (load_xgboost(str(folder / name)) for name in MODEL_FILES)
    return even, odd


def model_choice(event_number: Any, xp: Any) -> Any:
    """Index into ``(model_even, model_odd)`` per event: even events -> model_odd (1)."""
    return xp.where(event_number % 2 == 0, 1, 0).astype(np.int64)


def chosen_jets(events: Any, selection: Any, xp: Any) -> tuple[Any, Any]:
    """The jets taking part (selected jets of 4j2b events) and their list offsets: what
    :func:`afkit.agc.compute.select` found for the trijet search, not computed again."""
    return selection.jets_4j2b, selection.offsets_4j2b


def assigned_features(
    events: Any,
    selection: Any,
    discriminant: Any,
    models: tuple[TreeEnsemble, ...],
    xp: Any,
    engine: str = "afkit",
) -> Any:
    """``(events, 20)`` float64: the chosen permutation's features of each 4j2b event of
    ``selection`` (NaN rows elsewhere)."""
    jets, offsets = chosen_jets(events, selection, xp)
    lepton = events.lepton
    assignment = assign_jets(
        models,
        pt=selection.jet_pt[jets],
        eta=events.jet_eta[jets],
        phi=events.jet_phi[jets],
        mass=events.jet_m[jets],
        btag=discriminant[jets],
        ntrk=events.jet_ntrk[jets],
        offsets=offsets,
        lepton_pt=lepton[:, 0],
        lepton_eta=lepton[:, 1],
        lepton_phi=lepton[:, 2],
        lepton_mass=lepton[:, 3],
        choice=model_choice(events.event_number, xp),
        engine=engine,
    )
    return assignment.features


def new_ml_histograms(backend: str = "cpu") -> dict[str, WeightedCategoryHistogram]:
    """The 20 empty ML histograms (spec §8.6), keyed by feature name."""
    return {
        name: WeightedCategoryHistogram(
            spec.ML_NBINS,
            lo,
            hi,
            list(spec.PROCESSES),
            list(spec.VARIATIONS),
            name="observable",
            label=f"{name}: {label}",
            backend=backend,
        )
        for name, (lo, hi), label in zip(
            spec.ML_FEATURES, spec.ML_RANGES, spec.ML_LABELS, strict=True
        )
    }


def fill_ml(
    histograms: dict[str, WeightedCategoryHistogram],
    process: str,
    rows: list[tuple[str, Any, Any]],
    events: Any,
    discriminant: Any,
    models: tuple[TreeEnsemble, ...],
    xp: Any,
    engine: str = "afkit",
) -> None:
    """Fill the ML histograms for every ``(variation, selection, weight)`` row: features
    once per distinct selection (weight variations share the nominal one)."""
    features: dict[int, Any] = {}
    for _, selection, _ in rows:
        if id(selection) not in features:
            features[id(selection)] = assigned_features(
                events, selection, discriminant, models, xp, engine
            )
    names = [name for name, _, _ in rows]
    weights = xp.stack([w for _, _, w in rows])
    masks = xp.stack([s.regions["4j2b"] for _, s, _ in rows])
    for i, feature in enumerate(spec.ML_FEATURES):
        values = xp.stack([features[id(s)][:, i] for _, s, _ in rows])
        histograms[feature].fill(process, names, values, weights, masks)


def training_rows(
    events: Any, nominal: Any, discriminant: Any, xp: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Spec §8.8's training rows of one chunk's candidate events: for each 4j2b event whose
    first four selected jets carry the labels {24, 24, 6, -6}, the 12 permutations of those
    four jets (canonical order), target 1 for the one labelled (24, 24, 6, -6).

    Returns ``(rows (12 k, 20), target (12 k), event_number (k))``.
    """
    jets, offsets = chosen_jets(events, nominal, xp)
    labels = events.jet_label[jets]
    counts = np.diff(offsets)
    first = offsets[:-1]
    has_four = counts >= 4
    trainable = np.zeros(len(counts), bool)
    if has_four.any():
        four = np.stack([labels[first[has_four] + j] for j in range(4)], axis=1)
        trainable[has_four] = (np.sort(four, axis=1) == [-6, 6, 24, 24]).all(axis=1)
    keep = trainable[np.repeat(np.arange(len(counts)), counts)]
    # only the first four jets of each trainable event
    position = np.arange(int(offsets[-1])) - np.repeat(first, counts)
    keep &= position < 4
    kept_offsets = np.zeros(len(counts) + 1, np.int64)
    np.cumsum(np.where(trainable, 4, 0), out=kept_offsets[1:])
    lepton = events.lepton
    rows, row_offsets = permutation_features(
        pt=nominal.jet_pt[jets][keep],
        eta=events.jet_eta[jets][keep],
        phi=events.jet_phi[jets][keep],
        mass=events.jet_m[jets][keep],
        btag=discriminant[jets][keep],
        ntrk=events.jet_ntrk[jets][keep],
        offsets=kept_offsets,
        lepton_pt=lepton[:, 0],
        lepton_eta=lepton[:, 1],
        lepton_phi=lepton[:, 2],
        lepton_mass=lepton[:, 3],
        max_jets=4,
    )
    from afkit.ml.assignment import permutations

    table = permutations(4)
    kept_labels = labels[keep].reshape(-1, 4)
    assigned = kept_labels[:, table]  # (events, 12, 4): the labels in (w1, w2, bh, bl)
    target = (assigned == [24, 24, 6, -6]).all(axis=2).astype(np.int64).ravel()
    assert len(target) == len(rows) == int(row_offsets[-1])
    return rows, target, np.asarray(events.event_number)[trainable]
