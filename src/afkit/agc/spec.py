"""The numbers of the AGC ttbar analysis on PHYSLITE (shared/spec/agc-physlite.md), in one place.

Everything the analysis, the statistical model and the outputs need — cuts, binning, sample and
variation names — is defined here once; the other :mod:`afkit.agc` modules import it.
"""

from __future__ import annotations

from dataclasses import dataclass

from afkit.ml.assignment import FEATURE_NAMES, MUON_MASS

# §2 objects (GeV)
ELECTRON_PT_MIN = 30.0
ELECTRON_ABS_ETA_MAX = 2.47
MUON_PT_MIN = 30.0
MUON_ABS_ETA_MAX = 2.5
MUON_TIGHT_QUALITY = 0  # xAOD::Muon::Tight
JET_PT_MIN = 30.0
JET_ABS_ETA_MAX = 2.5
BTAG_CHARM_FRACTION = 0.018  # D = ln(pb / (f_c * pc + (1 - f_c) * pu))
BTAG_LIGHT_FRACTION = 0.982
BTAG_CUT = 2.456  # 77 % working point

# §3 regions, §4 observables and histograms
MIN_JETS = 4


@dataclass(frozen=True)
class Region:
    """One analysis region and the observable histogrammed in it."""

    name: str
    observable: str
    label: str


REGIONS: tuple[Region, ...] = (
    Region("4j1b", "HT", r"$H_T$ [GeV]"),
    Region("4j2b", "m_bjj", r"$m_{bjj}$ [GeV]"),
)
NBINS, LO, HI = 25, 50.0, 550.0

# §1 samples
MC_PROCESSES: tuple[str, ...] = (
    "ttbar",
    "single_top_s_chan",
    "single_top_t_chan",
    "single_top_tW",
    "wjets",
)
DATA = "data"
PROCESSES: tuple[str, ...] = (*MC_PROCESSES, DATA)
ALTERNATIVE_TTBAR: tuple[str, ...] = ("scaleup", "scaledown", "ME_var", "PS_var")

# §5 variations
NOMINAL = "nominal"
PT_SCALE_UP = "pt_scale_up"
PT_RES_UP = "pt_res_up"
JET_PT_SCALE = 1.03
JET_PT_RESOLUTION = 0.05  # r = 1 + 0.05 z
KINEMATIC_VARIATIONS: tuple[str, ...] = (NOMINAL, PT_SCALE_UP, PT_RES_UP)
BTAG_JETS = 4
BTAG_VARIATION = 0.075  # w * (1 +- 0.075 * pT_i / 50)
BTAG_PT_REFERENCE = 50.0
BTAG_VARIATIONS: tuple[str, ...] = tuple(
    f"btag_var_{i}_{side}" for i in range(BTAG_JETS) for side in ("up", "down")
)
WJETS_SCALE = 0.025
WJETS_VARIATIONS: tuple[str, ...] = ("scale_var_up", "scale_var_down")
VARIATIONS: tuple[str, ...] = (
    NOMINAL,
    *ALTERNATIVE_TTBAR,
    PT_SCALE_UP,
    PT_RES_UP,
    *BTAG_VARIATIONS,
    *WJETS_VARIATIONS,
)

# §6 statistical model
FIT_LO, FIT_HI, FIT_MERGE = 110.0, 550.0, 2  # -> 11 bins of 40 GeV
POI = "ttbar_norm"
POI_BOUNDS = (0.0, 10.0)
LUMINOSITY_UNCERTAINTY = 0.03

# §8 ML step: jet-parton assignment; the 20 features, in the BDT's column order
ML_FEATURES: tuple[str, ...] = FEATURE_NAMES
ML_NBINS = 25
#: [lo, hi) of each ML histogram, by feature group (§8.6)
ML_RANGES: tuple[tuple[float, float], ...] = (
    *[(0.0, 6.0)] * 4,
    *[(50.0, 300.0)] * 2,
    *[(50.0, 550.0)] * 2,
    *[(25.0, 300.0)] * 4,
    *[(-5.0, 10.0)] * 4,
    *[(0.0, 50.0)] * 4,
)
ML_LABELS: tuple[str, ...] = (
    *[r"$\Delta R$"] * 4,
    *[r"mass [GeV]"] * 4,
    *[r"$p_T$ [GeV]"] * 4,
    *[r"$D_{\mathrm{DL1dv01}}$"] * 4,
    *[r"$N_{\mathrm{trk}}$"] * 4,
)
#: the channels of the ML validation workspace (§8.7): features 0, 1, 2, 4, 5, 6, 7
ML_VALIDATION_FEATURES: tuple[int, ...] = (0, 1, 2, 4, 5, 6, 7)
#: the AGC's offset added to ML histogram bins exported for the validation workspace
ML_EXPORT_OFFSET = 1e-6
MUON_MASS_GEV = MUON_MASS
