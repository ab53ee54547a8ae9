"""afkit's RNTuple decoder against uproot (the oracle), file by file and feature by feature.

Every RNTuple in tests/data/rntuple is read field by field with afkit's own decoder and
compared value by value with uproot's reading of the same field; each feature file also has
a test of what that feature means (deferred columns give zeros, truncated floats keep the
bits they should, ...), so a reader that agrees with uproot for the wrong reason still fails.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
import pytest

from afkit.io.rntuple.ntuple import RNTuple, rntuple_keys
from afkit.io.rootio.source import LocalBytes
from tests.conftest import DATA

uproot = pytest.importorskip("uproot")

FOLDER = DATA / "rntuple"
FILES = sorted(p.name for p in FOLDER.glob("*.root"))
# 10^8 entries of one int16 field: compared on entry ranges, not whole (see its own test).
HUGE = "test_int_multicluster_rntuple_v1-0-0-0.root"


def open_all(name: str) -> list[tuple[RNTuple, Any]]:
    """(afkit's RNTuple, uproot's) for every RNTuple of the file."""
    path = FOLDER / name
    source = LocalBytes(str(path))
    opened = uproot.open(path)
    return [
        (RNTuple(source, key, str(path)), opened[key_name])
        for key_name, key in rntuple_keys(source).items()
    ]


def normalised(value: Any) -> Any:
    """A Python value with NaN comparable and records compared whatever their field order."""
    if isinstance(value, dict):
        return {k: normalised(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalised(v) for v in value]
    if isinstance(value, tuple):
        return ("tuple", *[normalised(v) for v in value])
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    return value


def assert_same(mine: ak.Array, theirs: ak.Array, where: str) -> None:
    assert len(mine) == len(theirs), where
    assert normalised(mine.to_list()) == normalised(theirs.to_list()), where


@pytest.mark.parametrize("name", [f for f in FILES if f != HUGE])
def test_every_field_equals_uproot(name: str) -> None:
    for mine, theirs in open_all(name):
        assert mine.num_entries == theirs.num_entries
        top = [k for k in theirs.keys() if "." not in k]  # noqa: SIM118 - iterating gives fields
        assert mine.field_names() == top
        names = mine.field_names()
        got, want = mine.arrays(names), theirs.arrays(names)
        for field in names:
            assert_same(got[field], want[field], f"{name}:{mine.name}.{field}")


@pytest.mark.parametrize("name", [f for f in FILES if f != HUGE])
def test_entry_ranges_equal_uproot(name: str) -> None:
    for mine, theirs in open_all(name):
        n = mine.num_entries
        cuts = sorted({0, 1, n // 3, n // 2, max(n - 1, 0), n})
        names = mine.field_names()
        for start, stop in itertools.pairwise(cuts):
            got = mine.arrays(names, start, stop)
            want = theirs.arrays(names, entry_start=start, entry_stop=stop)
            for field in names:
                assert_same(got[field], want[field], f"{name}:{field}[{start}:{stop}]")


def test_huge_single_cluster_file_on_ranges() -> None:
    ((mine, theirs),) = open_all(HUGE)
    assert mine.num_entries == theirs.num_entries == 100_000_000
    for start, stop in [(0, 1000), (49_999_990, 50_000_010), (99_999_000, 100_000_000)]:
        got = mine.arrays(["one_integers"], start, stop)["one_integers"].to_numpy()
        want = theirs.arrays(["one_integers"], entry_start=start, entry_stop=stop)
        assert np.array_equal(got, want["one_integers"].to_numpy())


def single(name: str) -> RNTuple:
    ((mine, _),) = open_all(name)
    return mine


def test_float_types_keep_the_stored_bits() -> None:
    """Real32Trunc keeps the top bits of the float; Real32Quant maps its range linearly."""
    nt = single("test_float_types_rntuple_v1-0-0-0.root")
    arrays = nt.arrays(nt.field_names())
    columns = {c.field: c for c in nt.schema.columns}
    for field in nt.field_names():
        values = np.asarray(arrays[field], np.float32)
        column = columns[nt.field(field).id]
        if field.startswith("trunc"):
            dropped = 32 - column.bits
            assert np.all(values.view(np.uint32) & np.uint32((1 << dropped) - 1) == 0), field
        else:
            low, high = column.value_range  # type: ignore[misc]
            assert np.all((values >= np.float32(low)) & (values <= np.float32(high))), field
    # the widest forms of both keep a float32 exactly
    assert arrays["trunc31"][0] == pytest.approx(1.2345678, abs=1e-6)
    assert arrays["quant32"][0] == pytest.approx(1.2345678, abs=1e-6)


def test_extension_columns_are_zero_before_they_were_added() -> None:
    nt = single("test_extension_columns_rntuple_v1-0-0-0.root")
    deferred = [c for c in nt.schema.columns if c.first_element > 0]
    assert deferred, "the file's late-added columns are deferred"
    arrays = nt.arrays(["float_field", "intvec_field"])
    first = min(c.first_element for c in deferred)
    assert np.all(np.asarray(arrays["float_field"][:first]) == 0)
    assert ak.all(ak.num(arrays["intvec_field"][:first]) == 0)
    assert arrays["float_field"][-1] != 0


def test_multiple_representations_switch_per_cluster() -> None:
    nt = single("test_multiple_representations_rntuple_v1-0-0-0.root")
    field = nt.field("real")
    reps = {nt.schema.columns[c].representation for c in field.columns}
    assert reps == {0, 1}
    primaries = set()
    for cluster in nt.clusters():
        live = [c for c in field.columns if not cluster.columns[c].suppressed]
        assert len(live) == 1
        primaries.add(live[0])
    assert len(primaries) == 2, "the file uses both representations"
    assert nt.arrays(["real"])["real"].to_list() == [1.0, 2.0, 3.0]


def test_multiple_clusters_and_groups() -> None:
    nt = single("test_multiple_cluster_groups_rntuple_v1-0-0-0.root")
    assert len(nt.groups) > 1
    assert len(nt.clusters()) > len(nt.groups)
    starts = nt.cluster_starts()
    assert starts[0] == 0
    assert starts[-1] == nt.num_entries
    assert all(a < b for a, b in itertools.pairwise(starts))


def test_bits_and_bitsets() -> None:
    bit = single("test_bit_rntuple_v1-0-0-0.root").arrays(["one_bit"])["one_bit"]
    assert str(bit.type) == "10 * bool"
    nt = single("test_atomic_bitset_rntuple_v1-0-0-0.root")
    bits = nt.arrays(["bitset"])["bitset"]
    assert str(bits.type) == "3 * 42 * bool"


def test_split_integers_zigzag_negative_values() -> None:
    nt = single("test_splitint_rntuple_v1-0-1-0.root")
    arrays = nt.arrays(nt.field_names())
    for field in ("int16", "int32", "int64"):
        assert np.any(np.asarray(arrays[field]) < 0), field


def test_projected_fields_read_their_source_columns() -> None:
    """NanoAOD from RNTupleImporter: Muon_pt is a projection of a collection's member."""
    nt = single("Run2012BC_DoubleMuParked_Muons_1000evts_rntuple_v1-0-0-0.root")
    arrays = nt.arrays(["nMuon", "Muon_pt"])
    assert ak.all(ak.num(arrays["Muon_pt"]) == arrays["nMuon"])


def test_two_rntuples_in_one_file() -> None:
    names = sorted(
        mine.name for mine, _ in open_all("rntviewer-testfile-multiple-rntuples-v1-0-0-0.root")
    )
    assert names == ["A", "B"]


def test_all_files_listed() -> None:
    assert len(FILES) >= 24
    assert HUGE in FILES
    assert Path(FOLDER / "SHA256SUMS").exists()
