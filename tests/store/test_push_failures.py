"""A push that fails after an add: the add committed, so it returns what it added, and the
failure is logged and warned of (:class:`~gitblobts.PushFailedWarning`, once per store and
kind of failure); a strict store raises a RemoteError that says the blobs were committed."""

from __future__ import annotations

import os
import time
import warnings
from pathlib import Path

import pytest

from gitblobts import GitBlobTSError, PushFailedWarning, RemoteError, Store
from tests.helpers.git import git


@pytest.fixture
def offline(repo: Path, tmp_path: Path) -> Path:
    """A repository whose ``origin`` is a path where no repository is."""
    git(repo, "remote", "add", "origin", str(tmp_path / "gone.git"))
    return repo


def test_an_add_whose_push_fails_warns_with_a_gitblobts_category(offline: Path) -> None:
    with pytest.warns(PushFailedWarning, match="committed to refs/heads/main but not pushed"):
        Store(offline).addblob(b"x")


def test_the_warning_points_at_the_callers_line(offline: Path) -> None:
    with pytest.warns(PushFailedWarning) as caught:
        Store(offline).addblob(b"x")

    assert caught[0].filename == __file__


def test_a_store_warns_once_per_kind_of_failure(offline: Path) -> None:
    store = Store(offline)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        store.addblob(b"one")
        store.addblob(b"two")
        Store(offline).addblob(b"three")

    assert [w.category for w in caught] == [PushFailedWarning, PushFailedWarning]


def test_the_warning_can_be_turned_into_an_error_as_usual(offline: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", PushFailedWarning)
        with pytest.raises(GitBlobTSError, match="not pushed"):
            Store(offline).addblob(b"x")


def test_the_warning_can_be_ignored_as_usual(offline: Path) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=PushFailedWarning)
        Store(offline).addblob(b"x")

    assert caught == []


def test_an_add_whose_push_fails_for_a_locked_ref_returns_what_it_added(offline: Path) -> None:
    target = offline.parent / "served.git"
    git(offline.parent, "init", "--quiet", "--bare", str(target))
    git(offline, "remote", "set-url", "origin", str(target))
    tracking = offline / ".git" / "refs" / "remotes" / "origin"
    tracking.mkdir(parents=True)
    lock = tracking / "main.lock"
    lock.write_bytes(b"")  # another program's: never removed, and reported once old
    os.utime(lock, (time.time() - 120, time.time() - 120))

    with pytest.warns(PushFailedWarning):
        (ref,) = Store(offline).addblobs([b"x"])

    assert [blob.blob for blob in Store(offline, push=False).getblobs()] == [b"x"]
    assert ref.path in git(offline, "ls-tree", "-r", "--name-only", "main")
    assert lock.exists()


def test_a_strict_store_says_the_blobs_were_committed(offline: Path) -> None:
    with pytest.raises(RemoteError, match=r"(?s)not pushed.*do not add the blobs again"):
        Store(offline, strict=True).addblob(b"x")

    assert Store(offline, push=False).count() == 1
