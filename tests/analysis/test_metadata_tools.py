"""Sums of weights from the files' metadata, good-run lists and correctionlib corrections."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot

import afkit
from afkit.analysis import Correction, LumiMask, sum_of_weights
from tests.conftest import REPO

SF = REPO / "examples" / "data" / "lepton_sf.json"


def _bookkeeper_sums(path: Path) -> dict[str, float]:
    """What the file stores, read with uproot: AllExecutedEvents of each container."""
    meta = uproot.open(path)["MetaData"]
    out = {}
    for name in meta.keys(recursive=False):
        if not (name.startswith("CutBookkeepers") and name.endswith("Aux.")):
            continue
        names = meta[f"{name}name"].array(library="np")[0]
        sums = meta[f"{name}sumOfEventWeights"].array(library="np")[0]
        out[name[: -len("Aux.")]] = float(sums[list(names).index("AllExecutedEvents")])
    return out


def test_r24_sums_equal_the_bookkeepers(r24: Path) -> None:
    sums = sum_of_weights(r24)
    stored = _bookkeeper_sums(r24)
    names = uproot.open(r24)["MetaData"]["TruthMetaDataAux.weightNames"].array(library="np")[0][0]
    assert len(sums) == len(names) == 194
    assert sums["Default"] == stored["CutBookkeepers"]  # index 0 <-> CutBookkeepers
    for i in (1, 2, 57):  # three named generator weights, exactly
        assert sums[names[i]] == stored[f"CutBookkeepers_weight_{i}"]
    assert sums.nominal == sums["Default"]
    assert sums.events == 50
    assert sums.source == "CutBookkeepers"
    assert sums.incomplete == []
    # and what the stored event weights give, to the precision of their float32 sum
    weights = uproot.open(r24)["CollectionTree"]["EventInfoAuxDyn.mcEventWeights"].array()
    assert float(ak.sum(weights[:, 0])) == pytest.approx(sums.nominal, rel=1e-6)


def test_sums_add_over_files(r24: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.root"
    shutil.copy(r24, copy)
    one, two = sum_of_weights(r24), afkit.sum_of_weights([r24, copy])
    assert two["nominal"] == one["nominal"] + one["nominal"]
    assert two.files == [str(r24), str(copy)]


def test_r21_keeps_its_weight_names(r21: Path) -> None:
    sums = sum_of_weights(r21)
    assert next(iter(sums)) == " nominal "  # names exactly as the file spells them
    assert sums.nominal == _bookkeeper_sums(r21)["CutBookkeepers"]


def test_generated_files_and_the_fileset(agc_fileset_path: Path, tmp_path: Path) -> None:
    """Generated files record their sums like Athena; fill_sumw reproduces the declared sumw."""
    fileset = afkit.Fileset.load(agc_fileset_path)
    declared = {n: s.sumw for n, s in fileset.samples.items() if not s.is_data}
    fileset.fill_sumw(cache=tmp_path / "cache")
    for name, sumw in declared.items():
        assert fileset.samples[name].sumw == sumw, name
        assert next(iter(fileset.samples[name].sumw_variations)) == "nominal"
    cached = len(list((tmp_path / "cache").glob("*.json")))
    assert cached == sum(len(s.files) for n, s in fileset.samples.items() if not s.is_data)
    again = afkit.Fileset.load(agc_fileset_path)
    again.fill_sumw(cache=tmp_path / "cache")  # from the cache: same numbers
    assert {n: again.samples[n].sumw for n in declared} == declared
    sample = fileset.samples["ttbar"]
    assert sample.weight_scale("var_pdf_1") == pytest.approx(
        sample.xsec * sample.luminosity / sample.sumw_variations["var_pdf_1"]
    )


def test_nanoaod_runs(tmp_path: Path) -> None:
    path = tmp_path / "nano.root"
    runs = {
        "run": np.array([1, 2], np.uint32),
        "genEventSumw": np.array([10.5, 2.25]),
        "genEventCount": np.array([7, 3], np.int64),
        "LHEScaleSumw": ak.Array([[1.0, 2.0, 3.0], [0.5, 0.25, 0.125]]),
    }
    with uproot.recreate(path) as handle:  # TTrees, as NanoAOD has them
        handle.mktree("Events", {"run": np.uint32}).extend({"run": np.array([1, 1], np.uint32)})
        handle.mktree(
            "Runs", {k: v.type if isinstance(v, ak.Array) else v.dtype for k, v in runs.items()}
        ).extend(runs)
    sums = sum_of_weights(path)
    assert sums["genEventSumw"] == 12.75
    assert sums["LHEScaleSumw[2]"] == 3.125
    assert sums.events == 10
    assert sums.nominal == 12.75


def test_missing_metadata(nano: Path, tmp_path: Path) -> None:
    with pytest.raises(afkit.MissingTreeError, match="MetaData"):
        sum_of_weights(nano)
    path = tmp_path / "no_books.root"
    with uproot.recreate(path) as handle:
        handle.mktree("MetaData", {"x": np.float64}).extend({"x": np.array([1.0])})
    with pytest.raises(afkit.MissingBranchError, match="CutBookkeepers"):
        sum_of_weights(path)


def _brute_force(
    ranges: dict[int, list[tuple[int, int]]], runs: np.ndarray, lbs: np.ndarray
) -> np.ndarray:
    good = [
        any(a <= lb <= b for a, b in ranges.get(int(r), []))
        for r, lb in zip(runs, lbs, strict=True)
    ]
    return np.array(good, bool)


def test_grl_and_golden_json_masks(tmp_path: Path) -> None:
    xml = tmp_path / "grl.xml"
    xml.write_text(
        "<LumiRangeCollection><NamedLumiRange><LumiBlockCollection><Run>440000</Run>"
        '<LBRange Start="3" End="9"/><LBRange Start="20" End="20"/></LumiBlockCollection>'
        '<LumiBlockCollection><Run>440007</Run><LBRange Start="1" End="100"/>'
        "</LumiBlockCollection></NamedLumiRange></LumiRangeCollection>"
    )
    golden = tmp_path / "golden.json"
    golden.write_text(json.dumps({"440002": [[5, 6]], "440000": [[50, 60]]}))
    mask = LumiMask.from_files(xml, golden)
    ranges = {440000: [(3, 9), (20, 20), (50, 60)], 440007: [(1, 100)], 440002: [(5, 6)]}
    rng = np.random.default_rng(3)
    runs = rng.integers(439998, 440010, 20000)
    lbs = rng.integers(0, 120, 20000)
    assert np.array_equal(mask.mask(runs, lbs), _brute_force(ranges, runs, lbs))
    assert np.array_equal(mask(ak.Array(runs), ak.Array(lbs)), mask.mask(runs, lbs))


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("<LumiRangeCollection><oops>", "not a GRL XML"),
        ("<Other/>", "no LumiBlockCollection"),
        (
            "<L><LumiBlockCollection><LBRange Start='1' End='2'/></LumiBlockCollection></L>",
            "no <Run>",
        ),
        (
            "<L><LumiBlockCollection><Run>5</Run><LBRange Start='x'/></LumiBlockCollection></L>",
            "LBRange",
        ),
        ('{"1": [[5, 2]]}', "empty or outside"),
        ('{"1": [5, 2]}', "not .first, last."),
        ("{not json", "not a golden JSON"),
    ],
)
def test_malformed_good_run_lists(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "bad.txt"
    path.write_text(text)
    with pytest.raises(afkit.analysis.LumiListError, match=match) as info:
        LumiMask.from_files(path)
    assert str(path) in str(info.value)


def test_correction_on_jagged_arrays_equals_the_flat_evaluation() -> None:
    sf = Correction(SF, "electron_id")
    electrons = ak.Array(
        [[{"pt": 30.0, "eta": 0.3}, {"pt": 80.0, "eta": -2.0}], [], [{"pt": 45.0, "eta": 1.4}]]
    )
    values = sf.evaluate("nominal", abs(electrons.eta), electrons.pt)
    flat = sf.evaluate("nominal", np.abs(np.array([0.3, -2.0, 1.4])), np.array([30.0, 80.0, 45.0]))
    assert ak.to_list(ak.num(values)) == [2, 0, 1]
    assert np.array_equal(ak.to_numpy(ak.flatten(values)), flat)
    deeper = ak.Array([[[30.0, 80.0], []], [[45.0]]])
    assert ak.to_list(sf.evaluate("up", ak.ones_like(deeper) * 0.5, deeper))[0][1] == []
    variations = sf.variations(abs(electrons.eta), electrons.pt, values=["nominal", "up", "down"])
    assert ak.all(variations["up"] > variations["nominal"])
    assert ak.all(variations["down"] < variations["nominal"])


def test_correction_errors(tmp_path: Path) -> None:
    sf = Correction(SF, "muon_id")
    with pytest.raises(afkit.analysis.CorrectionError, match="muon_id could not be evaluated"):
        sf.evaluate("nominal", np.array([3.0]), np.array([30.0]))  # |eta| beyond the bins
    with pytest.raises(afkit.analysis.CorrectionError, match="takes 3 inputs"):
        sf.evaluate(np.array([1.0]))
    with pytest.raises(afkit.MissingNameError, match="muon_id"):
        Correction(SF, "muon_idd")
    zipped = tmp_path / "sf.json.gz"
    zipped.write_bytes(gzip.compress(SF.read_bytes()))
    assert Correction(zipped, "muon_id").evaluate("nominal", 0.5, 30.0) == sf.evaluate(
        "nominal", 0.5, 30.0
    )
    broken = tmp_path / "broken.json"
    broken.write_text("{}")
    with pytest.raises(afkit.analysis.CorrectionError, match="not a correctionlib"):
        Correction(broken, "x")
