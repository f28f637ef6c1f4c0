"""AsyncStore: the store's methods as coroutines and its queries as async iterators, run on
one worker thread the async store owns, so that the event loop never waits for git."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import random
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitblobts import AsyncStore, Nanoseconds, RepositoryError, Store
from tests.helpers.git import git
from tests.helpers.gitservers import GitDaemon, make_bare_repo


def workers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("gitblobts-async")]


def test_blobs_added_by_coroutines_come_back_by_async_iteration(repo: Path) -> None:
    async def main() -> tuple[list[bytes], int, int, list[int]]:
        async with AsyncStore(repo) as store:
            await store.addblob(b"one", Nanoseconds(1))
            await store.addblobs([b"two", b"three"], [Nanoseconds(2), Nanoseconds(3)])
            got = [blob.blob async for blob in store.getblobs(Nanoseconds(2))]
            listed = [info.timestamp_ns for info in await store.listblobs()]
            report = await store.verify()
            return got, await store.count(), len(report.problems), listed

    assert asyncio.run(main()) == ([b"two", b"three"], 3, 0, [1, 2, 3])


def test_a_query_of_more_blobs_than_a_batch_yields_them_all_in_order(repo: Path) -> None:
    Store(repo).addblobs([b"%d" % i for i in range(40)], [Nanoseconds(i) for i in range(40)])

    async def main() -> list[int]:
        async with AsyncStore(repo) as store:
            return [blob.timestamp_ns async for blob in store.getblobs(39, 0)]

    assert asyncio.run(main()) == list(range(39, -1, -1))


def test_async_with_closes_the_store_and_ends_its_worker(repo: Path) -> None:
    async def main() -> AsyncStore:
        async with AsyncStore(repo) as store:
            await store.addblob(b"one")
            assert len(workers()) == 1
        return store

    store = asyncio.run(main())

    assert workers() == []
    with pytest.raises(RepositoryError, match="closed"):
        asyncio.run(store.count())


def test_a_store_that_does_not_open_raises_at_async_with(tmp_path: Path) -> None:
    async def main() -> None:
        async with AsyncStore(tmp_path / "nowhere"):
            pass

    with pytest.raises(RepositoryError, match="no such directory"):
        asyncio.run(main())
    assert workers() == []


def test_an_async_store_left_unclosed_ends_its_worker_when_collected(repo: Path) -> None:
    async def main() -> None:
        store = AsyncStore(repo)
        await store.addblob(b"one")

    asyncio.run(main())
    gc.collect()
    deadline = time.monotonic() + 10
    while workers() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert workers() == []
    assert [blob.blob for blob in Store(repo).getblobs()] == [b"one"]


UNCLOSED_AT_EXIT = """
import asyncio, sys
from gitblobts import AsyncStore

async def main():
    store = AsyncStore(sys.argv[1])
    await store.addblob(b"left open")
    sys.modules["__main__"].kept = store  # still referenced when the interpreter exits

asyncio.run(main())
"""


def test_an_async_store_left_open_at_exit_lets_the_interpreter_end(repo: Path) -> None:
    process = subprocess.run(
        [sys.executable, "-c", UNCLOSED_AT_EXIT, str(repo)],
        capture_output=True,
        timeout=60,
        check=False,
    )

    assert process.returncode == 0, process.stderr.decode()
    assert process.stderr == b""
    assert [blob.blob for blob in Store(repo).getblobs()] == [b"left open"]


def test_a_cancelled_add_lands_whole_if_begun_and_not_at_all_if_queued(repo: Path) -> None:
    begun, release = threading.Event(), threading.Event()

    def slow_blobs() -> Iterator[bytes]:
        yield b"first"
        begun.set()
        release.wait(10)
        yield b"second"

    async def main() -> list[bytes]:
        async with AsyncStore(repo) as store:
            running = asyncio.ensure_future(store.addblobs(slow_blobs()))
            queued = asyncio.ensure_future(store.addblob(b"queued"))
            while not begun.is_set():
                await asyncio.sleep(0.001)
            running.cancel()
            queued.cancel()
            release.set()
            for task in (running, queued):
                with pytest.raises(asyncio.CancelledError):
                    await task
            # The branch says what landed: the add the worker had begun, whole.
            return [blob.blob async for blob in store.getblobs()]

    assert asyncio.run(main()) == [b"first", b"second"]


def test_a_shielded_add_keeps_its_references_when_the_awaiting_task_is_cancelled(
    repo: Path,
) -> None:
    async def main() -> bool:
        async with AsyncStore(repo) as store:
            add = asyncio.ensure_future(store.addblob(b"kept"))
            waiter = asyncio.ensure_future(asyncio.shield(add))
            await asyncio.sleep(0)
            waiter.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiter
            ref = await add
            return [blob.path async for blob in store.getblobs()] == [ref.path]

    assert asyncio.run(main())


def test_flush_returns_once_a_background_store_pushed_every_add(
    git_daemon: GitDaemon, git_server_root: Path, tmp_path: Path
) -> None:
    served = make_bare_repo(git_server_root, "flushed.git")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "--quiet", git_daemon.url(served.name), str(clone))

    async def main() -> int:
        options = {"push": "background", "push_interval": 3600.0}
        async with AsyncStore(clone, **options) as store:
            for i in range(3):
                await store.addblob(b"%d" % i, Nanoseconds(i))
            waiting = await store.run(lambda s: s.unpushed)
            await store.flush(timeout=60)
            assert await store.run(lambda s: s.unpushed) == 0
            return waiting

    assert asyncio.run(main()) == 3  # the interval held the pushes back: flush sent them
    assert [blob.blob for blob in Store(served, push=False).getblobs()] == [b"0", b"1", b"2"]


def test_run_calls_a_function_of_the_store_on_the_worker(repo: Path) -> None:
    async def main() -> tuple[str, int]:
        async with AsyncStore(repo) as store:
            return await store.run(lambda s: (threading.current_thread().name, s.unpushed))

    name, unpushed = asyncio.run(main())
    assert name.startswith("gitblobts-async")
    assert unpushed == 0


def test_an_async_follower_sees_a_blob_added_while_it_waits(repo: Path) -> None:
    async def main() -> list[bytes]:
        async with AsyncStore(repo) as store:
            await store.addblob(b"before", Nanoseconds(1))
            seen: list[bytes] = []
            follower = store.follow(interval=0.02)
            async for blob in follower:
                seen.append(blob.blob)
                if len(seen) == 1:
                    await store.addblob(b"after", Nanoseconds(2))
                else:
                    break
            await follower.aclose()
            return seen

    assert asyncio.run(main()) == [b"before", b"after"]


TICK = 0.010
MAX_LATE = 0.050


ATTEMPTS = 3
"""A call that holds the event loop up does so on every attempt; a machine that has no core
for the loop's thread for a moment (another process's burst) does not. The test runs alone
(marked ``alone``): in a parallel run, the other tests' load leaves the loop no core."""


@pytest.mark.slow
@pytest.mark.alone
def test_the_event_loop_keeps_ticking_while_the_store_adds_reads_and_pushes(
    git_daemon: GitDaemon, git_server_root: Path, tmp_path: Path
) -> None:
    worst: list[float] = []
    for attempt in range(ATTEMPTS):
        late = _ticking_while_working(git_daemon, git_server_root, tmp_path / str(attempt))
        assert len(late) > 10
        worst.append(max(late))
        if worst[-1] <= MAX_LATE:
            break

    ms = [round(late * 1000) for late in worst]
    assert min(worst) <= MAX_LATE, f"the latest tick of each attempt, in ms: {ms}"


def _ticking_while_working(
    git_daemon: GitDaemon, git_server_root: Path, folder: Path
) -> list[float]:
    """How late each 10 ms tick of a task on the loop is while an async store adds 10,000
    blobs, adds and reads back a 100 MB blob and pushes it all to a git daemon."""
    folder.mkdir()
    served = make_bare_repo(git_server_root, f"{folder.name}.git")
    clone = folder / "clone"
    git(folder, "clone", "--quiet", git_daemon.url(served.name), str(clone))
    digest = hashlib.sha256()
    for piece in _big_blob():
        digest.update(piece)

    async def ticker(stop: asyncio.Event, late: list[float]) -> None:
        loop = asyncio.get_running_loop()
        scheduled = loop.time()
        while not stop.is_set():
            scheduled += TICK
            await asyncio.sleep(max(0.0, scheduled - loop.time()))
            late.append(loop.time() - scheduled)
            scheduled = max(scheduled, loop.time() - TICK)  # a late tick does not pile up

    async def work(store: AsyncStore) -> tuple[int, str, int]:
        refs = await store.addblobs((b"small %d" % i for i in range(10_000)), push=False)
        blob = await store.addblob(_big_blob(), Nanoseconds(1), push=False)
        read = [b async for b in store.getblobs(Nanoseconds(1), Nanoseconds(1))]
        assert [b.path for b in read] == [blob.path]
        read_digest = await store.run(lambda s: hashlib.sha256(read[0].blob).hexdigest())
        pushed = await store.push()
        return len(refs), read_digest, pushed.pushed

    async def main() -> tuple[tuple[int, str, int], list[float]]:
        late: list[float] = []
        stop = asyncio.Event()
        async with AsyncStore(clone, compression="none") as store:
            ticking = asyncio.ensure_future(ticker(stop, late))
            try:
                result = await work(store)
            finally:
                stop.set()
                await ticking
        return result, late

    # A full garbage collection pauses every thread for as long as it walks the heap, the
    # test runner's too: leave what existed before the test out of it, as a program with
    # a latency bound does after starting (see docs/usage.rst).
    gc.freeze()
    try:
        (added, read_digest, pushed), late = asyncio.run(main())
    finally:
        gc.unfreeze()

    assert (added, read_digest) == (10_000, digest.hexdigest())
    assert pushed >= 1
    assert git(served, "rev-parse", "main").strip()
    return late


def _big_blob() -> Iterator[bytes]:
    """The 100 MB blob of the ticker test, in 1 MiB pieces, the same each time."""
    chunks = random.Random(16)
    for _ in range(100):
        yield chunks.randbytes(1 << 20)
