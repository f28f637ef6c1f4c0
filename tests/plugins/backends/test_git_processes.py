"""The git backend's long-lived git processes: one of each per store, restarted when one
dies, never shared with a forked child, and all ended by close()."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from gitblobts import Store
from tests.helpers.processes import git_children

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs /proc")


def blobs(store: Store) -> list[bytes]:
    return [blob.blob for blob in store.getblobs()]


def kill(pids: list[int]) -> None:
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)  # reaped here, as a process that died on its own would be


def opened(new_repo: Callable[[str], Path], kind: str = "bare") -> tuple[Path, Store]:
    path = new_repo(kind)
    store = Store(path, backend="git")
    store.addblob(b"one", 1)
    assert blobs(store) == [b"one"]
    return path, store


def test_many_adds_and_reads_share_one_process_of_each_kind(
    new_repo: Callable[[str], Path],
) -> None:
    path, store = opened(new_repo)
    running = git_children(path, "cat-file") + git_children(path, "update-ref")
    for n in range(2, 12):
        store.addblob(b"%d" % n, n)
        assert len(blobs(store)) == n
    assert git_children(path, "cat-file") + git_children(path, "update-ref") == running
    assert len(running) == 3  # objects, sizes and names, ref updates
    store.close()


@pytest.mark.parametrize("kind", ["bare", "non-bare"])
def test_a_killed_update_ref_process_is_restarted_and_the_add_succeeds(
    new_repo: Callable[[str], Path], kind: str
) -> None:
    path, store = opened(new_repo, kind)
    kill(git_children(path, "update-ref"))
    store.addblob(b"two", 2)
    assert blobs(store) == [b"one", b"two"]
    assert len(git_children(path, "update-ref")) == 1
    store.close()


def test_killed_cat_file_processes_are_restarted_and_the_read_succeeds(
    new_repo: Callable[[str], Path],
) -> None:
    path, store = opened(new_repo)
    kill(git_children(path, "cat-file"))
    assert blobs(store) == [b"one"]
    store.addblob(b"two", 2)
    kill(git_children(path, "cat-file"))
    store.addblob(b"three", 3)  # resolves the branch, reads its trees
    assert blobs(store) == [b"one", b"two", b"three"]
    store.close()


def test_a_store_used_in_a_forked_child_starts_its_own_processes(
    new_repo: Callable[[str], Path],
) -> None:
    path, store = opened(new_repo)
    parents = git_children(path, "cat-file") + git_children(path, "update-ref")
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through its exit status
        try:
            store.addblob(b"child", 2)
            ok = blobs(store) == [b"one", b"child"]
            # The add moved the branch through an update-ref of the child's own.
            os._exit(0 if ok and len(git_children(path, "update-ref")) == 1 else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    store.addblob(b"parent", 3)
    assert blobs(store) == [b"one", b"child", b"parent"]
    assert git_children(path, "cat-file") + git_children(path, "update-ref") == parents
    store.close()


def test_close_leaves_no_git_process(new_repo: Callable[[str], Path]) -> None:
    path, store = opened(new_repo, "non-bare")
    store.addblobs([b"two", b"three"], [2, 3])
    store.close()
    assert git_children(path, "cat-file") == []
    assert git_children(path, "update-ref") == []
    assert git_children(path, "fast-import") == []
