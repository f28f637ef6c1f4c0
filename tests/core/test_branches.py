"""Which branch a store keeps its blobs on."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gitblobts import ArgumentError, Store
from gitblobts.core import refname
from tests.helpers.git import git


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


ISSUE_NAMES = ["a b", "x.lock", "a~1", "a:b", "refs/heads/.hidden"]
"""The names issue 13 found losing blobs on the dulwich backend."""
GIT_REFUSES = [
    "",
    "-a",
    "HEAD",
    ".a",
    "a/.b",
    "a..b",
    "a.",
    "a/",
    "/a",
    "a//b",
    "a.lock/b",
    "a/b.lock",
    "a^b",
    "a?b",
    "a*b",
    "a[b",
    "a\\b",
    "a@{b",
    "@{-1}",
    "a\tb",
    "a\x7fb",
    "a\x01b",
    "refs/heads/",
    "refs/heads/a..b",
    "refs/heads//a",
]
"""One name per rule of git check-ref-format (and --branch)."""
GIT_ACCEPTS = ["main", "a/b", "@", "a@b", "a.b", "a-b", "é", "a{b}", "refs/heads/x", "v1.0/x"]


def git_accepts_branch(name: str, cwd: Path) -> bool:
    """Whether git itself accepts ``name`` for a store's branch= (outside any repository)."""
    args = [name] if name.startswith("refs/") else ["--branch", name]
    result = subprocess.run(
        ["git", "check-ref-format", *args], cwd=cwd, capture_output=True, check=False
    )
    return result.returncode == 0


@pytest.mark.parametrize("name", ISSUE_NAMES + GIT_REFUSES)
def test_a_branch_name_git_refuses_is_refused_when_the_store_opens(repo: Path, name: str) -> None:
    before = git(repo, "for-each-ref")
    with pytest.raises(ArgumentError, match=r"not a valid branch name: .*check-ref-format"):
        Store(repo, branch=name)

    assert git(repo, "for-each-ref") == before


def test_the_refusal_names_the_branch_and_the_rule(repo: Path) -> None:
    with pytest.raises(ArgumentError) as raised:
        Store(repo, branch="x.lock")

    assert "'x.lock'" in str(raised.value)
    assert "ends with '.lock'" in str(raised.value)


@pytest.mark.parametrize("name", GIT_ACCEPTS)
def test_a_branch_name_git_accepts_holds_blobs(repo: Path, name: str) -> None:
    Store(repo, branch=name).addblob(b"x")

    assert Store(repo, branch=name).count() == 1


def test_the_examples_agree_with_git_check_ref_format(tmp_path: Path) -> None:
    for name in ISSUE_NAMES + GIT_REFUSES:
        assert not git_accepts_branch(name, tmp_path), name
        assert refname.branch_problem(name) is not None, name
    for name in GIT_ACCEPTS:
        assert git_accepts_branch(name, tmp_path), name
        assert refname.branch_problem(name) is None, name


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet="ab./-@{}~^:?*[\\ \t\x7fHElock", max_size=12)
    | st.text(alphabet="ab./-@{}:", max_size=10).map(lambda name: "refs/heads/" + name)
)
def test_branch_names_are_refused_exactly_as_git_check_ref_format_refuses_them(
    tmp_path_factory: pytest.TempPathFactory, name: str
) -> None:
    outside = tmp_path_factory.getbasetemp()
    assert (refname.branch_problem(name) is None) == git_accepts_branch(name, outside), name
