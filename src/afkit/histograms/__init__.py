"""Histograms: accumulate with :func:`afkit.kernels.fill_variations`, deliver ``hist.Hist``.

:class:`WeightedCategoryHistogram` keeps ``sumw``/``sumw2`` arrays of shape
``(processes * variations, bins + 2)`` on the CPU or GPU (where the data are) and turns them
into a ``hist.Hist`` with a regular or variable axis (under/overflow kept), ``process`` and
``variation`` category axes and weighted storage — the AGC layout.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

import afkit.kernels as kernels
from afkit.exceptions import ConfigError

__all__ = ["WeightedCategoryHistogram"]


@dataclass
class WeightedCategoryHistogram:
    """Observable x process x variation with weighted storage, filled by afkit's kernels."""

    nbins: int
    lo: float
    hi: float
    processes: list[str]
    variations: list[str]
    name: str = "observable"
    label: str = "observable [GeV]"
    backend: str = "cpu"  # where sumw/sumw2 live: "cpu" (NumPy) or "cuda" (CuPy)
    edges: tuple[float, ...] | None = None  # a variable axis (see :meth:`variable`)
    sumw: NDArray[np.float64] = field(init=False)
    sumw2: NDArray[np.float64] = field(init=False)
    _device_edges: Any = field(init=False, default=None, repr=False, compare=False)

    @classmethod
    def variable(
        cls, edges: Any, processes: list[str], variations: list[str], **options: Any
    ) -> WeightedCategoryHistogram:
        """The same layout with a variable observable axis: bins ``[edges[i], edges[i+1])``."""
        bounds = tuple(float(e) for e in edges)
        if len(bounds) < 2:
            raise ConfigError(f"a variable axis needs at least two edges, got {len(bounds)}")
        return cls(
            len(bounds) - 1, bounds[0], bounds[-1], processes, variations, edges=bounds, **options
        )

    def __post_init__(self) -> None:
        if self.nbins < 1 or not self.hi > self.lo:
            raise ConfigError(
                f"need nbins >= 1 and hi > lo (got {self.nbins}, {self.lo}, {self.hi})"
            )
        xp = kernels.array_module(self.backend)
        if self.edges is not None:
            e = np.asarray(self.edges, np.float64)
            if (
                len(e) != self.nbins + 1
                or e[0] != self.lo
                or e[-1] != self.hi
                or not np.all(np.isfinite(e))
                or np.any(np.diff(e) <= 0)
            ):
                raise ConfigError(
                    f"variable edges must be {self.nbins + 1} finite increasing numbers from "
                    f"{self.lo} to {self.hi}, got {list(self.edges)}"
                )
            self._device_edges = kernels.to_device(e, self.backend)
        shape = (len(self.processes) * len(self.variations), self.nbins + 2)
        self.sumw = xp.zeros(shape)
        self.sumw2 = xp.zeros(shape)

    def category(self, process: str, variation: str) -> int:
        try:
            return self.processes.index(process) * len(self.variations) + self.variations.index(
                variation
            )
        except ValueError:
            raise ConfigError(f"unknown process/variation {process!r}/{variation!r}") from None

    def fill(
        self, process: str, variations: list[str], values: Any, weights: Any, selected: Any
    ) -> None:
        """Fill ``variations`` of ``process`` in one pass (arrays ``(variations, events)``)."""
        category = kernels.to_device(
            np.array([self.category(process, v) for v in variations], np.int64), self.backend
        )
        axis: dict[str, Any] = (
            {"lo": self.lo, "hi": self.hi, "nbins": self.nbins}
            if self._device_edges is None
            else {"edges": self._device_edges}
        )
        kernels.fill_variations(self.sumw, self.sumw2, values, weights, selected, category, **axis)

    def _layout(self) -> tuple[object, ...]:
        return (self.nbins, self.lo, self.hi, self.processes, self.variations, self.edges)

    def __add__(self, other: object) -> WeightedCategoryHistogram:
        """The sum of two histograms of one layout (how chunks' results merge)."""
        if not isinstance(other, WeightedCategoryHistogram):
            return NotImplemented
        if other._layout() != self._layout() or other.backend != self.backend:
            raise ConfigError(
                "cannot add histograms of different binning, categories or backend: "
                f"{self._layout()} on {self.backend} vs {other._layout()} on {other.backend}"
            )
        out = copy.copy(self)
        out.sumw = self.sumw + other.sumw
        out.sumw2 = self.sumw2 + other.sumw2
        return out

    def to_host(self) -> WeightedCategoryHistogram:
        """This histogram with its arrays in host memory (itself if they are already)."""
        if self.backend == "cpu":
            return self
        out = copy.copy(self)
        out.backend = "cpu"
        out._device_edges = None if self.edges is None else np.asarray(self.edges, np.float64)
        out.sumw = kernels.to_host(self.sumw)
        out.sumw2 = kernels.to_host(self.sumw2)
        return out

    def to_hist(self) -> Any:
        """``hist.Hist``: Regular(nbins, lo, hi) x StrCategory(process) x StrCategory(variation)."""
        import hist

        observable = (
            hist.axis.Regular(self.nbins, self.lo, self.hi, name=self.name, label=self.label)
            if self.edges is None
            else hist.axis.Variable(self.edges, name=self.name, label=self.label)
        )
        h = hist.Hist(
            observable,
            hist.axis.StrCategory(self.processes, name="process"),
            hist.axis.StrCategory(self.variations, name="variation"),
            storage=hist.storage.Weight(),
        )
        view = h.view(flow=True)
        n_p, n_v = len(self.processes), len(self.variations)
        sumw = kernels.to_host(self.sumw).reshape(n_p, n_v, self.nbins + 2).transpose(2, 0, 1)
        sumw2 = kernels.to_host(self.sumw2).reshape(n_p, n_v, self.nbins + 2).transpose(2, 0, 1)
        # category axes carry an overflow bin in hist's flow view; afkit's categories are exact
        view.value[:, :n_p, :n_v] = sumw
        view.variance[:, :n_p, :n_v] = sumw2
        return h
