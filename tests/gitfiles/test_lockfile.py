"""Locks gitblobts takes: a live holder's lock is never cleared, a dead holder's is (once),
and a lock git or anyone else holds or left behind is waited for, reported by name and never
removed."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitblobts import Store
from gitblobts.core.errors import RepositoryError
from gitblobts.gitfiles.locks import sweep, take, try_take
from tests.helpers.git import git

HOLDER = """
import sys
from gitblobts.gitfiles import locks
lock = locks.take(sys.argv[1], timeout=10)
lock.file.write(sys.argv[2].encode())
print("held", flush=True)
sys.stdin.readline()
lock.commit(sys.argv[3])
"""
"""Takes a lock, writes to it, says so, and holds it until a line arrives, then commits."""

CONTENDER = """
import logging, os, sys
from gitblobts.gitfiles import locks
logging.basicConfig(format="%(message)s")
lock_path, counter, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
sys.stdin.readline()
for _ in range(rounds):
    with locks.take(lock_path, timeout=60) as lock:
        inside = os.open(counter + ".inside", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        with open(counter) as f:
            value = int(f.read())
        lock.file.write(b"%d" % (value + 1))
        os.close(inside)
        os.unlink(counter + ".inside")
        lock.commit(counter)
"""
"""Increments a counter file under the lock, ``rounds`` times; fails if another process is
ever inside at the same time (``<counter>.inside`` exists). Logs each dead lock it clears."""

VICTIM = """
import logging, os, random, signal, sys, time
from gitblobts.gitfiles import locks
logging.basicConfig(format="%(message)s")
sys.stdin.readline()
time.sleep(random.random() / 20)
lock = locks.take(sys.argv[1], timeout=60)
lock.file.write(b"never")
os.kill(os.getpid(), signal.SIGKILL)
"""
"""Takes the lock (logging each dead lock it clears) and dies holding it."""

LONG_AGO = time.time() - 3600


@pytest.fixture
def lock(tmp_path: Path) -> Path:
    """The lock of ``tmp_path / "ref"``, not taken."""
    return tmp_path / "ref.lock"


@pytest.fixture
def target(tmp_path: Path) -> Path:
    return tmp_path / "ref"


def start_holder(lock: Path, target: Path, content: str) -> subprocess.Popen[str]:
    """A process holding ``lock``, which commits ``content`` to ``target`` when told."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(lock), content, str(target)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    assert holder.stdout.readline() == "held\n"
    return holder


def release(holder: subprocess.Popen[str]) -> None:
    assert holder.stdin is not None
    holder.stdin.write("go\n")
    holder.stdin.flush()


@pytest.fixture
def holders() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes a test starts; any still running at the end are killed."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait()


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# Taking and releasing


def test_a_lock_is_written_and_renamed_over_its_target_as_git_does(
    tmp_path: Path, lock: Path, target: Path
) -> None:
    taken = take(str(lock), timeout=1)
    taken.file.write(b"new\n")

    assert lock.exists()
    taken.commit(str(target))

    assert target.read_bytes() == b"new\n"
    assert names(tmp_path) == ["ref"]


def test_a_lock_not_committed_is_removed_and_its_target_left_alone(
    tmp_path: Path, lock: Path, target: Path
) -> None:
    target.write_bytes(b"old\n")

    with take(str(lock), timeout=1) as taken:
        taken.file.write(b"new\n")

    assert target.read_bytes() == b"old\n"
    assert names(tmp_path) == ["ref"]


def test_a_held_lock_is_one_file_with_a_temporary_that_names_its_process(
    tmp_path: Path, lock: Path, target: Path
) -> None:
    with take(str(lock), timeout=1):
        (temporary,) = (p for p in tmp_path.iterdir() if p != lock)

        assert temporary.name.startswith(f"ref.lock~gitblobts-{os.getpid()}-")
        assert temporary.name.endswith(".lock")
        assert os.path.samefile(temporary, lock)


def test_git_sees_no_ref_in_a_lock_s_temporary(repo: Path) -> None:
    lock = repo / ".git" / "refs" / "heads" / "topic.lock"
    with take(str(lock), timeout=1) as taken:
        taken.file.write(git(repo, "rev-parse", "HEAD").encode())

        assert git(repo, "for-each-ref", "--format=%(refname)").split() == ["refs/heads/main"]
        assert git(repo, "fsck", "--strict", "--no-dangling") == ""


# Live holders


def test_a_live_holder_in_another_process_is_never_cleared_and_is_waited_for(
    lock: Path, target: Path, holders: list[subprocess.Popen[str]]
) -> None:
    holder = start_holder(lock, target, "holder's\n")
    holders.append(holder)
    held = lock.stat().st_ino

    assert [try_take(str(lock)) for _ in range(20)] == [None] * 20
    assert lock.stat().st_ino == held
    threading.Timer(0.3, release, [holder]).start()
    started = time.monotonic()
    taken = take(str(lock), timeout=10)
    waited = time.monotonic() - started

    assert waited >= 0.25
    assert target.read_text() == "holder's\n"
    taken.file.write(b"contender's\n")
    taken.commit(str(target))
    assert target.read_text() == "contender's\n"
    assert holder.wait() == 0


def test_waiting_too_long_names_the_lock_and_its_live_holder(
    lock: Path, target: Path, holders: list[subprocess.Popen[str]]
) -> None:
    holder = start_holder(lock, target, "holder's\n")
    holders.append(holder)

    with pytest.raises(RepositoryError) as raised:
        take(str(lock), timeout=0.2)

    assert str(raised.value).startswith(f"{lock}: gitblobts process {holder.pid} has held")
    assert "still running" in str(raised.value)
    release(holder)
    assert holder.wait() == 0
    assert target.read_text() == "holder's\n"


def test_threads_of_one_process_take_a_lock_in_turn(tmp_path: Path, target: Path) -> None:
    target.write_text("0")

    def increment() -> None:
        for _ in range(50):
            with take(str(tmp_path / "ref.lock"), timeout=30) as taken:
                taken.file.write(b"%d" % (int(target.read_text()) + 1))
                taken.commit(str(target))

    threads = [threading.Thread(target=increment) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert target.read_text() == "300"
    assert names(tmp_path) == ["ref"]


# Dead holders


def test_the_lock_of_a_holder_killed_with_sigkill_is_cleared(
    tmp_path: Path,
    lock: Path,
    target: Path,
    holders: list[subprocess.Popen[str]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    target.write_text("old\n")
    take(str(tmp_path / "other.lock"), timeout=1).abort()  # this process swept the folder
    holder = start_holder(lock, target, "never\n")
    holders.append(holder)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert lock.stat().st_nlink == 2

    with caplog.at_level(logging.WARNING, logger="gitblobts"):
        taken = try_take(str(lock))

    assert taken is not None
    assert target.read_text() == "old\n"
    taken.file.write(b"new\n")
    taken.commit(str(target))
    assert target.read_text() == "new\n"
    assert names(tmp_path) == ["ref"]
    assert f"{lock}: removed the lock of gitblobts process {holder.pid}" in caplog.text


def test_racing_contenders_clear_each_dead_lock_once_and_never_share_a_live_one(
    tmp_path: Path, target: Path, caplog: pytest.LogCaptureFixture
) -> None:
    target.write_text("0")
    lock = str(tmp_path / "ref.lock")
    contenders, rounds, victims = 6, 15, 4
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", CONTENDER, lock, str(target), str(rounds)],
            stdin=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(contenders)
    ] + [
        subprocess.Popen(
            [sys.executable, "-c", VICTIM, lock],
            stdin=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(victims)
    ]
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.close()
    errors = [process.stderr.read() if process.stderr else "" for process in processes]
    for process in processes:
        process.wait(timeout=120)

    with caplog.at_level(logging.WARNING, logger="gitblobts"):
        take(lock, timeout=5).abort()  # a victim may have died after the contenders finished

    codes = [process.returncode for process in processes]
    assert codes == [0] * contenders + [-signal.SIGKILL] * victims, errors
    assert target.read_text() == str(contenders * rounds)
    cleared = "".join([*errors, caplog.text]).count("which died holding it")
    assert cleared == victims, errors
    assert names(tmp_path) == ["ref"]


def test_a_sweep_removes_what_dead_writers_left_and_keeps_what_live_ones_hold(
    tmp_path: Path, lock: Path, target: Path, holders: list[subprocess.Popen[str]]
) -> None:
    holder = start_holder(lock, target, "holder's\n")
    holders.append(holder)
    held = names(tmp_path)
    dead = start_holder(tmp_path / "dead.lock", tmp_path / "dead", "never\n")
    dead.send_signal(signal.SIGKILL)
    dead.wait()
    unpublished = tmp_path / "other.lock~gitblobts-999999-0123456789abcdef.lock"
    unpublished.write_bytes(b"")

    assert sweep(str(tmp_path)) == 2

    assert names(tmp_path) == held
    release(holder)
    assert holder.wait() == 0
    assert names(tmp_path) == ["ref"]


# Locks of git and others


def test_a_lock_made_by_hand_is_waited_for_and_never_removed(lock: Path) -> None:
    lock.write_text("someone's\n")

    assert try_take(str(lock)) is None
    with pytest.raises(RepositoryError) as raised:
        take(str(lock), timeout=0.2)

    message = str(raised.value)
    assert message.startswith(f"{lock} exists and no running gitblobts writer holds it")
    assert "never removes such a lock" in message
    assert "then remove the file" in message
    assert lock.read_text() == "someone's\n"


def test_an_old_lock_no_gitblobts_writer_holds_is_reported_at_once(lock: Path) -> None:
    lock.write_text("someone's\n")
    os.utime(lock, (LONG_AGO, LONG_AGO))

    with pytest.raises(RepositoryError, match="no running gitblobts writer holds it"):
        try_take(str(lock))
    started = time.monotonic()
    with pytest.raises(RepositoryError, match="no running gitblobts writer holds it"):
        take(str(lock), timeout=5)

    assert time.monotonic() - started < 1
    assert lock.read_text() == "someone's\n"


def prepare_with_git(repo: Path, ref: str) -> subprocess.Popen[bytes]:
    """A ``git update-ref --stdin`` holding ``ref``'s lock in a prepared transaction."""
    head = git(repo, "rev-parse", "HEAD").strip()
    process = subprocess.Popen(
        ["git", "-C", str(repo), "update-ref", "--stdin"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert process.stdin is not None
    assert process.stdout is not None
    process.stdin.write(f"start\nupdate {ref} {head}\nprepare\n".encode())
    process.stdin.flush()
    assert process.stdout.readline() == b"start: ok\n"
    assert process.stdout.readline() == b"prepare: ok\n"
    return process


def test_a_lock_git_holds_is_left_to_git(repo: Path) -> None:
    process = prepare_with_git(repo, "refs/heads/topic")
    lock = repo / ".git" / "refs" / "heads" / "topic.lock"

    assert try_take(str(lock)) is None
    os.utime(lock, (LONG_AGO, LONG_AGO))
    with pytest.raises(RepositoryError, match=f"^{lock} exists"):
        try_take(str(lock))

    assert process.stdin is not None
    process.stdin.write(b"commit\n")
    process.stdin.close()
    assert process.wait() == 0
    assert git(repo, "rev-parse", "topic") == git(repo, "rev-parse", "HEAD")
    assert not lock.exists()


def test_a_lock_left_by_a_killed_git_is_never_removed(repo: Path) -> None:
    process = prepare_with_git(repo, "refs/heads/topic")
    process.kill()
    process.wait()
    lock = repo / ".git" / "refs" / "heads" / "topic.lock"
    left = lock.read_bytes()

    assert try_take(str(lock)) is None
    with pytest.raises(RepositoryError, match=f"^{lock} exists and no running gitblobts"):
        take(str(lock), timeout=0.2)

    assert lock.read_bytes() == left
    lock.unlink()  # as a person would, having checked


# Stores

BACKENDS = ("dulwich", "git")


def dead_lock(lock: Path, holders: list[subprocess.Popen[str]]) -> None:
    """Leave ``lock`` behind as a gitblobts writer that died holding it does."""
    holder = start_holder(lock, lock.with_suffix(""), "never\n")
    holders.append(holder)
    holder.send_signal(signal.SIGKILL)
    holder.wait()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_store_clears_the_locks_a_dead_writer_left(
    repo: Path, backend: str, holders: list[subprocess.Popen[str]]
) -> None:
    dead_lock(repo / ".git" / "refs" / "heads" / "main.lock", holders)
    dead_lock(repo / ".git" / "index.lock", holders)

    with Store(repo, backend=backend) as store:
        added = store.addblob(b"blob")

    assert [b.blob for b in Store(repo).getblobs()] == [b"blob"]
    assert git(repo, "ls-files", added.path).strip() == added.path
    assert git(repo, "status", "--porcelain") == ""


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_store_names_an_old_branch_lock_it_may_not_remove(repo: Path, backend: str) -> None:
    lock = repo / ".git" / "refs" / "heads" / "main.lock"
    lock.write_text("someone's\n")
    os.utime(lock, (LONG_AGO, LONG_AGO))

    with Store(repo, backend=backend) as store, pytest.raises(RepositoryError) as raised:
        store.addblob(b"blob")

    assert f"{lock} exists and no running gitblobts writer holds it" in str(raised.value)
    assert lock.read_text() == "someone's\n"
    lock.unlink()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_store_names_an_old_index_lock_it_may_not_remove(repo: Path, backend: str) -> None:
    lock = repo / ".git" / "index.lock"
    lock.write_text("someone's\n")
    os.utime(lock, (LONG_AGO, LONG_AGO))

    with Store(repo, backend=backend) as store, pytest.raises(RepositoryError) as raised:
        store.addblob(b"blob")

    assert f"{lock} exists and no running gitblobts writer holds it" in str(raised.value)
    assert lock.read_text() == "someone's\n"
    lock.unlink()
