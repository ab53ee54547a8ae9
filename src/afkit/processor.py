"""The processor protocol: what users implement to run an analysis over a fileset.

``process(events)`` is called once per chunk with :class:`afkit.Events` (which knows its file,
entry range and, through :attr:`WorkContext`, its sample) and returns an accumulator: numbers,
NumPy arrays, ``hist.Hist``, or dicts/lists of those.  Accumulators of all chunks are merged with
:func:`afkit.accumulate.add`; ``postprocess(accumulator)``, if defined, runs once at the end.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class WorkContext:
    """What a chunk belongs to, passed to :meth:`Processor.process` with its events.

    ``metadata`` is the chunk's sample as the fileset declares it (see
    :class:`afkit.SampleEntry`), with these keys:

    ===================  ======================================================
    ``process``          the physics process (``ttbar``, ``wjets``, ``data``, ...)
    ``variation``        the sample's variation (``nominal``, ``ME_var``, ...)
    ``is_data``          True for collision data (no MC weights)
    ``xsec``             cross-section [pb] (0 for data)
    ``luminosity``       integrated luminosity [pb^-1] the sample is normalised to
    ``sumw``             sum of the nominal MC weights over all files of the sample
    ``sumw_variations``  the same per generator weight (``{}`` until
                         :meth:`~afkit.Fileset.fill_sumw` reads them from the files)
    ===================  ======================================================

    so that ``w = mcEventWeights[0] * xsec * luminosity / sumw`` normalises MC.
    """

    sample: str
    file: str
    entry_start: int
    entry_stop: int
    metadata: dict[str, Any]


@runtime_checkable
class Processor(Protocol):
    """Per-chunk analysis code: what :func:`afkit.run` runs on every chunk.

    Optional methods that afkit calls when a processor has them: ``postprocess(accumulator)``
    (once, on the merged result; its return value is the run's result) and ``warm_up()``
    (once in the driver before local workers fork, to load compiled code they inherit).
    """

    def process(self, events: Any, context: WorkContext) -> Any:
        """Return the accumulator of one chunk (numbers, arrays, ``hist.Hist``, dicts...)."""
        ...
