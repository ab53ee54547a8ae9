"""Shared helpers for afkit's benchmarks: machine/version metadata and JSON results."""

from __future__ import annotations

import datetime as _dt
import importlib.metadata
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict[str, Any]:
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "hostname": platform.node(),
    }


def versions(*names: str) -> dict[str, str]:
    out = {}
    for name in names:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = _imported_version(name)
    return out


def _imported_version(name: str) -> str:
    """The module's own ``__version__`` where its distribution has another name (the
    ``xgboost`` module comes from ``xgboost-cpu`` on Linux), else "not installed"."""
    try:
        module = importlib.import_module(name)
    except ImportError:
        return "not installed"
    return str(getattr(module, "__version__", "unknown"))


def timed(fn: Callable[[], Any], repeat: int) -> tuple[list[float], Any]:
    """Run ``fn`` ``repeat`` times; return the wall times and the last result."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return times, result


def summary(times: list[float]) -> dict[str, float]:
    return {"best_s": min(times), "median_s": statistics.median(times), "runs": len(times)}


def write_result(name: str, payload: dict[str, Any], directory: Path | None = None) -> Path:
    folder = directory or RESULTS
    folder.mkdir(parents=True, exist_ok=True)
    payload = {
        "benchmark": name,
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        **payload,
    }
    path = folder / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path


def zstd_floor(pages: list[Any], outputs: list[Any]) -> int:
    """The decompression floor: compressed payloads already in memory (ROOT's block framing,
    9-byte headers around zstd frames) decompressed into buffers made beforehand, nothing
    else; a payload as long as its output is stored uncompressed and copied."""
    import cramjam

    total = 0
    for raw, out in zip(pages, outputs, strict=True):
        if len(raw) == len(out):
            out[:] = raw
            total += len(out)
            continue
        pos = filled = 0
        view = memoryview(raw.data)
        while pos < len(raw):
            csize = int.from_bytes(view[pos + 3 : pos + 6], "little")
            usize = int.from_bytes(view[pos + 6 : pos + 9], "little")
            cramjam.zstd.decompress_into(
                view[pos + 9 : pos + 9 + csize], out[filled : filled + usize]
            )
            pos += 9 + csize
            filled += usize
        total += filled
    return total
