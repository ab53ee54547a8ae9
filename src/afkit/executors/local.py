"""Local worker processes: the ``processes`` executor and :class:`ProcessPool`.

A run forks its worker processes from the driver after loading, once, what every worker
needs (afkit's decoders, the processor's ``warm_up()``, the schemas of the fileset's layouts):
they inherit it instead of each loading it again.  Forking still costs ~5-10 ms per worker and
a run of a fraction of a second pays it every time; a :class:`ProcessPool` keeps its workers
across runs, for notebooks and scripts that run again and again:

    with afkit.ProcessPool(workers=2) as pool:
        result, report = afkit.run(processor, fileset, pool=pool)

Kept workers must not run stale code.  The processor is sent to the workers by value with
each run (``cloudpickle``: classes and functions defined in a notebook or ``__main__`` travel
as they are now).  The pool forks its workers again when, since they were forked, a module
outside the Python installation (the user's own code, an editable install) was reloaded or
edited in the driver, or the working directory or an environment variable changed; and each
worker checks once per run that no such module it imported itself (one the driver never
imported) was edited since its fork, refusing the run's chunks otherwise so that fresh workers
take them.  :meth:`ProcessPool.restart` covers what none of this sees (data files read at
import time, say).  A worker that dies (killed, out of memory) takes the pool with it: the
chunks not yet done are resubmitted to fresh workers, a few times at most.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import shutil
import site
import sys
import sysconfig
import tempfile
import threading
import time
import uuid
from collections.abc import Generator, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from afkit.exceptions import AfkitError, ConfigError
from afkit.executors.plan import WorkItem, largest_first
from afkit.executors.report import LostWorker, RetriedChunk, RunReport
from afkit.executors.work import Outcome, process_item

#: Samples whose first file the driver opens before forking workers, so that the workers
#: inherit the schema of every layout among them (data and MC files differ, for one).
#: Opening a file costs a few milliseconds; building a new layout's schema ~0.1 s per worker.
_WARM_FILES = 32

#: Times the workers of one run may die before the run gives up.
MAX_RESTARTS = 3


def forks() -> bool:
    """Whether worker processes start as forks of this one (Linux) rather than fresh."""
    return multiprocessing.get_start_method(allow_none=False) == "fork"


def warm_parent(processor: Any, items: list[WorkItem]) -> None:
    """Load, once in this process, what every fork-started worker would otherwise load again.

    Workers forked from this process inherit its memory: Numba code loaded here (afkit's
    decoders and the processor's optional ``warm_up()``) and schemas built here (from the
    first local file of the first few samples) cost them nothing — about a second per worker
    and run otherwise.  Files whose schema an earlier run in this process built are not
    read again.
    Nothing is done where workers are spawned fresh.  Errors are left to the workers, which
    report them against their chunks.
    """
    if not forks():
        return
    from afkit.events.reading import read
    from afkit.io.filespec import is_remote
    from afkit.io.open import schema_is_cached
    from afkit.io.warm import warm_up as warm_reader

    warm_reader()
    warm_up = getattr(processor, "warm_up", None)
    if callable(warm_up):
        warm_up()

    firsts: dict[str, WorkItem] = {}
    for item in items:
        if not is_remote(item.file):  # remote opens would delay the start by their latency
            firsts.setdefault(item.sample, item)
    for item in list(firsts.values())[:_WARM_FILES]:
        if schema_is_cached(item.file, item.tree):
            continue  # an earlier run in this process built it: nothing to inherit anew
        try:
            read(item.file, tree=item.tree, entry_stop=0)
        except (AfkitError, OSError):
            continue


def _installation_paths() -> tuple[str, ...]:
    paths = {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    paths.update(site.getsitepackages() if hasattr(site, "getsitepackages") else [])
    user = site.getusersitepackages() if hasattr(site, "getusersitepackages") else None
    if isinstance(user, str):
        paths.add(user)
    both = {q for p in paths if p for q in (p, os.path.realpath(p))}
    return tuple(os.path.join(p, "") for p in both)


_INSTALLED = _installation_paths()
_installed_by_path: dict[str, bool] = {}


def _installed(path: str) -> bool:
    """Whether a module file belongs to the Python installation (cached: resolving links is
    slow, and files of loaded modules do not move)."""
    if path.startswith(_INSTALLED):
        return True
    known = _installed_by_path.get(path)
    if known is None:
        known = _installed_by_path[path] = os.path.realpath(path).startswith(_INSTALLED)
    return known


def user_modules() -> dict[str, tuple[int, int]]:
    """The loaded modules that live outside the Python installation (the user's own code,
    editable installs): name -> (object identity, file modification time in ns).

    Installed packages, which do not change under a running interpreter, are left out to keep
    this cheap (~1 ms).
    """
    found = {}
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if not isinstance(path, str) or _installed(path):
            continue
        try:
            mtime = os.stat(path).st_mtime_ns
        except OSError:
            mtime = -1
        found[name] = (id(module), mtime)
    return found


def changed_since(known: dict[str, tuple[int, int]], forked_ns: int) -> list[str]:
    """Modules a worker forked at ``forked_ns`` may hold in another version than the driver:
    those ``known`` then that were reloaded or edited since, and those imported later whose
    file is newer than the fork.  Updates ``known`` with the modules imported since."""
    changed = []
    for name, (ident, mtime) in user_modules().items():
        before = known.get(name)
        if before is None:
            if mtime > forked_ns:
                changed.append(name)
            known[name] = (ident, mtime)
        elif before != (ident, mtime):
            changed.append(name)
    return changed


def _surroundings() -> tuple[str, int]:
    """The working directory and a digest of the environment variables."""
    return os.getcwd(), hash(frozenset(os.environ.items()))


def _ship(processor: Any) -> bytes:
    """The processor pickled, by value where it is not importable (notebook and ``__main__``
    code); a processor that cannot be pickled is a :class:`ConfigError` naming the reason."""
    import cloudpickle

    try:
        shipped: bytes = cloudpickle.dumps(processor)
    except Exception as err:  # pickling raises whatever the object's state raises
        raise ConfigError(
            f"the processor {type(processor).__name__} cannot be sent to worker processes "
            f"({type(err).__name__}: {err}); run it with executor='iterative' or keep "
            "unpicklable state (open files, locks, clients) out of it"
        ) from err
    return shipped


class StaleWorker(Exception):
    """A kept worker holds a user module whose file changed after the worker was forked."""


#: Set in each worker of a kept pool by its initializer: when the pool forked it.
_worker_forked_ns = 0
#: A worker found stale stays so: it refuses every chunk until the pool replaces it.
_worker_stale = ""
_worker_checked_run = ""
#: Each worker's note of the item it is running: a file of the pool's tracking directory
#: named by the worker's pid, so that the driver can tell which item a dead worker held.
_worker_note = -1


def _worker_init(forked_ns: int, tracking: str) -> None:
    global _worker_forked_ns, _worker_note
    _worker_forked_ns = forked_ns
    path = os.path.join(tracking, str(os.getpid()))
    _worker_note = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    watch = threading.Thread(
        target=_exit_with_parent, args=(os.getppid(),), name="afkit-parent-watch", daemon=True
    )
    watch.start()


#: How often a worker checks that the process that started it is still there [s].
PARENT_CHECK_S = 0.5


def _exit_with_parent(parent: int) -> None:
    """Worker side: end this worker once the process that started it is gone.  A driver
    killed outright (``kill -9``, the out-of-memory killer) cannot shut its pool down, and
    its workers would otherwise wait for work forever, each holding its memory."""
    while True:
        time.sleep(PARENT_CHECK_S)
        if os.getppid() != parent:
            os._exit(1)


def _note(text: str) -> None:
    """Worker side: record what this worker runs now (a few microseconds: one pwrite)."""
    if _worker_note >= 0:
        data = text.encode().ljust(_NOTE_BYTES)[:_NOTE_BYTES]
        os.pwrite(_worker_note, data, 0)


_NOTE_BYTES = 24


def _noted(tracking: str, pid: int) -> int | None:
    """Driver side: the item index a worker noted last (None: idle or nothing noted)."""
    try:
        with open(os.path.join(tracking, str(pid)), "rb") as handle:
            text = handle.read(_NOTE_BYTES).decode(errors="replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _refuse_if_stale(run: str) -> None:
    """Worker side, once per run: a module outside the Python installation whose file is newer
    than this worker's fork may be loaded here in its old version (the driver never imported
    it, so the driver cannot tell): refuse, and let the pool fork fresh workers."""
    global _worker_stale, _worker_checked_run
    if not _worker_stale and run and run != _worker_checked_run and _worker_forked_ns:
        _worker_checked_run = run
        edited = [n for n, (_, mtime) in user_modules().items() if mtime > _worker_forked_ns]
        _worker_stale = ", ".join(sorted(edited))
    if _worker_stale:
        raise StaleWorker(_worker_stale)


def process_shipped(
    shipped: bytes,
    run: str,
    index: int,
    item: WorkItem,
    metadata: dict[str, Any],
    retries: int,
    backoff: float,
) -> Outcome:
    """Worker side: check the worker's code is current (``run``: the run's id, empty for no
    check), unpack this run's processor (a fresh copy per chunk, as a plain pickle would give)
    and process item ``index`` of the run, noting it while it runs."""
    import pickle

    _refuse_if_stale(run)
    _note(str(index))
    try:
        return process_item(pickle.loads(shipped), item, metadata, retries, backoff)
    finally:
        _note("-")


def _exit_code(process: Any, timeout: float) -> int | None:
    """Driver side: the exit code of a worker process, or None if it still runs after
    ``timeout`` seconds.

    The executor's own thread reaps its workers as well.  When it has collected a worker's
    status from the kernel but not yet stored it (it waits for the interpreter lock, which
    this thread holds), ``Process.exitcode`` reads None although the process is gone; its
    sentinel tells the two apart, and the stored code follows within moments."""
    from multiprocessing.connection import wait

    try:
        ended = bool(wait([process.sentinel], timeout))
    except (OSError, ValueError):  # sentinel closed: the process was joined and closed
        ended = True
    code: int | None = process.exitcode
    give_up = time.monotonic() + 5.0
    while ended and code is None and time.monotonic() < give_up:
        time.sleep(0.001)  # lets the reaping thread store the status
        code = process.exitcode
    return code


class ProcessPool:
    """Local worker processes kept from one :func:`afkit.run` to the next.

    Args:
        workers: number of processes (default: one per core).

    Workers are forked at the first run (after the driver has loaded what they need) and
    again only when the user's code changed, a worker died, or :meth:`restart` is called.
    Use it as a context manager, or call :meth:`close`.
    """

    def __init__(self, workers: int | None = None) -> None:
        if workers is not None and (not isinstance(workers, int) or workers < 1):
            raise ConfigError(f"workers must be a positive integer, not {workers!r}")
        self.workers = workers or os.cpu_count() or 1
        self.starts = 0  # how many times workers were forked (each start forks all of them)
        self._executor: ProcessPoolExecutor | None = None
        self._single_use = False  # one run's own pool: no code to track between runs
        self._modules: dict[str, tuple[int, int]] = {}  # user code as the workers have it
        self._forked_ns = 0
        self._surroundings: tuple[str, int] = ("", 0)  # working directory, environment
        self._closed = False
        self._running = False  # a run is consuming outcomes
        self._tracking = ""  # directory of the workers' notes (see _note)

    def __enter__(self) -> ProcessPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        running = "running" if self._executor is not None else "not started"
        return f"ProcessPool(workers={self.workers}, {running}, starts={self.starts})"

    @property
    def pids(self) -> list[int]:
        """Process ids of the running workers (none before the first run)."""
        processes = getattr(self._executor, "_processes", None) or {}
        return sorted(processes)

    def close(self, *, wait: bool = True) -> None:
        """Stop the workers; the pool cannot run anything afterwards."""
        self._closed = True
        self._stop(wait=wait)

    def restart(self) -> None:
        """Fork fresh workers at the next run (after changes the pool cannot see)."""
        self._stop(wait=True)

    def _stop(self, *, wait: bool) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=wait, cancel_futures=True)
            self._executor = None
        if self._tracking:
            shutil.rmtree(self._tracking, ignore_errors=True)
            self._tracking = ""

    def _lost(self, items: list[WorkItem]) -> list[LostWorker]:
        """The workers of a broken pool that died by themselves (not stopped by the pool
        after the first death), each with the item it was running."""
        import signal

        processes = dict(getattr(self._executor, "_processes", None) or {})
        lost = []
        for pid, process in sorted(processes.items()):
            code = _exit_code(process, timeout=1.0)
            if code in (0, None, -signal.SIGTERM):  # alive, done, or ended by the pool itself
                continue
            index = _noted(self._tracking, pid)
            chunk = items[index].key if index is not None and index < len(items) else None
            lost.append(LostWorker(pid, code, chunk))
        return lost

    def _stale(self) -> bool:
        """Whether the workers' copy of the driver differs from the driver in what a run
        depends on: user code, the working directory (relative paths) or the environment."""
        if _surroundings() != self._surroundings:
            return True
        return bool(changed_since(self._modules, self._forked_ns))

    def _ready(self, processor: Any, items: list[WorkItem]) -> tuple[ProcessPoolExecutor, int]:
        """The running executor, forked anew if there is none or the user's code changed;
        with the number of workers forked for this call."""
        if self._closed:
            raise ConfigError("this ProcessPool is closed")
        if self._executor is not None and not self._stale():
            return self._executor, 0
        self._stop(wait=False)
        warm_parent(processor, items)
        modules, forked_ns = ({} if self._single_use else user_modules()), time.time_ns()
        self._tracking = tempfile.mkdtemp(prefix="afkit-workers-")
        self._surroundings = _surroundings()
        # Forked workers share the driver's memory pages until written.  The cycle collector
        # writes to every object it visits, so its first full pass in each worker would copy
        # the whole driver heap (Numba and LLVM included); frozen objects are not visited.
        freeze = forks()
        if freeze:
            gc.freeze()  # (no collection first: a full pass costs ~0.1 s with Numba loaded)
        try:
            executor = ProcessPoolExecutor(
                self.workers,
                initializer=_worker_init,
                initargs=(0 if self._single_use else forked_ns, self._tracking),
            )
            executor.submit(int)  # forking workers start at the first submission: now, frozen
        finally:
            if freeze:
                gc.unfreeze()
        self._executor, self._modules, self._forked_ns = executor, modules, forked_ns
        self.starts += 1
        return executor, self.workers

    def outcomes(
        self,
        processor: Any,
        items: list[WorkItem],
        metadata: dict[str, dict[str, Any]],
        retries: int,
        backoff: float,
        report: RunReport | None = None,
    ) -> Iterator[tuple[int, Outcome]]:
        """Process ``items`` (largest first); yield ``(index, outcome)`` as they finish.

        Items of workers that died are resubmitted to fresh workers, up to
        :data:`MAX_RESTARTS` times; ``report`` (if given) counts the workers forked and lists
        the workers lost and the items run again.  When the caller stops early (a failed
        chunk), items not started are cancelled.  One run at a time: a second run while one
        is in progress is a :class:`ConfigError`.
        """
        if self._running:
            raise ConfigError("this ProcessPool is running another afkit.run; one at a time")
        self._running = True
        try:
            shipped = _ship(processor)
            todo = largest_first(items)
            restarts = 0
            run = uuid.uuid4().hex  # workers check their code once per run
            while todo:
                executor, forked = self._ready(processor, [items[i] for i in todo])
                if report is not None:
                    report.workers_started += forked
                calls = {
                    i: (shipped, run, i, items[i], metadata[items[i].sample], retries, backoff)
                    for i in todo
                }
                finished: set[int] = set()
                ending = yield from _collect(executor, calls, finished)
                if ending == "done":
                    return
                dead = self._lost(items) if ending == "broken" else []
                self._stop(wait=False)
                lost = [i for i in todo if i not in finished]
                if ending == "stale":
                    todo, run = lost, ""  # fresh workers; once (a file dated ahead never passes)
                    continue
                if report is not None:
                    report.lost_workers.extend(dead)
                    why = "its worker process died" if len(dead) == 1 else "worker processes died"
                    report.retried.extend(
                        RetriedChunk(items[i].sample, items[i].key, f"rerun: {why}") for i in lost
                    )
                restarts += 1
                if restarts > MAX_RESTARTS:
                    raise AfkitError(
                        f"worker processes died {restarts} times in this run; "
                        f"{len(lost)} chunk(s) not processed, first: {items[lost[0]].key}"
                    )
                todo = lost
        finally:
            self._running = False


def _collect(
    executor: ProcessPoolExecutor,
    calls: dict[int, tuple[Any, ...]],
    finished: set[int],
) -> Generator[tuple[int, Outcome], None, str]:
    """Submit ``process_shipped(*args)`` for each item of ``calls`` (in their order); yield
    ``(item, outcome)`` as they finish, adding each item to ``finished``.  Returns how it ended:
    ``done``, ``broken`` (a worker died) or ``stale`` (a worker's code is out of date).  Items
    not started when it ends, or when the caller stops early, are cancelled."""
    futures: dict[Future[Outcome], int] = {}
    try:
        for i, args in calls.items():
            futures[executor.submit(process_shipped, *args)] = i
        for future in as_completed(futures):
            try:
                outcome = future.result()
            except BrokenProcessPool:
                return "broken"
            except StaleWorker:
                return "stale"
            finished.add(futures[future])
            yield futures[future], outcome
    except BrokenProcessPool:  # raised by submit once the pool is broken (nothing yielded)
        return "broken"
    finally:
        for future in futures:
            future.cancel()  # a no-op for items done or running
    return "done"


def local_outcomes(
    processor: Any,
    items: list[WorkItem],
    metadata: dict[str, dict[str, Any]],
    *,
    pool: ProcessPool | None,
    workers: int | None,
    pooled: bool,
    retries: int,
    backoff: float,
    report: RunReport | None = None,
) -> Iterator[tuple[int, Outcome]]:
    """The outcomes of a local run: in this process (``iterative``, or a single item), in the
    given :class:`ProcessPool`, or in one made for this run and stopped after it."""
    if pool is not None:
        yield from pool.outcomes(processor, items, metadata, retries, backoff, report)
        return
    if not pooled or len(items) <= 1:
        for i, item in enumerate(items):
            yield i, process_item(processor, item, metadata[item.sample], retries, backoff)
        return
    own = ProcessPool(workers)
    own._single_use = True
    try:
        yield from own.outcomes(processor, items, metadata, retries, backoff, report)
    finally:
        # Every result is in (or the run failed): items not started are dropped, and the
        # workers are left to exit on their own — the pool's thread reaps them — instead of
        # the caller waiting ~10 ms for it (or, failing fast, for the whole queue).
        own.close(wait=False)
