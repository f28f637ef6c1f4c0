"""Store.follow: the blobs stored from a time on, then each new one as it lands, exactly
once, from this process, other processes on the repository, and other writers through a
remote (a git daemon on loopback)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from gitblobts import ArgumentTypeError, Blob, Nanoseconds, Store
from tests.helpers.git import git
from tests.helpers.gitservers import GitDaemon, make_bare_repo

FAST = 0.02
"""A short interval keeps these tests fast."""


def payloads(blobs: list[Blob]) -> list[bytes]:
    return [blob.blob for blob in blobs]


def test_a_follower_yields_what_is_stored_from_its_start_then_new_blobs(repo: Path) -> None:
    store = Store(repo)
    store.addblobs([b"one", b"two", b"three"], [Nanoseconds(1), Nanoseconds(2), Nanoseconds(3)])
    follower = store.follow(Nanoseconds(2), interval=FAST)

    first = [next(follower), next(follower)]
    store.addblob(b"four", Nanoseconds(4))
    later = next(follower)
    follower.close()

    assert payloads(first) == [b"two", b"three"]
    assert later.blob == b"four"


def test_new_blobs_of_one_look_come_in_time_order_and_late_ones_after(repo: Path) -> None:
    store = Store(repo)
    store.addblob(b"ten", Nanoseconds(10))
    follower = store.follow(interval=0.5)
    assert next(follower).blob == b"ten"

    # Both land before the follower looks again: they come in time order.
    store.addblobs([b"thirty", b"twenty"], [Nanoseconds(30), Nanoseconds(20)])
    assert payloads([next(follower), next(follower)]) == [b"twenty", b"thirty"]
    # One with an earlier time than any yielded still comes, once, when it lands.
    store.addblob(b"five", Nanoseconds(5))
    assert next(follower).blob == b"five"
    follower.close()


def test_a_blob_before_the_start_time_is_not_followed(repo: Path) -> None:
    store = Store(repo)
    follower = store.follow(Nanoseconds(100), interval=FAST)
    store.addblobs([b"early", b"late"], [Nanoseconds(99), Nanoseconds(100)])

    assert next(follower).blob == b"late"
    follower.close()


def test_a_follower_of_an_empty_branch_sees_the_first_blob(new_repo: object) -> None:
    repo = new_repo("bare")  # type: ignore[operator]
    store = Store(repo)
    follower = store.follow(interval=FAST)
    store.addblob(b"first")

    assert next(follower).blob == b"first"
    follower.close()


def test_a_parted_blob_is_followed_whole(repo: Path) -> None:
    store = Store(repo, part_size=1024)
    follower = store.follow(interval=FAST)
    data = os.urandom(5000)
    store.addblob(data, Nanoseconds(7))

    blob = next(follower)
    follower.close()

    assert (blob.timestamp_ns, blob.blob) == (7, data)


def test_following_starts_no_thread_and_closing_ends_it(repo: Path) -> None:
    store = Store(repo)
    store.addblob(b"one")
    before = set(threading.enumerate())
    follower = store.follow(interval=FAST)
    for blob in follower:
        assert blob.blob == b"one"
        break  # leaving the loop does not close a generator still referenced: close() does
    assert set(threading.enumerate()) == before
    follower.close()
    with pytest.raises(StopIteration):
        next(follower)


def test_a_follower_whose_remote_is_down_warns_and_keeps_following(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    served = tmp_path / "served.git"
    git(tmp_path, "init", "--quiet", "--bare", str(served))
    git(tmp_path, "clone", "--quiet", str(served), str(tmp_path / "clone"))
    store = Store(tmp_path / "clone")
    store.addblob(b"pushed", Nanoseconds(1))
    served.rename(tmp_path / "gone.git")

    follower = store.follow(interval=FAST)
    first = next(follower)
    store.addblob(b"local", Nanoseconds(2), push=False)
    second = next(follower)
    follower.close()

    assert payloads([first, second]) == [b"pushed", b"local"]
    assert "the pull failed, trying again later" in caplog.text


@pytest.mark.parametrize("interval", [0, -1.0, float("inf"), float("nan"), "1", True])
def test_an_interval_that_is_not_positive_seconds_is_refused(repo: Path, interval: object) -> None:
    with pytest.raises(ArgumentTypeError, match="interval"):
        Store(repo).follow(interval=interval)  # type: ignore[arg-type]


PER_WRITER = 12

WRITER_PROCESS = """
import sys
from gitblobts import Store
store = Store(sys.argv[1])
for i in range(int(sys.argv[2])):
    store.addblob(b"process %d" % i)
"""


def _follow_until_end(store: Store, seen: list[bytes]) -> None:
    for blob in store.follow(interval=0.05):
        seen.append(blob.blob)
        if blob.blob == b"end":
            return


def test_two_followers_see_every_blob_of_three_writers_exactly_once(
    git_daemon: GitDaemon, git_server_root: Path, tmp_path: Path
) -> None:
    make_bare_repo(git_server_root, "blobs.git")
    url = git_daemon.url("blobs.git")
    shared, other, reader = (tmp_path / name for name in ("shared", "other", "reader"))
    for clone in (shared, other, reader):
        git(tmp_path, "clone", "--quiet", url, str(clone))
    Store(shared).init()  # the branch exists on the remote before anyone follows it

    # One follower on the repository two writers share, one on a clone of the remote.
    seen: dict[str, list[bytes]] = {"shared": [], "reader": []}
    followers = [
        threading.Thread(target=_follow_until_end, args=(Store(shared), seen["shared"])),
        threading.Thread(target=_follow_until_end, args=(Store(reader), seen["reader"])),
    ]
    for thread in followers:
        thread.start()

    def add(path: Path, label: bytes) -> None:
        store = Store(path)
        for i in range(PER_WRITER):
            store.addblob(b"%s %d" % (label, i))

    writers = [
        threading.Thread(target=add, args=(shared, b"thread")),  # this process, same repository
        threading.Thread(target=add, args=(other, b"remote")),  # another clone, through the remote
    ]
    for thread in writers:
        thread.start()
    process = subprocess.run(  # another process, same repository
        [sys.executable, "-c", WRITER_PROCESS, str(shared), str(PER_WRITER)],
        capture_output=True,
        check=False,
    )
    for thread in writers:
        thread.join()
    assert process.returncode == 0, process.stderr.decode()
    Store(other).addblob(b"end")  # the last blob of all, through the remote
    for thread in followers:
        thread.join(timeout=60)
        assert not thread.is_alive()

    expected = sorted(
        [
            b"%s %d" % (label, i)
            for label in (b"thread", b"remote", b"process")
            for i in range(PER_WRITER)
        ]
        + [b"end"]
    )
    assert sorted(seen["shared"]) == expected
    assert sorted(seen["reader"]) == expected
