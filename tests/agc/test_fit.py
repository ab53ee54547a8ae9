"""The AGC end to end: fit recovers the injected signal strength; outputs; CLI; bad inputs."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import uproot
from click.testing import CliRunner

import afkit
from afkit import agc
from afkit.cli import main
from afkit.fileset import Fileset

pytestmark = pytest.mark.slow
pytest.importorskip("cabinetry", reason="the fit needs afkit[stats]")


@pytest.fixture(scope="module")
def results(
    agc_datasets: dict[float, Fileset], tmp_path_factory: pytest.TempPathFactory
) -> dict[float, agc.AGCResult]:
    out = {}
    for mu, fileset in agc_datasets.items():
        out[mu] = agc.run(
            fileset, outdir=tmp_path_factory.mktemp(f"agc-mu{mu}"), workers=2, make_plots=mu == 1.0
        )
    return out


@pytest.mark.parametrize("mu", [1.0, 1.3])
def test_fit_recovers_the_injected_signal_strength(results: dict, mu: float) -> None:
    result = results[mu]
    assert result.injected_mu == mu
    assert 0 < result.fit.uncertainty < 1
    pull = (result.fit.value - mu) / result.fit.uncertainty
    print(f"mu={mu}: fitted {result.fit.value:.3f} ± {result.fit.uncertainty:.3f} ({pull:+.2f} σ)")
    assert abs(pull) < 2


def test_outputs(results: dict) -> None:
    result = results[1.0]
    summary = json.loads(Path(result.outputs["result"]).read_text())
    assert summary["ttbar_norm"]["value"] == pytest.approx(result.fit.value)
    assert summary["run"]["complete"]
    assert summary["run"]["events_skipped"] == 0
    assert summary["run"]["events_processed"] == summary["run"]["events_planned"] > 100_000
    with uproot.open(result.outputs["histograms"]) as f:
        names = {k.split(";")[0] for k in f}
        assert {
            "4j1b_ttbar",
            "4j2b_ttbar_ME_var",
            "4j2b_wjets_scale_var_down",
            "4j1b_single_top_tW_btag_var_3_up",
            "4j2b_data",
            "4j1b_ttbar_pt_res_up",
        } <= names
        h = f["4j2b_ttbar"]
        expected = result.hists["4j2b"][:, "ttbar", "nominal"]
        assert np.allclose(h.values(), expected.values())
    workspace = json.loads(Path(result.outputs["workspace"]).read_text())
    assert [c["name"] for c in workspace["channels"]] == ["4j1b", "4j2b"]
    assert all(len(s["data"]) == 11 for c in workspace["channels"] for s in c["samples"])
    for name in ("4j1b_prefit", "4j2b_postfit", "pulls"):
        assert Path(result.outputs[name]).stat().st_size > 10_000
    fit = result.fit
    assert set(fit.pulls) >= {"ME_variation", "jet_energy_scale", "btag_NP_4", "luminosity"}
    assert sum(fit.data["4j2b"]) == pytest.approx(
        sum(result.hists["4j2b"][:, "data", "nominal"].values()[3:25])
    )


def test_pseudo_data_fit(agc_datasets: dict[float, Fileset], results: dict, tmp_path: Path) -> None:
    workspace = agc.build_workspace(results[1.0].hists, pseudo_data_=True)
    fit = agc.fit(workspace)
    assert abs(fit.value - 1.0) < 3 * fit.uncertainty


def test_cli_prints_mu(agc_fileset_path: Path, tmp_path: Path) -> None:
    done = CliRunner().invoke(
        main,
        [
            "agc",
            "--fileset",
            str(agc_fileset_path),
            "--outdir",
            str(tmp_path / "out"),
            "--workers",
            "2",
            "--no-plots",
        ],
    )
    assert done.exit_code == 0, done.output
    assert "ttbar_norm = " in done.output
    assert (tmp_path / "out" / "result.json").exists()


def test_missing_samples_are_named(agc_datasets: dict[float, Fileset]) -> None:
    fileset = agc_datasets[1.0]
    partial = dataclasses.replace(
        fileset, samples={k: v for k, v in fileset.samples.items() if k != "ttbar__PS_var"}
    )
    with pytest.raises(afkit.ConfigError, match="ttbar/PS_var"):
        agc.run(partial, make_plots=False)


def test_empty_fit_bins_are_reported(results: dict) -> None:
    hists = {k: v.copy() for k, v in results[1.0].hists.items()}
    hists["4j1b"].view(flow=True).value[-3:-1, :, :] = 0  # the last fit bin, every sample
    with pytest.raises(afkit.ConfigError, match=r"4j1b.*\[510, 550\)"):
        agc.build_workspace(hists)


def test_ml_outputs_and_the_validation_workspace(results: dict) -> None:
    """Spec §8.6-8.7: ML histograms in the ROOT file; the validation workspace has the seven
    kept channels, 25 bins without flow, templates and data offset by 1e-6, and is
    evaluated pre-fit and at the §6 best fit (not fitted)."""
    result = results[1.0]
    hists = result.hists
    with uproot.open(result.outputs["histograms"]) as f:
        names = {k.split(";")[0] for k in f}
        assert {"mass_w1w2btophad_ttbar", "ntrk_btoplep_wjets_scale_var_up",
                "btag_w1_ttbar_pt_res_up", "deltar_w1w2_data"} <= names  # fmt: skip
        stored = f["mass_w1w2btophad_ttbar"].values(flow=True)
        assert np.array_equal(stored, hists["mass_w1w2btophad"][:, "ttbar", "nominal"].values(
            flow=True))  # fmt: skip
    validation = result.validation
    assert validation is not None
    kept = ["deltar_leptonbtoplep", "deltar_w1w2", "deltar_w1btophad", "mass_leptonbtoplep",
            "mass_w1w2", "mass_w1w2btophad", "pt_w1w2btophad"]  # fmt: skip
    assert sorted(validation.channels) == sorted(kept)
    for channel in kept:
        data = hists[channel][:, "data", "nominal"].values()
        assert len(validation.bin_edges[channel]) == 26
        assert np.allclose(validation.data[channel], data + 1e-6, rtol=0, atol=1e-9)
        nominal = np.maximum(hists[channel][:, "ttbar", "nominal"].values(), 0.0) + 1e-6
        assert np.allclose(validation.prefit.yields[channel]["ttbar"], nominal, rtol=1e-9)
    # at the best fit the ttbar templates scale with the fitted ttbar_norm (and the pulls)
    ratio = np.sum(validation.bestfit.yields["mass_w1w2btophad"]["ttbar"]) / np.sum(
        validation.prefit.yields["mass_w1w2btophad"]["ttbar"]
    )
    assert ratio == pytest.approx(result.fit.value, rel=0.15)
    assert Path(result.outputs["ml_validation"]).exists()
    assert Path(result.outputs["mass_w1w2btophad_bestfit"]).exists()
