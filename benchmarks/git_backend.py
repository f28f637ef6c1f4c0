"""Benchmark: the ``git`` backend against the ``dulwich`` backend (issue 19, goal 2).

For each store size (one blob a minute, 1 KiB, zstd + key, bare), prints the median single
``addblob`` and one-hour ``getblobs`` (60 blobs, the store's middle hour) of both backends,
alternating sides; then reading every blob of a 10,000-blob default store (zstd, no key)
against ``git cat-file --batch`` of the same blobs and their folders, alternating.

Run: ``python benchmarks/git_backend.py [--sizes 1000,10000] [--adds 40] [--queries 20]
[--reads 5]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from gitblobts import Nanoseconds, Store, generate_key

KIB = 1024
MINUTE = 60 * 10**9
WINDOW = 60
BACKENDS = ("dulwich", "git")


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def new_bare(path: Path) -> Path:
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(path)], check=True)
    return path


def build(path: Path, backend: str, count: int, now: int, key: str | None) -> Path:
    """A bare store of ``count`` blobs, one a minute back from ``now``."""
    with Store(new_bare(path), compression="zstd", key=key, backend=backend, push=False) as s:
        s.addblobs(
            (os.urandom(KIB) for _ in range(count)),
            (Nanoseconds(now - i * MINUTE) for i in range(count)),
        )
    return path


def window(now: int, count: int) -> tuple[Nanoseconds, Nanoseconds]:
    newest = count // 2 - WINDOW // 2
    return Nanoseconds(now - (newest + WINDOW - 1) * MINUTE), Nanoseconds(now - newest * MINUTE)


def query(store: Store, hour: tuple[Nanoseconds, Nanoseconds]) -> None:
    found = sum(1 for _ in store.getblobs(*hour))
    if found != WINDOW:
        raise RuntimeError(f"{store.path}: {found} blobs in the hour, not {WINDOW}")


def latencies(folder: Path, count: int, now: int, key: str, adds: int, queries: int) -> None:
    stores = {b: build(folder / f"{b}-{count}", b, count, now, key) for b in BACKENDS}
    opened = {
        b: Store(stores[b], compression="zstd", key=key, backend=b, push=False) for b in BACKENDS
    }
    hour = window(now, count)
    add: dict[str, list[float]] = {b: [] for b in BACKENDS}
    ask: dict[str, list[float]] = {b: [] for b in BACKENDS}
    for store in opened.values():  # warm up
        store.addblob(os.urandom(KIB))
        query(store, hour)
    for _ in range(adds):
        for b, store in opened.items():
            add[b].append(timed(partial(store.addblob, os.urandom(KIB))))
    for _ in range(queries):
        for b, store in opened.items():
            ask[b].append(timed(partial(query, store, hour)))
    for store in opened.values():
        store.close()
    for name, figures in (("addblob", add), ("1-hour getblobs", ask)):
        d, g = (statistics.median(figures[b]) * 1000 for b in BACKENDS)
        print(
            f"{count:>7,} {name:16} dulwich {d:7.2f} ms  git {g:7.2f} ms  git/dulwich {g / d:5.2f}"
        )
    for b in BACKENDS:
        shutil.rmtree(stores[b])


def blob_ids(repository: Path) -> bytes:
    """Every stored blob at HEAD (not ``.gitblobts.json``) and the folders holding them."""
    listed = subprocess.run(
        ["git", "-C", str(repository), "ls-tree", "-r", "-t", "HEAD"],
        capture_output=True,
        check=True,
    ).stdout
    ids = []
    for line in listed.splitlines():
        info, path = line.split(b"\t", 1)
        _, _kind, oid = info.split()
        if path != b".gitblobts.json":
            ids.append(oid)
    return b"\n".join(ids) + b"\n"


def read_all(folder: Path, count: int, now: int, rounds: int) -> None:
    for backend in BACKENDS:
        repository = new_bare(folder / f"read-{backend}")
        with Store(repository, backend=backend, push=False) as store:
            store.addblobs(
                (os.urandom(KIB) for _ in range(count)),
                (Nanoseconds(now - i * MINUTE) for i in range(count)),
            )
        ids = blob_ids(repository)
        ours, theirs = [], []

        def everything(path: Path = repository, name: str = backend) -> None:
            with Store(path, backend=name, push=False) as store:
                total = sum(len(blob.blob) for blob in store.getblobs())
            if total != count * KIB:
                raise RuntimeError(f"read {total} bytes, not {count * KIB}")

        cat = ["git", "-C", str(repository), "cat-file", "--batch"]
        for _ in range(rounds):
            ours.append(timed(everything))
            theirs.append(timed(partial(subprocess.run, cat, input=ids, capture_output=True)))
        o, t = statistics.median(ours), statistics.median(theirs)
        print(
            f"{count:>7,} read all ({backend:7}) {o * 1000:8.1f} ms  cat-file --batch "
            f"{t * 1000:7.1f} ms  ratio {o / t:5.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--adds", type=int, default=40)
    parser.add_argument("--queries", type=int, default=20)
    parser.add_argument("--reads", type=int, default=5)
    parser.add_argument("--skip-reads", action="store_true")
    args = parser.parse_args()
    now = time.time_ns() - 24 * 3600 * 10**9
    key = generate_key()
    with tempfile.TemporaryDirectory(prefix="gitbackend-") as scratch:
        folder = Path(scratch)
        for count in map(int, args.sizes.split(",")):
            latencies(folder, count, now, key, args.adds, args.queries)
        if not args.skip_reads:
            read_all(folder, 10_000, now, args.reads)


if __name__ == "__main__":
    main()
