"""Generated AGC datasets for the end-to-end tests: one set of MC, data at mu = 1.0 and 1.3."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from afkit.datagen.samples import SAMPLES
from afkit.fileset import FileEntry, Fileset

pytest.importorskip("ROOT", reason="generating the test dataset needs ROOT (pip install root)")

#: MC events per sample: enough that every fit bin has a non-empty MC prediction
MC_EVENTS = 10_000


def _absolute(fileset: Fileset) -> Fileset:
    samples = {}
    for name, sample in fileset.samples.items():
        files = [FileEntry(fileset.resolve(f), f.tree, f.events) for f in sample.files]
        samples[name] = dataclasses.replace(sample, files=files)
    return dataclasses.replace(fileset, samples=samples, base=None)


@pytest.fixture(scope="session")
def agc_datasets(tmp_path_factory: pytest.TempPathFactory) -> dict[float, Fileset]:
    """``{mu: Fileset}``: the same MC samples with a data sample generated at each mu."""
    from afkit.datagen.generate import generate

    # AFKIT_TEST_DATASETS keeps the generated files between local runs (CI starts afresh)
    keep = os.environ.get("AFKIT_TEST_DATASETS")
    root = Path(keep) if keep else tmp_path_factory.mktemp("agc-datasets")
    if keep and (root / "fileset-mu1.3.json").exists():
        return {mu: Fileset.load(root / f"fileset-mu{mu}.json") for mu in (1.0, 1.3)}
    mc_names = [s.name for s in SAMPLES if not s.is_data]
    mc = _absolute(
        generate(root / "mc", events_per_sample=MC_EVENTS, samples=mc_names, seed=7).fileset
    )
    out = {}
    for mu in (1.0, 1.3):
        data = _absolute(generate(root / f"data-mu{mu}", samples=["data"], mu=mu, seed=11).fileset)
        combined = Fileset({**mc.samples, **data.samples}, mc.luminosity, {"mu": mu})
        combined.save(root / f"fileset-mu{mu}.json")
        out[mu] = combined
    return out


@pytest.fixture(scope="session")
def agc_fileset_path(
    agc_datasets: dict[float, Fileset], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    path = tmp_path_factory.mktemp("agc-fileset") / "fileset.json"
    agc_datasets[1.0].save(path)
    return path
