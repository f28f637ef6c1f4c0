"""Sharded stores on a server (git daemon and smart HTTP on loopback): the server holds the
catalog's repository and one bare repository per shard, made beforehand as an admin makes
them on a host; writers in clones of the catalog add at once across a month boundary and
end with one shard per month and nothing lost; a partial clone answers a one-day query
from that day's shard alone, fetching none of the other days' blobs; a server without
filters is detected."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pytest

import gitblobts
from gitblobts import PartialCloneWarning, Store
from gitblobts.core.catalog import SHARDS_FOLDER
from gitblobts.core.sharded import ShardedStore
from tests.helpers.git import assert_fsck_clean, git
from tests.helpers.gitservers import GitServer, make_bare_repo
from tests.helpers.partial import fetches, present

WRITERS = 3
PER_WRITER = 4
"""Blobs each writer adds on each side of the boundary."""
DAYS = [(1, 29), (1, 30), (2, 1), (2, 2)]
"""(month, day) of 2026 in the served store: two days each side of January's end."""


@pytest.fixture(params=["git_daemon", "http_git_server"])
def server(request: pytest.FixtureRequest) -> GitServer:
    """A git daemon, then a smart HTTP server, on loopback."""
    served: GitServer = request.getfixturevalue(request.param)
    return served


def at(month: int, day: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, 12, minute, tzinfo=dt.timezone.utc)


def served_repositories(server: GitServer, shards: list[str], allow_filter: bool = True) -> None:
    """What an admin makes on the host: the catalog's repository and each shard's."""
    for name in ["blobs.git", *(f"blobs-{shard}.git" for shard in shards)]:
        repo = make_bare_repo(server.root, name)
        git(repo, "config", "uploadpack.allowFilter", "true" if allow_filter else "false")


def make_catalog(server: GitServer, tmp_path: Path) -> str:
    """A sharded store by month whose catalog and shards are on ``server``; the catalog's
    URL."""
    url = server.url("blobs.git")
    gitblobts.init_sharded(tmp_path / "admin", remote=url).close()
    return url


def bare_clone(url: str, into: Path, **options: object) -> Store:
    return gitblobts.clone(url, into, bare=True, **options)  # type: ignore[arg-type]


def catalog_shard_keys(server: GitServer) -> list[str]:
    """The blob files of the catalog's ``shard/...`` keys on the server, one per version."""
    listed = git(server.root / "blobs.git", "ls-tree", "-r", "--name-only", "main")
    return [line for line in listed.splitlines() if "shard%2F" in line and ".v2" in line]


def test_writers_in_three_clones_at_once_end_with_one_shard_per_month_and_every_blob(
    server: GitServer, tmp_path: Path
) -> None:
    served_repositories(server, ["2026-01", "2026-02"])
    url = make_catalog(server, tmp_path)
    barrier = threading.Barrier(WRITERS)
    errors: list[BaseException] = []
    expected: set[bytes] = set()

    def write(number: int) -> None:
        try:
            with bare_clone(url, tmp_path / f"writer{number}") as store:
                barrier.wait()
                for n in range(PER_WRITER):
                    store.addblob(b"jan %d.%d" % (number, n), at(1, 31, 10 * number + n))
                    store.addblob(b"feb %d.%d" % (number, n), at(2, 1, 10 * number + n))
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    for number in range(WRITERS):
        for n in range(PER_WRITER):
            expected |= {b"jan %d.%d" % (number, n), b"feb %d.%d" % (number, n)}
    threads = [threading.Thread(target=write, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []

    with bare_clone(url, tmp_path / "reader") as reader:
        assert isinstance(reader, ShardedStore)
        assert [entry.name for entry in reader.shards] == ["2026-01", "2026-02"]
        blobs = list(reader.getblobs())
        assert {blob.blob for blob in blobs} == expected
        assert len(blobs) == len(expected)
        assert [blob.timestamp_ns for blob in blobs] == sorted(b.timestamp_ns for b in blobs)
    for name in ("blobs.git", "blobs-2026-01.git", "blobs-2026-02.git"):
        assert_fsck_clean(server.root / name)


def test_a_partial_clone_answers_one_day_from_its_shard_and_lacks_the_other_days(
    server: GitServer, tmp_path: Path
) -> None:
    served_repositories(server, ["2026-01", "2026-02"])
    url = make_catalog(server, tmp_path)
    times = [at(month, day, minute) for month, day in DAYS for minute in range(3)]
    with Store(tmp_path / "admin") as admin:
        admin.addblobs([b"blob at %s" % t.isoformat().encode() for t in times], times)
    served = {
        line.split("\t")[1]: line.split()[2]
        for line in git(server.root / "blobs-2026-01.git", "ls-tree", "-r", "main").splitlines()
        if ".v2" in line
    }
    clone = tmp_path / "clone"

    with bare_clone(url, clone) as store:
        day = [t for t in times if (t.month, t.day) == (1, 30)]
        blobs = list(store.getblobs(day[0], day[-1]))
        assert store.opened_shards == ["2026-01"]

    assert [blob.blob for blob in blobs] == [b"blob at %s" % t.isoformat().encode() for t in day]
    assert sorted(p.name for p in (clone / SHARDS_FOLDER).iterdir()) == ["2026-01", "partial"]
    shard = clone / SHARDS_FOLDER / "2026-01"
    read = {blob.path for blob in blobs}
    assert len(served) == 6
    for path, oid in served.items():
        assert present(shard, oid) == (path in read), path


def test_a_second_query_of_the_same_day_fetches_nothing(server: GitServer, tmp_path: Path) -> None:
    served_repositories(server, ["2026-01"])
    url = make_catalog(server, tmp_path)
    with Store(tmp_path / "admin") as admin:
        admin.addblobs([b"a", b"b"], [at(1, 30), at(1, 30, 1)])
    with bare_clone(url, tmp_path / "clone") as store:
        first = [blob.blob for blob in store.getblobs(at(1, 30), at(1, 30, 1))]
        before = fetches(server)
        again = [blob.blob for blob in store.getblobs(at(1, 30), at(1, 30, 1))]
        assert fetches(server) == before
    assert first == again == [b"a", b"b"]


def test_a_server_without_filters_is_detected_for_a_sharded_clone(
    server: GitServer, tmp_path: Path
) -> None:
    served_repositories(server, ["2026-01"], allow_filter=False)
    url = make_catalog(server, tmp_path)
    with Store(tmp_path / "admin") as admin:
        admin.addblobs([b"a", b"b"], [at(1, 30), at(1, 31)])
    with pytest.warns(PartialCloneWarning, match="uploadpack.allowFilter"):
        store = bare_clone(url, tmp_path / "clone")
    with store:
        assert [blob.blob for blob in store.getblobs()] == [b"a", b"b"]
    assert sorted(p.name for p in (tmp_path / "clone" / SHARDS_FOLDER).iterdir()) == ["2026-01"]


def test_a_pull_brings_a_shard_another_writer_made(server: GitServer, tmp_path: Path) -> None:
    served_repositories(server, ["2026-01", "2026-02"])
    url = make_catalog(server, tmp_path)
    with Store(tmp_path / "admin") as admin:
        admin.addblob(b"jan", at(1, 5))
    with bare_clone(url, tmp_path / "reader") as reader:
        assert [blob.blob for blob in reader.getblobs()] == [b"jan"]
        with Store(tmp_path / "admin") as admin:
            admin.addblob(b"feb", at(2, 5))
        reader.pull()
        assert [blob.blob for blob in reader.getblobs()] == [b"jan", b"feb"]
        assert [blob.blob for blob in reader.getblobs(at(2, 1), pull=True)] == [b"feb"]


def test_the_catalog_on_the_server_records_each_shard_once(
    server: GitServer, tmp_path: Path
) -> None:
    served_repositories(server, ["2026-01", "2026-02"])
    url = make_catalog(server, tmp_path)
    with Store(tmp_path / "admin") as admin:
        admin.addblobs([b"jan", b"feb"], [at(1, 5), at(2, 5)])
        admin.addblob(b"jan again", at(1, 6))
    assert len(catalog_shard_keys(server)) == 2
    with bare_clone(url, tmp_path / "reader") as reader:
        assert [entry.remote for entry in reader.shards] == [
            server.url("blobs-2026-01.git"),
            server.url("blobs-2026-02.git"),
        ]


def test_a_shard_in_the_catalog_whose_remote_is_still_empty_reads_as_empty_and_takes_adds(
    server: GitServer, tmp_path: Path
) -> None:
    served_repositories(server, ["2026-01"])
    url = make_catalog(server, tmp_path)
    with Store(tmp_path / "admin", push=False) as admin:
        admin.addblob(b"admin's", at(1, 5))
    git(tmp_path / "admin", "push", "--quiet", "origin", "main")  # the catalog, not the shard
    with bare_clone(url, tmp_path / "writer") as writer:
        assert list(writer.getblobs()) == []
        writer.addblob(b"writer's", at(1, 6))
    with Store(tmp_path / "admin") as admin:
        admin.push()
    with bare_clone(url, tmp_path / "reader") as reader:
        assert [blob.blob for blob in reader.getblobs()] == [b"admin's", b"writer's"]


def test_a_clone_with_a_working_tree_is_a_sharded_store_too(
    server: GitServer, tmp_path: Path
) -> None:
    served_repositories(server, ["2026-01"])
    url = make_catalog(server, tmp_path)
    with Store(tmp_path / "admin") as admin:
        admin.addblob(b"jan", at(1, 5))
    with gitblobts.clone(url, tmp_path / "clone", backend="git") as store:
        assert isinstance(store, ShardedStore)
        assert [blob.blob for blob in store.getblobs()] == [b"jan"]
        store.addblob(b"jan too", at(1, 6))
    assert git(tmp_path / "clone", "status", "--porcelain") == ""
    with bare_clone(url, tmp_path / "reader") as reader:
        assert [blob.blob for blob in reader.getblobs()] == [b"jan", b"jan too"]


def test_a_writer_with_background_pushes_publishes_catalog_and_shards_on_close(
    server: GitServer, tmp_path: Path
) -> None:
    served_repositories(server, ["2026-01", "2026-02"])
    url = make_catalog(server, tmp_path)
    with bare_clone(url, tmp_path / "writer", push="background") as writer:
        writer.addblobs([b"jan", b"feb"], [at(1, 5), at(2, 5)])
        writer.flush()
        assert writer.unpushed == 0
    with bare_clone(url, tmp_path / "reader") as reader:
        assert [blob.blob for blob in reader.getblobs()] == [b"jan", b"feb"]


def test_follow_in_a_clone_sees_a_blob_in_a_month_another_writer_made(
    server: GitServer, tmp_path: Path
) -> None:
    served_repositories(server, ["2026-01", "2026-02"])
    url = make_catalog(server, tmp_path)
    with Store(tmp_path / "admin") as admin:
        admin.addblob(b"jan", at(1, 5))
    with bare_clone(url, tmp_path / "reader") as reader:
        following = reader.follow(at(1, 1), interval=0.01, pull=True)
        seen = iter(following)
        assert next(seen).blob == b"jan"
        with Store(tmp_path / "admin") as admin:
            admin.addblob(b"feb", at(2, 5))
        assert next(seen).blob == b"feb"
        following.close()


def test_a_shard_whose_remote_is_missing_is_an_error_naming_it(
    server: GitServer, tmp_path: Path
) -> None:
    served_repositories(server, [])
    url = make_catalog(server, tmp_path)
    with (
        Store(tmp_path / "admin", strict=True) as admin,
        pytest.raises(gitblobts.RemoteError),
    ):
        admin.addblob(b"jan", at(1, 5))
    with (
        bare_clone(url, tmp_path / "reader") as reader,
        pytest.raises(gitblobts.GitBlobTSError, match="blobs-2026-01"),
    ):
        list(reader.getblobs())


def test_a_partial_clone_of_a_store_by_day_clones_only_the_days_it_reads(
    server: GitServer, tmp_path: Path
) -> None:
    days = ["2026-01-30", "2026-01-31", "2026-02-01"]
    served_repositories(server, days)
    url = server.url("blobs.git")
    with gitblobts.init_sharded(tmp_path / "admin", shard_by="day", remote=url) as admin:
        admin.addblobs([b"30th", b"31st", b"1st"], [at(1, 30), at(1, 31), at(2, 1)])
    with bare_clone(url, tmp_path / "clone") as store:
        assert [entry.name for entry in store.shards] == days
        before = fetches(server)
        assert [blob.blob for blob in store.getblobs(at(1, 31, 0), at(1, 31, 59))] == [b"31st"]
        # the shard's clone, its .gitblobts.json as it opens, the day's blobs in one fetch
        assert fetches(server) - before <= 3
        assert store.opened_shards == ["2026-01-31"]
    assert sorted(p.name for p in (tmp_path / "clone" / SHARDS_FOLDER).iterdir()) == [
        "2026-01-31",
        "partial",
    ]
