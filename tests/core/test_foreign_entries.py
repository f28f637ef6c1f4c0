"""Foreign and malicious entries: what a repository holds besides the store's own files.

Queries skip an entry named like a blob file that is not a regular file (a symbolic link, a
submodule, a folder), with a :class:`~gitblobts.ForeignEntryWarning`; they pass over other
names; ``verify`` reports all of them. Nothing is ever read from, or written to, outside the
repository: not through a symbolic link in the tree or in the working tree, not through a
path a hostile remote put in its tree.

The repositories are made with git's plumbing, as someone (or something) else would make
them; the suite runs once per backend (``GITBLOBTS_BACKEND``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tracemalloc
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import zstandard

from gitblobts import (
    BlobTooLargeError,
    ConfigError,
    ForeignEntryWarning,
    Nanoseconds,
    Problem,
    RepositoryError,
    Store,
)
from gitblobts.gitfiles import worktree
from tests.helpers.git import git, make_repo
from tests.helpers.plumbing import Entries, commit_entries, hash_object
from tests.helpers.seedformat import file_name
from tests.helpers.seedformat import write as write_seed_store

HOUR_NS = 3600 * 10**9
BASE = 1_700_000_000 * 10**9  # 2023-11-14T22:13:20Z
FOLDER = "2023/11/14/22"
IN_2026 = 1_780_000_000 * 10**9  # 2026-05-28T20:26:40Z, in folder 2026/05/28/20
MiB = 1 << 20
INSTALLED = shutil.which("gitblobts")
COMMAND = [INSTALLED] if INSTALLED else [sys.executable, "-m", "gitblobts"]


def blob_name(second: int, letter: str = "f", tail: str = ".v2.zst") -> str:
    """A blob file name at BASE + ``second`` seconds (in FOLDER)."""
    return f"20231114T2213{20 + second:02d}.000000000Z_{letter * 26}{tail}"


def head(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD").strip()


@pytest.fixture
def store_repo(new_repo: Callable[[str], Path]) -> Path:
    """A bare repository with an hourly store (these tests' paths are hourly's) of two blobs,
    b"first" and b"second", in FOLDER, of configuration version 2, where a folder named like
    a blob is foreign (from version 3 it is a parted blob: tests/core/test_parts.py)."""
    path = new_repo("bare")
    Store(path, layout="hourly").addblobs(
        [b"first", b"second"], [Nanoseconds(BASE), Nanoseconds(BASE + 10**9)]
    )
    config = json.loads(git(path, "show", "HEAD:.gitblobts.json"))
    config["version"] = 2
    del config["part_size"]
    commit_entries(
        path, {".gitblobts.json": (0o100644, hash_object(path, json.dumps(config).encode()))}
    )
    return path


FOREIGN_KINDS = ["symbolic link", "symbolic link out", "submodule", "folder"]


def foreign_entry(repo: Path, path: str, kind: str) -> Entries:
    """Entries that put a ``kind`` of thing at ``path``."""
    if kind == "symbolic link":
        return {path: (0o120000, hash_object(repo, b"/etc/passwd"))}
    if kind == "symbolic link out":
        return {path: (0o120000, hash_object(repo, b"../../../../../outside"))}
    if kind == "submodule":
        return {path: (0o160000, "1234567890abcdef1234567890abcdef12345678")}
    return {f"{path}/inside": (0o100644, hash_object(repo, b"in a folder"))}


def described(kind: str) -> str:
    return {"symbolic link out": "a symbolic link", "folder": "a folder"}.get(kind, f"a {kind}")


@contextlib.contextmanager
def no_warnings() -> Iterator[None]:
    """Fail on any warning inside."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


# Entries named like blob files that are not regular files


@pytest.mark.parametrize("kind", FOREIGN_KINDS)
def test_queries_skip_an_entry_named_like_a_blob_that_is_no_file_and_warn_of_it(
    store_repo: Path, kind: str
) -> None:
    path = f"{FOLDER}/{blob_name(5)}"
    commit_entries(store_repo, foreign_entry(store_repo, path, kind))
    store = Store(store_repo)

    with pytest.warns(ForeignEntryWarning, match=re.escape(f"{path}: skipped {described(kind)}")):
        assert [blob.blob for blob in store.getblobs()] == [b"first", b"second"]
    with pytest.warns(ForeignEntryWarning, match=re.escape(path)):
        assert len(list(store.listblobs())) == 2
    with pytest.warns(ForeignEntryWarning, match=re.escape(path)):
        assert store.count() == 2


def test_a_query_whose_range_leaves_the_entry_out_does_not_warn(store_repo: Path) -> None:
    commit_entries(
        store_repo, foreign_entry(store_repo, f"{FOLDER}/{blob_name(5)}", "symbolic link")
    )

    with no_warnings():
        assert Store(store_repo).count(Nanoseconds(BASE), Nanoseconds(BASE + 10**9)) == 2


@pytest.mark.parametrize("kind", FOREIGN_KINDS)
def test_verify_reports_an_entry_named_like_a_blob_that_is_no_file(
    store_repo: Path, kind: str
) -> None:
    path = f"{FOLDER}/{blob_name(5)}"
    commit_entries(store_repo, foreign_entry(store_repo, path, kind))

    report = Store(store_repo).verify()

    reason = f"{described(kind)} named like a blob file, not a regular file: queries skip it"
    assert report.problems == (Problem(path, reason),)
    assert report.checked == 4  # two blobs, the configuration, the entry


def test_a_symbolic_link_named_like_a_blob_at_the_root_of_a_flat_store_is_reported(
    new_repo: Callable[[str], Path],
) -> None:
    repo = new_repo("bare")
    Store(repo, layout="flat").addblob(b"first", Nanoseconds(BASE))
    commit_entries(repo, foreign_entry(repo, blob_name(5), "symbolic link"))
    store = Store(repo)

    with pytest.warns(ForeignEntryWarning, match=re.escape(blob_name(5))):
        assert [blob.blob for blob in store.getblobs()] == [b"first"]
    assert [problem.path for problem in store.verify().problems] == [blob_name(5)]


def test_an_executable_file_named_like_a_blob_is_a_blob(store_repo: Path) -> None:
    stored = zstandard.ZstdCompressor().compress(b"run me")
    commit_entries(
        store_repo, {f"{FOLDER}/{blob_name(5)}": (0o100755, hash_object(store_repo, stored))}
    )
    store = Store(store_repo)

    with no_warnings():
        assert [blob.blob for blob in store.getblobs()] == [b"first", b"second", b"run me"]
    assert store.verify().ok


# Other names


ODD_NAMES = [
    b"notes\n.txt",
    b"\xff\xfe not UTF-8",
    b"\x1b]0;terminal title\x07",
    blob_name(5).upper().encode(),
    blob_name(5, tail=".v2.zst~").encode(),
]


def test_names_that_are_not_blob_names_are_passed_over_by_queries_and_reported(
    store_repo: Path,
) -> None:
    content = hash_object(store_repo, b"not a blob")
    commit_entries(
        store_repo, {f"{FOLDER}/".encode() + name: (0o100644, content) for name in ODD_NAMES}
    )
    store = Store(store_repo)

    with no_warnings():
        assert [blob.blob for blob in store.getblobs()] == [b"first", b"second"]
    report = store.verify()

    paths = sorted(f"{FOLDER}/{name.decode('utf-8', 'surrogateescape')}" for name in ODD_NAMES)
    assert report.problems == tuple(Problem(path, "not a blob file name") for path in paths)
    assert report.checked == 3 + len(ODD_NAMES)


def test_the_command_prints_odd_names_escaped_and_the_warning_on_one_line(
    store_repo: Path,
) -> None:
    odd = b"\x1b]0;owned\x07\xff"
    link = f"{FOLDER}/{blob_name(5)}"
    commit_entries(
        store_repo,
        {
            f"{FOLDER}/".encode() + odd: (0o100644, hash_object(store_repo, b"odd")),
            **foreign_entry(store_repo, link, "symbolic link"),
        },
    )
    env = {key: value for key, value in os.environ.items() if key != "GITBLOBTS_KEY"}

    verify = subprocess.run([*COMMAND, "verify"], cwd=store_repo, env=env, capture_output=True)
    listing = subprocess.run([*COMMAND, "ls"], cwd=store_repo, env=env, capture_output=True)

    assert verify.returncode == 1
    assert verify.stdout.decode().splitlines() == [
        f"{FOLDER}/\\x1b]0;owned\\x07\\xff: not a blob file name",
        f"{link}: a symbolic link named like a blob file, not a regular file: queries skip it",
    ]
    assert listing.returncode == 0
    assert listing.stderr.decode() == (
        f"gitblobts: warning: {link}: skipped a symbolic link named like a blob file, not a "
        "regular file; it is never read or followed (Store.verify() reports it)\n"
    )


def test_a_symbolic_link_with_another_name_among_blobs_is_reported(store_repo: Path) -> None:
    commit_entries(store_repo, foreign_entry(store_repo, f"{FOLDER}/passwd", "symbolic link"))

    assert Store(store_repo).verify().problems == (
        Problem(f"{FOLDER}/passwd", "a symbolic link among blobs"),
    )


# What stands where the layout keeps folders


@pytest.mark.parametrize(
    ("path", "mode", "described_as"),
    [
        ("2026", 0o100644, "a file"),
        ("2026/05/28/20", 0o120000, "a symbolic link"),
        ("2026/05", 0o160000, "a submodule"),
    ],
)
def test_what_stands_where_the_layout_keeps_a_folder_blocks_adding_and_is_reported(
    store_repo: Path, path: str, mode: int, described_as: str
) -> None:
    oid = "1234567890abcdef1234567890abcdef12345678" if mode == 0o160000 else None
    commit_entries(store_repo, {path: (mode, oid or hash_object(store_repo, b"/tmp/elsewhere"))})
    store = Store(store_repo)
    before = head(store_repo)

    with pytest.raises(RepositoryError, match=f"{path}: {described_as} stands where a folder"):
        store.addblob(b"in 2026", Nanoseconds(IN_2026))
    assert head(store_repo) == before
    assert store.count(Nanoseconds(IN_2026 - HOUR_NS), Nanoseconds(IN_2026 + HOUR_NS)) == 0
    (problem,) = store.verify().problems
    assert problem.path == path
    assert problem.reason.startswith(f"{described_as} where layout 'hourly' keeps a folder")


# The configuration


@pytest.mark.parametrize("kind", ["symbolic link", "folder"])
def test_a_configuration_that_is_no_file_is_refused_on_opening_and_reported(
    store_repo: Path, kind: str
) -> None:
    opened = Store(store_repo)
    replaced = {".gitblobts.json": None, **foreign_entry(store_repo, ".gitblobts.json", kind)}
    commit_entries(store_repo, replaced)

    with pytest.raises(ConfigError, match=f".gitblobts.json is {described(kind)}, not a regular"):
        Store(store_repo)
    assert opened.verify().problems == (
        Problem(".gitblobts.json", f"{described(kind)}, not a regular file"),
    )


# Huge files


def test_a_file_that_decompresses_past_the_limit_fails_to_read_and_is_reported(
    store_repo: Path,
) -> None:
    path = f"{FOLDER}/{blob_name(5)}"
    bomb = zstandard.ZstdCompressor().compress(bytes(2 * MiB))
    commit_entries(store_repo, {path: (0o100644, hash_object(store_repo, bomb))})
    store = Store(store_repo, max_blob_size=MiB)

    with pytest.raises(BlobTooLargeError, match=re.escape(path)):
        list(store.getblobs())
    assert [info.stored_size for info in store.listblobs()][-1] == len(bomb)
    (problem,) = store.verify().problems
    assert problem.path == path
    assert problem.reason.startswith(f"decompresses to more than {MiB} bytes")


def test_huge_files_beside_blobs_are_not_read_by_queries_that_do_not_ask_for_them(
    store_repo: Path,
) -> None:
    huge = hash_object(store_repo, bytes(100 * MiB))
    elsewhere_in_time = f"2023/11/14/20/{blob_name(0).replace('T2213', 'T2013')[:-4]}"
    commit_entries(
        store_repo,
        {
            f"{FOLDER}/dump.bin": (0o100644, huge),
            "dump.bin": (0o100644, huge),
            elsewhere_in_time: (0o100644, huge),
        },
    )
    store = Store(store_repo)
    hour = (Nanoseconds(BASE), Nanoseconds(BASE + HOUR_NS))

    tracemalloc.start()
    try:
        assert [blob.blob for blob in store.getblobs(*hour)] == [b"first", b"second"]
        assert len(list(store.listblobs(*hour))) == 2
        assert store.count() == 3
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * MiB


# The working tree


@pytest.mark.parametrize("link", ["2026", "2026/05/28/20"])
def test_adding_replaces_a_symbolic_link_in_the_working_tree_and_never_writes_through_it(
    repo: Path, tmp_path: Path, link: str
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (repo / link).parent.mkdir(parents=True, exist_ok=True)
    os.symlink(elsewhere, repo / link)

    ref = Store(repo).addblob(b"in 2026", Nanoseconds(IN_2026))

    assert list(elsewhere.iterdir()) == []
    assert not (repo / link).is_symlink()
    assert (repo / ref.path).is_file()
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""


def test_a_committed_symbolic_link_where_a_folder_goes_is_never_written_through(
    repo: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.symlink(elsewhere, repo / "2026")
    git(repo, "add", "2026")
    git(repo, "commit", "--quiet", "-m", "a link")
    store = Store(repo)
    before = head(repo)

    with pytest.raises(RepositoryError, match="2026: a symbolic link stands where a folder"):
        store.addblob(b"in 2026", Nanoseconds(IN_2026))
    assert list(elsewhere.iterdir()) == []
    assert head(repo) == before


def test_checking_out_replaces_a_link_at_the_file_itself_and_leaves_its_target(
    tmp_path: Path,
) -> None:
    target = tmp_path / "target"
    target.write_bytes(b"untouched")
    root = tmp_path / "root"
    (root / "a").mkdir(parents=True)
    os.symlink(target, root / "a" / "b")

    worktree.write_file(str(root), "a/b", b"checked out")

    assert target.read_bytes() == b"untouched"
    assert not (root / "a" / "b").is_symlink()
    assert (root / "a" / "b").read_bytes() == b"checked out"


def test_removing_leaves_a_file_behind_a_linked_folder_alone(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "b").write_bytes(b"untouched")
    root = tmp_path / "root"
    root.mkdir()
    os.symlink(outside, root / "a")

    worktree.remove_file(str(root), "a/b")

    assert (outside / "b").read_bytes() == b"untouched"


@pytest.mark.parametrize("path", ["..", "a/../b", ".git/hooks/post-commit", ".GIT/config", "a//b"])
def test_a_path_that_leads_out_of_the_working_tree_or_into_git_is_refused(path: str) -> None:
    with pytest.raises(RepositoryError, match="refusing to check out"):
        worktree.check_path(path)


@pytest.mark.parametrize("hostile", [".git/hooks/post-commit", ".Git/hooks/post-commit", ".."])
def test_pulling_a_hostile_tree_writes_nothing_outside_the_working_tree_or_into_git(
    tmp_path: Path, hostile: str
) -> None:
    remote = make_repo(tmp_path, "bare")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "--quiet", str(remote), str(clone))
    Store(clone).addblob(b"first", Nanoseconds(BASE))
    work = tmp_path / "hostile-work"
    git(tmp_path, "clone", "--quiet", str(remote), str(work))
    evil = hash_object(work, b"#!/bin/sh\ntouch pwned\n")
    if hostile == "..":
        hook_tree = None
        root = git(work, "mktree", input=f"100755 blob {evil}\t..\n".encode()).strip()
    else:
        hook_tree = git(work, "mktree", input=f"100755 blob {evil}\tpost-commit\n".encode())
        hooks = git(work, "mktree", input=f"040000 tree {hook_tree.strip()}\thooks\n".encode())
        top = hostile.split("/")[0]
        root = git(work, "mktree", input=f"040000 tree {hooks.strip()}\t{top}\n".encode())
    commit = git(work, "commit-tree", root.strip(), "-p", "HEAD", "-m", "hostile").strip()
    git(work, "push", "--quiet", str(remote), f"{commit}:refs/heads/main")
    before = sorted(os.listdir(tmp_path))

    with pytest.raises(RepositoryError, match="refusing to check out"):
        Store(clone).pull()
    assert not (clone / ".git" / "hooks" / "post-commit").exists()
    assert sorted(os.listdir(tmp_path)) == before


# Migration


def test_migrating_skips_a_format_1_name_that_is_no_file_and_leaves_it(
    new_repo: Callable[[str], Path],
) -> None:
    work = new_repo("empty")
    write_seed_store(work, [(BASE, b"old")])
    link = file_name(BASE + 1, 12345)
    os.symlink("/etc/passwd", work / link)
    git(work, "add", link)
    git(work, "commit", "--quiet", "-m", "a link")
    store = Store(work)

    with pytest.warns(ForeignEntryWarning, match=re.escape(link)):
        assert [blob.blob for blob in store.getblobs()] == [b"old"]
    with pytest.warns(ForeignEntryWarning, match=re.escape(link)):
        assert store.migrate().migrated == 1
    assert [blob.blob for blob in store.getblobs()] == [b"old"]
    assert git(work, "ls-tree", "HEAD", link).startswith("120000 ")
    assert (work / link).is_symlink()
