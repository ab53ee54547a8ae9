"""Event weights: named per-event factors, their up/down variations, and their sums.

:class:`Weights` multiplies named factors into the nominal event weight and keeps, for each
factor, its variations: ``add("lepton_sf", sf, up=sf_up, down=sf_down)`` gives the variations
``lepton_sf_up`` and ``lepton_sf_down``; ``add_matrix("gen", nominal, columns, names=...)``
many at once (every generator weight of an MC file).  A variation's weight is the nominal
product with that one factor replaced.  The product of the *other* factors is computed once
per factor and shared by all its variations, so 194 generator-weight variations cost 194
multiplications of one array, not 194 products of every factor.

``weights.sums()`` gives the sums of the nominal and of every variation's weight
(a :class:`WeightSums`, an accumulator: it adds across chunks and workers).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from afkit.analysis.selection import per_event
from afkit.exceptions import ArgumentTypeError, ConfigError, MissingNameError

__all__ = ["WeightSums", "Weights"]


@dataclass
class _Factor:
    name: str
    nominal: Any
    variations: dict[str, Any]  # variation name -> its replacement of this factor
    matrix: Any = None  # (events, variations): add_matrix's array as given, in names order


class Weights:
    """Per-event weights of one chunk: named factors with variations."""

    def __init__(self, n_events: int | None = None) -> None:
        self.n_events = n_events
        self._factors: dict[str, _Factor] = {}
        self._owner: dict[str, str] = {}  # variation -> its factor
        self._nominal: Any = None
        self._others: dict[str, Any] = {}  # factor -> product of all the others

    def _values(self, values: Any, what: str) -> Any:
        array = per_event(values, what, np.float64)
        if self.n_events is None:
            self.n_events = len(array)
        if len(array) != self.n_events:
            raise ConfigError(f"{what} has {len(array)} values for {self.n_events} events")
        return array

    def _claim(self, name: str, variations: Sequence[str]) -> None:
        if not isinstance(name, str) or not name:
            raise ArgumentTypeError(f"a weight's name must be a non-empty string, not {name!r}")
        if name in self._factors:
            raise ConfigError(f"weight {name!r} is already defined")
        for variation in variations:
            if variation in self._owner or variation == "nominal":
                raise ConfigError(f"weight variation {variation!r} is defined twice")
        self._nominal = None
        self._others.clear()

    def add(self, name: str, weight: Any, *, up: Any = None, down: Any = None) -> Weights:
        """Multiply the factor ``weight`` into the nominal; ``up``/``down`` (the factor's
        varied values, not ratios) give the variations ``{name}_up`` and ``{name}_down``."""
        names = [f"{name}_{side}" for side, v in (("up", up), ("down", down)) if v is not None]
        self._claim(name, names)
        nominal = self._values(weight, f"weight {name!r}")
        variations = {}
        for side, values in (("up", up), ("down", down)):
            if values is not None:
                variations[f"{name}_{side}"] = self._values(values, f"weight {name}_{side}")
        self._factors[name] = _Factor(name, nominal, variations)
        for variation in variations:
            self._owner[variation] = name
        return self

    def add_matrix(
        self, name: str, weight: Any, variations: Any, *, names: Sequence[str] | None = None
    ) -> Weights:
        """Multiply ``weight`` into the nominal, with every column of ``variations``
        (``(events, k)``) a variation of it: named by ``names`` (default ``{name}_0`` ...).

        The generator weights of an MC file: ``add_matrix("gen", w[:, 0], w[:, 1:],
        names=weight_names[1:])``, each column scaled by its own normalisation if needed."""
        nominal = self._values(weight, f"weight {name!r}")

        matrix = variations
        if not (isinstance(matrix, np.ndarray) or hasattr(matrix, "__cuda_array_interface__")):
            raise ArgumentTypeError(
                f"variations of {name!r} must be an (events, variations) array, "
                f"not {type(matrix).__name__}"
            )
        if matrix.ndim != 2 or matrix.shape[0] != len(nominal):
            raise ConfigError(
                f"variations of {name!r} must be ({len(nominal)} events, variations), "
                f"not {matrix.shape}"
            )
        labels = (
            list(names) if names is not None else [f"{name}_{i}" for i in range(matrix.shape[1])]
        )
        if len(labels) != matrix.shape[1]:
            raise ConfigError(
                f"{len(labels)} names for the {matrix.shape[1]} variations of {name!r}"
            )
        if len(set(labels)) != len(labels):
            raise ConfigError(f"the variations of {name!r} repeat a name")
        self._claim(name, labels)
        # kept as given (no copy): rows() takes only the events and columns a fill needs
        self._factors[name] = _Factor(name, nominal, {}, matrix)
        for i, label in enumerate(labels):
            self._owner[label] = name
            self._factors[name].variations[label] = i
        return self

    @property
    def variations(self) -> list[str]:
        """Every variation's name, factor by factor in the order they were added."""
        return [v for f in self._factors.values() for v in f.variations]

    def _product(self, factors: list[_Factor]) -> Any:
        if self.n_events is None:
            raise ConfigError("these Weights have no factor yet")
        from afkit.kernels import array_module, backend_of

        if not factors:
            arrays = [f.nominal for f in self._factors.values()]
            xp = array_module(backend_of(*arrays)) if arrays else np
            return xp.ones(self.n_events)
        out = factors[0].nominal.copy()
        for f in factors[1:]:
            out *= f.nominal
        return out

    def weight(self, variation: str | None = None) -> Any:
        """The nominal weight, or that of ``variation`` (one of :attr:`variations`)."""
        if variation is None or variation == "nominal":
            if self._nominal is None:
                self._nominal = self._product(list(self._factors.values()))
            return self._nominal
        factor = self._factor_of(variation)
        replacement = factor.variations[variation]
        values = factor.matrix[:, replacement] if factor.matrix is not None else replacement
        return self._others_of(factor.name) * values

    def _factor_of(self, variation: str) -> _Factor:
        try:
            return self._factors[self._owner[variation]]
        except KeyError:
            raise MissingNameError("weight variation", variation, self.variations) from None

    def _others_of(self, name: str) -> Any:
        if name not in self._others:
            self._others[name] = self._product(
                [f for f in self._factors.values() if f.name != name]
            )
        return self._others[name]

    def rows(self, variations: Sequence[str] | None = None, *, events: Any = None) -> Any:
        """``(len(variations), events)``: each variation's weight (all of them by default) —
        what :func:`afkit.analysis.fill` fills, one row per variation.

        ``events`` (indices into the chunk) restricts the rows to those events: a fill needs
        the weights of the selected events only, which for many variations is most of the work
        saved."""
        from afkit.kernels import array_module, backend_of

        names = list(self.variations if variations is None else variations)
        xp = array_module(backend_of(self.weight()))
        n = self.n_events or 0
        if events is not None:
            events = xp.asarray(events)
            n = len(events)
        if not names:
            return xp.zeros((0, n))

        def pick(values: Any) -> Any:
            return values if events is None else values[events]

        out = xp.empty((len(names), n))
        # variations of one matrix factor: one broadcast multiplication for all of them
        by_factor: dict[str, list[tuple[int, Any]]] = {}
        for row, name in enumerate(names):
            if name == "nominal":
                out[row] = pick(self.weight())
                continue
            factor = self._factor_of(name)
            by_factor.setdefault(factor.name, []).append((row, factor.variations[name]))
        for factor_name, entries in by_factor.items():
            factor = self._factors[factor_name]
            others = pick(self._others_of(factor_name))
            if factor.matrix is not None:
                rows = [r for r, _ in entries]
                columns = [c for _, c in entries]
                selected = pick(factor.matrix)  # (n, k): the needed events first
                if columns != list(range(selected.shape[1])):
                    selected = selected[:, columns]
                out[rows] = selected.T * others
            else:
                for row, values in entries:
                    out[row] = others * pick(values)
        return out

    def sums(self) -> WeightSums:
        """The sums of the nominal weight and of every variation's (an accumulator)."""
        rows = self.rows()
        totals = rows.sum(axis=1) if len(rows) else []
        values = {"nominal": float(self.weight().sum())}
        values.update({n: float(t) for n, t in zip(self.variations, totals, strict=True)})
        return WeightSums(values, int(self.n_events or 0))


@dataclass
class WeightSums:
    """Sums of weights per variation over the events seen (they add across chunks)."""

    values: dict[str, float]
    events: int

    def __add__(self, other: object) -> WeightSums:
        if not isinstance(other, WeightSums):
            return NotImplemented
        if other.values.keys() != self.values.keys():
            raise ConfigError("cannot add sums of weights of different variations")
        return WeightSums(
            {k: v + other.values[k] for k, v in self.values.items()}, self.events + other.events
        )

    def __getitem__(self, variation: str) -> float:
        try:
            return self.values[variation]
        except KeyError:
            raise MissingNameError("weight variation", variation, self.values) from None
