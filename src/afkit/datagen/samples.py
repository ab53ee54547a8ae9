"""The AGC samples (spec §1): processes, variations, cross-sections, luminosity."""

from __future__ import annotations

from dataclasses import dataclass

#: Integrated luminosity of the AGC [pb^-1]; a generated dataset declares its own in the fileset.
AGC_LUMINOSITY = 3378.0


@dataclass(frozen=True)
class Sample:
    """One generated sample: a process and the variation it was made with."""

    process: str
    variation: str
    xsec: float  # [pb]; 0 for data
    dsid: int  # mcChannelNumber written to EventInfo (0 for data)
    negative_weight_fraction: float  # share of events with a negative mcEventWeights[0]

    @property
    def name(self) -> str:
        return self.process if self.variation == "nominal" else f"{self.process}__{self.variation}"

    @property
    def is_data(self) -> bool:
        return self.process == "data"


TTBAR_XSEC = 729.84
SAMPLES: tuple[Sample, ...] = (
    Sample("ttbar", "nominal", TTBAR_XSEC, 410470, 0.004),
    Sample("ttbar", "scaleup", TTBAR_XSEC, 410480, 0.004),
    Sample("ttbar", "scaledown", TTBAR_XSEC, 410482, 0.004),
    Sample(
        "ttbar", "ME_var", TTBAR_XSEC, 410464, 0.08
    ),  # an NLO generator with more negative weights
    Sample("ttbar", "PS_var", TTBAR_XSEC, 410557, 0.004),
    Sample("single_top_s_chan", "nominal", 3.2944, 410644, 0.01),
    Sample("single_top_t_chan", "nominal", 234.79, 410658, 0.01),
    Sample("single_top_tW", "nominal", 75.842, 410646, 0.03),
    Sample("wjets", "nominal", 15487.164, 700338, 0.12),
    Sample("data", "nominal", 0.0, 0, 0.0),
)


def sample(name: str) -> Sample:
    """Look a sample up by :attr:`Sample.name` (``ttbar``, ``ttbar__ME_var``, ``data``, ...)."""
    for s in SAMPLES:
        if s.name == name:
            return s
    from afkit.exceptions import ConfigError

    raise ConfigError(f"no sample {name!r}; samples: {', '.join(s.name for s in SAMPLES)}")
