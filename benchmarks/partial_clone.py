"""Benchmark: a one-hour query in a fresh partial clone of a large remote store, against the
same query in a fresh full clone, both over ``git daemon`` on loopback (issue 18, benchmark
(b)).

The remote is a bare store of ``--blobs`` 1 KiB blobs (``os.urandom``, zstd, no key, in
``--layout``, by default the default layout), one every ``--every`` seconds (default 20)
going back from a fixed moment, written with one ``addblobs`` call; the daemon serves it with
``uploadpack.allowFilter``. It is measured as written, then (unless ``--no-gc``) after a
``git gc``, which packs it with reachability bitmaps as hosting services keep theirs.

Each side clones it bare into a new folder (``gitblobts.clone(url, dir, partial=...)``) and
reads the middle hour (``list(store.getblobs(start, end))``), clone included in its time.
The two sides take turns, ``--rounds`` times, for each backend; times are medians. The bytes
the server sends are counted once per side by a byte-counting TCP proxy between the client
and the daemon (timed runs go to the daemon directly). Every read is checked against the
blobs written.

Goals: the partial side's bytes at most 10% of the full side's, its time at most 0.25×.

Run: ``python benchmarks/partial_clone.py [--blobs N] [--rounds N] [--backends dulwich,git]
[--layout NAME] [--no-gc]``. Needs ``git daemon`` (Debian: git). Figures and what they mean:
``docs/performance.md``, "Partial clones".
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import gitblobts
from gitblobts import Nanoseconds, Store, load_plugins

SECOND = 10**9
STEP = 20 * SECOND
"""One blob every 20 seconds, unless ``--every`` says otherwise."""
HOUR = 3600 * SECOND
END = Nanoseconds(1_790_000_000 * SECOND)
"""The newest blob's time (2026-09-21), fixed so that runs are alike."""
BYTES_GOAL = 0.10
TIME_GOAL = 0.25


@dataclass
class Remote:
    start: Nanoseconds
    end: Nanoseconds
    expected: list[bytes]
    """The blobs of the queried hour, in time order."""
    blobs: int


@dataclass
class Side:
    seconds: float
    blobs_read: int
    correct: bool
    blob_objects: int
    """Blob objects in the clone after the query (asked without fetching)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise RuntimeError(f"nothing listens on port {port}")


def build_remote(
    served: Path, blobs: int, layout: str | None, step: int = STEP
) -> tuple[Path, list[int], dict[int, bytes], float]:
    """A bare store of ``blobs`` blobs as ``served/blobs.git`` (in ``layout``, ``None``: the
    default); its times, the contents of the middle hour's blobs by time, and how long the
    build took."""
    repo = served / "blobs.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "config", "uploadpack.allowFilter", "true"], check=True)
    times = [END - (blobs - 1 - i) * step for i in range(blobs)]
    payload = [os.urandom(1024) for _ in times]
    middle = times[len(times) // 2]
    kept = {t: p for t, p in zip(times, payload, strict=True) if middle <= t < middle + HOUR}
    began = time.perf_counter()
    with Store(repo, push=False, backend="dulwich", layout=layout) as store:
        store.addblobs(payload, [Nanoseconds(t) for t in times])
    return repo, times, kept, time.perf_counter() - began


@contextlib.contextmanager
def git_daemon(served: Path) -> Iterator[int]:
    """A git daemon serving ``served`` on loopback; yields its port."""
    port = free_port()
    daemon = subprocess.Popen(
        ["git", "daemon", "--reuseaddr", f"--base-path={served}", "--export-all",
         "--listen=127.0.0.1", f"--port={port}", str(served)],
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for(port)
        yield port
    finally:
        daemon.terminate()
        daemon.wait(timeout=10)


class CountingProxy:
    """A TCP proxy on loopback to ``port`` that counts the bytes the server sends."""

    def __init__(self, port: int) -> None:
        self._target = port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self.received = 0
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self._target))
            for source, sink, counted in ((client, server, False), (server, client, True)):
                thread = threading.Thread(
                    target=self._copy, args=(source, sink, counted), daemon=True
                )
                thread.start()
                self._threads.append(thread)

    def _copy(self, source: socket.socket, sink: socket.socket, counted: bool) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(1 << 20):
                if counted:  # before passing it on: a client may hang up once it has all
                    with self._lock:
                        self.received += len(data)
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def settled(self) -> int:
        """The bytes received so far, once every connection has ended."""
        for thread in self._threads:
            thread.join(timeout=30)
        return self.received


def blob_objects(clone: Path) -> int:
    """How many blob objects ``clone`` holds (git asked without letting it fetch)."""
    listed = subprocess.run(
        ["git", "-C", str(clone), "cat-file", "--batch-all-objects",
         "--batch-check=%(objecttype)"],
        env={**os.environ, "GIT_NO_LAZY_FETCH": "1"},
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return listed.split().count("blob")


def run_side(remote: Remote, clone: Path, backend: str, partial: bool, url: str) -> Side:
    """Clone ``url`` into ``clone`` and read the hour; the time both took."""
    began = time.perf_counter()
    store = gitblobts.clone(url, clone, partial=partial, bare=True, backend=backend, push=False)
    with store:
        read = list(store.getblobs(remote.start, remote.end))
    seconds = time.perf_counter() - began
    contents = [blob.blob for blob in read]
    side = Side(seconds, len(read), contents == remote.expected, blob_objects(clone))
    shutil.rmtree(clone)
    return side


def measure(
    remote: Remote,
    port: int,
    proxy: CountingProxy,
    work: Path,
    backend: str,
    rounds: int,
    state: str,
) -> None:
    """Both sides on ``backend``, taking turns, then once each through the proxy; print the
    figures of the remote in ``state``."""
    label = f"{state}, {backend}"
    url = f"git://127.0.0.1:{port}/blobs.git"
    sides: dict[bool, list[Side]] = {False: [], True: []}
    for number in range(rounds):
        order = (False, True) if number % 2 == 0 else (True, False)
        for partial in order:
            sides[partial].append(run_side(remote, work / "clone", backend, partial, url))
            print(f"  {label} round {number + 1}: {name(partial)} "
                  f"{sides[partial][-1].seconds:.2f} s", file=sys.stderr)  # fmt: skip
    sent: dict[bool, int] = {}
    for partial in (False, True):
        before = proxy.settled()
        via_proxy = f"git://127.0.0.1:{proxy.port}/blobs.git"
        sides[partial].append(run_side(remote, work / "clone", backend, partial, via_proxy))
        sent[partial] = proxy.settled() - before
    times = {
        partial: statistics.median(s.seconds for s in sides[partial][:rounds]) for partial in sides
    }
    for partial in (False, True):
        runs = sides[partial]
        correct = all(s.correct and s.blobs_read == len(remote.expected) for s in runs)
        objects = sorted({s.blob_objects for s in runs})
        print(f"{label} {name(partial)}: {len(remote.expected)} blobs of the hour read, "
              f"{'all correct' if correct else 'WRONG'} in {len(runs)} runs; "
              f"blob objects in the clone after the query: "
              f"{'/'.join(str(n) for n in objects)} of {remote.blobs}")  # fmt: skip
        print(f"{label} {name(partial)}: median {times[partial]:.2f} s "
              f"(runs {', '.join(f'{s.seconds:.2f}' for s in runs[:rounds])}); "
              f"server sent {sent[partial] / 2**20:.2f} MiB")  # fmt: skip
    verdict(label, "bytes", sent[True] / sent[False], BYTES_GOAL)
    verdict(label, "time", times[True] / times[False], TIME_GOAL)


def name(partial: bool) -> str:
    return "partial" if partial else "full"


def verdict(label: str, what: str, ratio: float, goal: float) -> None:
    met = "met" if ratio <= goal else "NOT met"
    print(f"{label}: {what} partial/full = {ratio:.3f} (goal <= {goal}): {met}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--blobs", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backends", default="dulwich,git")
    parser.add_argument("--layout", help="the remote store's layout (default: the default's)")
    parser.add_argument(
        "--every", type=float, default=20.0, help="seconds between two blobs (default 20)"
    )
    parser.add_argument(
        "--no-gc", action="store_true", help="measure the remote as written only, not after gc"
    )
    args = parser.parse_args()
    installed = load_plugins(only=()).backends
    backends = [b for b in args.backends.split(",") if b in installed]
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        served = root / "served"
        served.mkdir()
        repo, times, kept, build = build_remote(
            served, args.blobs, args.layout, round(args.every * SECOND)
        )
        middle = times[len(times) // 2]
        expected = [kept[t] for t in sorted(kept)]
        remote = Remote(Nanoseconds(middle), Nanoseconds(middle + HOUR - 1), expected, args.blobs)
        print(
            f"{args.blobs} x 1 KiB blobs, one every {args.every:g} s, zstd, no key, layout "
            f"{args.layout or 'default'}, bare remote; built with one addblobs in {build:.1f} s; "
            f"the query reads {len(expected)} blobs; {args.rounds} rounds"
        )
        states = ["as written"] if args.no_gc else ["as written", "after git gc"]
        with git_daemon(served) as port:
            proxy = CountingProxy(port)  # one for the run: each side counts what it adds
            for state in states:
                if state == "after git gc":
                    began = time.perf_counter()
                    subprocess.run(["git", "-C", str(repo), "gc", "--quiet"], check=True)
                    print(f"git gc of the remote (a pack with bitmaps, as hosts keep): "
                          f"{time.perf_counter() - began:.1f} s")  # fmt: skip
                for backend in backends:
                    measure(remote, port, proxy, root, backend, args.rounds, state)


if __name__ == "__main__":
    main()
