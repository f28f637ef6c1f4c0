"""Ctrl-C around git's index lock leaves neither a lock only a person could remove, nor an
index behind its branch with no lock left to prove it.

gitblobts publishes a lock by hard-linking its temporary to the lock's name (see
:mod:`gitblobts.gitfiles.locks`); the temporary is what proves the lock a gitblobts writer's.
An interrupt that lands as the link returns must take the published lock away with the
temporary: a lock left without one looks like git's, which nobody removes, and then git
itself refuses to write the index (``git commit -a``: "index.lock exists"). Here ``os.link``
is wrapped to link, then send SIGINT to the process: the interrupt lands exactly there.

A writer killed between moving its branch and the index leaves its lock as proof that the
index may lag; a store opened later clears it and mends the index. Ctrl-C while it does so
waits until the index is mended: the lock it cleared must not go before that.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from gitblobts import AddInterrupted, Store
from gitblobts.gitfiles import locks
from tests.helpers.git import git
from tests.helpers.writers import kill_after_the_move

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="signals and flock are POSIX")


def ctrl_c_as_published(monkeypatch: pytest.MonkeyPatch, name: str) -> list[str]:
    """Make the publication of a lock named ``name`` send this process SIGINT just after the
    link, as a user's Ctrl-C would, right then; return the list of locks so interrupted."""
    link: Callable[..., None] = os.link
    interrupted: list[str] = []

    def link_then_ctrl_c(source: str, target: str, *args: object, **kwargs: object) -> None:
        link(source, target, *args, **kwargs)
        if os.path.basename(target) == name and not interrupted:
            interrupted.append(target)
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(os, "link", link_then_ctrl_c)
    return interrupted


def test_a_lock_interrupted_as_it_is_published_is_taken_away_with_its_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    interrupted = ctrl_c_as_published(monkeypatch, "target.lock")

    with pytest.raises(KeyboardInterrupt):
        locks.take(str(tmp_path / "target.lock"), timeout=1)

    assert interrupted == [str(tmp_path / "target.lock")]
    assert os.listdir(tmp_path) == []
    with locks.take(str(tmp_path / "target.lock"), timeout=1) as lock:
        assert not lock.cleared


def test_ctrl_c_as_an_add_takes_the_index_lock_adds_nothing_and_leaves_git_free_to_commit(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tip = git(repo, "rev-parse", "HEAD")
    store = Store(repo)
    interrupted = ctrl_c_as_published(monkeypatch, "index.lock")

    with pytest.raises(KeyboardInterrupt) as raised:
        store.addblob(b"never")

    assert interrupted
    assert not isinstance(raised.value, AddInterrupted)
    assert not (repo / ".git" / "index.lock").exists()
    Store(repo).close()
    assert git(repo, "rev-parse", "HEAD") == tip
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""
    (repo / "README.md").write_text("A change of the user's.\n")
    git(repo, "commit", "--quiet", "-a", "-m", "The user's commit")
    assert git(repo, "diff", "--name-only", "HEAD~1", "HEAD") == "README.md\n"


def test_ctrl_c_while_a_store_mends_the_index_a_dead_writer_left_waits_until_it_is_mended(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kill_after_the_move(repo)
    commit = locks.Lock.commit

    def ctrl_c_then_commit(lock: locks.Lock, target: str, *, durable: bool = False) -> None:
        if os.path.basename(lock.path) == "index.lock":
            os.kill(os.getpid(), signal.SIGINT)
        commit(lock, target, durable=durable)

    monkeypatch.setattr(locks.Lock, "commit", ctrl_c_then_commit)

    with pytest.raises(KeyboardInterrupt):
        Store(repo)

    assert not (repo / ".git" / "index.lock").exists()
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""
