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

    @property
    def events(self) -> int:
        return sum(f.events for f in self.files)

    def weight_scale(self) -> float:
        """``xsec * L / sumw``: multiply ``mcEventWeights[0]`` by this (1 for data)."""
        if self.is_data:
            return 1.0
        if self.sumw == 0:
            raise ConfigError(f"sample {self.name!r} has sumw = 0; cannot normalise it")
        return self.xsec * self.luminosity / self.sumw


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
