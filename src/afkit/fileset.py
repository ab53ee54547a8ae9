"""Filesets: which files make up each sample, with everything needed to plan and normalise a run.

A fileset JSON records per file its path (relative to the JSON's folder, or absolute/URL), tree
and event count, and per sample its process, variation, cross-section, ``sumw`` (sum of the
nominal MC weights over *all* its files) and luminosity — so a run can be planned and MC
normalised (``w = mcEventWeights[0] * xsec * L / sumw``) without opening any file.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from afkit.exceptions import AfkitFileNotFoundError, ConfigError

FORMAT = "afkit-fileset/1"


@dataclass(frozen=True)
class FileEntry:
    """One file of a sample."""

    path: str
    tree: str
    events: int


@dataclass
class SampleEntry:
    """One sample: a process/variation with its files and normalisation."""

    name: str
    process: str
    variation: str
    files: list[FileEntry]
    xsec: float = 0.0
    sumw: float = 0.0
    luminosity: float = 0.0
    is_data: bool = False
    injected_mu: float | None = None
    composition: dict[str, int] = field(default_factory=dict)  # data: events per process
    #: sums of weights per generator weight (name or index -> sum over all files), filled
    #: from the files' metadata by :meth:`Fileset.fill_sumw`
    sumw_variations: dict[str, float] = field(default_factory=dict)

    @property
    def events(self) -> int:
        return sum(f.events for f in self.files)

    def weight_scale(self, variation: str | None = None) -> float:
        """``xsec * L / sumw``: multiply ``mcEventWeights[0]`` by this (1 for data); with a
        generator-weight ``variation`` (a key of :attr:`sumw_variations`), that weight's own
        ``xsec * L / sumw_variation``, to multiply its column of ``mcEventWeights`` by."""
        if self.is_data:
            return 1.0
        if variation is not None:
            if variation not in self.sumw_variations:
                from afkit.exceptions import MissingNameError

                raise MissingNameError(
                    "generator weight", variation, self.sumw_variations,
                    where=f"sample {self.name!r} (Fileset.fill_sumw reads them)",
                )  # fmt: skip
            sumw = self.sumw_variations[variation]
        else:
            sumw = self.sumw
        if sumw == 0:
            raise ConfigError(f"sample {self.name!r} has sumw = 0; cannot normalise it")
        return self.xsec * self.luminosity / sumw


@dataclass
class Fileset:
    """All samples of a dataset; :meth:`save`/:meth:`load` as JSON."""

    samples: dict[str, SampleEntry]
    luminosity: float
    metadata: dict[str, Any] = field(default_factory=dict)
    base: Path | None = None  # folder relative paths are resolved against

    def resolve(self, entry: FileEntry) -> str:
        """Absolute path or URL of a file entry."""
        if "://" in entry.path or os.path.isabs(entry.path) or self.base is None:
            return entry.path
        return str(self.base / entry.path)

    def fill_sumw(
        self,
        samples: list[str] | None = None,
        *,
        cache: str | os.PathLike[str] | None = None,
        input_stream: str | None = None,
    ) -> None:
        """Set ``sumw`` and ``sumw_variations`` of the MC samples (or of ``samples``) from
        their files' metadata (:func:`afkit.sum_of_weights`), instead of typing them.

        Each file's sums are kept in an on-disk cache (``cache``, default
        ``$AFKIT_CACHE/sumw``) keyed by the file's identity (its ROOT header's UUID and its
        size), so a fileset of thousands of files reads each file's metadata once.
        """
        from afkit.analysis.normalisation import SumOfWeights

        names = (
            [n for n, s in self.samples.items() if not s.is_data] if samples is None else samples
        )
        for name in names:
            if name not in self.samples:
                from afkit.exceptions import MissingNameError

                raise MissingNameError("sample", name, self.samples)
            sample = self.samples[name]
            total: SumOfWeights | None = None
            for entry in sample.files:
                one = _cached_sums(self.resolve(entry), cache, input_stream)
                total = one if total is None else total + one
            if total is None:
                continue
            sample.sumw = total.nominal
            sample.sumw_variations = {str(k): v for k, v in total.items()}

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "luminosity": self.luminosity,
            "metadata": self.metadata,
            "samples": {name: asdict(sample) for name, sample in self.samples.items()},
        }

    def save(self, path: str | os.PathLike[str]) -> Path:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Fileset:
        source = Path(path)
        if not source.exists():
            raise AfkitFileNotFoundError("no such fileset", file=str(source))
        try:
            raw = json.loads(source.read_text())
        except json.JSONDecodeError as err:
            raise ConfigError(f"not a fileset JSON: {err}", file=str(source)) from err
        if raw.get("format") != FORMAT:
            raise ConfigError(f"unknown fileset format {raw.get('format')!r}", file=str(source))
        samples = {}
        for name, s in raw["samples"].items():
            files = [FileEntry(**f) for f in s.pop("files")]
            samples[name] = SampleEntry(files=files, **s)
        return cls(samples, raw["luminosity"], raw.get("metadata", {}), base=source.parent)


def _file_identity(path: str) -> str:
    """A key that changes with the file: its ROOT header's UUID and its size (local files);
    the URL for remote ones."""
    import hashlib

    from afkit.io.filespec import is_remote

    if is_remote(path):
        return hashlib.sha256(path.encode()).hexdigest()
    with open(path, "rb") as handle:
        header = handle.read(80)
    large = len(header) >= 8 and int.from_bytes(header[4:8], "big") >= 1000000
    uuid = header[57:75] if large else header[45:63]
    return hashlib.sha256(uuid + str(os.path.getsize(path)).encode()).hexdigest()


def _cached_sums(path: str, cache: str | os.PathLike[str] | None, input_stream: str | None) -> Any:
    from afkit.analysis.normalisation import SumOfWeights, sum_of_weights

    folder = Path(
        cache or Path(os.environ.get("AFKIT_CACHE") or Path.home() / ".cache" / "afkit") / "sumw"
    )
    stored = folder / f"{_file_identity(path)}-{input_stream or 'default'}.json"
    if stored.is_file():
        raw = json.loads(stored.read_text())
        keys = [int(k) if raw["int_keys"] else k for k in raw["keys"]]
        return SumOfWeights(dict(zip(keys, raw["sums"], strict=True)), raw["events"], [path],
                            raw["source"], [path] if raw["incomplete"] else [])  # fmt: skip
    sums = sum_of_weights(path, input_stream=input_stream)
    folder.mkdir(parents=True, exist_ok=True)
    keys = list(sums)
    payload = {
        "keys": [str(k) for k in keys],
        "int_keys": bool(keys) and isinstance(keys[0], int),
        "sums": [sums[k] for k in keys],
        "events": sums.events,
        "source": sums.source,
        "incomplete": bool(sums.incomplete),
    }
    temporary = stored.with_suffix(f".tmp{os.getpid()}")
    temporary.write_text(json.dumps(payload))
    temporary.replace(stored)
    return sums
