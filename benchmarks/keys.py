"""Benchmark: keys and content addresses (issue 17's goals), in the same run.

- ``getblob(key)`` on a store of 100,000 keys: at most 1.2× the same on a store of 1,000
  keys (random keys of each store, the two stores alternating; medians);
- ``keys()`` of the 100,000-key store: at most 2× ``git ls-tree -r`` of the same tree
  (alternating; medians; a store opened afresh for each listing, so no cache carries over);
- putting 10,000 blobs that are all present already: at most 0.25× the time of putting them
  the first time, and no commit (the branch's tip is unchanged).

The keyed stores are made as gitblobts makes them, quickly: a store records its
configuration with a first keyed add, then ``git fast-import`` commits one version and one
name record per key, at the paths gitblobts gives them (``gitblobts.core.keynames``).
Stores are bare, uncompressed, on the default backend unless ``--backends`` says more.

Run: ``python benchmarks/keys.py [--keys N] [--small N] [--puts N] [--backends dulwich,git]``.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from gitblobts import Nanoseconds, Store
from gitblobts.core.keynames import FANOUT_LIMIT, MAX_LEVEL, record_name, shard
from gitblobts.core.keynames import key_name as keynames_name
from gitblobts.core.naming import new_name
from gitblobts.core.plugins import load_plugins
from gitblobts.core.settings import DEFAULT_LAYOUT

GETBLOB_GOAL = 1.2
KEYS_GOAL = 2.0
PUT_GOAL = 0.25
START_NS = 1_764_000_000 * 10**9


def git(*args: str | Path, input: bytes | None = None) -> bytes:
    done = subprocess.run(["git", *map(str, args)], input=input, check=True, capture_output=True)
    return done.stdout


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def key_name(number: int) -> str:
    return f"sensor/{number:07d}"


def placed(key: str, entries: dict[str, int]) -> str:
    """Where gitblobts makes ``key``'s folder in a store whose shards hold ``entries`` (by
    shard; counted in)."""
    name = keynames_name(key, None)
    level = 1
    while entries.get(shard(name.id, level), 0) >= FANOUT_LIMIT and level < MAX_LEVEL:
        level += 1
    where = shard(name.id, level)
    if where not in entries and level > 1:
        parent = shard(name.id, level - 1)
        entries[parent] = entries.get(parent, 0) + 1
    entries[where] = entries.get(where, 0) + 1
    return f"{where}/{name.entry}"


def keyed_store(path: Path, keys: int) -> Path:
    """A bare store of ``keys`` keys (``sensor/0000000``…), one version each."""
    git("init", "-q", "--bare", "-b", "main", path)
    with Store(path, compression="none", push=False) as store:
        store.addblob(b"first", Nanoseconds(START_NS), key=key_name(0))
    layout = load_plugins(only=()).layouts.get(DEFAULT_LAYOUT)()
    parts: list[bytes] = []
    entries = {shard(keynames_name(key_name(0), None).id, 1): 1}
    for number in range(1, keys):
        key = key_name(number)
        folder = placed(key, entries)
        ns = START_NS + number * 10**9
        version = f"{folder}/{layout.path(ns, str(new_name(ns, ())))}"
        record = f"{folder}/{record_name(None)}"
        for file, data in ((version, b"version of %d" % number), (record, key.encode())):
            parts += [b"M 100644 inline %s\ndata %d\n" % (file.encode(), len(data)), data, b"\n"]
    head = git("-C", path, "rev-parse", "refs/heads/main").strip()
    message = b"%d keys\n" % (keys - 1)
    stream = b"".join(
        [
            b"commit refs/heads/main\ncommitter bench <bench@example.com> 1764000000 +0000\n",
            b"data %d\n%s" % (len(message), message),
            b"from %s\n" % head,
            *parts,
            b"\n",
        ]
    )
    git("-C", path, "fast-import", "--quiet", input=stream)
    return path


def alternate(
    first: Callable[[], object], second: Callable[[], object], rounds: int
) -> tuple[float, float]:
    """Medians of ``first`` and ``second``, timed in turn ``rounds`` times each."""
    a: list[float] = []
    b: list[float] = []
    for _ in range(rounds):
        a.append(timed(first))
        b.append(timed(second))
    return statistics.median(a), statistics.median(b)


def verdict(ratio: float, goal: float) -> str:
    return f"{ratio:.2f}× (goal ≤ {goal}×): {'met' if ratio <= goal else 'NOT met'}"


def measure(root: Path, backend: str, args: argparse.Namespace) -> bool:
    print(f"{backend}:")
    small = keyed_store(root / f"{backend}-small.git", args.small)
    large_started = time.perf_counter()
    large = keyed_store(root / f"{backend}-large.git", args.keys)
    print(f"  built a {args.keys:,}-key store in {time.perf_counter() - large_started:.1f} s")
    picker = random.Random(17)
    with Store(small, backend=backend) as few, Store(large, backend=backend) as many:
        assert few.getblob(key_name(args.small - 1)).blob == b"version of %d" % (args.small - 1)

        def get_few() -> None:
            few.getblob(key_name(picker.randrange(1, args.small)))

        def get_many() -> None:
            many.getblob(key_name(picker.randrange(1, args.keys)))

        small_get, large_get = alternate(get_few, get_many, args.gets)
    get_ratio = large_get / small_get
    print(
        f"  getblob(key): {small_get * 1000:.2f} ms on {args.small:,} keys, "
        f"{large_get * 1000:.2f} ms on {args.keys:,}: {verdict(get_ratio, GETBLOB_GOAL)}"
    )

    listed: list[int] = []

    def list_keys() -> None:
        with Store(large, backend=backend) as store:
            listed.append(sum(1 for _ in store.keys(prefix="")))

    def ls_tree() -> None:
        git("-C", large, "ls-tree", "-r", "refs/heads/main")

    ours, theirs = alternate(list_keys, ls_tree, args.listings)
    assert set(listed) == {args.keys}, f"keys() listed {set(listed)}, not {args.keys}"
    keys_ratio = ours / theirs
    print(
        f"  keys() of {args.keys:,}: {ours:.2f} s; git ls-tree -r: {theirs:.2f} s: "
        f"{verdict(keys_ratio, KEYS_GOAL)}"
    )

    content = root / f"{backend}-content.git"
    git("init", "-q", "--bare", "-b", "main", content)
    payload = [os.urandom(1024) for _ in range(args.puts)]
    with Store(content, backend=backend, push=False) as store:
        first = timed(lambda: [store.putblob(blob) for blob in payload])
        tip = git("-C", content, "rev-parse", "refs/heads/main")
        objects = git("-C", content, "count-objects", "-v")
        again = timed(lambda: [store.putblob(blob) for blob in payload])
        unchanged = tip == git("-C", content, "rev-parse", "refs/heads/main")
        no_objects = objects == git("-C", content, "count-objects", "-v")
    put_ratio = again / first
    print(
        f"  putblob of {args.puts:,} new: {first:.2f} s; all present again: {again:.2f} s: "
        f"{verdict(put_ratio, PUT_GOAL)}; no commit: {'yes' if unchanged else 'NO'}; "
        f"no object written: {'yes' if no_objects else 'NO'}"
    )
    return (
        get_ratio <= GETBLOB_GOAL
        and keys_ratio <= KEYS_GOAL
        and put_ratio <= PUT_GOAL
        and unchanged
        and no_objects
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--puts", type=int, default=10_000)
    parser.add_argument("--gets", type=int, default=200, help="getblob calls per store")
    parser.add_argument("--listings", type=int, default=3, help="keys() and ls-tree runs each")
    parser.add_argument("--backends", default="dulwich")
    args = parser.parse_args()
    backends = args.backends.split(",")
    with tempfile.TemporaryDirectory() as folder:
        met = {backend: measure(Path(folder), backend, args) for backend in backends}
    print(f"goals ({backends[0]} decides): {'all met' if met[backends[0]] else 'NOT all met'}")


if __name__ == "__main__":
    main()
