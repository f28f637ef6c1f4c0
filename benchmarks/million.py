"""Benchmark: adds and one-hour queries in a bare store of 1,000,000 blobs against one of
1,000 (issue 19, goal 5).

Both stores hold 1 KiB blobs (8 bytes of the blob's time, then random bytes), zstd and a
key (the default cipher), one a minute going back from the build's moment, in the default
layout, each written by one ``addblobs`` from a generator (so the large one is one pack).
They are built once (``build``) into a folder and kept; ``measure`` then runs, in a fresh
process per store (each store's process opens it once and warms it with one untimed add
and one untimed query), the stores taking turns sample by sample:

- one-hour ``getblobs`` at random whole hours of each store (60 blobs, every blob read,
  the count and each blob's time checked);
- one ``addblob`` (``push=False``, at the current time);

and prints the medians and their ratios (goal: at most 1.2).

Run: ``python benchmarks/million.py build DIR [--blobs N] [--small N]``, then
``python benchmarks/million.py measure DIR [--queries N] [--adds N] [--backend NAME]``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from gitblobts import Nanoseconds, Store, generate_key

KIB = 1024
MINUTE = 60 * 10**9
HOUR = 60 * MINUTE
WINDOW = 60


def blobs(now_ns: int, count: int) -> Iterator[bytes]:
    for i in range(count):
        yield (now_ns - i * MINUTE).to_bytes(8, "big") + os.urandom(KIB - 8)


def times(now_ns: int, count: int) -> Iterator[Nanoseconds]:
    return (Nanoseconds(now_ns - i * MINUTE) for i in range(count))


def build(folder: Path, count: int, backend: str) -> float:
    key = generate_key().decode()
    now_ns = time.time_ns() // MINUTE * MINUTE
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(folder)], check=True)
    start = time.perf_counter()
    with Store(folder, compression="zstd", key=key, backend=backend, push=False) as store:
        store.addblobs(blobs(now_ns, count), times(now_ns, count))
    seconds = time.perf_counter() - start
    (folder / "bench.json").write_text(json.dumps({"key": key, "now_ns": now_ns, "count": count}))
    return seconds


def query(store: Store, start: int) -> None:
    found = 0
    for blob in store.getblobs(Nanoseconds(start), Nanoseconds(start + HOUR - 1)):
        if int.from_bytes(blob.blob[:8], "big") != blob.timestamp_ns:
            raise RuntimeError(f"{store.path}: wrong blob at {blob.timestamp_ns}")
        found += 1
    if found != WINDOW:
        raise RuntimeError(f"{store.path}: {found} blobs in the hour from {start}, not {WINDOW}")


def hours(meta: dict[str, int], count: int, seed: int) -> list[int]:
    """``count`` random whole hours of the store, each holding 60 of its blobs."""
    first = meta["now_ns"] - (meta["count"] - 1) * MINUTE
    low = -(-first // HOUR) * HOUR
    high = (meta["now_ns"] - HOUR + 1) // HOUR * HOUR
    chosen = random.Random(seed)
    return [chosen.randrange(low, high + 1, HOUR) for _ in range(count)]


def worker(folder: str, backend: str) -> None:
    """A store's process: reads commands on standard input, answers with seconds."""
    meta = json.loads((Path(folder) / "bench.json").read_text())
    with Store(folder, key=meta["key"], backend=backend, push=False) as store:
        store.addblob(os.urandom(KIB))
        query(store, hours(meta, 1, 0)[0])
        print("ready", flush=True)
        for line in sys.stdin:
            command, _, argument = line.strip().partition(" ")
            start, cpu = time.perf_counter(), time.process_time()
            if command == "add":
                store.addblob(os.urandom(KIB))
            else:
                query(store, int(argument))
            print(time.perf_counter() - start, time.process_time() - cpu, flush=True)


def measure(folders: list[Path], queries: int, adds: int, backend: str) -> None:
    workers = []
    for folder in folders:
        process = subprocess.Popen(
            [sys.executable, __file__, "worker", str(folder), "--backend", backend],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None
        assert process.stdin is not None
        if process.stdout.readline().strip() != "ready":
            raise RuntimeError(f"{folder}: the worker did not start")
        workers.append(process)
    metas = [json.loads((folder / "bench.json").read_text()) for folder in folders]
    plans = [hours(meta, queries, 1) for meta in metas]
    samples: list[dict[str, list[tuple[float, float]]]] = [
        {"query": [], "add": []} for _ in folders
    ]

    def ask(index: int, command: str) -> tuple[float, float]:
        process = workers[index]
        assert process.stdin is not None
        assert process.stdout is not None
        process.stdin.write(command + "\n")
        process.stdin.flush()
        wall, cpu = process.stdout.readline().split()
        return float(wall), float(cpu)

    for i in range(queries):
        for index in range(len(folders)):
            samples[index]["query"].append(ask(index, f"query {plans[index][i]}"))
    for _ in range(adds):
        for index in range(len(folders)):
            samples[index]["add"].append(ask(index, "add"))
    for process in workers:
        assert process.stdin is not None
        process.stdin.close()
        process.wait()
    for kind in ("query", "add"):
        (large, large_cpu), (small, small_cpu) = (
            [statistics.median(column) for column in zip(*side[kind], strict=True)]
            for side in (samples[0], samples[-1])
        )
        print(
            f"{backend} {kind}: {metas[0]['count']:,} {large * 1e3:.2f} ms / "
            f"{metas[-1]['count']:,} {small * 1e3:.2f} ms = {large / small:.2f}x "
            f"({'met' if large / small <= 1.2 else 'NOT met'}; "
            f"medians of {len(samples[0][kind])}); "
            f"CPU time {large_cpu * 1e3:.2f} / {small_cpu * 1e3:.2f} ms = "
            f"{large_cpu / small_cpu:.2f}x",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("build", "measure", "worker"))
    parser.add_argument("folder", type=Path)
    parser.add_argument("--blobs", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("--adds", type=int, default=40)
    parser.add_argument("--backend", default="dulwich")
    arguments = parser.parse_args()
    large, small = arguments.folder / "large", arguments.folder / "small"
    if arguments.command == "worker":
        worker(str(arguments.folder), arguments.backend)
    elif arguments.command == "build":
        for folder, count in ((small, arguments.small), (large, arguments.blobs)):
            seconds = build(folder, count, arguments.backend)
            print(f"built {folder}: {count:,} blobs in {seconds:.1f} s", flush=True)
    else:
        measure([large, small], arguments.queries, arguments.adds, arguments.backend)


if __name__ == "__main__":
    main()
