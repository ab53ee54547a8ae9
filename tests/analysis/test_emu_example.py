"""examples/ttbar_emu.py — a second analysis on the toolkit — runs on the generated samples
and on the real r24 file; its cutflow equals hand counts and its histograms equal the
coffea peer's bin by bin."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import afkit
from afkit.fileset import FileEntry, Fileset, SampleEntry
from tests.conftest import REPO

pytestmark = pytest.mark.slow

SCRIPT = REPO / "examples" / "ttbar_emu.py"


def _run(fileset: Path, out: Path) -> dict:  # type: ignore[type-arg]
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(fileset), str(out), "--executor", "iterative"],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "e_mu" in done.stdout  # the cutflow is printed
    return json.loads(out.read_text())  # type: ignore[no-any-return]


def test_on_the_generated_samples_equals_coffea(agc_fileset_path: Path, tmp_path: Path) -> None:
    result = _run(agc_fileset_path, tmp_path / "emu.json")
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        from bench_toolkit import compare, golden_json, run_coffea
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    fileset = afkit.Fileset.load(agc_fileset_path)
    fileset.fill_sumw(cache=tmp_path / "sumw")
    golden = golden_json(REPO / "examples" / "data" / "grl_generated.xml", tmp_path / "g.json")
    coffea = run_coffea(fileset, str(golden))
    assert compare(result["hists"], coffea) <= 1e-9
    filled = [k for k, v in result["hists"]["m_emu"].items() if any(v["sumw2"])]
    assert "ttbar/nominal" in filled
    assert "ttbar/lep_scale_up" in filled
    assert "ttbar/electron_sf_down" in filled
    assert "ttbar/gen_var_pdf_1" in filled
    assert "data/nominal" in filled
    assert not [k for k in filled if k.startswith("data/") and k != "data/nominal"]


def test_cutflow_equals_hand_counts(agc_fileset_path: Path, tmp_path: Path) -> None:
    """The data sample's cutflow, counted again with plain awkward from the files."""
    import awkward as ak

    result = _run(agc_fileset_path, tmp_path / "emu.json")
    fileset = afkit.Fileset.load(agc_fileset_path)
    grl = afkit.analysis.LumiMask.from_files(REPO / "examples" / "data" / "grl_generated.xml")
    counts = np.zeros(5, np.int64)
    for entry in fileset.samples["data"].files:
        ev = afkit.read(fileset.resolve(entry))
        el, mu = ev.Electrons, ev.Muons
        good_el = (el.pt > 25) & (abs(el.eta) < 2.47) & (el.DFCommonElectronsLHTight == 1)
        good_mu = (mu.pt > 25) & (abs(mu.eta) < 2.5) & (mu.quality == 0)
        runs = grl.mask(ev.EventInfo.runNumber, ev.EventInfo.lumiBlock)
        emu = ak.to_numpy((ak.sum(good_el, axis=1) == 1) & (ak.sum(good_mu, axis=1) == 1))
        q = ak.firsts(el.charge[good_el]) * ak.firsts(mu.charge[good_mu])
        os_ = ak.to_numpy(ak.fill_none(q < 0, False))
        jets = ev.Jets
        btag = ev.Jets.btagging
        with np.errstate(divide="ignore", invalid="ignore"):
            d = np.log(btag.DL1dv01_pb / (0.018 * btag.DL1dv01_pc + 0.982 * btag.DL1dv01_pu))
        good_j = (jets.pt > 25) & (abs(jets.eta) < 2.5) & (jets.NNJvtPass == 1)
        nb = ak.to_numpy(ak.sum(ak.fill_none(good_j & (d > 2.456), False), axis=1))
        steps = [
            np.ones(len(ev), bool),
            runs,
            runs & emu,
            runs & emu & os_,
            runs & emu & os_ & (nb >= 1),
        ]
        counts += [int(s.sum()) for s in steps]
    cutflow = result["cutflow"]["data"]
    assert cutflow["step"] == ["all events", "good_runs", "e_mu", "opposite_charge", "b_jet"]
    assert cutflow["events"] == counts.tolist()
    assert counts[1] < counts[0]  # the GRL removes lumi blocks


def test_on_the_r24_file_with_every_generator_weight(r24: Path, tmp_path: Path) -> None:
    files = [FileEntry(str(r24), "CollectionTree", 50)]
    sample = SampleEntry("ttbar_r24", "ttbar", "nominal", files, xsec=1.0, luminosity=1.0)
    fileset = Fileset({"ttbar_r24": sample}, 1.0)
    fileset.save(tmp_path / "r24.json")
    result = _run(tmp_path / "r24.json", tmp_path / "emu.json")
    variations = {k.split("/", 1)[1] for k in result["hists"]["m_emu"]}
    names = afkit.sum_of_weights(r24)
    assert {f"gen_{n}" for n in list(names)[1:]} <= variations  # all 193 variations beside 0
    assert len([v for v in variations if v.startswith("gen_")]) == 193
    assert result["cutflow"]["ttbar_r24"]["events"][0] == 50
