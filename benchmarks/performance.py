"""Benchmark: the goals of the performance issue, each a ratio of two figures measured side by
side in the same run, so that a verdict holds on any machine (absolute times do not).

  G1  addblobs of 10,000 x 1 KiB (zstd + key), bare: <= 0.25 x git fast-import of the raw blobs
  G2  addblob at 1,000,000 blobs: <= 1.2 x at 1,000 blobs, and <= 0.25 x a git add + git commit
      loop; in a working tree at 100,000 blobs: <= 1 x git add + git commit in that repository
  G3  getblobs of one hour (60 blobs) at 1,000,000 blobs: <= 1.2 x at 1,000 blobs
  G4  reading every blob of a 10,000-blob store: <= 1.2 x git cat-file --batch (blobs,
      folders); encrypted (zstd + key): <= 1.5 x the same
  G5  addblob of a 256 MiB blob: peak memory growth <= 3 x the blob's size
  G6  addblobs of 100,000 blobs: time per blob <= 1.25 x at 10,000 blobs; memory bounded:
      blob contents are never held (peak growth with 16 KiB blobs <= 1.2 x with 1 KiB blobs)
      and what is held per blob does not grow with the batch (<= 1.2 x at 10,000 blobs);
      addblobs of 1,000,000 blobs (the store G2 and G3 use, its build time stated; built by
      the default backend, copied for the others): time per blob <= 1.2 x at 10,000 blobs,
      peak memory growth <= 200 MiB
  G7  ls (listblobs) of a store holding one 1 GiB blob: peak memory growth <= 32 MiB
  G8  a 1 GiB blob streamed (zstd + key): file to store (gitblobts add FILE, and
      Store.addblob(file)) and store to file (gitblobts get --output, and blob.open()),
      each: peak memory growth <= 64 MiB (this process's, or a git process's it runs), and
      the file read back equal to the original
  G9  over git:// (a git daemon on loopback), 10,000 x 1 KiB new blobs (one addblobs batch,
      zstd + key): Store.push() <= 1.5 x git push of the same commit to an empty remote, and
      Store.pull() into an empty clone <= 1.5 x git fetch of them with the fast-forward of
      the branch (git fetch origin main:main) into another
  G10 the git backend in a 10,000-blob store (zstd + key) opened by both backends, taking
      turns: addblob <= 2 x the default backend's, one-hour getblobs <= 1.5 x; its read-all
      is G4's plain git row (<= 2 x cat-file); G10's rows and that one decide whatever the default

The default backend's rows decide the summary; the other backend's rows are printed beside
them, and gitblobts 0.0.7 (the seed's package, installed from PyPI into its own virtual
environment) is measured against gitblobts now on the seed's own workloads. docs/performance.md
says how each figure is measured.

Run: python benchmarks/performance.py [--sizes 1000,10000,100000,1000000] [--backends dulwich,git]
[--big-mib 256] [--listed-mib 1024] [--streamed-mib 1024] [--layout NAME] [--quick]
[--no-legacy] [--plot PATH] [--markdown PATH].
Progress goes to standard error; the machine, the table and the summary to standard output.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import hashlib
import io
import json
import multiprocessing
import os
import platform
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from functools import cache, partial
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import gitblobts
from gitblobts import BlobInfo, Nanoseconds, Store, generate_key, load_plugins
from gitblobts.cli.main import main as gitblobts_command
from gitblobts.core.layout import Layout
from gitblobts.core.settings import DEFAULT_LAYOUT
from gitblobts.core.store import BACKEND_ENV, DEFAULT_BACKEND

KIB = 1024
BIG_BLOB = 16 * KIB
"""G6's larger blobs: the memory held must not grow with blob size."""
MIB = 1 << 20
LISTING_LIMIT = 32 * MIB
"""G7: the most a listing's peak memory may grow, whatever the size of the blobs listed."""
STREAMING_LIMIT = 64 * MIB
"""G8: the most adding or reading back a blob may grow peak memory, whatever its size."""
HUGE_GROWTH_LIMIT = 200 * MIB
"""G6: the most addblobs of the huge batch (1,000,000 blobs) may grow peak memory."""
MINUTE = 60 * 10**9
WINDOW = 60
"""Blobs in a one-hour window: the stores hold one blob a minute."""
HERE = Path(__file__).resolve().parent
LEGACY_VERSION = "0.0.7"
LEGACY_DRIVER = HERE / "legacy_0_0_7.py"
RESULTS_START = "<!-- results:start -->"
RESULTS_END = "<!-- results:end -->"
GOALS = ("G1", "G2", "G3", "G4", "G5", "G6", "G7", "G8", "G9", "G10", LEGACY_VERSION)
GIT_BACKEND = "git"
"""G10 measures this backend against the default one: its goals count whatever the default."""
STARTED = time.perf_counter()
LAYOUT_ENV = "GITBLOBTS_BENCHMARK_LAYOUT"
"""The layout of the stores the benchmark makes (``--layout``; unset: the default), in the
environment so that spawned children see it too."""


@dataclass(frozen=True)
class Plan:
    """What to measure, and how many samples to take."""

    sizes: tuple[int, ...]
    """Blobs in the small, medium, large and huge stores (1,000, 10,000, 100,000,
    1,000,000); with three sizes, the large store is the huge one too."""
    backends: tuple[str, ...]
    big: int
    """Bytes of G5's blob."""
    listed: int = 1 << 30
    """Bytes of G7's blob."""
    streamed: int = 1 << 30
    """Bytes of G8's blob."""
    legacy: bool = True
    rounds: int = 3
    """G1: alternating rounds of addblobs and git fast-import."""
    adds: int = 50
    """G2: addblob samples in each bare store."""
    queries: int = 20
    """G3: one-hour getblobs samples in each bare store."""
    loop_adds: int = 30
    """G2: samples of git add + git commit in a working tree of ``sizes[0]`` files."""
    tree_adds: int = 30
    """G2: addblob samples in the working tree of ``sizes[2]`` blobs..."""
    tree_budget: float = 45.0
    """...or as many as fit in this many seconds (never fewer than five)."""
    tree_anchor_adds: int = 10
    reads: int = 3
    """G4: reads of the whole store, and of git cat-file --batch."""
    legacy_pushes: int = 5

    def quick(self) -> Plan:
        """The same plan with fewer samples of everything: a smoke run."""
        return replace(
            self, rounds=1, adds=10, queries=5, loop_adds=10, tree_adds=10, tree_anchor_adds=3,
            reads=1, legacy_pushes=3,
        )  # fmt: skip

    @property
    def small(self) -> int:
        return self.sizes[0]

    @property
    def medium(self) -> int:
        return self.sizes[1]

    @property
    def large(self) -> int:
        return self.sizes[2]

    @property
    def huge(self) -> int:
        """The largest store: G6 builds it, G2 and G3 measure latency in it."""
        return self.sizes[-1]


@dataclass
class Bench:
    """One run: its plan, its scratch folder, and what every workload shares."""

    plan: Plan
    root: Path
    now_ns: int = field(default_factory=time.time_ns)
    """The newest blob's time in every store; the others go back one a minute."""
    key: str = field(default_factory=lambda: generate_key().decode())
    notes: list[str] = field(default_factory=list)
    """Skipped measurements and warnings, printed after the table."""
    huge_store: Path | None = None
    """The huge store the default backend's G6 built, for the other backends to copy."""


@dataclass(frozen=True)
class Row:
    """One line of the table: a goal (or an informational figure) for one backend."""

    goal: str
    backend: str
    workload: str
    ours: str
    anchor: str
    ratio: float | None = None
    limit: float | None = None
    """The goal: ``ratio <= limit``. ``None``: an informational row."""
    remark: str = "info"
    """The verdict of an informational row."""
    failed: bool = False
    decides: bool = False
    """A goal of its backend whichever backend is the default (G10's, of the git backend)."""

    @property
    def counts(self) -> bool:
        """A goal of the default backend, or one that decides for its own: the summary
        counts it."""
        goal = self.goal != LEGACY_VERSION and (self.limit is not None or self.failed)
        return goal and (self.backend == DEFAULT_BACKEND or self.decides)

    @property
    def met(self) -> bool:
        return self.ratio is not None and self.limit is not None and self.ratio <= self.limit

    @property
    def verdict(self) -> str:
        if self.failed:
            return "ERROR"
        if self.limit is None:
            return self.remark
        verdict = "MET" if self.met else "NOT MET"
        return verdict if self.counts else f"({verdict})"

    def cells(self) -> tuple[str, ...]:
        ratio = "—" if self.ratio is None else f"{self.ratio:.2f}"
        target = "—" if self.limit is None else f"≤ {self.limit:g}"
        return (
            self.goal,
            self.backend,
            self.workload,
            self.ours,
            self.anchor,
            ratio,
            target,
            self.verdict,
        )


COLUMNS = ("goal", "backend", "workload", "gitblobts", "anchor", "ratio", "target", "verdict")


def timing(
    goal: str, backend: str, workload: str, ours: float, anchor: float, limit: float | None = None
) -> Row:
    """A row comparing two times (seconds): their ratio, against ``limit`` if it is a goal."""
    return Row(goal, backend, workload, duration(ours), duration(anchor), ours / anchor, limit)


class Unavailable(Exception):
    """A measurement that cannot be made here; the message says why."""


# Helpers


def progress(message: str) -> None:
    print(f"[{time.perf_counter() - STARTED:7.1f} s] {message}", file=sys.stderr, flush=True)


def git(*args: str, input: bytes | None = None) -> bytes:
    """Run the git command; return its standard output; raise with its message on failure."""
    result = subprocess.run(["git", *args], input=input, capture_output=True, check=False)
    if result.returncode != 0:
        message = result.stderr.decode(errors="replace").strip()
        raise RuntimeError(f"git {' '.join(args[:3])} failed: {message}")
    return result.stdout


def new_bare(path: Path) -> Path:
    git("init", "-q", "--bare", "-b", "main", str(path))
    return path


def open_store(path: Path, backend: str, key: str | None, compression: str = "zstd") -> Store:
    layout = os.environ.get(LAYOUT_ENV) or None
    return Store(path, compression=compression, key=key, backend=backend, layout=layout, push=False)


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def sample(action: Callable[[], object], count: int, budget: float = float("inf")) -> list[float]:
    """Time ``action`` ``count`` times, or fewer (five at least) once ``budget`` s are spent."""
    times: list[float] = []
    while len(times) < count and (len(times) < 5 or sum(times) < budget):
        times.append(timed(action))
    return times


def blob_times(now_ns: int, count: int) -> list[Nanoseconds]:
    return list(lazy_times(now_ns, count))


def lazy_times(now_ns: int, count: int) -> Iterator[Nanoseconds]:
    """One time a minute, going back from ``now_ns``."""
    return (Nanoseconds(now_ns - i * MINUTE) for i in range(count))


def hour_window(now_ns: int, count: int) -> tuple[Nanoseconds, Nanoseconds]:
    """The middle hour of a store of ``count`` blobs (both ends inclusive: 60 blobs), away
    from the blobs that addblob adds at the current time."""
    newest = count // 2 - WINDOW // 2
    return Nanoseconds(now_ns - (newest + WINDOW - 1) * MINUTE), Nanoseconds(
        now_ns - newest * MINUTE
    )


def query_hour(store: Store, window: tuple[Nanoseconds, Nanoseconds]) -> None:
    found = sum(1 for _ in store.getblobs(*window))
    if found != WINDOW:
        raise RuntimeError(f"{store.path}: the one-hour window holds {found} blobs, not {WINDOW}")


def blob_path(ns: int) -> str:
    """A path like gitblobts', in the folder of the layout the benchmark's stores use
    (``YYYY/MM/DD/HH/MMSS/<time>Z_<random>.v2`` in ``20-second``), for the git anchors."""
    moment = datetime.fromtimestamp(ns // 10**9, tz=timezone.utc)
    name = f"{moment:%Y%m%dT%H%M%S}.{ns % 10**9:09d}Z_{os.urandom(13).hex()}.v2"
    return anchor_layout().path(ns, name)


@cache
def anchor_layout() -> Layout:
    """The layout of the benchmark's stores (``--layout``, else the default for new ones)."""
    name = os.environ.get(LAYOUT_ENV) or DEFAULT_LAYOUT
    return load_plugins(only=()).layouts.get(name)()


def fast_import_stream(payload: Sequence[bytes], times: Sequence[int]) -> bytes:
    """A ``git fast-import`` stream committing ``payload`` to ``refs/heads/main`` in one
    commit, each blob at the path the stores' layout gives its time (:func:`blob_path`)."""
    parts: list[bytes] = []
    for mark, blob in enumerate(payload, 1):
        parts += [b"blob\nmark :%d\ndata %d\n" % (mark, len(blob)), blob, b"\n"]
    message = b"add %d blobs\n" % len(payload)
    parts.append(
        b"commit refs/heads/main\ncommitter benchmark <benchmark@example.com> %d +0000\n"
        b"data %d\n%s" % (time.time(), len(message), message)
    )
    parts += [b"M 100644 :%d %s\n" % (m, blob_path(ns).encode()) for m, ns in enumerate(times, 1)]
    parts.append(b"\n")
    return b"".join(parts)


def blob_ids(repository: Path) -> bytes:
    """The ids of every stored blob at HEAD (not ``.gitblobts.json``) and of the folders
    holding them, one a line: the objects a read of every blob walks."""
    ids = []
    for line in git("-C", str(repository), "ls-tree", "-r", "-t", "HEAD").splitlines():
        info, path = line.split(b"\t", 1)
        _, kind, oid = info.split()
        if kind in (b"blob", b"tree") and path != b".gitblobts.json":
            ids.append(oid)
    return b"\n".join(ids) + b"\n"


def git_add_commit(work: Path) -> float:
    """Seconds to write a new 1 KiB file in the current hour's folder, ``git add`` it and
    ``git commit -q``: the do-it-yourself way to add a blob."""
    relative = blob_path(time.time_ns())
    data = os.urandom(KIB)

    def add() -> None:
        target = work / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        git("-C", str(work), "add", relative)
        git("-C", str(work), "commit", "-q", "-m", f"add {relative}")

    return timed(add)


def duration(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.0f} µs"


def mebibytes(count: float) -> str:
    return f"{count / MIB:.1f} MiB"


# Memory, measured in a fresh child process


def peak_rss() -> int:
    """Bytes: the high-water mark of this process's resident memory.

    On Linux it is the kernel's ``VmHWM``, which :func:`reset_peak` restarts. ``ru_maxrss`` is
    the fallback elsewhere; on Linux it would count the parent's pages too, which a child
    inherits through fork before it execs Python, so a child of a large parent would start
    with the parent's peak."""
    with contextlib.suppress(OSError), open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * KIB
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return maxrss if sys.platform == "darwin" else maxrss * KIB


def reset_peak() -> int:
    """Restart the high-water mark from the current resident size (Linux 4.0+; elsewhere the
    peak so far stands); return it: the baseline of a measurement."""
    gc.collect()
    with contextlib.suppress(OSError), open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")
    return peak_rss()


def in_child(function: Callable[..., dict[str, float]], *args: object) -> dict[str, float]:
    """Run ``function(*args)`` in a fresh Python process (spawned, not forked), so that its
    memory is its own."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        result: dict[str, float] = pool.apply(function, args)
    return result


def big_blob_child(repository: str, backend: str, key: str, size: int) -> dict[str, float]:
    """G5, in a child: peak memory growth of ``addblob`` of ``size`` random bytes."""
    with open_store(Path(repository), backend, key) as store:
        baseline = reset_peak()
        blob = os.urandom(size)
        seconds = timed(lambda: store.addblob(blob))
        growth = peak_rss() - baseline
    return {"seconds": seconds, "growth": growth}


def listed_blob_child(repository: str, backend: str, size: int) -> dict[str, float]:
    """G7, in a child: a store holding one blob of ``size`` random bytes (stored as they are:
    no codec, no key)."""
    with open_store(Path(repository), backend, None, "none") as store:
        store.addblob(os.urandom(size))
    return {}


def listing_child(repository: str, backend: str) -> dict[str, float]:
    """G7, in a child: peak memory growth of listing the store (``gitblobts ls`` is a loop
    over ``listblobs``)."""
    with open_store(Path(repository), backend, None, "none") as store:
        baseline = reset_peak()
        infos: list[BlobInfo] = []
        seconds = timed(lambda: infos.extend(store.listblobs()))
        growth = peak_rss() - baseline
    (info,) = infos
    return {"seconds": seconds, "growth": growth, "size": info.stored_size}


class GitProcesses:
    """The largest peak resident memory (``VmHWM``) reached by the processes this one started
    (the git backend's git processes), sampled every 20 ms while in use as a context manager:
    they are not part of this process's figure. A process that lives less than 20 ms may be
    missed; this is for information (Linux only, else 0)."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> GitProcesses:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            for pid in descendants(os.getpid()):
                self.peak = max(self.peak, high_water_mark(pid))


def descendants(parent: int) -> set[int]:
    """The processes below ``parent``, from ``/proc/*/stat``."""
    children: dict[int, list[int]] = {}
    with contextlib.suppress(OSError):
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                with contextlib.suppress(OSError, ValueError, IndexError):
                    with open(f"/proc/{entry.name}/stat", "rb") as stat:
                        ppid = int(stat.read().rpartition(b")")[2].split()[1])
                    children.setdefault(ppid, []).append(int(entry.name))
    found: set[int] = set()
    waiting = [parent]
    while waiting:
        for child in children.get(waiting.pop(), []):
            if child not in found:
                found.add(child)
                waiting.append(child)
    return found


def high_water_mark(pid: int) -> int:
    """Bytes: the process's ``VmHWM``, or 0 if it is gone."""
    with contextlib.suppress(OSError, ValueError), open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * KIB
    return 0


def streamed_add_child(
    repository: str, backend: str, key_file: str, path: str, command: bool
) -> dict[str, float]:
    """G8, in a child: peak memory growth of adding the file at ``path`` (zstd + key): with
    the command (``gitblobts add FILE``, run by its entry point in this process), or with
    ``Store.addblob(open(path, "rb"))``."""
    key = Path(key_file).read_text().strip()
    with open_store(Path(repository), backend, key) as store, GitProcesses() as git:
        baseline = reset_peak()  # after imports, with the store opened (as the command opens it)
        if command:
            argv = ["-C", repository, "add", "--key-file", key_file, "--no-push", path]
            seconds = timed(lambda: run_command(argv, backend))
        else:
            with open(path, "rb") as file:
                seconds = timed(lambda: store.addblob(file))
        growth = peak_rss() - baseline
    return {"seconds": seconds, "growth": growth, "git": git.peak}


def streamed_read_child(
    repository: str, backend: str, key_file: str, out: str, command: bool
) -> dict[str, float]:
    """G8, in a child: peak memory growth of reading the store's one blob back to a file in
    the folder ``out``: with the command (``gitblobts get --output out``), or by copying
    ``blob.open()`` to a file, 1 MiB at a time."""
    key = Path(key_file).read_text().strip()
    with open_store(Path(repository), backend, key) as store, GitProcesses() as git:
        baseline = reset_peak()
        if command:
            argv = ["-C", repository, "get", "--key-file", key_file, "--output", out]
            seconds = timed(lambda: run_command(argv, backend))
        else:

            def copy() -> None:
                os.makedirs(out)
                (blob,) = store.getblobs()
                with blob.open() as source, open(Path(out) / "blob", "wb") as target:
                    shutil.copyfileobj(source, target, MIB)

            seconds = timed(copy)
        growth = peak_rss() - baseline
    return {"seconds": seconds, "growth": growth, "git": git.peak}


def run_command(argv: list[str], backend: str) -> None:
    """Run ``gitblobts argv`` in this process with ``backend`` (the command takes it from
    the environment), what it prints kept apart; fail, with what it said, unless it
    succeeds."""
    said = io.StringIO()
    os.environ[BACKEND_ENV] = backend  # a child of its own: nothing else sees it
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(said):
        status = gitblobts_command(argv)
    if status != 0:
        raise RuntimeError(f"gitblobts {argv[2]} failed: {said.getvalue().strip()}")


def ingest_child(
    repository: str, backend: str, key: str, now_ns: int, count: int, size: int = KIB
) -> dict[str, float]:
    """G6, in a child: time and peak memory growth of ``addblobs`` of ``count`` blobs of
    ``size`` bytes from a generator (the caller holds none of them)."""
    with open_store(Path(repository), backend, key) as store:
        baseline = reset_peak()
        blobs = (os.urandom(size) for _ in range(count))
        seconds = timed(lambda: store.addblobs(blobs, lazy_times(now_ns, count)))
        growth = peak_rss() - baseline
    return {"seconds": seconds, "growth": growth}


# The goals, for one backend


def ingest_goals(bench: Bench, backend: str, folder: Path, stores: dict[int, Path]) -> list[Row]:
    """G6: addblobs from a generator in fresh child processes; the stores it makes serve G2
    and G3. The huge store is built by the default backend (its time per blob and peak
    memory are goals) and copied for the others."""
    plan = bench.plan
    figures: dict[int, dict[str, float]] = {}
    for count in (plan.medium, plan.large):
        progress(f"G6 {backend}: addblobs of {count:,} blobs in a child process")
        repository = new_bare(folder / f"ingest-{count}")
        figures[count] = in_child(
            ingest_child, str(repository), backend, bench.key, bench.now_ns, count
        )
        stores.setdefault(count, repository)
    progress(f"G6 {backend}: addblobs of {plan.medium:,} blobs of {BIG_BLOB // KIB} KiB")
    big = in_child(
        ingest_child,
        str(new_bare(folder / f"ingest-{plan.medium}-big")),
        backend,
        bench.key,
        bench.now_ns,
        plan.medium,
        BIG_BLOB,
    )
    medium, large = figures[plan.medium], figures[plan.large]
    per_blob = {n: figures[n]["seconds"] / n for n in figures}

    def growth(figure: dict[str, float], n: int) -> str:
        return f"{mebibytes(figure['growth'])} ({figure['growth'] / n:,.0f} B/blob)"

    throughput = (
        f"addblobs of {plan.large:,} vs {plan.medium:,} blobs from a generator: time per blob"
    )
    rows = [
        timing("G6", backend, throughput, per_blob[plan.large], per_blob[plan.medium], 1.25),
        Row(
            "G6",
            backend,
            f"addblobs of {plan.medium:,} blobs: peak RSS growth, {BIG_BLOB // KIB} KiB vs "
            "1 KiB blobs (contents are not held)",
            growth(big, plan.medium),
            growth(medium, plan.medium),
            big["growth"] / medium["growth"],
            1.2,
        ),
        Row(
            "G6",
            backend,
            f"addblobs: peak RSS growth per blob, {plan.large:,} vs {plan.medium:,} blobs "
            "(what is held per blob does not grow)",
            growth(large, plan.large),
            growth(medium, plan.medium),
            (large["growth"] / plan.large) / (medium["growth"] / plan.medium),
            1.2,
        ),
    ]
    if plan.huge > plan.large:
        rows += huge_store(bench, backend, folder, stores, per_blob[plan.medium])
    return rows


def huge_store(
    bench: Bench, backend: str, folder: Path, stores: dict[int, Path], medium_per_blob: float
) -> list[Row]:
    """G6 at the huge size: addblobs of ``huge`` blobs from a generator in a child, its time
    per blob against the medium batch's and its peak memory growth against
    :data:`HUGE_GROWTH_LIMIT`; a backend other than the default copies the default's store
    instead (the git backend's build would take minutes more, and measures nothing new)."""
    plan = bench.plan
    repository = folder / f"ingest-{plan.huge}"
    if backend == DEFAULT_BACKEND:  # kept to the end of the run, for the others to copy
        repository = bench.root / f"{backend}-ingest-{plan.huge}"
    elif bench.huge_store is not None:
        progress(f"G6 {backend}: copying the {DEFAULT_BACKEND} backend's {plan.huge:,}-blob store")
        shutil.copytree(bench.huge_store, repository, symlinks=True)
        stores[plan.huge] = repository
        return []
    progress(f"G6 {backend}: addblobs of {plan.huge:,} blobs in a child process (minutes)")
    new_bare(repository)
    figure = in_child(ingest_child, str(repository), backend, bench.key, bench.now_ns, plan.huge)
    stores[plan.huge] = repository
    if backend == DEFAULT_BACKEND:
        bench.huge_store = repository
    bench.notes.append(
        f"{backend}: the {plan.huge:,}-blob store was built by addblobs from a generator in "
        f"{duration(figure['seconds'])} ({figure['seconds'] / 60:.1f} minutes)"
    )
    per_blob = figure["seconds"] / plan.huge
    return [
        timing(
            "G6",
            backend,
            f"addblobs of {plan.huge:,} vs {plan.medium:,} blobs from a generator: time per blob",
            per_blob,
            medium_per_blob,
            1.2,
        ),
        Row(
            "G6",
            backend,
            f"addblobs of {plan.huge:,} blobs from a generator: peak RSS growth vs "
            f"{mebibytes(HUGE_GROWTH_LIMIT)}",
            f"{mebibytes(figure['growth'])} ({figure['growth'] / plan.huge:,.0f} B/blob)",
            mebibytes(HUGE_GROWTH_LIMIT),
            figure["growth"] / HUGE_GROWTH_LIMIT,
            1.0,
        ),
    ]


def batch_ingest_goal(
    bench: Bench, backend: str, folder: Path, stores: dict[int, Path]
) -> list[Row]:
    """G1: addblobs of the medium batch into a fresh bare repository, against git fast-import
    of the same raw blobs (the stream built beforehand), alternating, medians."""
    count = bench.plan.medium
    payload = [os.urandom(KIB) for _ in range(count)]
    times = blob_times(bench.now_ns, count)
    stream = fast_import_stream(payload, times)
    ours, theirs = [], []
    for round_ in range(bench.plan.rounds):
        progress(f"G1 {backend}: round {round_ + 1} of {bench.plan.rounds}")
        repository = new_bare(folder / f"batch-{round_}")
        with open_store(repository, backend, bench.key) as store:
            ours.append(timed(partial(store.addblobs, payload, times)))
        plain = new_bare(folder / f"fast-import-{round_}")
        theirs.append(timed(partial(git, "-C", str(plain), "fast-import", "--quiet", input=stream)))
        shutil.rmtree(plain)
    stores[count] = repository
    workload = f"addblobs of {count:,} × 1 KiB (zstd + key) vs git fast-import"
    return [
        timing("G1", backend, workload, statistics.median(ours), statistics.median(theirs), 0.25)
    ]


def read_everything(bench: Bench, backend: str, repository: Path, key: str | None) -> float:
    """Seconds to read every blob (``medium`` of 1 KiB) through a freshly opened store."""
    with Store(repository, key=key, backend=backend, push=False) as store:
        start = time.perf_counter()
        total = sum(len(blob.blob) for blob in store.getblobs())
        seconds = time.perf_counter() - start
    if total != bench.plan.medium * KIB:
        raise RuntimeError(
            f"{repository}: read {total:,} bytes of blobs, not {bench.plan.medium * KIB:,}"
        )
    return seconds


def reads(bench: Bench, backend: str, repository: Path, key: str | None) -> tuple[float, float]:
    """Median seconds to read every blob of the store, and for ``git cat-file --batch`` to
    read the same objects (their ids listed beforehand), alternating."""
    ids = blob_ids(repository)
    ours, theirs = [], []
    for _ in range(bench.plan.reads):
        ours.append(read_everything(bench, backend, repository, key))
        theirs.append(timed(partial(git, "-C", str(repository), "cat-file", "--batch", input=ids)))
    return statistics.median(ours), statistics.median(theirs)


def read_goal(bench: Bench, backend: str, folder: Path, stores: dict[int, Path]) -> list[Row]:
    """G4: every blob of a default store (zstd, no key), against git cat-file --batch of the
    same blobs and the folders (trees) holding them; and the same for the encrypted store of
    G1 (zstd + key)."""
    count = bench.plan.medium
    progress(f"G4 {backend}: reading every blob of {count:,}")
    repository = new_bare(folder / "default")
    layout = os.environ.get(LAYOUT_ENV) or None
    with Store(repository, backend=backend, layout=layout, push=False) as store:
        store.addblobs((os.urandom(KIB) for _ in range(count)), lazy_times(bench.now_ns, count))
    workload = f"read all {count:,} blobs (zstd) vs git cat-file --batch of them and their folders"
    plain = timing("G4", backend, workload, *reads(bench, backend, repository, None), 1.2)
    if backend == GIT_BACKEND:  # G10: the git backend's own read-all goal, which decides
        plain = replace(plain, limit=2.0, decides=True)
    rows = [plain]
    if count in stores:
        workload = f"read all {count:,} blobs (zstd + key) vs git cat-file --batch, the same"
        rows.append(
            timing("G4", backend, workload, *reads(bench, backend, stores[count], bench.key), 1.5)
        )
    return rows


def latencies(
    bench: Bench, backend: str, stores: dict[int, Path]
) -> dict[int, tuple[float, float]]:
    """Median seconds of addblob (at the current time) and of getblobs of the middle hour, by
    store size. The stores take turns, so that a change in the machine's load falls on every
    size alike; one add and one query each go first, untimed, to warm the caches."""
    plan = bench.plan
    with contextlib.ExitStack() as opened:
        sized = {n: opened.enter_context(open_store(stores[n], backend, bench.key)) for n in stores}
        windows = {n: hour_window(bench.now_ns, n) for n in sized}
        adds: dict[int, list[float]] = {n: [] for n in sized}
        queries: dict[int, list[float]] = {n: [] for n in sized}
        for n, store in sized.items():
            store.addblob(os.urandom(KIB))
            query_hour(store, windows[n])
        for _ in range(plan.adds):
            for n, store in sized.items():
                adds[n].append(timed(partial(store.addblob, os.urandom(KIB))))
        for _ in range(plan.queries):
            for n, store in sized.items():
                queries[n].append(timed(partial(query_hour, store, windows[n])))
    return {n: (statistics.median(adds[n]), statistics.median(queries[n])) for n in sorted(sized)}


def latency_goals(
    bench: Bench,
    backend: str,
    folder: Path,
    stores: dict[int, Path],
    loop: float,
    series: dict[int, tuple[float, float]],
) -> list[Row]:
    """G2 (bare) and G3: median addblob and one-hour getblobs latency in bare stores of every
    size (zstd + key); the figures at every size make the plot."""
    plan = bench.plan
    progress(f"G2 {backend}: building the {plan.small:,}-blob store")
    stores[plan.small] = new_bare(folder / f"store-{plan.small}")
    with open_store(stores[plan.small], backend, bench.key) as store:
        store.addblobs(
            [os.urandom(KIB) for _ in range(plan.small)], blob_times(bench.now_ns, plan.small)
        )
    listed = ", ".join(f"{n:,}" for n in sorted(stores))
    progress(f"G2 and G3 {backend}: addblob and getblobs at {listed} blobs, taking turns")
    series.update(latencies(bench, backend, stores))
    if plan.huge not in series:
        raise Unavailable(f"no {plan.huge:,}-blob store (G6 made none)")
    (add_small, query_small), (add_large, query_large) = series[plan.small], series[plan.huge]
    sizes = f"{plan.huge:,} vs {plan.small:,}"
    adds = f"addblob at {sizes} blobs (bare, median of {plan.adds})"
    diy = (
        f"addblob at {plan.huge:,} blobs (bare) vs git add + git commit "
        f"({plan.small:,} files, median of {plan.loop_adds})"
    )
    query = f"getblobs of one hour ({WINDOW} blobs) at {sizes} blobs"
    return [
        timing("G2", backend, adds, add_large, add_small, 1.2),
        timing("G2", backend, diy, add_large, loop, 0.25),
        timing("G3", backend, query, query_large, query_small, 1.2),
    ]


def working_tree(bench: Bench, stores: dict[int, Path]) -> Path:
    """A working tree of the large store with the store's branch checked out: a clone of the
    first backend's large store, with no remote; the later backends add to the same one
    (checking out and deleting 100,000 files takes long)."""
    work = bench.root / "working-tree"
    if not work.exists():
        if bench.plan.large not in stores:
            raise Unavailable(f"no {bench.plan.large:,}-blob store (G6 made none)")
        progress(f"G2: cloning the {bench.plan.large:,}-blob store into a working tree")
        git("clone", "-q", str(stores[bench.plan.large]), str(work))
        git("-C", str(work), "remote", "remove", "origin")
    return work


def working_tree_goal(bench: Bench, backend: str, stores: dict[int, Path]) -> list[Row]:
    """G2 in a working tree of the large store: addblob there against git add + git commit
    there; then git status must be clean."""
    plan = bench.plan
    work = working_tree(bench, stores)
    progress(f"G2 {backend}: addblob in the working tree")
    with open_store(work, backend, bench.key) as store:
        adds = sample(lambda: store.addblob(os.urandom(KIB)), plan.tree_adds, plan.tree_budget)
    status = git("-C", str(work), "status", "--porcelain").decode(errors="replace").splitlines()
    progress(f"G2 {backend}: git add + git commit in the working tree")
    theirs = statistics.median(git_add_commit(work) for _ in range(plan.tree_anchor_adds))
    workload = (
        f"addblob in a working tree at {plan.large:,} blobs vs git add + git commit there "
        f"(median of {len(adds)} / {plan.tree_anchor_adds})"
    )
    rows = [timing("G2", backend, workload, statistics.median(adds), theirs, 1.0)]
    if status:
        warning = f"git status is not clean after the adds in the working tree: {len(status)} lines"
        rows.append(Row("G2", backend, warning, "—", "—", remark="WARNING"))
        bench.notes.append(f"{backend}: {warning}, first: {status[0]!r}")
    return rows


def big_blob_goal(bench: Bench, backend: str, folder: Path) -> list[Row]:
    """G5: peak memory growth of one addblob of a big blob, in a fresh child process; the blob
    itself is counted (it is 1x)."""
    size = bench.plan.big
    progress(f"G5 {backend}: addblob of {size // MIB} MiB in a child process")
    repository = new_bare(folder / "big")
    figures = in_child(big_blob_child, str(repository), backend, bench.key, size)
    shutil.rmtree(repository)
    return [
        Row(
            "G5",
            backend,
            f"addblob of a {size // MIB} MiB blob: peak RSS growth / blob size "
            f"(took {duration(figures['seconds'])})",
            mebibytes(figures["growth"]),
            mebibytes(size),
            figures["growth"] / size,
            3.0,
        ),
    ]


def listing_goal(bench: Bench, backend: str, folder: Path) -> list[Row]:
    """G7: peak memory growth of listing a store holding one big blob, in a fresh child
    process; listing reads sizes from object headers, so the blob's size must not count."""
    size = bench.plan.listed
    progress(f"G7 {backend}: listblobs of a store holding a {size // MIB} MiB blob")
    repository = new_bare(folder / "listed")
    in_child(listed_blob_child, str(repository), backend, size)
    figures = in_child(listing_child, str(repository), backend)
    shutil.rmtree(repository)
    if figures["size"] != size:
        raise RuntimeError(f"listblobs gave a size of {figures['size']:.0f}, not {size}")
    return [
        Row(
            "G7",
            backend,
            f"ls of a store holding a {size // MIB} MiB blob: peak RSS growth / 32 MiB "
            f"(took {duration(figures['seconds'])})",
            mebibytes(figures["growth"]),
            mebibytes(LISTING_LIMIT),
            figures["growth"] / LISTING_LIMIT,
            1.0,
        ),
    ]


def random_file(path: Path, size: int) -> str:
    """Write ``size`` random bytes to ``path``, 1 MiB at a time; return their SHA-256."""
    digest = hashlib.sha256()
    with open(path, "wb") as file:
        for start in range(0, size, MIB):
            chunk = os.urandom(min(MIB, size - start))
            digest.update(chunk)
            file.write(chunk)
    return digest.hexdigest()


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(MIB):
            digest.update(chunk)
    return digest.hexdigest()


def streaming_goal(bench: Bench, backend: str, folder: Path) -> list[Row]:
    """G8: peak memory growth of adding a big file to a store and reading it back to a file,
    with the command and with the library, each in a fresh child process; what is read back
    must be the file, byte for byte (SHA-256)."""
    size = bench.plan.streamed
    progress(f"G8 {backend}: a {size // MIB} MiB blob, file to store and back, in child processes")
    free = shutil.disk_usage(folder).free
    if free < 4 * size:
        raise Unavailable(
            f"needs {mebibytes(4 * size)} free in {folder.parent} (the file, the store, the file "
            f"read back), has {mebibytes(free)}: set TMPDIR, or a smaller --streamed-mib"
        )
    key_file = bench.root / "key"
    if not key_file.exists():
        key_file.write_text(bench.key + "\n")
        key_file.chmod(0o600)
    original = folder / "streamed.bin"
    expected = random_file(original, size)
    rows: list[Row] = []
    try:
        for command, adding, reading in (
            (True, "gitblobts add FILE", "gitblobts get --output DIR"),
            (False, 'Store.addblob(open(FILE, "rb"))', "blob.open() copied to a file"),
        ):
            repository = new_bare(folder / "streamed")
            out = folder / "streamed-out"
            added = in_child(
                streamed_add_child, str(repository), backend, str(key_file), str(original), command
            )
            read = in_child(
                streamed_read_child, str(repository), backend, str(key_file), str(out), command
            )
            (written,) = out.iterdir()
            if file_hash(written) != expected:
                raise RuntimeError(f"{reading} did not give back the {adding} file byte for byte")
            shutil.rmtree(out)
            shutil.rmtree(repository)
            for workload, figures in ((adding, added), (reading, read)):
                # The git backend's git processes hold memory too: the larger figure counts.
                peak = max(figures["growth"], figures["git"])
                git = f"; git processes: {mebibytes(figures['git'])}" if figures["git"] else ""
                rows.append(
                    Row(
                        "G8",
                        backend,
                        f"{workload}, a {size // MIB} MiB blob (zstd + key): peak RSS growth "
                        f"/ 64 MiB (took {duration(figures['seconds'])}; this process: "
                        f"{mebibytes(figures['growth'])}{git})",
                        mebibytes(peak),
                        mebibytes(STREAMING_LIMIT),
                        peak / STREAMING_LIMIT,
                        1.0,
                    )
                )
    finally:
        original.unlink()
    return rows


def served_by_git_daemon(root: Path) -> tuple[subprocess.Popen[bytes], str]:
    """A ``git daemon`` serving (and accepting pushes to) the repositories under ``root`` on
    a free loopback port, once it accepts connections; and its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    daemon = subprocess.Popen(
        ["git", "daemon", "--reuseaddr", f"--base-path={root}", "--export-all",
         "--enable=receive-pack", "--listen=127.0.0.1", f"--port={port}", str(root)],
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return daemon, f"git://127.0.0.1:{port}"
        time.sleep(0.02)
    daemon.terminate()
    daemon.wait(timeout=10)
    raise Unavailable(f"git daemon did not start on port {port}")


def push_pull_goal(bench: Bench, backend: str, folder: Path) -> list[Row]:
    """G9: Store.push() of the medium batch over git:// to an empty remote, against git push
    of the same commit to another; then Store.pull() of it into an empty clone, against git
    fetch (with the branch's fast-forward) into another; alternating, at least three rounds,
    medians."""
    count = bench.plan.medium
    payload = [os.urandom(KIB) for _ in range(count)]
    times = blob_times(bench.now_ns, count)
    served = folder / "served"
    served.mkdir()
    daemon, base = served_by_git_daemon(served)
    pushes: tuple[list[float], list[float]] = ([], [])
    pulls: tuple[list[float], list[float]] = ([], [])
    try:
        for round_ in range(max(3, bench.plan.rounds)):
            progress(f"G9 {backend}: round {round_ + 1}")
            local = new_bare(folder / f"pushing-{round_}")
            with open_store(local, backend, bench.key) as store:
                store.addblobs(payload, times)
            clones = []
            for side in ("ours", "git"):
                new_bare(served / f"{side}-{round_}.git")
                url = f"{base}/{side}-{round_}.git"
                git("-C", str(local), "remote", "add", side, url)
                clone = new_bare(folder / f"pulling-{side}-{round_}")
                git("-C", str(clone), "remote", "add", "origin", url)
                clones.append(clone)
            with Store(local, key=bench.key, backend=backend, remote="ours", push=False) as store:
                pushes[0].append(timed(store.push))
            plain = ("-C", str(local), "push", "-q", "git", "main:refs/heads/main")
            pushes[1].append(timed(partial(git, *plain)))
            with open_store(clones[0], backend, bench.key) as store:
                pulls[0].append(timed(store.pull))
            fetch = ("-C", str(clones[1]), "fetch", "-q", "origin", "main:main")
            pulls[1].append(timed(partial(git, *fetch)))
            for path in (local, *clones):
                shutil.rmtree(path)
    finally:
        daemon.terminate()
        daemon.wait(timeout=10)
        shutil.rmtree(served, ignore_errors=True)
    blobs = f"{count:,} × 1 KiB (zstd + key) over git://"
    return [
        timing(
            "G9", backend, f"push of {blobs} vs git push",
            statistics.median(pushes[0]), statistics.median(pushes[1]), 1.5,
        ),
        timing(
            "G9", backend, f"pull of {blobs} vs git fetch origin main:main",
            statistics.median(pulls[0]), statistics.median(pulls[1]), 1.5,
        ),
    ]  # fmt: skip


def guarded(goal: str, backend: str, workload: Callable[[], list[Row]]) -> list[Row]:
    """The workload's rows, or one ERROR row: a failure is reported and the others still run."""
    try:
        return workload()
    except Exception as error:
        if not isinstance(error, Unavailable):
            traceback.print_exc()
        progress(f"{goal} {backend}: failed: {error}")
        return [Row(goal, backend, f"failed: {error}", "—", "—", failed=True)]


def measure_backend(
    bench: Bench, backend: str, loop: float
) -> tuple[list[Row], dict[int, tuple[float, float]]]:
    """Every goal for one backend; and (addblob, getblobs) seconds by store size, to plot."""
    folder = bench.root / backend
    folder.mkdir()
    stores: dict[int, Path] = {}
    series: dict[int, tuple[float, float]] = {}
    rows = guarded("G6", backend, lambda: ingest_goals(bench, backend, folder, stores))
    rows += guarded("G1", backend, lambda: batch_ingest_goal(bench, backend, folder, stores))
    rows += guarded("G4", backend, lambda: read_goal(bench, backend, folder, stores))
    rows += guarded(
        "G2", backend, lambda: latency_goals(bench, backend, folder, stores, loop, series)
    )
    rows += guarded("G2", backend, lambda: working_tree_goal(bench, backend, stores))
    rows += guarded("G5", backend, lambda: big_blob_goal(bench, backend, folder))
    rows += guarded("G7", backend, lambda: listing_goal(bench, backend, folder))
    rows += guarded("G8", backend, lambda: streaming_goal(bench, backend, folder))
    rows += guarded("G9", backend, lambda: push_pull_goal(bench, backend, folder))
    shutil.rmtree(folder, ignore_errors=True)
    return rows, series


def git_backend_goals(bench: Bench) -> list[Row]:
    """G10: the git backend against the default backend, in one bare store of ``medium``
    blobs (zstd + key) opened by both, taking turns: a single addblob, and a one-hour
    getblobs of the middle hour; medians, after one untimed round each."""
    plan = bench.plan
    folder = bench.root / "backends"
    folder.mkdir()
    repository = new_bare(folder / f"store-{plan.medium}")
    progress(f"G10: building the {plan.medium:,}-blob store, then {GIT_BACKEND} against "
             f"{DEFAULT_BACKEND}, taking turns")  # fmt: skip
    with open_store(repository, DEFAULT_BACKEND, bench.key) as store:
        store.addblobs(
            (os.urandom(KIB) for _ in range(plan.medium)), lazy_times(bench.now_ns, plan.medium)
        )
    window = hour_window(bench.now_ns, plan.medium)
    adds: dict[str, list[float]] = {DEFAULT_BACKEND: [], GIT_BACKEND: []}
    queries: dict[str, list[float]] = {DEFAULT_BACKEND: [], GIT_BACKEND: []}
    with contextlib.ExitStack() as opened:
        stores = {b: opened.enter_context(open_store(repository, b, bench.key)) for b in adds}
        for store in stores.values():
            store.addblob(os.urandom(KIB))
            query_hour(store, window)
        for _ in range(plan.adds):
            for backend, store in stores.items():
                adds[backend].append(timed(partial(store.addblob, os.urandom(KIB))))
        for _ in range(plan.queries):
            for backend, store in stores.items():
                queries[backend].append(timed(partial(query_hour, store, window)))
    shutil.rmtree(folder, ignore_errors=True)
    add, query = (
        {b: statistics.median(samples) for b, samples in figures.items()}
        for figures in (adds, queries)
    )
    against = f"vs the {DEFAULT_BACKEND} backend, same store ({plan.medium:,} blobs)"
    return [
        replace(
            timing(
                "G10",
                GIT_BACKEND,
                f"addblob {against}, median of {plan.adds}",
                add[GIT_BACKEND],
                add[DEFAULT_BACKEND],
                2.0,
            ),
            decides=True,
        ),
        replace(
            timing(
                "G10",
                GIT_BACKEND,
                f"getblobs of one hour ({WINDOW} blobs) {against}, median of {plan.queries}",
                query[GIT_BACKEND],
                query[DEFAULT_BACKEND],
                1.5,
            ),
            decides=True,
        ),
    ]


def git_loop_anchor(bench: Bench) -> float:
    """G2's anchor: median seconds of git add + git commit of one new file in a working tree
    holding ``sizes[0]`` files in ``YYYY/MM/DD/HH`` folders."""
    count = bench.plan.small
    progress(f"anchor: git add + git commit in a working tree of {count:,} files")
    work = bench.root / "git-loop"
    git("init", "-q", "-b", "main", str(work))
    stream = fast_import_stream(
        [os.urandom(KIB) for _ in range(count)], blob_times(bench.now_ns, count)
    )
    git("-C", str(work), "fast-import", "--quiet", input=stream)
    git("-C", str(work), "checkout", "-q", "-f", "main")
    loop = statistics.median(git_add_commit(work) for _ in range(bench.plan.loop_adds))
    shutil.rmtree(work)
    return loop


# The seed's package, gitblobts 0.0.7


def legacy_python() -> Path:
    """The Python of a virtual environment holding gitblobts 0.0.7 from PyPI, made once and
    kept in the user's cache folder."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    venv = cache / "gitblobts-benchmarks" / f"gitblobts-{LEGACY_VERSION}"
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    check = f"import importlib.metadata as m; assert m.version('gitblobts') == '{LEGACY_VERSION}'"
    # -I: isolated, so that a gitblobts checkout in the current folder is not what is found.
    if (
        python.exists()
        and not subprocess.run([python, "-I", "-c", check], capture_output=True).returncode
    ):
        return python
    progress(f"installing gitblobts {LEGACY_VERSION} from PyPI into {venv}")
    made = subprocess.run(
        [sys.executable, "-m", "venv", "--clear", str(venv)], capture_output=True, text=True
    )
    if made.returncode != 0:
        raise Unavailable(f"python -m venv {venv} failed: {last_line(made.stderr)}")
    try:
        installed = subprocess.run(
            [
                python,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--timeout",
                "15",
                "--retries",
                "1",
                f"gitblobts=={LEGACY_VERSION}",
            ],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise Unavailable("pip install took more than 10 minutes") from None
    if installed.returncode != 0:
        raise Unavailable(f"pip install gitblobts=={LEGACY_VERSION}: {last_line(installed.stderr)}")
    return python


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no message"


def seed_style_repository(folder: Path) -> Path:
    """A working tree cloned from a local bare remote with one commit pushed: what 0.0.7
    needs (it refuses bare repositories and repositories without a remote)."""
    remote = new_bare(folder / "remote.git")
    work = folder / "work"
    git("clone", "-q", str(remote), str(work))
    git("-C", str(work), "commit", "-q", "--allow-empty", "-m", "start")
    git("-C", str(work), "push", "-q", "-u", "origin", "main")
    return work


def seed_workloads(bench: Bench, backend: str, folder: Path) -> dict[str, float]:
    """The seed's workloads with gitblobts now, set up as legacy_0_0_7.py sets them up for
    0.0.7: addblobs with gzip and a key then one push, a one-hour getblobs, addblob + push."""
    count = bench.plan.small
    work = seed_style_repository(folder)
    with Store(work, compression="gzip", key=bench.key, backend=backend) as store:  # pushes
        payload = [os.urandom(KIB) for _ in range(count)]
        ingest = timed(lambda: store.addblobs(payload, blob_times(bench.now_ns, count)))
        window = hour_window(bench.now_ns, count)
        query = statistics.median(sample(lambda: query_hour(store, window), 5))
        push = statistics.median(
            sample(lambda: store.addblob(os.urandom(KIB)), bench.plan.legacy_pushes)
        )
    return {"addblobs": ingest, "query": query, "push": push}


def legacy_rows(bench: Bench) -> list[Row]:
    """gitblobts 0.0.7 against gitblobts now, on the seed's workloads: informational rows."""
    count = bench.plan.small
    python = legacy_python()
    folder = bench.root / "legacy"
    folder.mkdir()
    work = seed_style_repository(folder)
    progress(f"0.0.7: addblobs of {count:,}, a one-hour getblobs, addblob + push")
    run = subprocess.run(
        [
            python,
            "-I",
            LEGACY_DRIVER,
            work,
            str(bench.now_ns),
            str(count),
            str(bench.plan.legacy_pushes),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if run.returncode != 0:
        raise Unavailable(f"{LEGACY_DRIVER.name} failed: {last_line(run.stderr)}")
    theirs = json.loads(run.stdout)
    rows = []
    for backend in bench.plan.backends:
        progress(f"0.0.7 {backend}: the same workloads with gitblobts now")
        ours = seed_workloads(bench, backend, folder / backend)
        per_blob = {"addblobs": count}
        for name, workload in (
            ("addblobs", f"addblobs of {count:,} × 1 KiB, gzip + key, one commit + push"),
            ("query", f"getblobs of one hour ({WINDOW} blobs) in that store"),
            (
                "push",
                f"addblob + push to a local bare remote (median of {bench.plan.legacy_pushes})",
            ),
        ):
            mine, old = ours[name] / per_blob.get(name, 1), theirs[name] / per_blob.get(name, 1)
            unit = "/blob" if name in per_blob else ""
            faster = f"{old / mine:.1f}× faster" if mine <= old else f"{mine / old:.1f}× slower"
            rows.append(
                Row(
                    LEGACY_VERSION,
                    backend,
                    workload,
                    duration(mine) + unit,
                    f"0.0.7: {duration(old)}{unit}",
                    mine / old,
                    remark=faster,
                )
            )
    return rows


def legacy_section(bench: Bench) -> list[Row]:
    """:func:`legacy_rows`; when 0.0.7 cannot be had here (offline, no venv), a note instead."""
    try:
        return legacy_rows(bench)
    except Unavailable as error:
        progress(f"{LEGACY_VERSION} anchors skipped: {error}")
        bench.notes.append(f"{LEGACY_VERSION} anchors skipped: {error}")
        return []
    except Exception as error:
        traceback.print_exc()
        return [Row(LEGACY_VERSION, DEFAULT_BACKEND, f"failed: {error}", "—", "—", failed=True)]


# Report


def load_average() -> str:
    """The machine's 1-minute load average: other work running beside the benchmark."""
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except (AttributeError, OSError):
        return "unknown"


def describe_machine() -> list[tuple[str, str]]:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as info:
        models = [line.split(":", 1)[1].strip() for line in info if line.startswith("model name")]
        cpu = models[0] if models else cpu
    memory = "unknown"
    with contextlib.suppress(OSError, ValueError):
        memory = f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.1f} GiB"
    system = f"{platform.system()} {platform.release()}"
    with contextlib.suppress(OSError), open("/etc/os-release") as release:
        names = [
            line.split("=", 1)[1].strip().strip('"')
            for line in release
            if line.startswith("PRETTY_NAME=")
        ]
        system = f"{names[0]}, {system}" if names else system
    try:
        dulwich = version("dulwich")
    except PackageNotFoundError:
        dulwich = "not installed"
    try:
        commit = git("-C", str(HERE.parent), "rev-parse", "--short", "HEAD").decode().strip()
        if git("-C", str(HERE.parent), "status", "--porcelain", "--untracked-files=no").strip():
            commit += " with uncommitted changes"
    except (RuntimeError, OSError):
        commit = "not a git checkout"
    return [
        ("CPU", f"{cpu}, {os.cpu_count()} cores"),
        ("memory", memory),
        ("OS", system),
        ("Python", f"{platform.python_implementation()} {platform.python_version()}"),
        ("git", git("--version").decode().strip().removeprefix("git version ")),
        ("dulwich", dulwich),
        ("gitblobts", f"{gitblobts.__version__} ({commit})"),
        ("date", datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")),
    ]


def text_table(rows: Sequence[Row]) -> str:
    lines = [COLUMNS, *(row.cells() for row in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(COLUMNS))]
    text = [
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    ]
    text.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(text)


def markdown_table(rows: Sequence[Row]) -> str:
    lines = [COLUMNS, tuple("---" for _ in COLUMNS), *(row.cells() for row in rows)]
    return "\n".join(
        "| " + " | ".join(cell.replace("|", "\\|") for cell in line) + " |" for line in lines
    )


def summary(rows: Sequence[Row]) -> str:
    goals = [row for row in rows if row.counts]
    if not goals:
        return (
            f"no rows for the default backend ({DEFAULT_BACKEND}): every verdict is informational"
        )
    missed = [row for row in goals if not row.met]
    if not missed:
        return f"all goals met: {len(goals)} of {len(goals)} (default backend {DEFAULT_BACKEND})"
    names = ", ".join(dict.fromkeys(row.goal for row in missed))
    return (
        f"{len(goals) - len(missed)} of {len(goals)} goals met (default backend "
        f"{DEFAULT_BACKEND}); not met: {names}"
    )


def draw_plot(series: dict[str, dict[int, tuple[float, float]]], path: Path, title: str) -> None:
    """Two panels: median addblob and one-hour getblobs latency against store size, a line per
    backend. Raises Unavailable without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise Unavailable(
            f"matplotlib is not installed (pip install '.[bench]'): {error}"
        ) from None
    figure, axes = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    panels = (
        ("addblob (median, one commit)", 0),
        (f"getblobs of one hour ({WINDOW} blobs, median)", 1),
    )
    sizes = sorted({size for points in series.values() for size in points})
    for axis, (name, index) in zip(axes, panels, strict=True):
        for backend, points in series.items():
            counts = sorted(points)
            axis.plot(counts, [points[n][index] * 1e3 for n in counts], marker="o", label=backend)
        axis.set_xscale("log")
        axis.set_xticks(sizes, [f"{n:,}" for n in sizes])
        axis.minorticks_off()
        axis.set_ylim(bottom=0)
        axis.set_xlabel("blobs in the store (bare repository, zstd + key)")
        axis.set_ylabel("milliseconds")
        axis.set_title(name)
        axis.grid(alpha=0.3)
        axis.legend()
    figure.suptitle(title)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)


def results_markdown(
    machine: list[tuple[str, str]],
    rows: Sequence[Row],
    notes: Sequence[str],
    plot: str | None,
    elapsed: float,
) -> str:
    command = " ".join(["python benchmarks/performance.py", *sys.argv[1:]])
    parts = [
        RESULTS_START,
        "<!-- Written by benchmarks/performance.py; a run replaces it up to results:end -->",
        "",
        f"Output of `{command}`, which took {elapsed / 60:.1f} minutes.",
        "",
        *(f"- **{name}**: {value}" for name, value in machine),
        "",
        markdown_table(rows),
        "",
        f"**{summary(rows)}.**",
    ]
    if notes:
        parts += ["", *(f"- {note}" for note in notes)]
    if plot is not None:
        parts += ["", f"![addblob and one-hour getblobs latency against store size]({plot})"]
    return "\n".join([*parts, "", RESULTS_END])


def write_markdown(path: Path, results: str) -> None:
    """Replace the results between the markers of ``path``, keeping the prose around them; a
    file without markers gets them appended."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Performance\n"
    if RESULTS_START in text and RESULTS_END in text:
        head, rest = text.split(RESULTS_START, 1)
        text = head + results + rest.split(RESULTS_END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n## Results\n\n" + results + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


# Command line


def parse_plan(argv: Sequence[str] | None = None) -> tuple[Plan, argparse.Namespace]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes",
        help="small,medium,large[,huge] store sizes (1000,10000,100000,1000000); "
        "with three, the large store is the one G2 and G3 measure at",
    )
    parser.add_argument("--backends", default="dulwich,git", help="comma-separated (dulwich,git)")
    parser.add_argument("--big-mib", type=int, help="G5's blob in MiB (256)")
    parser.add_argument("--listed-mib", type=int, help="G7's blob in MiB (1024)")
    parser.add_argument("--streamed-mib", type=int, help="G8's blob in MiB (1024)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smoke run: sizes 200,1000,5000, a 16 MiB blob (G7, G8: 64 MiB), fewer samples",
    )
    parser.add_argument("--layout", help="layout of the stores made (the default for new stores)")
    parser.add_argument("--no-legacy", action="store_true", help="skip the gitblobts 0.0.7 anchors")
    parser.add_argument("--plot", type=Path, default=HERE.parent / "docs" / "performance.png")
    parser.add_argument("--markdown", type=Path, help="also write the results into this file")
    args = parser.parse_args(argv)
    sizes_text = args.sizes or ("200,1000,5000" if args.quick else "1000,10000,100000,1000000")
    try:
        sizes = tuple(int(size) for size in sizes_text.split(","))
    except ValueError:
        parser.error(f"--sizes {sizes_text!r}: give whole numbers, like 1000,10000,100000,1000000")
    if len(sizes) not in (3, 4) or list(sizes) != sorted(set(sizes)) or sizes[0] < 2 * WINDOW:
        parser.error(
            f"--sizes {sizes_text!r}: give three or four growing sizes, the first >= {2 * WINDOW}"
        )
    installed = load_plugins(only=()).backends
    backends = tuple(name for name in args.backends.split(",") if name)
    for name in backends:
        if name not in installed:
            parser.error(f"--backends: {name!r} is not an installed backend")
    big = (args.big_mib or (16 if args.quick else 256)) * MIB
    listed = (args.listed_mib or (64 if args.quick else 1024)) * MIB
    if args.layout is not None:
        if args.layout not in load_plugins(only=()).layouts:
            parser.error(f"--layout: {args.layout!r} is not an installed layout")
        os.environ[LAYOUT_ENV] = args.layout
    streamed = (args.streamed_mib or (64 if args.quick else 1024)) * MIB
    plan = Plan(sizes, backends, big, listed, streamed, legacy=not args.no_legacy)
    return (plan.quick() if args.quick else plan), args


def isolate_git(root: Path) -> None:
    """Run the git command with a configuration of our own, not the machine's (no signing,
    hooks or aliases in the anchors), and with an identity."""
    config = root / "gitconfig"
    config.write_text("[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n")
    os.environ.update(
        {
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": str(config),
            "GIT_AUTHOR_NAME": "gitblobts benchmark",
            "GIT_AUTHOR_EMAIL": "benchmark@example.com",
            "GIT_COMMITTER_NAME": "gitblobts benchmark",
            "GIT_COMMITTER_EMAIL": "benchmark@example.com",
        }
    )


def main() -> int:
    plan, args = parse_plan()
    machine = describe_machine()
    load = load_average()
    rows: list[Row] = []
    series: dict[str, dict[int, tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="gitblobts-performance-") as folder:
        bench = Bench(plan, Path(folder))
        isolate_git(bench.root)
        loop = git_loop_anchor(bench)
        for backend in plan.backends:
            backend_rows, series[backend] = measure_backend(bench, backend, loop)
            rows += backend_rows
        if GIT_BACKEND in plan.backends and DEFAULT_BACKEND in plan.backends:
            rows += guarded("G10", GIT_BACKEND, lambda: git_backend_goals(bench))
        if os.environ.get(LAYOUT_ENV):
            bench.notes.append(f"stores made with layout {os.environ[LAYOUT_ENV]!r} (--layout)")
        if not plan.legacy:
            bench.notes.append(f"{LEGACY_VERSION} anchors skipped: --no-legacy")
        else:
            rows += legacy_section(bench)
    rows.sort(key=lambda row: (GOALS.index(row.goal), plan.backends.index(row.backend)))
    plot: str | None = None
    cpu = machine[0][1]
    try:
        draw_plot(series, args.plot, f"gitblobts {gitblobts.__version__}: {cpu}")
        plot = os.path.relpath(args.plot, args.markdown.parent if args.markdown else Path.cwd())
        progress(f"plot: {args.plot}")
    except Unavailable as error:
        bench.notes.append(f"plot skipped: {error}")
    machine.append(("load", f"{load} at the start, {load_average()} at the end (1-minute average)"))
    elapsed = time.perf_counter() - STARTED
    print("\n".join(f"{name + ':':10} {value}" for name, value in machine))
    print()
    print(text_table(rows))
    print()
    print(summary(rows))
    for note in bench.notes:
        print(note)
    print(f"run time: {elapsed / 60:.1f} minutes")
    if args.markdown:
        write_markdown(args.markdown, results_markdown(machine, rows, bench.notes, plot, elapsed))
    return 1 if any(row.failed for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
