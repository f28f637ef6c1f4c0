"""``Backend.blob_sizes``: each blob's size as ``git cat-file -s`` gives it, read from the
object's header whether the blob is loose, packed whole or packed as a delta (offset or
reference); a missing object, or one that is no blob, raises as ``read_blobs`` does."""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gitblobts import RepositoryError
from gitblobts.core.backend import Backend
from gitblobts.plugins.backends.dulwich import DulwichBackend
from gitblobts.plugins.backends.git import GitCommandBackend
from tests.helpers.git import git

BACKENDS = {"dulwich": DulwichBackend, "git": GitCommandBackend}


@pytest.fixture(params=sorted(BACKENDS))
def open_backend(request: pytest.FixtureRequest) -> Iterator[Callable[[Path], Backend]]:
    opened: list[Backend] = []

    def factory(path: Path) -> Backend:
        backend = BACKENDS[request.param](str(path))
        opened.append(backend)
        return backend

    yield factory
    for backend in opened:
        backend.close()


def similar_blobs(count: int = 12) -> list[bytes]:
    """Blobs alike enough for git to store all but one as deltas."""
    rng = random.Random(15)
    base = bytes(rng.randrange(256) for _ in range(20_000))
    return [base[: 1000 * number] + b"%d" % number + base for number in range(count)]


def write_loose(repo: Path, blobs: list[bytes]) -> list[str]:
    """Write ``blobs`` as loose objects (with git), reachable from a commit."""
    oids = [git(repo, "hash-object", "-w", "--stdin", input=blob).strip() for blob in blobs]
    entries = "".join(f"100644 blob {oid}\tf{number}\n" for number, oid in enumerate(oids))
    tree = git(repo, "mktree", input=entries.encode()).strip()
    commit = git(repo, "commit-tree", tree, "-m", "blobs").strip()
    git(repo, "update-ref", "refs/heads/main", commit)
    return oids


def git_sizes(repo: Path, oids: list[str]) -> list[int]:
    return [int(git(repo, "cat-file", "-s", oid)) for oid in oids]


def delta_kinds(repo: Path) -> set[str]:
    """The pack entry types of every packed object (``OBJ_OFS_DELTA``... as verify-pack says:
    a delta shows as its result's type with a base, so count those)."""
    (index,) = (repo / "objects" / "pack").glob("*.idx")
    lines = git(repo, "verify-pack", "-v", str(index)).splitlines()
    return {"delta" if len(line.split()) == 7 else "whole" for line in lines if " blob " in line}


def test_sizes_of_loose_blobs(
    new_repo: Callable[[str], Path], open_backend: Callable[[Path], Backend]
) -> None:
    repo = new_repo("bare")
    blobs = [b"", b"x", os.urandom(100_000), *similar_blobs(3)]
    oids = write_loose(repo, blobs)
    assert not list((repo / "objects" / "pack").glob("*.pack"))

    sizes = list(open_backend(repo).blob_sizes(oids))

    assert sizes == git_sizes(repo, oids) == [len(blob) for blob in blobs]


@pytest.mark.parametrize(
    "repack",
    [
        pytest.param(["repack", "-ad", "--window=0"], id="whole"),
        pytest.param(["repack", "-adf", "--window=250"], id="offset-deltas"),
        pytest.param(
            ["-c", "repack.useDeltaBaseOffset=false", "repack", "-adf", "--window=250"],
            id="reference-deltas",
        ),
    ],
)
def test_sizes_of_packed_blobs(
    new_repo: Callable[[str], Path],
    open_backend: Callable[[Path], Backend],
    repack: list[str],
) -> None:
    repo = new_repo("bare")
    blobs = [b"x", os.urandom(50_000), *similar_blobs()]
    oids = write_loose(repo, blobs)
    git(repo, *repack)
    git(repo, "prune-packed")
    assert not [p for p in (repo / "objects").iterdir() if len(p.name) == 2]
    assert ("delta" in delta_kinds(repo)) == ("--window=250" in repack)

    sizes = list(open_backend(repo).blob_sizes(reversed(oids)))

    assert sizes == git_sizes(repo, oids[::-1]) == [len(blob) for blob in reversed(blobs)]


def test_a_missing_object_raises_as_read_blobs_does(
    new_repo: Callable[[str], Path], open_backend: Callable[[Path], Backend]
) -> None:
    repo = new_repo("bare")
    (oid,) = write_loose(repo, [b"here"])
    backend = open_backend(repo)
    missing = "0" * 40

    with pytest.raises(RepositoryError):
        list(backend.read_blobs([oid, missing]))
    sizes = backend.blob_sizes([oid, missing])
    assert next(sizes) == 4
    with pytest.raises(RepositoryError, match=missing):
        next(sizes)


def test_an_object_that_is_no_blob_raises(
    new_repo: Callable[[str], Path], open_backend: Callable[[Path], Backend]
) -> None:
    repo = new_repo("bare")
    write_loose(repo, [b"here"])
    tree = git(repo, "rev-parse", "main^{tree}").strip()

    with pytest.raises(RepositoryError, match="not a blob"):
        list(open_backend(repo).blob_sizes([tree]))


def test_the_default_takes_the_length_of_read_blobs(
    new_repo: Callable[[str], Path], open_backend: Callable[[Path], Backend]
) -> None:
    """What a backend written before ``blob_sizes`` gets."""
    repo = new_repo("bare")
    blobs = [b"", b"abc", *similar_blobs(2)]
    oids = write_loose(repo, blobs)

    assert list(Backend.blob_sizes(open_backend(repo), oids)) == [len(b) for b in blobs]
