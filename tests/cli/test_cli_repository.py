"""Which repository the command works on: found upward from the current folder (or -C) as
git finds it; and ``init`` that fails leaves nothing it made behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.command import add_blobs, assert_fails, ok, run
from tests.helpers.git import git

BAD_URL = "https://bad host.invalid/nothing.git"


@pytest.fixture
def store(tmp_path: Path) -> Path:
    ok("init", "store", cwd=tmp_path)
    add_blobs(tmp_path / "store", {1_700_000_000: b"x"})
    return tmp_path / "store"


# Discovery


def test_a_command_in_a_subfolder_works_on_the_store_above(store: Path) -> None:
    deep = store / "notes" / "deeper"
    deep.mkdir(parents=True)

    assert len(ok("ls", cwd=deep).lines) == 1
    assert not (deep / ".git").exists()


def test_dash_c_naming_a_subfolder_works_on_the_store_above(tmp_path: Path, store: Path) -> None:
    (store / "sub").mkdir()

    assert ok("-C", "store/sub", "get", "--cat", cwd=tmp_path).output == b"x"


def test_status_in_a_subfolder_names_the_store_root(store: Path) -> None:
    (store / "sub").mkdir()

    assert f"store:       {store}" in ok("status", cwd=store / "sub").lines


def test_an_add_in_a_subfolder_takes_files_from_the_subfolder(store: Path) -> None:
    (store / "sub").mkdir()
    (store / "sub" / "file.txt").write_bytes(b"from sub")

    ok("add", "file.txt", cwd=store / "sub")

    assert b"from sub" in ok("get", "--cat", cwd=store).output


def test_a_command_inside_the_git_folder_works_on_the_working_tree(store: Path) -> None:
    assert len(ok("ls", cwd=store / ".git" / "refs").lines) == 1


def test_a_command_in_a_subfolder_of_a_bare_store_works_on_it(tmp_path: Path) -> None:
    ok("init", "--bare", "blobs.git", cwd=tmp_path)
    add_blobs(tmp_path / "blobs.git", {1_700_000_000: b"x"})

    assert len(ok("ls", cwd=tmp_path / "blobs.git" / "refs" / "heads").lines) == 1


def test_a_folder_in_no_repository_says_how_to_make_a_store(tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()

    result = run("ls", cwd=tmp_path / "plain")

    assert_fails(result, 1, "not a git repository, nor in one", "gitblobts init")
    assert "git init" not in result.stderr.replace("gitblobts init", "")


# init leaves nothing half-made


def test_init_with_a_bad_remote_leaves_no_repository(tmp_path: Path) -> None:
    result = run("init", "new", "--remote", BAD_URL, cwd=tmp_path)

    assert_fails(result, 1)
    assert not (tmp_path / "new").exists()


def test_init_with_a_bad_remote_removes_only_the_folders_it_made(tmp_path: Path) -> None:
    (tmp_path / "there").mkdir()

    assert_fails(run("init", "there/a/b", "--remote", BAD_URL, cwd=tmp_path), 1)

    assert sorted(p.name for p in tmp_path.iterdir()) == ["there"]
    assert list((tmp_path / "there").iterdir()) == []


def test_init_with_a_bad_remote_in_a_folder_with_files_keeps_the_files(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "keep.txt").write_text("mine")

    assert_fails(run("init", "data", "--remote", BAD_URL, cwd=tmp_path), 1)

    assert [p.name for p in (tmp_path / "data").iterdir()] == ["keep.txt"]


def test_init_bare_with_a_bad_remote_in_an_empty_folder_leaves_it_empty(tmp_path: Path) -> None:
    (tmp_path / "blobs.git").mkdir()

    assert_fails(run("init", "--bare", "blobs.git", "--remote", BAD_URL, cwd=tmp_path), 1)

    assert list((tmp_path / "blobs.git").iterdir()) == []


def test_init_with_a_bad_remote_on_an_existing_repository_adds_no_origin(repo: Path) -> None:
    before = git(repo, "log", "--format=%H")

    assert_fails(run("init", "--remote", BAD_URL, cwd=repo), 1)

    assert git(repo, "remote").strip() == ""
    assert git(repo, "log", "--format=%H") == before
