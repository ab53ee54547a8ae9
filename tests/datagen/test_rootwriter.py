"""afkit's PHYSLITE-layout writer: round trips, the real files' branch layout, bounded bytes."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot

import afkit
from afkit.io.filespec import clear_open_files
from afkit.io.physlite.storegate import CONTAINER_CLIDS, storegate_key

pytest.importorskip("ROOT", reason="ROOT not installed (pip install 'afkit[generate]')")

from afkit.datagen.rootwriter import Column, TreeFileWriter, compression_setting

BTAG_KEY = storegate_key("BTagging_AntiKt4EMPFlow", CONTAINER_CLIDS["xAOD::BTagging"])
COLUMNS = [
    Column("AnalysisJets", "interface", target="DataVector<xAOD::Jet_v1>"),
    Column("BTagging_AntiKt4EMPFlow", "interface", target="DataVector<xAOD::BTagging_v1>"),
    Column("EventInfo", "interface", target="xAOD::EventInfo_v1"),
    Column("AnalysisJetsAuxDyn.pt", "vector", "float32"),
    Column("AnalysisJetsAuxDyn.NNJvtPass", "vector", "int8"),
    Column("AnalysisJetsAuxDyn.HadronConeExclTruthLabelID", "vector", "int32"),
    Column("AnalysisJetsAuxDyn.btaggingLink", "link", target="BTagging_v1"),
    Column("BTagging_AntiKt4EMPFlowAuxDyn.DL1dv01_pb", "vector", "float32"),
    Column("EventInfoAuxDyn.eventNumber", "scalar", "uint64"),
    Column("EventInfoAuxDyn.runNumber", "scalar", "uint32"),
    Column("EventInfoAuxDyn.mcEventWeights", "vector", "float32"),
]


def _chunk(seed: int, n: int, first_event: int) -> dict[str, object]:
    rng = np.random.default_rng(seed)
    counts = rng.poisson(4, n)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    total = int(offsets[-1])
    index = (np.arange(total) - np.repeat(offsets[:-1], counts)).astype(np.uint32)
    keys = np.full(total, BTAG_KEY, np.uint32)
    keys[::7] = 0  # some invalid links
    return {
        "AnalysisJetsAuxDyn.pt": (offsets, rng.exponential(40_000, total).astype(np.float32)),
        "AnalysisJetsAuxDyn.NNJvtPass": (offsets, rng.integers(0, 2, total).astype(np.int8)),
        "AnalysisJetsAuxDyn.HadronConeExclTruthLabelID": (offsets, rng.choice([0, 4, 5], total)),
        "AnalysisJetsAuxDyn.btaggingLink": (offsets, keys, index),
        "BTagging_AntiKt4EMPFlowAuxDyn.DL1dv01_pb": (offsets, rng.uniform(0, 1, total)),
        "EventInfoAuxDyn.eventNumber": np.arange(first_event, first_event + n),
        "EventInfoAuxDyn.runNumber": np.full(n, 410000),
        "EventInfoAuxDyn.mcEventWeights": (np.arange(n + 1), rng.normal(1, 0.5, n)),
    }


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, object]]]:
    path = tmp_path_factory.mktemp("writer") / "physlite.root"
    chunks = [
        _chunk(seed, n, start) for seed, n, start in ((1, 700, 0), (2, 0, 700), (3, 1300, 700))
    ]
    with TreeFileWriter(path, COLUMNS, compression="zstd5") as writer:
        for chunk in chunks:
            writer.write(len(chunk["EventInfoAuxDyn.eventNumber"]), chunk)  # type: ignore[arg-type]
    return path, chunks


def _joined(chunks: list[dict[str, object]], name: str, part: int) -> np.ndarray:
    return np.concatenate([np.asarray(c[name][part]) for c in chunks])  # type: ignore[index]


def test_round_trip_through_afkit_and_uproot(written) -> None:  # type: ignore[no-untyped-def]
    path, chunks = written
    events = afkit.read(path, units="MeV")
    assert len(events) == 2000
    assert np.array_equal(ak.to_numpy(events.EventInfo.eventNumber), np.arange(2000))
    for field, part in (("pt", 1), ("NNJvtPass", 1), ("HadronConeExclTruthLabelID", 1)):
        expected = _joined(chunks, f"AnalysisJetsAuxDyn.{field}", part)
        assert np.array_equal(
            ak.to_numpy(ak.flatten(events.Jets[field])), expected.astype(expected.dtype)
        )
    keys = _joined(chunks, "AnalysisJetsAuxDyn.btaggingLink", 1)
    assert np.array_equal(ak.to_numpy(ak.flatten(events.Jets.btaggingLink.m_persKey)), keys)
    pb = ak.flatten(events.Jets.btagging.DL1dv01_pb)
    assert np.array_equal(ak.to_numpy(ak.is_none(pb)), keys == 0)
    tree = uproot.open(path)["CollectionTree"]
    assert ak.array_equal(tree["AnalysisJetsAuxDyn.pt"].array(), events.Jets.pt)


def test_branch_layout_matches_real_physlite(written, r24: Path) -> None:  # type: ignore[no-untyped-def]
    path, _ = written
    ours = uproot.open(path)["CollectionTree"]
    real = uproot.open(r24)["CollectionTree"]
    for name in (
        "AnalysisJets",
        "EventInfo",
        "AnalysisJetsAuxDyn.pt",
        "AnalysisJetsAuxDyn.NNJvtPass",
        "AnalysisJetsAuxDyn.btaggingLink",
        "AnalysisJetsAuxDyn.btaggingLink.m_persKey",
        "AnalysisJetsAuxDyn.btaggingLink.m_persIndex",
        "EventInfoAuxDyn.eventNumber",
        "EventInfoAuxDyn.mcEventWeights",
        "BTagging_AntiKt4EMPFlowAuxDyn.DL1dv01_pb",
    ):
        a, b = ours[name], real[name]
        assert type(a) is type(b), name
        assert a.typename == b.typename, name
        for member in ("fType", "fClassName", "fStreamerType"):
            if b.has_member(member) and name != "EventInfo":
                assert a.member(member) == b.member(member), (name, member)
        if type(b.interpretation).__name__ == "AsGrouped":
            assert [x.name for x in a.branches] == [x.name for x in b.branches], name
        else:
            assert repr(a.interpretation) == repr(b.interpretation), name


def test_afkit_inspect_sees_everything(written) -> None:  # type: ignore[no-untyped-def]
    path, _ = written
    summary = afkit.inspect(path)
    assert summary.undecodable == ()
    jets = next(c for c in summary.collections if c.name == "Jets")
    link = next(li for li in jets.links if li.field == "btaggingLink")
    assert link.referenced == ("BTagging",)


def test_bytes_read_on_an_afkit_written_wide_file(tmp_path: Path) -> None:
    """The projection check of the reader issue, on a many-branch file afkit writes itself."""
    path = tmp_path / "wide.root"
    n, width = 20_000, 60
    rng = np.random.default_rng(5)
    columns = [Column(f"AnalysisJetsAuxDyn.v{i}", "vector", "float32") for i in range(width)]
    columns += [Column(f"AnalysisElectronsAuxDyn.v{i}", "vector", "float32") for i in range(width)]
    columns += [
        Column("AnalysisJetsAuxDyn.pt", "vector", "float32"),
        Column("AnalysisElectronsAuxDyn.pt", "vector", "float32"),
    ]
    with TreeFileWriter(path, columns) as writer:
        for _chunk_start in range(0, n, 5000):
            data: dict[str, object] = {}
            for collection in ("AnalysisJets", "AnalysisElectrons"):
                counts = rng.poisson(5, 5000)
                offsets = np.concatenate([[0], np.cumsum(counts)])
                for column in columns:
                    if column.name.startswith(collection + "AuxDyn."):
                        data[column.name] = (offsets, rng.normal(30_000, 9_000, offsets[-1]))
            writer.write(5000, data)
    clear_open_files()
    events = afkit.read(path)
    tree = uproot.open(path)["CollectionTree"]
    assert len(tree.keys()) == 2 * width + 2
    before = events.bytes_read
    ak.to_numpy(ak.flatten(events.Jets.pt))
    assert events.branches_read == ["AnalysisJetsAuxDyn.pt"]
    one = int(tree["AnalysisJetsAuxDyn.pt"].compressed_bytes)
    assert events.bytes_read - before <= 1.1 * one
    before = events.bytes_read
    ak.to_numpy(ak.flatten(events.Jets.v17 + events.Jets.v3))
    two = sum(int(tree[f"AnalysisJetsAuxDyn.v{i}"].compressed_bytes) for i in (17, 3))
    assert events.bytes_read - before <= 1.1 * two


@pytest.mark.parametrize(
    ("text", "value"), [("zstd5", 505), ("zlib1", 101), ("lz4_4", 404), ("none", 0)]
)
def test_compression_settings(text: str, value: int) -> None:
    assert compression_setting(text) == value


def test_bad_input_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(afkit.ConfigError, match="compression"):
        compression_setting("gzip9")
    with TreeFileWriter(tmp_path / "x.root", COLUMNS[3:5]) as writer:
        with pytest.raises(afkit.ConfigError, match="missing"):
            writer.write(2, {"AnalysisJetsAuxDyn.pt": (np.array([0, 1, 2]), np.ones(2))})
        with pytest.raises(afkit.ConfigError, match="offsets"):
            writer.write(
                2,
                {
                    "AnalysisJetsAuxDyn.pt": (np.array([0, 3, 2]), np.ones(2)),
                    "AnalysisJetsAuxDyn.NNJvtPass": (np.array([0, 1, 2]), np.ones(2)),
                },
            )
    with pytest.raises(afkit.ConfigError, match="dtype"):
        TreeFileWriter(tmp_path / "y.root", [Column("a.b", "vector", "complex64")])


def test_dictionary_cache_is_per_root_installation(tmp_path: Path, monkeypatch) -> None:
    """A dictionary built by one environment's ROOT is never loaded by another's.

    The compiled library links the ROOT it was built with by absolute path; loading it from a
    second installation puts two copies of libCore in one process (a crash at exit).
    """
    from types import SimpleNamespace

    from afkit.datagen import rootwriter

    monkeypatch.setenv("AFKIT_CACHE", str(tmp_path))

    def fake_root(location: str, version: str) -> SimpleNamespace:
        return SimpleNamespace(
            __file__=f"{location}/ROOT/__init__.py",
            gROOT=SimpleNamespace(GetVersion=lambda: version),
        )

    first = rootwriter._cache_dir(fake_root("/venv-a/site-packages", "6.40.00"))
    assert first.parent == tmp_path
    assert first == rootwriter._cache_dir(fake_root("/venv-a/site-packages", "6.40.00"))
    assert first != rootwriter._cache_dir(fake_root("/venv-b/site-packages", "6.40.00"))
    assert first != rootwriter._cache_dir(fake_root("/venv-a/site-packages", "6.38.00"))
