"""Files stay plain: git and each codec's own command-line tool read what the store wrote."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from gitblobts import Store
from tests.helpers.git import git, git_bytes

TOOLS = {"gzip": "gzip", "bz2": "bzip2", "lzma": "xz", "zstd": "zstd"}


@pytest.mark.parametrize("codec", sorted(TOOLS))
def test_the_codec_tool_decompresses_a_stored_file(repo: Path, tmp_path: Path, codec: str) -> None:
    tool = TOOLS[codec]
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed")
    blob = b"plain file contents\n" * 50
    ref = Store(repo, compression=codec).addblob(blob)

    copy = tmp_path / Path(ref.path).name
    copy.write_bytes(git_bytes(repo, "cat-file", "blob", f"HEAD:{ref.path}"))
    result = subprocess.run([tool, "-d", "-c", str(copy)], capture_output=True, check=True)

    assert result.stdout == blob


def test_an_uncompressed_unencrypted_file_is_the_blob_itself(repo: Path) -> None:
    ref = Store(repo, compression="none").addblob(b"as is")
    assert git_bytes(repo, "cat-file", "blob", f"HEAD:{ref.path}") == b"as is"
    assert (repo / ref.path).read_bytes() == b"as is"


def test_the_working_tree_and_index_stay_in_step(repo: Path) -> None:
    store = Store(repo)
    for i in range(3):
        store.addblob(str(i).encode())
        assert git(repo, "status", "--porcelain") == ""
    assert git(repo, "diff", "--cached", "--stat") == ""


def test_user_changes_in_the_working_tree_are_left_alone(repo: Path) -> None:
    (repo / "README.md").write_text("edited\n")
    (repo / "untracked.txt").write_text("mine\n")
    git(repo, "add", "README.md")

    Store(repo).addblob(b"x")

    status = sorted(git(repo, "status", "--porcelain").splitlines())
    assert status == ["?? untracked.txt", "M  README.md"]


def test_git_log_shows_one_commit_per_add_with_a_message(repo: Path) -> None:
    store = Store(repo)
    store.addblobs([b"a", b"b"])
    store.addblob(b"c")

    messages = git(repo, "log", "--format=%s", "-2").splitlines()
    assert messages == ["gitblobts: add 1 blob", "gitblobts: add 2 blobs"]
