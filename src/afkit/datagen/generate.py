"""``afkit generate``: write the synthetic AGC dataset (every sample of spec §1) and its fileset.

Layout: ``OUTDIR/<sample>/<sample>_NNN.root`` plus ``OUTDIR/fileset.json``.  Each file is
written chunk by chunk (``chunksize`` events in memory at most).  Random streams are seeded
by ``(seed, sample, file, chunk)``, so the same arguments give the same files.  Event numbers
are unique across the dataset.  The ``data`` sample holds, for every nominal MC process,
Poisson(mu_p * xsec_p * L) events from that process's generator, with mu = ``mu`` for ttbar
and 1 for the others; it carries no MC branches.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from afkit.datagen import layout, physics
from afkit.datagen.rootwriter import (
    FILE_FORMATS,
    RNTUPLE_NAME,
    FileFormat,
    TreeFileWriter,
    compression_setting,
    write_metadata,
)
from afkit.datagen.samples import SAMPLES, Sample
from afkit.exceptions import ConfigError
from afkit.fileset import FileEntry, Fileset, SampleEntry
from afkit.version import __version__

DEFAULT_LUMINOSITY = 1.0  # [pb^-1]: keeps the default data sample at ~17k events
MC_RUN, DATA_RUN = 410000, 440000
EVENT_NUMBER_STRIDE = 1_000_000_000
DEFAULT_CHUNKSIZE = 5_000  # events per random stream: part of what makes a dataset (and its seed)


@dataclass(frozen=True)
class GenerationReport:
    """What :func:`generate` wrote."""

    fileset: Fileset
    fileset_path: Path
    events: int
    bytes: int
    seconds: float

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


def _weights(rng: np.random.Generator, sample: Sample, n: int) -> np.ndarray:
    sign = np.where(rng.uniform(0, 1, n) < sample.negative_weight_fraction, -1.0, 1.0)
    return sign * rng.normal(1.0, 0.02, n)


def _split(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def generate(
    outdir: str | os.PathLike[str],
    *,
    events_per_sample: int = 10_000,
    seed: int = 42,
    mu: float = 1.0,
    luminosity: float = DEFAULT_LUMINOSITY,
    compression: str = "zstd5",
    files_per_sample: int = 2,
    chunksize: int = DEFAULT_CHUNKSIZE,
    samples: list[str] | None = None,
    workers: int | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    file_format: FileFormat = "ttree",
) -> GenerationReport:
    """Write the dataset to ``outdir`` and return the report (fileset included).

    Args:
        events_per_sample: events in each MC sample (data: Poisson(mu * xsec * L) per process).
        seed: master seed.  mu: injected ttbar signal strength in ``data``.
        luminosity: integrated luminosity [pb^-1] the dataset declares.
        compression: ``zstd5`` (release 24), ``zlib5`` (release 21), ``lz4_4``, ``none``, ...
        files_per_sample: files each sample is split into.  chunksize: events per chunk.
        samples: subset of sample names (default: all).
        workers: processes writing files in parallel (default: all cores; 1 = in this process).
        progress: called as ``progress(file, files_done, files_total)`` after each file.
        file_format: ``"ttree"`` (``CollectionTree``, every release) or ``"rntuple"`` (the
            RNTuple ``EventData`` in Athena 25's layout); the same seed gives the same events.
    """
    compression_setting(compression)
    if file_format not in FILE_FORMATS:
        raise ConfigError(f"file_format must be 'ttree' or 'rntuple', not {file_format!r}")
    for label, value in (
        ("events_per_sample", events_per_sample),
        ("files_per_sample", files_per_sample),
        ("chunksize", chunksize),
    ):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"{label} must be a positive integer, not {value!r}")
    if not (mu >= 0 and math.isfinite(mu)) or not (luminosity > 0 and math.isfinite(luminosity)):
        raise ConfigError(
            f"mu must be >= 0 and luminosity > 0 (got mu={mu}, luminosity={luminosity})"
        )
    known = {s.name for s in SAMPLES}
    if samples is not None and set(samples) - known:
        raise ConfigError(f"unknown samples {sorted(set(samples) - known)}; known: {sorted(known)}")
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()

    tasks: list[_FileTask] = []
    compositions: dict[str, dict[str, int]] = {}
    for index, sample in enumerate(SAMPLES):
        if samples is not None and sample.name not in samples:
            continue
        blocks, composition = _blocks(sample, index, events_per_sample, seed, mu, luminosity)
        compositions[sample.name] = composition
        tasks += _plan_files(
            sample, index, blocks, files_per_sample, seed, compression, chunksize, file_format
        )
    n_workers = min(len(tasks), workers or os.cpu_count() or 1)
    results: list[tuple[float, int]] = []
    if n_workers <= 1:
        for i, task in enumerate(tasks):
            results.append(_write_file(out, task))
            if progress:
                progress(task.path, i + 1, len(tasks))
    else:
        with ProcessPoolExecutor(n_workers) as pool:
            futures = [pool.submit(_write_file, out, task) for task in tasks]
            for i, (task, future) in enumerate(zip(tasks, futures, strict=True)):
                results.append(future.result())
                if progress:
                    progress(task.path, i + 1, len(tasks))

    entries: dict[str, SampleEntry] = {}
    for task, (sumw, events) in zip(tasks, results, strict=True):
        sample = task.sample
        entry = entries.setdefault(
            sample.name,
            SampleEntry(
                name=sample.name,
                process=sample.process,
                variation=sample.variation,
                files=[],
                xsec=sample.xsec,
                luminosity=luminosity,
                is_data=sample.is_data,
                injected_mu=mu if sample.is_data else None,
                composition=compositions[sample.name],
            ),
        )
        tree = RNTUPLE_NAME if file_format == "rntuple" else "CollectionTree"
        entry.files.append(FileEntry(task.path, tree, events))
        entry.sumw += sumw
    total_events = sum(e.events for e in entries.values())
    total_bytes = sum((out / f.path).stat().st_size for e in entries.values() for f in e.files)
    fileset = Fileset(
        entries,
        luminosity,
        metadata={
            "generator": "afkit.datagen",
            "afkit_version": __version__,
            "seed": seed,
            "mu": mu,
            "events_per_sample": events_per_sample,
            "compression": compression,
            "chunksize": chunksize,
            "file_format": file_format,
        },
        base=out,
    )
    path = fileset.save(out / "fileset.json")
    return GenerationReport(fileset, path, total_events, total_bytes, time.perf_counter() - start)


@dataclass(frozen=True)
class _FileTask:
    """One file to write: which blocks of (process, variation, events) it holds."""

    sample: Sample
    sample_index: int
    file_index: int
    path: str
    blocks: tuple[tuple[str, str, int], ...]
    first_event: int
    seed: int
    compression: str
    chunksize: int
    file_format: FileFormat = "ttree"


def _blocks(
    sample: Sample, index: int, events_per_sample: int, seed: int, mu: float, luminosity: float
) -> tuple[list[tuple[str, str, int]], dict[str, int]]:
    if not sample.is_data:
        return [(sample.process, sample.variation, events_per_sample)], {}
    rng = np.random.default_rng([seed, index, 999_999])
    composition = {
        s.process: int(rng.poisson((mu if s.process == "ttbar" else 1.0) * s.xsec * luminosity))
        for s in SAMPLES
        if s.variation == "nominal" and not s.is_data
    }
    return [(p, "nominal", n) for p, n in composition.items() if n > 0], composition


def _plan_files(
    sample: Sample,
    index: int,
    blocks: list[tuple[str, str, int]],
    files_per_sample: int,
    seed: int,
    compression: str,
    chunksize: int,
    file_format: FileFormat = "ttree",
) -> list[_FileTask]:
    total = sum(n for _, _, n in blocks)
    remaining = [n for _, _, n in blocks]
    block = 0
    tasks, first = [], 0
    for file_index, n_file in enumerate(_split(total, files_per_sample)):
        mine: list[tuple[str, str, int]] = []
        need = n_file
        while need > 0:
            while remaining[block] == 0:
                block += 1
            take = min(need, remaining[block])
            process, variation, _ = blocks[block]
            mine.append((process, variation, take))
            remaining[block] -= take
            need -= take
        path = f"{sample.name}/{sample.name}_{file_index:03d}.root"
        tasks.append(
            _FileTask(
                sample,
                index,
                file_index,
                path,
                tuple(mine),
                index * EVENT_NUMBER_STRIDE + first,
                seed,
                compression,
                chunksize,
                file_format,
            )
        )
        first += n_file
    return tasks


def _write_file(out: Path, task: _FileTask) -> tuple[float, int]:
    """Write one file; return (sum of nominal weights, events)."""
    (out / task.path).parent.mkdir(parents=True, exist_ok=True)
    columns = layout.columns(is_data=task.sample.is_data)
    sumw, written, chunk_index = 0.0, 0, 0
    sums = squares = None  # per generator weight: of what is stored (float32), in float64
    with TreeFileWriter(
        out / task.path, columns, compression=task.compression, file_format=task.file_format
    ) as writer:
        for process, variation, events in task.blocks:
            left = events
            while left > 0:
                n = min(task.chunksize, left)
                rng = np.random.default_rng(
                    [task.seed, task.sample_index, task.file_index, chunk_index]
                )
                mc = not task.sample.is_data
                chunk = physics.generate(rng, process, variation, n, enhanced=mc)
                weights = _weights(rng, task.sample, n) * chunk.weight_factor if mc else None
                if weights is not None:
                    # the sum of what is stored: float32 weights, summed in float64
                    sumw += float(weights.astype(np.float32).sum(dtype=np.float64))
                data = layout.fill(
                    rng,
                    chunk,
                    first_event=task.first_event + written,
                    run=DATA_RUN if task.sample.is_data else MC_RUN,
                    dsid=task.sample.dsid,
                    weights=weights,
                    ml_rng=np.random.default_rng(
                        [task.seed, task.sample_index, task.file_index, chunk_index, 0x5A1]
                    ),
                )
                if mc:
                    pair: Any = data["EventInfoAuxDyn.mcEventWeights"]  # (offsets, values)
                    stored = np.asarray(pair[1]).astype(np.float32)
                    table = stored.reshape(n, -1).astype(np.float64)
                    sums = table.sum(axis=0) + (0.0 if sums is None else sums)
                    squares = (table * table).sum(axis=0) + (0.0 if squares is None else squares)
                writer.write(n, data)
                del data, chunk  # one chunk alive at a time, also while the next is generated
                written += n
                left -= n
                chunk_index += 1
    write_metadata(out / task.path, written, sums, squares)
    return sumw, written
