"""Ctrl-C as a lock is taken leaves no lock behind that only a person could remove.

gitblobts publishes a lock by hard-linking its temporary to the lock's name (see
:mod:`gitblobts.gitfiles.locks`); the temporary is what proves the lock a gitblobts writer's.
An interrupt that lands as the link returns must take the published lock away with the
temporary: a lock left without one looks like git's, which nobody removes, and then git
itself refuses to write the index (``git commit -a``: "index.lock exists"). The interrupt
here lands exactly there: ``os.link`` is wrapped to link, then send SIGINT to the process.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import git

from gitblobts import AddInterrupted, Store
from gitblobts.gitfiles import locks

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
