"""Loading the reader's compiled code before work starts.

Numba loads a function's machine code from its disk cache the first time the function is
called with a given signature — a few milliseconds each.  :func:`afkit.run` calls
:func:`warm_up` in the parent before forking local workers, so that they inherit the loaded
code instead of each loading it again while reading its first chunk.  Every call here uses
the argument types the reader itself passes (read-only arrays where the reader wraps bytes).
"""

from __future__ import annotations

import numpy as np

from afkit.io.physlite import element_links, streamers
from afkit.io.rootio import baskets, branch, scan


def warm_up() -> None:
    """Call every compiled reading function once on empty or trivial input."""
    streamers.warm_up()
    record = np.frombuffer(bytes(32), np.uint8)  # read-only, like a tree record
    scan.decode_element(record, 0, 0, branch.LEAF_ELEMENT, np.empty(scan.B_COLUMNS, np.int64))
    scan.scan(record, 0, 0, 0)
    scan.identity_digest(record, np.empty((0, scan.COLUMNS), np.int64))
    baskets._cut_entries(
        np.empty(0, np.uint8),
        np.array([], np.int64).reshape(0, baskets._COLUMNS),
        np.empty(1, np.int64),
    )
    element_links.resolve_links(
        np.zeros(1, np.int64),
        np.zeros(1, np.uint32),
        np.zeros(1, np.uint32),
        {1: 0},
        [np.zeros(2, np.int64)],
    )
