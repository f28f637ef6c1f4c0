"""A branch that another working tree has checked out is not moved under it.

Git refuses to update a branch checked out in another working tree, whose index and files
would otherwise stage the removal of everything the branch gained. A store refuses to add to
such a branch, before anything is committed, and says where it is checked out and what to do;
reading it stays allowed. Each test runs on the backend of the test run (``GITBLOBTS_BACKEND``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gitblobts import RepositoryError, Store
from tests.helpers.git import git


def linked_worktree(repo: Path, branch: str, *, new: bool = True) -> Path:
    """A linked working tree of ``repo`` (``git worktree add``) with ``branch`` checked out."""
    path = repo.parent / f"linked-{branch}"
    if new:
        git(repo, "worktree", "add", "--quiet", "-b", branch, str(path))
    else:
        git(repo, "worktree", "add", "--quiet", str(path), branch)
    return path


def test_a_store_opened_through_the_git_directory_refuses_to_move_the_checked_out_branch(
    repo: Path,
) -> None:
    Store(repo).addblob(b"before")
    tip = git(repo, "rev-parse", "main")
    store = Store(repo / ".git")

    with pytest.raises(RepositoryError) as raised:
        store.addblob(b"through .git")

    message = str(raised.value)
    assert "'main' is checked out in the working tree" in message
    assert str(repo.resolve()) in message
    assert "nothing was added" in message
    assert git(repo, "rev-parse", "main") == tip
    assert git(repo, "status", "--porcelain") == ""
    assert [blob.blob for blob in store.getblobs()] == [b"before"]


def test_a_store_opened_through_the_git_directory_adds_to_a_branch_not_checked_out(
    repo: Path,
) -> None:
    Store(repo / ".git", branch="blobs").addblob(b"elsewhere")

    assert [blob.blob for blob in Store(repo, branch="blobs").getblobs()] == [b"elsewhere"]
    assert git(repo, "status", "--porcelain") == ""


def test_a_branch_checked_out_in_a_linked_worktree_is_refused(repo: Path) -> None:
    linked = linked_worktree(repo, "data")
    Store(linked).addblob(b"in the linked tree")
    tip = git(repo, "rev-parse", "data")

    with pytest.raises(RepositoryError) as raised:
        Store(repo, branch="data").addblob(b"from the main tree")

    message = str(raised.value)
    assert "'data' is checked out in the working tree" in message
    assert str(linked.resolve()) in message
    assert "open the store there" in message
    assert git(repo, "rev-parse", "data") == tip
    assert git(linked, "status", "--porcelain") == ""
    assert [b.blob for b in Store(repo, branch="data").getblobs()] == [b"in the linked tree"]


def test_a_worktree_added_after_the_store_opened_is_noticed_at_the_next_add(repo: Path) -> None:
    store = Store(repo, branch="data")
    store.addblob(b"first")
    linked = linked_worktree(repo, "data", new=False)

    with pytest.raises(RepositoryError, match="checked out in the working tree"):
        store.addblob(b"second")

    assert git(linked, "status", "--porcelain") == ""


def test_a_linked_worktree_adds_to_its_own_branch_and_leaves_the_main_tree_alone(
    repo: Path,
) -> None:
    linked = linked_worktree(repo, "data")

    Store(linked).addblob(b"linked")
    Store(repo).addblob(b"main")

    assert [b.blob for b in Store(linked).getblobs()] == [b"linked"]
    assert [b.blob for b in Store(repo).getblobs()] == [b"main"]
    assert git(linked, "status", "--porcelain") == ""
    assert git(repo, "status", "--porcelain") == ""


def test_a_store_of_a_linked_worktree_refuses_the_branch_of_the_main_tree(repo: Path) -> None:
    linked = linked_worktree(repo, "data")

    with pytest.raises(RepositoryError, match="'main' is checked out in the working tree"):
        Store(linked, branch="main").addblob(b"x")

    assert git(repo, "status", "--porcelain") == ""


def test_a_bare_repository_refuses_a_branch_its_linked_worktree_has_checked_out(
    new_repo: object,
) -> None:
    bare: Path = new_repo("bare-with-history")  # type: ignore[operator]
    linked = bare.parent / "linked"
    git(bare, "worktree", "add", "--quiet", "-b", "data", str(linked))

    with pytest.raises(RepositoryError) as raised:
        Store(bare, branch="data").addblob(b"x")
    Store(bare).addblob(b"on main, checked out nowhere")

    assert str(linked.resolve()) in str(raised.value)
    assert git(linked, "status", "--porcelain") == ""
    assert [b.blob for b in Store(bare).getblobs()] == [b"on main, checked out nowhere"]
