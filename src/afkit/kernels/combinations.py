"""Combinatorics without materialising combinations: the best n-object system per event,
and the invariant masses of all pairs.

``best_combination(jets, 3, by="pt", require=btagged)`` is the AGC's trijet search for any
analysis: each event's combinations of ``n`` objects (2, 3 or 4) are visited in
lexicographic order inside one compiled loop — none is stored — and the first with the best
criterion wins.  ``pair_masses(leptons)`` gives every pair's invariant mass in
``ak.combinations`` order (or, with two collections, in ``ak.cartesian`` order).

Objects are awkward record arrays with ``pt``, ``eta``, ``phi`` and ``m`` (or ``mass``)
fields — any afkit collection — or, with ``offsets=``, a mapping of flat arrays.
Four-momenta are built as ``px = pt cos(phi)``, ``py = pt sin(phi)``, ``pz = pt sinh(eta)``,
``E = sqrt(px² + py² + pz² + m²)`` and summed component by component.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from afkit.exceptions import ConfigError
from afkit.kernels._arrays import array_module
from afkit.kernels._dispatch import implementation
from afkit.kernels._inputs import flat_mask, kinematics
from afkit.kernels._jagged import is_awkward, jagged, wrap_events, wrap_jagged

__all__ = ["BestCombination", "best_combination", "pair_masses"]

#: Criteria of :func:`best_combination` and their codes in the compiled kernels.
CRITERIA = {"pt": 0, "mass": 1, "sum_pt": 3}


class BestCombination:
    """The chosen combination of each event, and its summed four-momentum.

    ``index``: the chosen objects' positions in each event's list (``n * ?int64``, None for
    events without a valid combination; with ``offsets=``, ``(events, n)`` with -1).
    ``pt``, ``eta``, ``phi``, ``mass``: of the sum (None or NaN without a combination),
    each computed from the summed (px, py, pz, E) when first asked for.
    """

    def __init__(self, index: Any, sums: Any, backend: str, awkward: bool, missing: Any) -> None:
        self._index = index
        self._sums = sums
        self._backend = backend
        self._awkward = awkward
        self._missing = missing
        self._found = index[:, 0] >= 0 if len(index) else array_module(backend).zeros(0, bool)
        self._cache: dict[str, Any] = {}

    @property
    def index(self) -> Any:
        if "index" not in self._cache:
            index = self._index
            if self._awkward:
                import awkward as ak

                xp = array_module(self._backend)
                index = ak.mask(ak.Array(xp.ascontiguousarray(index)), ak.Array(self._found))
                if self._missing is not None:
                    index = ak.mask(index, ak.Array(~self._missing))
            self._cache["index"] = index
        return self._cache["index"]

    def _per_event(self, name: str, compute: Any) -> Any:
        if name not in self._cache:
            xp = array_module(self._backend)
            sx, sy, sz, se = self._sums[0], self._sums[1], self._sums[2], self._sums[3]
            with np.errstate(invalid="ignore", divide="ignore"):
                values = compute(xp, sx, sy, sz, se)
            if self._awkward:
                values = wrap_events(values, self._backend, self._missing, present=self._found)
            self._cache[name] = values
        return self._cache[name]

    @property
    def pt(self) -> Any:
        return self._per_event("pt", lambda xp, sx, sy, sz, se: xp.sqrt(sx * sx + sy * sy))

    @property
    def eta(self) -> Any:
        return self._per_event(
            "eta", lambda xp, sx, sy, sz, se: xp.arcsinh(sz / xp.sqrt(sx * sx + sy * sy))
        )

    @property
    def phi(self) -> Any:
        return self._per_event("phi", lambda xp, sx, sy, sz, se: xp.arctan2(sy, sx))

    @property
    def mass(self) -> Any:
        """``sqrt(max(E E - px px - py py - pz pz, 0))``, in the kernels' order."""
        return self._per_event(
            "mass",
            lambda xp, sx, sy, sz, se: xp.where(
                xp.isnan(se),
                np.nan,
                xp.sqrt(xp.maximum(se * se - sx * sx - sy * sy - sz * sz, 0.0)),
            ),
        )


def _mask_or(value: Any, n: int, backend: str, offsets: Any, what: str, awkward: bool) -> Any:
    if value is None:
        return array_module(backend).ones(n, dtype=bool)
    if awkward:
        column = jagged(value, what, dtype=np.bool_)
        if len(column.content) != n or column.backend != backend:
            raise ConfigError(f"{what} does not go with the objects (another collection?)")
        use = column.content
        return use & column.valid if column.valid is not None else use
    return flat_mask(value, n, backend, what)


def best_combination(
    objects: Any,
    n: int,
    *,
    by: str = "pt",
    target: float | None = None,
    require: Any = None,
    require_min: int = 1,
    mask: Any = None,
    offsets: Any = None,
) -> BestCombination:
    """Per event, the best combination of ``n`` (2, 3 or 4) objects.

    Args:
        objects: a list per event of records with pt, eta, phi, m (``events.Jets``), or a
            mapping of flat arrays ``{"pt": ..., "eta": ..., "phi": ..., "mass": ...}`` with
            ``offsets=``.
        n: objects per combination.
        by: ``"pt"`` — the largest vector-sum pT; ``"mass"`` — the largest invariant mass,
            or with ``target`` the mass closest to it (a Z or top candidate);
            ``"sum_pt"`` — the largest scalar sum of pT.
        require: a per-object mask (b-tagged jets, say): only combinations with at least
            ``require_min`` such objects count.
        mask: the objects that take part at all (selected jets); positions in ``index``
            still count every object of the event.
        offsets: per-event offsets when ``objects`` is a mapping of flat arrays.

    Ties go to the first combination in lexicographic order of positions; events without a
    valid combination give None (NaN and -1 with ``offsets=``).
    """
    if n not in (2, 3, 4):
        raise ConfigError(f"n must be 2, 3 or 4, not {n!r}")
    if by not in CRITERIA:
        raise ConfigError(f"by must be one of {', '.join(CRITERIA)}, not {by!r}")
    if target is not None and by != "mass":
        raise ConfigError("target= goes with by='mass' (the mass closest to the target)")
    if not isinstance(require_min, int) or not 0 <= require_min <= n:
        raise ConfigError(f"require_min must be an integer from 0 to {n}, not {require_min!r}")
    awkward = is_awkward(objects)
    offs, kin, backend, missing = kinematics(objects, "objects", offsets)
    n_objects = len(kin["pt"])
    eligible = _mask_or(mask, n_objects, backend, offs, "mask", awkward)
    required = _mask_or(require, n_objects, backend, offs, "require", awkward)
    if require is None:
        require_min = 0
    code = 2 if (by == "mass" and target is not None) else CRITERIA[by]
    index, sums = implementation(backend).best_combination(
        offs, kin["pt"], kin["eta"], kin["phi"], kin["mass"], eligible, required, n,
        require_min, code, float(target or 0.0),
    )  # fmt: skip
    return BestCombination(index, sums, backend, awkward, missing)


def pair_masses(
    a: Any,
    b: Any = None,
    *,
    mask_a: Any = None,
    mask_b: Any = None,
    offsets: Any = None,
    offsets_b: Any = None,
) -> Any:
    """Per event, the invariant mass of every pair: of two objects of ``a`` (``i < j``, in
    ``ak.combinations(a, 2)`` order), or with ``b`` of one object of each (``ak.cartesian``
    order).  ``mask_a``/``mask_b`` keep only some objects (as ``a[mask_a]`` would).

    Returns ``var * float64`` per event (flat masses and their offsets with ``offsets=``).
    """
    awkward = is_awkward(a)
    offs_a, kin_a, backend, missing = kinematics(a, "a", offsets)
    eligible_a = _mask_or(mask_a, len(kin_a["pt"]), backend, offs_a, "mask_a", awkward)
    kernels = implementation(backend)
    p4a = kernels.four_momenta(kin_a["pt"], kin_a["eta"], kin_a["phi"], kin_a["mass"])
    same = b is None
    if same:
        if mask_b is not None:
            raise ConfigError("mask_b= goes with a second collection b")
        offs_b, p4b, eligible_b = offs_a, p4a, eligible_a
    else:
        if is_awkward(b) != awkward:
            raise ConfigError("give a and b in the same form (both awkward, or both flat)")
        offs_b, kin_b, backend_b, _ = kinematics(b, "b", offsets_b)
        if backend_b != backend:
            raise ConfigError(f"a lives on {backend}, b on {backend_b}: move one explicitly")
        if len(offs_b) != len(offs_a):
            raise ConfigError(f"a has {len(offs_a) - 1} events, b {len(offs_b) - 1}")
        eligible_b = _mask_or(mask_b, len(kin_b["pt"]), backend, offs_b, "mask_b", awkward)
        p4b = kernels.four_momenta(kin_b["pt"], kin_b["eta"], kin_b["phi"], kin_b["mass"])
    out_offsets = kernels.pair_counts(offs_a, eligible_a, offs_b, eligible_b, same)
    masses = kernels.pair_masses(
        offs_a, p4a, eligible_a, offs_b, p4b, eligible_b, same, out_offsets
    )
    if not awkward:
        return masses, out_offsets
    return wrap_jagged(out_offsets, masses, backend, missing)
