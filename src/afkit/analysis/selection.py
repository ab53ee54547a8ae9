"""Named event selections, packed into bits, and the cutflow they give.

:class:`Selection` keeps up to 64 named per-event masks as the bits of one ``uint64`` per
event: ``sel.add("one_electron", n_el == 1)``, then ``sel.all("one_electron", "btag")``,
``sel.require(os=True, same_flavour=False)``, ``sel.n_minus_one()`` (every cut but one, for
each), and ``sel.cutflow("trigger", "one_electron", ...)`` — the events left after each
step, counted and weighted.  A :class:`Cutflow` is an accumulator: cutflows of chunks and
workers add up (``afkit.run`` merges them), and it prints as a table.

Masks are per-event booleans: NumPy or CuPy arrays, or one-dimensional awkward arrays (a
missing value counts as False).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from afkit.exceptions import ArgumentTypeError, ConfigError, MissingNameError

__all__ = ["Cutflow", "Selection"]

#: Masks one :class:`Selection` can hold (the bits of a ``uint64``).
MAX_CUTS = 64


def per_event(values: Any, what: str, dtype: Any = None) -> Any:
    """A one-dimensional NumPy/CuPy array from per-event values (awkward: None -> False/0)."""
    import awkward as ak

    if isinstance(values, ak.Array):
        if values.ndim != 1:
            raise ArgumentTypeError(f"{what} must hold one value per event, not {values.type}")
        if dtype is np.bool_:
            values = ak.fill_none(values, False)
        values = ak.to_numpy(values) if ak.backend(values) == "cpu" else ak.to_cupy(values)
    elif not (isinstance(values, np.ndarray) or hasattr(values, "__cuda_array_interface__")):
        raise ArgumentTypeError(
            f"{what} must be an array of one value per event, not {type(values).__name__}"
        )
    if values.ndim != 1:
        raise ArgumentTypeError(f"{what} must be one-dimensional, not of shape {values.shape}")
    return values if dtype is None else values.astype(dtype, copy=False)


class Selection:
    """Up to 64 named per-event masks, packed into one ``uint64`` per event."""

    def __init__(self, n_events: int | None = None) -> None:
        self.n_events = n_events
        self._names: list[str] = []
        self._bits: Any = None

    @property
    def names(self) -> list[str]:
        return list(self._names)

    def add(self, name: str, mask: Any) -> Selection:
        """Add the per-event mask ``name``; returns the selection (calls chain)."""
        if not isinstance(name, str) or not name:
            raise ArgumentTypeError(f"a selection's name must be a non-empty string, not {name!r}")
        if name in self._names:
            raise ConfigError(f"selection {name!r} is already defined")
        if len(self._names) == MAX_CUTS:
            raise ConfigError(f"a Selection holds at most {MAX_CUTS} masks; {name!r} is one more")
        values = per_event(mask, f"selection {name!r}", np.bool_)
        if self.n_events is None:
            self.n_events = len(values)
        if len(values) != self.n_events:
            raise ConfigError(
                f"selection {name!r} has {len(values)} values for {self.n_events} events"
            )
        from afkit.kernels import array_module, backend_of

        xp = array_module(backend_of(values))
        if self._bits is None:
            self._bits = xp.zeros(self.n_events, np.uint64)
        self._bits |= values.astype(np.uint64) << np.uint64(len(self._names))
        self._names.append(name)
        return self

    def _bit(self, name: str) -> int:
        try:
            return self._names.index(name)
        except ValueError:
            raise MissingNameError("selection", name, self._names) from None

    def _mask_of(self, names: Iterable[str]) -> int:
        word = 0
        for name in names:
            word |= 1 << self._bit(name)
        return word

    def _xp(self) -> Any:
        from afkit.kernels import array_module, backend_of

        return array_module(backend_of(self._bits))

    def require(self, **wanted: bool) -> Any:
        """Per event: every named mask has the given value (``require(os=True, ss=False)``)."""
        if self._bits is None:
            raise ConfigError("this Selection has no masks yet")
        need, value = 0, 0
        for name, flag in wanted.items():
            if not isinstance(flag, (bool, np.bool_)):
                raise ArgumentTypeError(f"require {name}= takes True or False, not {flag!r}")
            bit = 1 << self._bit(name)
            need |= bit
            if flag:
                value |= bit
        return (self._bits & np.uint64(need)) == np.uint64(value)

    def all(self, *names: str) -> Any:
        """Per event: every named mask (every mask if none is named) is True."""
        names = names or tuple(self._names)
        return self.require(**dict.fromkeys(names, True))

    def any(self, *names: str) -> Any:
        """Per event: at least one named mask (any mask if none is named) is True."""
        if self._bits is None:
            raise ConfigError("this Selection has no masks yet")
        word = self._mask_of(names or self._names)
        return (self._bits & np.uint64(word)) != np.uint64(0)

    def n_minus_one(self, *names: str) -> dict[str, Any]:
        """For each named mask (each mask if none is named), the events passing all the
        others: the input of an N-1 plot."""
        names = names or tuple(self._names)
        return {n: self.require(**{m: True for m in names if m != n}) for n in names}

    def cutflow(self, *names: str, weight: Any = None) -> Cutflow:
        """The events passing the first 1, 2, ... named masks (every mask in order if none is
        named): counted, and summed ``weight`` (one per event) when given."""
        names = names or tuple(self._names)
        if not names:
            raise ConfigError("a cutflow needs at least one selection")
        xp = self._xp()
        w = None if weight is None else per_event(weight, "weight", np.float64)
        if w is not None and len(w) != self.n_events:
            raise ConfigError(f"weight has {len(w)} values for {self.n_events} events")
        events = [int(self.n_events or 0)]
        weighted = [float(xp.sum(w)) if w is not None else float(self.n_events or 0)]
        passing = xp.ones(self.n_events, bool)
        for name in names:
            passing = passing & self.all(name)
            events.append(int(xp.count_nonzero(passing)))
            weighted.append(float(xp.sum(w[passing])) if w is not None else float(events[-1]))
        return Cutflow(list(names), events, weighted, weight is not None)


@dataclass
class Cutflow:
    """Events left after each step of a selection: ``events[0]`` before any, ``events[i]``
    after the first ``i`` steps; ``weighted`` likewise with the weights (equal to ``events``
    when none were given).  Cutflows add step by step (an accumulator)."""

    steps: list[str]
    events: list[int]
    weighted: list[float]
    has_weights: bool = False

    def __add__(self, other: object) -> Cutflow:
        if not isinstance(other, Cutflow):
            return NotImplemented
        if other.steps != self.steps or other.has_weights != self.has_weights:
            raise ConfigError(
                f"cannot add cutflows of different steps: {self.steps} and {other.steps}"
            )
        return Cutflow(
            list(self.steps),
            [a + b for a, b in zip(self.events, other.events, strict=True)],
            [a + b for a, b in zip(self.weighted, other.weighted, strict=True)],
            self.has_weights,
        )

    def efficiencies(self) -> list[float]:
        """Each step's events over the previous step's (1 for the first row), weighted."""
        out = [1.0]
        for before, after in zip(self.weighted, self.weighted[1:], strict=False):
            out.append(after / before if before else float("nan"))
        return out

    def cumulative(self) -> list[float]:
        """Events after each step over all events, weighted."""
        total = self.weighted[0]
        return [w / total if total else float("nan") for w in self.weighted]

    def to_dict(self) -> dict[str, list[Any]]:
        """Columns, DataFrame-ready (``pandas.DataFrame(cutflow.to_dict())``)."""
        return {
            "step": ["all events", *self.steps],
            "events": list(self.events),
            "weighted": list(self.weighted),
            "efficiency": self.efficiencies(),
            "cumulative": self.cumulative(),
        }

    def table(self) -> Any:
        """The cutflow as a ``rich`` table."""
        from rich.table import Table

        table = Table(title="cutflow")
        for column in ("step", "events", "weighted", "efficiency", "cumulative"):
            table.add_column(column, justify="left" if column == "step" else "right")
        rows = self.to_dict()
        for i, step in enumerate(rows["step"]):
            table.add_row(
                step,
                f"{rows['events'][i]}",
                f"{rows['weighted'][i]:.6g}",
                f"{rows['efficiency'][i]:.4f}",
                f"{rows['cumulative'][i]:.4f}",
            )
        return table

    def __rich__(self) -> Any:
        return self.table()

    def __str__(self) -> str:
        rows = self.to_dict()
        width = max(len(s) for s in rows["step"])
        lines = [f"{'step':<{width}}  {'events':>10}  {'weighted':>14}  {'eff':>7}  {'cumul':>7}"]
        for i, step in enumerate(rows["step"]):
            lines.append(
                f"{step:<{width}}  {rows['events'][i]:>10}  {rows['weighted'][i]:>14.6g}  "
                f"{rows['efficiency'][i]:>7.4f}  {rows['cumulative'][i]:>7.4f}"
            )
        return "\n".join(lines)
