"""Partial clones (``gitblobts.clone``): commits and trees only, blob contents fetched when a
query reads them, those of one query in one request, and kept for later queries. A server
that ignores the filter makes a whole clone, with a warning. Real git daemon and smart HTTP
servers on loopback."""

from __future__ import annotations

from pathlib import Path

import pytest

import gitblobts
from gitblobts import PartialCloneWarning, PluginError, Store
from tests.helpers.git import git
from tests.helpers.gitservers import GitDaemon, GitServer
from tests.helpers.partial import DAYS, PER_DAY, day_times, fetches, present, served_store


@pytest.fixture(params=["git_daemon", "http_git_server"])
def server(request: pytest.FixtureRequest) -> GitServer:
    """A git daemon, then a smart HTTP server, on loopback."""
    served: GitServer = request.getfixturevalue(request.param)
    return served


@pytest.fixture(params=[("git", False), ("git", True), ("dulwich", True)], ids=str)
def kind(request: pytest.FixtureRequest) -> tuple[str, bool]:
    """A backend, and whether its clone is bare: the git backend's working tree (sparse),
    then bare clones of both backends (dulwich makes partial clones bare only)."""
    backend, bare = request.param
    return backend, bare


def partial_clone(url: str, into: Path, kind: tuple[str, bool]) -> Store:
    backend, bare = kind
    return gitblobts.clone(url, into, backend=backend, bare=bare)


def ls_tree(repo: Path) -> list[str]:
    return git(repo, "ls-tree", "-r", "main").splitlines()


def query_day(store: Store, day: int) -> list[gitblobts.Blob]:
    times = day_times(day)
    return list(store.getblobs(times[0], times[-1]))


def test_a_partial_clone_answers_a_day_in_one_fetch_and_lacks_the_other_days(
    server: GitServer, kind: tuple[str, bool], tmp_path: Path
) -> None:
    served = served_store(server)
    clone = tmp_path / "clone"
    with partial_clone(server.url("blobs.git"), clone, kind) as store:
        assert not any(present(clone, oid) for oid in served.values())
        before = fetches(server)
        blobs = query_day(store, 2)
        assert fetches(server) == before + 1
    assert [blob.blob for blob in blobs] == [b"blob at %d" % t for t in day_times(2)]
    fetched = {blob.path for blob in blobs}
    for path, oid in served.items():
        assert present(clone, oid) == (path in fetched), path


def test_a_partial_clone_of_a_remote_packed_with_bitmaps_reads_every_blob(
    git_daemon: GitDaemon, kind: tuple[str, bool], tmp_path: Path
) -> None:
    served_store(git_daemon)
    git(git_daemon.root / "blobs.git", "gc", "--quiet")  # as a host keeps it: a bitmap
    assert list((git_daemon.root / "blobs.git" / "objects" / "pack").glob("*.bitmap"))
    with partial_clone(git_daemon.url("blobs.git"), tmp_path / "clone", kind) as store:
        blobs = query_day(store, 2)
    assert [blob.blob for blob in blobs] == [b"blob at %d" % t for t in day_times(2)]


def test_a_second_query_of_the_same_day_fetches_nothing(
    server: GitServer, kind: tuple[str, bool], tmp_path: Path
) -> None:
    served_store(server)
    with partial_clone(server.url("blobs.git"), tmp_path / "clone", kind) as store:
        first = query_day(store, 1)
        before = fetches(server)
        again = query_day(store, 1)
        assert fetches(server) == before
    assert [blob.blob for blob in again] == [blob.blob for blob in first]


def test_a_pull_stays_partial_and_a_query_fetches_the_new_blobs(
    git_daemon: GitDaemon, kind: tuple[str, bool], tmp_path: Path
) -> None:
    served_store(git_daemon)
    with partial_clone(git_daemon.url("blobs.git"), tmp_path / "clone", kind) as store:
        times = day_times(DAYS)  # a new day, added on the server after the clone
        with Store(git_daemon.root / "blobs.git", push=False) as served:
            refs = served.addblobs([b"new at %d" % t for t in times], times)
        oids = dict(line.split("\t")[::-1] for line in ls_tree(git_daemon.root / "blobs.git"))
        store.pull()
        assert not any(present(tmp_path / "clone", oids[ref.path].split()[2]) for ref in refs)
        before = fetches(git_daemon)
        blobs = query_day(store, DAYS)
        assert fetches(git_daemon) == before + 1
    assert [blob.blob for blob in blobs] == [b"new at %d" % t for t in times]
    if not kind[1]:  # the sparse working tree holds none of them, and is clean
        assert git(tmp_path / "clone", "status", "--porcelain") == ""
        assert not any((tmp_path / "clone" / ref.path).exists() for ref in refs)


def test_listing_counting_and_verifying_work_on_a_partial_clone(
    git_daemon: GitDaemon, kind: tuple[str, bool], tmp_path: Path
) -> None:
    served = served_store(git_daemon)
    repo = git_daemon.root / "blobs.git"
    with partial_clone(git_daemon.url("blobs.git"), tmp_path / "clone", kind) as store:
        times = day_times(3)
        listed = list(store.listblobs(times[0], times[-1]))
        assert [info.timestamp_ns for info in listed] == [t * 10**9 for t in times]
        for info in listed:
            assert info.stored_size == int(git(repo, "cat-file", "-s", served[info.path]))
        assert store.count() == DAYS * PER_DAY
        assert store.verify().ok


def test_verify_fetches_every_folder_a_partial_clone_lacks_in_one_request(
    git_daemon: GitDaemon, kind: tuple[str, bool], tmp_path: Path
) -> None:
    served = served_store(git_daemon)
    clone = tmp_path / "clone"
    with partial_clone(git_daemon.url("blobs.git"), clone, kind) as store:
        before = fetches(git_daemon)
        report = store.verify()
        assert fetches(git_daemon) == before + 1
    assert report.ok
    assert report.checked == DAYS * PER_DAY + 1  # and the configuration
    assert all(present(clone, oid) for oid in served.values())


def test_a_server_without_filters_makes_a_whole_clone_with_a_warning(
    server: GitServer, kind: tuple[str, bool], tmp_path: Path
) -> None:
    served = served_store(server, allow_filter=False)
    clone = tmp_path / "clone"
    with pytest.warns(PartialCloneWarning, match="uploadpack.allowFilter"):
        store = partial_clone(server.url("blobs.git"), clone, kind)
    with store:
        assert all(present(clone, oid) for oid in served.values())
        assert (
            git(clone, "config", "--get-regexp", "^(extensions|remote)\\.").count("promisor") == 0
        )
        assert len(list(store.getblobs())) == DAYS * PER_DAY
    if not kind[1]:
        assert git(clone, "status", "--porcelain") == ""


def test_a_whole_clone_fetches_every_blob(git_daemon: GitDaemon, tmp_path: Path) -> None:
    served = served_store(git_daemon)
    clone = tmp_path / "clone"
    with gitblobts.clone(git_daemon.url("blobs.git"), clone, partial=False) as store:
        assert all(present(clone, oid) for oid in served.values())
        assert len(list(store.getblobs())) == DAYS * PER_DAY


def test_the_dulwich_backend_refuses_a_partial_clone_with_a_working_tree(
    git_daemon: GitDaemon, tmp_path: Path
) -> None:
    served_store(git_daemon)
    with pytest.raises(PluginError, match=r"bare=True.*backend='git'"):
        gitblobts.clone(git_daemon.url("blobs.git"), tmp_path / "clone", backend="dulwich")
    assert not (tmp_path / "clone").exists()


def test_clone_refuses_a_folder_that_is_not_empty(git_daemon: GitDaemon, tmp_path: Path) -> None:
    (tmp_path / "clone").mkdir()
    (tmp_path / "clone" / "notes.txt").write_text("mine")
    with pytest.raises(gitblobts.ArgumentError, match="not an empty folder"):
        gitblobts.clone(git_daemon.url("blobs.git"), tmp_path / "clone", backend="git")
