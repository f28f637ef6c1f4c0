"""Benchmark: what ``durable=True`` costs, side by side with the default in one run.

For each backend, and for a bare repository and a working tree: the median latency of one
``addblob`` (1 KiB, zstd) and the time of one ``addblobs`` of 1,000 × 1 KiB blobs, with and
without ``durable=True`` (every add returns only once its objects, its ref and, in a working
tree, its index and files are on disk). The two kinds of store are measured alternately, so
that the machine's noise falls on both.

Run: ``python benchmarks/durability.py [--adds N] [--batch N] [--folder DIR]``. Prints a
table of milliseconds and the ratio durable/default. Figures depend on the disk under
``--folder`` (default: the system's temporary folder; a RAM disk makes fsync free): a laptop's
SSD, a server's battery-backed RAID controller and a network file system differ by orders of
magnitude.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from gitblobts import Store, load_plugins

KIB = 1024


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def new_repository(path: Path, bare: bool) -> Path:
    subprocess.run(["git", "init", "-q", *(["--bare"] if bare else []), str(path)], check=True)
    return path


def measure(
    backend: str, root: Path, bare: bool, adds: int, batch: int
) -> dict[str, tuple[float, float]]:
    """``{workload: (default seconds, durable seconds)}``."""
    kind = "bare" if bare else "tree"
    stores = {
        durable: Store(
            new_repository(root / f"{backend}-{kind}-{durable}", bare),
            backend=backend,
            durable=durable,
            push=False,
        )
        for durable in (False, True)
    }
    singles: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(adds):
        for durable, store in stores.items():
            singles[durable].append(timed(partial(store.addblob, os.urandom(KIB))))
    batches = {
        durable: timed(partial(store.addblobs, [os.urandom(KIB) for _ in range(batch)]))
        for durable, store in stores.items()
    }
    for store in stores.values():
        store.close()
    return {
        f"addblob, {kind} (median)": (
            statistics.median(singles[False]),
            statistics.median(singles[True]),
        ),
        f"addblobs of {batch:,}, {kind}": (batches[False], batches[True]),
    }


def table(results: dict[str, dict[str, tuple[float, float]]]) -> list[str]:
    lines = [
        "| backend | workload | default | durable | durable / default |",
        "|---|---|---:|---:|---:|",
    ]
    for backend, workloads in results.items():
        for workload, (default, durable) in workloads.items():
            lines.append(
                f"| {backend} | {workload} | {default * 1e3:.1f} ms | {durable * 1e3:.1f} ms "
                f"| {durable / default:.2f} |"
            )
    return lines


def disk(folder: str) -> str:
    """The device and file system type of ``folder``, as ``df`` tells them."""
    lines = subprocess.run(
        ["df", "--output=source,fstype", folder], capture_output=True, text=True, check=False
    ).stdout.splitlines()
    return " ".join(lines[-1].split()) if len(lines) > 1 else "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--adds", type=int, default=30, help="addblob samples (default 30)")
    parser.add_argument("--batch", type=int, default=1000, help="blobs of addblobs (default 1000)")
    parser.add_argument("--folder", type=Path, default=None, help="where the stores go")
    args = parser.parse_args()
    backends = [b for b in ("dulwich", "git") if b in load_plugins(only=()).backends]
    results: dict[str, dict[str, tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory(dir=args.folder) as folder:
        where = disk(folder)
        for backend in backends:
            results[backend] = {}
            for bare in (True, False):
                results[backend] |= measure(backend, Path(folder), bare, args.adds, args.batch)
    print(f"{os.cpu_count()} cores, {platform.platform()}, {time.ctime()}; disk: {where}")
    print("\n".join(table(results)))


if __name__ == "__main__":
    main()
