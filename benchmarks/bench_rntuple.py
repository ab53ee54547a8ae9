"""Reading RNTuple: afkit's decoder against uproot, the zstd floor, TTree and RDataFrame.

Same events twice (``afkit generate`` with one seed, ``--format rntuple`` and the TTree
default); one core, one process, the measurements interleaved, best of ``--repeat`` after a
warm-up:

* ``afkit_rntuple_fields``: afkit's RNTuple decoder, the AGC's fields as awkward arrays
  (``RNTuple.arrays``), the file opened afresh each time (anchor, header, footer, page list);
* ``uproot_rntuple_fields``: ``uproot.open(path)["EventData"].arrays(fields)``, the same fields
  (uproot's own recommended call), opened afresh each time;
* ``zstd_floor``: decompressing exactly those fields' pages (already in memory) into
  preallocated buffers, nothing else: the physical floor of reading them;
* ``afkit_rntuple_reader`` / ``afkit_ttree_reader``: the event model's reader over the whole
  file for the AGC's branches (plain buffers), RNTuple and the TTree of the same events;
* ``agc_rntuple`` / ``agc_ttree``: the AGC processor over the whole dataset;
* ``rdataframe_rntuple`` / ``rdataframe_ttree``: ROOT's RDataFrame summing each field (one
  event loop, no implicit multithreading), when ROOT is importable.

Per-file fixed cost (open: anchor/header/footer for afkit, ``uproot.open(...)["EventData"]``
for uproot) is timed on its own.  Peak traced memory while reading a chunk is compared with
the chunk's decompressed columns.  Results: benchmarks/results/rntuple_read.json (100 k-event
file), rntuple_read_small.json (2 k events: per-file costs dominate).

    afkit generate R --sample ttbar --events-per-sample 100000 --files-per-sample 1 --format rntuple
    afkit generate T --sample ttbar --events-per-sample 100000 --files-per-sample 1
    python benchmarks/bench_rntuple.py R/fileset.json T/fileset.json [--repeat 5]
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import afkit
from _common import summary, versions, write_result, zstd_floor
from afkit.agc.columns import ChunkColumns
from afkit.agc.processor import AGCProcessor
from afkit.fileset import Fileset
from afkit.io.filespec import clear_open_files
from afkit.io.rntuple.ntuple import RNTuple, rntuple_keys
from afkit.io.rntuple.pages import column_type
from afkit.io.rootio.source import LocalBytes


def agc_branches(path: str) -> list[str]:
    """The branches the AGC reads from a file (recorded by its reader)."""
    clear_open_files()
    events = afkit.read(path)
    ChunkColumns.from_events(events, mc=True)
    return list(dict.fromkeys(events.source.reader.branches_read))


def open_ntuple(path: str) -> RNTuple:
    source = LocalBytes(path)
    return RNTuple(source, rntuple_keys(source)["EventData"], path)


def field_columns(nt: RNTuple, name: str) -> list[Any]:
    out, stack = [], [nt.field(name)]
    while stack:
        node = stack.pop()
        out += nt.columns_of(node)
        stack.extend(nt.schema.fields[c] for c in node.children)
    return out


_RSS_CHILD = """
import gc, json, sys
from afkit.io.rntuple.ntuple import RNTuple, rntuple_keys
from afkit.io.rootio.source import LocalBytes

path, fields, clusters = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3])
trim = sys.argv[4] == "trim"

def ntuple():
    source = LocalBytes(path)
    return RNTuple(source, rntuple_keys(source)["EventData"], path)

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024

from afkit.io.warm import warm_up

warm_up()  # Numba set up, as in a process past its first chunk (compiled forms from here)
warm = ntuple()
if trim:  # every code path of this read run once (its kernels loaded), its memory freed
    warmed = warm.arrays(fields, 0, sum(c.entries for c in warm.clusters()[:clusters]))
    del warmed
else:  # the code and the allocator warmed on the file's last cluster
    last = warm.clusters()[-1]
    warm.arrays(fields, last.first_entry, last.first_entry + last.entries)
fresh = ntuple()
chunk = fresh.clusters()[:clusters]
gc.collect()

def reset_peak():
    if trim:  # hand the allocator's free memory back: no page is reused without counting
        import ctypes
        ctypes.CDLL(None).malloc_trim(0)
    with open("/proc/self/clear_refs", "w") as reset:  # the peak (VmHWM) restarts here
        reset.write("5")
    return status("VmRSS")

decompressor = None
if trim:  # the ZSTD decompressor's own working memory, for one 64 kB page
    import numpy as np
    from afkit.io.rootio.baskets import decompress_into
    import cramjam
    page = np.random.default_rng(5).integers(0, 16, 65536, dtype=np.uint8)
    body = bytes(cramjam.zstd.compress(page.tobytes(), level=5))
    header = b"ZS" + bytes([0]) + len(body).to_bytes(3, "little") + len(page).to_bytes(3, "little")
    block, into = np.frombuffer(header + body, np.uint8), np.empty(len(page), np.uint8)
    start = reset_peak()
    decompress_into(block, into)
    decompressor = status("VmHWM") - start
    del block, into, page, body
before = reset_peak()
kept = fresh.arrays(fields, 0, sum(c.entries for c in chunk))
print(json.dumps({"peak_rss_added_bytes": status("VmHWM") - before,
                  "decompressor_working_bytes": decompressor}))
"""


def chunk_rss(
    path: str, fields: list[str], clusters: int, trim: bool = False
) -> dict[str, Any] | None:
    """What a fresh process measures while it reads the first ``clusters`` clusters' fields
    (Linux: the peak is reset just before): ``peak_rss_added_bytes``, and with ``trim``
    also ``decompressor_working_bytes``; ``None`` where that cannot be measured.  With
    ``trim``, the warm-up reads the same chunk (every kernel the read needs is loaded) and
    glibc's ``malloc_trim`` then returns the free memory it left (no freed page is reused
    without being counted)."""
    if trim:
        import ctypes

        try:
            ctypes.CDLL(None).malloc_trim  # noqa: B018 - glibc only
        except (AttributeError, OSError):
            return None
    import json
    import subprocess

    if not Path("/proc/self/clear_refs").exists():
        return None
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            _RSS_CHILD,
            path,
            json.dumps(fields),
            str(clusters),
            "trim" if trim else "keep",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        print(f"peak RSS not measured: {done.stderr[-500:]}")
        return None
    found: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def chunk_memory(path: str, nt: RNTuple, fields: list[str], clusters: int) -> dict[str, Any]:
    """Peak traced memory of reading the first ``clusters`` clusters' fields, against the
    bound: the chunk's decompressed columns plus one page list per cluster."""
    chunk = nt.clusters()[:clusters]
    chunk_entries = sum(c.entries for c in chunk)
    chunk_columns = 0
    largest_compressed = largest_page = 0
    for f in fields:
        for column in field_columns(nt, f):
            itemsize = column_type(column).dtype.itemsize
            width = (column.bits + 7) // 8
            for cluster in chunk:
                info = cluster.columns.get(column.id)
                if info is None:
                    continue
                chunk_columns += info.elements * max(itemsize, width)
                if len(info.table):
                    largest_compressed = max(largest_compressed, int(info.table["size"].max()))
                    largest_page = max(largest_page, int(info.table["elements"].max()) * width)
    # a cluster's share of its group's page list (the envelope describes all its clusters)
    page_list = max(g.page_list_length / max(g.clusters, 1) for g in nt.groups)
    bound = chunk_columns + page_list * len(chunk)
    gc.collect()
    tracemalloc.start()
    fresh = open_ntuple(path)
    fresh.clusters()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    kept = fresh.arrays(fields, 0, chunk_entries)
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    del kept
    kept_heap = chunk_rss(path, fields, clusters)
    trimmed_heap = chunk_rss(path, fields, clusters, trim=True)
    rss = kept_heap["peak_rss_added_bytes"] if kept_heap else None
    trimmed = trimmed_heap["peak_rss_added_bytes"] if trimmed_heap else None
    working = trimmed_heap["decompressor_working_bytes"] if trimmed_heap else None
    less = trimmed - working if trimmed is not None and working is not None else None
    return {
        "decompressor_working_bytes": working,
        "peak_rss_trimmed_heap_less_decompressor_over_bound": less / bound if less else None,
        "peak_rss_added_bytes": rss,
        "peak_rss_over_bound": rss / bound if rss is not None else None,
        "rss_bound_met": rss <= bound if rss is not None else None,
        "peak_rss_added_bytes_trimmed_heap": trimmed,
        "peak_rss_trimmed_heap_over_bound": trimmed / bound if trimmed is not None else None,
        "chunk_clusters": len(chunk),
        "chunk_entries": chunk_entries,
        "chunk_decompressed_columns_bytes": chunk_columns,
        "page_list_bytes_per_cluster": page_list,
        "bound_bytes": bound,
        "peak_traced_bytes_reading_chunk": peak,
        "peak_over_columns": peak / chunk_columns if chunk_columns else None,
        "peak_over_bound": peak / bound,
        "bound_met": peak <= bound,
        "largest_compressed_page_bytes": largest_compressed,
        "largest_decompressed_page_bytes": largest_page,
    }


def floor_inputs(nt: RNTuple, names: list[str]) -> tuple[list[np.ndarray], list[np.ndarray], int]:
    """The fields' compressed pages (in memory) and an output buffer for each."""
    import cramjam  # noqa: F401 - the floor's decompressor

    pages, outputs, compressed = [], [], 0
    for name in names:
        for column in field_columns(nt, name):
            bits = column.bits
            for cluster in nt.clusters():
                info = cluster.columns.get(column.id)
                if info is None or info.suppressed:
                    continue
                for page in info.pages:
                    (raw,) = nt.source.ranges(
                        [(page.locator.offset, page.locator.offset + page.locator.size)]
                    )
                    size = (page.elements * bits + 7) // 8
                    pages.append(raw)
                    outputs.append(np.empty(size, np.uint8))
                    compressed += page.locator.size
    return pages, outputs, compressed


def reader_read(path: str, branches: list[str]) -> int:
    """The event model's reader: every AGC branch as plain buffers, as the engine asks."""
    clear_open_files()
    events = afkit.read(path)
    source = events.source
    reader = source.reader
    total = 0
    for branch in branches:
        kind = _kind(source.schema, branch)
        if kind == "scalar":
            total += reader.flat(branch).nbytes
        elif kind in ("link", "link_vector", "link_nested", "link_single"):
            links = reader.link_arrays(branch, kind)
            total += links.keys.nbytes + links.indices.nbytes
        else:
            offsets, content = reader.jagged(branch)
            total += content.nbytes + offsets.nbytes
    return total


def _kind(schema: Any, branch: str) -> str:
    for collection in schema.collections.values():
        for spec in collection.fields.values():
            if spec.branch == branch:
                return str(spec.kind)
    return "list"


def agc_run(fileset: Fileset) -> int:
    clear_open_files()
    _, report = afkit.run(AGCProcessor("cpu"), fileset, executor="iterative", chunksize=10**7)
    return int(report.events_processed)


def rdataframe(path: str, tree: str, fields: list[str]) -> float:
    import ROOT

    ROOT.DisableImplicitMT()
    df = ROOT.RDataFrame(tree, path)
    sums = [df.Sum(f) for f in fields]
    return float(sum(s.GetValue() for s in sums))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("rntuple", help="fileset JSON of a dataset written with --format rntuple")
    parser.add_argument("ttree", help="fileset JSON of the same dataset as TTree")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-root", action="store_true", help="skip RDataFrame")
    parser.add_argument(
        "--name", default="rntuple_read", help="result name (benchmarks/results/NAME.json)"
    )
    args = parser.parse_args()
    import uproot

    filesets = {"rntuple": Fileset.load(args.rntuple), "ttree": Fileset.load(args.ttree)}
    for kind, fileset in filesets.items():
        sample = next(iter(fileset.samples.values()))
        setattr(args, kind, str(fileset.resolve(sample.files[0])))

    branches = agc_branches(args.rntuple)  # the TTree splits the link into two sub-branches
    tree_branches = agc_branches(args.ttree)
    fields = [b.replace(".", ":") for b in branches]
    nt = open_ntuple(args.rntuple)
    entries = nt.num_entries
    pages, outputs, compressed = floor_inputs(nt, fields)
    decompressed = sum(len(o) for o in outputs)

    # one check of equality before timing: afkit's fields equal uproot's
    mine = nt.arrays(fields)
    theirs = uproot.open(args.rntuple)["EventData"].arrays(fields)
    import awkward as ak

    for f in fields:
        # (std::vector<char>: int8 for afkit, as in its TTree reading; uint8 for uproot)
        assert ak.array_equal(mine[f], theirs[f], equal_nan=True, dtype_exact=False), f
    del mine, theirs

    cases: dict[str, Any] = {
        "afkit_rntuple_fields": lambda: open_ntuple(args.rntuple).arrays(fields),
        "uproot_rntuple_fields": lambda: uproot.open(args.rntuple)["EventData"].arrays(fields),
        "zstd_floor": lambda: zstd_floor(pages, outputs),
        "afkit_rntuple_reader": lambda: reader_read(args.rntuple, branches),
        "afkit_ttree_reader": lambda: reader_read(args.ttree, tree_branches),
        "agc_rntuple": lambda: agc_run(filesets["rntuple"]),
        "agc_ttree": lambda: agc_run(filesets["ttree"]),
        "afkit_rntuple_open": lambda: open_ntuple(args.rntuple).clusters(),
        "uproot_rntuple_open": lambda: uproot.open(args.rntuple)["EventData"].page_link_list,
    }
    root_ok = not args.no_root
    if root_ok:
        try:
            import ROOT  # noqa: F401
        except ImportError:
            root_ok = False
    if root_ok:
        cases["rdataframe_rntuple"] = lambda: rdataframe(
            args.rntuple, "EventData", [f for f in fields if "Link" not in f]
        )
        cases["rdataframe_ttree"] = lambda: rdataframe(
            args.ttree, "CollectionTree", [b for b in tree_branches if "Link" not in b]
        )
    for fn in cases.values():  # warm-up: JIT, imports, page cache
        fn()
    times: dict[str, list[float]] = {name: [] for name in cases}
    # pairs compared with each other are interleaved among themselves, each pair on its
    # own, so that no pair member always follows a peer's large allocations (uproot's
    # gigabyte of Python objects disturbs whatever runs after it by tens of percent)
    groups = [
        ["afkit_rntuple_fields", "uproot_rntuple_fields", "zstd_floor"],
        ["afkit_rntuple_reader", "afkit_ttree_reader"],
        ["agc_rntuple", "agc_ttree"],
        [n for n in cases if n.startswith("rdataframe")],
        ["afkit_rntuple_open", "uproot_rntuple_open"],
    ]
    assert sorted(n for g in groups for n in g) == sorted(cases)
    for group in groups:
        for _ in range(args.repeat):
            for name in group:
                gc.collect()
                start = time.perf_counter()
                cases[name]()
                times[name].append(time.perf_counter() - start)

    clusters = nt.clusters()
    # the acceptance chunk (10 clusters) first, then smaller and larger chunks
    sizes = sorted({min(10, len(clusters)), 1, min(3, len(clusters)), len(clusters)})
    sizes.remove(min(10, len(clusters)))
    memory = [chunk_memory(args.rntuple, nt, fields, k) for k in [min(10, len(clusters)), *sizes]]

    best = {name: min(t) for name, t in times.items()}
    rates = {name: entries / t for name, t in best.items() if not name.endswith("_open")}
    payload = {
        "files": {"rntuple": args.rntuple, "ttree": args.ttree},
        "entries": entries,
        "clusters": len(clusters),
        "fields": fields,
        "compressed_bytes_of_fields": compressed,
        "decompressed_bytes_of_fields": decompressed,
        "timings": {name: summary(t) for name, t in times.items()},
        "events_per_s": rates,
        "ratios": {
            "afkit_vs_uproot_rntuple": best["uproot_rntuple_fields"] / best["afkit_rntuple_fields"],
            "afkit_fields_fraction_of_zstd_floor": best["zstd_floor"]
            / best["afkit_rntuple_fields"],
            "afkit_rntuple_vs_ttree_reader": best["afkit_ttree_reader"]
            / best["afkit_rntuple_reader"],
            "agc_rntuple_vs_ttree": best["agc_ttree"] / best["agc_rntuple"],
            "open_afkit_vs_uproot": best["uproot_rntuple_open"] / best["afkit_rntuple_open"],
        },
        "memory": {
            **memory[0],
            "by_chunk_size": memory,
            "how": "peak_traced_bytes: tracemalloc (NumPy reports its buffers to it) over "
            "RNTuple.arrays of a chunk of whole clusters, the page list already read. "
            "peak_rss_added_bytes: a fresh process (Numba set up, warmed on the file's last "
            "cluster) reads "
            "the chunk; its peak resident set (VmHWM, reset just before through "
            "/proc/self/clear_refs) less its resident set before. The allocator reuses the "
            "memory the warm-up freed, so this depends on what the warm-up left; "
            "peak_rss_added_bytes_trimmed_heap: the warm-up reads the same chunk (every "
            "kernel loaded), then glibc's malloc_trim(0) returns all free memory (every page "
            "the read touches counts: the worst case, allocator and Python-object "
            "granularity included); decompressor_working_bytes: the peak RSS one "
            "decompress_into of a 64 kB ZSTD page adds in that child (cramjam's decoder "
            "state and buffers, allocated and freed for every page: a fixed cost of the "
            "process, not of the chunk). Bound: the chunk's "
            "decompressed columns + one page list per cluster (each cluster's share of its "
            "group's page-list envelope). Each compressed page is a view of a memory map of "
            "that page alone, closed before the next (file pages of the operating system's "
            "cache, one page's worth mapped at a time; no copy). A split page decodes in the "
            "bytes after its place where later pages overwrite them, otherwise in its own "
            "place (under 1 kB of scratch; largest_decompressed_page_bytes is what a scratch "
            "page would have cost). Also held: the parsed page tables and the awkward "
            "arrays' Python objects (about 2 kB per field, which dominate a chunk of one "
            "cluster).",
        },
        "versions": versions("afkit", "uproot", "awkward", "numpy", "cramjam", "root"),
        "notes": (
            "one core, one process, best of repeat after a warm-up, the cases of each compared "
            "pair interleaved among themselves (reading: afkit, uproot, floor; reader: "
            "RNTuple, TTree; AGC: RNTuple, TTree; RDataFrame; open: afkit, uproot); files opened "
            "afresh per run (afkit: anchor, header, footer, page list; uproot: open + "
            "EventData); the floor decompresses exactly the fields' pages, already in memory. "
            "*_reader cases return the event model's plain buffers (links as key/index "
            "arrays), the *_fields cases awkward arrays of the raw fields."
        ),
    }
    if root_ok:
        payload["ratios"]["afkit_vs_rdataframe_rntuple"] = (
            best["rdataframe_rntuple"] / best["afkit_rntuple_fields"]
        )
    path = write_result(args.name, payload)
    for name, t in best.items():
        print(f"{name:24s} {t * 1e3:9.1f} ms  {entries / t / 1e3:8.0f} k events/s")
    for name, r in payload["ratios"].items():
        print(f"{name:40s} {r:6.2f}")
    for row in memory:
        print(
            f"memory, {row['chunk_clusters']:3d} clusters: peak / bound "
            f"{row['peak_over_bound']:.3f} (peak / columns {row['peak_over_columns']:.3f}), "
            f"peak RSS / bound {row['peak_rss_over_bound']}, "
            f"trimmed heap {row['peak_rss_trimmed_heap_over_bound']} "
            f"(less the decompressor's {row['decompressor_working_bytes']} B: "
            f"{row['peak_rss_trimmed_heap_less_decompressor_over_bound']})"
        )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
