"""Remotes: push after add, pull, and many writers sharing one remote, against real servers
started on loopback (git daemon, smart HTTP behind nginx, ssh)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gitblobts import (
    ConfigError,
    ConflictError,
    PushFailedWarning,
    PushRejectedError,
    RemoteError,
    Store,
    generate_key,
)
from tests.helpers.git import assert_fsck_clean, git
from tests.helpers.gitservers import (
    GitDaemon,
    GitServer,
    HttpGitServer,
    make_bare_repo,
    make_rejecting,
)

KEY = generate_key()


@pytest.fixture
def client_env(git_server: GitServer) -> Iterator[None]:
    """The environment a git client needs for the server (ssh: its key)."""
    saved = dict(os.environ)
    os.environ.update(git_server.client_env())
    yield
    os.environ.clear()
    os.environ.update(saved)


def clone(url: str, into: Path, bare: bool = False) -> Path:
    git(into.parent, "clone", "--quiet", *(["--bare"] if bare else []), url, str(into))
    return into


def server_blobs(repo: Path) -> list[str]:
    """Blob files on the server's main branch, by the git command."""
    if (
        subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "-q", "--verify", "main"],
            capture_output=True,
            check=False,
        ).returncode
        != 0
    ):
        return []  # nothing pushed yet
    names = git(repo, "ls-tree", "-r", "--name-only", "main").split()
    return sorted(n for n in names if ".v2" in n)


@pytest.mark.usefixtures("client_env")
def test_an_add_is_pushed_and_a_second_clone_sees_it(
    git_server: GitServer, git_server_root: Path, tmp_path: Path
) -> None:
    served = make_bare_repo(git_server_root, "blobs.git")
    first = clone(git_server.url("blobs.git"), tmp_path / "first")

    ref = Store(first).addblob(b"hello over the wire")

    assert server_blobs(served) == [ref.path]
    second = clone(git_server.url("blobs.git"), tmp_path / "second", bare=True)
    assert [b.blob for b in Store(second).getblobs()] == [b"hello over the wire"]
    assert_fsck_clean(served)


@pytest.mark.usefixtures("client_env")
def test_getblobs_with_pull_fetches_what_others_pushed(
    git_server: GitServer, git_server_root: Path, tmp_path: Path
) -> None:
    make_bare_repo(git_server_root, "blobs.git")
    one = Store(clone(git_server.url("blobs.git"), tmp_path / "one"))
    two = Store(clone(git_server.url("blobs.git"), tmp_path / "two"))
    one.addblob(b"from one", 1)
    two.addblob(b"from two", 2)  # lands on top of one's commit

    assert [b.blob for b in one.getblobs(pull=True)] == [b"from one", b"from two"]
    assert [b.blob for b in two.getblobs()] == [b"from one", b"from two"]
    assert git(tmp_path / "one", "status", "--porcelain") == ""
    assert git(tmp_path / "two", "status", "--porcelain") == ""


def test_push_false_defers_until_push(
    git_daemon: GitDaemon, git_server_root: Path, tmp_path: Path
) -> None:
    served = make_bare_repo(git_server_root, "blobs.git")
    store = Store(clone(git_daemon.url("blobs.git"), tmp_path / "c"), push=False)
    store.addblob(b"a")
    store.addblob(b"b", push=False)

    assert server_blobs(served) == []
    assert store.unpushed == 2
    store.push()
    assert len(server_blobs(served)) == 2
    assert store.unpushed == 0


def test_a_branch_without_upstream_gets_one_on_first_push(
    git_daemon: GitDaemon, git_server_root: Path, tmp_path: Path
) -> None:
    make_bare_repo(git_server_root, "blobs.git")
    local = tmp_path / "local"
    git(tmp_path, "init", "-q", str(local))
    git(local, "remote", "add", "origin", git_daemon.url("blobs.git"))

    Store(local).addblob(b"x")

    assert git(local, "rev-parse", "--abbrev-ref", "main@{upstream}").strip() == "origin/main"


def test_offline_adds_commit_locally_and_a_later_push_delivers_them(
    git_daemon: GitDaemon, git_server_root: Path, tmp_path: Path
) -> None:
    served = make_bare_repo(git_server_root, "blobs.git")
    path = clone(git_daemon.url("blobs.git"), tmp_path / "c")
    store = Store(path)
    store.addblob(b"online")
    git_daemon.stop()

    with pytest.warns(PushFailedWarning, match="not pushed"):
        store.addblob(b"offline 1")
    store.addblob(b"offline 2")
    assert store.unpushed == 2
    with pytest.raises(RemoteError, match="cannot fetch"):
        Store(path, strict=True).addblob(b"strict")
    assert [b.blob for b in store.getblobs()][-3:] == [b"offline 1", b"offline 2", b"strict"]

    git_daemon.start()
    store.push()
    assert len(server_blobs(served)) == 4
    assert store.unpushed == 0


def test_a_remote_that_rejects_pushes_gets_a_clear_error_and_commits_stay(
    git_daemon: GitDaemon, git_server_root: Path, tmp_path: Path
) -> None:
    served = make_bare_repo(git_server_root, "blobs.git")
    path = clone(git_daemon.url("blobs.git"), tmp_path / "c")
    make_rejecting(served, "no blobs today")
    store = Store(path)

    with pytest.warns(PushFailedWarning, match="refused the push"):
        store.addblob(b"kept locally")  # not strict: warns, keeps the commit
    with pytest.raises(PushRejectedError, match="refused"):
        store.push()
    assert [b.blob for b in store.getblobs()] == [b"kept locally"]
    assert server_blobs(served) == []


def test_credentials_in_a_remote_url_never_appear_in_errors(
    http_git_server: HttpGitServer, git_server_root: Path, tmp_path: Path
) -> None:
    make_bare_repo(git_server_root, "blobs.git")
    path = clone(http_git_server.url("blobs.git"), tmp_path / "c")
    secret_url = http_git_server.url("blobs.git").replace("://", "://alice:s3cr3t-pw@")
    git(path, "remote", "set-url", "origin", secret_url)
    http_git_server.stop()

    with pytest.raises(RemoteError) as raised:
        Store(path, strict=True).addblob(b"x")
    assert "s3cr3t-pw" not in str(raised.value)
    assert "://***@127.0.0.1" in str(raised.value)
    assert "s3cr3t-pw" not in repr(Store(path))


WRITER = """
import sys
from gitblobts import Store
store = Store(sys.argv[1])
for i in range(int(sys.argv[3])):
    store.addblob(f"{sys.argv[2]}-{i}".encode())
store.push()
assert store.unpushed == 0
"""


@pytest.mark.slow
def test_four_writers_in_their_own_clones_share_one_remote(
    git_daemon: GitDaemon, git_server_root: Path, tmp_path: Path
) -> None:
    served = make_bare_repo(git_server_root, "blobs.git")
    seed = clone(git_daemon.url("blobs.git"), tmp_path / "seed")
    Store(seed).addblob(b"seed")  # the store's configuration exists before the race
    writers, adds = 4, 50
    clones = [clone(git_daemon.url("blobs.git"), tmp_path / f"w{n}") for n in range(writers)]
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), f"w{n}", str(adds)],
            stderr=subprocess.PIPE,
        )
        for n, path in enumerate(clones)
    ]
    errors = [p.communicate(timeout=600)[1].decode() for p in processes]

    assert [p.returncode for p in processes] == [0] * writers, errors
    fresh = clone(git_daemon.url("blobs.git"), tmp_path / "fresh", bare=True)
    stored = sorted(b.blob for b in Store(fresh).getblobs())
    expected = sorted(
        [b"seed"] + [f"w{n}-{i}".encode() for n in range(writers) for i in range(adds)]
    )
    assert stored == expected
    assert_fsck_clean(served)
    assert_fsck_clean(fresh)
    for path in clones:
        assert git(path, "status", "--porcelain") == ""


@pytest.mark.parametrize("scheme", ["path", "file"])
def test_local_path_and_file_url_remotes(tmp_path: Path, scheme: str) -> None:
    served = make_bare_repo(tmp_path, "blobs.git")
    url = str(served) if scheme == "path" else served.as_uri()
    one = Store(clone(url, tmp_path / "one"))
    two = Store(clone(url, tmp_path / "two"))

    one.addblob(b"one", 1)
    two.addblob(b"two", 2)

    assert len(server_blobs(served)) == 2
    assert [b.blob for b in one.getblobs(pull=True)] == [b"one", b"two"]
    assert_fsck_clean(served)


@pytest.mark.parametrize(
    ("ours", "theirs", "difference"),
    [
        ({"key": KEY}, {}, "no encryption"),
        ({}, {"key": KEY}, "encryption"),
        ({"key": KEY}, {"key": generate_key()}, "another key"),
        ({"layout": "flat"}, {}, "layout '20-second', not 'flat'"),
    ],
    ids=["key-onto-none", "none-onto-key", "another-key", "another-layout"],
)
def test_a_store_created_in_a_clone_is_not_pushed_onto_a_different_one_on_the_remote(
    tmp_path: Path, ours: dict[str, Any], theirs: dict[str, Any], difference: str
) -> None:
    served = make_bare_repo(tmp_path, "blobs.git")
    one = Store(clone(str(served), tmp_path / "one"), **ours)
    one.addblob(b"mine", 1, push=False)
    (their_ref,) = Store(clone(str(served), tmp_path / "two"), **theirs).addblobs([b"theirs"], [2])

    with pytest.raises(ConflictError, match=re.escape(f"created with {difference}, so the 1")):
        one.push()
    with pytest.raises(ConflictError, match=re.escape(difference)):
        one.pull()

    assert server_blobs(served) == [their_ref.path]
    assert [b.blob for b in one.getblobs()] == [b"mine"]


def test_a_key_is_refused_after_pulling_a_store_created_without_one(tmp_path: Path) -> None:
    served = make_bare_repo(tmp_path, "blobs.git")
    keyed = Store(clone(str(served), tmp_path / "one"), key=KEY)
    (ref,) = Store(clone(str(served), tmp_path / "two")).addblobs([b"plain"], [1])

    keyed.pull()

    with pytest.raises(ConfigError, match="created without encryption"):
        keyed.addblob(b"would be encrypted")
    assert server_blobs(served) == [ref.path]
    assert [b.blob for b in keyed.getblobs()] == [b"plain"]


def test_push_without_a_remote_says_how_to_add_one(repo: Path) -> None:
    store = Store(repo)
    store.addblob(b"local only")  # nothing to push to: fine
    with pytest.raises(RemoteError, match="git remote add"):
        store.push()


def test_smart_https_with_a_trusted_certificate(
    https_git_server: HttpGitServer,
    git_server_root: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    served = make_bare_repo(git_server_root, "blobs.git")
    url = https_git_server.url("blobs.git")
    assert url.startswith("https://")
    saved = dict(os.environ)
    os.environ.update(https_git_server.client_env())  # GIT_SSL_CAINFO for the git command
    try:
        first = clone(url, tmp_path / "first")
        second = clone(url, tmp_path / "second")
    finally:
        os.environ.clear()
        os.environ.update(saved)
    for path in (first, second):  # both backends trust what the repository's config says
        git(path, "config", "http.sslCAInfo", str(https_git_server.ca_file))
    monkeypatch.delenv("GIT_SSL_CAINFO", raising=False)  # it would override the config

    ref = Store(first).addblob(b"over tls")

    assert server_blobs(served) == [ref.path]
    assert [b.blob for b in Store(second).getblobs(pull=True)] == [b"over tls"]
    assert_fsck_clean(served)
