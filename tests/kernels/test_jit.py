"""afkit's kernels load without other packages' Numba extensions; users' kernels still get them.

Each case runs in a fresh interpreter: whether Numba's extension entry points have run is
state of the whole process.
"""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import entry_points

import pytest

_EXTENSIONS = [ep.value for ep in entry_points(group="numba_extensions")]


def _run(code: str) -> dict[str, object]:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.skipif(
    not any(e.startswith("awkward") for e in _EXTENSIONS),
    reason="awkward registers no Numba extension here",
)
def test_afkit_kernels_leave_extensions_for_a_users_own_kernel() -> None:
    code = """
import json, sys
import numpy as np
import awkward as ak
import numba
from numba.core import entrypoints
from afkit import kernels

offsets = np.array([0, 2, 2, 5], np.int64)
values = np.array([1.0, 3.0, 2.0, 7.0, 5.0])
leading = kernels.leading(ak.Array(ak.contents.ListOffsetArray(
    ak.index.Index64(offsets), ak.contents.NumpyArray(values))), 1)
after_afkit = entrypoints._already_initialized

@numba.njit
def total(array):  # a user's kernel over an awkward array needs awkward's extension
    s = 0.0
    for row in array:
        for x in row:
            s += x
    return s

users = total(ak.Array([[1.0, 2.0], [], [3.5]]))
print(json.dumps({"leading": ak.to_list(leading), "after_afkit": after_afkit,
                  "after_user": entrypoints._already_initialized, "users": users}))
"""
    result = _run(code)
    assert result["leading"] == [[1.0], [None], [2.0]]  # the first object (None: none)
    assert result["after_afkit"] is False  # afkit's kernel loaded no extension
    assert result["after_user"] is True  # the user's first kernel loaded them
    assert result["users"] == 6.5


def test_deferral_is_undone_after_the_block() -> None:
    code = """
import json
from numba.core import entrypoints
from afkit._jit import extensions_deferred
before = entrypoints._already_initialized
with extensions_deferred():
    inside = entrypoints._already_initialized
try:
    with extensions_deferred():
        raise ValueError
except ValueError:
    pass
print(json.dumps({"before": before, "inside": inside,
                  "after": entrypoints._already_initialized}))
"""
    assert _run(code) == {"before": False, "inside": True, "after": False}


def test_kernels_are_placeholders_until_numba_is_first_needed() -> None:
    """Importing afkit's readers imports no Numba; the first kernel call sets it up and puts
    the dispatchers in place in every afkit module (an alias imported elsewhere included),
    and a placeholder kept from before still works, called from Python, pickled, or passed
    to a user's own compiled function."""
    code = """
import json, pickle, sys
import numpy as np
from afkit.io.rootio import baskets, bigendian, bytecopy
kept = bigendian.u32
before = {"numba": "numba" in sys.modules, "repr": repr(kept),
          "pickled": pickle.loads(pickle.dumps(kept)) is kept}
data = np.array([0, 0, 1, 2], np.uint8)
value = int(kept(data, 0))  # Numba set up here
import numba
from numba.core.dispatcher import Dispatcher

@numba.njit
def call(f, d):
    return f(d, 0)

print(json.dumps({**before, "value": value, "through_user_kernel": int(call(kept, data)),
                  "swapped": isinstance(bigendian.u32, Dispatcher),
                  "alias_swapped": isinstance(bytecopy.move_bytes, Dispatcher),
                  "intrinsic_swapped": not type(bytecopy._raw_move).__name__ == "Deferred",
                  "baskets_ready": isinstance(baskets._cut_entries, Dispatcher)}))
"""
    result = _run(code)
    assert result["numba"] is False
    assert "deferred" in str(result["repr"])
    assert result["pickled"] is True
    assert result["value"] == result["through_user_kernel"] == 258
    assert result["swapped"]
    assert result["alias_swapped"]
    assert result["intrinsic_swapped"]
    assert result["baskets_ready"]


def test_a_placeholder_declared_during_the_set_up_is_made_at_its_first_use() -> None:
    """A module imported by another thread while Numba was being set up leaves a
    placeholder the set-up did not see: its first use makes it."""
    code = """
import json
import afkit._jit as jit
jit._set_up_numba()
late = jit.Deferred(lambda: (lambda x: x + 1), "afkit.late", "late", None)
print(json.dumps({"value": late(1), "made": late._made is not None}))
"""
    assert _run(code) == {"value": 2, "made": True}
