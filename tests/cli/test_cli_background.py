"""``gitblobts add --background``: print the blobs once committed, then push within
``--wait`` seconds; and what ``status`` says of commits waiting and of failing pushes."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.helpers.command import assert_fails, ok, run
from tests.helpers.git import git

UNREACHABLE = "git://127.0.0.1:1/blobs.git"


def test_add_background_pushes_before_exiting(tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "--quiet", "--bare", str(remote))
    ok("init", "one", "--remote", str(remote), cwd=tmp_path)

    added = ok("add", "-", "--background", cwd=tmp_path / "one", input=b"soon")

    assert len(added.lines) == 1
    assert "0 commits" in ok("status", cwd=tmp_path / "one").stdout
    assert git(remote, "rev-parse", "main") == git(tmp_path / "one", "rev-parse", "main")


def test_add_background_with_the_remote_down_exits_within_its_wait(tmp_path: Path) -> None:
    ok("init", "one", cwd=tmp_path)
    store = tmp_path / "one"
    git(store, "remote", "add", "origin", UNREACHABLE)

    started = time.monotonic()
    added = run("add", "-", "--background", "--wait", "1", cwd=store, input=b"stays")

    assert time.monotonic() - started < 20
    assert added.status == 0  # the blob is added: committed here
    assert len(added.lines) == 1
    assert "closed with 2 commit(s) not pushed within 1 s" in added.stderr  # init's, add's
    fields = dict(line.split(":", 1) for line in ok("status", cwd=store).lines)
    assert fields["unpushed"].strip() == "2 commits"
    assert fields["oldest"].strip().startswith("committed ")
    assert "(process " in fields["push failed"]
    document = json.loads(ok("status", "--json", cwd=store).stdout)
    assert document["unpushed"] == 2
    assert document["unpushed_age"] >= 0
    assert document["push_failure"]["attempts"] >= 1
    assert document["push_failure"]["since"].endswith("+00:00")


def test_add_background_refuses_no_push_and_wait_needs_background(tmp_path: Path) -> None:
    ok("init", "one", cwd=tmp_path)

    assert_fails(
        run("add", "-", "--background", "--no-push", cwd=tmp_path / "one", input=b"x"),
        2,
        "--no-push",
    )
    assert_fails(run("add", "-", "--wait", "3", cwd=tmp_path / "one", input=b"x"), 2, "--wait")
    assert_fails(
        run("add", "-", "--background", "--wait", "-1", cwd=tmp_path / "one", input=b"x"),
        2,
        "seconds",
    )
