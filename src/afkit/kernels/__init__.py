"""Hot-path kernels over jagged data (offsets + content), one API for CPU (Numba) and CUDA.

The implementation follows the data: NumPy inputs run the Numba CPU kernels
(:mod:`afkit.kernels._cpu`, compiled once and cached on disk), CUDA arrays (CuPy, numba device
arrays) run :mod:`afkit.kernels._cuda`.  Mixed inputs raise; nothing is copied between devices.
:mod:`afkit.kernels.reference` states what each kernel means and is the oracle in the tests.

Jagged arguments are ``offsets`` (int64, ``len = events + 1``, starting at 0) and flat content.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from afkit.kernels._dispatch import backend_of, implementation

__all__ = ["backend_of", "best_trijet_mass", "smearing_factors"]


def smearing_factors(event_numbers: Any, offsets: Any, *, width: float = 0.05) -> Any:
    """Jet pT smearing factors ``1 + width * z`` of AGC spec §5, one per jet.

    ``z`` comes from the counter-based generator keyed by (eventNumber, position of the jet in
    its event's full jet list), so results do not depend on chunking, executor or device.
    """
    backend = backend_of(event_numbers, offsets)
    if backend == "cpu":
        event_numbers = np.ascontiguousarray(event_numbers, dtype=np.uint64)
        offsets = np.ascontiguousarray(offsets, dtype=np.int64)
    return implementation(backend).smearing_factors(event_numbers, offsets, float(width))


def best_trijet_mass(offsets: Any, pt: Any, eta: Any, phi: Any, mass: Any, tagged: Any) -> Any:
    """Per event, m of the 3-jet system with >= 1 tagged jet and the largest vector-sum pT.

    Combinations i < j < k are visited in lexicographic order and the first maximum wins (AGC
    spec §4); no combination is materialised.  NaN for events without such a system.
    """
    backend = backend_of(offsets, pt, eta, phi, mass, tagged)
    if backend == "cpu":
        offsets = np.ascontiguousarray(offsets, dtype=np.int64)
        pt, eta, phi, mass = (
            np.ascontiguousarray(a, dtype=np.float64) for a in (pt, eta, phi, mass)
        )
        tagged = np.ascontiguousarray(tagged, dtype=np.bool_)
    return implementation(backend).best_trijet_mass(offsets, pt, eta, phi, mass, tagged)
