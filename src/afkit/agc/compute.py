"""The AGC compute stage: from :class:`ChunkColumns` to filled histograms, on CPU or GPU.

Runs on whichever device the columns live (NumPy -> Numba kernels, CuPy -> CUDA kernels); the
element-wise steps use that device's array module.  The events that can enter no region under
any variation (lepton veto, fewer than four jets passing the pT-independent cuts) are dropped
first; per kinematic variation the jet and event selection is then redone on the rest (spec
§5); weight variations reuse the nominal selection; all variations of a region go into its
histogram in one fill call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

import afkit.kernels as kernels
from afkit.agc import spec
from afkit.agc.columns import ChunkColumns
from afkit.exceptions import ConfigError
from afkit.histograms import WeightedCategoryHistogram


@dataclass(frozen=True)
class Selection:
    """Event selection and observables for one jet-pT hypothesis, per candidate event."""

    regions: dict[str, Any]  # region name -> bool per event
    observables: dict[str, Any]  # region name -> its observable per event (NaN outside it
    # where computing it would be wasted: m_bjj is computed for 4j2b events only)
    jets: Any  # bool per jet: selected
    jet_pt: Any = None  # the jet pT this selection was made with
    jets_4j2b: Any = None  # bool per jet: selected, in a 4j2b event (the trijet's and ML's)
    offsets_4j2b: Any = None  # list offsets of those jets


def lepton_masks(columns: ChunkColumns, xp: Any) -> tuple[Any, Any]:
    """Per electron and per muon: selected (spec §2)."""
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
    return electrons, muons


def the_lepton(columns: ChunkColumns, xp: Any) -> Any:
    """``(events, 4)``: pt, eta, phi, m of each event's selected electron or muon, for events
    with exactly one (elsewhere meaningless); muons get the PDG mass (spec §8.3)."""
    electrons, muons = lepton_masks(columns, xp)
    e_off, mu_off = columns.electron_offsets, columns.muon_offsets
    # one selected lepton: its value plus zeros, exactly
    values = [
        kernels.segmented_sum(e_off, e, electrons) + kernels.segmented_sum(mu_off, mu, muons)
        for e, mu in (
            (columns.electron_pt, columns.muon_pt),
            (columns.electron_eta, columns.muon_eta),
            (columns.electron_phi, columns.muon_phi),
        )
    ]
    n_muons = kernels.segmented_count(mu_off, muons)
    mass = kernels.segmented_sum(e_off, columns.electron_m, electrons)
    values.append(xp.where(n_muons > 0, spec.MUON_MASS_GEV, mass))
    return xp.stack(values, axis=1)


def lepton_veto_pass(columns: ChunkColumns, xp: Any) -> Any:
    """Per event: exactly one selected electron or muon (spec §2, §3)."""
    electrons, muons = lepton_masks(columns, xp)
    n_leptons = kernels.segmented_count(columns.electron_offsets, electrons)
    n_leptons = n_leptons + kernels.segmented_count(columns.muon_offsets, muons)
    return n_leptons == 1


@dataclass(frozen=True)
class Candidates:
    """The events of a chunk that can enter a region, with all their jets.

    A region needs exactly one lepton and at least four jets passing pT > 25 GeV, |eta| and
    NNJvt (spec §2-3); the lepton and the pT-independent jet cuts do not change with any
    variation.  Events failing them can never be filled, so the per-jet work — b-tagging,
    smearing, three selections, the trijet search — runs on these events only (typically a
    fifth of a chunk).  Every jet of a kept event is kept: positions key the smearing.
    """

    event_number: Any
    weight: Any
    jet_offsets: Any
    jet_event: Any  # each jet's event among the candidates
    jet_pt: Any
    jet_eta: Any
    jet_phi: Any
    jet_m: Any
    jet_quality: Any  # |eta| and NNJvt cuts passed
    jet_pb: Any
    jet_pc: Any
    jet_pu: Any
    # the ML step's (None unless the columns carry them)
    lepton: Any = None  # (events, 4): the one lepton's pt, eta, phi, m
    jet_ntrk: Any = None
    jet_label: Any = None


def jet_owner(offsets: Any, xp: Any) -> Any:
    """Each object's event (0-based) from list ``offsets``."""
    n_events = len(offsets) - 1
    if xp is np:
        return np.repeat(np.arange(n_events, dtype=np.int64), np.diff(offsets))
    n_objects = int(offsets[-1])  # CuPy's repeat takes no array of counts
    return xp.searchsorted(offsets[1:], xp.arange(n_objects, dtype=xp.int64), side="right")


def candidates(columns: ChunkColumns, weight: Any, xp: Any) -> Candidates:
    """The events passing the lepton veto with at least four jets passing the
    pT-independent cuts (see :class:`Candidates`)."""
    jet_quality = (xp.abs(columns.jet_eta) < spec.JET_ABS_ETA_MAX) & columns.jet_jvt
    keep = lepton_veto_pass(columns, xp)
    keep &= kernels.segmented_count(columns.jet_offsets, jet_quality) >= spec.MIN_JETS
    keep_jets = keep[jet_owner(columns.jet_offsets, xp)]
    offsets = xp.zeros(int(keep.sum()) + 1, dtype=xp.int64)
    xp.cumsum(xp.diff(columns.jet_offsets)[keep], out=offsets[1:])
    ml = columns.jet_ntrk is not None
    return Candidates(
        lepton=the_lepton(columns, xp)[keep] if ml else None,
        jet_ntrk=columns.jet_ntrk[keep_jets] if ml else None,
        jet_label=columns.jet_label[keep_jets] if columns.jet_label is not None else None,
        event_number=columns.event_number[keep],
        weight=weight[keep],
        jet_offsets=offsets,
        jet_event=jet_owner(offsets, xp),
        jet_pt=columns.jet_pt[keep_jets],
        jet_eta=columns.jet_eta[keep_jets],
        jet_phi=columns.jet_phi[keep_jets],
        jet_m=columns.jet_m[keep_jets],
        jet_quality=jet_quality[keep_jets],
        jet_pb=columns.jet_pb[keep_jets],
        jet_pc=columns.jet_pc[keep_jets],
        jet_pu=columns.jet_pu[keep_jets],
    )


def btag_discriminant(jets: Candidates, xp: Any) -> Any:
    """Per jet: D = ln(pb / (0.018 pc + 0.982 pu)) (NaN where a link is missing)."""
    denominator = spec.BTAG_CHARM_FRACTION * jets.jet_pc
    denominator = denominator + spec.BTAG_LIGHT_FRACTION * jets.jet_pu
    with np.errstate(divide="ignore", invalid="ignore"):  # log(0), 0/0: -inf/NaN, untagged
        return xp.log(jets.jet_pb / denominator)


def btag_pass(jets: Candidates, xp: Any) -> Any:
    """Per jet: D > 2.456 (False where a link is missing)."""
    return btag_discriminant(jets, xp) > spec.BTAG_CUT


def select(events: Candidates, jet_pt: Any, tagged: Any, xp: Any) -> Selection:
    """Jet selection with ``jet_pt``, then regions, HT and m_bjj (spec §2-4), for
    candidate events (their lepton veto passed)."""
    offsets = events.jet_offsets
    jets = (jet_pt > spec.JET_PT_MIN) & events.jet_quality
    btagged = jets & tagged
    n_jets = kernels.segmented_count(offsets, jets)
    n_btags = kernels.segmented_count(offsets, btagged)
    base = n_jets >= spec.MIN_JETS
    regions = {"4j1b": base & (n_btags == 1), "4j2b": base & (n_btags >= 2)}
    # m_bjj is filled only for 4j2b events: the trijet search sees only their jets (other
    # events get none, hence NaN), which spares it the three quarters of events not in 4j2b
    in_4j2b = jets & regions["4j2b"][events.jet_event]
    trijet_offsets = xp.zeros(len(n_jets) + 1, dtype=xp.int64)
    xp.cumsum(kernels.segmented_count(offsets, in_4j2b), out=trijet_offsets[1:])
    m_bjj = kernels.best_trijet_mass(
        trijet_offsets,
        jet_pt[in_4j2b],
        events.jet_eta[in_4j2b],
        events.jet_phi[in_4j2b],
        events.jet_m[in_4j2b],
        tagged[in_4j2b],
    )
    return Selection(
        regions=regions,
        observables={"4j1b": kernels.segmented_sum(offsets, jet_pt, jets), "4j2b": m_bjj},
        jets=jets,
        jet_pt=jet_pt,
        jets_4j2b=in_4j2b,
        offsets_4j2b=trijet_offsets,
    )


def fill_chunk(
    columns: ChunkColumns,
    histograms: dict[str, WeightedCategoryHistogram],
    *,
    process: str,
    variation: str,
    weight_scale: float,
    models: tuple[Any, ...] | None = None,
    ml_engine: str = "afkit",
) -> dict[str, int]:
    """Fill every region histogram with this chunk; return nominal events per region.

    ``process``/``variation`` name the sample (``data``/``nominal`` for data; an alternative
    ttbar sample fills the variation named after it with the nominal selection only).
    ``weight_scale`` is ``xsec * L / sumw`` (1 for data).  With ``models`` (``(model_even,
    model_odd)``, columns read with ``ml=True``) also the ML histograms of spec §8
    (:func:`afkit.agc.ml.new_ml_histograms`, in ``histograms`` by feature name), the
    permutations scored by ``ml_engine`` (:data:`afkit.ml.ENGINES`).
    """
    backend = kernels.backend_of(columns.event_number)
    xp = kernels.array_module(backend)
    is_data = process == spec.DATA
    if variation not in spec.VARIATIONS:
        raise ConfigError(f"unknown variation {variation!r}")
    systematics = not is_data and variation == spec.NOMINAL
    if is_data or columns.mc_weight is None:
        weight = xp.ones(columns.n_events)
    else:
        weight = columns.mc_weight * weight_scale

    events = candidates(columns, weight, xp)
    weight = events.weight
    tagged = btag_pass(events, xp)
    nominal = select(events, events.jet_pt, tagged, xp)

    # rows of one fill per region: (variation, selection, weight)
    rows: list[tuple[str, Selection, Any]] = [(variation, nominal, weight)]
    if systematics:
        scaled = events.jet_pt * spec.JET_PT_SCALE
        smeared = events.jet_pt * kernels.smearing_factors(
            events.event_number, events.jet_offsets, width=spec.JET_PT_RESOLUTION
        )
        rows.append((spec.PT_SCALE_UP, select(events, scaled, tagged, xp), weight))
        rows.append((spec.PT_RES_UP, select(events, smeared, tagged, xp), weight))
        leading = kernels.leading_values(
            events.jet_offsets, events.jet_pt, nominal.jets, spec.BTAG_JETS
        )
        for i in range(spec.BTAG_JETS):
            shift = spec.BTAG_VARIATION * leading[i] / spec.BTAG_PT_REFERENCE
            rows.append((f"btag_var_{i}_up", nominal, weight * (1.0 + shift)))
            rows.append((f"btag_var_{i}_down", nominal, weight * (1.0 - shift)))
        if process == "wjets":
            rows.append(("scale_var_up", nominal, weight * (1.0 + spec.WJETS_SCALE)))
            rows.append(("scale_var_down", nominal, weight * (1.0 - spec.WJETS_SCALE)))

    if models is not None:
        from afkit.agc.ml import fill_ml

        if events.jet_ntrk is None:
            raise ConfigError("the ML step needs columns read with ml=True")
        discriminant = btag_discriminant(events, xp)
        fill_ml(histograms, process, rows, events, discriminant, models, xp, ml_engine)

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
