"""A store on the dulwich backend keeps its repository packed: loose objects that pile up
are packed by git's own maintenance in the background, beside writers and readers, and
nothing is lost. (The git backend leaves packing to its users.) Every store here is on the
dulwich backend, whichever backend the suite runs with."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gitblobts import Store
from gitblobts.gitfiles.objects import BLOB, write_loose
from gitblobts.plugins.backends import packing
from tests.helpers.git import git

FEW = 300


@pytest.fixture
def packs_soon(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pack after every fourth commit, unless packing runs: the estimate of loose objects
    has a test of its own."""
    monkeypatch.setattr(packing, "CHECK_EVERY", 4)
    monkeypatch.setattr(packing, "LOOSE_LIMIT", 0)


def objects_of(path: Path) -> dict[str, int]:
    counted = git(path, "count-objects", "-v")
    return {key: int(value) for key, value in (line.split(": ") for line in counted.splitlines())}


def packed(timeout: float = 60.0) -> None:
    """Wait for every packing thread (and so its git processes) to end: ``git fsck`` beside
    a ``prune-packed`` would miss the objects it moves."""
    for thread in threading.enumerate():
        if thread.name == "gitblobts packing":
            thread.join(timeout)


def settled(path: Path, loose_below: int, timeout: float = 60.0) -> dict[str, int]:
    """The repository's object counts once fewer than ``loose_below`` objects are loose and
    no packing runs (or when ``timeout`` passes)."""
    deadline = time.monotonic() + timeout
    packed(timeout)
    counts = objects_of(path)
    while counts["count"] >= loose_below and time.monotonic() < deadline:
        time.sleep(0.1)
        packed(timeout)
        counts = objects_of(path)
    return counts


@pytest.fixture(autouse=True)
def _packing_ends() -> Iterator[None]:
    """Each test's repositories are checked by git fsck at its end: packing must be over."""
    yield
    packed()


@pytest.mark.usefixtures("packs_soon")
def test_single_adds_end_packed_and_every_blob_reads_back(
    new_repo: Callable[[str], Path], repo_kind: str
) -> None:
    path = new_repo(repo_kind)
    added = [os.urandom(1024) for _ in range(FEW)]
    with Store(path, push=False, backend="dulwich") as store:
        for blob in added:
            store.addblob(blob)
        counts = settled(path, loose_below=8 * FEW // 4)
        assert counts["packs"] >= 1
        assert counts["in-pack"] >= 8 * FEW // 2
        assert counts["count"] < 8 * FEW // 4  # loose copies of packed objects are gone
        read = sorted(blob.blob for blob in store.getblobs())
    assert read == sorted(added)
    packed()
    git(path, "fsck", "--strict", "--no-dangling")


@pytest.mark.usefixtures("packs_soon")
def test_packing_beside_two_writers_and_a_reader_loses_nothing(
    new_repo: Callable[[str], Path],
) -> None:
    path = new_repo("bare")
    Store(path, push=False, backend="dulwich").init()
    failures: list[BaseException] = []
    written: list[bytes] = []
    done = threading.Event()

    def write(count: int) -> None:
        try:
            with Store(path, push=False, backend="dulwich") as store:
                for _ in range(count):
                    blob = os.urandom(512)
                    store.addblob(blob)
                    written.append(blob)
        except BaseException as error:
            failures.append(error)

    def read() -> None:
        try:
            with Store(path, backend="dulwich") as store:
                while not done.is_set():
                    sum(len(blob.blob) for blob in store.getblobs())
        except BaseException as error:
            failures.append(error)

    writers = [threading.Thread(target=write, args=(150,)) for _ in range(2)]
    reader = threading.Thread(target=read)
    for thread in (*writers, reader):
        thread.start()
    for thread in writers:
        thread.join()
    done.set()
    reader.join()
    packed()
    assert failures == []
    assert objects_of(path)["packs"] >= 1
    with Store(path, backend="dulwich") as store:
        assert sorted(blob.blob for blob in store.getblobs()) == sorted(written)
    git(path, "fsck", "--strict", "--no-dangling")


def test_loose_objects_are_estimated_from_one_folder_as_git_does(tmp_path: Path) -> None:
    path = tmp_path / "repo.git"
    git(tmp_path, "init", "--quiet", "--bare", str(path))
    for number in range(5000):
        write_loose(str(path / "objects"), BLOB, b"%d" % number)
    sampled = [name for name in os.listdir(path / "objects" / "17") if len(name) == 38]
    estimate = packing.Packing(str(path)).loose_objects()
    assert estimate == 256 * len(sampled)
    assert 1000 < estimate < 15_000  # 5,000 spread over 256 folders: one holds about 20


@pytest.mark.usefixtures("packs_soon")
def test_maintenance_auto_false_leaves_objects_loose(new_repo: Callable[[str], Path]) -> None:
    path = new_repo("bare")
    git(path, "config", "maintenance.auto", "false")
    with Store(path, push=False, backend="dulwich") as store:
        for _ in range(100):
            store.addblob(os.urandom(256))
    counts = objects_of(path)
    assert counts["packs"] == 0
    assert counts["count"] >= 800


@pytest.mark.usefixtures("packs_soon")
def test_without_git_a_warning_says_so_once(
    new_repo: Callable[[str], Path],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    path = new_repo("bare")
    monkeypatch.setattr(packing.shutil, "which", lambda name: None)
    store = Store(path, push=False, backend="dulwich")
    with caplog.at_level(logging.WARNING, logger=packing.__name__), store:
        for _ in range(100):
            store.addblob(os.urandom(256))
        assert len(store.getblobs().__next__().blob) == 256
    warnings = [r.getMessage() for r in caplog.records if r.name == packing.__name__]
    assert len(warnings) == 1
    assert "git command is not installed" in warnings[0]
    assert f"git -C {path} maintenance run --task=loose-objects" in warnings[0]
