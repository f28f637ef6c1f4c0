"""Background pushing (``push="background"``): adds return once committed, a worker thread
of the store pushes them, coalesced, and flush() waits until they are on the remote. Real
git daemon and smart HTTP servers on loopback."""

from __future__ import annotations

import gc
import logging
import os
import subprocess
import sys
import threading
import time
import weakref
from pathlib import Path

import pytest

from gitblobts import (
    ArgumentError,
    ArgumentTypeError,
    PushRejectedError,
    RemoteError,
    Store,
)
from tests.helpers.git import git
from tests.helpers.gitservers import GitServer, make_accepting, make_bare_repo, make_rejecting


@pytest.fixture(params=["git_daemon", "http_git_server"])
def server(request: pytest.FixtureRequest) -> GitServer:
    """A git daemon, then a smart HTTP server, on loopback."""
    served: GitServer = request.getfixturevalue(request.param)
    return served


def served_repo(server: GitServer) -> Path:
    """A bare repository on ``server`` that logs each update of its branches (one a push)."""
    repo = make_bare_repo(server.root, "blobs.git")
    git(repo, "config", "core.logAllRefUpdates", "always")
    return repo


def clone(server: GitServer, into: Path) -> Path:
    git(into.parent, "clone", "--quiet", server.url("blobs.git"), str(into))
    return into


def served_blobs(repo: Path) -> int:
    """How many blob files the server's main branch holds."""
    found = subprocess.run(
        ["git", "-C", str(repo), "ls-tree", "-r", "--name-only", "main"],
        capture_output=True,
        text=True,
        check=False,
    )
    return sum(".v2" in name for name in found.stdout.split())


def pushes(repo: Path) -> int:
    """How many times the server's main branch moved."""
    return len(git(repo, "reflog", "show", "main").splitlines())


def worker_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("gitblobts push")]


def test_flush_delivers_every_add(server: GitServer, tmp_path: Path) -> None:
    served = served_repo(server)
    with Store(clone(server, tmp_path / "w"), push="background", push_interval=0.2) as store:
        refs = [store.addblob(b"blob %d" % n, n + 1) for n in range(20)]
        store.flush(timeout=30)
        assert store.unpushed == 0
        assert store.unpushed_age is None
    assert served_blobs(served) == len(refs)


def test_pushes_are_coalesced(server: GitServer, tmp_path: Path) -> None:
    served = served_repo(server)
    with Store(clone(server, tmp_path / "w"), push="background", push_interval=1.0) as store:
        started = time.monotonic()
        for n in range(40):
            store.addblob(b"blob %d" % n, n + 1)
        store.flush(timeout=30)
        took = time.monotonic() - started
    assert served_blobs(served) == 40
    assert pushes(served) <= took / 1.0 + 2  # one per interval, and the flush's
    assert pushes(served) < 10


def test_adds_right_after_opening_wait_for_the_interval_and_go_in_one_push(
    server: GitServer, tmp_path: Path
) -> None:
    served = served_repo(server)
    with Store(clone(server, tmp_path / "w"), push="background", push_interval=60) as store:
        for n in range(5):  # before the worker first looks, or after: the same
            store.addblob(b"blob %d" % n, n + 1)
        time.sleep(0.5)  # time for a worker that wrongly pushes at once to do it
        assert served_blobs(served) == 0  # nothing pushed yet: the branch is not there
        store.flush(timeout=30)
    assert pushes(served) == 1
    assert served_blobs(served) == 5


def test_an_add_returns_before_its_push(server: GitServer, tmp_path: Path) -> None:
    served = served_repo(server)
    with Store(clone(server, tmp_path / "w"), push="background", push_interval=60) as store:
        store.addblob(b"first", 1)
        store.flush(timeout=30)  # the interval's slot is taken: the next waits for it
        store.addblob(b"second", 2)
        assert store.unpushed == 1
        age = store.unpushed_age
        assert age is not None
        assert 0 <= age < 30
        assert served_blobs(served) == 1
        store.flush(timeout=30)
        assert served_blobs(served) == 2


def test_an_add_is_pushed_within_the_interval_without_flush(
    git_daemon: GitServer, tmp_path: Path
) -> None:
    served = served_repo(git_daemon)
    with Store(clone(git_daemon, tmp_path / "w"), push="background", push_interval=0.2) as store:
        store.addblob(b"on its own", 1)
        deadline = time.monotonic() + 20
        # The remote has the blob once the push lands, the store knows it once it returns.
        while served_blobs(served) < 1 or store.unpushed != 0:
            assert time.monotonic() < deadline, "the add was never pushed"
            time.sleep(0.05)
        assert served_blobs(served) == 1


def test_threads_adding_while_the_worker_pushes_lose_nothing(
    server: GitServer, tmp_path: Path
) -> None:
    served = served_repo(server)
    with Store(clone(server, tmp_path / "w"), push="background", push_interval=0.05) as store:

        def add(thread: int) -> None:
            for n in range(15):
                store.addblob(b"%d-%d" % (thread, n), thread * 100 + n + 1)

        threads = [threading.Thread(target=add, args=(t,)) for t in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        store.flush(timeout=60)
    assert served_blobs(served) == 60


WRITER = """
import sys, time
from gitblobts import Store
store = Store(sys.argv[1], push="background", push_interval=3600)
store.addblob(b"pushed", 1)
store.flush(timeout=30)
for n in range(5):
    store.addblob(b"waiting %d" % n, n + 2)
print("ready", flush=True)
time.sleep(600)
"""


def test_adds_go_on_while_a_push_waits_on_the_remote(server: GitServer, tmp_path: Path) -> None:
    served = served_repo(server)
    entered, release = tmp_path / "push-entered", tmp_path / "push-released"
    hook = served / "hooks" / "pre-receive"
    hook.parent.mkdir(exist_ok=True)
    hook.write_text(  # holds the push on the server until the test releases it
        f"#!/bin/sh\ncat >/dev/null\ntouch {entered}\n"
        f"for i in $(seq 1200); do [ -e {release} ] && exit 0; sleep 0.1; done\nexit 1\n"
    )
    hook.chmod(0o755)
    with Store(clone(server, tmp_path / "w"), push="background", push_interval=0) as store:
        store.addblob(b"pushed first", 1)
        deadline = time.monotonic() + 60
        while not entered.exists():  # the worker's push is now held by the server
            assert time.monotonic() < deadline, "the push never reached the server"
            time.sleep(0.05)
        adding = threading.Thread(
            target=lambda: [store.addblob(b"meanwhile %d" % n, n + 2) for n in range(3)]
        )
        adding.start()
        adding.join(timeout=60)  # a deadlock bound, far below the hook's two minutes
        held = adding.is_alive()
        release.touch()
        adding.join()
        assert not held, "the adds waited for the push"
        assert served_blobs(served) == 0
        assert store.count() == 4
        store.flush(timeout=60)
    assert served_blobs(served) == 4


def test_commits_of_a_killed_writer_are_pushed_by_the_next_store(
    server: GitServer, tmp_path: Path
) -> None:
    served = served_repo(server)
    work = clone(server, tmp_path / "w")
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(work)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline() == "ready\n"
    finally:
        writer.kill()
        writer.wait()
    assert served_blobs(served) == 1
    assert Store(work, push=False).unpushed == 5

    with Store(work, push="background", push_interval=3600) as store:
        deadline = time.monotonic() + 30
        while served_blobs(served) < 6:  # resumed on open, without a flush
            assert time.monotonic() < deadline, "the commits left were never pushed"
            time.sleep(0.05)
        store.flush(timeout=30)
    assert served_blobs(served) == 6


def test_a_remote_down_for_a_while_gets_everything_once_back(
    server: GitServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    served = served_repo(server)
    work = clone(server, tmp_path / "w")
    with Store(work, push="background", push_interval=0.05) as store:
        store.addblob(b"before", 1)
        store.flush(timeout=30)
        server.stop()
        with caplog.at_level(logging.WARNING, logger="gitblobts"):
            for n in range(5):
                store.addblob(b"while down %d" % n, n + 2)
            with pytest.raises(RemoteError, match=r"5 commit\(s\).*not pushed") as raised:
                store.flush(timeout=1.5)
            assert "the last push failed" in str(raised.value)
            failure = store.push_failure
            assert failure is not None
            assert failure.attempts >= 1
            failing = [r for r in caplog.records if "background push failed" in r.message]
            assert len(failing) == 1  # once per streak, not per attempt
            server.start()
            store.flush(timeout=60)
        assert store.push_failure is None
    assert served_blobs(served) == 6


def test_another_process_sees_the_failure_of_background_pushes(
    git_daemon: GitServer, tmp_path: Path
) -> None:
    served_repo(git_daemon)
    work = clone(git_daemon, tmp_path / "w")
    with Store(work, push="background", push_interval=0.05) as store:
        git_daemon.stop()
        store.addblob(b"waits", 1)
        with pytest.raises(RemoteError):
            store.flush(timeout=1)
        seen = Store(work, push=False).push_failure  # as gitblobts status opens it
        assert seen is not None
        assert seen.pid == os.getpid()
        assert seen.attempts >= 1
        assert seen.branch == "refs/heads/main"
        git_daemon.start()
        store.flush(timeout=30)
        assert Store(work, push=False).push_failure is None


EXITING = """
import sys
from gitblobts import Store
store = Store(sys.argv[1], push="background", push_interval=0.05)
store.addblob(b"left for the next store", 1)
"""


def test_a_process_exits_promptly_without_closing_its_background_store(
    git_daemon: GitServer, tmp_path: Path
) -> None:
    served_repo(git_daemon)
    work = clone(git_daemon, tmp_path / "w")
    git_daemon.stop()
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", EXITING, str(work)], check=True, timeout=60)
    assert time.monotonic() - started < 20
    assert Store(work, push=False).unpushed == 1


def test_a_refused_push_is_raised_by_flush_and_not_retried_in_a_loop(
    git_daemon: GitServer, tmp_path: Path
) -> None:
    served = served_repo(git_daemon)
    work = clone(git_daemon, tmp_path / "w")
    make_rejecting(served)
    with Store(work, push="background", push_interval=0.05) as store:
        store.addblob(b"refused", 1)
        with pytest.raises(PushRejectedError, match="refused"):
            store.flush(timeout=30)
        failure = store.push_failure
        assert failure is not None
        time.sleep(0.5)
        assert store.push_failure is not None
        assert store.push_failure.attempts == failure.attempts  # waits for an add or flush
        make_accepting(served)
        store.flush(timeout=30)
    assert served_blobs(served) == 1


def test_close_with_the_remote_down_returns_within_its_timeout(
    server: GitServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    served_repo(server)
    work = clone(server, tmp_path / "w")
    store = Store(work, push="background", push_interval=0.05, close_timeout=1.0)
    server.stop()
    for n in range(3):
        store.addblob(b"stays %d" % n, n + 1)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="gitblobts"):
        left = store.close()
    assert time.monotonic() - started < 10  # the timeout, and a push under way
    assert left == 3
    assert any("closed with 3 commit(s) not pushed within 1 s" in r.message for r in caplog.records)
    assert not worker_threads()
    assert Store(work, push=False).unpushed == 3


def test_the_worker_ends_with_close(tmp_path: Path, repo: Path) -> None:
    store = Store(repo, push="background", push_interval=0.05)
    assert len(worker_threads()) == 1
    store.close()
    assert not worker_threads()


def test_the_worker_does_not_outlive_a_collected_store(repo: Path) -> None:
    store = Store(repo, push="background", push_interval=0.05)
    store.addblob(b"no remote: nothing to push", 1)
    (thread,) = worker_threads()
    collected = weakref.ref(store)
    del store
    gc.collect()
    assert collected() is None
    thread.join(10)
    assert not thread.is_alive()


def test_flush_without_a_remote_has_nothing_to_do(repo: Path) -> None:
    with Store(repo, push="background") as store:
        store.addblob(b"here", 1)
        store.flush(timeout=5)
        assert store.unpushed == 0


def test_flush_of_a_store_pushing_after_each_add_pushes_now(
    git_daemon: GitServer, tmp_path: Path
) -> None:
    served = served_repo(git_daemon)
    with Store(clone(git_daemon, tmp_path / "w"), push=False) as store:
        store.addblob(b"later", 1)
        assert served_blobs(served) == 0
        store.flush()
    assert served_blobs(served) == 1


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"push": "later"}, ArgumentError),
        ({"push": 1}, ArgumentTypeError),
        ({"push_interval": -1}, ArgumentError),
        ({"push_interval": "10"}, ArgumentTypeError),
        ({"close_timeout": -1}, ArgumentError),
    ],
)
def test_push_options_are_checked(repo: Path, options: dict[str, object], error: type) -> None:
    with pytest.raises(error):
        Store(repo, **options)  # type: ignore[arg-type]
