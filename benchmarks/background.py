"""Benchmark: adding at full speed to a store whose remote is a git daemon on loopback, with
background pushing, against the same adds with no remote, with a push after each add, and
with gitblobts 0.0.7 (which always pushes), in the same run.

Goals (issue 16), for each backend (the default backend's verdicts decide):

- the median latency of 1,000 ``addblob`` calls with ``push="background"`` is at most 1.2×
  the median with no remote (the sides alternate, ``--rounds`` times, each from an empty
  store; the ratio is of the medians of every add of each side);
- the pushes the server received (its reflog, ``flush()``'s push included) are at most the
  run's duration divided by ``push_interval``, plus one;
- after ``flush()``, a fresh clone of the remote holds every blob added.

Run: ``python benchmarks/background.py [--adds N] [--rounds N] [--interval S]
[--backends dulwich,git] [--push-adds N] [--legacy-adds N | --no-legacy]``.
Needs ``git daemon`` (Debian: git); the 0.0.7 row needs the package index once (its virtual
environment is kept in the user's cache folder, as ``performance.py`` keeps it).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from gitblobts import Store

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from performance import LEGACY_DRIVER, Unavailable, legacy_python  # noqa: E402

BLOB = 100
"""Bytes per blob: small, so that the adds measure commits and pushes, not data."""
RATIO_GOAL = 1.2


@dataclass
class Side:
    """One side's adds: every latency in seconds, and what the server saw."""

    latencies: list[float]
    duration: float = 0.0
    flush: float = 0.0
    pushes: int = 0
    cloned: bool = True

    @property
    def median(self) -> float:
        return statistics.median(self.latencies)

    def quantile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def git(*args: str | Path) -> str:
    done = subprocess.run(["git", *map(str, args)], check=True, capture_output=True, text=True)
    return done.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def git_daemon(served: Path) -> Iterator[str]:
    """A git daemon serving ``served`` (pushes enabled) on loopback; yields its base URL."""
    port = free_port()
    daemon = subprocess.Popen(
        ["git", "daemon", "--reuseaddr", f"--base-path={served}", "--export-all",
         "--enable=receive-pack", "--listen=127.0.0.1", f"--port={port}", str(served)],
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while True:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"git daemon did not start on port {port}")
            time.sleep(0.02)
        yield f"git://127.0.0.1:{port}"
    finally:
        daemon.terminate()
        daemon.wait(timeout=10)


class Bench:
    """Fresh repositories for each side, served or not, under one folder."""

    def __init__(self, root: Path, url: str) -> None:
        self.root, self.url, self.made = root, url, 0

    def _name(self, what: str) -> str:
        self.made += 1
        return f"{what}-{self.made}"

    def served(self) -> tuple[Path, Path]:
        """A new bare repository on the server, recording every update of its branch, and a
        clone of it (a working tree whose upstream it is)."""
        name = self._name("served")
        bare = self.root / "served" / f"{name}.git"
        git("init", "-q", "--bare", "-b", "main", bare)
        git("-C", bare, "config", "core.logAllRefUpdates", "always")
        clone = self.root / f"{name}-clone"
        git("clone", "-q", f"{self.url}/{name}.git", clone)
        return bare, clone

    def unserved(self) -> Path:
        """A new working tree with no remote."""
        path = self.root / self._name("alone")
        git("init", "-q", "-b", "main", path)
        return path


def pushes_received(bare: Path) -> int:
    """How many times the branch of ``bare`` moved: one per push the server accepted."""
    log = git("-C", bare, "reflog", "show", "--format=%H", "refs/heads/main")
    return len(log.split())


def timed_adds(store: Store, adds: int) -> Side:
    latencies = []
    payload = os.urandom(BLOB)
    started = time.perf_counter()
    for _ in range(adds):
        start = time.perf_counter()
        store.addblob(payload)
        latencies.append(time.perf_counter() - start)
    return Side(latencies, duration=time.perf_counter() - started)


def no_remote(bench: Bench, backend: str, adds: int) -> Side:
    with Store(bench.unserved(), backend=backend) as store:
        return timed_adds(store, adds)


def pushing(bench: Bench, backend: str, adds: int, interval: float, push: bool | str) -> Side:
    """``adds`` adds to a store whose remote is on the daemon; with ``push="background"``
    then ``flush()``. Checks a fresh clone of the remote against what was added."""
    bare, clone = bench.served()
    with Store(clone, backend=backend, push=push, push_interval=interval) as store:
        side = timed_adds(store, adds)
        start = time.perf_counter()
        store.flush()
        side.flush = time.perf_counter() - start
        added = {info.path for info in store.listblobs()}
    side.pushes = pushes_received(bare)
    fresh = bench.root / f"{bare.stem}-fresh"
    git("clone", "-q", f"{bench.url}/{bare.name}", fresh)
    with Store(fresh, backend=backend, push=False) as copy:
        side.cloned = len(added) == adds and {info.path for info in copy.listblobs()} == added
    return side


def legacy(bench: Bench, adds: int) -> float:
    """The median of ``adds`` 0.0.7 ``addblob`` calls, each committing and pushing to a
    repository on the daemon (through ``legacy_0_0_7.py``)."""
    _, work = bench.served()
    git("-C", work, "commit", "-q", "--allow-empty", "-m", "start")
    git("-C", work, "push", "-q", "-u", "origin", "main")
    run = subprocess.run(
        [legacy_python(), "-I", LEGACY_DRIVER, work, str(time.time_ns()), "60", str(adds)],
        capture_output=True,
        text=True,
        check=False,
    )
    if run.returncode != 0:
        raise Unavailable(f"{LEGACY_DRIVER.name}: {run.stderr.strip().splitlines()[-1:]}")
    return float(json.loads(run.stdout)["push"])


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms"


def describe(label: str, side: Side) -> str:
    return (
        f"  {label:<26} median {ms(side.median)}  p90 {ms(side.quantile(0.9))}  "
        f"p99 {ms(side.quantile(0.99))}  max {ms(max(side.latencies))}"
    )


def measure(bench: Bench, backend: str, args: argparse.Namespace) -> bool:
    """Print one backend's figures and verdicts; return whether its goals are met."""
    alone: list[float] = []
    background: list[float] = []
    runs: list[Side] = []
    for _ in range(args.rounds):  # the two sides alternate
        alone += no_remote(bench, backend, args.adds).latencies
        runs.append(pushing(bench, backend, args.adds, args.interval, "background"))
        background += runs[-1].latencies
    ratio = statistics.median(background) / statistics.median(alone)
    pushes_met = all(run.pushes <= run.duration / args.interval + 1 for run in runs)
    cloned = all(run.cloned for run in runs)
    print(f"{backend}: {args.adds:,} addblob of {BLOB} bytes, {args.rounds} rounds")
    print(describe("no remote", Side(alone)))
    print(describe(f"background ({args.interval:g} s)", Side(background)))
    for number, run in enumerate(runs, 1):
        bound = run.duration / args.interval + 1
        print(
            f"    round {number}: adds took {run.duration:.2f} s, flush {run.flush:.2f} s, "
            f"{run.pushes} push(es) received (at most {bound:.1f}), a fresh clone holds "
            f"{'all' if run.cloned else 'NOT all'} {args.adds:,}"
        )
    if args.push_adds:
        each = pushing(bench, backend, args.push_adds, args.interval, True)
        print(describe(f"push=True ({args.push_adds:,} adds)", each))
        slower = each.median / statistics.median(alone)
        print(f"    {each.pushes} push(es) received; {slower:.1f}× the median with no remote")
    goals = ratio <= RATIO_GOAL and pushes_met and cloned
    verdict = "met" if ratio <= RATIO_GOAL else "NOT met"
    print(f"  background / no remote: {ratio:.2f}× (goal ≤ {RATIO_GOAL}×): {verdict}")
    print(f"  pushes ≤ duration / interval + 1: {'met' if pushes_met else 'NOT met'}")
    print(f"  a fresh clone holds every blob: {'met' if cloned else 'NOT met'}")
    return goals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--adds", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--interval", type=float, default=10.0)
    parser.add_argument("--backends", default="dulwich,git")
    parser.add_argument("--push-adds", type=int, default=1000, help="0: no push=True side")
    parser.add_argument("--legacy-adds", type=int, default=100)
    parser.add_argument("--no-legacy", action="store_true")
    args = parser.parse_args()
    backends = args.backends.split(",")
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "served").mkdir()
        with git_daemon(root / "served") as url:
            bench = Bench(root, url)
            verdicts = {backend: measure(bench, backend, args) for backend in backends}
            if not args.no_legacy:
                try:
                    old = legacy(bench, args.legacy_adds)
                    label = f"gitblobts 0.0.7: addblob + push, median of {args.legacy_adds}"
                    print(f"{label}: {ms(old)}")
                except Unavailable as why:
                    print(f"gitblobts 0.0.7: not measured ({why})")
    decided = verdicts[backends[0]]
    print(f"goals ({backends[0]} decides): {'all met' if decided else 'NOT all met'}")


if __name__ == "__main__":
    main()
