"""awkward behaviours of the event model: four-vectors through ``vector``, exact projection.

Records of objects with kinematics are named ``afkit.Momentum`` and behave as ``vector``
``Momentum4D`` records (``.px``, ``.deltaR``, ``j1 + j2``, ``.mass``), with the coordinates
picked explicitly — (pt, phi) or (px, py); eta or pz; **m before e** — so that collections
storing both ``m`` and ``e`` (truth particles) do not trip vector's "multiple temporal
aliases" check.  Other records are ``afkit.Object``.

Both array classes make field access exact: ``events.Jets.eta`` first reads the ``eta`` branch
(and takes the jet counts from it) before awkward asks for the list offsets, so a field read
on its own costs that one branch.
"""

from __future__ import annotations

import itertools
from typing import Any

import awkward as ak
import vector
import vector.backends.awkward as vak

SOURCE_ATTR = "@afkit.source"
COLLECTION_PARAM = "afkit.collection"
MOMENTUM = "afkit.Momentum"
OBJECT = "afkit.Object"
EVENTS = "afkit.Events"


class _ExactProjection:
    """Mixin: before projecting a field, let the source read exactly that branch."""

    def _afkit_prefetch(self, where: Any) -> None:
        if not isinstance(where, str):
            return
        source = self.attrs.get(SOURCE_ATTR) if self.attrs else None  # type: ignore[attr-defined]
        if source is None:
            return
        try:
            collection = self.layout.purelist_parameters(COLLECTION_PARAM)  # type: ignore[attr-defined]
        except Exception:  # noqa: BLE001 - unusual layouts simply skip the optimisation
            return
        if isinstance(collection, str):
            source.prefetch(collection, where)

    def __getitem__(self, where: Any) -> Any:
        self._afkit_prefetch(where)
        return super().__getitem__(where)  # type: ignore[misc]

    def __getattr__(self, where: str) -> Any:
        if not where.startswith("_"):
            self._afkit_prefetch(where)
        return super().__getattr__(where)  # type: ignore[misc]


class _ExplicitCoordinates:
    """Pick vector coordinates by name instead of letting aliases collide."""

    def __awkward_validation__(self) -> None:
        """Coordinates are chosen explicitly below, so vector's alias check does not apply."""

    @property
    def azimuthal(self) -> Any:
        fields = self.fields  # type: ignore[attr-defined]
        if "pt" in fields and "phi" in fields:
            return vak.AzimuthalAwkwardRhoPhi(self["pt"], self["phi"])  # type: ignore[index]
        return vak.AzimuthalAwkwardXY(self["px"], self["py"])  # type: ignore[index]

    @property
    def longitudinal(self) -> Any:
        fields = self.fields  # type: ignore[attr-defined]
        if "eta" in fields:
            return vak.LongitudinalAwkwardEta(self["eta"])  # type: ignore[index]
        return vak.LongitudinalAwkwardZ(self["pz"])  # type: ignore[index]

    @property
    def temporal(self) -> Any:
        fields = self.fields  # type: ignore[attr-defined]
        for name in ("m", "mass"):
            if name in fields:
                return vak.TemporalAwkwardTau(self[name])  # type: ignore[index]
        return vak.TemporalAwkwardT(self["e"])  # type: ignore[index]


class MomentumArray(_ExactProjection, _ExplicitCoordinates, vak.MomentumArray4D):  # type: ignore[misc]
    """Array of PHYSLITE/NanoAOD objects with four-momentum behaviour."""


class MomentumRecord(_ExplicitCoordinates, vak.MomentumRecord4D):  # type: ignore[misc]
    """One object with four-momentum behaviour."""


class ObjectArray(_ExactProjection, ak.Array):  # type: ignore[misc]
    """Array of objects without kinematics (b-tagging, vertices, MET terms)."""


def has_kinematics(fields: set[str] | list[str]) -> bool:
    """True when a record's fields give vector a full four-momentum."""
    names = set(fields)
    transverse = {"pt", "phi"} <= names or {"px", "py"} <= names
    longitudinal = "eta" in names or "pz" in names
    temporal = bool(names & {"m", "mass", "e"})
    return transverse and longitudinal and temporal


def _copied(from_name: str, to_name: str, source: dict[Any, Any]) -> dict[Any, Any]:
    """Copy behaviours of ``from_name`` to ``to_name``, including mixed-name operator pairs."""
    out: dict[Any, Any] = {}
    for key, value in source.items():
        if key == from_name:
            out[to_name] = value
        elif isinstance(key, tuple) and from_name in key:
            positions = [i for i, k in enumerate(key) if k == from_name]
            for choice in itertools.product((from_name, to_name), repeat=len(positions)):
                new = list(key)
                for pos, name in zip(positions, choice):
                    new[pos] = name
                out[tuple(new)] = value
    return out


def _make_behavior() -> dict[Any, Any]:
    vector.register_awkward()
    behavior: dict[Any, Any] = dict(vak.behavior)
    behavior.update(_copied("Momentum4D", MOMENTUM, vak.behavior))
    behavior[MOMENTUM] = MomentumRecord
    behavior[("*", MOMENTUM)] = MomentumArray
    behavior[("*", OBJECT)] = ObjectArray
    from afkit.events.events import Events

    behavior[("*", EVENTS)] = Events
    return behavior


_BEHAVIOR: dict[Any, Any] | None = None


def behavior() -> dict[Any, Any]:
    """The awkward behaviour dict every afkit event model is built with."""
    global _BEHAVIOR
    if _BEHAVIOR is None:
        _BEHAVIOR = _make_behavior()
    return _BEHAVIOR
