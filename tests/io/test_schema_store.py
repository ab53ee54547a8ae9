"""The on-disk schema store: a later process opens a known layout without uproot's model."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import awkward as ak
import numpy as np
import pytest

import afkit
from afkit.io import schema_store
from afkit.io.filespec import clear_open_files
from afkit.io.open import clear_schema_cache, schema_of
from afkit.io.physlite.schema import build_schema
from afkit.io.tree import TreeHandle


def forget() -> None:
    """What a new process knows: no open file, no schema built."""
    clear_open_files()
    clear_schema_cache()


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AFKIT_CACHE_DIR", str(tmp_path))
    forget()
    yield tmp_path / "schemas"
    forget()


def _forbid_uproot_model(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: TreeHandle) -> None:
        raise AssertionError(f"uproot's model of {self.name} was built")

    monkeypatch.setattr(TreeHandle, "uproot", property(refuse))


def _values(path: Path) -> list[float]:
    events = afkit.read(path)
    return [
        float(ak.sum(events.Electrons.pt)),
        float(ak.sum(events.Jets.pt)),
        float(ak.sum(events.Electrons.mass)),
        float(ak.sum(ak.num(events.Electrons.trackParticles, axis=2))),
        float(ak.sum(events.EventInfo.eventNumber)),
    ]


def test_a_stored_layout_opens_without_uproots_tree_model(
    physlite: Path, store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = schema_of(physlite)
    expected = _values(physlite)
    assert len(list(store.glob("*.pickle"))) == 1
    forget()  # as in a new process: only the store knows the layout
    _forbid_uproot_model(monkeypatch)
    assert schema_of(physlite) == built
    assert _values(physlite) == expected


def test_the_store_can_be_turned_off(r24: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AFKIT_CACHE_DIR", "off")
    forget()
    schema_of(r24)
    assert schema_store.store_folder() is None
    assert not list(tmp_path.rglob("*.pickle"))
    forget()


def test_a_damaged_entry_is_rebuilt(r24: Path, store: Path) -> None:
    built = schema_of(r24)
    (entry,) = store.glob("*.pickle")
    entry.write_bytes(b"\x80\x05not a pickle")
    forget()
    assert schema_of(r24) == built
    assert entry.read_bytes()[:2] != b"\x80\x05n"  # written again, whole


def test_an_unwritable_store_only_costs_the_build(
    r24: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("AFKIT_CACHE_DIR", str(blocker))
    forget()
    assert np.isclose(_values(r24)[0], _values(r24)[0])
    assert schema_store.load(build_schema, ("native", "x", "y")) is None
    forget()


def test_entry_names_are_the_same_in_every_process(r24: Path, store: Path) -> None:
    schema_of(r24)
    (entry,) = store.glob("*.pickle")
    code = (
        "import sys; from afkit.io.filespec import open_file; from afkit.io.tree import "
        "open_tree; from afkit.io import schema_store; from afkit.io.physlite.schema import "
        "build_schema; t = open_tree(open_file(sys.argv[1]), sys.argv[1], 'CollectionTree'); "
        "print(schema_store.entry_name(build_schema, t.structure_key()))"
    )
    other = subprocess.run(
        [sys.executable, "-c", code, str(r24)], capture_output=True, text=True, check=True
    )
    assert other.stdout.strip() == entry.name


def test_layouts_and_code_name_their_entries(r21: Path, r24: Path, store: Path) -> None:
    schema_of(r21)
    schema_of(r24)
    assert len(list(store.glob("*.pickle"))) == 2
    key = ("native", "layout", "streamers")
    name = schema_store.entry_name(build_schema, key)
    assert name != schema_store.entry_name(build_schema, ("native", "layout", "other"))
    schema_store._code_fingerprint.cache_clear()
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr("afkit.version.__version__", "0.0.0-other")
            assert schema_store.entry_name(build_schema, key) != name
    finally:
        schema_store._code_fingerprint.cache_clear()
    assert schema_store.clear() == 2
