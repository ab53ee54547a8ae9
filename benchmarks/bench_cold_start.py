"""Fresh-process costs: what a notebook user, an ``afkit agc`` run or a new batch worker pays.

Every case runs in a new interpreter (``python -c``), interleaved with its peer, ``--repeat``
times; times are taken inside the child (``perf_counter`` from its first line) and the
whole child's wall time, interpreter start included, is recorded beside them.

* ``import``: ``import afkit`` against ``import uproot``.
* ``first result`` on a real PHYSLITE file: afkit's ``read`` + one collection field (electron
  pt, summed) + a four-vector mass (electron masses from the vector behaviours), against
  uproot's import + open + read of the same branch (``AnalysisElectronsAuxDyn.pt``).
* ``first AGC chunk``: the AGC on one chunk of a generated file through ``afkit.run``, once
  in a fresh process and once more in the same process (the warm chunk).
* the first result again with the schema store off (``AFKIT_CACHE_DIR=off``): what a
  process pays for a tree layout no earlier process has seen (uproot's model of the tree
  and the schema built from it).
* JIT: the first result and the first AGC chunk again with an empty Numba cache
  (``NUMBA_CACHE_DIR`` pointed at a new folder) — what the first run after an install pays.
* ``--minimal-python``: the import and first-result cases again with another interpreter,
  one whose environment holds afkit and its own dependencies only (``pip install afkit``
  into a new virtual environment).  The development environment has SymPy (which
  ``vector`` imports when it is installed) and SciPy (which Numba imports when it sets up
  compiling); a plain install has neither.

Result: benchmarks/results/cold_start.json.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import summary, versions, write_result

REAL_FILE = Path(__file__).resolve().parents[2] / "shared" / "data" / "uproot-issue-951.root"

_PRELUDE = "import time, json, sys\n_t0 = time.perf_counter()\n"

IMPORT_AFKIT = _PRELUDE + (
    "import afkit\nprint(json.dumps({'import_s': time.perf_counter() - _t0}))\n"
)

IMPORT_UPROOT = _PRELUDE + (
    "import uproot\nprint(json.dumps({'import_s': time.perf_counter() - _t0}))\n"
)

AFKIT_FIRST = _PRELUDE + (
    "import afkit\n"
    "_t1 = time.perf_counter()\n"
    "import awkward as ak\n"
    "events = afkit.read(sys.argv[1])\n"
    "total = float(ak.sum(events.Electrons.pt))\n"
    "_t2 = time.perf_counter()\n"
    "mass = float(ak.sum(events.Electrons.mass))\n"
    "_t3 = time.perf_counter()\n"
    "print(json.dumps({'import_s': _t1 - _t0, 'read_field_s': _t2 - _t1,\n"
    "                  'mass_s': _t3 - _t2, 'total_s': _t3 - _t0, 'value': total,\n"
    "                  'numba_imported': 'numba' in sys.modules}))\n"
)

UPROOT_FIRST = _PRELUDE + (
    "import uproot\n"
    "_t1 = time.perf_counter()\n"
    "import awkward as ak\n"
    "tree = uproot.open(sys.argv[1])['CollectionTree']\n"
    "total = float(ak.sum(tree['AnalysisElectronsAuxDyn.pt'].array()))\n"
    "_t2 = time.perf_counter()\n"
    "print(json.dumps({'import_s': _t1 - _t0, 'read_field_s': _t2 - _t1,\n"
    "                  'total_s': _t2 - _t0, 'value': total / 1000.0}))\n"
)

AGC_CHUNKS = _PRELUDE + (
    "import afkit\n"
    "from afkit.agc import AGCProcessor\n"
    "from afkit.fileset import Fileset\n"
    "_t1 = time.perf_counter()\n"
    "fileset = Fileset.load(sys.argv[1])\n"
    "chunk = int(sys.argv[2])\n"
    "def once():\n"
    "    start = time.perf_counter()\n"
    "    result, report = afkit.run(AGCProcessor(), fileset, executor='iterative',\n"
    "                               chunksize=chunk, progress=False)\n"
    "    assert report.complete\n"
    "    return time.perf_counter() - start, report.events_processed\n"
    "first, events = once()\n"
    "warm, _ = once()\n"
    "print(json.dumps({'import_s': _t1 - _t0, 'first_chunk_s': first, 'warm_chunk_s': warm,\n"
    "                  'events': events, 'total_s': time.perf_counter() - _t0}))\n"
)


def child(
    code: str, *args: str, env: dict[str, str] | None = None, python: str = sys.executable
) -> dict[str, Any]:
    """Run ``code`` in a fresh interpreter; its JSON line plus the whole child's wall time."""
    start = time.perf_counter()
    done = subprocess.run(
        [python, "-c", code, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"child failed ({done.returncode}):\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["process_wall_s"] = wall
    return result


def first_look_cases(file: str, python: str) -> dict[str, Callable[[], dict[str, Any]]]:
    """The import and first-result cases, afkit's and uproot's, run by ``python``."""
    return {
        "import_afkit": lambda: child(IMPORT_AFKIT, python=python),
        "import_uproot": lambda: child(IMPORT_UPROOT, python=python),
        "first_result_afkit": lambda: child(AFKIT_FIRST, file, python=python),
        "first_result_uproot": lambda: child(UPROOT_FIRST, file, python=python),
    }


def interleaved(
    cases: dict[str, Callable[[], dict[str, Any]]], repeat: int
) -> dict[str, list[dict[str, Any]]]:
    """Every case ``repeat`` times, one of each in turn."""
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in cases}
    for _ in range(repeat):
        for name, case in cases.items():
            runs[name].append(case())
    return runs


def best_of(summaries: dict[str, Any], case: str, key: str) -> float:
    """The best time of ``case``'s ``key``."""
    return float(summaries[case][key]["best_s"])


def first_look_ratios(summaries: dict[str, Any]) -> dict[str, float]:
    """afkit over uproot, best against best: the import, and the first result."""
    b = functools.partial(best_of, summaries)
    return {
        "import_afkit_over_uproot": b("import_afkit", "import_s") / b("import_uproot", "import_s"),
        "first_result_afkit_over_uproot": b("first_result_afkit", "total_s")
        / b("first_result_uproot", "total_s"),
    }


def _has_any(python: str, *modules: str) -> bool:
    """Whether ``python`` can import any of ``modules``."""
    probe = "import importlib.util as u, sys; print(any(u.find_spec(m) for m in sys.argv[1:]))"
    done = subprocess.run(
        [python, "-c", probe, *modules], capture_output=True, text=True, check=False
    )
    return done.stdout.strip() == "True"


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    keys = [k for k in runs[0] if k.endswith("_s")]  # (timings only)
    return {k: summary([r[k] for r in runs]) for k in keys}


def one_file_fileset(path: str, folder: Path) -> str:
    """A fileset JSON holding only the first ttbar file of ``path``'s fileset."""
    from afkit.fileset import Fileset

    fileset = Fileset.load(path)
    data = json.loads(Path(path).read_text())
    name = next(n for n, s in fileset.samples.items() if not s.is_data)
    sample = dict(data["samples"][name])
    first = dict(sample["files"][0])
    first["path"] = str(fileset.resolve(fileset.samples[name].files[0]))
    sample["files"] = [first]
    out = folder / "one_file.json"
    out.write_text(json.dumps({**data, "samples": {name: sample}}))
    return str(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("fileset", help="fileset JSON of a generated dataset (AGC chunks)")
    parser.add_argument("--chunk", type=int, default=100_000, help="entries of the AGC chunk")
    parser.add_argument("--file", default=str(REAL_FILE), help="real PHYSLITE file")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--name", default="cold_start")
    parser.add_argument(
        "--minimal-python",
        help="an interpreter whose environment has afkit and its own dependencies only",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        fileset = one_file_fileset(args.fileset, Path(tmp))
        cases = {
            **first_look_cases(args.file, sys.executable),
            "first_result_afkit_no_schema_store": lambda: child(
                AFKIT_FIRST, args.file, env={"AFKIT_CACHE_DIR": "off"}
            ),
            "agc_chunks": lambda: child(AGC_CHUNKS, fileset, str(args.chunk)),
        }
        child(AFKIT_FIRST, args.file)  # fills the Numba cache and the page cache
        child(AGC_CHUNKS, fileset, str(args.chunk))
        runs = interleaved(cases, args.repeat)
        minimal: dict[str, list[dict[str, Any]]] = {}
        if args.minimal_python:
            child(AFKIT_FIRST, args.file, python=args.minimal_python)
            minimal = interleaved(first_look_cases(args.file, args.minimal_python), args.repeat)
        agreement = runs["first_result_afkit"][0]["value"] / runs["first_result_uproot"][0]["value"]
        # same electrons: GeV (float64) against MeV / 1000 (summed in float32)
        assert abs(agreement - 1) < 1e-6, agreement

        jit: dict[str, Any] = {}
        for name, code, extra in (
            ("first_result_afkit", AFKIT_FIRST, [args.file]),
            ("agc_chunks", AGC_CHUNKS, [fileset, str(args.chunk)]),
        ):
            with tempfile.TemporaryDirectory() as cache:
                jit[name] = child(code, *extra, env={"NUMBA_CACHE_DIR": cache})

    best = {name: summarise(r) for name, r in runs.items()}
    b = functools.partial(best_of, best)

    payload = {
        "real_file": args.file,
        "agc_file_events": runs["agc_chunks"][0]["events"],
        "chunk_entries": args.chunk,
        "cases": best,
        "empty_numba_cache": jit,
        "ratios": {
            **first_look_ratios(best),
            "first_result_afkit_unseen_layout_over_uproot": b(
                "first_result_afkit_no_schema_store", "total_s"
            )
            / b("first_result_uproot", "total_s"),
            "first_agc_chunk_over_warm": b("agc_chunks", "first_chunk_s")
            / b("agc_chunks", "warm_chunk_s"),
        },
        "first_result_imports_numba": runs["first_result_afkit"][0]["numba_imported"],
        "versions": versions("afkit", "uproot", "awkward", "numba", "numpy", "vector"),
        "notes": (
            "fresh interpreter per run, interleaved, best of repeat (median beside it); times "
            "from the child's first line, process_wall_s includes interpreter start; the "
            "Numba cache and the page cache warm (one run of each before timing) except "
            "under empty_numba_cache. afkit's first result includes the four-vector mass, "
            "uproot's is the branch alone. The warm chunk is the same chunk run again in "
            "the same process (files opened afresh, schema and kernels kept)."
        ),
    }
    if minimal:
        low = {name: summarise(r) for name, r in minimal.items()}
        payload["minimal_install"] = {
            "python": args.minimal_python,
            "has_sympy_or_scipy": _has_any(args.minimal_python, "sympy", "scipy"),
            "cases": low,
            "ratios": first_look_ratios(low),
        }
    path = write_result(args.name, payload)
    print(json.dumps(payload["ratios"], indent=1))
    if minimal:
        print("minimal install:", json.dumps(payload["minimal_install"]["ratios"], indent=1))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
