"""What the parent loads before forking workers covers all the compiled code of a chunk."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import gc, json, sys
import numba
from afkit import executors
from afkit.agc import AGCProcessor
from afkit.executors.local import warm_parent
from afkit.executors.work import process_item
from afkit.fileset import Fileset

fileset = Fileset.load(sys.argv[1])
items = executors.plan(fileset, chunksize=2_000)
metadata = executors._metadata(fileset)
processor = AGCProcessor()
warm_parent(processor, items)

def loaded():
    return {
        f"{d.py_func.__module__}.{d.py_func.__name__}": len(d.overloads)
        for d in gc.get_objects()
        if isinstance(d, numba.core.registry.CPUDispatcher)
    }

before = loaded()
mc = next(i for i in items if not metadata[i.sample]["is_data"])
data = next(i for i in items if metadata[i.sample]["is_data"])
for item in (mc, data):
    outcome = process_item(processor, item, metadata[item.sample])
    assert outcome.error is None, outcome.error
after = loaded()
print(json.dumps(sorted(name for name, n in after.items() if n != before.get(name, 0))))
"""


def test_the_parent_warm_up_loads_every_kernel_a_chunk_needs(agc_fileset_path: Path) -> None:
    """A forked worker that has to load a kernel from Numba's cache pays milliseconds for it
    on its first chunk; after the parent's warm-up, an MC and a data chunk load nothing."""
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(agc_fileset_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
