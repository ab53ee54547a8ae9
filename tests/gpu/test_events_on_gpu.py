"""On a real NVIDIA GPU: events read with ``backend="cuda"`` and the kernels on them equal the
CPU's (opt-in, ``--run-gpu``; skipped without CuPy)."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pytest

import afkit
from afkit import kernels

pytestmark = pytest.mark.gpu
cp = pytest.importorskip("cupy")


def test_events_on_the_gpu_equal_the_cpu(r24: Path) -> None:
    cpu = afkit.read(r24)
    gpu = afkit.read(r24, backend="cuda")
    assert gpu.backend == "cuda"
    assert ak.backend(gpu.Jets.pt) == "cuda"
    assert ak.to_list(ak.to_backend(gpu.Jets.pt, "cpu")) == ak.to_list(cpu.Jets.pt)
    linked = ak.to_backend(gpu.Jets.btagging.DL1dv01_pb, "cpu")
    assert ak.to_list(linked) == ak.to_list(cpu.Jets.btagging.DL1dv01_pb)
    moved = cpu.to("cuda")
    assert ak.backend(moved.Electrons.pt) == "cuda"


def test_kernels_on_gpu_events_equal_the_cpu(r24: Path) -> None:
    cpu = afkit.read(r24).Jets
    gpu = afkit.read(r24, backend="cuda").Jets
    for jets in (cpu, gpu):
        jets_sel = jets.pt > 30
        out = {
            "count": kernels.count(jets_sel),
            "sum": kernels.sum(jets.pt, jets_sel),
            "best": kernels.best_combination(jets, 3, require=jets.pt > 50, mask=jets_sel).mass,
            "pairs": kernels.pair_masses(jets, mask_a=jets_sel),
            "dr": kernels.min_delta_r(jets[:, :1], jets[:, 1:]),
        }
        if jets is cpu:
            expected = out
        else:
            for name, value in out.items():
                got = ak.to_list(ak.to_backend(value, "cpu"))
                want = ak.to_list(expected[name])
                assert np.allclose(
                    np.asarray(ak.flatten(ak.Array(got), axis=None), dtype=float),
                    np.asarray(ak.flatten(ak.Array(want), axis=None), dtype=float),
                    rtol=1e-12,
                    equal_nan=True,
                ), name
