"""``max_push_bytes``: an add commits one commit per at most that many stored bytes (a blob
never split), a blob larger stored is refused before anything is committed, ``push()``
pushes consecutive commits in pushes each within it, and a host's refusal for size names
the setting to change. Against a local bare remote, with ``compression='none'`` so that
stored sizes are the blobs' (the host-like servers are in ``tests/store/test_git_hosts.py``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gitblobts import (
    AddInterrupted,
    ArgumentError,
    ArgumentTypeError,
    ConflictError,
    PushResult,
    Store,
)
from gitblobts.core.adding import Adding
from gitblobts.core.locking import LockedBackend
from gitblobts.core.pushlimit import DEFAULT_MAX_PUSH_BYTES, MAX_PUSH_BYTES_ENV, size_remedy
from tests.helpers.git import git

LIMIT = 1000
"""The ``max_push_bytes`` of these tests: three blobs of :data:`SIZE` fit, four do not."""
SIZE = 300


def blobs(count: int, size: int = SIZE) -> list[bytes]:
    return [os.urandom(size) for _ in range(count)]


@pytest.fixture
def cloned(tmp_path: Path) -> Path:
    """A clone of an empty bare repository (its ``origin``)."""
    git(tmp_path, "init", "--quiet", "--bare", "--initial-branch=main", "remote.git")
    git(tmp_path, "clone", "--quiet", str(tmp_path / "remote.git"), "work")
    return tmp_path / "work"


def open_store(path: Path, limit: int | None = LIMIT, **options: object) -> Store:
    return Store(path, compression="none", max_push_bytes=limit, **options)  # type: ignore[arg-type]


def commits(repo: Path, ref: str = "main") -> list[str]:
    return git(repo, "rev-list", "--reverse", ref).split()


def blob_bytes_added(repo: Path, commit: str) -> list[int]:
    """The sizes of the blob files ``commit`` adds to its parent's tree."""
    listing = git(repo, "diff-tree", "-r", "--root", "--no-commit-id", commit).splitlines()
    return [
        int(git(repo, "cat-file", "-s", fields.split()[3]))
        for fields, path in (line.split("\t", 1) for line in listing)
        if path != ".gitblobts.json"
    ]


@pytest.fixture
def pushed_tips(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The commit each push a store makes sends, in order."""
    tips: list[str] = []
    push = LockedBackend.push

    def recorded(
        self: LockedBackend, remote: str, commit: str, remote_ref: str, expected: str | None
    ) -> bool:
        tips.append(commit)
        return push(self, remote, commit, remote_ref, expected)

    monkeypatch.setattr(LockedBackend, "push", recorded)
    return tips


# Adding


def test_a_batch_within_the_limit_is_one_commit(cloned: Path) -> None:
    store = open_store(cloned, push=False)

    store.addblobs(blobs(3))

    assert len(commits(cloned)) == 1


def test_a_batch_over_the_limit_is_consecutive_commits_each_within_it(cloned: Path) -> None:
    store = open_store(cloned, push=False)
    added = blobs(10)

    refs = store.addblobs(added)

    made = commits(cloned)
    assert [len(blob_bytes_added(cloned, commit)) for commit in made] == [3, 3, 3, 1]
    assert all(sum(blob_bytes_added(cloned, commit)) <= LIMIT for commit in made)
    assert git(cloned, "log", "-1", "--format=%s", made[-1]) == "gitblobts: add 1 blob\n"
    assert len(refs) == 10
    assert [blob.blob for blob in store.getblobs()] == added


def test_a_blob_exactly_at_the_limit_is_one_commit_of_its_own(cloned: Path) -> None:
    store = open_store(cloned, push=False)

    store.addblobs([b"x" * SIZE, b"y" * LIMIT, b"z" * SIZE])

    assert [len(blob_bytes_added(cloned, c)) for c in commits(cloned)] == [1, 1, 1]


def test_a_blob_over_the_limit_is_refused_before_anything_is_committed(cloned: Path) -> None:
    store = open_store(cloned, push=False)
    store.addblob(b"first")
    before = commits(cloned)

    with pytest.raises(ArgumentError, match=r"blob 3 \(.*\) is 1001 bytes stored") as raised:
        store.addblobs([*blobs(3), b"x" * (LIMIT + 1), *blobs(3)])

    assert f"max_push_bytes={LIMIT}" in str(raised.value)
    assert commits(cloned) == before
    assert store.count() == 1


def test_the_default_limit_is_below_githubs_2_gb_and_above_the_read_limit() -> None:
    assert DEFAULT_MAX_PUSH_BYTES == 1_610_612_736
    assert 1 << 30 < DEFAULT_MAX_PUSH_BYTES < 2_000_000_000


def test_the_environment_sets_the_limit_when_none_is_given(
    cloned: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MAX_PUSH_BYTES_ENV, str(LIMIT))
    store = open_store(cloned, limit=None, push=False)

    store.addblobs(blobs(4))

    assert len(commits(cloned)) == 2


@pytest.mark.parametrize(
    ("value", "error", "said"),
    [
        (0, ArgumentError, "max_push_bytes must be >= 1"),
        (-5, ArgumentError, "max_push_bytes must be >= 1"),
        ("1000", ArgumentTypeError, "max_push_bytes is str"),
        (1e6, ArgumentTypeError, "max_push_bytes is float"),
        (True, ArgumentTypeError, "max_push_bytes is bool"),
    ],
)
def test_a_nonsensical_limit_is_refused_naming_it(
    cloned: Path, value: object, error: type[Exception], said: str
) -> None:
    with pytest.raises(error, match=said):
        open_store(cloned, limit=value)  # type: ignore[arg-type]


def test_a_nonsensical_limit_in_the_environment_is_refused_naming_it(
    cloned: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(MAX_PUSH_BYTES_ENV, "lots")

    with pytest.raises(ArgumentError, match=f"\\${MAX_PUSH_BYTES_ENV} is 'lots'"):
        open_store(cloned, limit=None)


def test_a_batch_failing_midway_says_how_many_blobs_landed(
    cloned: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = open_store(cloned, push=False)
    added = blobs(7)
    commit_files = Adding.commit_files
    calls = 0

    def second_fails(self: Adding, *args: object, **kwargs: object) -> str:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise ConflictError("the branch kept moving")
        return commit_files(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Adding, "commit_files", second_fails)

    with pytest.raises(ConflictError, match="the first 3 of the 7 blobs were committed") as raised:
        store.addblobs(added)

    assert "the branch kept moving" in str(raised.value)
    assert "do not add those 3 again" in str(raised.value)
    assert [blob.blob for blob in store.getblobs()] == added[:3]


def test_a_batch_interrupted_midway_returns_the_landed_blobs(
    cloned: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = open_store(cloned, push=False)
    added = blobs(7)
    commit_files = Adding.commit_files
    calls = 0

    def interrupted_at_the_second(self: Adding, *args: object, **kwargs: object) -> str:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise KeyboardInterrupt
        return commit_files(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Adding, "commit_files", interrupted_at_the_second)

    with pytest.raises(AddInterrupted, match="the 3 blobs were committed") as raised:
        store.addblobs(added)

    assert raised.value.commit == commits(cloned)[-1]
    assert [ref.path for ref in raised.value.refs] == [ref.path for ref in store.listblobs()]
    assert [blob.blob for blob in store.getblobs()] == added[:3]


# Pushing


def test_a_batch_over_the_limit_is_pushed_commit_by_commit(
    cloned: Path, pushed_tips: list[str]
) -> None:
    store = open_store(cloned)

    store.addblobs(blobs(7))

    assert pushed_tips == commits(cloned)
    assert commits(cloned, "origin/main") == commits(cloned)


def test_commits_made_offline_go_in_pushes_each_within_the_limit(
    cloned: Path, pushed_tips: list[str]
) -> None:
    store = open_store(cloned, push=False)
    store.addblob(b"first", push=True)  # with the store's configuration
    for blob in blobs(5):
        store.addblob(blob)
    made = commits(cloned)[1:]

    result = store.push()

    assert result == PushResult(5, "origin", "refs/heads/main", made[-1], pushes=2)
    assert pushed_tips[1:] == [made[2], made[4]]
    assert store.unpushed == 0


def test_small_commits_go_in_one_push(cloned: Path, pushed_tips: list[str]) -> None:
    store = open_store(cloned, push=False)
    for blob in blobs(3, size=100):
        store.addblob(blob)

    result = store.push()

    assert (result.pushed, result.pushes) == (3, 1)
    assert pushed_tips == [commits(cloned)[-1]]
    assert store.push().pushes == 0


def test_a_commit_over_the_limit_is_pushed_alone(cloned: Path, pushed_tips: list[str]) -> None:
    open_store(cloned, limit=10 * LIMIT, push=False).addblobs(blobs(5))  # one commit of 1500
    store = open_store(cloned, push=False)
    store.addblob(b"after")
    made = commits(cloned)

    result = store.push()

    assert result.pushes == 2
    assert pushed_tips == made


# A host's refusal


@pytest.mark.parametrize(
    "said",
    [
        "remote: fatal: pack exceeds maximum allowed size (2.00 GiB)",
        "unpack unpack-objects abnormal exit: fatal: pack exceeds maximum allowed size",
        "error Object too large (2,577,619,487 bytes), rejecting the pack",
    ],
)
def test_a_refusal_for_the_pushs_size_names_max_push_bytes(said: str) -> None:
    remedy = size_remedy(said, LIMIT)

    assert remedy is not None
    assert f"lower max_push_bytes (or ${MAX_PUSH_BYTES_ENV})" in remedy
    assert str(LIMIT) in remedy


@pytest.mark.parametrize(
    "said",
    [
        "File big.bin is 122.92 MB; this exceeds GitHub's file size limit of 100.00 MB",
        "GitLab: You are attempting to check in one or more files which exceed the 100MiB limit",
    ],
)
def test_a_refusal_for_a_files_size_names_part_size(said: str) -> None:
    assert "part_size" in (size_remedy(said, LIMIT) or "")


def test_a_dropped_connection_says_what_it_may_mean() -> None:
    remedy = size_remedy("fatal: the remote end hung up unexpectedly", LIMIT)

    assert remedy is not None
    assert "without saying why" in remedy
    assert "max_push_bytes" in remedy


def test_other_refusals_are_left_as_they_are() -> None:
    assert size_remedy("[remote rejected] (protected branch hook declined)", LIMIT) is None
