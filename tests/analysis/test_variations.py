"""Shape variations in one pass equal one pass per variation."""

from __future__ import annotations

import awkward as ak
import hist
import numpy as np
import pytest

import afkit
from afkit import kernels
from afkit.analysis import Varied, Weights, fill


def _events(rng: np.random.Generator, n: int) -> tuple[ak.Array, ak.Array]:
    counts = rng.poisson(2.0, n)
    pt = ak.unflatten(rng.uniform(5, 80, counts.sum()), counts)
    eta = ak.unflatten(rng.normal(0, 1.5, counts.sum()), counts)
    return pt, eta


def test_varied_reductions_equal_each_row_alone() -> None:
    rng = np.random.default_rng(4)
    pt, eta = _events(rng, 500)
    scale = {"up": 1.05, "down": 0.95}
    varied = Varied.of(pt, **{k: pt * s for k, s in scale.items()})
    good = (varied > 25) & (abs(eta) < 2.0)  # a varied cut and an unvaried one, broadcast
    counts, sums, lead = good.count(), varied.sum(good), varied.leading(0, good)
    second = varied.leading(1, good)
    for row, factor in (("nominal", 1.0), *scale.items()):
        row_pt = pt * factor
        row_good = (row_pt > 25) & (abs(eta) < 2.0)
        assert np.array_equal(counts[row], ak.to_numpy(kernels.count(row_good)))
        assert np.array_equal(sums[row], ak.to_numpy(kernels.sum(row_pt, row_good)))
        expected = ak.to_numpy(ak.fill_none(kernels.leading(row_pt, 2, row_good), np.nan))
        assert np.array_equal(lead[row], expected[:, 0], equal_nan=True)
        assert np.array_equal(second[row], expected[:, 1], equal_nan=True)
    charge = varied.broadcast(ak.values_astype(pt > 40, np.int64)).leading(0, good)
    assert charge.values.shape == (3, 500)
    # a second column through the same mask (its objects' positions kept on the mask)
    lead_eta = varied.broadcast(eta).leading(0, good)
    for row, factor in (("nominal", 1.0), *scale.items()):
        row_good = (pt * factor > 25) & (abs(eta) < 2.0)
        expected = ak.to_numpy(ak.fill_none(kernels.leading(eta, 1, row_good), np.nan))[:, 0]
        assert np.array_equal(lead_eta[row], expected, equal_nan=True)
        is_high = ak.to_numpy(ak.fill_none(kernels.leading(pt > 40, 1, row_good), -1))[:, 0]
        assert np.array_equal(charge[row][is_high >= 0], is_high[is_high >= 0])


def test_one_fill_equals_a_fill_per_variation() -> None:
    rng = np.random.default_rng(5)
    pt, _ = _events(rng, 2000)
    varied = Varied.of(pt, scale_up=pt * 1.02, scale_down=pt * 0.98)
    good = varied > 20
    observable = varied.sum(good)
    selected = good.count() >= 1
    weights = Weights(2000).add("w", rng.uniform(0.5, 1.5, 2000), up=np.full(2000, 2.0))
    weights.add_matrix(
        "gen", np.ones(2000), rng.uniform(0.9, 1.1, (2000, 3)), names=["a", "b", "c"]
    )

    def empty() -> hist.Hist:
        return hist.Hist(
            hist.axis.Regular(20, 0, 300, name="ht"),
            hist.axis.StrCategory(["ttbar"], name="process"),
            hist.axis.StrCategory([], name="variation", growth=True),
            storage=hist.storage.Weight(),
        )

    ours = fill(empty(), observable, selected=selected, weights=weights, process="ttbar")
    theirs = empty()
    for row in varied.names:  # the loop the one-pass fill replaces
        keep = selected[row]
        theirs.fill(
            observable[row][keep], process="ttbar", variation=row, weight=weights.weight()[keep]
        )
    for name in weights.variations:
        keep = selected.nominal
        theirs.fill(
            observable.nominal[keep],
            process="ttbar",
            variation=name,
            weight=weights.weight(name)[keep],
        )
    assert sorted(ours.axes["variation"]) == sorted(theirs.axes["variation"])
    for name in theirs.axes["variation"]:
        a = ours[:, "ttbar", name].view(flow=True)
        b = theirs[:, "ttbar", name].view(flow=True)
        assert np.allclose(a.value, b.value, rtol=1e-12, atol=0), name
        assert np.allclose(a.variance, b.variance, rtol=1e-12, atol=0), name


def test_fill_weights_must_match_the_events() -> None:
    h = hist.Hist(
        hist.axis.Regular(4, 0, 4, name="x"),
        hist.axis.StrCategory([], name="variation", growth=True),
    )
    x, keep = np.arange(4.0), np.array([True, False, True, True])
    with pytest.raises(afkit.ConfigError, match="3 weights for the observable's 4 events"):
        fill(h, x, selected=keep, weights=np.ones(3))
    with pytest.raises(afkit.ConfigError, match="5 weights for the observable's 4 events"):
        fill(h, x, selected=keep, weights=Weights(5).add("w", np.ones(5)))
    fill(h, x, selected=keep, weights=np.array([1.0, 9.0, 2.0, 3.0]))
    assert h[:, "nominal"].values().tolist() == [1.0, 0.0, 2.0, 3.0]


def test_variations_must_agree() -> None:
    pt = ak.Array([[30.0, 40.0], [50.0]])
    a = Varied.of(pt, up=pt * 1.1)
    b = Varied.of(pt, down=pt * 0.9)
    with pytest.raises(afkit.ConfigError, match="variations differ"):
        a + b
    with pytest.raises(afkit.ConfigError, match="shape"):
        Varied.of(pt, up=ak.Array([[1.0], [2.0]]))
    with pytest.raises(afkit.MissingNameError, match="up"):
        a["upp"]


def test_pair_mass_equals_vectors_sum_of_four_vectors() -> None:
    """pair_mass on plain arrays, on Varied rows broadcast against plain ones, and with
    NaN where an event has no object, against vector's (a + b).mass."""
    import vector

    from afkit.analysis import pair_mass

    rng = np.random.default_rng(11)
    n = 2000
    a = {"pt": rng.uniform(5, 300, n), "eta": rng.normal(0, 2, n),
         "phi": rng.uniform(-np.pi, np.pi, n), "mass": rng.uniform(0, 5, n)}  # fmt: skip
    b = {"pt": rng.uniform(5, 300, n), "eta": rng.normal(0, 2, n),
         "phi": rng.uniform(-np.pi, np.pi, n), "mass": np.full(n, 0.105)}  # fmt: skip
    a["pt"][:7] = np.nan  # events without the first object
    expected = (vector.array(a) + vector.array(b)).mass
    got = pair_mass(a["pt"], a["eta"], a["phi"], a["mass"], b["pt"], b["eta"], b["phi"], b["mass"])
    assert np.all(np.isnan(got[:7]))
    assert np.allclose(got[7:], expected[7:], rtol=1e-12, atol=1e-9)
    assert pair_mass(1.0, 0.0, 0.0, 0.0, 1.0, 0.0, np.pi, 0.0) == 2.0  # back to back
    # Varied rows: a scaled first object, the second unvaried (broadcast across the rows)
    pt = Varied(["nominal", "up"], np.stack([a["pt"], a["pt"] * 1.01]))
    rows = pair_mass(pt, a["eta"], a["phi"], a["mass"], b["pt"], b["eta"], b["phi"], b["mass"])
    assert isinstance(rows, Varied)
    assert rows.names == ("nominal", "up")
    assert np.array_equal(rows.nominal, got, equal_nan=True)
    up = (vector.array({**a, "pt": a["pt"] * 1.01}) + vector.array(b)).mass
    assert np.allclose(rows["up"][7:], up[7:], rtol=1e-12, atol=1e-9)
