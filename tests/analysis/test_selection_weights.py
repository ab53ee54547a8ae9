"""Selections, cutflows and weights against brute force."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import afkit
from afkit.analysis import Cutflow, Selection, Weights


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 6), st.integers(0, 80), st.data())
def test_cutflow_and_n_minus_one_equal_brute_force(n_cuts: int, n_events: int, data) -> None:  # type: ignore[no-untyped-def]
    draws = st.lists(st.booleans(), min_size=n_events, max_size=n_events)
    masks = {f"cut{i}": np.array(data.draw(draws), bool) for i in range(n_cuts)}
    weight = np.array(data.draw(st.lists(st.floats(-2, 5), min_size=n_events, max_size=n_events)))
    sel = Selection(n_events)
    for name, mask in masks.items():
        sel.add(name, mask)
    names = list(masks)
    flow = sel.cutflow(*names, weight=weight)
    passing = np.ones(n_events, bool)
    assert flow.events[0] == n_events
    for i, name in enumerate(names):
        passing &= masks[name]
        assert flow.events[i + 1] == int(passing.sum())
        assert flow.weighted[i + 1] == pytest.approx(float(weight[passing].sum()))
    for name, mask in sel.n_minus_one().items():
        expected = np.ones(n_events, bool)
        for other in names:
            if other != name:
                expected &= masks[other]
        assert np.array_equal(mask, expected)
    want = {n: bool(data.draw(st.booleans())) for n in names}
    expected = np.ones(n_events, bool)
    for n, v in want.items():
        expected &= masks[n] == v
    assert np.array_equal(sel.require(**want), expected)


def test_cutflows_add_and_print() -> None:
    sel = (
        Selection().add("a", np.array([True, True, False])).add("b", np.array([True, False, False]))
    )
    one = sel.cutflow()
    both = one + one
    assert both.events == [6, 4, 2]
    table = both.to_dict()
    assert table["step"] == ["all events", "a", "b"]
    assert table["efficiency"] == [1.0, 4 / 6, 0.5]
    assert "all events" in str(both)
    with pytest.raises(afkit.ConfigError, match="different steps"):
        one + Selection().add("x", np.array([True])).cutflow()
    assert isinstance(afkit.accumulate.add({"c": one}, {"c": one})["c"], Cutflow)


def test_selection_errors() -> None:
    sel = Selection(3).add("one", np.array([True, False, True]))
    with pytest.raises(afkit.MissingNameError, match="one"):
        sel.all("onee")
    with pytest.raises(afkit.ConfigError, match="2 values for 3 events"):
        sel.add("short", np.array([True, False]))
    with pytest.raises(afkit.ConfigError, match="already"):
        sel.add("one", np.array([True, True, True]))
    big = Selection(1)
    for i in range(64):
        big.add(f"c{i}", np.array([True]))
    with pytest.raises(afkit.ConfigError, match="at most 64"):
        big.add("c64", np.array([True]))


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 40), st.integers(1, 4), st.integers(0, 5), st.data())
def test_weight_variations_equal_brute_force(n: int, n_factors: int, k: int, data) -> None:  # type: ignore[no-untyped-def]
    def values() -> np.ndarray:
        return np.array(data.draw(st.lists(st.floats(0.1, 3), min_size=n, max_size=n)))

    w = Weights(n)
    factors = {f"f{i}": (values(), values(), values()) for i in range(n_factors)}
    for name, (nominal, up, down) in factors.items():
        w.add(name, nominal, up=up, down=down)
    matrix = np.stack([values() for _ in range(k)], axis=1) if k else np.zeros((n, 0))
    gen = values()
    w.add_matrix("gen", gen, matrix, names=[f"g{i}" for i in range(k)])
    nominal = gen.copy()
    for f in factors.values():
        nominal = nominal * f[0]
    assert np.allclose(w.weight(), nominal, rtol=1e-14)
    for name, (nom, up, down) in factors.items():
        assert np.allclose(w.weight(f"{name}_up"), nominal / nom * up, rtol=1e-12)
        assert np.allclose(w.weight(f"{name}_down"), nominal / nom * down, rtol=1e-12)
    for i in range(k):
        assert np.allclose(w.weight(f"g{i}"), nominal / gen * matrix[:, i], rtol=1e-12)
    rows = w.rows()
    assert rows.shape == (len(w.variations), n)
    for row, name in zip(rows, w.variations, strict=True):
        assert np.allclose(row, w.weight(name), rtol=1e-14)
    some = np.flatnonzero(np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n))))
    assert np.array_equal(w.rows(events=some), rows[:, some])  # the events a fill needs
    picked = w.variations[::2]
    assert np.array_equal(w.rows(picked, events=some), rows[::2][:, some])
    sums = w.sums() + w.sums()
    assert sums["nominal"] == pytest.approx(2 * nominal.sum())


def test_weight_errors() -> None:
    w = Weights(3).add("a", np.ones(3), up=np.ones(3))
    with pytest.raises(afkit.ConfigError, match="2 values for 3 events"):
        w.add("b", np.ones(2))
    with pytest.raises(afkit.MissingNameError, match="a_up"):
        w.weight("a_upp")
    with pytest.raises(afkit.ConfigError, match="already"):
        w.add("a", np.ones(3))
    with pytest.raises(afkit.ConfigError, match="names for the"):
        w.add_matrix("g", np.ones(3), np.ones((3, 2)), names=["x"])
    with pytest.raises(afkit.ConfigError, match="twice"):
        w.add("nominal_like", np.ones(3), up=np.ones(3)).add_matrix(
            "g", np.ones(3), np.ones((3, 1)), names=["a_up"]
        )
