"""Write PHYSLITE-layout files with ROOT itself: an independent writer for tests and benchmarks.

The branches are real ``std::vector<float>`` TBranchElements named as in PHYSLITE
(``AnalysisJetsAuxDyn.pt``, ...), ZSTD level 5 like release 24, filled from NumPy buffers by
a small C++ function compiled by ROOT's interpreter (a Python loop would dominate).
Requires the ``root`` package (``pip install root``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

_CPP = r"""
#include <vector>
#include <string>
#include "TFile.h"
#include "TTree.h"

void afkit_bench_write_jets(const char* path, long nevents, const long* offsets,
                            const float* pt, const float* eta, const float* phi, const float* m,
                            int nextra, int compression) {
  TFile file(path, "RECREATE", "", compression);
  TTree tree("CollectionTree", "");
  std::vector<float> vpt, veta, vphi, vm;
  std::vector<std::vector<float>> extra(nextra);
  tree.Branch("AnalysisJetsAuxDyn.pt", &vpt);
  tree.Branch("AnalysisJetsAuxDyn.eta", &veta);
  tree.Branch("AnalysisJetsAuxDyn.phi", &vphi);
  tree.Branch("AnalysisJetsAuxDyn.m", &vm);
  for (int i = 0; i < nextra; ++i) {
    tree.Branch(("AnalysisJetsAuxDyn.extra" + std::to_string(i)).c_str(), &extra[i]);
  }
  ULong64_t eventNumber = 0;
  tree.Branch("EventInfoAuxDyn.eventNumber", &eventNumber);
  for (long e = 0; e < nevents; ++e) {
    long a = offsets[e], b = offsets[e + 1];
    vpt.assign(pt + a, pt + b);
    veta.assign(eta + a, eta + b);
    vphi.assign(phi + a, phi + b);
    vm.assign(m + a, m + b);
    for (int i = 0; i < nextra; ++i) {
      extra[i].resize(b - a);
      for (long j = a; j < b; ++j) extra[i][j - a] = pt[j] * (0.01f * (i + 1)) + eta[j];
    }
    eventNumber = (ULong64_t)e;
    tree.Fill();
  }
  tree.Write();
  file.Close();
}
"""

_declared = False


def jet_arrays(n_events: int, seed: int = 1) -> dict[str, np.ndarray]:
    """The arrays :func:`write_jets_file` writes: offsets and float32 MeV kinematics."""
    rng = np.random.default_rng(seed)
    counts = rng.poisson(6.0, n_events)
    offsets = np.zeros(n_events + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    n = int(offsets[-1])
    pt = (20_000 + rng.exponential(40_000, n)).astype(np.float32)
    return {
        "offsets": offsets,
        "pt": pt,
        "eta": rng.normal(0, 1.5, n).astype(np.float32),
        "phi": rng.uniform(-np.pi, np.pi, n).astype(np.float32),
        "m": (pt * rng.uniform(0.05, 0.2, n)).astype(np.float32),
    }


def write_jets_file(
    path: Path, n_events: int, *, seed: int = 1, n_extra: int = 30
) -> dict[str, float]:
    """Write ``n_events`` of jet kinematics (MeV, float32) plus ``n_extra`` other jet branches."""
    global _declared
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the PyPI build announces its alpha status
        import ROOT

    if not _declared:
        ROOT.gInterpreter.Declare(_CPP)
        _declared = True
    a = jet_arrays(n_events, seed)
    ROOT.afkit_bench_write_jets(
        str(path), n_events, a["offsets"], a["pt"], a["eta"], a["phi"], a["m"], n_extra, 505
    )
    jets = float(a["offsets"][-1])
    return {"jets": jets, "mean_jets_per_event": jets / n_events}
