"""correctionlib corrections evaluated on awkward arrays of any depth: :class:`Correction`.

Scale factors come as correctionlib JSON (plain or gzipped).  ``Correction(path, "muon_sf")``
evaluates one of its corrections on the analysis' own arrays: lists per event of leptons
(or deeper), per-event values or numbers, mixed — the jagged inputs are flattened once (their
buffers, no Python loop over objects), evaluated by correctionlib's vectorised ``evaluate``
and given back the layout of the jagged input.  A systematic axis (an input such as
``"nominal"``/``"up"``/``"down"``) gives the correction's variations:
``sf.variations(pt, eta, values=["nominal", "up", "down"])``.

Inputs outside a correction's bins (and other correctionlib errors) raise
:class:`CorrectionError` naming the correction and the inputs.  Needs the ``correctionlib``
extra.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from afkit.exceptions import AfkitFileNotFoundError, ConfigError, MissingNameError

__all__ = ["Correction", "CorrectionError"]


class CorrectionError(ConfigError):
    """A correction could not be evaluated (an input out of its range, a wrong input)."""


def _load(path: str) -> Any:
    from afkit.extras import require

    correctionlib = require("correctionlib", "evaluating corrections")
    if not os.path.isfile(path):
        raise AfkitFileNotFoundError("no such correction file", file=path)
    try:
        return correctionlib.CorrectionSet.from_file(path)
    except Exception as err:  # correctionlib raises its own parsing and validation errors
        raise CorrectionError(f"not a correctionlib JSON file: {err}", file=path) from err


class Correction:
    """One correction of a correctionlib file, for awkward and NumPy inputs."""

    def __init__(self, source: str | os.PathLike[str], name: str) -> None:
        self.file = os.fspath(source)
        corrections = _load(self.file)
        available = list(corrections.keys())
        if name not in available:
            raise MissingNameError("correction", name, available, file=self.file)
        self.name = name
        self._correction = corrections[name]
        self.inputs = [i.name for i in self._correction.inputs]

    @property
    def correctionlib(self) -> Any:
        """The underlying ``correctionlib`` correction, for flat NumPy calls of its own API."""
        return self._correction

    def __repr__(self) -> str:
        return f"Correction({self.name!r}, inputs={self.inputs})"

    def evaluate(self, *inputs: Any) -> Any:
        """The correction at ``inputs`` (in the correction's input order); awkward lists per
        event come back as lists per event of the same layout, everything else as NumPy."""
        if len(inputs) != len(self.inputs):
            raise CorrectionError(
                f"{self.name} takes {len(self.inputs)} inputs ({', '.join(self.inputs)}), "
                f"got {len(inputs)}",
                file=self.file,
            )
        flat, layout = _flatten(inputs)
        try:
            values = self._correction.evaluate(*flat)
        except Exception as err:  # correctionlib: RuntimeError/IndexError/ValueError
            raise CorrectionError(
                f"{self.name} could not be evaluated at its inputs ({', '.join(self.inputs)}): "
                f"{err}",
                file=self.file,
            ) from err
        return _restore(np.asarray(values), layout)

    __call__ = evaluate

    def variations(
        self, *inputs: Any, values: Sequence[str], axis: str | None = None
    ) -> dict[str, Any]:
        """``{value: correction}`` for each value of the systematic input ``axis`` (the
        correction's only string input by default): ``inputs`` give the others, in order."""
        names = self.inputs
        if axis is None:
            strings = [i.name for i in self._correction.inputs if i.type == "string"]
            if len(strings) != 1:
                raise CorrectionError(
                    f"{self.name} has string inputs {strings}: name the systematic one (axis=)",
                    file=self.file,
                )
            axis = strings[0]
        if axis not in names:
            raise MissingNameError("input", axis, names, file=self.file)
        position = names.index(axis)
        if len(inputs) != len(names) - 1:
            raise CorrectionError(
                f"give the {len(names) - 1} inputs other than {axis!r}: "
                f"{', '.join(n for n in names if n != axis)}",
                file=self.file,
            )
        flat, layout = _flatten(inputs)
        restore = _restorer(layout)
        out = {}
        for value in values:
            arguments = [*flat[:position], value, *flat[position:]]
            try:
                result = self._correction.evaluate(*arguments)
            except Exception as err:
                raise CorrectionError(
                    f"{self.name} could not be evaluated for {axis}={value!r}: {err}",
                    file=self.file,
                ) from err
            out[value] = restore(np.asarray(result))
        return out


def _flatten(inputs: Sequence[Any]) -> tuple[list[Any], Any]:
    """Flat NumPy inputs, and the layout to restore: the first jagged input's (all jagged
    inputs must share it; per-event inputs are broadcast to their events' objects)."""
    import awkward as ak

    layout = None
    for value in inputs:
        if isinstance(value, ak.Array) and value.ndim > 1:
            layout = value
            break
    flat = []
    for value in inputs:
        if isinstance(value, ak.Array):
            if layout is not None and value.ndim == 1:
                value = ak.broadcast_arrays(value, layout)[0]  # a per-event value, per object
            elif layout is not None and value.ndim != layout.ndim:
                raise CorrectionError(f"inputs of different depths: {value.type} and {layout.type}")
            flat.append(_buffer(ak.flatten(value, axis=None) if value.ndim > 1 else value))
        else:
            flat.append(value)
    return flat, layout


def _buffer(values: Any) -> Any:
    import awkward as ak

    if isinstance(values, ak.Array):
        layout = values.layout
        if isinstance(layout, ak.contents.NumpyArray):  # (no missing values possible)
            return layout.data
        if ak.any(ak.is_none(values, axis=-1)):
            raise CorrectionError("correction inputs have missing values (fill them first)")
        return ak.to_numpy(values)
    return values


def _restore(values: Any, layout: Any) -> Any:
    """``values`` (flat, in ``ak.flatten(layout, None)`` order) in the layout of ``layout``."""
    return _restorer(layout)(values)


def _restorer(layout: Any) -> Callable[[Any], Any]:
    """A function putting flat values back into ``layout``'s lists; the lists' counts are
    taken once, however many results (systematic values) are restored."""
    if layout is None:
        return lambda values: values
    import awkward as ak

    counts = [
        ak.to_numpy(ak.flatten(ak.num(layout, axis=depth), axis=None))
        for depth in range(layout.ndim - 1, 0, -1)
    ]
    offsets = []
    for level in counts:
        starts = np.zeros(len(level) + 1, np.int64)
        np.cumsum(level, out=starts[1:])
        offsets.append(ak.index.Index64(starts))

    def restore(values: Any) -> Any:
        content = ak.contents.NumpyArray(np.ascontiguousarray(values))
        for starts in offsets:
            content = ak.contents.ListOffsetArray(starts, content)
        return ak.Array(content)

    return restore
