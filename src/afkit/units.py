"""afkit's unit policy: energies, momenta and masses in GeV by default, MeV on request.

PHYSLITE stores them as float32 MeV.  With ``units="GeV"`` (the default) every field this
module classifies as energy-like is converted to float64 first and then divided by 1000 — the
order the AGC specification prescribes, so all implementations agree to rounding.  With
``units="MeV"`` values come back exactly as stored.  NanoAOD already stores GeV and is never
scaled.

A field is energy-like when its name (case-insensitive) is one of :data:`ENERGY_NAMES`, starts
with one of :data:`ENERGY_PREFIXES`, or ends with one of :data:`ENERGY_SUFFIXES`.  Angles,
distances, counts, flags and discriminants keep their stored values and dtype.
"""

from __future__ import annotations

from typing import Literal

from afkit.exceptions import ConfigError

Units = Literal["GeV", "MeV"]

MEV_PER_GEV = 1000.0

#: The muon mass [MeV] (PDG), which PHYSLITE does not store: ``Muons.m`` of a file without an
#: ``m`` branch is this constant (float64), so that muons are four-vectors like the other
#: leptons; in GeV it is converted like every field, giving exactly 0.1056583755.
MUON_MASS_MEV = 105.6583755

ENERGY_NAMES = frozenset(
    {
        "pt",
        "m",
        "e",
        "et",
        "px",
        "py",
        "pz",
        "mass",
        "energy",
        "mpx",
        "mpy",
        "sumet",
        "calpx",
        "calpy",
        "calpz",
        "cale",
        "calsumpt",
        "trkpx",
        "trkpy",
        "trkpz",
        "trke",
        "trksumpt",
        "jettrkpx",
        "jettrkpy",
        "jettrkpz",
        "jettrke",
        "jettrksumpt",
        "energypersampling",
        "ptdetectoraxis",
        "ptjetseed",
        "pttauenergyscale",
        "mtauenergyscale",
        "ptfinalcalib",
        "mfinalcalib",
        "ptintermediateaxis",
        "mintermediateaxis",
        "ptcombined",
        "mcombined",
    }
)
ENERGY_PREFIXES = ("ptcone", "ptvarcone", "topoetcone", "etcone", "neflowisol", "sumpt")
ENERGY_SUFFIXES = ("_pt", "_m", "_e", "_et", "_px", "_py", "_pz", "_mass", "_sumet")


def is_energy_field(name: str) -> bool:
    """True if a PHYSLITE field called ``name`` holds an energy, momentum or mass."""
    lowered = name.lower()
    return (
        lowered in ENERGY_NAMES
        or lowered.startswith(ENERGY_PREFIXES)
        or lowered.endswith(ENERGY_SUFFIXES)
    )


def check_units(units: str) -> Units:
    """Validate a ``units=`` argument."""
    if units not in ("GeV", "MeV"):
        raise ConfigError(f"units must be 'GeV' or 'MeV', not {units!r}")
    return units  # type: ignore[return-value]
