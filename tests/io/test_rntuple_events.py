"""RNTuple event data through afkit.read: the same Events API, values, laziness and runs.

NanoAOD as RNTuple (CMS open data converted by ROOT's RNTupleImporter) is checked field by
field against uproot's reading of the same fields; PHYSLITE in Athena 25's RNTuple layout is
written by afkit's generator through ROOT's RNTuple writer, next to the TTree file of the same
seed, and every field of every collection (links resolved) must be equal between the two.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import awkward as ak
import numpy as np
import pytest

import afkit
from afkit.fileset import FileEntry, Fileset, SampleEntry
from afkit.inspection import inspect
from afkit.io.open import schema_of
from tests.conftest import DATA, NANO

uproot = pytest.importorskip("uproot")

NANO_RNTUPLE = (
    DATA / "rntuple" / "cmsopendata2015_ttbar_19980_NANOAOD_RNTupleImporter_rntuple_v1-0-0-1.root"
)
MUONS = DATA / "rntuple" / "Run2012BC_DoubleMuParked_Muons_1000evts_rntuple_v1-0-0-0.root"


def test_nanoaod_rntuple_fields_equal_uproot() -> None:
    events = afkit.read(NANO_RNTUPLE)
    ntuple = uproot.open(NANO_RNTUPLE)["Events"]
    top = {k for k in ntuple.keys() if "." not in k}  # noqa: SIM118 - iterating gives fields
    pairs = []  # (afkit's array, uproot's field name)
    for collection in events.fields:
        value = events[collection]
        if collection in top:  # an event-level field
            pairs.append((value, collection))
        else:
            pairs += [(value[field], f"{collection}_{field}") for field in value.fields]
    want = ntuple.arrays([name for _, name in pairs])
    for got, name in pairs:
        # counters are RNTupleCardinality<std::uint32_t>: uint32, as the TTree's UInt_t (uproot
        # gives int64); every other field has the same dtype
        exact = not name.startswith("n")
        assert ak.array_equal(got, want[name], equal_nan=True, dtype_exact=exact), name
    assert len(pairs) > 500


def test_nanoaod_rntuple_has_the_ttree_schema() -> None:
    """The same NanoAOD content as TTree and as RNTuple gives the same collections."""
    tree = schema_of(DATA / NANO)
    ntuple = schema_of(NANO_RNTUPLE)
    assert ntuple.format == tree.format == "nanoaod"
    assert set(ntuple.collections) == set(tree.collections)
    for name, spec in tree.collections.items():
        assert set(ntuple.collections[name].fields) == set(spec.fields), name
        assert ntuple.collections[name].single == spec.single, name


def test_reading_one_field_reads_only_its_columns() -> None:
    from afkit.io.filespec import clear_open_files

    clear_open_files()  # a fresh file: its page list is read with the first field
    events = afkit.read(MUONS)
    opened = events.bytes_read
    pt = events.Muon.pt
    ak.to_list(pt)
    touched = events.bytes_read - opened
    size = MUONS.stat().st_size
    assert 0 < touched < size / 3
    # the columns behind Muon.pt: the collection's index column and the pt values
    from afkit.io.filespec import open_file
    from afkit.io.open import rntuple_of

    nt = rntuple_of(open_file(str(MUONS)), str(MUONS), "Events")
    needed = 0
    for name in ("nMuon", "Muon_pt"):
        desc = nt.field(name)
        stack = [desc]
        ids = set()
        while stack:
            node = stack.pop()
            ids.update(c.id for c in nt.columns_of(node))
            stack.extend(nt.schema.fields[c] for c in node.children)
        for cluster in nt.clusters():
            for column in ids:
                info = cluster.columns.get(column)
                needed += info.compressed_bytes if info else 0
    needed += sum(g.page_list.size for g in nt.groups)  # read with the first field
    assert touched == needed


def test_entry_ranges_and_chunks() -> None:
    whole = afkit.read(MUONS)
    part = afkit.read(MUONS, entry_start=100, entry_stop=350)
    assert len(part) == 250
    assert ak.to_list(part.Muon.pt) == ak.to_list(whole.Muon.pt[100:350])


def test_inspect_names_the_storage() -> None:
    summary = inspect(NANO_RNTUPLE)
    assert summary.storage == "RNTuple 1.0.0.1"
    assert summary.tree == "Events"
    assert inspect(DATA / NANO).storage == "TTree"


def test_missing_event_data_lists_rntuples(tmp_path: Path) -> None:
    with pytest.raises(afkit.MissingTreeError) as err:
        afkit.read(MUONS, tree="Event")
    assert "Events" in str(err.value)


# -- PHYSLITE as RNTuple, written by the generator -------------------------------------------


@pytest.fixture(scope="module")
def both_formats(tmp_path_factory: pytest.TempPathFactory) -> tuple[Fileset, Fileset]:
    """A small dataset written twice with one seed: as TTree and as RNTuple."""
    pytest.importorskip("ROOT", reason="writing RNTuple files needs ROOT (pip install root)")
    from afkit.datagen.generate import generate

    root = tmp_path_factory.mktemp("formats")
    common = {"events_per_sample": 600, "samples": ["ttbar", "wjets"], "seed": 5, "workers": 1}
    common["files_per_sample"] = 1
    tree = generate(root / "ttree", **common).fileset  # type: ignore[arg-type]
    ntuple = generate(root / "rntuple", file_format="rntuple", **common).fileset  # type: ignore[arg-type]
    return tree, ntuple


def _absolute(fileset: Fileset, sample: str) -> SampleEntry:
    entry = fileset.samples[sample]
    files = [FileEntry(str(fileset.resolve(f)), f.tree, f.events) for f in entry.files]
    return dataclasses.replace(entry, files=files)


def _files(fileset: Fileset) -> list[str]:
    return [str(fileset.resolve(f)) for s in fileset.samples.values() for f in s.files]


def test_generated_rntuple_is_athena_layout(both_formats: tuple[Fileset, Fileset]) -> None:
    _, ntuple = both_formats
    path = _files(ntuple)[0]
    opened = uproot.open(path)
    assert opened.classnames()["EventData;1"] == "ROOT::RNTuple"
    assert opened.classnames()["MetaData;1"] == "TTree"
    fields = {f.field_name: f.type_name for f in opened["EventData"].field_records}
    assert fields["AnalysisJetsAuxDyn:pt"] == "std::vector<float>"
    assert fields["AnalysisJets"] == "DataVector<xAOD::Jet_v1>"
    assert fields["AnalysisJetsAuxDyn:btaggingLink"].startswith("std::vector<ElementLink<")
    assert fields["m_persKey"] == "std::uint32_t"


def test_physlite_rntuple_equals_ttree_field_by_field(
    both_formats: tuple[Fileset, Fileset],
) -> None:
    tree, ntuple = both_formats
    for a_path, b_path in zip(_files(tree), _files(ntuple), strict=True):
        a, b = afkit.read(a_path), afkit.read(b_path)
        assert a.fields == b.fields
        for collection in a.fields:
            assert a[collection].fields == b[collection].fields, collection
            for field in a[collection].fields:
                got, want = ak.to_list(b[collection][field]), ak.to_list(a[collection][field])
                assert got == want, f"{collection}.{field}"
        # the same metadata (a TTree next to the RNTuple)
        from afkit.analysis import sum_of_weights

        sums_a, sums_b = sum_of_weights(a_path), sum_of_weights(b_path)
        assert sums_a.sums == sums_b.sums
        assert sums_a.events == sums_b.events
        assert sums_a.source == sums_b.source == "CutBookkeepers"


def test_agc_histograms_identical_on_rntuple(both_formats: tuple[Fileset, Fileset]) -> None:
    from afkit.agc.processor import AGCProcessor

    tree, ntuple = both_formats
    hists = {}
    for name, fileset in (("ttree", tree), ("rntuple", ntuple)):
        result, report = afkit.run(
            AGCProcessor("cpu"), fileset, executor="iterative", chunksize=250
        )
        assert report.complete
        hists[name] = result["hists"]
    assert hists["ttree"].keys() == hists["rntuple"].keys()
    for key, h in hists["ttree"].items():
        other = hists["rntuple"][key]
        assert np.array_equal(h.values(flow=True), other.values(flow=True)), key
        assert np.array_equal(h.variances(flow=True), other.variances(flow=True)), key


def test_run_takes_a_fileset_mixing_formats(both_formats: tuple[Fileset, Fileset]) -> None:
    from afkit.agc.processor import AGCProcessor

    tree, ntuple = both_formats
    mixed = Fileset(
        {"ttbar": _absolute(ntuple, "ttbar"), "wjets": _absolute(tree, "wjets")},
        tree.luminosity,
    )
    result, report = afkit.run(AGCProcessor("cpu"), mixed, executor="processes", workers=2)
    assert report.complete
    reference, _ = afkit.run(AGCProcessor("cpu"), tree, executor="iterative")
    for key, h in reference["hists"].items():
        assert np.array_equal(h.values(flow=True), result["hists"][key].values(flow=True))


@pytest.mark.parametrize("compression", ["zlib1", "lz4_4", "lzma6", "none"])
def test_every_compression_root_writes(tmp_path: Path, compression: str) -> None:
    """RNTuple pages compressed with each of ROOT's algorithms (or not at all) read alike."""
    pytest.importorskip("ROOT", reason="writing RNTuple files needs ROOT (pip install root)")
    from afkit.datagen.generate import generate

    common = {"events_per_sample": 150, "samples": ["ttbar"], "seed": 3, "workers": 1}
    common["files_per_sample"] = 1
    paths = {}
    for name in ("zstd5", compression):
        fileset = generate(
            tmp_path / name,
            compression=name,
            file_format="rntuple",
            **common,  # type: ignore[arg-type]
        ).fileset
        paths[name] = _files(fileset)[0]
    from afkit.datagen.rootwriter import compression_setting
    from afkit.io.filespec import open_file
    from afkit.io.open import rntuple_of

    path = paths[compression]
    nt = rntuple_of(open_file(path), path, "EventData")
    settings = {c.compression for cluster in nt.clusters() for c in cluster.columns.values()}
    assert settings == {compression_setting(compression)}
    reference, other = afkit.read(paths["zstd5"]), afkit.read(paths[compression])
    for field in ("pt", "eta", "btagging"):
        assert ak.to_list(other.Jets[field]) == ak.to_list(reference.Jets[field])
    assert ak.to_list(other.EventInfo.mcEventWeights) == ak.to_list(
        reference.EventInfo.mcEventWeights
    )
