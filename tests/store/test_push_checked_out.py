"""Pushing into a branch a non-bare remote has checked out: refused as git refuses it, by the
remote's ``receive.denyCurrentBranch``, so that its index and working tree never fall behind
the branch (its ``git status`` would stage every blob for deletion)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gitblobts import PushFailedWarning, PushRejectedError, Store
from tests.helpers.git import git

BACKEND = os.environ.get("GITBLOBTS_BACKEND") or "dulwich"


@pytest.fixture
def origin(repo: Path) -> Path:
    """A non-bare repository with ``main`` checked out."""
    return repo


@pytest.fixture
def clone(origin: Path, tmp_path: Path) -> Path:
    path = tmp_path / "clone"
    git(tmp_path, "clone", "--quiet", str(origin), str(path))
    return path


def test_a_push_into_the_remotes_checked_out_branch_is_refused(origin: Path, clone: Path) -> None:
    before = git(origin, "rev-parse", "main")
    store = Store(clone)
    store.addblob(b"x", push=False)

    with pytest.raises(PushRejectedError, match="checked out"):
        store.push()

    assert git(origin, "rev-parse", "main") == before
    assert git(origin, "status", "--porcelain") == ""


def test_an_add_into_the_remotes_checked_out_branch_keeps_its_commit(
    origin: Path, clone: Path
) -> None:
    with pytest.warns(PushFailedWarning, match="checked out"):
        Store(clone).addblob(b"x")

    assert Store(clone, push=False).count() == 1
    assert git(origin, "status", "--porcelain") == ""


@pytest.mark.parametrize("setting", ["ignore", "false", "warn"])
def test_a_remote_that_allows_it_takes_the_push(origin: Path, clone: Path, setting: str) -> None:
    git(origin, "config", "receive.denyCurrentBranch", setting)
    store = Store(clone)
    store.addblob(b"x", push=False)

    store.push()

    assert git(origin, "rev-parse", "main") == git(clone, "rev-parse", "main")


def test_a_branch_the_remote_has_not_checked_out_takes_the_push(origin: Path, clone: Path) -> None:
    Store(clone, branch="data").addblob(b"x", push=False)
    Store(clone, branch="data", remote="origin").push()

    assert git(origin, "rev-parse", "data") == git(clone, "rev-parse", "data")
    assert git(origin, "status", "--porcelain") == ""


def test_update_instead_updates_a_clean_working_tree_or_is_refused(
    origin: Path, clone: Path
) -> None:
    git(origin, "config", "receive.denyCurrentBranch", "updateInstead")
    store = Store(clone)
    (ref,) = store.addblobs([b"x"], push=False)

    if BACKEND == "git":
        store.push()
        assert (origin / ref.path).read_bytes() == (clone / ref.path).read_bytes()
    else:
        with pytest.raises(PushRejectedError, match="updateInstead"):
            store.push()
    assert git(origin, "status", "--porcelain") == ""


def test_a_push_into_the_git_folder_of_a_working_tree_is_refused_too(
    origin: Path, clone: Path
) -> None:
    git(clone, "remote", "set-url", "origin", str(origin / ".git"))
    before = git(origin, "rev-parse", "main")
    store = Store(clone)
    store.addblob(b"x", push=False)

    with pytest.raises(PushRejectedError, match="checked out"):
        store.push()

    assert git(origin, "rev-parse", "main") == before
