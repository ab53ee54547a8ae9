"""Shared fixtures: the real test files of tests/data and a loopback XRootD server."""

from __future__ import annotations

import dataclasses
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from afkit.fileset import FileEntry, Fileset

REPO = Path(__file__).resolve().parents[1]
#: The real files the tests read (see tests/data/README.md); they ship with the repository.
DATA = Path(os.environ.get("AFKIT_TEST_DATA", REPO / "tests" / "data"))

R21 = "DAOD_PHYSLITE_21.2.108.0.art.pool.root"
R24 = "uproot-issue-951.root"
NANO = "nanoAOD_2015_CMS_Open_Data_ttbar.root"


_OWN_CACHE: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    """Keep the tests' stored schemas (afkit.io.schema_store) apart from the user's own."""
    if "AFKIT_CACHE_DIR" not in os.environ:
        os.environ["AFKIT_CACHE_DIR"] = tempfile.mkdtemp(prefix="afkit-test-cache-")
        _OWN_CACHE.append(os.environ["AFKIT_CACHE_DIR"])


def pytest_unconfigure(config: pytest.Config) -> None:
    for folder in _OWN_CACHE:
        shutil.rmtree(folder, ignore_errors=True)
        if os.environ.get("AFKIT_CACHE_DIR") == folder:
            del os.environ["AFKIT_CACHE_DIR"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-gpu", action="store_true", default=False, help="run gpu-marked tests")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-gpu"):
        return
    skip = pytest.mark.skip(reason="GPU tests are opt-in: pass --run-gpu on a CUDA machine")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


def data_file(name: str) -> Path:
    """A file of tests/data; a missing one fails the test (the files ship with the repo)."""
    path = DATA / name
    if not path.exists():
        pytest.fail(f"test file {path} is missing (tests/data ships with the repository)")
    return path


@pytest.fixture(scope="session")
def r21() -> Path:
    return data_file(R21)


@pytest.fixture(scope="session")
def r24() -> Path:
    return data_file(R24)


@pytest.fixture(scope="session")
def nano() -> Path:
    return data_file(NANO)


@pytest.fixture(scope="session", params=[R21, R24])
def physlite(request: pytest.FixtureRequest) -> Path:
    return data_file(request.param)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _demote_to_nobody() -> None:  # runs in the child before exec
    import pwd

    nobody = pwd.getpwnam("nobody")
    os.setgid(nobody.pw_gid)
    os.setuid(nobody.pw_uid)


@pytest.fixture(scope="session")
def xrootd_server() -> Iterator[tuple[str, Path]]:
    """A real XRootD server on 127.0.0.1 exporting a fresh directory: (URL prefix, directory)."""
    binary = shutil.which("xrootd")
    if binary is None:
        pytest.skip("xrootd server not installed (apt-get install xrootd-server; .ci/run does)")
    pytest.importorskip("fsspec_xrootd", reason="pip install 'afkit[xrootd]'")
    root = Path(tempfile.mkdtemp(prefix="afkit-xrd-"))
    export = root / "export"
    export.mkdir()
    port = _free_port()
    config = root / "xrootd.cfg"
    config.write_text(
        f"all.export {export}\nxrd.port {port}\nall.adminpath {root}/admin\nall.pidpath {root}\n"
    )
    for path in (root, export):
        path.chmod(0o777)
    config.chmod(0o644)
    demote = _demote_to_nobody if os.geteuid() == 0 else None  # xrootd refuses to run as root
    log = root / "xrootd.log"
    process = subprocess.Popen(
        [binary, "-c", str(config), "-l", str(log)],
        preexec_fn=demote,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"xrootd exited with {process.returncode}: {log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.2)
    else:
        process.kill()
        pytest.fail("xrootd did not start listening within 30 s")
    try:
        yield f"root://127.0.0.1:{port}/", export
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(root, ignore_errors=True)


# -- generated AGC datasets (shared by the AGC, toolkit and benchmark-like tests) ------------
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
    pytest.importorskip("ROOT", reason="generating the test dataset needs ROOT (pip install root)")
    from afkit.datagen.generate import generate
    from afkit.datagen.samples import SAMPLES

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
