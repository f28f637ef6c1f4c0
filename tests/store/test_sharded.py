"""Sharded stores on one machine: ``gitblobts.init_sharded`` makes a catalog and a bare
repository per UTC month (here), ``Store(DIR)`` opens it with the API of a single store,
adds go to the shard of their time (a batch: one commit per shard), and a query opens only
the shards whose month overlaps its range (``opened_shards`` is the instrument)."""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import gitblobts
from gitblobts import (
    ArgumentError,
    AsyncStore,
    BlobNotFoundError,
    KeyRequiredError,
    Store,
    WrongKeyError,
)
from gitblobts.core import shards as shards_module
from gitblobts.core.catalog import SHARDS_FOLDER
from gitblobts.core.sharded import ShardedStore
from tests.helpers.git import assert_fsck_clean, git

MONTHS = ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05"]


def at(month: int, day: int = 10, hour: int = 12) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, tzinfo=dt.timezone.utc)


def shard_repo(store_dir: Path, name: str) -> Path:
    return store_dir / SHARDS_FOLDER / name


def commits(repo: Path) -> list[str]:
    """The subjects of the commits on ``main``, newest first."""
    return git(repo, "log", "--format=%s", "main").splitlines()


@pytest.fixture
def store_dir(tmp_path: Path) -> Iterator[Path]:
    """A store sharded by month holding, in each of five months, a blob on the 10th (one
    ``addblob`` each) and one on the 20th (one ``addblobs`` over the five months)."""
    path = tmp_path / "blobs"
    with gitblobts.init_sharded(path, shard_by="month", push=False) as store:
        for month in range(1, 6):
            store.addblob(b"10th of %d" % month, at(month))
        store.addblobs([b"20th of %d" % m for m in range(1, 6)], [at(m, 20) for m in range(1, 6)])
    yield path
    for name in MONTHS:
        if shard_repo(path, name).is_dir():
            assert_fsck_clean(shard_repo(path, name))


@pytest.fixture
def store(store_dir: Path) -> Iterator[ShardedStore]:
    """The five-month store, opened again."""
    with Store(store_dir, push=False) as opened:
        assert isinstance(opened, ShardedStore)
        yield opened


def contents(blobs: Iterator[gitblobts.Blob]) -> list[bytes]:
    return [blob.blob for blob in blobs]


# Making and opening


def test_store_of_a_sharded_folder_opens_a_sharded_store(store_dir: Path) -> None:
    with Store(store_dir) as store:
        assert isinstance(store, ShardedStore)
        assert store.shard_by == "month"
        assert [entry.name for entry in store.shards] == MONTHS
        assert store.sharding.remote is None


def test_each_month_has_its_own_bare_repository(store_dir: Path) -> None:
    assert sorted(p.name for p in (store_dir / SHARDS_FOLDER).iterdir()) == MONTHS
    for name in MONTHS:
        assert (
            git(shard_repo(store_dir, name), "rev-parse", "--is-bare-repository").strip() == "true"
        )


def test_a_batch_over_five_months_is_one_commit_in_each_shard(store_dir: Path) -> None:
    for name in MONTHS:
        assert commits(shard_repo(store_dir, name)) == [
            "gitblobts: add 1 blob",  # the batch's blob of the 20th
            "gitblobts: add 1 blob",  # the addblob of the 10th
        ]


def test_each_shard_holds_only_its_months_blobs(store_dir: Path) -> None:
    for month, name in enumerate(MONTHS, start=1):
        with Store(shard_repo(store_dir, name)) as shard:
            assert not isinstance(shard, ShardedStore)
            assert contents(shard.getblobs()) == [b"10th of %d" % month, b"20th of %d" % month]


# Range queries


def test_an_open_query_returns_every_blob_in_time_order(store: ShardedStore) -> None:
    expected = [b"%s of %d" % (day, m) for m in range(1, 6) for day in (b"10th", b"20th")]
    assert contents(store.getblobs()) == expected
    assert store.opened_shards == MONTHS


def test_a_descending_query_returns_every_blob_newest_first(store: ShardedStore) -> None:
    expected = [b"%s of %d" % (day, m) for m in range(5, 0, -1) for day in (b"20th", b"10th")]
    assert contents(store.getblobs(math.inf, -math.inf)) == expected
    assert store.opened_shards == MONTHS[::-1]


def test_a_range_inside_one_month_opens_that_month_only(store: ShardedStore) -> None:
    assert contents(store.getblobs(at(3, 1), at(3, 15))) == [b"10th of 3"]
    assert store.opened_shards == ["2026-03"]


def test_a_range_across_a_boundary_opens_both_months_only(store: ShardedStore) -> None:
    assert contents(store.getblobs(at(2, 15), at(3, 15))) == [b"20th of 2", b"10th of 3"]
    assert store.opened_shards == ["2026-02", "2026-03"]


def test_a_descending_range_across_a_boundary(store: ShardedStore) -> None:
    assert contents(store.getblobs(at(3, 15), at(2, 15))) == [b"10th of 3", b"20th of 2"]
    assert store.opened_shards == ["2026-03", "2026-02"]


def test_open_ends_open_the_months_from_or_to_the_bound(store: ShardedStore) -> None:
    assert contents(store.getblobs(at(4, 15))) == [b"20th of 4", b"10th of 5", b"20th of 5"]
    assert store.opened_shards == ["2026-04", "2026-05"]
    with Store(store.path) as again:
        assert contents(again.getblobs(None, at(1, 15))) == [b"10th of 1"]
        assert again.opened_shards == ["2026-01"]


def test_a_range_on_a_boundary_includes_the_first_instant_of_the_month(
    store: ShardedStore,
) -> None:
    store.addblob(b"midnight", at(4, 1, 0))
    with Store(store.path) as again:
        assert contents(again.getblobs(at(3, 25), at(4, 1, 0))) == [b"midnight"]
        assert again.opened_shards == ["2026-03", "2026-04"]


def test_a_range_between_the_months_blobs_is_empty(store: ShardedStore) -> None:
    assert contents(store.getblobs(at(2, 21), at(3, 9))) == []


def test_a_query_works_when_a_shard_outside_its_range_is_gone(store_dir: Path) -> None:
    shutil.rmtree(shard_repo(store_dir, "2026-01"))
    shard_repo(store_dir, "2026-01").write_text("not a repository")
    shutil.rmtree(shard_repo(store_dir, "2026-05"))
    with Store(store_dir) as store:
        assert contents(store.getblobs(at(2, 1), at(4, 30))) == [
            b"10th of 2",
            b"20th of 2",
            b"10th of 3",
            b"20th of 3",
            b"10th of 4",
            b"20th of 4",
        ]
        assert store.count(at(3, 1), at(3, 31)) == 2
        assert store.opened_shards == ["2026-02", "2026-03", "2026-04"]
    (store_dir / SHARDS_FOLDER / "2026-01").unlink()  # for the fixture's fsck


def test_a_shard_in_range_that_is_gone_without_a_remote_is_an_error_naming_it(
    store_dir: Path,
) -> None:
    shutil.rmtree(shard_repo(store_dir, "2026-03"))
    with Store(store_dir) as store, pytest.raises(gitblobts.RepositoryError, match="2026-03"):
        list(store.getblobs(at(3, 1), at(3, 31)))


def test_listblobs_returns_the_range_from_the_right_shards(store: ShardedStore) -> None:
    listed = list(store.listblobs(at(4, 15), at(5, 15)))
    assert [info.timestamp_ns for info in listed] == [
        int(at(4, 20).timestamp()) * 10**9,
        int(at(5, 10).timestamp()) * 10**9,
    ]
    assert store.opened_shards == ["2026-04", "2026-05"]


def test_count_counts_the_range_in_the_right_shards(store: ShardedStore) -> None:
    assert store.count() == 10
    assert store.count(at(2, 15), at(4, 15)) == 4
    with Store(store.path) as again:
        assert again.count(at(5, 1), at(5, 31)) == 2
        assert again.opened_shards == ["2026-05"]


# Keys and content addresses


def test_the_latest_version_of_a_key_wins_across_months(store: ShardedStore) -> None:
    store.addblob(b"v1", at(1, 5), key="sensor")
    store.addblob(b"v2", at(3, 5), key="sensor")
    store.addblob(b"other", at(2, 5), key="other")
    assert store.getblob("sensor").blob == b"v2"
    assert store.getblob("sensor", at=at(2, 1)).blob == b"v1"
    assert sorted(store.keys()) == ["other", "sensor"]
    assert list(store.keys("sen")) == ["sensor"]


def test_a_keys_versions_come_from_every_month_of_the_range(store: ShardedStore) -> None:
    store.addblobs([b"v1", b"v2", b"v3"], [at(1, 5), at(3, 5), at(5, 5)], key="sensor")
    assert contents(store.getblobs(key="sensor")) == [b"v1", b"v2", b"v3"]
    assert contents(store.getblobs(at(5, 31), at(2, 1), key="sensor")) == [b"v3", b"v2"]


def test_getblob_of_a_key_at_a_time_opens_no_later_month(store: ShardedStore) -> None:
    store.addblob(b"v1", at(1, 5), key="sensor")
    with Store(store.path) as again:
        assert again.getblob("sensor", at=at(1, 31)).blob == b"v1"
        assert again.opened_shards == ["2026-01"]


def test_an_unknown_key_raises_blob_not_found(store: ShardedStore) -> None:
    with pytest.raises(BlobNotFoundError, match="'nobody'"):
        store.getblob("nobody")


def test_a_key_versions_in_one_batch_across_months(store: ShardedStore) -> None:
    store.addblobs([b"jan", b"apr"], [at(1, 25), at(4, 25)], key="batch")
    assert store.getblob("batch").blob == b"apr"
    assert store.getblob("batch", at=at(2, 1)).blob == b"jan"


def test_putblob_then_getblob_of_its_address(store: ShardedStore) -> None:
    address = store.putblob(b"contents")
    assert store.putblob(b"contents") == address
    assert store.getblob(address).blob == b"contents"
    with Store(store.path) as again:
        assert again.getblob(address).blob == b"contents"


# Verify, follow, async


def test_verify_checks_every_shard(store: ShardedStore) -> None:
    report = store.verify()
    assert report.ok
    assert report.checked >= 10


def damage(repo: Path, path: str) -> None:
    """Commit on ``main`` of the bare ``repo`` other bytes in place of the file ``path``."""
    env = {**os.environ, "GIT_INDEX_FILE": str(repo / "damage-index")}

    def run(*args: str, stdin: bytes = b"") -> str:
        done = subprocess.run(
            ["git", "-C", str(repo), *args], input=stdin, env=env, capture_output=True, check=True
        )
        return done.stdout.decode().strip()

    damaged = run("hash-object", "-w", "--stdin", stdin=b"not zstd")
    run("read-tree", "main")
    run("update-index", "--cacheinfo", f"100644,{damaged},{path}")
    commit = run("commit-tree", run("write-tree"), "-p", "main", "-m", "damage")
    run("update-ref", "refs/heads/main", commit)
    (repo / "damage-index").unlink()


def test_verify_names_the_shard_of_a_damaged_blob(store_dir: Path) -> None:
    repo = shard_repo(store_dir, "2026-02")
    listed = git(repo, "ls-tree", "-r", "--name-only", "main").splitlines()
    path = next(line for line in listed if ".v2" in line)
    damage(repo, path)
    with Store(store_dir) as store:
        report = store.verify()
    assert not report.ok
    assert [problem.path for problem in report.problems] == [f"2026-02/{path}"]


def test_follow_sees_a_blob_in_a_new_months_shard(store: ShardedStore) -> None:
    following = store.follow(at(5, 1), interval=0.01, pull=False)
    seen = iter(following)
    assert [next(seen).blob, next(seen).blob] == [b"10th of 5", b"20th of 5"]
    with Store(store.path, push=False) as writer:
        writer.addblob(b"in June", at(6))
    assert next(seen).blob == b"in June"
    following.close()
    assert [entry.name for entry in store.shards] == [*MONTHS, "2026-06"]


def test_an_async_store_adds_and_queries_a_sharded_store(store_dir: Path) -> None:
    async def run() -> list[bytes]:
        async with AsyncStore(store_dir, push=False) as store:
            await store.addblobs([b"june", b"july"], [at(6), at(7)])
            return [blob.blob async for blob in store.getblobs(at(5, 15), at(7, 15))]

    assert asyncio.run(run()) == [b"20th of 5", b"june", b"july"]
    assert commits(shard_repo(store_dir, "2026-07")) == ["gitblobts: add 1 blob"]


def test_an_async_store_follows_a_sharded_store_into_a_new_month(store_dir: Path) -> None:
    async def run() -> list[bytes]:
        async with AsyncStore(store_dir, push=False) as store:
            seen: list[bytes] = []
            async for blob in store.follow(at(5, 15), interval=0.01, pull=False):
                seen.append(blob.blob)
                if len(seen) == 1:
                    await store.addblob(b"june", at(6))
                if len(seen) == 2:
                    break
            return seen

    assert asyncio.run(run()) == [b"20th of 5", b"june"]


def test_config_is_the_newest_shards(store: ShardedStore) -> None:
    assert store.config.layout == "20-second"
    assert store.opened_shards == ["2026-05"]


# Shards made by size


def test_a_full_shard_gives_its_month_a_second_shard_and_queries_read_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shards_module, "SIZE_INTERVAL", 0.0)  # measure at every add
    with gitblobts.init_sharded(tmp_path / "s", max_shard_bytes=1, push=False) as store:
        store.addblob(b"first", at(1, 10))
        store.addblob(b"second", at(1, 5))
        store.addblob(b"february", at(2))
        assert [entry.name for entry in store.shards] == ["2026-01", "2026-01.2", "2026-02"]
    with Store(tmp_path / "s") as store:
        assert contents(store.getblobs(at(1, 1), at(1, 31))) == [b"second", b"first"]
        assert contents(store.getblobs(at(1, 31), at(1, 1))) == [b"first", b"second"]
        assert store.opened_shards == ["2026-01", "2026-01.2"]
        assert store.count() == 3


def test_a_shard_under_its_size_keeps_its_months_blobs(tmp_path: Path) -> None:
    with gitblobts.init_sharded(tmp_path / "s", push=False) as store:
        store.addblobs([b"a", b"b", b"c"], [at(1, 1), at(1, 2), at(1, 3)])
        store.addblob(b"d", at(1, 4))
        assert [entry.name for entry in store.shards] == ["2026-01"]


# Encryption

KEY = gitblobts.generate_key()


@pytest.fixture
def encrypted(tmp_path: Path) -> Path:
    """A store sharded by month, encrypted, holding a blob in January."""
    with gitblobts.init_sharded(tmp_path / "s", key=KEY, push=False) as store:
        store.addblob(b"secret", at(1))
    return tmp_path / "s"


def test_an_encrypted_store_reads_back_with_its_key(encrypted: Path) -> None:
    with Store(encrypted, key=KEY, push=False) as store:
        store.addblob(b"february", at(2))
        assert contents(store.getblobs()) == [b"secret", b"february"]
    assert b"february" not in git_object_bytes(shard_repo(encrypted, "2026-02"))


def test_an_encrypted_store_makes_no_new_shard_without_its_key(encrypted: Path) -> None:
    with Store(encrypted, push=False) as store:
        with pytest.raises(KeyRequiredError, match="encrypts its shards with 'aes256gcm'"):
            store.addblob(b"plain", at(2))
        assert [entry.name for entry in store.shards] == ["2026-01"]
    assert not shard_repo(encrypted, "2026-02").exists()


def test_an_encrypted_store_refuses_another_key(encrypted: Path) -> None:
    with pytest.raises(WrongKeyError, match="sharded store"):
        Store(encrypted, key=gitblobts.generate_key())


def test_a_store_without_encryption_makes_no_shard_with_a_key(store_dir: Path) -> None:
    with (
        Store(store_dir, key=KEY, push=False) as store,
        pytest.raises(gitblobts.ConfigError, match="without encryption"),
    ):
        store.addblob(b"june", at(6))
    assert not shard_repo(store_dir, "2026-06").exists()


def git_object_bytes(repo: Path) -> bytes:
    """Every object of ``repo``, as ``git cat-file`` prints them."""
    listed = git(repo, "cat-file", "--batch-all-objects", "--batch-check=%(objectname)")
    return b"".join(
        subprocess.run(
            ["git", "-C", str(repo), "cat-file", "-p", oid], capture_output=True, check=True
        ).stdout
        for oid in listed.split()
    )


# Bad input


def test_shard_by_week_is_refused_naming_the_value(tmp_path: Path) -> None:
    with pytest.raises(ArgumentError, match="'week'"):
        gitblobts.init_sharded(tmp_path / "s", shard_by="week")
    assert not (tmp_path / "s").exists()


def test_a_shard_remote_without_shard_is_refused_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ArgumentError, match=r"'/srv/blobs\.git' has no \{shard\}"):
        gitblobts.init_sharded(tmp_path / "s", shard_remote="/srv/blobs.git")
    assert not (tmp_path / "s").exists()


def test_a_folder_that_is_not_empty_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "notes.txt").write_text("mine")
    with pytest.raises(ArgumentError, match="not an empty folder"):
        gitblobts.init_sharded(tmp_path / "s")
    assert [p.name for p in (tmp_path / "s").iterdir()] == ["notes.txt"]


def test_max_shard_bytes_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ArgumentError, match="max_shard_bytes is 0"):
        gitblobts.init_sharded(tmp_path / "s", max_shard_bytes=0)


# Local remotes


def test_local_shard_remotes_are_made_and_pushed_to(tmp_path: Path) -> None:
    remotes = tmp_path / "remotes"
    remotes.mkdir()
    url = str(remotes / "blobs.git")
    with gitblobts.init_sharded(tmp_path / "s", remote=url) as store:
        store.addblobs([b"jan", b"feb"], [at(1), at(2)])
    assert sorted(p.name for p in remotes.iterdir()) == [
        "blobs-2026-01.git",
        "blobs-2026-02.git",
        "blobs.git",
    ]
    with gitblobts.clone(url, tmp_path / "clone", partial=False) as clone:
        assert isinstance(clone, ShardedStore)
        assert contents(clone.getblobs(at(2, 1), at(2, 28))) == [b"feb"]
        assert clone.opened_shards == ["2026-02"]
    assert sorted(p.name for p in (tmp_path / "clone" / SHARDS_FOLDER).iterdir()) == ["2026-02"]


def test_a_store_with_shard_remotes_only_pushes_and_pulls_its_shards(tmp_path: Path) -> None:
    template = str(tmp_path / "remotes" / "shard-{shard}.git")
    with gitblobts.init_sharded(tmp_path / "s", shard_remote=template, push=False) as store:
        assert store.remote is None
        store.addblobs([b"jan", b"feb"], [at(1), at(2)])
        assert store.push().pushed == 2
        assert store.pull().blobs == 0
    assert commits(tmp_path / "remotes" / "shard-2026-02.git") == ["gitblobts: add 1 blob"]


def test_init_with_the_remote_of_a_sharded_store_joins_it(tmp_path: Path) -> None:
    url = str(tmp_path / "remotes" / "blobs.git")
    (tmp_path / "remotes").mkdir()
    with gitblobts.init_sharded(tmp_path / "first", remote=url) as first:
        first.addblob(b"jan", at(1))
    with gitblobts.init_sharded(tmp_path / "second", remote=url) as second:
        assert contents(second.getblobs()) == [b"jan"]


def test_init_with_the_remote_of_a_sharded_store_made_otherwise_is_refused(
    tmp_path: Path,
) -> None:
    url = str(tmp_path / "remotes" / "blobs.git")
    (tmp_path / "remotes").mkdir()
    gitblobts.init_sharded(tmp_path / "first", remote=url).close()
    with pytest.raises(ArgumentError, match="shard_by 'month', not 'day': clone it"):
        gitblobts.init_sharded(tmp_path / "second", shard_by="day", remote=url)
    assert not (tmp_path / "second").exists()


def test_init_with_the_remote_of_a_store_that_is_not_sharded_is_refused(
    new_repo: Callable[[str], Path], tmp_path: Path
) -> None:
    single = new_repo("bare")
    with Store(single) as store:
        store.addblob(b"single", at(1))
    with pytest.raises(ArgumentError, match="holds a store that is not sharded"):
        gitblobts.init_sharded(tmp_path / "s", remote=str(single))
    assert not (tmp_path / "s").exists()
    assert "sharding" not in git(single, "ls-tree", "-r", "--name-only", "HEAD")


def test_a_batch_out_of_time_order_is_one_commit_per_shard_and_refs_in_its_order(
    tmp_path: Path,
) -> None:
    with gitblobts.init_sharded(tmp_path / "s", push=False) as store:
        refs = store.addblobs([b"jan", b"feb", b"jan too"], [at(1), at(2), at(1, 20)])
        assert [ref.timestamp_ns for ref in refs] == [
            int(t.timestamp()) * 10**9 for t in (at(1), at(2), at(1, 20))
        ]
        assert contents(store.getblobs()) == [b"jan", b"jan too", b"feb"]
    assert commits(shard_repo(tmp_path / "s", "2026-01")) == ["gitblobts: add 2 blobs"]


@pytest.mark.parametrize(
    ("blobs", "times", "error"),
    [
        ([b"jan", b"feb"], [at(1), at(2), at(3)], ArgumentError),
        ([b"jan", "feb"], [at(1), at(2)], gitblobts.BlobTypeError),
        ([b"jan", b"feb"], [at(1), "not a time"], gitblobts.TimeError),
    ],
    ids=["counts", "blob", "time"],
)
def test_a_bad_batch_adds_nothing_to_any_shard(
    tmp_path: Path, blobs: list[object], times: list[object], error: type[Exception]
) -> None:
    with gitblobts.init_sharded(tmp_path / "s", push=False) as store:
        with pytest.raises(error):
            store.addblobs(blobs, times)  # type: ignore[arg-type]
        assert store.shards == []


def test_a_bad_blob_in_an_iterator_is_named_by_its_place_in_the_batch(tmp_path: Path) -> None:
    with (
        gitblobts.init_sharded(tmp_path / "s", push=False) as store,
        pytest.raises(gitblobts.BlobTypeError, match="blob 2 is str"),
    ):
        store.addblobs(iter([b"jan", b"feb", "mar"]), [at(1), at(2), at(3)])  # type: ignore[list-item]
