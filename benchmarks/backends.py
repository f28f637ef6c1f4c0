"""Benchmark: the ``dulwich`` backend against the ``git`` (git command) backend, side by side
in one run, on batch ingest, single add and a one-hour range query.

Run: ``python benchmarks/backends.py [--blobs N] [--adds N]``. Prints seconds per workload
and the ratio git/dulwich (below 1: the git backend is faster).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from gitblobts import Nanoseconds, Store, load_plugins

HOUR = 3600 * 10**9


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def measure(backend: str, root: Path, blobs: int, adds: int) -> dict[str, float]:
    path = root / backend
    subprocess.run(["git", "init", "-q", "--bare", str(path)], check=True)
    store = Store(path, backend=backend)
    now = time.time_ns()
    times = [Nanoseconds(now - i * 60 * 10**9) for i in range(blobs)]  # one a minute
    payload = [os.urandom(1024) for _ in times]
    ingest = timed(lambda: store.addblobs(payload, times))
    single = statistics.median(timed(lambda: store.addblob(os.urandom(1024))) for _ in range(adds))
    start, end = Nanoseconds(now - 5 * HOUR), Nanoseconds(now - 4 * HOUR)
    query = statistics.median(
        timed(lambda: sum(1 for _ in store.getblobs(start, end))) for _ in range(10)
    )
    store.close()
    return {"batch ingest": ingest, "single add (median)": single, "1-hour query (median)": query}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--blobs", type=int, default=10_000)
    parser.add_argument("--adds", type=int, default=30)
    args = parser.parse_args()
    backends = [b for b in ("dulwich", "git") if b in load_plugins(only=()).backends]
    with tempfile.TemporaryDirectory() as folder:
        results = {b: measure(b, Path(folder), args.blobs, args.adds) for b in backends}
    print(f"{args.blobs} x 1 KiB blobs, zstd, no key, bare repository")
    print(f"{'workload':24}" + "".join(f"{b:>12}" for b in backends) + "   git/dulwich")
    for workload in results[backends[0]]:
        row = "".join(f"{results[b][workload]:11.4f}s" for b in backends)
        ratio = (
            f"{results['git'][workload] / results['dulwich'][workload]:10.2f}"
            if "git" in results
            else ""
        )
        print(f"{workload:24}{row}   {ratio}")


if __name__ == "__main__":
    main()
