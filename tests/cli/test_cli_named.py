"""Blobs by name on the command line: ``add --key``, ``get --key [--at | --start/--end]``,
``keys [PREFIX]``, ``put FILE...`` and ``get ADDRESS``; with and without encryption."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from gitblobts import Nanoseconds, Store, generate_key
from tests.helpers.command import assert_fails, environment, ok, run
from tests.helpers.git import git

SECOND = 10**9


@pytest.fixture(params=["plain", "encrypted"])
def env(request: pytest.FixtureRequest) -> dict[str, str]:
    """The command's environment: no key, or an encryption key in ``$GITBLOBTS_KEY``."""
    if request.param == "plain":
        return environment()
    return environment(GITBLOBTS_KEY=generate_key().decode("ascii"))


@pytest.fixture
def store(tmp_path: Path, env: dict[str, str]) -> Path:
    ok("init", "store", "--no-push", cwd=tmp_path, env=env)
    return tmp_path / "store"


def write(folder: Path, name: str, data: bytes) -> str:
    (folder / name).write_bytes(data)
    return str(folder / name)


def test_versions_of_a_key_come_back_latest_at_a_time_and_by_range(
    tmp_path: Path, store: Path, env: dict[str, str]
) -> None:
    for second, text in ((1, b"one"), (2, b"two"), (3, b"three")):
        file = write(tmp_path, f"v{second}", text)
        ok("add", "--key", "sensor/7", "--time", str(second), file, cwd=store, env=env)
    ok("add", write(tmp_path, "other", b"keyless"), cwd=store, env=env)

    latest = ok("get", "--key", "sensor/7", "--cat", cwd=store, env=env)
    at_two = ok("get", "--key", "sensor/7", "--at", "2.5", "--cat", cwd=store, env=env)
    newest_first = ok(
        "get", "--key", "sensor/7", "--start", "3", "--end", "1", "--cat", cwd=store, env=env
    )
    keyless = ok("get", "--cat", cwd=store, env=env)

    assert latest.output == b"three"
    assert at_two.output == b"two"
    assert newest_first.output == b"threetwoone"
    assert keyless.output == b"keyless"


def test_keys_lists_every_key_sorted_and_by_prefix(
    tmp_path: Path, store: Path, env: dict[str, str]
) -> None:
    file = write(tmp_path, "data", b"x")
    names = ["b", "a/1", "a/2", "A", "line\nbreak", "é"]
    for name in names:
        ok("add", "--key", name, file, "--no-push", cwd=store, env=env)

    exact = ok("keys", "-z", cwd=store, env=env).output.split(b"\0")[:-1]
    prefixed = ok("keys", "a/", cwd=store, env=env).lines
    as_json = [json.loads(line)["key"] for line in ok("keys", "--json", cwd=store, env=env).lines]

    assert [name.decode("utf-8") for name in exact] == sorted(names)
    assert prefixed == ["a/1", "a/2"]
    assert as_json == sorted(names)


def test_put_prints_each_address_and_get_reads_it_back(
    tmp_path: Path, store: Path, env: dict[str, str]
) -> None:
    files = [write(tmp_path, "one", b"one"), write(tmp_path, "two", b"two")]

    put = ok("put", *files, cwd=store, env=env)
    again = ok("put", files[0], cwd=store, env=env)

    addresses = [line.split("  ")[0] for line in put.lines]
    assert addresses == [f"sha256-{hashlib.sha256(d).hexdigest()}" for d in (b"one", b"two")]
    assert [line.split("  ")[1] for line in put.lines] == files
    assert again.lines == [put.lines[0]]
    assert ok("get", "--cat", *reversed(addresses), cwd=store, env=env).output == b"twoone"
    out = tmp_path / "out"
    ok("get", "--output", str(out), addresses[0], cwd=store, env=env)
    assert (out / addresses[0]).read_bytes() == b"one"


def test_putting_present_contents_makes_no_commit(
    tmp_path: Path, store: Path, env: dict[str, str]
) -> None:
    file = write(tmp_path, "data", b"the same")
    ok("put", file, cwd=store, env=env)
    tip = git(store, "rev-parse", "HEAD")

    ok("put", file, cwd=store, env=env)

    assert git(store, "rev-parse", "HEAD") == tip


def test_an_unknown_key_or_address_is_a_clear_failure(store: Path, env: dict[str, str]) -> None:
    Store(store, key=env.get("GITBLOBTS_KEY")).addblob(b"x", Nanoseconds(SECOND), key="k")
    missing = "sha256-" + "0" * 64

    assert_fails(run("get", "--key", "nope", "--cat", cwd=store, env=env), 1, "nope")
    assert_fails(run("get", missing, "--cat", cwd=store, env=env), 1, missing)
    assert_fails(run("get", "--key", "k", "--at", "0", "--cat", cwd=store, env=env), 1, "'k'")


def test_usage_errors(store: Path, env: dict[str, str]) -> None:
    assert_fails(run("get", "--at", "now", "--cat", cwd=store, env=env), 2)
    assert_fails(run("get", "--key", "k", "some/path", "--cat", cwd=store, env=env), 2)
    assert_fails(run("get", "--key", "k", "--follow", "--cat", cwd=store, env=env), 2)
    assert_fails(run("keys", "--json", "-z", cwd=store, env=env), 2)
