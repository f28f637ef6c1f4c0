"""Benchmark: a sharded store against a single store (issue 18's benchmark (a)), side by side
in the same run.

- a one-hour ``getblobs`` (reading every blob of the hour) on a store of 1,000,000 blobs
  sharded by month over the 12 months ending this month: at most 1.2× the same on a single
  store of 1,000 blobs over the same year, whose queried hours hold as many blobs;
- one ``addblob`` (``push=False``, at the current time, so into this month's shard): at
  most 1.2× one on the single store.

Both sides are 1 KiB blobs of random bytes, zstd and a key (the default cipher), as in the
performance issue's G2 and G3. The sharded store's catalog and its shards have remotes,
local bare repositories. Blob ``i`` is at ``first + i * step``: ``first`` the start of the
first of the 12 months (UTC), ``step`` the 12 months divided by the number of blobs, so
every hour holds as many (about 114), this month's to its end too. The single store holds
the sharded store's blobs of the current hour and the next (the adds at the current time go
into folders as full as the shard's), then those of whole hours spread over the year, then
part of one more, up to 1,000: its whole hours, which queries read, hold what the sharded
store's hours hold. Queries read hours that ended an hour before the build at the latest.
Each store first gets an untimed query in every month (opening every shard) and an untimed
add; the single store and this month's shard both get the folders of loose objects that a
repository which has had adds has (``objects/00``-``ff``), so that neither side's adds pay
for making them.
Then queries at random whole hours of each store, the stores taking turns, and adds the
same way; medians. With no goal,
printed beside: the first query on a freshly opened store (the catalog read and a shard
opened), and the same random queries on one shard opened alone as a plain store, which
tells what a store of a shard's size costs without the sharding. A query's blobs are
checked (their count and each blob's time, written into its first bytes); a wrong answer
stops the run.

The sharded store is built once (one ``addblobs`` per month from a generator,
``push=False``, then one push); ``--keep DIR`` keeps it in ``DIR`` and later runs reuse it.
The adds of every run land in this month's shard and stay there as loose objects, so the
adds of a kept store's later runs meet a fuller repository than the first run's. The single
store is made afresh each run.

Run: ``python benchmarks/sharded.py [--keep DIR] [--blobs N] [--small N] [--queries N]
[--adds N] [--fresh N] [--warm-adds N] [--backends dulwich,git]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path

import gitblobts
from gitblobts import Nanoseconds, Store, generate_key, init_sharded

GOAL = 1.2
HOUR = 3600 * 10**9
KIB = 1024
INDEX_BYTES = 8
BUILD_FILE = "build.json"
STORE_FOLDER = "store"
SHARDS_FOLDER = "gitblobts-shards"
REMOTE = "remotes/blobs.git"


@dataclass(frozen=True)
class Build:
    """What a build of the sharded store made: blob ``i`` is at ``first + i * step``."""

    blobs: int
    first: int
    step: int
    key: str
    built_ns: int
    seconds: float
    push_seconds: float
    built: str

    @property
    def secret(self) -> bytes:
        """The stores' key (``key`` is its hex)."""
        return bytes.fromhex(self.key)

    def time_of(self, index: int) -> int:
        return self.first + index * self.step

    def indices(self, low: int, high: int) -> range:
        """The blobs at ``low <= t <= high``."""
        start = max(0, -(-(low - self.first) // self.step))
        stop = min(self.blobs, (high - self.first) // self.step + 1)
        return range(start, max(start, stop))

    def hours(self) -> range:
        """The starts of the whole hours queries read: those ending an hour before the build
        at the latest, so that no blob a later run adds (at its own time) is in them."""
        first_hour = -(-self.first // HOUR) * HOUR
        last_hour = (self.built_ns - HOUR) // HOUR * HOUR - HOUR
        return range(first_hour, last_hour + 1, HOUR)


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def blob(index: int, rng: random.Random) -> bytes:
    """Blob ``index``: its index, then random bytes, 1 KiB in all."""
    return index.to_bytes(INDEX_BYTES, "big") + rng.randbytes(KIB - INDEX_BYTES)


def month_start(ns: int, months_later: int = 0) -> int:
    """The start (UTC) of the month ``months_later`` months after the month of ``ns``."""
    when = dt.datetime.fromtimestamp(ns / 1e9, dt.timezone.utc)
    months = when.year * 12 + when.month - 1 + months_later
    first = dt.datetime(months // 12, months % 12 + 1, 1, tzinfo=dt.timezone.utc)
    return int(first.timestamp()) * 10**9


def build_sharded(folder: Path, blobs: int) -> Build:
    """Make the sharded store in ``folder``: ``blobs`` blobs over the 12 months ending this
    month, the whole of each (this month's shard is as large as the others, and the adds
    at the current time land among its blobs), one ``addblobs`` per month, then one push to
    the local bare remotes."""
    now = time.time_ns()
    first = month_start(now, -11)
    step = (month_start(now, 1) - first) // blobs
    build = Build(blobs, first, step, generate_key().hex(), now, 0.0, 0.0, "")
    rng = random.Random(18)
    (folder / REMOTE).parent.mkdir(parents=True, exist_ok=True)
    progress(f"building a sharded store of {blobs:,} blobs in {folder}")
    started = time.perf_counter()
    with init_sharded(
        folder / STORE_FOLDER,
        shard_by="month",
        remote=str(folder / REMOTE),
        key=build.secret,
        push=False,
    ) as store:
        index = 0
        while index < blobs:
            month = dt.datetime.fromtimestamp(build.time_of(index) / 1e9, dt.timezone.utc)
            last = build.indices(0, month_start(build.time_of(index), 1) - 1).stop
            run = range(index, last)
            store.addblobs(
                (blob(i, rng) for i in run),
                (Nanoseconds(build.time_of(i)) for i in run),
                push=False,
            )
            progress(f"  {month:%Y-%m}: {len(run):,} blobs")
            index = last
        added = time.perf_counter() - started
    progress("pushing the catalog and every shard (git backend)")
    pushing = time.perf_counter()
    with Store(folder / STORE_FOLDER, key=build.secret, backend="git", push=False) as store:
        store.push()
    pushed = time.perf_counter() - pushing
    built = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    build = Build(blobs, first, step, build.key, now, added, pushed, built)
    (folder / BUILD_FILE).write_text(json.dumps(asdict(build), indent=2) + "\n")
    return build


def sharded_store(folder: Path, blobs: int) -> tuple[Build, bool]:
    """The sharded store in ``folder``, built unless a build of ``blobs`` blobs is there;
    and whether it was built now."""
    recorded = folder / BUILD_FILE
    if recorded.exists():
        build = Build(**json.loads(recorded.read_text()))
        if build.blobs == blobs:
            return build, False
        raise SystemExit(f"{folder} holds a store of {build.blobs:,} blobs, not {blobs:,}")
    if folder.exists() and any(folder.iterdir()):
        raise SystemExit(f"{folder} is not empty and holds no {BUILD_FILE}: give another folder")
    return build_sharded(folder, blobs), True


def single_store(path: Path, build: Build, small: int) -> list[int]:
    """Make the single store of ``small`` blobs at ``path``: the sharded store's blobs of
    the current hour and the next (where the adds go: as full as the shard's), then of
    whole hours spread over the year, then of part of one more. Return the whole hours
    spread over the year, which queries read."""
    hours = build.hours()
    per_hour = max(1, min(len(build.indices(h, h + HOUR - 1)) for h in hours[:24]))
    now = time.time_ns() // HOUR * HOUR
    chosen = list(build.indices(now, now + 2 * HOUR - 1))[:small]
    wanted = -(-(small - len(chosen)) // per_hour)
    picked = [hours[(2 * j + 1) * len(hours) // (2 * wanted)] for j in range(wanted)]
    whole: list[int] = []
    for hour in picked:
        indices = build.indices(hour, hour + HOUR - 1)
        room = small - len(chosen)
        chosen += indices[:room]
        if len(indices) <= room:
            whole.append(hour)
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(path)], check=True)
    rng = random.Random(18)
    with Store(path, key=build.secret, push=False) as store:
        store.addblobs(
            [blob(i, rng) for i in chosen], [Nanoseconds(build.time_of(i)) for i in chosen]
        )
    loose_folders(path)
    return whole or picked[:1]


def loose_folders(repository: Path) -> None:
    """Make the folders of loose objects (``objects/00``-``ff``) of ``repository``, if
    missing."""
    for number in range(256):
        (repository / "objects" / f"{number:02x}").mkdir(exist_ok=True)


def read_hour(store: Store, hour: int) -> list[tuple[int, bytes]]:
    """The times and first bytes of every blob of the hour from ``hour``, read."""
    return [
        (b.timestamp_ns, b.blob[:INDEX_BYTES])
        for b in store.getblobs(Nanoseconds(hour), Nanoseconds(hour + HOUR - 1))
    ]


def check_hour(found: list[tuple[int, bytes]], build: Build, hour: int, what: str) -> int:
    """Raise unless ``found`` is the hour's blobs, each at its time; return how many."""
    indices = [int.from_bytes(start, "big") for _, start in found]
    times = [build.time_of(i) for i in indices]
    if any(
        t != ns or not hour <= ns < hour + HOUR for (ns, _), t in zip(found, times, strict=True)
    ):
        raise SystemExit(f"{what}: a blob of the hour from {hour} has the wrong time or index")
    if indices != list(build.indices(hour, hour + HOUR - 1)):
        raise SystemExit(f"{what}: the hour from {hour} gave {len(found)} blobs, not all of it")
    return len(found)


@dataclass
class Side:
    """One store of the comparison, and what was measured on it."""

    name: str
    path: Path
    hours: list[int]
    adds_too: bool = True
    queries: list[float] = field(default_factory=list)
    adds: list[float] = field(default_factory=list)
    opened: list[float] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)


def measure(sides: list[Side], build: Build, backend: str, args: argparse.Namespace) -> bool:
    """Time the queries and adds of every side, the sides taking turns; print the figures
    of the first (the sharded store) against the second (the single store)."""
    picker = random.Random(f"{backend}-18")
    adding = [side for side in sides if side.adds_too]

    def first_query(side: Side) -> Callable[[], None]:
        def query() -> None:
            with Store(side.path, key=build.secret, backend=backend, push=False) as store:
                hour = picker.choice(side.hours)
                side.counts.append(check_hour(read_hour(store, hour), build, hour, side.name))

        return query

    for _ in range(args.fresh):
        for side in adding:
            side.opened.append(timed(first_query(side)))
    stores = {side.name: Store(side.path, key=build.secret, backend=backend, push=False)
              for side in sides}  # fmt: skip
    try:
        # Warm up, untimed: a query in every month (opening each shard), and an add.
        for side in sides:
            for month in range(12):
                read_hour(stores[side.name], side.hours[month * len(side.hours) // 12])
        for _ in range(args.warm_adds):
            for side in adding:
                stores[side.name].addblob(os.urandom(KIB))
        for _ in range(args.queries):
            for side in sides:
                store, hour = stores[side.name], picker.choice(side.hours)
                started = time.perf_counter()
                found = read_hour(store, hour)
                side.queries.append(time.perf_counter() - started)
                side.counts.append(check_hour(found, build, hour, side.name))
        for _ in range(args.adds):
            for side in adding:
                store, payload = stores[side.name], os.urandom(KIB)
                side.adds.append(timed(partial(store.addblob, payload)))
    finally:
        for store in stores.values():
            store.close()
    sharded, single, *others = sides
    met = True
    print(f"{backend}:")
    for what, figures, goal in (
        (f"one-hour getblobs ({blob_counts(sides)})", "queries", True),
        ("addblob (push=False, now)", "adds", True),
        ("first query on a freshly opened store (open, catalog, shard)", "opened", False),
    ):
        ours = statistics.median(getattr(sharded, figures))
        theirs = statistics.median(getattr(single, figures))
        ratio = ours / theirs
        shown = verdict(ratio) if goal else f"{ratio:.2f}× (no goal)"
        met = met and (ratio <= GOAL or not goal)
        print(
            f"  {what}: {ms(ours)} sharded ({build.blobs:,} blobs), {ms(theirs)} single "
            f"({args.small:,} blobs), median of {len(getattr(sharded, figures))}: {shown}"
        )
    for other in others:
        ours, theirs = statistics.median(other.queries), statistics.median(single.queries)
        print(
            f"  one-hour getblobs on {other.name}: {ms(ours)}, against the single store: "
            f"{ours / theirs:.2f}× (no goal; what a store of that size costs, unsharded)"
        )
    return met


def blob_counts(sides: list[Side]) -> str:
    counts = sorted({count for side in sides for count in side.counts})
    shown = f"{counts[0]}" if len(counts) == 1 else f"{counts[0]}-{counts[-1]}"
    return f"{shown} blobs an hour on both"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def verdict(ratio: float) -> str:
    return f"{ratio:.2f}× (goal ≤ {GOAL}×): {'met' if ratio <= GOAL else 'NOT met'}"


def machine() -> Iterator[str]:
    commit = subprocess.run(
        ["git", "-C", str(Path(__file__).resolve().parents[1]), "rev-parse", "--short", "HEAD"],
        capture_output=True, text=True, check=False,
    ).stdout.strip()  # fmt: skip
    yield f"gitblobts {gitblobts.__version__} ({commit or 'not a git checkout'})"
    yield f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f} (1-minute average)"
    yield dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def run(folder: Path, args: argparse.Namespace) -> None:
    build, built = sharded_store(folder, args.blobs)
    per = "built now" if built else f"built {build.built}"
    print(f"machine: {'; '.join(machine())}")
    print(
        f"sharded store: {build.blobs:,} blobs in {folder / STORE_FOLDER} ({per}: "
        f"{build.seconds:.1f} s of addblobs, one a month, and {build.push_seconds:.1f} s "
        f"of push); a blob every {build.step / 1e9:.2f} s from "
        f"{dt.datetime.fromtimestamp(build.first / 1e9, dt.timezone.utc):%Y-%m-%d}"
    )
    met: dict[str, bool] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for backend in args.backends.split(","):
            single = Path(scratch) / f"single-{backend}.git"
            whole = single_store(single, build, args.small)
            hours = list(build.hours())
            month = dt.datetime.fromtimestamp(hours[len(hours) // 2] / 1e9, dt.timezone.utc)
            alone = folder / STORE_FOLDER / SHARDS_FOLDER / f"{month:%Y-%m}"
            month_hours = [
                h for h in hours if month_start(h) == month_start(hours[len(hours) // 2])
            ]
            blobs = sum(len(build.indices(h, h + HOUR - 1)) for h in month_hours)
            sides = [
                Side("sharded", folder / STORE_FOLDER, hours),
                Side("single", single, whole),
                Side(f"the shard {month:%Y-%m} opened alone (~{blobs:,} blobs)", alone,
                     month_hours, adds_too=False),
            ]  # fmt: skip
            now = dt.datetime.now(dt.timezone.utc)
            loose_folders(folder / STORE_FOLDER / SHARDS_FOLDER / f"{now:%Y-%m}")
            progress(f"{backend}: measuring, the stores taking turns")
            met[backend] = measure(sides, build, backend, args)
    first = args.backends.split(",")[0]
    print(f"goals ({first} decides): {'all met' if met[first] else 'NOT all met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", type=Path, help="keep (or reuse) the sharded store here")
    parser.add_argument("--blobs", type=int, default=1_000_000, help="the sharded store's")
    parser.add_argument("--small", type=int, default=1_000, help="the single store's blobs")
    parser.add_argument("--queries", type=int, default=200, help="queries on each store")
    parser.add_argument("--adds", type=int, default=100, help="addblob calls on each store")
    parser.add_argument("--fresh", type=int, default=5, help="first queries after opening")
    parser.add_argument("--warm-adds", type=int, default=1, help="untimed adds first")
    parser.add_argument("--backends", default="dulwich")
    args = parser.parse_args()
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        run(args.keep.resolve(), args)
    else:
        with tempfile.TemporaryDirectory() as folder:
            run(Path(folder), args)


if __name__ == "__main__":
    main()
