"""Machine learning in columnar analyses: boosted-tree inference with afkit's own kernels.

:func:`load_xgboost` reads an xgboost JSON model (``gbtree``, numerical splits, one output)
into a :class:`TreeEnsemble`; :func:`margins` evaluates it on rows of features — a 2-D NumPy
or CUDA array, or an awkward array whose last axis holds each row — with a Numba CPU kernel
or a CUDA kernel, following where the data lives.  The margins equal
``xgboost.Booster.predict(output_margin=True)`` bit for bit (float32); xgboost itself is not
needed (``engine="xgboost"`` hands the same rows to xgboost's predictor instead, e.g. as a
cross-check).  For a probability of a logistic model: ``1 / (1 + exp(-margin))``.

The AGC's jet–parton assignment (:mod:`afkit.ml.assignment`) builds on the same tree walk:
every jet permutation of an event is scored inside one kernel, nothing materialised.
"""

from __future__ import annotations

from afkit.ml.inference import ENGINES, margins
from afkit.ml.model import OBJECTIVES, TreeEnsemble, load_xgboost

__all__ = ["ENGINES", "OBJECTIVES", "TreeEnsemble", "load_xgboost", "margins"]
