"""The AGC compute stage: from :class:`ChunkColumns` to filled histograms, on CPU or GPU.

Runs on whichever device the columns live (NumPy -> Numba kernels, CuPy -> CUDA kernels); the
element-wise steps use that device's array module.  Per chunk and per kinematic variation the
jet and event selection is redone (spec §5); weight variations reuse the nominal selection; all
variations of a region go into its histogram in one fill call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from afkit import kernels
from afkit.agc import spec
from afkit.agc.columns import ChunkColumns
from afkit.histograms import WeightedCategoryHistogram


@dataclass(frozen=True)
class Selection:
    """Event selection and observables for one jet-pT hypothesis."""

    regions: dict[str, Any]  # region name -> bool per event
    observables: dict[str, Any]  # region name -> its observable per event (NaN outside it
    # where computing it would be wasted: m_bjj is computed for 4j2b events only)
    jets: Any  # bool per jet: selected


def lepton_veto_pass(columns: ChunkColumns, xp: Any) -> Any:
    """Per event: exactly one selected electron or muon (spec §2, §3)."""
    electrons = (
        (columns.electron_pt > spec.ELECTRON_PT_MIN)
        & (xp.abs(columns.electron_eta) < spec.ELECTRON_ABS_ETA_MAX)
        & columns.electron_tight
    )
    muons = (
        (columns.muon_pt > spec.MUON_PT_MIN)
        & (xp.abs(columns.muon_eta) < spec.MUON_ABS_ETA_MAX)
        & (columns.muon_quality == spec.MUON_TIGHT_QUALITY)
    )
    n_leptons = kernels.segmented_count(columns.electron_offsets, electrons)
    n_leptons = n_leptons + kernels.segmented_count(columns.muon_offsets, muons)
    return n_leptons == 1


def btag_pass(columns: ChunkColumns, xp: Any) -> Any:
    """Per jet: D = ln(pb / (0.018 pc + 0.982 pu)) > 2.456 (False where a link is missing)."""
    denominator = spec.BTAG_CHARM_FRACTION * columns.jet_pc
    denominator = denominator + spec.BTAG_LIGHT_FRACTION * columns.jet_pu
    with np.errstate(divide="ignore", invalid="ignore"):  # log(0), 0/0: -inf/NaN, untagged
        discriminant = xp.log(columns.jet_pb / denominator)
    return discriminant > spec.BTAG_CUT


def select(
    columns: ChunkColumns,
    jet_pt: Any,
    one_lepton: Any,
    tagged: Any,
    jet_quality: Any,
    jet_event: Any,
    xp: Any,
) -> Selection:
    """Jet selection with ``jet_pt``, then regions, HT and m_bjj (spec §2-4).

    ``jet_event`` is each jet's event (position in the chunk)."""
    offsets = columns.jet_offsets
    jets = (jet_pt > spec.JET_PT_MIN) & jet_quality
    btagged = jets & tagged
    n_jets = kernels.segmented_count(offsets, jets)
    n_btags = kernels.segmented_count(offsets, btagged)
    base = one_lepton & (n_jets >= spec.MIN_JETS)
    regions = {"4j1b": base & (n_btags == 1), "4j2b": base & (n_btags >= 2)}
    # m_bjj is filled only for 4j2b events: the trijet search sees only their jets (other
    # events get none, hence NaN), which spares it the three quarters of events not in 4j2b
    in_4j2b = jets & regions["4j2b"][jet_event]
    trijet_offsets = xp.zeros(len(n_jets) + 1, dtype=xp.int64)
    xp.cumsum(kernels.segmented_count(offsets, in_4j2b), out=trijet_offsets[1:])
    m_bjj = kernels.best_trijet_mass(
        trijet_offsets,
        jet_pt[in_4j2b],
        columns.jet_eta[in_4j2b],
        columns.jet_phi[in_4j2b],
        columns.jet_m[in_4j2b],
        tagged[in_4j2b],
    )
    return Selection(
        regions=regions,
        observables={"4j1b": kernels.segmented_sum(offsets, jet_pt, jets), "4j2b": m_bjj},
        jets=jets,
    )


def fill_chunk(
    columns: ChunkColumns,
    histograms: dict[str, WeightedCategoryHistogram],
    *,
    process: str,
    variation: str,
    weight_scale: float,
) -> dict[str, int]:
    """Fill every region histogram with this chunk; return nominal events per region.

    ``process``/``variation`` name the sample (``data``/``nominal`` for data; an alternative
    ttbar sample fills the variation named after it with the nominal selection only).
    ``weight_scale`` is ``xsec * L / sumw`` (1 for data).
    """
    backend = kernels.backend_of(columns.event_number)
    xp = kernels.array_module(backend)
    is_data = process == spec.DATA
    if variation not in spec.VARIATIONS:
        raise ValueError(f"unknown variation {variation!r}")
    systematics = not is_data and variation == spec.NOMINAL
    if is_data or columns.mc_weight is None:
        weight = xp.ones(columns.n_events)
    else:
        weight = columns.mc_weight * weight_scale

    one_lepton = lepton_veto_pass(columns, xp)
    tagged = btag_pass(columns, xp)
    jet_quality = (xp.abs(columns.jet_eta) < spec.JET_ABS_ETA_MAX) & columns.jet_jvt
    jet_event = xp.searchsorted(
        columns.jet_offsets[1:], xp.arange(columns.n_jets, dtype=xp.int64), side="right"
    )
    context = (one_lepton, tagged, jet_quality, jet_event, xp)
    nominal = select(columns, columns.jet_pt, *context)

    # rows of one fill per region: (variation, selection, weight)
    rows: list[tuple[str, Selection, Any]] = [(variation, nominal, weight)]
    if systematics:
        scaled = columns.jet_pt * spec.JET_PT_SCALE
        smeared = columns.jet_pt * kernels.smearing_factors(
            columns.event_number, columns.jet_offsets, width=spec.JET_PT_RESOLUTION
        )
        rows.append((spec.PT_SCALE_UP, select(columns, scaled, *context), weight))
        rows.append((spec.PT_RES_UP, select(columns, smeared, *context), weight))
        leading = kernels.leading_values(
            columns.jet_offsets, columns.jet_pt, nominal.jets, spec.BTAG_JETS
        )
        for i in range(spec.BTAG_JETS):
            shift = spec.BTAG_VARIATION * leading[i] / spec.BTAG_PT_REFERENCE
            rows.append((f"btag_var_{i}_up", nominal, weight * (1.0 + shift)))
            rows.append((f"btag_var_{i}_down", nominal, weight * (1.0 - shift)))
        if process == "wjets":
            rows.append(("scale_var_up", nominal, weight * (1.0 + spec.WJETS_SCALE)))
            rows.append(("scale_var_down", nominal, weight * (1.0 - spec.WJETS_SCALE)))

    for region in spec.REGIONS:
        histograms[region.name].fill(
            process,
            [name for name, _, _ in rows],
            xp.stack([s.observables[region.name] for _, s, _ in rows]),
            xp.stack([w for _, _, w in rows]),
            xp.stack([s.regions[region.name] for _, s, _ in rows]),
        )
    return {r.name: int(nominal.regions[r.name].sum()) for r in spec.REGIONS}


def new_histograms(backend: str = "cpu") -> dict[str, WeightedCategoryHistogram]:
    """Empty AGC histograms (one per region) on ``backend``."""
    return {
        r.name: WeightedCategoryHistogram(
            spec.NBINS,
            spec.LO,
            spec.HI,
            list(spec.PROCESSES),
            list(spec.VARIATIONS),
            name="observable",
            label=r.label,
            backend=backend,
        )
        for r in spec.REGIONS
    }
