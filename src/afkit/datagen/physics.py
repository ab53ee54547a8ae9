"""Event generation for the synthetic AGC samples: reconstructed objects in GeV.

Not a physics generator — a parametrised toy whose features matter for the AGC:

* **ttbar** (and single top) decays are built from two-body decays (t -> bW, W -> qq'/lnu)
  boosted to the lab, so the three jets of a hadronic top peak near the top mass in m_bjj;
* **W+jets** has a falling jet multiplicity and pT spectrum and mostly light-flavour jets,
  so it fills the b-tagged four-jet regions rarely;
* **b-tagging**: DL1dv01 (pb, pc, pu) are drawn per jet flavour such that the AGC
  discriminant ``ln(pb / (0.018 pc + 0.982 pu))`` exceeds 2.456 for ~77 % of b-jets, ~11 % of
  c-jets and ~1 % of light jets;
* **alternative ttbar samples** differ in documented ways (:data:`TTBAR_VARIATIONS`).

Everything is vectorised over a chunk of events and deterministic given the generator.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray

from afkit.datagen import kinematics as kin
from afkit.exceptions import ConfigError

Array = NDArray[np.float64]

TOP_MASS, TOP_WIDTH = 172.5, 1.4
W_MASS, W_WIDTH = 80.4, 2.1
B_MASS = 4.8
TAU_MASS = 1.777
# W decay modes: e, mu, tau, hadrons
W_BRANCHING = (0.108, 0.108, 0.108, 0.676)


@dataclass(frozen=True)
class Knobs:
    """Generator parameters; the alternative ttbar samples change a few of them."""

    top_pt_mean: float = 95.0  # mean top pT [GeV]
    top_rapidity_width: float = 1.1
    isr_mean: float = 1.2  # mean number of extra (radiation) jets
    isr_pt_scale: float = 28.0  # [GeV], exponential above 20 GeV
    jet_response: float = 1.0  # reconstructed/true jet pT
    jet_resolution: float = 0.10  # relative pT resolution
    pileup_jets_mean: float = 0.6


#: How the alternative ttbar samples differ from nominal (documented in the generator docs).
TTBAR_VARIATIONS: dict[str, Knobs] = {
    "nominal": Knobs(),
    "scaleup": Knobs(isr_mean=1.5, top_pt_mean=92.0),  # more radiation, slightly softer tops
    "scaledown": Knobs(isr_mean=0.95, top_pt_mean=98.0),  # less radiation, slightly harder tops
    "ME_var": Knobs(top_pt_mean=104.0, top_rapidity_width=1.0),  # another ME: harder top pT
    "PS_var": Knobs(jet_response=0.975, jet_resolution=0.13, isr_mean=1.35),  # another shower
}


#: What each generated jet comes from (the ``parton`` field of jets): the AGC ML step's truth
#: label and the track-count scale of its quark/gluon decoration depend on it (spec §8.9).
PARTON_RADIATION = 0  # radiation and W+jets extra jets (gluon-like)
PARTON_W_QUARK = 1  # a quark from a W -> qq' decay
PARTON_B_TOP_HADRONIC = 2  # the b of a top whose W decays to quarks
PARTON_B_TOP_LEPTONIC = 3  # the b of a top whose W decays to e, mu or tau (and a neutrino)
PARTON_HADRONIC_TAU = 4
PARTON_FORWARD_QUARK = 5  # single top t-channel's light quark
PARTON_OTHER_B = 6  # single top's spectator b, s-channel's second b
PARTON_PILEUP = 7


@dataclass
class Objects:
    """Objects of one kind over a chunk: owning event and per-object fields (GeV)."""

    event: list[NDArray[np.int64]] = field(default_factory=list)
    fields: dict[str, list[Array]] = field(default_factory=dict)

    def add(self, event: NDArray[np.int64], **values: Array) -> None:
        self.event.append(event)
        for name, value in values.items():
            self.fields.setdefault(name, []).append(np.asarray(value, dtype=np.float64))

    def finish(
        self, n_events: int, order_by: str = "pt", min_pt: float = 0.0
    ) -> tuple[NDArray[np.int64], dict[str, Array]]:
        """Per-event lists sorted by decreasing ``order_by``, objects below ``min_pt`` dropped."""
        event = np.concatenate(self.event) if self.event else np.zeros(0, np.int64)
        values = {k: np.concatenate(v) for k, v in self.fields.items()}
        if min_pt > 0 and "pt" in values:
            keep = values["pt"] >= min_pt
            event = event[keep]
            values = {k: v[keep] for k, v in values.items()}
        order = np.lexsort((-values[order_by], event)) if len(event) else np.zeros(0, np.int64)
        offsets = np.zeros(n_events + 1, np.int64)
        np.cumsum(np.bincount(event, minlength=n_events), out=offsets[1:])
        return offsets, {k: v[order] for k, v in values.items()}


@dataclass
class Chunk:
    """One chunk of generated events, all objects as per-event lists.

    ``weight_factor`` is 1 unless the events were drawn with biased sampling (W+jets MC): then it
    is P_true / P_generated of each event and must multiply its MC weight.
    """

    n: int
    weight_factor: Array = field(default_factory=lambda: np.ones(0))
    jets: Objects = field(default_factory=Objects)
    electrons: Objects = field(default_factory=Objects)
    muons: Objects = field(default_factory=Objects)
    photons: Objects = field(default_factory=Objects)
    taus: Objects = field(default_factory=Objects)
    neutrinos: list[Array] = field(default_factory=list)  # (k, 4) with event index column
    neutrino_event: list[NDArray[np.int64]] = field(default_factory=list)


def btag_probabilities(rng: np.random.Generator, flavour: Array) -> tuple[Array, Array, Array]:
    """DL1dv01-like (pb, pc, pu) for each jet, drawn by true flavour (0 light, 4 c, 5 b)."""
    mean = np.where(flavour == 5, 3.6, np.where(flavour == 4, 0.5, -1.2))
    sigma = np.where(flavour == 5, 1.5, 1.6)
    d = rng.normal(mean, sigma)
    charm_share = np.where(flavour == 4, rng.beta(5, 2, len(d)), rng.beta(2, 5, len(d)))
    q = 0.018 * charm_share + 0.982 * (1.0 - charm_share)
    odds = np.exp(np.clip(d, -30, 30)) * q
    pb = odds / (1.0 + odds)
    pc = charm_share * (1.0 - pb)
    return pb, pc, 1.0 - pb - pc


def _parton_to_jet(
    rng: np.random.Generator,
    chunk: Chunk,
    event: NDArray[np.int64],
    p4: Array,
    flavour: Array,
    knobs: Knobs,
    parton: int,
) -> None:
    pt, eta, phi, m = kin.pt_eta_phi_m(p4)
    pt = pt * knobs.jet_response * rng.normal(1.0, knobs.jet_resolution, len(pt))
    m = np.maximum(m, pt * rng.uniform(0.04, 0.16, len(pt)))
    chunk.jets.add(
        event,
        pt=pt,
        eta=eta + rng.normal(0, 0.02, len(pt)),
        phi=phi + rng.normal(0, 0.01, len(pt)),
        m=m,
        flavour=flavour,
        pileup=np.zeros(len(pt)),
        parton=np.full(len(pt), parton),
    )


def _lepton(
    rng: np.random.Generator,
    chunk: Chunk,
    event: NDArray[np.int64],
    p4: Array,
    kind: NDArray[np.int64],
    charge: Array,
) -> None:
    """Prompt electrons (kind 0) and muons (kind 1) from W decays, with identification flags."""
    pt, eta, phi, _ = kin.pt_eta_phi_m(p4)
    for k, target in ((0, chunk.electrons), (1, chunk.muons)):
        sel = (kind == k) & (np.abs(eta) < (2.47 if k == 0 else 2.7))
        n = int(sel.sum())
        flag = (
            (rng.uniform(0, 1, n) < 0.86).astype(float)
            if k == 0
            else np.where(rng.uniform(0, 1, n) < 0.9, 0.0, 1.0)
        )
        target.add(
            event[sel],
            pt=pt[sel] * rng.normal(1.0, 0.02, n),
            eta=eta[sel],
            phi=phi[sel],
            charge=charge[sel],
            id=flag,
            prompt=np.ones(n),
        )


def _decay_w(
    rng: np.random.Generator,
    chunk: Chunk,
    event: NDArray[np.int64],
    w: Array,
    charge: Array,
    knobs: Knobs,
    modes: NDArray[np.int64] | None = None,
) -> NDArray[np.int64]:
    """Decay W's (modes 0 e, 1 mu, 2 tau, 3 quarks); returns the modes."""
    n = len(w)
    if modes is None:
        modes = rng.choice(4, n, p=W_BRANCHING)
    masses = np.where(modes == 2, TAU_MASS, 0.0)
    f1, f2 = kin.two_body_decay(rng, w, masses, np.zeros(n))
    lep = modes < 2
    if lep.any():
        _lepton(rng, chunk, event[lep], f1[lep], modes[lep], charge[lep])
        chunk.neutrinos.append(f2[lep])
        chunk.neutrino_event.append(event[lep])
    tau = modes == 2
    if tau.any():
        visible = f1[tau] * rng.uniform(0.3, 0.8, int(tau.sum()))[:, None]
        leptonic = rng.uniform(0, 1, int(tau.sum())) < 0.35
        ev = event[tau]
        if leptonic.any():
            _lepton(
                rng,
                chunk,
                ev[leptonic],
                visible[leptonic],
                rng.integers(0, 2, int(leptonic.sum())),
                charge[tau][leptonic],
            )
        had = ~leptonic
        if had.any():
            pt, eta, phi, _ = kin.pt_eta_phi_m(visible[had])
            chunk.taus.add(ev[had], pt=pt, eta=eta, phi=phi, charge=charge[tau][had])
            _parton_to_jet(
                rng,
                chunk,
                ev[had],
                visible[had],
                np.full(int(had.sum()), 15.0),
                knobs,
                PARTON_HADRONIC_TAU,
            )
        chunk.neutrinos.append(f2[tau])
        chunk.neutrino_event.append(event[tau])
    had = modes == 3
    if had.any():
        charm = rng.uniform(0, 1, int(had.sum())) < 0.3  # W -> cs
        flavour = np.where(charm, 4.0, 0.0)
        _parton_to_jet(rng, chunk, event[had], f1[had], flavour, knobs, PARTON_W_QUARK)
        _parton_to_jet(
            rng, chunk, event[had], f2[had], np.zeros(int(had.sum())), knobs, PARTON_W_QUARK
        )
    return modes


def _top(
    rng: np.random.Generator,
    chunk: Chunk,
    event: NDArray[np.int64],
    top: Array,
    charge: Array,
    knobs: Knobs,
) -> None:
    n = len(top)
    w_mass = kin.breit_wigner(rng, W_MASS, W_WIDTH, n, 60.0, 100.0)
    b, w = kin.two_body_decay(rng, top, np.full(n, B_MASS), w_mass)
    _parton_to_jet(rng, chunk, event, b, np.full(n, 5.0), knobs, PARTON_B_TOP_LEPTONIC)
    b_jets = len(chunk.jets.event) - 1
    modes = _decay_w(rng, chunk, event, w, charge, knobs)
    # which top the b came from is known once its W has decayed (drawn after the b, as before)
    chunk.jets.fields["parton"][b_jets] = np.where(
        modes == 3, float(PARTON_B_TOP_HADRONIC), float(PARTON_B_TOP_LEPTONIC)
    )


def _make_top(rng: np.random.Generator, pt: Array, rapidity: Array, phi: Array) -> Array:
    m = kin.breit_wigner(rng, TOP_MASS, TOP_WIDTH, len(pt), 150.0, 195.0)
    mt = np.sqrt(m**2 + pt**2)
    return np.stack(
        [pt * np.cos(phi), pt * np.sin(phi), mt * np.sinh(rapidity), mt * np.cosh(rapidity)], axis=1
    )


def _add_jets(
    rng: np.random.Generator,
    chunk: Chunk,
    event: NDArray[np.int64],
    pt: Array,
    *,
    eta_width: float,
    b_fraction: float,
    c_fraction: float,
) -> None:
    """Radiation-like jets of given pT: central eta, random flavour (b, c, else light)."""
    k = len(event)
    u = rng.uniform(0, 1, k)
    flavour = np.where(u < b_fraction, 5.0, np.where(u < b_fraction + c_fraction, 4.0, 0.0))
    chunk.jets.add(
        event,
        pt=pt,
        eta=rng.normal(0, eta_width, k),
        phi=rng.uniform(-np.pi, np.pi, k),
        m=pt * rng.uniform(0.04, 0.16, k),
        flavour=flavour,
        pileup=np.zeros(k),
        parton=np.full(k, PARTON_RADIATION),
    )


def _radiation(
    rng: np.random.Generator,
    chunk: Chunk,
    n: int,
    knobs: Knobs,
    mean: float | None = None,
    b_fraction: float = 0.03,
    c_fraction: float = 0.06,
) -> None:
    counts = rng.poisson(knobs.isr_mean if mean is None else mean, n)
    event = np.repeat(np.arange(n), counts)
    k = len(event)
    pt = (
        (20.0 + rng.exponential(knobs.isr_pt_scale, k))
        * knobs.jet_response
        * rng.normal(1, knobs.jet_resolution, k)
    )
    _add_jets(rng, chunk, event, pt, eta_width=1.8, b_fraction=b_fraction, c_fraction=c_fraction)
    # pile-up jets: soft, mostly rejected by NNJvt
    counts = rng.poisson(knobs.pileup_jets_mean, n)
    event = np.repeat(np.arange(n), counts)
    k = len(event)
    pt = 20.0 + rng.exponential(7.0, k)
    chunk.jets.add(
        event,
        pt=pt,
        eta=rng.uniform(-2.5, 2.5, k),
        phi=rng.uniform(-np.pi, np.pi, k),
        m=pt * rng.uniform(0.05, 0.2, k),
        flavour=np.zeros(k),
        pileup=np.ones(k),
        parton=np.full(k, PARTON_PILEUP),
    )


def _extras(rng: np.random.Generator, chunk: Chunk, n: int) -> None:
    """Non-prompt leptons, photons and fake taus present in every process."""
    for target, mean, limit in ((chunk.electrons, 0.12, 2.47), (chunk.muons, 0.12, 2.7)):
        counts = rng.poisson(mean, n)
        event = np.repeat(np.arange(n), counts)
        k = len(event)
        flag = (rng.uniform(0, 1, k) < 0.15).astype(float)
        if target is chunk.muons:
            flag = np.where(rng.uniform(0, 1, k) < 0.2, 0.0, 2.0)
        target.add(
            event,
            pt=5.0 + rng.exponential(9.0, k),
            eta=rng.uniform(-limit, limit, k),
            phi=rng.uniform(-np.pi, np.pi, k),
            charge=rng.choice([-1.0, 1.0], k),
            id=flag,
            prompt=np.zeros(k),
        )
    counts = rng.poisson(0.5, n)
    event = np.repeat(np.arange(n), counts)
    k = len(event)
    chunk.photons.add(
        event,
        pt=10.0 + rng.exponential(15.0, k),
        eta=rng.uniform(-2.37, 2.37, k),
        phi=rng.uniform(-np.pi, np.pi, k),
    )
    counts = rng.poisson(0.2, n)
    event = np.repeat(np.arange(n), counts)
    k = len(event)
    chunk.taus.add(
        event,
        pt=20.0 + rng.exponential(15.0, k),
        eta=rng.uniform(-2.5, 2.5, k),
        phi=rng.uniform(-np.pi, np.pi, k),
        charge=rng.choice([-1.0, 1.0], k),
    )


def ttbar(rng: np.random.Generator, n: int, knobs: Knobs) -> Chunk:
    chunk = Chunk(n)
    event = np.arange(n)
    pt = rng.gamma(2.0, knobs.top_pt_mean / 2.0, n)
    y = rng.normal(0, knobs.top_rapidity_width, n)
    phi = rng.uniform(-np.pi, np.pi, n)
    top = _make_top(rng, pt, y, phi)
    anti = _make_top(
        rng,
        pt * np.abs(rng.normal(1.0, 0.2, n)),
        y + rng.normal(0, 0.9, n),
        phi + np.pi + rng.normal(0, 0.3, n),
    )
    _top(rng, chunk, event, top, np.ones(n), knobs)
    _top(rng, chunk, event, anti, -np.ones(n), knobs)
    _radiation(rng, chunk, n, knobs)
    _extras(rng, chunk, n)
    return chunk


def single_top(rng: np.random.Generator, n: int, channel: str) -> Chunk:
    knobs = Knobs(top_pt_mean=60.0, isr_mean=0.8)
    chunk = Chunk(n)
    event = np.arange(n)
    charge = rng.choice([-1.0, 1.0], n)
    phi = rng.uniform(-np.pi, np.pi, n)
    top = _make_top(rng, rng.gamma(2.0, knobs.top_pt_mean / 2.0, n), rng.normal(0, 1.2, n), phi)
    _top(rng, chunk, event, top, charge, knobs)
    recoil_phi = phi + np.pi + rng.normal(0, 0.4, n)
    if channel == "t_chan":  # a forward light-quark jet, sometimes the spectator b
        fwd = kin.from_pt_eta_phi_m(
            20 + rng.exponential(35, n),
            rng.choice([-1, 1], n) * rng.normal(2.4, 0.9, n),
            recoil_phi,
            np.zeros(n),
        )
        _parton_to_jet(rng, chunk, event, fwd, np.zeros(n), knobs, PARTON_FORWARD_QUARK)
        spectator = rng.uniform(0, 1, n) < 0.35
        b = kin.from_pt_eta_phi_m(
            15 + rng.exponential(15, int(spectator.sum())),
            rng.normal(0, 2.0, int(spectator.sum())),
            rng.uniform(-np.pi, np.pi, int(spectator.sum())),
            np.full(int(spectator.sum()), B_MASS),
        )
        _parton_to_jet(
            rng,
            chunk,
            event[spectator],
            b,
            np.full(int(spectator.sum()), 5.0),
            knobs,
            PARTON_OTHER_B,
        )
    elif channel == "s_chan":  # the second b
        b = kin.from_pt_eta_phi_m(
            30 + rng.exponential(45, n), rng.normal(0, 1.2, n), recoil_phi, np.full(n, B_MASS)
        )
        _parton_to_jet(rng, chunk, event, b, np.full(n, 5.0), knobs, PARTON_OTHER_B)
    else:  # tW: an associated W
        w_mass = kin.breit_wigner(rng, W_MASS, W_WIDTH, n, 60.0, 100.0)
        mt = np.sqrt(w_mass**2 + (top[:, 0] ** 2 + top[:, 1] ** 2))
        y = rng.normal(0, 1.2, n)
        w = np.stack([-top[:, 0], -top[:, 1], mt * np.sinh(y), mt * np.cosh(y)], axis=1)
        _decay_w(rng, chunk, event, w, -charge, knobs)
    _radiation(rng, chunk, n, knobs)
    _extras(rng, chunk, n)
    return chunk


#: W+jets extra-jet multiplicity: geometric with this ratio (P(n) = (1 - r) r^n) ...
WJETS_MULTIPLICITY_RATIO = 0.42
#: ... and, for MC, drawn from a flatter one and reweighted (more events at high multiplicity)
WJETS_SAMPLING_RATIO = 0.72


def wjets(rng: np.random.Generator, n: int, *, enhanced: bool = False) -> Chunk:
    """W+jets; ``enhanced`` oversamples high jet multiplicities, with compensating weights."""
    knobs = Knobs()
    chunk = Chunk(n, weight_factor=np.ones(n))
    event = np.arange(n)
    w_mass = kin.breit_wigner(rng, W_MASS, W_WIDTH, n, 60.0, 100.0)
    pt = rng.exponential(25.0, n)
    y = rng.normal(0, 1.5, n)
    phi = rng.uniform(-np.pi, np.pi, n)
    mt = np.sqrt(w_mass**2 + pt**2)
    w = np.stack([pt * np.cos(phi), pt * np.sin(phi), mt * np.sinh(y), mt * np.cosh(y)], axis=1)
    _decay_w(rng, chunk, event, w, rng.choice([-1.0, 1.0], n), knobs, modes=rng.choice(3, n))
    # falling jet multiplicity and spectrum, mostly light flavour
    r_true = WJETS_MULTIPLICITY_RATIO
    r_draw = WJETS_SAMPLING_RATIO if enhanced else r_true
    counts = rng.geometric(1.0 - r_draw, n) - 1
    if enhanced:
        factor = ((1 - r_true) / (1 - r_draw)) * (r_true / r_draw) ** counts
        chunk.weight_factor = np.asarray(factor, dtype=np.float64)
    event = np.repeat(event, counts)
    k = len(event)
    jet_pt = (22.0 + rng.exponential(32.0, k)) * rng.normal(1, knobs.jet_resolution, k)
    _add_jets(rng, chunk, event, jet_pt, eta_width=1.7, b_fraction=0.035, c_fraction=0.08)
    _radiation(rng, chunk, n, replace(knobs, isr_mean=0.0))
    _extras(rng, chunk, n)
    return chunk


def generate(
    rng: np.random.Generator, process: str, variation: str, n: int, *, enhanced: bool = False
) -> Chunk:
    """Events of ``process`` (``variation`` for the alternative ttbar samples).

    ``enhanced`` (MC only) lets processes with rare signal-region topologies sample them more
    often; the chunk's ``weight_factor`` then carries the compensating weights.
    """
    if process == "ttbar":
        chunk = ttbar(rng, n, TTBAR_VARIATIONS[variation])
    elif process.startswith("single_top_"):
        chunk = single_top(rng, n, process.removeprefix("single_top_"))
    elif process == "wjets":
        return wjets(rng, n, enhanced=enhanced)
    else:
        raise ConfigError(f"no generator for process {process!r}")
    chunk.weight_factor = np.ones(n)
    return chunk
