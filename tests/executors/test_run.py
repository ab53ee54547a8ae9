"""Running a processor over a fileset: one result on any executor or chunking; exact accounting."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

import afkit
from afkit.executors import plan
from afkit.fileset import FileEntry, Fileset, SampleEntry
from tests.executors.processors import JetProcessor


def _fileset(tmp_path: Path, r21: Path, r24: Path, *, declare: bool = True) -> Fileset:
    for src in (r21, r24):
        shutil.copy(src, tmp_path / src.name)
    samples = {
        "r21": SampleEntry(
            "r21",
            "ttbar",
            "nominal",
            [FileEntry(r21.name, "CollectionTree", 40 if declare else -1)],
        ),
        "r24": SampleEntry(
            "r24",
            "ttbar",
            "nominal",
            [FileEntry(r24.name, "CollectionTree", 50 if declare else -1)],
        ),
    }
    return Fileset(samples, 1.0, base=tmp_path)


@pytest.mark.parametrize(
    ("executor", "chunksize"), [("iterative", 7), ("processes", 7), ("processes", 100)]
)
def test_same_result_on_every_executor_and_chunking(
    tmp_path: Path, r21: Path, r24: Path, executor: str, chunksize: int
) -> None:
    fileset = _fileset(tmp_path, r21, r24)
    reference, report0 = afkit.run(JetProcessor(), fileset, executor="iterative", chunksize=1000)
    result, report = afkit.run(
        JetProcessor(), fileset, executor=executor, chunksize=chunksize, workers=2
    )
    assert report.complete
    assert report.events_processed == report.events_planned == 90
    assert report.chunks == (len(range(0, 40, chunksize)) + len(range(0, 50, chunksize)))
    for sample, jets in (("r21", 372), ("r24", 455)):
        assert result[sample]["jets"] == jets == reference[sample]["jets"]
        assert np.array_equal(
            result[sample]["pt"].values(flow=True), reference[sample]["pt"].values(flow=True)
        )
        numbers = result[sample]["event_numbers"]
        assert (
            len(numbers) == len(set(numbers)) == report.samples[sample].processed
        )  # no chunk twice
    assert report0.complete


def test_bad_file_fail_fast_and_skip(tmp_path: Path, r21: Path, r24: Path) -> None:
    fileset = _fileset(tmp_path, r21, r24)
    broken = tmp_path / r24.name
    broken.write_bytes(broken.read_bytes()[:600_000])  # truncated copy
    with pytest.raises(afkit.AfkitError) as info:
        afkit.run(JetProcessor(), fileset, executor="iterative", chunksize=20)
    assert str(broken) in str(info.value)
    result, report = afkit.run(
        JetProcessor(), fileset, executor="processes", chunksize=20, on_error="skip", workers=2
    )
    assert not report.complete
    assert report.samples["r24"].skipped == 50
    assert report.samples["r21"].processed == 40
    assert report.events_processed + report.events_skipped == report.events_planned
    assert {f.file for f in report.failures} == {str(broken)}
    assert sum(f.entry_stop - f.entry_start for f in report.failures) == 50
    assert all("TruncatedFileError" in f.error for f in report.failures)
    assert "r24" not in result


def test_planning_uses_declared_counts_and_opens_files_only_without(
    tmp_path: Path, r21: Path, r24: Path
) -> None:
    declared = plan(_fileset(tmp_path, r21, r24), chunksize=16)
    opened = plan(_fileset(tmp_path, r21, r24, declare=False), chunksize=16)
    assert declared == opened
    assert [(w.entry_start, w.entry_stop) for w in declared if w.sample == "r24"] == [
        (0, 16),
        (16, 32),
        (32, 48),
        (48, 50),
    ]
    big = Fileset(
        {
            "s": SampleEntry(
                "s",
                "p",
                "nominal",
                [
                    FileEntry(f"/nonexistent/{i}.root", "CollectionTree", 100_000)
                    for i in range(10_000)
                ],
            )
        },
        1.0,
    )
    assert len(plan(big, chunksize=50_000)) == 20_000  # no file is opened


def test_bad_arguments(tmp_path: Path, r21: Path, r24: Path) -> None:
    fileset = _fileset(tmp_path, r21, r24)
    with pytest.raises(afkit.ConfigError, match="executor"):
        afkit.run(JetProcessor(), fileset, executor="spark")  # type: ignore[arg-type]
    with pytest.raises(afkit.ConfigError, match="chunksize"):
        afkit.run(JetProcessor(), fileset, chunksize=0)


def test_planning_opens_files_without_counts_in_parallel(tmp_path: Path, r24: Path) -> None:
    shutil.copy(r24, tmp_path / r24.name)
    files = [FileEntry(r24.name, "CollectionTree", -1) for _ in range(4)]
    fileset = Fileset({"s": SampleEntry("s", "ttbar", "nominal", files)}, 1.0, base=tmp_path)
    items = plan(fileset, chunksize=20)
    assert len(items) == 4 * 3
    assert sum(w.events for w in items) == 4 * 50
    wrong = Fileset(
        {"s": SampleEntry("s", "ttbar", "nominal", [FileEntry(r24.name, "Events", -1)])},
        1.0,
        base=tmp_path,
    )
    with pytest.raises(afkit.MissingTreeError, match="CollectionTree"):
        plan(wrong, chunksize=20)


def test_planning_counts_run_concurrently(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Four count look-ups must be in flight at once, or the barrier of four times out."""
    import sys
    import threading

    planning = sys.modules["afkit.executors.plan"]  # the package exports the function `plan`

    barrier = threading.Barrier(4, timeout=10)

    def count(fileset: Fileset, entry: FileEntry) -> int:
        barrier.wait()
        return 10

    monkeypatch.setattr(planning, "_count", count)
    files = [FileEntry(f"f{i}.root", "CollectionTree", -1) for i in range(4)]
    fileset = Fileset({"s": SampleEntry("s", "ttbar", "nominal", files)}, 1.0, base=tmp_path)
    assert sum(w.events for w in planning.plan(fileset, chunksize=3)) == 40


def test_progress_bar(tmp_path: Path, r21: Path, r24: Path) -> None:
    fileset = _fileset(tmp_path, r21, r24)
    result, report = afkit.run(
        JetProcessor(), fileset, executor="iterative", chunksize=20, progress=True
    )
    assert report.complete
    assert result["r24"]["events"] == 50


def test_processes_warm_the_parent_before_forking(tmp_path: Path, r21: Path, r24: Path) -> None:
    """The processor's warm_up and the schemas run once in the parent (workers inherit them)."""
    import multiprocessing
    import os

    from afkit.io import open as opening
    from tests.executors.processors import WarmedJetProcessor

    if multiprocessing.get_start_method() != "fork":
        pytest.skip("workers are not forked here: nothing to inherit")
    fileset = _fileset(tmp_path, r21, r24)
    WarmedJetProcessor.warmed_in.clear()
    opening.clear_schema_cache()
    _, report = afkit.run(WarmedJetProcessor(), fileset, executor="processes", chunksize=20)
    assert report.complete
    assert WarmedJetProcessor.warmed_in == [os.getpid()]
    assert opening.cached_schema_count() == 2  # r21 and r24 layouts, built here before the fork
    import gc

    assert gc.get_freeze_count() == 0  # frozen only while the workers were forked
    WarmedJetProcessor.warmed_in.clear()
    afkit.run(WarmedJetProcessor(), fileset, executor="iterative", chunksize=20)
    assert WarmedJetProcessor.warmed_in == []


def test_a_warm_process_does_not_warm_again(
    tmp_path: Path, r21: Path, r24: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second run in the same process skips the parent's warm-up reads (the schemas are
    built), unless a file changed since."""
    import multiprocessing
    import os

    from afkit.events import reading

    if multiprocessing.get_start_method() != "fork":
        pytest.skip("workers are not forked here: nothing to inherit")
    fileset = _fileset(tmp_path, r21, r24)
    afkit.run(JetProcessor(), fileset, executor="processes", chunksize=20, workers=2)
    warm_reads: list[str] = []
    real_read = reading.read

    def counting_read(source: object, **options: object) -> object:
        warm_reads.append(str(source))  # in this process only: workers are other processes
        return real_read(source, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(reading, "read", counting_read)
    _, report = afkit.run(JetProcessor(), fileset, executor="processes", chunksize=20, workers=2)
    assert report.complete
    assert warm_reads == []
    changed = tmp_path / r24.name
    os.utime(changed, ns=(changed.stat().st_atime_ns, changed.stat().st_mtime_ns + 10**9))
    _, report = afkit.run(JetProcessor(), fileset, executor="processes", chunksize=20, workers=2)
    assert report.complete
    assert warm_reads == [str(changed)]


def test_processes_fail_fast_without_waiting_for_the_queue(
    tmp_path: Path, r21: Path, r24: Path
) -> None:
    """A failing chunk ends a processes run at once: chunks still queued are dropped instead
    of run (here 20 chunks of 0.5 s on two workers: 5 s of queued work)."""
    import time

    from tests.executors.processors import SlowJetProcessor

    good = _fileset(tmp_path, r21, r24)
    broken = tmp_path / r24.name
    broken.write_bytes(broken.read_bytes()[:600_000])
    fileset = Fileset({"r24": good.samples["r24"], "r21": good.samples["r21"]}, 1.0, base=tmp_path)
    start = time.perf_counter()
    with pytest.raises(afkit.AfkitError, match="TruncatedFileError"):
        afkit.run(SlowJetProcessor(0.5), fileset, executor="processes", chunksize=2, workers=2)
    assert time.perf_counter() - start < 2.5


def test_largest_chunks_are_handed_out_first() -> None:
    from afkit.executors.plan import WorkItem, largest_first

    sizes = [5, 8, 5, 2, 8]
    items = [WorkItem("s", f"f{i}", "t", 0, n) for i, n in enumerate(sizes)]
    assert largest_first(items) == [1, 4, 0, 2, 3]  # ties keep plan order
    assert largest_first([]) == []
