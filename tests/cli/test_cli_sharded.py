"""The commands on a sharded store: ``gitblobts init --shard-by month DIR`` makes one, and
every command works on it with ``-C DIR`` as on a single store; ``gitblobts clone`` of its
catalog makes a sharded store whose shards are cloned as commands read them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.command import assert_fails, ok, run
from tests.helpers.git import git

JAN = "2026-01-10T12:00:00Z"
FEB = "2026-02-10T12:00:00Z"
MAR = "2026-03-10T12:00:00Z"


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """A store sharded by month, without remotes, holding a blob in January and one in
    February."""
    made = ok("init", "--shard-by", "month", "store", cwd=tmp_path)
    assert (
        made.stderr == "created a sharded store in store: a repository per month, without remotes\n"
    )
    (tmp_path / "jan.txt").write_bytes(b"january")
    (tmp_path / "feb.txt").write_bytes(b"february")
    ok("-C", "store", "add", "--time", JAN, "jan.txt", cwd=tmp_path)
    ok("-C", "store", "add", "--time", FEB, "feb.txt", cwd=tmp_path)
    return tmp_path / "store"


def shards_of(store: Path) -> list[str]:
    return sorted(path.name for path in (store / "gitblobts-shards").iterdir())


def test_add_puts_each_blob_in_its_months_shard(store: Path) -> None:
    assert shards_of(store) == ["2026-01", "2026-02"]


def test_add_of_several_files_at_one_time_is_one_commit_in_its_shard(
    tmp_path: Path, store: Path
) -> None:
    ok("-C", "store", "add", "--time", MAR, "jan.txt", "feb.txt", cwd=tmp_path)
    repo = store / "gitblobts-shards" / "2026-03"
    assert git(repo, "log", "--format=%s", "main").splitlines() == ["gitblobts: add 2 blobs"]


def test_ls_lists_every_month_in_time_order(tmp_path: Path, store: Path) -> None:
    lines = ok("-C", "store", "ls", cwd=tmp_path).lines
    assert [line.split()[0] for line in lines] == [
        "2026-01-10T12:00:00.000000000Z",
        "2026-02-10T12:00:00.000000000Z",
    ]


def test_ls_of_a_range_lists_that_range(tmp_path: Path, store: Path) -> None:
    lines = ok("-C", "store", "ls", "--start", "2026-02-01", "--json", cwd=tmp_path).lines
    assert [json.loads(line)["time"] for line in lines] == ["2026-02-10T12:00:00.000000000Z"]


def test_get_cat_of_a_month_writes_that_months_blob(tmp_path: Path, store: Path) -> None:
    got = ok(
        "-C", "store", "get", "--cat", "--start", "2026-01-01", "--end", "2026-01-31", cwd=tmp_path
    )
    assert got.output == b"january"
    assert ok("-C", "store", "get", "--cat", cwd=tmp_path).output == b"januaryfebruary"


def test_get_writes_files_from_every_shard(tmp_path: Path, store: Path) -> None:
    ok("-C", "store", "get", "-o", "out", cwd=tmp_path)
    written = sorted(path for path in (tmp_path / "out").rglob("*") if path.is_file())
    assert len(written) == 2


def test_status_says_how_many_blobs_and_shards(tmp_path: Path, store: Path) -> None:
    shown = ok("-C", "store", "status", cwd=tmp_path).stdout
    assert "blobs:       2\n" in shown
    assert "shards:      2, one per month\n" in shown
    document = json.loads(ok("-C", "store", "status", "--json", cwd=tmp_path).stdout)
    assert document["blobs"] == 2
    assert document["shards"] == {"count": 2, "by": "month"}


def test_verify_checks_every_shard(tmp_path: Path, store: Path) -> None:
    result = ok("-C", "store", "verify", cwd=tmp_path)
    assert "no problems" in result.stdout + result.stderr


def test_keys_and_a_keys_latest_version_across_months(tmp_path: Path, store: Path) -> None:
    ok("-C", "store", "add", "--key", "sensor", "--time", JAN, "jan.txt", cwd=tmp_path)
    ok("-C", "store", "add", "--key", "sensor", "--time", MAR, "feb.txt", cwd=tmp_path)
    assert ok("-C", "store", "keys", cwd=tmp_path).lines == ["sensor"]
    assert ok("-C", "store", "get", "--cat", "--key", "sensor", cwd=tmp_path).output == (
        b"february"
    )
    at_feb = ok(
        "-C", "store", "get", "--cat", "--key", "sensor", "--at", "2026-02-01", cwd=tmp_path
    )
    assert at_feb.output == b"january"


def test_put_prints_an_address_get_reads_back(tmp_path: Path, store: Path) -> None:
    address = ok("-C", "store", "put", "jan.txt", cwd=tmp_path).stdout.split()[0]
    assert address.startswith("sha256-")
    assert ok("-C", "store", "get", "--cat", address, cwd=tmp_path).output == b"january"


def test_push_without_any_remote_says_so(tmp_path: Path, store: Path) -> None:
    result = run("-C", "store", "push", cwd=tmp_path)
    assert_fails(result, 1, "sharded store has no remote to push to", "--remote")


def test_pull_without_any_remote_says_so(tmp_path: Path, store: Path) -> None:
    assert_fails(run("-C", "store", "pull", cwd=tmp_path), 1, "no remote to pull from")


def test_init_shard_by_week_is_refused(tmp_path: Path) -> None:
    result = run("init", "--shard-by", "week", "store", cwd=tmp_path)
    assert result.status == 2
    assert "'week'" in result.stderr
    assert not (tmp_path / "store").exists()


def test_shard_remote_without_shard_by_is_refused(tmp_path: Path) -> None:
    result = run("init", "--shard-remote", "x-{shard}.git", "store", cwd=tmp_path)
    assert result.status == 2
    assert "--shard-remote and --max-shard-size are for --shard-by" in result.stderr


# With remotes


@pytest.fixture
def pushed(tmp_path: Path) -> Path:
    """A sharded store whose catalog's remote is ``remotes/blobs.git`` (its shards' beside
    it), holding a blob in January and one in February, pushed."""
    (tmp_path / "remotes").mkdir()
    made = ok("init", "--shard-by", "month", "--remote", "remotes/blobs.git", "store", cwd=tmp_path)
    assert f"pushed to {tmp_path}/remotes/blobs-{{shard}}.git" in made.stderr
    (tmp_path / "jan.txt").write_bytes(b"january")
    (tmp_path / "feb.txt").write_bytes(b"february")
    ok("-C", "store", "add", "--no-push", "--time", JAN, "jan.txt", cwd=tmp_path)
    ok("-C", "store", "add", "--no-push", "--time", FEB, "feb.txt", cwd=tmp_path)
    result = ok("-C", "store", "push", cwd=tmp_path)
    assert result.stderr.startswith("pushed 4 commits of the catalog and its shards")
    return tmp_path / "remotes"


def test_push_sends_the_catalog_and_each_shard_to_its_remote(tmp_path: Path, pushed: Path) -> None:
    assert sorted(path.name for path in pushed.iterdir()) == [
        "blobs-2026-01.git",
        "blobs-2026-02.git",
        "blobs.git",
    ]
    again = ok("-C", "store", "push", cwd=tmp_path)
    assert again.stderr.startswith("nothing to push")


def test_clone_of_the_catalog_is_a_sharded_store(tmp_path: Path, pushed: Path) -> None:
    result = ok("clone", "--full", "remotes/blobs.git", "clone", cwd=tmp_path)
    assert result.stderr == ("cloned the catalog of 2 shards by month into clone (whole)\n")
    assert shards_of(tmp_path / "clone") == []
    got = ok("-C", "clone", "get", "--cat", "--start", "2026-02-01", cwd=tmp_path)
    assert got.output == b"february"
    assert shards_of(tmp_path / "clone") == ["2026-02"]
    assert "shards:      2, one per month" in ok("-C", "clone", "status", cwd=tmp_path).stdout


def test_pull_brings_what_another_writer_pushed(tmp_path: Path, pushed: Path) -> None:
    ok("clone", "--full", "remotes/blobs.git", "clone", cwd=tmp_path)
    assert len(ok("-C", "clone", "ls", cwd=tmp_path).lines) == 2
    ok("-C", "store", "add", "--time", MAR, "jan.txt", cwd=tmp_path)
    pulled = ok("-C", "clone", "pull", cwd=tmp_path)
    assert pulled.stderr.startswith("pulled ")
    assert len(ok("-C", "clone", "ls", cwd=tmp_path).lines) == 3
