"""awkward behaviours of the event model: four-vectors through ``vector``, exact projection.

Records of objects with kinematics are named ``afkit.Momentum`` and behave as ``vector``
``Momentum4D`` records (``.px``, ``.deltaR``, ``j1 + j2``, ``.mass``), with the coordinates
picked explicitly — (pt, phi) or (px, py); eta or pz; **m before e** — so that collections
storing both ``m`` and ``e`` (truth particles) do not trip vector's "multiple temporal
aliases" check.  Other records are ``afkit.Object``.

Both array classes raise :class:`~afkit.exceptions.MissingBranchError` (a ``KeyError`` and an
``AttributeError``) with the closest names for an unknown field, and let afkit's own errors
through instead of awkward's generic ``AttributeError``.
"""

from __future__ import annotations

import itertools
from typing import Any

import awkward as ak
import vector
import vector.backends.awkward as vak

SOURCE_ATTR = "@afkit.source"
COLLECTION_PARAM = "afkit.collection"
#: ``"Jets/btaggingLink"`` on the records a link resolves to (see :func:`_announce`)
LINK_PARAM = "afkit.link"
MOMENTUM = "afkit.Momentum"
OBJECT = "afkit.Object"
EVENTS = "afkit.Events"


def unwrap_afkit_error(err: AttributeError) -> None:
    """awkward turns errors inside attribute access into AttributeError; re-raise ours."""
    from afkit.exceptions import AfkitError

    cause = err.__cause__
    while cause is not None and not isinstance(cause, AfkitError):
        cause = cause.__cause__
    if cause is not None:
        raise cause from None


def missing_field(array: Any, where: str) -> None:
    """Raise MissingBranchError (a KeyError and AttributeError) for an unknown field name."""
    from afkit.exceptions import MissingBranchError

    source = array.attrs.get(SOURCE_ATTR) if array.attrs else None
    try:
        collection = array.layout.purelist_parameters(COLLECTION_PARAM)
    except Exception:  # noqa: BLE001
        collection = None
    where_text = f"collection {collection!r}" if isinstance(collection, str) else "record"
    raise MissingBranchError(
        "field", where, array.fields, file=getattr(source, "file", None), where=where_text
    )


def _announce(array: Any, where: str) -> None:
    """Tell the chunk's source which field of a link's targets is about to be read
    (``jets.btagging["DL1dv01_pb"]``): a target collection without a kinematic field to
    count its objects from can then count them from this field instead of reading another
    branch only for that."""
    attrs = array.attrs
    announce = getattr(attrs.get(SOURCE_ATTR), "announce_link_field", None) if attrs else None
    if announce is None:
        return
    try:
        link = array.layout.purelist_parameters(LINK_PARAM)
    except Exception:  # noqa: BLE001 - only a preference
        return
    if isinstance(link, str):
        announce(link, where)


class _CheckedFields:
    """Mixin: unknown field names raise MissingBranchError; afkit errors are not re-wrapped."""

    def __getitem__(self, where: Any) -> Any:
        if isinstance(where, str):
            if where not in self.fields:
                missing_field(self, where)
            _announce(self, where)
        return super().__getitem__(where)  # type: ignore[misc]

    def __getattr__(self, where: str) -> Any:
        if where.startswith("_"):
            return super().__getattr__(where)  # type: ignore[misc]
        if where not in self.fields:
            missing_field(self, where)
        _announce(self, where)
        try:
            return super().__getattr__(where)  # type: ignore[misc]
        except AttributeError as err:
            unwrap_afkit_error(err)
            raise


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


class _StoredCoordinates:
    """The stored coordinates as they are: ``jets.pt`` returns the ``pt`` field itself.

    vector computes ``pt``, ``eta``, ``phi`` and ``mass`` through its coordinate dispatch
    (~1 ms per access, whatever the array's size) even when the value is stored; an analysis
    touches them dozens of times per chunk.  Only what vector would compute anyway is left
    to it (``mass`` of a record that stores ``e`` but no ``m``, say).
    """

    def _stored(self, names: tuple[str, ...]) -> Any:
        fields = self.fields  # type: ignore[attr-defined]
        for name in names:
            if name in fields:
                return self[name]  # type: ignore[index]
        return None

    @property
    def pt(self) -> Any:
        found = self._stored(("pt",))
        return found if found is not None else super().pt  # type: ignore[misc]

    @property
    def eta(self) -> Any:
        found = self._stored(("eta",))
        return found if found is not None else super().eta  # type: ignore[misc]

    @property
    def phi(self) -> Any:
        found = self._stored(("phi",))
        return found if found is not None else super().phi  # type: ignore[misc]

    @property
    def mass(self) -> Any:
        found = self._stored(("m", "mass"))
        return found if found is not None else super().mass  # type: ignore[misc]

    @property
    def m(self) -> Any:
        found = self._stored(("m", "mass"))
        return found if found is not None else super().m  # type: ignore[misc]


class MomentumArray(_CheckedFields, _StoredCoordinates, _ExplicitCoordinates, vak.MomentumArray4D):
    """Array of PHYSLITE/NanoAOD objects with four-momentum behaviour."""


class MomentumRecord(_ExplicitCoordinates, vak.MomentumRecord4D):
    """One object with four-momentum behaviour."""


class ObjectArray(_CheckedFields, ak.Array):  # type: ignore[misc]
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
                for pos, name in zip(positions, choice, strict=True):
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
