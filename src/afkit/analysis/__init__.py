"""The analysis toolkit: what every analysis needs besides reading and histogramming.

* :class:`Selection` and :class:`Cutflow` — named per-event cuts packed into bits; ``all``,
  ``require``, N-1 masks, and a cutflow that adds up across chunks and prints as a table.
* :class:`Weights` — named event-weight factors with up/down variations or a matrix of many
  (every generator weight), the nominal product and each variation's without recomputing
  the others; :class:`WeightSums` of them.
* :class:`Varied` and :func:`fill` — shape systematics in one pass: a column's variations
  as rows of one array, cuts and observables computed for all rows together, and one fill
  call for every (shape, weight) variation into a ``hist.Hist``.
* :func:`sum_of_weights` — the sums of MC weights before any skim, from the files'
  CutBookkeepers (PHYSLITE) or ``Runs`` tree (NanoAOD), per generator weight.
* :class:`LumiMask` — ATLAS GRLs and CMS golden JSON as a vectorised (run, lumi block) mask.
* :class:`Correction` — correctionlib corrections on awkward arrays of any depth.
"""

from afkit.analysis.corrections import Correction, CorrectionError
from afkit.analysis.lumi import LumiListError, LumiMask
from afkit.analysis.normalisation import SumOfWeights, sum_of_weights
from afkit.analysis.selection import Cutflow, Selection
from afkit.analysis.variations import Varied, fill, pair_mass
from afkit.analysis.weights import Weights, WeightSums

__all__ = [
    "Correction",
    "CorrectionError",
    "Cutflow",
    "LumiListError",
    "LumiMask",
    "Selection",
    "SumOfWeights",
    "Varied",
    "WeightSums",
    "Weights",
    "fill",
    "pair_mass",
    "sum_of_weights",
]
