"""Which branch a store keeps its blobs on."""

from __future__ import annotations

from pathlib import Path

from conftest import git

from gitblobts import Store


def test_blobs_go_to_the_checked_out_branch_by_default(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "data")
    Store(repo).addblob(b"x")

    assert ".gitblobts.json" in git(repo, "ls-tree", "--name-only", "data")
    assert ".gitblobts.json" not in git(repo, "ls-tree", "--name-only", "main")


def test_a_configured_branch_leaves_the_checked_out_one_alone(repo: Path) -> None:
    main = git(repo, "rev-parse", "main")
    store = Store(repo, branch="blobs")
    store.addblob(b"x")

    assert git(repo, "rev-parse", "main") == main
    assert git(repo, "status", "--porcelain") == ""
    assert [b.blob for b in Store(repo, branch="refs/heads/blobs").getblobs()] == [b"x"]
    assert list(Store(repo).getblobs()) == []


def test_a_bare_repository_uses_its_head_branch(new_repo: object) -> None:
    path = new_repo("bare")  # type: ignore[operator]
    Store(path).addblob(b"x")

    assert git(path, "symbolic-ref", "HEAD").strip() == "refs/heads/main"
    assert ".gitblobts.json" in git(path, "ls-tree", "--name-only", "main")
