"""Backends write and read one big object without a second whole copy: writing holds the
contents and a few MiB more, reading the object and a few MiB more (tracemalloc's peak, on
both backends, whoever wrote the object and however it is stored)."""

from __future__ import annotations

import os
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from gitblobts.core.backend import Backend
from gitblobts.plugins.backends.dulwich import DulwichBackend
from gitblobts.plugins.backends.git import GitCommandBackend
from tests.helpers.git import git, git_bytes

BACKENDS = {"dulwich": DulwichBackend, "git": GitCommandBackend}
MIB = 1 << 20
SIZE = 16 * MIB
_T = TypeVar("_T")
LIMIT = SIZE * 3 // 2
"""Most a write or a read may hold at its peak: the object, and half its size again."""


@pytest.fixture(params=sorted(BACKENDS))
def backend_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def open_backend() -> Iterator[Callable[[str, Path], Backend]]:
    opened: list[Backend] = []

    def factory(name: str, path: Path) -> Backend:
        backend = BACKENDS[name](str(path))
        opened.append(backend)
        return backend

    yield factory
    for backend in opened:
        backend.close()


def bare(tmp_path: Path) -> Path:
    path = tmp_path / "repo.git"
    git(tmp_path, "init", "--quiet", "--bare", str(path))
    return path


def peak_of(action: Callable[[], _T]) -> tuple[_T, int]:
    """What ``action`` returns, and the most memory it held at once (beyond what was held
    before)."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        result = action()
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    return result, peak


@pytest.mark.parametrize("kind", ["random", "compressible"])
def test_writing_a_big_object_holds_no_second_copy(
    tmp_path: Path,
    open_backend: Callable[[str, Path], Backend],
    backend_name: str,
    kind: str,
) -> None:
    repo = bare(tmp_path)
    backend = open_backend(backend_name, repo)
    data = os.urandom(SIZE) if kind == "random" else b"gitblobts " * (SIZE // 10)

    oids, peak = peak_of(lambda: backend.write_blobs([data]))

    assert peak < LIMIT - len(data)
    assert git_bytes(repo, "cat-file", "blob", oids[0]) == data


@pytest.mark.parametrize("writer", sorted(BACKENDS))
@pytest.mark.parametrize("count", [1, 2], ids=["alone", "in-a-batch"])
def test_reading_a_big_object_holds_it_and_little_more(
    tmp_path: Path,
    open_backend: Callable[[str, Path], Backend],
    backend_name: str,
    writer: str,
    count: int,
) -> None:
    """An object written alone may be loose (as git writes one), in a batch it is packed."""
    repo = bare(tmp_path)
    data = os.urandom(SIZE)
    oid = open_backend(writer, repo).write_blobs([data] + [b"small"] * (count - 1))[0]
    reader = open_backend(backend_name, repo)

    read, peak = peak_of(lambda: list(reader.read_blobs([oid])))

    assert read == [data]
    assert peak < LIMIT


@pytest.mark.parametrize("kind", ["random", "compressible"])
def test_a_big_object_alone_is_deflated_only_if_it_shrinks(
    tmp_path: Path,
    open_backend: Callable[[str, Path], Backend],
    backend_name: str,
    kind: str,
) -> None:
    """What a codec compressed or a cipher encrypted is stored as it is, with the few bytes
    zlib's stored blocks take (deflating it again would cost most of the time of a write
    and gain nothing), anything else deflated; git reads both."""
    repo = bare(tmp_path)
    data = os.urandom(4 * MIB) if kind == "random" else b"gitblobts " * (4 * MIB // 10)

    (oid,) = open_backend(backend_name, repo).write_blobs([data])

    stored = (repo / "objects" / oid[:2] / oid[2:]).stat().st_size
    if kind == "random":
        assert len(data) < stored < len(data) * 1.001
    else:
        assert stored < len(data) / 10
    assert git_bytes(repo, "cat-file", "blob", oid) == data
