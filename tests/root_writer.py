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


_UNSPLIT_CPP = r"""
#include <string>
#include <utility>
#include <vector>
#include "TFile.h"
#include "TTree.h"

// Write n entries of xAOD::EventAuxInfo_v1 unsplit (split level 0) as "EventInfoAux.", with an
// AuxDyn branch beside it, the way early release-21 PHYSLITE prototypes stored event info.
void afkit_write_unsplit_event_info(const char* path, int n) {
  TFile file(path, "RECREATE", "", 505);
  TTree tree("CollectionTree", "");
  auto* info = new xAOD::EventAuxInfo_v1();
  std::vector<float> weights;
  tree.Branch("EventInfoAux.", &info, 32000, 0);
  tree.Branch("EventInfoAuxDyn.mcEventWeights", &weights);
  for (int i = 0; i < n; ++i) {
    info->runNumber = 284500 + i % 3;
    info->eventNumber = 4000000000ULL + 7919ULL * i;
    info->lumiBlock = 10 + i / 4;
    info->bcid = 100 + i;
    info->actualInteractionsPerCrossing = 0.5f * i + 0.25f;
    info->level1TriggerType = (unsigned short)(i % 5);
    info->streamTagNames.assign(i % 3, "Main");
    info->streamTagTypes.assign(i % 3, "physics");
    info->streamTagObeysLumiblock.assign(i % 3, 1);
    info->detDescrTags.assign(i % 2, {"GeoAtlas", "ATLAS-R2-2016-01-00-01"});
    weights.assign(1 + i % 2, 1.0f + 0.125f * i);
    tree.Fill();
  }
  tree.Write();
  file.Close();
  delete info;
}

// Read the unsplit objects back through the dictionary: what ROOT itself reads.
void afkit_read_unsplit_event_info(const char* path, unsigned int* run, long* event,
                                   unsigned int* lumi, float* mu) {
  TFile file(path);
  auto* tree = file.Get<TTree>("CollectionTree");
  xAOD::EventAuxInfo_v1* info = nullptr;
  tree->SetBranchAddress("EventInfoAux.", &info);
  for (Long64_t i = 0; i < tree->GetEntries(); ++i) {
    tree->GetEntry(i);
    run[i] = info->runNumber;
    event[i] = (long)info->eventNumber;  // (the caller views the bits as uint64)
    lumi[i] = info->lumiBlock;
    mu[i] = info->actualInteractionsPerCrossing;
  }
  tree->ResetBranchAddresses();
  delete info;
}
"""


def write_unsplit_event_info(path: Path, n_events: int, build: Path) -> dict[str, np.ndarray]:
    """Write a CollectionTree with ``EventInfoAux.`` unsplit, as ROOT streams the real
    xAOD class; return the run/event numbers, lumi blocks and mu that ROOT reads back.

    ``build`` is a directory for the dictionary ROOT compiles (a few seconds, once).
    """
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the PyPI build announces its alpha status
        import ROOT

    if not hasattr(ROOT, "afkit_write_unsplit_event_info"):
        header = Path(__file__).resolve().parent / "cxx" / "xaod_event_aux_info.h"
        build.mkdir(parents=True, exist_ok=True)
        ROOT.gSystem.SetBuildDir(str(build), True)
        if not ROOT.gSystem.CompileMacro(str(header), "kO"):
            raise RuntimeError("ROOT could not compile the xAOD::EventAuxInfo_v1 dictionary")
        ROOT.gInterpreter.Declare(_UNSPLIT_CPP)
    ROOT.afkit_write_unsplit_event_info(str(path), n_events)
    read = {
        "runNumber": np.zeros(n_events, np.uint32),
        "eventNumber": np.zeros(n_events, np.int64),
        "lumiBlock": np.zeros(n_events, np.uint32),
        "actualInteractionsPerCrossing": np.zeros(n_events, np.float32),
    }
    ROOT.afkit_read_unsplit_event_info(str(path), *read.values())
    read["eventNumber"] = read["eventNumber"].view(np.uint64)
    return read
