"""Writers killed while fetching or pushing leave no lock that blocks the next writer.

A writer process pulls or pushes and is killed with SIGKILL at a chosen point, found by an
audit hook (:func:`sys.addaudithook`) as in ``test_crash_safety.py``: just after dulwich
created a pack's index lock (``pack-*.idx.lock``), in the clone (a fetch) or in the path
remote (a push). The lock is left behind; the next pull, push and pushing add work anyway,
and a live writer's locks are never removed. The dulwich backend only: the git backend's git
writes packs through temporaries (``tmp_idx_*``), and takes no such lock.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import pytest

from gitblobts import Store
from tests.helpers.git import assert_fsck_clean, git

pytestmark = [
    pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX"),
    pytest.mark.skipif(
        (os.environ.get("GITBLOBTS_BACKEND") or "dulwich") != "dulwich",
        reason="dulwich's pack index locks; git writes packs through temporaries",
    ),
]

KILLED = r"""
import os, signal, sys
from gitblobts import Store

path, operation, where, made_by, suffix = sys.argv[1:6]
created = False


def watch(event, args):
    global created
    if created:  # the event after the lock's creation: the lock is there
        created = False  # os.kill is audited too
        os.kill(os.getpid(), signal.SIGKILL)
    made = str(args[1] if event == "os.link" else args[0])
    if event == made_by and made.startswith(where) and made.endswith(suffix):
        created = True


sys.addaudithook(watch)
store = Store(path)
store.pull() if operation == "pull" else store.push()
print("not killed")
"""

HOLDER = r"""
import os, sys
from gitblobts.gitfiles import locks

common, dulwich_lock = sys.argv[1:3]
with locks.take(os.path.join(common, "gitblobts-exchange.lock"), timeout=5):
    open(dulwich_lock, "wb").close()  # as a live dulwich writer makes it
    print("holding", flush=True)
    sys.stdin.read()
    os.unlink(dulwich_lock)
"""


def kill_during(
    path: Path, operation: str, where: Path, made_by: str = "open", suffix: str = ".idx.lock"
) -> None:
    """Run ``operation`` (pull or push) on the store at ``path`` in a process killed just
    after it creates a lock under ``where`` whose name ends in ``suffix``: by ``open``
    (dulwich's lock files), or by ``os.link`` (gitblobts' own, published by a link)."""
    result = subprocess.run(
        [sys.executable, "-c", KILLED, str(path), operation, str(where), made_by, suffix],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == -9, result.stdout + result.stderr


def index_locks(repo: Path) -> list[Path]:
    return sorted(repo.rglob("objects/pack/*.idx.lock"))


@pytest.fixture
def served(tmp_path: Path) -> Path:
    path = tmp_path / "served.git"
    git(tmp_path, "init", "--quiet", "--bare", str(path))
    return path


def clone_of(served: Path, name: str) -> Path:
    path = served.parent / name
    git(served.parent, "clone", "--quiet", str(served), str(path))
    return path


def test_a_writer_killed_while_fetching_blocks_no_later_pull_or_add(served: Path) -> None:
    writer = clone_of(served, "writer")
    Store(writer).addblob(b"first")
    reader = clone_of(served, "reader")
    Store(writer).addblobs([b"one", b"two", b"three"])
    Store(reader).addblob(b"mine", push=False)

    kill_during(reader, "pull", reader / ".git")
    assert index_locks(reader)  # the killed fetch left its lock

    store = Store(reader)
    store.pull()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no PushFailedWarning
        store.addblob(b"after")

    assert index_locks(reader) == []
    assert store.count() == 6
    assert sorted(b.blob for b in Store(clone_of(served, "check")).getblobs()) == sorted(
        [b"first", b"one", b"two", b"three", b"mine", b"after"]
    )
    assert_fsck_clean(reader)


def test_a_writer_killed_while_pushing_to_a_path_blocks_no_later_push(served: Path) -> None:
    Store(clone_of(served, "first")).addblob(b"first")
    writer = clone_of(served, "writer")
    Store(writer).addblobs([b"one", b"two", b"three"], push=False)

    pending = served / "objects" / "pack" / "tmp_pack_"
    kill_during(writer, "push", pending, suffix="")  # holding the exchange lock, writing a pack
    assert list(pending.parent.glob("tmp_pack_*"))  # what the killed push was writing

    Store(writer).push()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Store(writer).addblob(b"after")

    assert index_locks(served) == []
    assert git(served, "rev-parse", "main") == git(writer, "rev-parse", "main")
    assert Store(clone_of(served, "check")).count() == 5
    assert_fsck_clean(served)


@pytest.mark.parametrize("operation", ["pull", "push"])
def test_a_writer_killed_while_moving_a_remote_tracking_ref_blocks_no_later_writer(
    served: Path, operation: str
) -> None:
    other = clone_of(served, "other")
    Store(other).addblob(b"first")
    writer = clone_of(served, "writer")
    Store(other).addblob(b"theirs")
    Store(writer).addblob(b"mine", push=False)
    tracking = writer / ".git" / "refs" / "remotes" / "origin"

    kill_during(writer, operation, tracking, "os.link", "main.lock")
    assert (tracking / "main.lock").exists()

    Store(writer).push()

    assert not (tracking / "main.lock").exists()
    assert git(served, "rev-parse", "main") == git(writer, "rev-parse", "main")
    assert Store(writer).count() == 3


def test_a_live_writers_lock_is_never_removed(served: Path) -> None:
    Store(clone_of(served, "writer")).addblob(b"x")
    reader = clone_of(served, "reader")
    live_lock = reader / ".git" / "objects" / "pack" / "pack-0123.idx.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(reader / ".git"), str(live_lock)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert holder.stdout is not None
    assert holder.stdout.readline() == b"holding\n"
    pulled = threading.Event()
    store = Store(reader)
    puller = threading.Thread(target=lambda: (store.pull(), pulled.set()))
    puller.start()
    try:
        time.sleep(1.0)
        assert live_lock.exists()  # the holder lives: its lock stays
        assert not pulled.is_set()  # and the pull waits for it
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=10)
        puller.join(timeout=30)

    assert pulled.is_set()
    assert store.count() == 1
