"""Every field afkit exposes equals uproot's reading of the same branch (where uproot is right).

uproot is the independent oracle for plain ``vector<T>``, ``vector<vector<T>>``, scalar and
split-link branches.  Encodings uproot cannot read are checked against bytes in
``test_element_links.py``.
"""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot

import afkit


@pytest.fixture(scope="module")
def opened(physlite: Path) -> tuple[afkit.Events, afkit.Events, object]:
    return (
        afkit.read(physlite, units="MeV"),
        afkit.read(physlite),
        uproot.open(physlite)["CollectionTree"],
    )


def _fields(events: afkit.Events, kinds: set[str]):  # type: ignore[no-untyped-def]
    for name, spec in events.source.schema.collections.items():
        for f in spec.fields.values():
            if f.kind in kinds:
                yield name, spec, f


def test_every_list_field_equals_uproot(opened) -> None:  # type: ignore[no-untyped-def]
    mev, _, tree = opened
    checked = 0
    for name, spec, f in _fields(mev, {"list"}):
        mine = mev[name][f.name]
        ref = tree[f.branch].array()
        counts_mine, counts_ref = ak.to_numpy(ak.num(mine)), ak.to_numpy(ak.num(ref))
        if not np.array_equal(counts_mine, counts_ref):
            # a decoration missing from some events: uproot shows no values there, afkit NaN
            absent = counts_mine != counts_ref
            assert not spec.single
            assert np.all(counts_ref[absent] == 0)
            assert ak.all(np.isnan(ak.flatten(mine[absent])))
            mine, ref = mine[~absent], ref[~absent]
        assert np.array_equal(
            ak.to_numpy(ak.flatten(mine)), ak.to_numpy(ak.flatten(ref)), equal_nan=True
        ), f.branch
        checked += 1
    assert checked > 400


def test_every_nested_field_equals_uproot(opened) -> None:  # type: ignore[no-untyped-def]
    mev, _, tree = opened
    checked = 0
    for name, _, f in _fields(mev, {"nested"}):
        mine = mev[name][f.name]
        ref = tree[f.branch].array()
        assert ak.to_list(ak.num(mine, axis=2)) == ak.to_list(ak.num(ref, axis=2)), f.branch
        assert np.array_equal(
            ak.to_numpy(ak.flatten(mine, axis=None)),
            ak.to_numpy(ak.flatten(ref, axis=None)),
            equal_nan=True,
        ), f.branch
        checked += 1
    assert checked >= 5


def test_every_scalar_field_equals_uproot(opened) -> None:  # type: ignore[no-untyped-def]
    mev, _, tree = opened
    checked = 0
    for name, _, f in _fields(mev, {"scalar"}):
        assert np.array_equal(
            ak.to_numpy(mev[name][f.name]), tree[f.branch].array(library="np"), equal_nan=True
        ), f.branch
        checked += 1
    assert checked >= 40


def test_split_links_equal_uproot(opened) -> None:  # type: ignore[no-untyped-def]
    mev, _, tree = opened
    checked = 0
    for name, _, f in _fields(mev, {"link"}):
        raw = mev[name][f.name]
        keys = tree[f.branch + ".m_persKey"].array()
        indices = tree[f.branch + ".m_persIndex"].array()
        if ak.to_list(ak.num(keys)) != ak.to_list(ak.num(raw)):
            continue  # absent in some events: covered by test_partial_decorations
        assert ak.to_list(raw.m_persKey) == ak.to_list(keys), f.branch
        assert ak.to_list(raw.m_persIndex) == ak.to_list(indices), f.branch
        checked += 1
    assert checked >= 10


def test_gev_is_float64_mev_over_1000(opened) -> None:  # type: ignore[no-untyped-def]
    mev, gev, _ = opened
    for collection, field in [("Jets", "pt"), ("Jets", "m"), ("Electrons", "pt"), ("MET", "mpx")]:
        stored = ak.to_numpy(ak.flatten(mev[collection][field]))
        converted = ak.to_numpy(ak.flatten(gev[collection][field]))
        assert stored.dtype in (np.float32, np.float64)  # r21 stores MET terms as double
        assert converted.dtype == np.float64
        assert np.array_equal(converted, stored.astype(np.float64) / 1000.0)
    # non-energies keep their stored values and type
    assert ak.array_equal(gev.Jets.eta, mev.Jets.eta)
    assert ak.flatten(gev.Jets.eta).layout.dtype == np.float32


def test_units_argument_is_validated(physlite: Path) -> None:
    with pytest.raises(afkit.ConfigError, match="units"):
        afkit.read(physlite, units="TeV")


@pytest.mark.parametrize(
    ("name", "totals"),
    [
        ("DAOD_PHYSLITE_21.2.108.0.art.pool.root", (13, 21, 372)),
        ("uproot-issue-951.root", (27, 19, 455)),
    ],
)
def test_object_totals_match_the_format_note(name: str, totals: tuple[int, int, int]) -> None:
    from tests.conftest import data_file

    events = afkit.read(data_file(name))
    got = tuple(int(ak.sum(ak.num(events[c]))) for c in ("Electrons", "Muons", "Jets"))
    assert got == totals


def test_event_numbers_in_every_release(opened) -> None:  # type: ignore[no-untyped-def]
    _, gev, tree = opened
    info = gev.EventInfo
    for field in ("runNumber", "eventNumber", "lumiBlock", "mcChannelNumber"):
        branch = gev.source.schema.collections["EventInfo"].fields[field].branch
        assert np.array_equal(ak.to_numpy(info[field]), tree[branch].array(library="np"))
    assert len(np.unique(ak.to_numpy(info.eventNumber))) == len(gev)


def test_r21_event_numbers_come_from_split_static_members(r21: Path) -> None:
    spec = afkit.read(r21).source.schema.collections["EventInfo"]
    assert spec.fields["runNumber"].branch == "EventInfoAux.runNumber"
    assert spec.fields["mcChannelNumber"].branch == "EventInfoAuxDyn.mcChannelNumber"


def test_four_vectors_follow_vector(opened) -> None:  # type: ignore[no-untyped-def]
    _, gev, _ = opened
    jets = gev.Jets[ak.num(gev.Jets) >= 2]
    pair = jets[:, 0] + jets[:, 1]
    # independent: invariant mass from (pt, eta, phi, m) in plain numpy
    j0, j1 = jets[:, 0], jets[:, 1]

    def p4(j):  # type: ignore[no-untyped-def]
        pt, eta, phi, m = (ak.to_numpy(j[f]).astype(np.float64) for f in ("pt", "eta", "phi", "m"))
        px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
        return px, py, pz, np.sqrt(px**2 + py**2 + pz**2 + m**2)

    a, b = p4(j0), p4(j1)
    mass = np.sqrt(np.maximum((a[3] + b[3]) ** 2 - sum((a[i] + b[i]) ** 2 for i in range(3)), 0))
    # vector computes with the stored float32 eta/phi; the E^2 - p^2 cancellation amplifies
    # float32 rounding to ~1e-5 relative (the AGC kernels compute everything in float64)
    assert np.allclose(ak.to_numpy(pair.mass), mass, rtol=1e-4, atol=1e-4)


def test_truth_collections_read_without_error(opened) -> None:  # type: ignore[no-untyped-def]
    _, gev, _ = opened
    truth = [
        c
        for c, s in gev.source.schema.collections.items()
        if s.element_class == "xAOD::TruthParticle"
    ]
    assert len(truth) >= 6
    for name in truth:
        collection = gev[name]
        for field in collection.fields:
            ak.materialize(collection[field]) if hasattr(ak, "materialize") else ak.to_list(
                collection[field]
            )
        if {"px", "py", "pz", "m", "e"} <= set(collection.fields):
            # both m and e are stored: vector must use m (not complain about two temporal fields)
            assert ak.array_equal(collection.mass, collection["m"])
            assert ak.all(abs(collection.pt - np.hypot(collection.px, collection.py)) < 1e-6)
