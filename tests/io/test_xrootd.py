"""Reading through a real XRootD server started on loopback by the test run."""

from __future__ import annotations

import shutil
from pathlib import Path

import awkward as ak
import pytest

import afkit

pytestmark = pytest.mark.network


def test_read_physlite_over_root_protocol(xrootd_server: tuple[str, Path], r24: Path) -> None:
    prefix, export = xrootd_server
    target = export / r24.name
    shutil.copy(r24, target)
    target.chmod(0o644)
    url = f"{prefix}/{target}"

    remote = afkit.read(url)
    local = afkit.read(r24)
    assert remote.file == url
    assert ak.array_equal(remote.Jets.pt, local.Jets.pt)
    assert ak.array_equal(remote.Jets.btagging.DL1dv01_pb, local.Jets.btagging.DL1dv01_pb)
    assert ak.sum(ak.num(remote.Electrons.pt)) == 27
    assert remote.bytes_read > 0


def test_missing_remote_file_names_the_url(xrootd_server: tuple[str, Path]) -> None:
    prefix, export = xrootd_server
    url = f"{prefix}/{export}/does-not-exist.root"
    with pytest.raises(afkit.AfkitError) as info:
        afkit.read(url)
    assert url in str(info.value)


def test_read_rntuple_over_root_protocol(xrootd_server: tuple[str, Path], r24: Path) -> None:
    prefix, export = xrootd_server
    name = "cmsopendata2015_ttbar_19980_NANOAOD_RNTupleImporter_rntuple_v1-0-0-1.root"
    source = r24.parent / "rntuple" / name
    target = export / name
    shutil.copy(source, target)
    target.chmod(0o644)
    remote = afkit.read(f"{prefix}/{target}")
    local = afkit.read(source)
    assert ak.array_equal(remote.Jet.pt, local.Jet.pt)
    assert ak.array_equal(remote.Electron.eta, local.Electron.eta)
    assert remote.bytes_read > 0
