"""Batch systems through dask-jobqueue: a documented site profile -> a cluster -> workers.

A profile says which batch system (``slurm``, ``htcondor``, ``pbs``) and what each worker job
asks for.  It can live in a YAML or JSON file, e.g.::

    system: slurm
    queue: debug            # SLURM partition / PBS queue (HTCondor: unused)
    cores: 1                # per worker job
    memory: 2GB
    walltime: "01:00:00"
    workers: 2
    job_extra_directives: ["--mem=2000"]
    scheduler_host: 127.0.0.1   # an address the worker nodes can reach
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from afkit.exceptions import AfkitFileNotFoundError, ConfigError
from afkit.extras import require

SYSTEMS = ("slurm", "htcondor", "pbs")


@dataclass(frozen=True)
class SiteProfile:
    """What one worker job of a batch system looks like, and how many to start."""

    system: str
    cores: int = 1
    memory: str = "2GB"
    workers: int = 2
    queue: str | None = None
    walltime: str = "01:00:00"
    job_extra_directives: list[str] = field(default_factory=list)
    scheduler_host: str | None = None
    python: str | None = None  # interpreter on the nodes (default: the driver's)
    log_directory: str | None = None
    startup_timeout: float = 180.0  # seconds to wait for the workers to join

    def __post_init__(self) -> None:
        if self.system not in SYSTEMS:
            raise ConfigError(f"site profile: system must be one of {SYSTEMS}, not {self.system!r}")
        if self.workers < 1 or self.cores < 1:
            raise ConfigError("site profile: workers and cores must be >= 1")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> SiteProfile:
        """Read a profile from YAML (``.yaml``/``.yml``) or JSON."""
        source = Path(path)
        if not source.exists():
            raise AfkitFileNotFoundError("no such site profile", file=str(source))
        text = source.read_text()
        if source.suffix in (".yaml", ".yml"):
            yaml = require("yaml", "a YAML site profile")

            raw = yaml.safe_load(text)
        else:
            raw = json.loads(text)
        return cls.from_dict(raw, origin=str(source))

    @classmethod
    def from_dict(cls, raw: Any, origin: str = "site profile") -> SiteProfile:
        if not isinstance(raw, dict):
            raise ConfigError(f"{origin}: expected a mapping of settings")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ConfigError(f"{origin}: unknown settings {unknown}; known: {sorted(known)}")
        return cls(**raw)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _cluster_class(system: str) -> Any:
    dask_jobqueue = require("dask_jobqueue", "the jobqueue executor")
    names = {"slurm": "SLURMCluster", "htcondor": "HTCondorCluster", "pbs": "PBSCluster"}
    return getattr(dask_jobqueue, names[system])


@contextmanager
def cluster_client(profile: SiteProfile) -> Iterator[Any]:
    """Start the profile's worker jobs, wait until they joined, yield a client; clean up."""
    import sys

    from distributed import Client

    options: dict[str, Any] = {
        "cores": profile.cores,
        "memory": profile.memory,
        "processes": 1,
        "walltime": profile.walltime,
        "job_extra_directives": list(profile.job_extra_directives),
        "python": profile.python or sys.executable,
    }
    if profile.system != "htcondor" and profile.queue:
        options["queue"] = profile.queue
    if profile.scheduler_host:
        options["scheduler_options"] = {"host": profile.scheduler_host}
    if profile.log_directory:
        options["log_directory"] = profile.log_directory
    cluster = _cluster_class(profile.system)(**options)
    try:
        cluster.scale(profile.workers)
        client = Client(cluster)
        try:
            client.wait_for_workers(profile.workers, timeout=profile.startup_timeout)
        except TimeoutError as err:
            client.close()
            raise ConfigError(
                f"{profile.system}: {profile.workers} worker job(s) did not join within "
                f"{profile.startup_timeout:.0f} s (queue {profile.queue!r}); check the batch "
                "system's queue and the job logs"
            ) from err
        try:
            yield client
        finally:
            client.close()
    finally:
        cluster.close()
