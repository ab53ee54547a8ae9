"""Hot-path kernels of columnar analysis, one API for CPU (Numba) and CUDA, on awkward arrays.

Every kernel takes awkward arrays — a list per event (``events.Jets.pt``, a mask such as
``jets.pt > 30``, a record array of objects) on the ``cpu`` or ``cuda`` backend — and returns
awkward arrays on the same backend; or, with ``offsets=`` (the older kernels: offsets as
their first argument), flat buffers: ``offsets`` (int64, ``len = events + 1``, from 0) and
content, NumPy or CUDA arrays.  The implementation follows the data: NumPy runs the Numba CPU
kernels (:mod:`afkit.kernels._cpu`, compiled once and cached on disk), CuPy and other CUDA
arrays :mod:`afkit.kernels._cuda`.  Mixed backends raise; nothing is copied between devices.
:mod:`afkit.kernels.reference` states what each kernel means and is the oracle in the tests.

Reductions per event (:mod:`~afkit.kernels.reductions`): :func:`count`, :func:`sum`,
:func:`min`, :func:`max`, :func:`any`, :func:`all`, :func:`leading`.  Combinatorics
(:mod:`~afkit.kernels.combinations`): :func:`best_combination` (2-4 objects by a criterion,
with a condition, nothing materialised), :func:`pair_masses`, :func:`best_trijet_mass`.
Matching (:mod:`~afkit.kernels.matching`): :func:`nearest`, :func:`min_delta_r`,
:func:`match_within`.  Links: :func:`gather`.  Histograms: :func:`fill_hist`,
:func:`fill_variations`.  The AGC's jet smearing: :func:`smearing_factors`.  Boosted trees
(:mod:`~afkit.kernels.trees`, used through :mod:`afkit.ml`): :func:`ensemble_margins`,
:func:`best_permutations`, :func:`permutation_rows`.
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from afkit.exceptions import ConfigError
from afkit.kernels._arrays import array_module, to_device, to_host
from afkit.kernels._dispatch import backend_of, implementation
from afkit.kernels._inputs import mask_of
from afkit.kernels._jagged import Jagged, is_awkward, jagged, wrap_events, wrap_jagged
from afkit.kernels.combinations import BestCombination, best_combination, pair_masses
from afkit.kernels.filling import fill_hist
from afkit.kernels.matching import Match, match_within, min_delta_r, nearest
from afkit.kernels.reductions import all, any, count, leading, max, min, sum
from afkit.kernels.trees import best_permutations, ensemble_margins, permutation_rows

__all__ = [
    "BestCombination",
    "Jagged",
    "Match",
    "all",
    "any",
    "array_module",
    "backend_of",
    "best_combination",
    "best_permutations",
    "best_trijet_mass",
    "count",
    "ensemble_margins",
    "fill_hist",
    "fill_variations",
    "gather",
    "jagged",
    "leading",
    "leading_values",
    "match_within",
    "max",
    "min",
    "min_delta_r",
    "nearest",
    "pair_masses",
    "permutation_rows",
    "segmented_count",
    "segmented_sum",
    "smearing_factors",
    "sum",
    "to_device",
    "to_host",
]


def smearing_factors(event_numbers: Any, offsets: Any, *, width: float = 0.05) -> Any:
    """Jet pT smearing factors ``1 + width * z`` of AGC spec §5, one per jet.

    ``z`` comes from the counter-based generator keyed by (eventNumber, position of the jet in
    its event's full jet list), so results do not depend on chunking, executor or device.
    ``offsets`` may be the jets themselves (any awkward list per event, e.g. ``jets.pt``):
    the factors then come back as an awkward list per event.
    """
    if is_awkward(offsets):
        column = jagged(offsets, "jets")
        numbers = _per_event(event_numbers, column.backend, np.uint64)
        factors = implementation(column.backend).smearing_factors(
            numbers, column.offsets, float(width)
        )
        return wrap_jagged(column.offsets, factors, column.backend, column.missing)
    backend = backend_of(event_numbers, offsets)
    if backend == "cpu":
        event_numbers = np.ascontiguousarray(event_numbers, dtype=np.uint64)
        offsets = np.ascontiguousarray(offsets, dtype=np.int64)
    return implementation(backend).smearing_factors(event_numbers, offsets, float(width))


def _per_event(values: Any, backend: str, dtype: Any) -> Any:
    """One value per event as a flat array on ``backend`` (awkward or array input)."""
    if is_awkward(values):
        import awkward as ak

        if ak.backend(values) != backend:
            raise ConfigError(
                f"per-event values live on {ak.backend(values)}, the lists on {backend}"
            )
        values = ak.to_numpy(values) if backend == "cpu" else ak.to_cupy(values)
    return array_module(backend).ascontiguousarray(values, dtype=dtype)


def best_trijet_mass(
    offsets: Any,
    pt: Any,
    eta: Any = None,
    phi: Any = None,
    mass: Any = None,
    tagged: Any = None,
    *,
    mask: Any = None,
) -> Any:
    """Per event, m of the 3-jet system with >= 1 tagged jet and the largest vector-sum pT.

    Combinations i < j < k are visited in lexicographic order and the first maximum wins (AGC
    spec §4); no combination is materialised.  Only jets where ``mask`` (the selected jets)
    take part — without it, every jet does.  NaN (None for awkward input) for events without
    such a system.

    Call forms: ``best_trijet_mass(jets, tagged, mask=selected)`` with awkward arrays (jets:
    records with pt, eta, phi, m), or ``best_trijet_mass(offsets, pt, eta, phi, mass, tagged,
    mask=selected)`` with flat buffers.  (It is :func:`best_combination` with ``n=3``,
    ``by="pt"``, ``require=tagged``, returning only the mass.)
    """
    if is_awkward(offsets):
        jets, tags = offsets, pt
        if tags is None or builtins.any(v is not None for v in (eta, phi, mass, tagged)):
            raise ConfigError("awkward form: best_trijet_mass(jets, tagged, mask=selected)")
        return best_combination(jets, 3, by="pt", require=tags, mask=mask).mass
    backend = backend_of(offsets, pt, eta, phi, mass, tagged)
    if mask is not None:
        keep = array_module(backend).ascontiguousarray(mask, dtype=np.bool_)
        result = best_combination(
            {"pt": pt, "eta": eta, "phi": phi, "mass": mass},
            3,
            by="pt",
            require=tagged,
            mask=keep,
            offsets=offsets,
        )
        return result.mass
    if backend == "cpu":
        offsets = np.ascontiguousarray(offsets, dtype=np.int64)
        pt, eta, phi, mass = (
            np.ascontiguousarray(a, dtype=np.float64) for a in (pt, eta, phi, mass)
        )
        tagged = np.ascontiguousarray(tagged, dtype=np.bool_)
    return implementation(backend).best_trijet_mass(offsets, pt, eta, phi, mass, tagged)


def fill_variations(
    sumw: Any,
    sumw2: Any,
    values: Any,
    weights: Any,
    selected: Any,
    category: Any,
    *,
    lo: float | None = None,
    hi: float | None = None,
    nbins: int | None = None,
    edges: Any = None,
    value_rows: Any = None,
    selected_rows: Any = None,
) -> None:
    """Accumulate weighted entries of many variations in one call (one streaming pass per row).

    ``weights`` is ``(variations, events)``; ``values`` and ``selected`` the same, or — with
    ``value_rows``/``selected_rows`` (one index per variation) — fewer rows that variations
    share: weight variations of one selection name its rows instead of repeating them, and
    consecutive variations sharing both are compacted and binned once.  Variation ``v``
    fills row ``category[v]`` of ``sumw``/``sumw2`` (shape ``(categories, nbins + 2)``, flow
    bins at both ends).  The axis is regular (``lo``, ``hi``, ``nbins``: binning as
    boost-histogram's regular axis) or variable
    (``edges``, increasing, on the data's device: binning as boost-histogram's variable axis);
    NaN goes to overflow.  Accumulates in place.  One variation may be given as ``(events,)``
    arrays; :func:`fill_hist` does the same straight into a ``hist.Hist``.
    """
    from afkit.kernels.filling import _rows

    values, weights, selected = (
        _rows(a, name)
        for a, name in ((values, "values"), (weights, "weights"), (selected, "selected"))
    )
    if edges is not None:
        if lo is not None or hi is not None or nbins is not None:
            raise ConfigError("give either edges (variable axis) or lo, hi, nbins (regular)")
        backend = backend_of(sumw, sumw2, values, weights, selected, category, edges)
        xp = array_module(backend)
        edges = xp.ascontiguousarray(edges, dtype=np.float64)
        host_edges = to_host(edges)
        if (
            host_edges.ndim != 1
            or len(host_edges) < 2
            or not np.all(np.isfinite(host_edges))
            or np.any(np.diff(host_edges) <= 0)
        ):
            raise ConfigError("edges must be at least two finite, strictly increasing numbers")
        nbins, lo, hi = len(host_edges) - 1, float(host_edges[0]), float(host_edges[-1])
    else:
        if lo is None or hi is None or nbins is None:
            raise ConfigError("a regular axis needs lo, hi and nbins (or give edges)")
        backend = backend_of(sumw, sumw2, values, weights, selected, category)
    if backend == "cpu":
        for name, array in (("sumw", sumw), ("sumw2", sumw2)):
            if array.dtype != np.float64 or not array.flags.c_contiguous:
                raise ConfigError(f"{name} must be a C-contiguous float64 array")
        values = np.ascontiguousarray(values, dtype=np.float64)
        weights = np.ascontiguousarray(weights, dtype=np.float64)
        selected = np.ascontiguousarray(selected, dtype=np.bool_)
        category = np.ascontiguousarray(category, dtype=np.int64)
    n_var = weights.shape[0]
    xp = array_module(backend)
    rows = {}
    for label, given, array in (
        ("value_rows", value_rows, values),
        ("selected_rows", selected_rows, selected),
    ):
        if given is None:
            if array.shape != weights.shape:
                raise ConfigError(
                    "values, weights and selected must have the same (variations, events) "
                    f"shape (or give value_rows/selected_rows), not {values.shape}, "
                    f"{weights.shape}, {selected.shape}"
                )
            index = np.arange(n_var, dtype=np.int64)
        else:
            index = np.asarray(to_host(given), dtype=np.int64)
            if index.shape != (n_var,) or array.shape[1:] != weights.shape[1:]:
                raise ConfigError(
                    f"{label} needs one row index per variation ({n_var}) into an array of "
                    f"the weights' events, not {index.shape} into {array.shape}"
                )
            if n_var and (int(index.min()) < 0 or int(index.max()) >= array.shape[0]):
                raise ConfigError(f"{label} must lie in 0..{array.shape[0] - 1}")
        rows[label] = index if backend == "cpu" else xp.asarray(index)
    if sumw.ndim != 2 or sumw.shape[1] != nbins + 2 or sumw2.shape != sumw.shape:
        raise ConfigError(
            f"sumw and sumw2 must be (categories, nbins + 2 = {nbins + 2}), not "
            f"{sumw.shape} and {sumw2.shape}"
        )
    if category.shape != (n_var,):
        raise ConfigError(
            f"category needs one row of sumw per variation ({n_var}), not {category.shape}"
        )
    if len(category) and (int(category.min()) < 0 or int(category.max()) >= sumw.shape[0]):
        raise ConfigError(f"category rows must lie in 0..{sumw.shape[0] - 1}")
    implementation(backend).fill_variations(
        sumw, sumw2, values, weights, selected, category, float(lo), float(hi), int(nbins),
        edges, rows["value_rows"], rows["selected_rows"],
    )  # fmt: skip


def _cpu_arrays(offsets: Any, *arrays: tuple[Any, Any]) -> list[Any]:
    out = [np.ascontiguousarray(offsets, dtype=np.int64)]
    out += [np.ascontiguousarray(a, dtype=d) for a, d in arrays]
    return out


def segmented_sum(offsets: Any, values: Any, mask: Any = None) -> Any:
    """Per event, the sum of ``values`` over objects where ``mask`` (e.g. HT of selected jets),
    as float64.  Awkward form: ``segmented_sum(values, mask)`` (see :func:`sum`)."""
    if is_awkward(offsets):
        column = jagged(offsets, "values", dtype=np.float64)
        use = mask_of(column, values)
        out = implementation(column.backend).segmented_sum(column.offsets, column.content, use)
        return wrap_events(out, column.backend, column.missing)
    backend = backend_of(offsets, values, mask)
    if backend == "cpu":
        offsets, values, mask = _cpu_arrays(offsets, (values, np.float64), (mask, np.bool_))
    return implementation(backend).segmented_sum(offsets, values, mask)


def segmented_count(offsets: Any, mask: Any = None) -> Any:
    """Per event, how many objects pass ``mask`` (e.g. selected jets, b-tagged jets).
    Awkward form: ``segmented_count(mask)`` (see :func:`count`)."""
    if is_awkward(offsets):
        return count(offsets)
    backend = backend_of(offsets, mask)
    if backend == "cpu":
        offsets, mask = _cpu_arrays(offsets, (mask, np.bool_))
    return implementation(backend).segmented_count(offsets, mask)


def gather(index: Any, content: Any = None, *, fill: float = float("nan")) -> Any:
    """``content[index]`` where ``index >= 0``, else ``fill``: follows resolved links
    (e.g. each jet's b-tagging discriminant; a missing link gives ``fill``).

    Awkward form: ``gather(jets.btagging.DL1dv01_pb)`` — a field reached through a resolved
    link, ``var * ?float64`` — gives ``var * float64`` with ``fill`` where the link could not
    be followed, in one compiled pass over the link index."""
    if is_awkward(index):
        if content is not None:
            raise ConfigError("awkward form: gather(linked_field, fill=...)")
        return _gather_linked(index, fill)
    backend = backend_of(index, content)
    if backend == "cpu":
        index = np.ascontiguousarray(index, dtype=np.int64)
        content = _gather_content(content, backend)
        if len(index) and int(index.max(initial=-1)) >= len(content):
            raise ConfigError("gather index beyond the content")
    return implementation(backend).gather(index, content, float(fill))


def _gather_content(content: Any, backend: str) -> Any:
    """What the gather kernel reads: on the CPU float/integer content as it is (the result
    is float64 either way, with no float64 copy first); elsewhere, or for other types, a
    contiguous float64 copy."""
    if backend == "cpu":
        content = np.asarray(content)
        if content.dtype.kind in "fiu" and content.ndim == 1:
            return content
    return array_module(backend).ascontiguousarray(content, dtype=np.float64)


def _gather_linked(array: Any, fill: float) -> Any:
    """The awkward form of :func:`gather`: through the option layer's index where it is an
    ``IndexedOptionArray`` over numbers (what a resolved link gives), else by masking."""
    import awkward as ak

    from afkit.kernels._jagged import _event_lists

    backend = ak.backend(array)
    lists, missing = _event_lists(array.layout, "linked field")
    option = lists.content
    xp = array_module(backend)
    offsets = xp.asarray(lists.offsets.data, dtype=np.int64)
    start, stop = int(offsets[0]), int(offsets[-1])
    if isinstance(option, ak.contents.IndexedOptionArray) and isinstance(
        option.content, ak.contents.NumpyArray
    ):
        # the field before the link index: a target collection counted from one of its
        # fields can then be counted from this one, read anyway (EventSource.offsets)
        content = _gather_content(xp.asarray(option.content.data), backend)
        index = xp.ascontiguousarray(option.index.data[start:stop], dtype=np.int64)
        values = implementation(backend).gather(index, content, float(fill))
    else:
        column = jagged(array, "linked field", dtype=np.float64)
        values = column.content.copy()
        if column.valid is not None:
            values[~column.valid] = fill
        offsets, start = column.offsets, 0
    return wrap_jagged(offsets - start, values, backend, missing)


def leading_values(offsets: Any, values: Any, mask: Any, k: int | None = None) -> Any:
    """``(k, events)``: row ``i`` holds each event's ``i``-th object passing ``mask`` (object
    order), NaN where there are fewer — e.g. the pT of the four leading selected jets.
    Awkward form: ``leading_values(values, mask, k)`` (see :func:`leading`)."""
    if is_awkward(offsets):
        if not isinstance(mask, int):
            raise ConfigError("awkward form: leading_values(values, mask, k)")
        return leading(offsets, mask, values)
    if not isinstance(k, int) or k < 1:
        raise ConfigError(f"k must be a positive integer, not {k!r}")
    backend = backend_of(offsets, values, mask)
    if backend == "cpu":
        offsets, values, mask = _cpu_arrays(offsets, (values, np.float64), (mask, np.bool_))
    return implementation(backend).leading_values(offsets, values, mask, k)
