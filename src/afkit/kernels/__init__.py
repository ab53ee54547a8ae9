"""Hot-path kernels over jagged data (offsets + content), one API for CPU (Numba) and CUDA.

The implementation follows the data: NumPy inputs run the Numba CPU kernels
(:mod:`afkit.kernels._cpu`, compiled once and cached on disk), CUDA arrays (CuPy, numba device
arrays) run :mod:`afkit.kernels._cuda`.  Mixed inputs raise; nothing is copied between devices.
:mod:`afkit.kernels.reference` states what each kernel means and is the oracle in the tests.

Jagged arguments are ``offsets`` (int64, ``len = events + 1``, starting at 0) and flat content.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from afkit.exceptions import ConfigError
from afkit.kernels._arrays import array_module, to_device, to_host
from afkit.kernels._dispatch import backend_of, implementation

__all__ = [
    "array_module",
    "backend_of",
    "best_trijet_mass",
    "fill_variations",
    "gather",
    "leading_values",
    "segmented_count",
    "segmented_sum",
    "smearing_factors",
    "to_device",
    "to_host",
]


def smearing_factors(event_numbers: Any, offsets: Any, *, width: float = 0.05) -> Any:
    """Jet pT smearing factors ``1 + width * z`` of AGC spec §5, one per jet.

    ``z`` comes from the counter-based generator keyed by (eventNumber, position of the jet in
    its event's full jet list), so results do not depend on chunking, executor or device.
    """
    backend = backend_of(event_numbers, offsets)
    if backend == "cpu":
        event_numbers = np.ascontiguousarray(event_numbers, dtype=np.uint64)
        offsets = np.ascontiguousarray(offsets, dtype=np.int64)
    return implementation(backend).smearing_factors(event_numbers, offsets, float(width))


def best_trijet_mass(offsets: Any, pt: Any, eta: Any, phi: Any, mass: Any, tagged: Any) -> Any:
    """Per event, m of the 3-jet system with >= 1 tagged jet and the largest vector-sum pT.

    Combinations i < j < k are visited in lexicographic order and the first maximum wins (AGC
    spec §4); no combination is materialised.  NaN for events without such a system.
    """
    backend = backend_of(offsets, pt, eta, phi, mass, tagged)
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
) -> None:
    """Accumulate weighted entries of many variations in one call (one streaming pass per row).

    ``values``, ``weights`` and ``selected`` are ``(variations, events)`` (a variation that
    only changes weights can share its values row); variation ``v`` fills row ``category[v]`` of
    ``sumw``/``sumw2`` (shape ``(categories, nbins + 2)``, flow bins at both ends).  The axis is
    regular (``lo``, ``hi``, ``nbins``: binning as boost-histogram's regular axis) or variable
    (``edges``, increasing, on the data's device: binning as boost-histogram's variable axis);
    NaN goes to overflow.  Accumulates in place.
    """
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
    if values.shape != weights.shape or values.shape != selected.shape:
        raise ConfigError(
            "values, weights and selected must have the same (variations, events) shape"
        )
    if sumw.shape[1] != nbins + 2 or len(category) != values.shape[0]:
        raise ConfigError("sumw needs nbins + 2 columns and category one entry per variation")
    implementation(backend).fill_variations(
        sumw, sumw2, values, weights, selected, category, float(lo), float(hi), int(nbins), edges
    )


def _cpu_arrays(offsets: Any, *arrays: tuple[Any, Any]) -> list[Any]:
    out = [np.ascontiguousarray(offsets, dtype=np.int64)]
    out += [np.ascontiguousarray(a, dtype=d) for a, d in arrays]
    return out


def segmented_sum(offsets: Any, values: Any, mask: Any) -> Any:
    """Per event, the sum of ``values`` over objects where ``mask`` (e.g. HT of selected jets)."""
    backend = backend_of(offsets, values, mask)
    if backend == "cpu":
        offsets, values, mask = _cpu_arrays(offsets, (values, np.float64), (mask, np.bool_))
    return implementation(backend).segmented_sum(offsets, values, mask)


def segmented_count(offsets: Any, mask: Any) -> Any:
    """Per event, how many objects pass ``mask`` (e.g. selected jets, b-tagged jets)."""
    backend = backend_of(offsets, mask)
    if backend == "cpu":
        offsets, mask = _cpu_arrays(offsets, (mask, np.bool_))
    return implementation(backend).segmented_count(offsets, mask)


def gather(index: Any, content: Any, *, fill: float = float("nan")) -> Any:
    """``content[index]`` where ``index >= 0``, else ``fill``: follows resolved links
    (e.g. each jet's b-tagging discriminant; a missing link gives ``fill``)."""
    backend = backend_of(index, content)
    if backend == "cpu":
        index = np.ascontiguousarray(index, dtype=np.int64)
        content = np.ascontiguousarray(content, dtype=np.float64)
        if len(index) and int(index.max(initial=-1)) >= len(content):
            raise ConfigError("gather index beyond the content")
    return implementation(backend).gather(index, content, float(fill))


def leading_values(offsets: Any, values: Any, mask: Any, k: int) -> Any:
    """``(k, events)``: row ``i`` holds each event's ``i``-th object passing ``mask`` (object
    order), NaN where there are fewer — e.g. the pT of the four leading selected jets."""
    if not isinstance(k, int) or k < 1:
        raise ConfigError(f"k must be a positive integer, not {k!r}")
    backend = backend_of(offsets, values, mask)
    if backend == "cpu":
        offsets, values, mask = _cpu_arrays(offsets, (values, np.float64), (mask, np.bool_))
    return implementation(backend).leading_values(offsets, values, mask, k)
