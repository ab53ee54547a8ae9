"""The kernels on awkward arrays equal the plain-awkward idiom they replace.

Random jagged inputs with empty events, missing elements (``?float64``) and missing events;
each kernel is compared with what an analysis writes without afkit (``ak.sum(x[mask],
axis=1)``, ``ak.combinations``, ``a.deltaR(b)`` over ``ak.cartesian``, ...).  Integer results
and positions must be equal; sums of floating-point values equal to rounding, since awkward
and the kernels add in their own orders (relative 1e-12).  Invariant masses of light systems
come from ``E² − p²``, whose cancellation leaves ~sqrt(ε)·E of rounding in either result
(vector computes 5e-7 GeV for two massless collinear 19 GeV jets, afkit 0; vector gives a
rounded-below-zero ``E² − p²`` a negative mass, afkit 0): they are compared to 1 MeV
absolute.
"""

from __future__ import annotations

import math

import awkward as ak
import numpy as np
import pytest
import vector
from hypothesis import given, settings
from hypothesis import strategies as st

import afkit
from afkit import kernels

vector.register_awkward()

RTOL = 1e-12
MASS_TOL = 1e-3  # GeV


@st.composite
def jagged_floats(draw, *, missing: bool = True, lo: float = -50.0, hi: float = 250.0):  # type: ignore[no-untyped-def]
    counts = draw(st.lists(st.integers(0, 6), max_size=25))
    n = sum(counts)
    values = draw(
        st.lists(
            st.one_of(st.floats(lo, hi), st.none()) if missing else st.floats(lo, hi),
            min_size=n,
            max_size=n,
        )
    )
    flat = ak.Array(values) if values else ak.Array(np.zeros(0))
    array = ak.unflatten(flat, np.asarray(counts, np.int64))
    if missing and counts and draw(st.booleans()):
        keep = draw(st.lists(st.booleans(), min_size=len(counts), max_size=len(counts)))
        array = ak.mask(array, keep)
    return array


def _close(got: ak.Array, expected: ak.Array, abs_tol: float = 1e-9) -> None:
    _same_values(ak.to_list(got), ak.to_list(expected), abs_tol)


def _same_values(a: object, b: object, abs_tol: float) -> None:
    if isinstance(a, list):
        assert isinstance(b, list)
        assert len(a) == len(b), (a, b)
        for x, y in zip(a, b, strict=True):
            _same_values(x, y, abs_tol)
    elif a is None or b is None:
        assert a is None, (a, b)
        assert b is None, (a, b)
    elif isinstance(a, float):
        assert math.isclose(a, b, rel_tol=RTOL, abs_tol=abs_tol), (a, b)  # type: ignore[arg-type]
    else:
        assert a == b


@settings(max_examples=120, deadline=None)
@given(jagged_floats(), st.data())
def test_reductions_equal_awkward(values: ak.Array, data) -> None:  # type: ignore[no-untyped-def]
    threshold = data.draw(st.floats(-50, 250))
    mask = values > threshold
    assert ak.to_list(kernels.count(mask)) == ak.to_list(ak.count_nonzero(mask, axis=1))
    _close(kernels.sum(values, mask), ak.sum(values[mask], axis=1))
    _close(kernels.sum(values), ak.sum(values, axis=1))
    _close(kernels.min(values, mask), ak.min(values[mask], axis=1))
    _close(kernels.max(values), ak.max(values, axis=1))
    assert ak.to_list(kernels.any(mask)) == ak.to_list(ak.any(mask, axis=1))
    assert ak.to_list(kernels.all(mask)) == ak.to_list(ak.all(mask, axis=1))


@settings(max_examples=80, deadline=None)
@given(jagged_floats(), st.integers(1, 4), st.floats(-50, 250))
def test_leading_equals_pad_none(values: ak.Array, n: int, threshold: float) -> None:
    mask = values > threshold
    got = kernels.leading(values, n, mask)
    expected = ak.pad_none(ak.drop_none(values[mask], axis=1), n, axis=1, clip=True)
    assert ak.to_list(got) == ak.to_list(expected)


@settings(max_examples=60, deadline=None)
@given(jagged_floats())
def test_integer_sums_stay_integers(values: ak.Array) -> None:
    counts = ak.values_astype(ak.fill_none(values, 0.0) > 0, np.int32)
    got = kernels.sum(counts)
    assert str(ak.type(got).content).endswith("int64")
    assert ak.to_list(got) == ak.to_list(ak.sum(counts, axis=1))


@st.composite
def objects(draw, max_per_event: int = 6):  # type: ignore[no-untyped-def]
    counts = draw(st.lists(st.integers(0, max_per_event), max_size=20))
    n = sum(counts)

    def column(lo: float, hi: float) -> list[float]:
        return draw(st.lists(st.floats(lo, hi), min_size=n, max_size=n))

    fields = {
        "pt": column(5.0, 300.0),
        "eta": column(-3.0, 3.0),
        "phi": column(-math.pi, math.pi),
        "m": column(0.0, 20.0),
    }
    flag = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    counts = np.asarray(counts, np.int64)
    records = ak.zip(
        {k: ak.unflatten(np.asarray(v, np.float64), counts) for k, v in fields.items()}
    )
    as_vectors = ak.zip(
        {"pt": records.pt, "eta": records.eta, "phi": records.phi, "mass": records.m},
        with_name="Momentum4D",
    )
    return records, as_vectors, ak.unflatten(np.asarray(flag, bool), counts)


def _naive_best(vectors: ak.Array, flags: ak.Array, eligible: ak.Array, n: int, by: str,
                target: float | None) -> tuple[ak.Array, ak.Array]:  # fmt: skip
    """What an analysis writes without afkit: every combination with ak.argcombinations,
    its summed four-vector, the criterion, and the first maximum per event by ak.argmax."""
    combos = ak.argcombinations(vectors, n)
    parts = [combos[str(k)] for k in range(n)]
    ok = eligible[parts[0]]
    tagged = flags[parts[0]]
    total = vectors[parts[0]]
    scalar = vectors[parts[0]].pt
    for part in parts[1:]:
        ok = ok & eligible[part]
        tagged = tagged | flags[part]
        total = total + vectors[part]
        scalar = scalar + vectors[part].pt
    ok = ok & tagged
    if by == "pt":
        score = total.pt
    elif by == "sum_pt":
        score = scalar
    else:
        score = total.mass if target is None else -abs(total.mass - target)
    score = ak.where(ok, score, -np.inf)
    best = ak.argmax(score, axis=1, keepdims=True)
    found = ak.fill_none(ak.any(ok, axis=1), False)
    chosen = ak.firsts(combos[best])
    index = ak.Array([None if c is None else list(c) for c in ak.to_list(ak.mask(chosen, found))])
    return index, ak.mask(ak.firsts(total[best]).mass, found)


@settings(max_examples=60, deadline=None)
@given(objects(), st.integers(2, 4), st.sampled_from(["pt", "mass", "target", "sum_pt"]))
def test_best_combination_equals_a_search_over_combinations(data, n: int, by: str) -> None:  # type: ignore[no-untyped-def]
    records, vectors, flags = data
    eligible = records.pt > 20
    target = 91.0 if by == "target" else None
    got = kernels.best_combination(
        records, n, by="mass" if by == "target" else by, target=target, require=flags,
        mask=eligible,
    )  # fmt: skip
    index, mass = _naive_best(vectors, flags, eligible, n, "mass" if by == "target" else by, target)
    assert ak.to_list(got.index) == ak.to_list(index)
    _close(got.mass, mass, MASS_TOL)


@settings(max_examples=80, deadline=None)
@given(objects())
def test_pair_masses_equal_combinations(data) -> None:  # type: ignore[no-untyped-def]
    records, vectors, flags = data
    pairs = ak.combinations(vectors[flags], 2)
    _close(kernels.pair_masses(records, mask_a=flags), (pairs["0"] + pairs["1"]).mass, MASS_TOL)
    crossed = ak.cartesian([vectors, vectors[flags]])
    _close(
        kernels.pair_masses(records, records, mask_b=flags),
        (crossed["0"] + crossed["1"]).mass,
        MASS_TOL,
    )


@settings(max_examples=80, deadline=None)
@given(objects(), objects(), st.floats(0.1, 2.0))
def test_delta_r_matching_equals_the_table(first, second, cone: float) -> None:  # type: ignore[no-untyped-def]
    a_records, a, _ = first
    b_records, b, b_flags = second
    events = min(len(a), len(b))
    a, b, b_flags = a[:events], b[:events], b_flags[:events]
    a_records, b_records = a_records[:events], b_records[:events]
    table = ak.cartesian([a, b[b_flags]], nested=True)
    dr = table["0"].deltaR(table["1"])
    assert ak.to_list(kernels.min_delta_r(a_records, b_records, mask_b=b_flags)) == ak.to_list(
        ak.min(dr, axis=2)
    )
    near = kernels.nearest(a_records, b_records, mask_b=b_flags)
    # positions count every object of b; the table's count only the flagged ones
    flagged_positions = ak.local_index(b)[b_flags]
    expected = ak.to_list(flagged_positions[ak.argmin(dr, axis=2)]) if events else []
    assert ak.to_list(near.index) == expected
    assert ak.to_list(kernels.match_within(a_records, b_records, cone, mask_b=b_flags)) == (
        ak.to_list(ak.any(dr < cone, axis=2))
    )


def test_best_trijet_mass_of_selected_jets_only() -> None:
    """Regression: without pre-selection the trijet search used every jet; ``mask=`` takes
    the selected ones (the flat form gave masses off by TeV on unselected inputs)."""
    jets = ak.zip(
        {
            "pt": [[500.0, 60.0, 55.0, 50.0]],
            "eta": [[0.1, 0.5, -0.3, 1.0]],
            "phi": [[0.0, 1.0, 2.0, -2.0]],
            "m": [[10.0, 8.0, 7.0, 6.0]],
        }
    )
    tagged = ak.Array([[False, True, False, False]])
    selected = jets.pt < 100  # the 500 GeV jet fails the selection
    everything = kernels.best_trijet_mass(jets, tagged)
    chosen = kernels.best_trijet_mass(jets, tagged, mask=selected)
    expected = kernels.best_combination(jets[selected], 3, require=tagged[selected]).mass
    assert ak.to_list(chosen) == ak.to_list(expected)
    assert ak.to_list(chosen) != ak.to_list(everything)


def test_gather_through_a_resolved_link(r24) -> None:  # type: ignore[no-untyped-def]
    events = afkit.read(r24)
    linked = events.Jets.btagging.DL1dv01_pb
    got = kernels.gather(linked, fill=-1.0)
    assert ak.to_list(got) == ak.to_list(ak.fill_none(linked, -1.0))


def test_smearing_of_an_awkward_collection(r24) -> None:  # type: ignore[no-untyped-def]
    events = afkit.read(r24)
    jets = events.Jets
    factors = kernels.smearing_factors(events.EventInfo.eventNumber, jets.pt)
    flat = kernels.smearing_factors(
        ak.to_numpy(events.EventInfo.eventNumber),
        np.concatenate([[0], np.cumsum(ak.to_numpy(ak.num(jets)))]),
    )
    assert ak.to_list(ak.num(factors)) == ak.to_list(ak.num(jets))
    assert np.array_equal(ak.to_numpy(ak.flatten(factors)), flat)


def test_mixed_backends_and_collections_are_refused() -> None:
    values = ak.Array([[1.0, 2.0], [3.0]])
    other = ak.Array([[True], [False, True]])
    with pytest.raises(afkit.ConfigError, match="same number of objects"):
        kernels.sum(values, other)
    with pytest.raises(afkit.ArgumentTypeError, match="list per event"):
        kernels.sum(ak.Array([1.0, 2.0]))
    with pytest.raises(afkit.ArgumentTypeError, match="pt"):
        kernels.best_combination(ak.Array([[{"x": 1.0}]]), 2)
    with pytest.raises(afkit.ConfigError, match="n must be 2, 3 or 4"):
        kernels.best_combination(ak.Array([[{"pt": 1.0, "eta": 0.0, "phi": 0.0, "m": 0.0}]]), 5)


def test_fill_hist_equals_hist_fill() -> None:
    import hist

    rng = np.random.default_rng(5)
    values = rng.uniform(0, 600, (3, 1000))
    values[0, :7] = np.nan
    weights = rng.uniform(0.5, 1.5, (3, 1000))
    selected = rng.random((3, 1000)) > 0.3

    def empty():  # type: ignore[no-untyped-def]
        return hist.Hist(
            hist.axis.Regular(25, 50, 550, name="x"),
            hist.axis.StrCategory(["ttbar", "wjets"], name="process"),
            hist.axis.StrCategory(["nominal", "up", "down"], name="variation"),
            storage=hist.storage.Weight(),
        )

    ours = kernels.fill_hist(
        empty(), values, weight=weights, selected=selected, process="wjets",
        variation=["nominal", "up", "down"],
    )  # fmt: skip
    theirs = empty()
    for row, name in enumerate(["nominal", "up", "down"]):
        s = selected[row]
        theirs.fill(values[row][s], process="wjets", variation=name, weight=weights[row][s])
    assert np.array_equal(ours.view(flow=True).value, theirs.view(flow=True).value)
    assert np.allclose(ours.view(flow=True).variance, theirs.view(flow=True).variance, rtol=1e-14)
    with pytest.raises(afkit.ConfigError, match="no bin"):
        kernels.fill_hist(empty(), values, process="zjets", variation=["nominal"] * 3)


def test_fill_variations_names_the_bad_argument() -> None:
    """Regression: 1-D input reported an error about sumw and the categories."""
    sumw = np.zeros((1, 27))
    values = np.linspace(0, 600, 50)
    kernels.fill_variations(
        sumw, np.zeros((1, 27)), values, np.ones(50), np.ones(50, bool), np.zeros(1, np.int64),
        lo=50.0, hi=550.0, nbins=25,
    )  # fmt: skip
    assert sumw.sum() == 50
    with pytest.raises(afkit.ConfigError, match="category needs one row"):
        kernels.fill_variations(
            sumw, np.zeros((1, 27)), values, np.ones(50), np.ones(50, bool), np.zeros(2, np.int64),
            lo=50.0, hi=550.0, nbins=25,
        )  # fmt: skip
    with pytest.raises(afkit.ConfigError, match="same"):
        kernels.fill_variations(
            sumw, np.zeros((1, 27)), values, np.ones(49), np.ones(50, bool), np.zeros(1, np.int64),
            lo=50.0, hi=550.0, nbins=25,
        )  # fmt: skip
