"""Refs move by compare-and-swap under git's ``<ref>.lock`` protocol, and the reflog is kept
when and as git keeps it."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from gitblobts import Store
from gitblobts.core.backend import Identity
from gitblobts.gitfiles.refs import ZERO_ID, compare_and_swap, keeps_log, read_ref
from tests.helpers.git import git

TOPIC = "refs/heads/topic"
WRITER = Identity("Reflog Writer", "writer@example.com")


def rev_parse(repo: Path, name: str) -> str:
    return git(repo, "rev-parse", "--verify", "--quiet", name).strip()


def exists(repo: Path, ref: str) -> bool:
    result = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "--verify", "--quiet", ref],
        capture_output=True,
        check=False,
    )
    return result.returncode == 0


def new_commit(repo: Path, message: str) -> str:
    return git(repo, "commit-tree", "HEAD^{tree}", "-p", "HEAD", "-m", message).strip()


def leftover_locks(common: Path) -> list[str]:
    return [str(p.relative_to(common)) for p in common.rglob("*.lock")]


@pytest.fixture
def common(repo: Path) -> Path:
    """The common git directory of the non-bare test repository."""
    return repo / ".git"


@pytest.fixture
def commits(repo: Path) -> tuple[str, str, str]:
    """HEAD and two more commits on top of it, on no branch."""
    return rev_parse(repo, "HEAD"), new_commit(repo, "second"), new_commit(repo, "third")


# Compare-and-swap


def test_a_missing_ref_is_created_when_old_is_none(
    repo: Path, common: Path, commits: tuple[str, str, str]
) -> None:
    head, _, _ = commits

    assert compare_and_swap(str(common), TOPIC, None, head)

    assert rev_parse(repo, TOPIC) == head
    assert (common / "refs" / "heads" / "topic").read_text() == head + "\n"


def test_a_ref_in_a_new_folder_is_created(
    repo: Path, common: Path, commits: tuple[str, str, str]
) -> None:
    head, _, _ = commits

    assert compare_and_swap(str(common), "refs/gitblobts/deep/er/ref", None, head)

    assert rev_parse(repo, "refs/gitblobts/deep/er/ref") == head


def test_creating_is_refused_when_the_ref_exists(
    repo: Path, common: Path, commits: tuple[str, str, str]
) -> None:
    head, second, _ = commits
    git(repo, "update-ref", TOPIC, head)

    assert not compare_and_swap(str(common), TOPIC, None, second)

    assert rev_parse(repo, TOPIC) == head


def test_the_ref_moves_when_it_holds_old(
    repo: Path, common: Path, commits: tuple[str, str, str]
) -> None:
    head, second, third = commits
    git(repo, "update-ref", TOPIC, head)

    assert compare_and_swap(str(common), TOPIC, head, second)
    assert rev_parse(repo, TOPIC) == second
    assert compare_and_swap(str(common), TOPIC, second, third, durable=True)
    assert rev_parse(repo, TOPIC) == third


def test_the_ref_stays_when_it_holds_something_else(
    repo: Path, common: Path, commits: tuple[str, str, str]
) -> None:
    head, second, third = commits
    git(repo, "update-ref", TOPIC, second)

    assert not compare_and_swap(str(common), TOPIC, head, third)

    assert rev_parse(repo, TOPIC) == second


def test_an_expected_ref_that_does_not_exist_is_not_created(
    repo: Path, common: Path, commits: tuple[str, str, str]
) -> None:
    head, second, _ = commits

    assert not compare_and_swap(str(common), TOPIC, head, second)

    assert not exists(repo, TOPIC)


def test_a_held_lock_makes_the_swap_fail_and_is_left_alone(
    repo: Path, common: Path, commits: tuple[str, str, str]
) -> None:
    head, second, _ = commits
    git(repo, "update-ref", TOPIC, head)
    lock = common / "refs" / "heads" / "topic.lock"
    lock.write_text("another writer's\n")

    assert not compare_and_swap(str(common), TOPIC, head, second)

    assert lock.read_text() == "another writer's\n"
    assert rev_parse(repo, TOPIC) == head


def test_no_lock_is_left_after_a_swap_or_a_refusal(
    repo: Path, common: Path, commits: tuple[str, str, str]
) -> None:
    head, second, third = commits

    assert compare_and_swap(str(common), TOPIC, None, head, log_as=(WRITER, "created"))
    assert not compare_and_swap(str(common), TOPIC, second, third, log_as=(WRITER, "lost"))
    assert not compare_and_swap(str(common), TOPIC, None, third)

    assert leftover_locks(common) == []


def test_git_agrees_with_every_swap(
    repo: Path, common: Path, commits: tuple[str, str, str]
) -> None:
    history = [*commits, commits[0]]
    old = None
    for new in history:
        assert compare_and_swap(str(common), TOPIC, old, new)
        assert rev_parse(repo, TOPIC) == new
        assert git(repo, "for-each-ref", "--format=%(objectname)", TOPIC).strip() == new
        old = new


def test_a_ref_only_in_packed_refs_is_read_and_swapped(
    repo: Path, common: Path, commits: tuple[str, str, str]
) -> None:
    head, second, _ = commits
    git(repo, "update-ref", TOPIC, head)
    git(repo, "tag", "-a", "-m", "annotated", "v1", head)
    git(repo, "pack-refs", "--all")
    assert not (common / "refs" / "heads" / "topic").exists()

    assert read_ref(str(common), TOPIC) == head
    assert compare_and_swap(str(common), TOPIC, head, second)

    assert rev_parse(repo, TOPIC) == second
    assert read_ref(str(common), TOPIC) == second


def test_a_packed_ref_that_moved_is_not_swapped(
    repo: Path, common: Path, commits: tuple[str, str, str]
) -> None:
    head, second, third = commits
    git(repo, "update-ref", TOPIC, second)
    git(repo, "pack-refs", "--all")

    assert not compare_and_swap(str(common), TOPIC, head, third)
    assert not compare_and_swap(str(common), TOPIC, None, third)

    assert rev_parse(repo, TOPIC) == second


def test_read_ref_follows_a_symbolic_ref_and_knows_a_missing_one(
    repo: Path, common: Path, commits: tuple[str, str, str]
) -> None:
    assert read_ref(str(common), "HEAD") == rev_parse(repo, "HEAD")
    assert read_ref(str(common), "refs/heads/main") == rev_parse(repo, "main")
    assert read_ref(str(common), TOPIC) is None
    assert read_ref(str(common), "refs/heads/main/under/a/file") is None


# The reflog


def test_the_reflog_entry_is_read_by_git_with_the_message_on_one_line(
    repo: Path, common: Path, commits: tuple[str, str, str]
) -> None:
    head, second, _ = commits
    git(repo, "update-ref", TOPIC, head)  # git logs this: start the log afresh
    (common / "logs" / "refs" / "heads" / "topic").unlink()

    assert compare_and_swap(
        str(common), TOPIC, head, second, log_as=(WRITER, "gitblobts: commit\nmore")
    )

    entries = git(repo, "reflog", "show", "--format=%H|%gn|%ge|%gs", TOPIC).splitlines()
    assert entries == [f"{second}|Reflog Writer|writer@example.com|gitblobts: commit more"]
    assert rev_parse(repo, f"{TOPIC}@{{0}}") == second
    assert rev_parse(repo, f"{TOPIC}@{{1}}") == head  # the old id of the only entry


def test_creating_a_ref_logs_the_zero_id_as_its_old_value(
    repo: Path, common: Path, commits: tuple[str, str, str]
) -> None:
    head, second, _ = commits

    assert compare_and_swap(str(common), TOPIC, None, head, log_as=(WRITER, "created"))
    assert compare_and_swap(str(common), TOPIC, head, second, log_as=(WRITER, "moved"))

    lines = (common / "logs" / "refs" / "heads" / "topic").read_text().splitlines()
    assert [line.split(" ")[:2] for line in lines] == [[ZERO_ID, head], [head, second]]
    shown = git(repo, "log", "-g", "--format=%H %gs", TOPIC).splitlines()
    assert shown == [f"{second} moved", f"{head} created"]


def test_the_reflog_time_is_now_in_the_local_zone(
    repo: Path,
    common: Path,
    commits: tuple[str, str, str],
    local_zone: Callable[[str], None],
) -> None:
    local_zone("Asia/Kolkata")
    before = int(time.time())

    compare_and_swap(str(common), TOPIC, None, commits[0], log_as=(WRITER, "created"))

    when = git(repo, "log", "-g", "-1", "--date=raw", "--format=%gD", TOPIC).strip()
    seconds, zone = when.removeprefix(f"{TOPIC}@{{").removesuffix("}").split(" ")
    assert before <= int(seconds) <= time.time()
    assert zone == "+0530"


def test_a_refused_swap_logs_nothing(
    repo: Path, common: Path, commits: tuple[str, str, str]
) -> None:
    head, second, third = commits
    compare_and_swap(str(common), TOPIC, None, head, log_as=(WRITER, "created"))

    assert not compare_and_swap(str(common), TOPIC, second, third, log_as=(WRITER, "lost"))

    assert git(repo, "reflog", "show", "--format=%gs", TOPIC).splitlines() == ["created"]


# When a reflog is kept: as git decides for core.logAllRefUpdates


KEEPS_LOG_CASES = [
    # (repository kind, core.logAllRefUpdates, ref, logged)
    ("non-bare", None, "refs/heads/topic", True),
    ("non-bare", None, "refs/remotes/origin/topic", True),
    ("non-bare", None, "refs/notes/commits", True),
    ("non-bare", None, "refs/tags/v1", False),
    ("non-bare", None, "refs/gitblobts/topic", False),
    ("bare-with-history", None, "refs/heads/topic", False),
    ("bare-with-history", "true", "refs/heads/topic", True),
    ("bare-with-history", "true", "refs/tags/v1", False),
    ("bare-with-history", "always", "refs/tags/v1", True),
    ("non-bare", "always", "refs/gitblobts/topic", True),
    ("non-bare", "false", "refs/heads/topic", False),
]


@pytest.mark.parametrize(("kind", "setting", "ref", "logged"), KEEPS_LOG_CASES)
def test_keeps_log_decides_as_git_update_ref_does(
    new_repo: Callable[[str], Path], kind: str, setting: str | None, ref: str, logged: bool
) -> None:
    path = new_repo(kind)
    common = path / ".git" if kind == "non-bare" else path
    if setting is not None:
        git(path, "config", "core.logAllRefUpdates", setting)

    decided = keeps_log(str(common), ref, setting, bare=kind != "non-bare")
    git(path, "update-ref", ref, "HEAD")

    assert decided is logged
    assert (common / "logs" / ref).exists() is logged


def test_head_is_logged_where_branches_are() -> None:
    assert keeps_log("/nonexistent", "HEAD", None, bare=False)
    assert not keeps_log("/nonexistent", "HEAD", None, bare=True)


def test_an_existing_log_file_forces_logging(new_repo: Callable[[str], Path]) -> None:
    path = new_repo("bare-with-history")
    git(path, "config", "core.logAllRefUpdates", "false")
    git(path, "update-ref", "--create-reflog", "refs/gitblobts/topic", "HEAD")

    assert keeps_log(str(path), "refs/gitblobts/topic", "false", bare=True)
    assert not keeps_log(str(path), "refs/gitblobts/other", "false", bare=True)


# Through a store


def test_a_store_on_a_non_bare_repository_logs_its_commits_in_the_branch_reflog(
    repo: Path,
) -> None:
    store = Store(repo)
    store.addblob(b"one")
    store.addblob(b"two")

    entries = git(repo, "reflog", "show", "--format=%H %gs", "main").splitlines()
    assert [entry.split(" ", 1)[1] for entry in entries] == [
        "gitblobts: commit",
        "gitblobts: commit",
        "commit (initial): Start",
    ]
    assert entries[0].split(" ")[0] == rev_parse(repo, "main")


@pytest.mark.parametrize("backend", ["dulwich", "git"])
def test_a_store_commit_to_the_checked_out_branch_shows_in_git_reflog(
    repo: Path, backend: str
) -> None:
    Store(repo, backend=backend).addblob(b"one")

    entries = git(repo, "reflog", "--format=%H %gs").splitlines()
    assert entries[0] == f"{rev_parse(repo, 'HEAD')} gitblobts: commit"


def test_a_store_on_a_bare_repository_keeps_no_reflog(new_repo: Callable[[str], Path]) -> None:
    path = new_repo("bare")

    Store(path).addblob(b"one")

    assert not (path / "logs").exists() or list((path / "logs").rglob("*")) == []
    assert rev_parse(path, "main")


def test_a_store_on_a_bare_repository_logs_when_log_all_ref_updates_is_true(
    new_repo: Callable[[str], Path],
) -> None:
    path = new_repo("bare")
    git(path, "config", "core.logAllRefUpdates", "true")

    store = Store(path)
    store.addblob(b"one")
    store.addblob(b"two")

    subjects = git(path, "reflog", "show", "--format=%gs", "main").splitlines()
    assert subjects == ["gitblobts: commit", "gitblobts: commit"]


def test_a_store_leaves_no_ref_lock_behind(repo: Path) -> None:
    store = Store(repo)
    store.addblobs([b"one", b"two"])

    assert leftover_locks(repo / ".git") == []
    assert os.listdir(repo / ".git" / "refs" / "heads") == ["main"]
