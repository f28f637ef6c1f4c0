"""Reading loose objects: the contents of what git wrote, inflated into one buffer of the
size the header gives; ``None`` for anything else, which dulwich then reads or refuses."""

from __future__ import annotations

import os
import tracemalloc
import zlib
from pathlib import Path

import pytest

from gitblobts.gitfiles.objects import BLOB, TREE, read_loose, write_loose
from tests.helpers.git import git

MIB = 1 << 20


def bare(tmp_path: Path) -> Path:
    path = tmp_path / "repo.git"
    git(tmp_path, "init", "--quiet", "--bare", str(path))
    return path


def hash_object(repo: Path, data: bytes) -> str:
    """Write ``data`` as a loose blob with git; return its id."""
    return git(repo, "hash-object", "-w", "--stdin", input=data).strip()


def loose_path(repo: Path, oid: str) -> Path:
    return repo / "objects" / oid[:2] / oid[2:]


@pytest.mark.parametrize("size", [0, 1, 100, MIB - 1, MIB, 3 * MIB + 5])
def test_reads_the_blobs_git_wrote(tmp_path: Path, size: int) -> None:
    repo = bare(tmp_path)
    data = os.urandom(size // 2) + bytes(size - size // 2)
    oid = hash_object(repo, data)
    assert read_loose(str(repo / "objects"), oid, BLOB) == data


def test_reads_the_blobs_write_loose_wrote(tmp_path: Path) -> None:
    repo = bare(tmp_path)
    data = os.urandom(2 * MIB)
    oid = write_loose(str(repo / "objects"), BLOB, data)
    assert read_loose(str(repo / "objects"), oid, BLOB) == data


def test_a_missing_object_reads_as_none(tmp_path: Path) -> None:
    assert read_loose(str(bare(tmp_path) / "objects"), "ab" * 20, BLOB) is None


def test_an_object_of_another_kind_reads_as_none(tmp_path: Path) -> None:
    repo = bare(tmp_path)
    oid = hash_object(repo, b"a blob")
    assert read_loose(str(repo / "objects"), oid, TREE) is None


@pytest.mark.parametrize(
    "stored",
    [
        pytest.param(zlib.compress(b"blob 10\0short"), id="shorter-than-its-header"),
        pytest.param(zlib.compress(b"blob 2\0longer"), id="longer-than-its-header"),
        pytest.param(zlib.compress(b"blob 100\0" + bytes(100))[:-30], id="cut-short"),
        pytest.param(zlib.compress(b"blob x\0"), id="no-size"),
        pytest.param(zlib.compress(b"blob " + b"1" * 100), id="no-end-of-header"),
        pytest.param(b"not zlib at all", id="not-zlib"),
        pytest.param(b"", id="empty"),
    ],
)
def test_a_malformed_object_reads_as_none(tmp_path: Path, stored: bytes) -> None:
    repo = bare(tmp_path)
    oid = "cd" * 20
    path = loose_path(repo, oid)
    path.parent.mkdir()
    path.write_bytes(stored)
    assert read_loose(str(repo / "objects"), oid, BLOB) is None


def test_a_large_object_costs_its_size_and_a_few_mebibytes(tmp_path: Path) -> None:
    repo = bare(tmp_path)
    oid = hash_object(repo, os.urandom(16 * MIB))
    tracemalloc.start()
    try:
        data = read_loose(str(repo / "objects"), oid, BLOB)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert data is not None
    assert len(data) == 16 * MIB
    assert peak < 16 * MIB + 4 * MIB


def test_a_write_makes_its_folder_again_when_git_prunes_it_meanwhile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # git's prune-packed removes the object folders it empties; one may go between its
    # making and the new object's file. Here it goes each of the first three times.
    repo = bare(tmp_path)
    made = os.makedirs
    pruned: list[str] = []

    def made_then_pruned(folder: str, exist_ok: bool = False) -> None:
        made(folder, exist_ok=exist_ok)
        if len(pruned) < 3:
            os.rmdir(folder)
            pruned.append(folder)

    monkeypatch.setattr(os, "makedirs", made_then_pruned)
    oid = write_loose(str(repo / "objects"), BLOB, b"written all the same")
    assert len(pruned) == 3
    assert git(repo, "cat-file", "blob", oid) == "written all the same"
