"""What a PHYSLITE ``CollectionTree`` holds, worked out from branch metadata alone.

:func:`build_schema` reads no basket: it groups branches into collections
(``AnalysisJetsAuxDyn.pt`` -> collection ``Jets`` field ``pt``), classifies every field's
storage (one of the :data:`FieldKind` values), recognises the four ElementLink encodings, and
lists each branch it cannot decode with the reason, so :func:`afkit.inspect` can show it.

Event-level variables are looked up per variable across the places releases use:
``EventInfoAuxDyn.x`` first, then the split static member ``EventInfoAux.x``.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from afkit.io.physlite.storegate import BASE_CLASSES, element_class
from afkit.io.schema import (
    PRIMITIVES,
    CollectionSpec,
    FieldKind,
    FieldSpec,
    Schema,
    Undecodable,
    normalize_type,
)

#: Friendly names for the standard containers; every other container keeps its own name.
COLLECTION_ALIASES: dict[str, str] = {
    "AnalysisElectrons": "Electrons",
    "AnalysisMuons": "Muons",
    "AnalysisJets": "Jets",
    "AnalysisPhotons": "Photons",
    "AnalysisTauJets": "TauJets",
    "AnalysisLargeRJets": "LargeRJets",
    "BTagging_AntiKt4EMPFlow": "BTagging",
    "BTagging_AntiKt4EMPFlow_201903": "BTagging",
    "MET_Core_AnalysisMET": "MET",
    "METAssoc_AnalysisMET": "METAssociations",
}

#: Classes whose records carry (pt, eta, phi, m) and get four-vector behaviour.
MOMENTUM_CLASSES = frozenset(
    {
        "xAOD::Electron",
        "xAOD::Muon",
        "xAOD::Jet",
        "xAOD::Photon",
        "xAOD::TauJet",
        "xAOD::TruthParticle",
        "xAOD::TrackParticle",
        "xAOD::CaloCluster",
        "xAOD::Egamma",
        "xAOD::Particle",
    }
)

_LINK_RE = re.compile(r"^ElementLink<(.*)>$")
_AUX_SPLIT = re.compile(r"^(?P<container>[A-Za-z0-9_]+?)Aux(?P<dyn>Dyn)?\.(?P<member>[^.]+)$")
# Some Athena releases write a variable a second time under a doubled name (``X.v.v``).
_AUX_DOUBLED = re.compile(r"^(?P<container>[A-Za-z0-9_]+?)AuxDyn\.(?P<member>[^.]+)\.(?P=member)$")


def _strip_template(text: str, head: str) -> str | None:
    if text.startswith(head + "<") and text.endswith(">"):
        return text[len(head) + 1 : -1]
    return None


def classify(cpp_type: str, subbranches: list[str]) -> tuple[FieldKind, str | None, str | None]:
    """Return (kind, primitive dtype code or None, link element class or None) for a branch."""
    text = normalize_type(cpp_type)
    if text.endswith("[]"):  # leaf-list arrays uproot reports for split links' leaves
        text = f"vector<{text[:-2]}>"
    if text in PRIMITIVES:
        return "scalar", PRIMITIVES[text], None
    inner = _strip_template(text, "vector")
    if inner is not None:
        if inner in PRIMITIVES:
            return "list", PRIMITIVES[inner], None
        link = _LINK_RE.match(inner)
        if link:
            target = element_class(link.group(1))
            if any(s.endswith(".m_persKey") for s in subbranches) and any(
                s.endswith(".m_persIndex") for s in subbranches
            ):
                return "link", None, target
            return "link_vector", None, target
        inner2 = _strip_template(inner, "vector")
        if inner2 is not None:
            if inner2 in PRIMITIVES:
                return "nested", PRIMITIVES[inner2], None
            link = _LINK_RE.match(inner2)
            if link:
                return "link_nested", None, element_class(link.group(1))
        return "object", None, None
    link = _LINK_RE.match(text)
    if link:
        return "link_single", None, element_class(link.group(1))
    return "object", None, None


def collection_name(container: str) -> str:
    return COLLECTION_ALIASES.get(container, container)


def _is_single(cpp_class: str | None, fields: dict[str, FieldSpec]) -> bool:
    if cpp_class is not None:
        text = normalize_type(cpp_class)
        return not (text.startswith("DataVector<") or "Container" in text or "Map" in text)
    kinds = {f.kind for f in fields.values()}
    return bool(kinds & {"scalar", "static", "link_single"})


def build_schema(tree: Any) -> Schema:
    """Classify every branch of a PHYSLITE ``CollectionTree`` from its metadata."""
    interfaces: dict[str, str] = {}
    grouped: dict[str, dict[str, FieldSpec]] = {}
    static_fields: dict[str, dict[str, FieldSpec]] = {}
    undecodable: list[Undecodable] = []
    doubled_fields: list[tuple[str, FieldSpec]] = []

    for branch in tree.branches:
        name = branch.name
        if "Aux" not in name and "." not in name:
            interfaces[name] = branch.typename
            continue
        if name.endswith(("Aux.", "AuxDyn.")):
            _collect_static(tree.file, branch, static_fields, undecodable)
            continue
        match = _AUX_SPLIT.match(name)
        doubled = None if match else _AUX_DOUBLED.match(name)
        if not match and not doubled:
            undecodable.append(Undecodable(name, branch.typename, "not an xAOD aux-store branch"))
            continue
        found = match or doubled
        assert found is not None
        spec = _field_spec(found.group("member"), name, branch, undecodable)
        if spec is None:
            continue
        fields = grouped.setdefault(found.group("container"), {})
        if doubled:
            doubled_fields.append((found.group("container"), spec))
        else:
            fields[spec.name] = spec

    for container, spec in doubled_fields:
        fields = grouped.setdefault(container, {})
        if spec.name in fields:
            undecodable.append(
                Undecodable(spec.branch, spec.cpp_type, f"duplicate of {fields[spec.name].branch}")
            )
        else:
            fields[spec.name] = spec

    # Split static members are the fallback for variables AuxDyn does not hold.
    for container, fields in static_fields.items():
        target = grouped.setdefault(container, {})
        for fname, spec in fields.items():
            target.setdefault(fname, spec)

    collections: dict[str, CollectionSpec] = {}
    by_container: dict[str, str] = {}
    for container in sorted(set(grouped) | set(interfaces)):
        fields = grouped.get(container, {})
        if not fields:
            continue
        cpp_class = interfaces.get(container)
        name = collection_name(container)
        if name in collections:  # two containers aliasing to one name: keep both distinct
            name = container
        collections[name] = CollectionSpec(
            name=name,
            container=container,
            cpp_class=cpp_class,
            single=_is_single(cpp_class, fields),
            fields=dict(sorted(fields.items())),
            element_class=element_class(cpp_class) if cpp_class else None,
        )
        by_container[container] = name

    for collection in collections.values():
        _check_field_levels(collection, undecodable)
        _add_muon_mass(collection)
    return Schema(collections, undecodable, by_container)


def _add_muon_mass(spec: CollectionSpec) -> None:
    """PHYSLITE stores no muon mass: give muon collections the PDG value as field ``m`` (see
    :data:`afkit.units.MUON_MASS_MEV`), so that they behave as four-vectors."""
    from afkit.units import MUON_MASS_MEV

    names = set(spec.fields)
    if spec.single or spec.element_class != "xAOD::Muon" or names & {"m", "e"}:
        return
    if not {"pt", "eta", "phi"} <= names:
        return
    spec.fields["m"] = FieldSpec(
        "m", "constant", "", "double", np.dtype(np.float64), True, constant=MUON_MASS_MEV
    )
    spec.fields = dict(sorted(spec.fields.items()))


def _collect_static(
    file: Any,
    branch: Any,
    static_fields: dict[str, dict[str, FieldSpec]],
    undecodable: list[Undecodable],
) -> None:
    container = branch.name[: branch.name.index("Aux")]
    subbranches = list(branch.branches)
    if not subbranches:
        if _is_empty_base(branch.typename):
            return
        _collect_unsplit(file, branch, container, static_fields, undecodable)
        return
    for sub in subbranches:
        member = sub.name.split(".", 1)[1] if "." in sub.name else sub.name
        if member.startswith(("xAOD::", "SG::")):
            continue  # base-class placeholders with no data
        spec = _field_spec(member, sub.name, sub, undecodable)
        if spec is not None:
            static_fields.setdefault(container, {})[spec.name] = spec


def _collect_unsplit(
    file: Any,
    branch: Any,
    container: str,
    static_fields: dict[str, dict[str, FieldSpec]],
    undecodable: list[Undecodable],
) -> None:
    """Expose the numeric members of an unsplit single-object static store (``AuxInfo``)."""
    from afkit.exceptions import UnknownEncodingError
    from afkit.io.physlite.static_objects import object_plan
    from afkit.units import is_energy_field

    cpp_type = normalize_type(branch.typename)
    if "AuxContainer" in cpp_type:
        undecodable.append(
            Undecodable(branch.name, branch.typename, "unsplit static store of a container")
        )
        return
    try:
        plan = object_plan(file, branch.typename)
    except UnknownEncodingError as err:
        undecodable.append(
            Undecodable(branch.name, branch.typename, f"unsplit static store: {err}")
        )
        return
    fields = static_fields.setdefault(container, {})
    for member, dtype in plan.members:
        energy = dtype.kind == "f" and is_energy_field(member)
        fields.setdefault(
            member, FieldSpec(member, "static", branch.name, branch.typename, dtype, energy)
        )


def _is_empty_base(cpp_type: str) -> bool:
    return normalize_type(cpp_type) in ("xAOD::AuxInfoBase", "xAOD::AuxContainerBase")


def _field_spec(
    member: str, branch_name: str, branch: Any, undecodable: list[Undecodable]
) -> FieldSpec | None:
    from afkit.units import is_energy_field

    subnames = [s.name for s in branch.branches]
    cpp_type = branch.typename
    if cpp_type == "unknown" and len(branch.branches) == 1:  # split-level-1 single link wrapper
        cpp_type = branch.branches[0].typename
        if cpp_type == "unknown":
            cpp_type = branch.member("fClassName") if branch.has_member("fClassName") else "unknown"
    if cpp_type == "unknown" and branch.has_member("fClassName"):
        cpp_type = branch.member("fClassName")
    kind, code, link_class = classify(cpp_type, subnames)
    if kind == "object":
        interpretation = branch.interpretation
        if isinstance(interpretation, Exception) or type(interpretation).__name__.startswith(
            ("Unknown", "AsGroup")
        ):
            reason = f"type {cpp_type} has no reader in afkit or uproot"
        else:
            reason = "non-numeric type: not in the event record; read it with Events.branch(name)"
        undecodable.append(Undecodable(branch_name, cpp_type, reason))
        return None
    if kind.startswith("link") and link_class is None:
        undecodable.append(
            Undecodable(branch_name, cpp_type, "ElementLink to a class afkit cannot identify")
        )
        return None
    dtype = np.dtype(code) if code else None
    energy = dtype is not None and dtype.kind == "f" and is_energy_field(member)
    return FieldSpec(member, kind, branch_name, cpp_type, dtype, energy, link_class)


def _check_field_levels(spec: CollectionSpec, undecodable: list[Undecodable]) -> None:
    """Drop fields whose nesting does not fit the collection (reported, never guessed)."""
    allowed = (
        {"scalar", "static", "list", "link_single", "object"}
        if spec.single
        else {"list", "nested", "link", "link_vector", "link_nested", "object"}
    )
    for name in list(spec.fields):
        f = spec.fields[name]
        if f.kind not in allowed:
            undecodable.append(
                Undecodable(
                    f.branch,
                    f.cpp_type,
                    f"{f.kind} field in a {'single-object' if spec.single else 'list'} collection",
                )
            )
            del spec.fields[name]


def link_candidates(link_class: str, schema: Schema) -> list[str]:
    """Collections a link of ``link_class`` may point into (same class or a derived one)."""
    out = []
    for spec in schema.collections.values():
        cls = spec.element_class
        if spec.single or cls is None:
            continue
        if cls == link_class or link_class in BASE_CLASSES.get(cls, ()):
            out.append(spec.name)
    return out


def resolved_link_name(field_name: str) -> str:
    """``btaggingLink`` -> ``btagging``; ``trackParticleLinks`` -> ``trackParticles``.

    A link vector is named after its targets in the plural (``parentLinks`` -> ``parents``)
    unless the stem already is one (``childrenLinks`` -> ``children``, ``otherLinks`` ->
    ``others``, ``siblingsLinks`` -> ``siblings``)."""
    special = {"parentLinks": "parents", "childLinks": "children"}
    if field_name in special:
        return special[field_name]
    if field_name.endswith("Links"):
        stem = field_name[: -len("Links")]
        if _is_plural(stem):
            return stem
        return stem + ("es" if stem.lower().endswith(("ss", "x", "ch", "sh")) else "s")
    if field_name.endswith("Link"):
        return field_name[: -len("Link")]
    return field_name + "_resolved"


#: Plural nouns that do not end in "s" (the stems of link vectors seen in xAOD).
_IRREGULAR_PLURALS = frozenset({"children", "data", "vertices", "matrices", "indices"})


def _is_plural(stem: str) -> bool:
    last = re.split(r"(?=[A-Z])", stem)[-1].lower()  # the last word of a camelCase stem
    return last in _IRREGULAR_PLURALS or (last.endswith("s") and not last.endswith("ss"))
