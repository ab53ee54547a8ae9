"""The Dask and jobqueue executors, fault tolerance and checkpoints.

Kill tests: a Dask worker SIGKILLed mid-run, and the driver SIGKILLed mid-run then rerun with
its checkpoint — both must give exactly the clean run's result, no chunk lost or counted twice.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import afkit
from afkit.executors import SiteProfile
from afkit.fileset import FileEntry, Fileset, SampleEntry
from tests.conftest import REPO
from tests.executors.processors import JetProcessor, SlowJetProcessor

distributed = pytest.importorskip("distributed", reason="pip install 'afkit[dask]'")
pytestmark = [pytest.mark.distributed, pytest.mark.slow]


def _fileset(tmp_path: Path, r21: Path, r24: Path) -> Fileset:
    for src in (r21, r24):
        shutil.copy(src, tmp_path / src.name)
    return Fileset(
        {
            "r21": SampleEntry(
                "r21", "ttbar", "nominal", [FileEntry(r21.name, "CollectionTree", 40)]
            ),
            "r24": SampleEntry(
                "r24", "ttbar", "nominal", [FileEntry(r24.name, "CollectionTree", 50)]
            ),
        },
        1.0,
        base=tmp_path,
    )


def _same(result: dict[str, Any], reference: dict[str, Any]) -> None:
    assert set(result) == set(reference)
    for sample in reference:
        a, b = result[sample], reference[sample]
        assert a["jets"] == b["jets"]
        assert a["events"] == b["events"]
        assert a["event_numbers"] == b["event_numbers"]  # same events, same order, none twice
        assert np.array_equal(a["pt"].values(flow=True), b["pt"].values(flow=True))
        assert np.array_equal(a["pt"].variances(flow=True), b["pt"].variances(flow=True))


@pytest.fixture(scope="module")
def cluster() -> Any:
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as local,
        distributed.Client(local) as client,
    ):
        yield client


def test_dask_equals_iterative_with_any_chunking(
    tmp_path: Path, r21: Path, r24: Path, cluster: Any
) -> None:
    fileset = _fileset(tmp_path, r21, r24)
    reference, _ = afkit.run(JetProcessor(), fileset, executor="iterative", chunksize=1000)
    for chunksize in (7, 100):
        result, report = afkit.run(
            JetProcessor(), fileset, executor="dask", client=cluster, chunksize=chunksize
        )
        assert report.complete
        assert report.events_processed == 90
        assert report.dashboard
        assert report.dashboard.startswith("http")
        assert report.versions["afkit"] == afkit.__version__
        _same(result, reference)


def test_dask_with_its_own_local_cluster(tmp_path: Path, r21: Path, r24: Path) -> None:
    fileset = _fileset(tmp_path, r21, r24)
    reference, _ = afkit.run(JetProcessor(), fileset, executor="iterative", chunksize=1000)
    result, report = afkit.run(JetProcessor(), fileset, executor="dask", workers=2, chunksize=30)
    assert report.complete
    _same(result, reference)


def test_local_cluster_keeps_the_memory_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    """afkit's LocalCluster does not give its workers (nor leave in the driver's environment)
    Dask's 64 KiB malloc trim threshold."""
    import os

    from afkit.executors.dask import local_cluster

    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)
    with local_cluster(1) as cluster, distributed.Client(cluster) as client:
        seen = client.run(lambda: os.environ.get("MALLOC_TRIM_THRESHOLD_"))
        threads = client.run(lambda: os.environ.get("OMP_NUM_THREADS"))
        profiling = client.run(lambda dask_worker: "profile" in dask_worker.periodic_callbacks)
    assert list(seen.values()) == [None]
    assert list(profiling.values()) == [False]
    assert list(threads.values()) == ["1"]  # Dask's other settings stay
    assert "MALLOC_TRIM_THRESHOLD_" not in os.environ


def test_sigkill_of_a_dask_worker_loses_nothing(tmp_path: Path, r21: Path, r24: Path) -> None:
    fileset = _fileset(tmp_path, r21, r24)
    reference, _ = afkit.run(JetProcessor(), fileset, executor="iterative", chunksize=1000)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as local,
        distributed.Client(local) as client,
    ):
        pids = sorted(client.run(os.getpid).values())
        killed: list[int] = []

        def progress(done: int, total: int) -> None:
            if done == 4 and not killed:  # mid-run: most chunks are still queued or running
                os.kill(pids[0], signal.SIGKILL)
                killed.append(pids[0])

        result, report = afkit.run(
            SlowJetProcessor(0.15),
            fileset,
            executor="dask",
            client=client,
            chunksize=3,
            progress=progress,
        )
        assert killed
        assert pids[0] not in client.run(os.getpid).values()  # that worker process is gone
    assert report.complete
    assert report.events_processed == 90
    _same(result, reference)


DRIVER = """
import os, signal, sys
sys.path.insert(0, {repo!r})
import afkit
from afkit.fileset import Fileset
from tests.executors.processors import SlowJetProcessor

def progress(done, total):
    if done == 7:
        os.kill(os.getpid(), signal.SIGKILL)  # the driver dies mid-run

afkit.run(SlowJetProcessor(0.05), Fileset.load({fileset!r}), executor="iterative",
          chunksize=5, checkpoint={checkpoint!r}, progress=progress)
"""


def test_sigkill_of_the_driver_then_rerun_from_the_checkpoint(
    tmp_path: Path, r21: Path, r24: Path
) -> None:
    fileset = _fileset(tmp_path, r21, r24)
    fileset.save(tmp_path / "fileset.json")
    checkpoint = tmp_path / "checkpoint"
    script = DRIVER.format(
        repo=str(REPO), fileset=str(tmp_path / "fileset.json"), checkpoint=str(checkpoint)
    )
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]
    assert len(list(checkpoint.glob("*.pkl"))) == 7  # finished items were kept

    reference, _ = afkit.run(JetProcessor(), fileset, executor="iterative", chunksize=1000)
    result, report = afkit.run(
        SlowJetProcessor(0.05),
        fileset,
        executor="processes",
        workers=2,
        chunksize=5,
        checkpoint=checkpoint,
    )
    assert report.from_checkpoint == 7
    assert report.chunks == 18
    assert report.complete
    assert report.events_processed == 90
    _same(result, reference)
    # another processor (other state) does not reuse the entries
    _, other = afkit.run(
        SlowJetProcessor(0.0), fileset, executor="iterative", chunksize=5, checkpoint=checkpoint
    )
    assert other.from_checkpoint == 0


def test_corrupt_file_on_dask(tmp_path: Path, r21: Path, r24: Path, cluster: Any) -> None:
    fileset = _fileset(tmp_path, r21, r24)
    broken = tmp_path / r24.name
    broken.write_bytes(broken.read_bytes()[:600_000])
    with pytest.raises(afkit.AfkitError) as info:
        afkit.run(JetProcessor(), fileset, executor="dask", client=cluster, chunksize=20)
    assert str(broken) in str(info.value)
    result, report = afkit.run(
        JetProcessor(), fileset, executor="dask", client=cluster, chunksize=20, on_error="skip"
    )
    assert report.samples["r24"].skipped == 50
    assert report.samples["r21"].processed == 40
    assert {f.file for f in report.failures} == {str(broken)}
    assert "r24" not in result


def test_preflight_names_version_skew(cluster: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from afkit.executors import dask as dask_executor

    real = cluster.get_versions

    def skewed(**kwargs: Any) -> dict[str, Any]:
        versions = real(**kwargs)
        address = next(iter(versions["workers"]))
        versions["workers"][address]["packages"]["awkward"] = "0.0.1"
        return versions

    monkeypatch.setattr(cluster, "get_versions", skewed)
    with pytest.raises(afkit.ConfigError, match=r"awkward 0\.0\.1 \(driver: "):
        dask_executor.preflight(cluster)


def test_site_profiles(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text(
        "system: slurm\nqueue: debug\nworkers: 3\njob_extra_directives: ['--mem=2000']\n"
    )
    profile = SiteProfile.load(path)
    assert profile.queue == "debug"
    assert profile.workers == 3
    with pytest.raises(afkit.ConfigError, match="unknown settings"):
        SiteProfile.from_dict({"system": "slurm", "partition": "x"})
    with pytest.raises(afkit.ConfigError, match="system"):
        SiteProfile(system="lsf")
    with pytest.raises(afkit.ConfigError, match="site profile"):
        afkit.run(JetProcessor(), Fileset({}, 1.0), executor="jobqueue")


def _slurm_partition() -> str | None:
    if shutil.which("sbatch") is None or shutil.which("sinfo") is None:
        return None
    done = subprocess.run(
        ["sinfo", "-h", "-o", "%P %a"], capture_output=True, text=True, check=False, timeout=30
    )
    for line in done.stdout.split("\n"):
        if line.strip().endswith("up"):
            return line.split()[0].rstrip("*")
    return None


def test_slurm_cluster_with_two_workers(
    tmp_path: Path, r21: Path, r24: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    partition = _slurm_partition()
    if partition is None:
        pytest.skip("no running SLURM (sbatch/sinfo); .ci/run installs and starts one")
    pytest.importorskip("dask_jobqueue")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    fileset = _fileset(tmp_path, r21, r24)
    reference, _ = afkit.run(JetProcessor(), fileset, executor="iterative", chunksize=1000)
    site = SiteProfile(
        system="slurm",
        queue=partition,
        cores=1,
        memory="2GB",
        workers=2,
        walltime="00:10:00",
        job_extra_directives=["--mem=2000"],
        scheduler_host="127.0.0.1",
        log_directory=str(tmp_path / "logs"),
    )
    result, report = afkit.run(
        JetProcessor(), fileset, executor="jobqueue", site=site, chunksize=10
    )
    assert report.complete
    assert report.events_processed == 90
    _same(result, reference)
