"""What the command writes where: data on standard output, what it did on standard error,
and ``--json`` documents with stable keys; and what ``Store.push()`` and ``pull()`` return."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from gitblobts import PullResult, PushResult, Store
from tests.helpers.command import add_blobs, environment, ok, run
from tests.helpers.git import git


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    """An empty bare repository to push to."""
    path = tmp_path / "remote.git"
    git(tmp_path, "init", "--quiet", "--bare", str(path))
    return path


@pytest.fixture
def pair(tmp_path: Path, remote: Path) -> tuple[Path, Path]:
    """Two stores sharing ``remote``: ``one`` made it, ``two`` joined."""
    ok("init", "one", "--remote", str(remote), cwd=tmp_path)
    ok("init", "two", "--remote", str(remote), cwd=tmp_path)
    return tmp_path / "one", tmp_path / "two"


# Standard output carries only data


def test_init_says_what_it_made_on_stderr_only(tmp_path: Path) -> None:
    result = ok("init", "new", cwd=tmp_path)

    assert result.stdout == ""
    assert "created a git repository" in result.stderr
    assert "recorded the store's configuration" in result.stderr


def test_get_output_says_how_many_it_wrote_on_stderr_only(tmp_path: Path) -> None:
    ok("init", "store", cwd=tmp_path)
    add_blobs(tmp_path / "store", {1_700_000_000: b"x"})

    result = ok("get", "--output", str(tmp_path / "out"), cwd=tmp_path / "store")

    assert result.stdout == ""
    assert result.stderr.startswith("wrote 1 blob to ")


def test_push_says_how_many_commits_went_on_stderr_only(pair: tuple[Path, Path]) -> None:
    one, _ = pair
    ok("add", "-", "--no-push", cwd=one, input=b"a")
    ok("add", "-", "--no-push", cwd=one, input=b"b")

    result = ok("push", cwd=one)

    assert result.stdout == ""
    assert result.stderr == "pushed 2 commits of main to origin (main)\n"


def test_push_says_how_many_pushes_it_took_over_the_push_limit(pair: tuple[Path, Path]) -> None:
    one, _ = pair
    ok("add", "-", "--no-push", cwd=one, input=os.urandom(600))
    ok("add", "-", "--no-push", cwd=one, input=os.urandom(600))

    result = ok("push", cwd=one, env=environment(GITBLOBTS_MAX_PUSH_BYTES="1000"))

    assert result.stderr == (
        "pushed 2 commits of main to origin (main) in 2 pushes, each within max_push_bytes\n"
    )


def test_push_says_when_there_was_nothing_to_push(pair: tuple[Path, Path]) -> None:
    one, _ = pair

    result = ok("push", cwd=one)

    assert result.stdout == ""
    assert result.stderr.startswith("nothing to push: origin (main) has every commit of main")


def test_pull_says_how_many_blobs_arrived(pair: tuple[Path, Path]) -> None:
    one, two = pair
    add_blobs(one, {1_700_000_000: b"a", 1_700_000_001: b"b", 1_700_000_002: b"c"})
    Store(one).push()

    first = ok("pull", cwd=two)
    again = ok("pull", cwd=two)

    assert first.stdout == again.stdout == ""
    assert first.stderr == "pulled 3 blobs from origin (main) into main\n"
    assert again.stderr == "pulled 0 blobs from origin (main) into main\n"


def test_verify_says_no_problems_on_stderr_only(tmp_path: Path) -> None:
    ok("init", "store", cwd=tmp_path)

    result = ok("verify", cwd=tmp_path / "store")

    assert result.stdout == ""
    assert "no problems" in result.stderr


# --json


def test_status_json_has_the_documented_keys(tmp_path: Path, remote: Path) -> None:
    ok("init", "one", "--remote", str(remote), "--compression", "bz2", cwd=tmp_path)
    ok("add", "-", "--no-push", cwd=tmp_path / "one", input=b"x")

    document = json.loads(ok("status", "--json", cwd=tmp_path / "one").stdout)

    assert 0 <= document["unpushed_age"] < 60
    assert document == {
        "store": str(tmp_path / "one"),
        "branch": "main",
        "remote": {"name": "origin", "url": str(remote), "ref": "main"},
        "unpushed": 1,
        "unpushed_age": document["unpushed_age"],
        "push_failure": None,
        "blobs": 1,
        "layout": "20-second",
        "compression": "bz2",
        "cipher": None,
        "configured": True,
    }


def test_status_json_of_a_store_without_remote_has_null_remote(tmp_path: Path) -> None:
    ok("init", "store", cwd=tmp_path)

    document = json.loads(ok("status", "--json", cwd=tmp_path / "store").stdout)

    assert (document["remote"], document["unpushed"]) == (None, None)


def test_verify_json_lists_problems_by_path_and_reason(tmp_path: Path) -> None:
    ok("init", "store", cwd=tmp_path)
    store = tmp_path / "store"
    damaged = "2023/11/14/22/20231114T221320.000000000Z_aaaaaaaaaaaaaaaaaaaaaaaaaa.v2.zst"
    (store / "2023/11/14/22").mkdir(parents=True)
    (store / damaged).write_bytes(b"garbage")
    git(store, "add", damaged)
    git(store, "commit", "--quiet", "-m", "damage")

    result = run("verify", "--json", cwd=store)

    assert result.status == 1
    document = json.loads(result.stdout)
    assert document["checked"] == 2
    [problem] = document["problems"]
    assert problem["path"] == damaged
    assert problem["reason"].startswith("cannot decompress")


def test_verify_json_of_a_sound_store_has_no_problems(tmp_path: Path) -> None:
    ok("init", "store", cwd=tmp_path)

    document = json.loads(ok("verify", "--json", cwd=tmp_path / "store").stdout)

    assert document == {"checked": 1, "problems": []}


def test_plugins_json_writes_one_object_per_plugin(tmp_path: Path) -> None:
    result = ok("plugins", "--json", cwd=tmp_path)

    plugins = {d["name"]: d for d in map(json.loads, result.lines)}

    assert plugins["codecs"]["provides"]["codec"] == ["none", "gzip", "bz2", "lzma", "zstd"]
    assert plugins["codecs"]["distribution"].startswith("gitblobts ")
    assert plugins["git"]["provides"] == {"backend": ["git"]}
    assert all(set(d) == {"name", "distribution", "provides", "hooks"} for d in plugins.values())


def test_push_json_says_how_many_commits_went(pair: tuple[Path, Path]) -> None:
    one, _ = pair
    ok("add", "-", "--no-push", cwd=one, input=b"a")

    document = json.loads(ok("push", "--json", cwd=one).stdout)

    assert document == {
        "branch": "main",
        "remote": "origin",
        "remote_ref": "main",
        "pushed": 1,
        "pushes": 1,
        "commit": git(one, "rev-parse", "main").strip(),
    }


def test_pull_json_says_how_many_blobs_arrived(pair: tuple[Path, Path]) -> None:
    one, two = pair
    ok("add", "-", cwd=one, input=b"a")

    document = json.loads(ok("pull", "--json", cwd=two).stdout)

    assert document == {
        "branch": "main",
        "remote": "origin",
        "remote_ref": "main",
        "blobs": 1,
        "commit": git(two, "rev-parse", "main").strip(),
    }


# The library's side


def test_store_push_returns_what_it_pushed(pair: tuple[Path, Path]) -> None:
    one, _ = pair
    with Store(one) as store:
        store.addblobs([b"a"], push=False)
        store.addblobs([b"b"], push=False)
        tip = git(one, "rev-parse", "main").strip()

        assert store.push() == PushResult(
            pushed=2, remote="origin", ref="refs/heads/main", commit=tip, pushes=1
        )
        assert store.push() == PushResult(
            pushed=0, remote="origin", ref="refs/heads/main", commit=tip, pushes=0
        )


def test_store_pull_returns_how_many_blobs_arrived(pair: tuple[Path, Path]) -> None:
    one, two = pair
    with Store(one) as store:
        store.addblobs([b"a", b"b"])
    with Store(two) as store:
        store.addblobs([b"mine"], push=False)

        arrived = store.pull()
        again = store.pull()

    tip = git(two, "rev-parse", "main").strip()
    assert arrived == PullResult(blobs=2, commit=tip, remote="origin", ref="refs/heads/main")
    assert again == PullResult(blobs=0, commit=tip, remote="origin", ref="refs/heads/main")


def test_store_pull_without_a_remote_reports_nothing_arrived(tmp_path: Path) -> None:
    ok("init", "store", cwd=tmp_path)

    with Store(tmp_path / "store") as store:
        result = store.pull()

    assert (result.blobs, result.remote, result.ref) == (0, None, None)
