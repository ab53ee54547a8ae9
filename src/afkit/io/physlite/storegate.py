"""StoreGate keys: the ``m_persKey`` an ElementLink stores for its target container.

Athena hashes a container's StoreGate name together with the CLID of the class it is
recorded as: ``crc64addint(crc64(name), clid) & (2**30 - 1)``.  The CRC-64 uses the
reversed polynomial ``0x95AC9329AC4BC9B5``, is table driven, starts from all ones and has no
final xor.  Files without a ``MetaData`` tree carry no key -> name map, so the reader
recomputes keys from the container names present and the CLIDs below.
"""

from __future__ import annotations

_POLY = 0x95AC9329AC4BC9B5
_MASK64 = (1 << 64) - 1
_KEY_MASK = (1 << 30) - 1


def _make_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ _POLY if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_TABLE = _make_table()

#: CLIDs of the xAOD container classes PHYSLITE stores, keyed by the C++ element class
#: (version suffix stripped), as declared by each class's ``CLASS_DEF``.
CONTAINER_CLIDS: dict[str, int] = {
    "xAOD::TrackParticle": 1287425431,
    "xAOD::CaloCluster": 1219821989,
    "xAOD::TruthParticle": 1237340765,
    "xAOD::TruthVertex": 1239726567,
    "xAOD::TruthEvent": 1200227006,
    "xAOD::Jet": 1244316195,
    "xAOD::Vertex": 1092961325,
    "xAOD::BTagging": 1264356158,
    "xAOD::Electron": 1087532415,
    "xAOD::Photon": 1105575213,
    "xAOD::Egamma": 1087548811,
    "xAOD::Muon": 1178459224,
    "xAOD::TauJet": 1177172564,
    "xAOD::TauTrack": 1306133771,
    "xAOD::IParticle": 1241842700,
}

#: Base classes a container can also be linked through (``ElementLink<IParticleContainer>``,
#: ``ElementLink<EgammaContainer>``); StoreGate answers to the key of each.
BASE_CLASSES: dict[str, tuple[str, ...]] = {
    "xAOD::Electron": ("xAOD::Egamma", "xAOD::IParticle"),
    "xAOD::Photon": ("xAOD::Egamma", "xAOD::IParticle"),
    "xAOD::Egamma": ("xAOD::IParticle",),
    "xAOD::Muon": ("xAOD::IParticle",),
    "xAOD::Jet": ("xAOD::IParticle",),
    "xAOD::TauJet": ("xAOD::IParticle",),
    "xAOD::TrackParticle": ("xAOD::IParticle",),
    "xAOD::TruthParticle": ("xAOD::IParticle",),
    "xAOD::CaloCluster": ("xAOD::IParticle",),
}


def crc64(data: bytes, crc: int = _MASK64) -> int:
    """CRC-64 of ``data`` (Athena ``CxxUtils::crc64``: reflected, init all ones, no xor-out)."""
    for byte in data:
        crc = _TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc & _MASK64


def crc64addint(crc: int, value: int) -> int:
    """Fold a non-negative integer into ``crc`` byte by byte, lowest byte first."""
    while value > 0:
        crc = _TABLE[(crc ^ value) & 0xFF] ^ (crc >> 8)
        value >>= 8
    return crc & _MASK64


def storegate_key(name: str, clid: int) -> int:
    """The 30-bit StoreGate key of container ``name`` recorded with class ID ``clid``."""
    return crc64addint(crc64(name.encode()), clid) & _KEY_MASK


def element_class(cpp_class: str) -> str | None:
    """``DataVector<xAOD::Jet_v1>`` or ``xAOD::JetContainer_v1`` -> ``xAOD::Jet``; else None."""
    text = cpp_class.strip()
    if "Aux" in text:  # aux stores (JetAuxContainer_v1, AuxInfoBase) are not element classes
        return None
    if text.startswith("DataVector<") and text.endswith(">"):
        text = text[len("DataVector<") : -1].strip()
    for suffix in ("AuxContainer", "Container"):
        base, sep, _ = text.partition(suffix)
        if sep:
            text = base
            break
    head, sep, version = text.rpartition("_v")
    if sep and version.isdigit():
        text = head
    return text if text.startswith("xAOD::") else None
