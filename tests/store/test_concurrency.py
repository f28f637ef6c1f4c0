"""Sharing a store: threads sharing one Store, processes sharing one repository, processes in
clones of their own sharing one remote. However their work interleaves, every add succeeds
once, nothing is lost or duplicated, and git finds the repositories sound."""

from __future__ import annotations

import inspect
import itertools
import math
import queue
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gitblobts import ConflictError, RepositoryError, Store
from gitblobts.core.backend import Backend
from gitblobts.core.locking import LockedBackend
from tests.helpers import seedformat
from tests.helpers.git import assert_fsck_clean, git
from tests.helpers.gitservers import HttpGitServer, make_bare_repo

HOUR = 3600
START = 1_700_000_000
"""2023-11-14T22:13:20Z, in seconds: the time around which the tests place blobs."""


def run_threads(
    targets: Iterable[Callable[[], None]], alongside: Iterable[Callable[[], None]] = ()
) -> list[BaseException]:
    """Run each of ``targets`` in a thread of its own and, until they have all returned,
    each of ``alongside`` over and over in another (at least once); return what any raised."""
    errors: list[BaseException] = []
    done = threading.Event()

    def guarded(work: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                work()
            except BaseException as error:  # reported by the caller
                errors.append(error)

        return run

    def repeated(work: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            while True:
                work()
                if done.is_set():
                    return

        return run

    background = [threading.Thread(target=guarded(repeated(work))) for work in alongside]
    threads = [threading.Thread(target=guarded(work)) for work in targets]
    for thread in [*background, *threads]:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    done.set()
    for thread in background:
        thread.join(timeout=600)
    assert not any(thread.is_alive() for thread in [*background, *threads]), "a thread hangs"
    return errors


def blob(writer: str, add: int, position: int = 0) -> bytes:
    """The ``position``th blob of a writer's ``add``th add: unique, of varied sizes."""
    return f"{writer}-{add}-{position}|".encode() * (1 + (add * 7 + position) % 40)


def commit_count(path: Path) -> int:
    return int(git(path, "rev-list", "--count", "HEAD"))


def clone(url: str, into: Path, bare: bool = False) -> Path:
    git(into.parent, "clone", "--quiet", *(["--bare"] if bare else []), url, str(into))
    return into


# Threads sharing one Store


def test_a_store_makes_every_backend_call_through_its_lock() -> None:
    # Class methods (Backend.clone) make a repository before any store opens one.
    verbs = {
        name
        for name in dir(Backend)
        if not name.startswith("_")
        and not isinstance(inspect.getattr_static(Backend, name), classmethod)
    } - {"name"}
    assert "clone" not in verbs
    assert verbs <= set(vars(LockedBackend))


WRITERS, ADDS, BATCH = 8, 25, 4
"""Writer threads, adds each, and blobs in every fifth add (an addblobs; the rest are
addblob)."""


def adds_of(writer: str) -> list[list[bytes]]:
    """A writer thread's adds, each a list of blobs."""
    return [
        [blob(writer, add, position) for position in range(BATCH if add % 5 == 0 else 1)]
        for add in range(ADDS)
    ]


@pytest.mark.parametrize("kind", ["bare", "non-bare"])
@pytest.mark.slow
def test_threads_adding_and_querying_through_one_store_lose_nothing(
    new_repo: Callable[[str], Path], kind: str
) -> None:
    path = new_repo(kind)
    store = Store(path)
    store.addblob(b"first")
    commits_before = commit_count(path)
    adds = {f"t{n}": adds_of(f"t{n}") for n in range(WRITERS)}
    expected = sorted([b"first", *(b for each in adds.values() for add in each for b in add)])
    counts: list[int] = []

    def add(writer: str) -> Callable[[], None]:
        def run() -> None:
            for blobs in adds[writer]:
                if len(blobs) == 1:
                    store.addblob(blobs[0])
                else:
                    store.addblobs(blobs)

        return run

    def query() -> None:
        found = list(store.getblobs())
        assert len({b.path for b in found}) == len(found)
        assert [b.timestamp_ns for b in found] == sorted(b.timestamp_ns for b in found)
        assert {b.blob for b in found} <= set(expected)

    def count() -> None:
        counts.append(store.count())
        assert sum(1 for _ in store.listblobs()) >= counts[-1]

    def verify() -> None:
        assert store.verify().ok

    errors = run_threads(map(add, adds), alongside=[query, count, verify])

    assert errors == []
    assert sorted(b.blob for b in store.getblobs()) == expected
    assert store.count() == len(expected)
    assert counts == sorted(counts)  # what was committed stays committed
    assert commit_count(path) == commits_before + WRITERS * ADDS  # one commit an add
    assert_fsck_clean(path)
    if kind == "non-bare":
        assert git(path, "status", "--porcelain") == ""


@pytest.mark.parametrize("kind", ["bare", "non-bare"])
def test_query_iterators_move_between_threads_and_keep_reading_the_commit_they_began_at(
    new_repo: Callable[[str], Path], kind: str
) -> None:
    path = new_repo(kind)
    store = Store(path)
    times = [START + 180 * i for i in range(120)]  # six hourly folders
    store.addblobs([blob("initial", i) for i in range(len(times))], times)
    initial = [(b.timestamp_ns, b.blob) for b in store.getblobs()]
    middle = (START + HOUR, START + 4 * HOUR)
    iterators: dict[str, Iterator[Any]] = {
        "ascending": store.getblobs(),
        "descending": store.getblobs(math.inf, -math.inf),
        "range": store.getblobs(*middle),
        "listed": store.listblobs(),
    }
    wanted: dict[str, list[Any]] = {
        "ascending": initial,
        "descending": initial[::-1],
        "range": [(t, b) for t, b in initial if middle[0] * 10**9 <= t <= middle[1] * 10**9],
        "listed": [t for t, _ in initial],
    }
    results: dict[str, list[Any]] = {name: [] for name in iterators}
    work: queue.Queue[tuple[str, Iterator[Any]] | None] = queue.Queue()
    for item in iterators.items():
        work.put(item)
    consumers = 4
    finished = itertools.count(1)

    def consume() -> None:
        # Take an iterator, read a few of its items, and hand it on to whichever thread
        # comes next; adds go on meanwhile.
        while (item := work.get()) is not None:
            name, iterator = item
            taken = list(itertools.islice(iterator, 7))
            results[name] += [
                x.timestamp_ns if name == "listed" else (x.timestamp_ns, x.blob) for x in taken
            ]
            if taken:
                work.put(item)
            elif next(finished) == len(iterators):
                for _ in range(consumers):
                    work.put(None)

    def add_into_the_same_folders() -> None:
        for i in range(30):
            store.addblob(blob("later", i), START + 180 * i + 90)
        store.addblobs([blob("later", i) for i in range(30, 40)])

    errors = run_threads([add_into_the_same_folders, *[consume] * consumers])

    assert errors == []
    assert results == wanted
    assert len(list(store.getblobs())) == len(initial) + 40
    assert_fsck_clean(path)
    if kind == "non-bare":
        assert git(path, "status", "--porcelain") == ""


@pytest.mark.parametrize("kind", ["bare", "non-bare"])
def test_closing_a_store_in_use_by_other_threads_stops_them_cleanly(
    new_repo: Callable[[str], Path], kind: str
) -> None:
    path = new_repo(kind)
    store = Store(path)
    initial = [blob("initial", i) for i in range(20)]
    store.addblobs(initial)
    unfinished = store.getblobs()
    next(unfinished)
    added: list[bytes] = []
    enough = threading.Event()

    def add_until_closed(writer: str) -> None:
        for i in itertools.count():
            data = blob(writer, i)
            if i % 3:
                store.addblob(data)
                added.append(data)
            else:
                store.addblobs([data, data + b"+"])
                added.extend([data, data + b"+"])
            if len(added) >= 60:
                enough.set()

    def add(writer: str) -> Callable[[], None]:
        def run() -> None:
            try:
                with pytest.raises(RepositoryError, match="closed"):
                    add_until_closed(writer)
            finally:
                enough.set()  # whatever went wrong, close

        return run

    def read_until_closed() -> None:
        while True:
            assert store.count() <= len(list(store.getblobs()))

    def read() -> None:
        with pytest.raises(RepositoryError, match="closed"):
            read_until_closed()

    def close() -> None:
        enough.wait(timeout=300)
        store.close()

    errors = run_threads([add("a"), add("b"), add("c"), read, read, close])

    assert errors == []
    with pytest.raises(RepositoryError, match="closed"):
        next(unfinished)
    with pytest.raises(RepositoryError, match="closed"):
        store.addblob(b"late")
    assert sorted(b.blob for b in Store(path).getblobs()) == sorted(initial + added)
    if kind == "non-bare":
        assert git(path, "status", "--porcelain") == ""


def test_an_add_overtaken_by_a_migration_in_another_thread_commits_nothing_old(
    new_repo: Callable[[str], Path],
) -> None:
    path = new_repo("empty")
    seedformat.write(path, [(START * 10**9, b"of 0.0.7")], None, None)
    store = Store(path)  # in gitblobts 0.0.7's format (format 1)
    halfway, migrated = threading.Event(), threading.Event()

    def blobs() -> Iterator[bytes]:
        yield b"written in format 1"
        halfway.set()
        migrated.wait(timeout=300)
        yield b"and one more"

    def add() -> None:
        with pytest.raises(ConflictError, match="migrated"):
            store.addblobs(blobs(), [START + 1.0, START + 2.0])

    def migrate() -> None:
        halfway.wait(timeout=300)
        Store(path).migrate()
        store.count()  # the store follows the migration
        migrated.set()

    assert run_threads([add, migrate]) == []
    assert [b.blob for b in Store(path).getblobs()] == [b"of 0.0.7"]
    assert not [name for name in seedformat.stored_files(path) if name.endswith(".AQ==")]
    store.addblob(b"added again", START + 1)
    assert [b.blob for b in Store(path).getblobs()] == [b"of 0.0.7", b"added again"]


@pytest.mark.slow
def test_threads_pushing_and_pulling_through_one_store_lose_nothing(tmp_path: Path) -> None:
    remote = make_bare_repo(tmp_path, "blobs.git")
    Store(clone(str(remote), tmp_path / "seed")).addblob(b"seed")
    mine = Store(clone(str(remote), tmp_path / "mine"))
    theirs = Store(clone(str(remote), tmp_path / "theirs", bare=True))
    writers, adds = 4, 8

    def add(store: Store, writer: str) -> Callable[[], None]:
        def run() -> None:
            for i in range(adds):
                store.addblob(blob(writer, i))  # and push

        return run

    def pull() -> None:
        assert len(list(mine.getblobs(pull=True))) >= 1

    targets = [add(mine, f"m{n}") for n in range(writers)] + [add(theirs, "other")]
    errors = run_threads(targets, alongside=[pull, mine.push])

    assert errors == []
    expected = sorted(
        [b"seed"]
        + [blob(f"m{n}", i) for n in range(writers) for i in range(adds)]
        + [blob("other", i) for i in range(adds)]
    )
    for store in (mine, theirs):
        store.pull()
        assert sorted(b.blob for b in store.getblobs()) == expected
        assert store.unpushed == 0
    assert sorted(b.blob for b in Store(remote).getblobs()) == expected
    assert git(tmp_path / "mine", "status", "--porcelain") == ""
    for path in (remote, tmp_path / "mine", tmp_path / "theirs"):
        assert_fsck_clean(path)


# Processes sharing one repository

WRITER = """
import sys
from gitblobts import Store
store = Store(sys.argv[1])
name = sys.argv[2]
for i in range(int(sys.argv[3])):
    store.addblob(f"{name}-{i}".encode())
store.addblobs([f"{name}-batch-{i}".encode() for i in range(10)])
"""


@pytest.mark.parametrize("kind", ["non-bare", "bare"])
@pytest.mark.slow
def test_processes_adding_at_once_all_succeed_and_nothing_is_lost(
    new_repo: Callable[[str], Path], kind: str
) -> None:
    path = new_repo(kind)
    Store(path).addblob(b"first")  # the configuration exists before the race
    commits_before = commit_count(path)
    writers, adds = 3, 25
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), f"w{n}", str(adds)],
            stderr=subprocess.PIPE,
        )
        for n in range(writers)
    ]
    errors = [p.communicate(timeout=300)[1].decode() for p in processes]

    assert [p.returncode for p in processes] == [0] * writers, errors
    stored = sorted(b.blob for b in Store(path).getblobs())
    expected = sorted(
        [b"first"]
        + [
            f"w{n}-{suffix}".encode()
            for n in range(writers)
            for suffix in [*map(str, range(adds)), *(f"batch-{i}" for i in range(10))]
        ]
    )
    assert stored == expected  # each once
    assert commit_count(path) == commits_before + writers * (adds + 1)  # one commit an add
    assert_fsck_clean(path)
    if kind == "non-bare":
        assert git(path, "status", "--porcelain") == ""


def test_two_stores_in_one_process_do_not_disturb_each_other(
    new_repo: Callable[[str], Path],
) -> None:
    import gitblobts

    key = gitblobts.generate_key()
    one = Store(new_repo("non-bare"), compression="gzip", layout="flat")
    two = Store(new_repo("bare"), compression="lzma", key=key)

    one.addblob(b"one")
    two.addblob(b"two")

    assert [b.path.endswith(".v2.gz") for b in one.getblobs()] == [True]
    assert [b.path.endswith(".v2.xz.aes256gcm") for b in two.getblobs()] == [True]
    assert [b.blob for b in one.getblobs()] == [b"one"]
    assert [b.blob for b in two.getblobs()] == [b"two"]


# Processes in clones of their own sharing one remote

CLONE_WRITER = """
import sys
from gitblobts import Store
store = Store(sys.argv[1], push=False)
name = sys.argv[2]
for i in range(int(sys.argv[3])):
    if i % 5:
        store.addblob(f"{name}-{i}".encode())
    else:  # and push what is committed so far
        store.addblobs([f"{name}-{i}".encode(), f"{name}-{i}+".encode()], push=True)
store.push()
"""


@pytest.fixture(params=["path", "http"])
def shared_remote(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, str]:
    """A bare repository, and the URL clones reach it at: its path, or smart HTTP."""
    if request.param == "path":
        served = make_bare_repo(tmp_path, "blobs.git")
        return served, str(served)
    server = request.getfixturevalue("http_git_server")
    assert isinstance(server, HttpGitServer)
    served = make_bare_repo(request.getfixturevalue("git_server_root"), "blobs.git")
    return served, server.url("blobs.git")


@pytest.mark.slow
def test_processes_in_their_own_clones_share_one_remote_and_lose_nothing(
    shared_remote: tuple[Path, str], tmp_path: Path
) -> None:
    served, url = shared_remote
    Store(clone(url, tmp_path / "seed")).addblob(b"seed")  # configured before the race
    writers, adds = 4, 25
    clones = [clone(url, tmp_path / f"w{n}", bare=n % 2 == 1) for n in range(writers)]
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", CLONE_WRITER, str(path), f"w{n}", str(adds)],
            stderr=subprocess.PIPE,
        )
        for n, path in enumerate(clones)
    ]
    errors = [p.communicate(timeout=600)[1].decode() for p in processes]

    assert [p.returncode for p in processes] == [0] * writers, errors
    expected = sorted(
        [b"seed"]
        + [f"w{n}-{i}".encode() for n in range(writers) for i in range(adds)]
        + [f"w{n}-{i}+".encode() for n in range(writers) for i in range(0, adds, 5)]
    )
    assert sorted(b.blob for b in Store(served).getblobs()) == expected
    for n, path in enumerate(clones):
        store = Store(path)
        assert sorted(b.blob for b in store.getblobs(pull=True)) == expected
        assert store.unpushed == 0
        assert_fsck_clean(path)
        if n % 2 == 0:  # non-bare
            assert git(path, "status", "--porcelain") == ""
    assert_fsck_clean(served)
