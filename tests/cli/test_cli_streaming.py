"""``add`` and ``get`` stream blob contents: each input file is read by the store as it
goes, each blob is copied out in chunks, byte for byte, and the progress bar counts bytes
where it can. Blobs here span several of the command's 1 MiB chunks."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from gitblobts import Nanoseconds, Store
from gitblobts.cli.streams import CHUNK
from tests.helpers.command import (
    COMMAND,
    SECOND,
    assert_fails,
    commits,
    environment,
    ok,
    run,
    stderr_on_terminal,
)


@pytest.fixture
def store(tmp_path: Path) -> Path:
    ok("init", "store", cwd=tmp_path)
    return tmp_path / "store"


def stored(store: Path, lines: list[str]) -> list[bytes]:
    """The blobs at the paths ``add`` printed, in that order."""
    by_path = {blob.path: blob.blob for blob in Store(store).getblobs()}
    return [by_path[line.split()[1]] for line in lines]


def add_at_seconds(store: Path, blobs: list[bytes]) -> None:
    """Set up: ``blobs`` at 1,700,000,001 s, 1,700,000,002 s..., in one commit."""
    times = [Nanoseconds((1_700_000_001 + n) * SECOND) for n in range(len(blobs))]
    Store(store).addblobs(blobs, times)


def open_for_writing(fifo: Path, reader: subprocess.Popen[bytes]) -> int:
    """The writing end of ``fifo``, once ``reader`` has opened it (failing if it ends first)."""
    deadline = time.monotonic() + 60
    while True:
        try:
            return os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:  # ENXIO: no reader yet
            assert reader.poll() is None, reader.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.01)


# add


def test_add_of_files_and_standard_input_stores_each_byte_for_byte_in_one_commit(
    tmp_path: Path, store: Path
) -> None:
    contents = {"big": os.urandom(2 * CHUNK + 3), "empty": b"", "small": b"small"}
    for name, content in contents.items():
        (tmp_path / name).write_bytes(content)
    piped = os.urandom(CHUNK + 1)
    before = commits(store)

    result = ok("add", "../big", "-", "../empty", "../small", cwd=store, input=piped)

    assert commits(store) == before + 1
    assert stored(store, result.lines) == [contents["big"], piped, b"", b"small"]


def test_an_input_that_vanishes_midway_fails_naming_it_and_commits_nothing(
    tmp_path: Path, store: Path
) -> None:
    os.mkfifo(tmp_path / "first")  # read until its writer closes it: then the second goes
    (tmp_path / "second").write_bytes(b"there when add started")
    before = commits(store)
    process = subprocess.Popen(
        [*COMMAND, "add", "../first", "../second"],
        cwd=store,
        env=environment(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        writer = open_for_writing(tmp_path / "first", process)
        os.write(writer, b"first, read while the second vanishes")
        (tmp_path / "second").unlink()
        os.close(writer)
        stdout, stderr = process.communicate(timeout=120)
    finally:
        process.kill()
        process.wait()

    assert process.returncode == 1
    assert stdout == b""
    assert stderr.decode() == "gitblobts: ../second: cannot read: No such file or directory\n"
    assert commits(store) == before


@pytest.mark.skipif(not os.path.exists("/proc/self/mem"), reason="needs Linux's /proc")
def test_an_input_that_fails_to_read_midway_fails_naming_it_and_commits_nothing(
    tmp_path: Path, store: Path
) -> None:
    (tmp_path / "first").write_bytes(os.urandom(CHUNK + 1))
    before = commits(store)

    # /proc/self/mem opens as a file, and its first read fails (nothing is mapped at 0).
    result = run("add", "../first", "/proc/self/mem", cwd=store)

    assert_fails(result, 1, "/proc/self/mem: cannot read: Input/output error")
    assert commits(store) == before
    assert list(Store(store).listblobs()) == []


# get


@pytest.mark.parametrize("option", [["--cat"], ["--output", "-"]])
def test_get_cat_of_several_blobs_concatenates_them_exactly(store: Path, option: list[str]) -> None:
    blobs = [os.urandom(CHUNK + 1), b"", os.urandom(2 * CHUNK), b"tail"]
    add_at_seconds(store, blobs)

    assert ok("get", *option, cwd=store).output == b"".join(blobs)


def test_get_output_writes_each_blob_whole_and_a_rerun_skips_them(
    tmp_path: Path, store: Path
) -> None:
    blobs = [os.urandom(2 * CHUNK + 1), os.urandom(CHUNK - 1), b""]
    add_at_seconds(store, blobs)
    out = tmp_path / "out"

    first = ok("get", "--output", str(out), cwd=store)
    written = {path.name: path.stat().st_mtime_ns for path in out.iterdir()}
    again = ok("get", "--output", str(out), cwd=store)

    assert first.stderr.startswith("wrote 3 blobs to ")
    assert sorted(path.read_bytes() for path in out.iterdir()) == sorted(blobs)
    assert again.stderr.startswith("wrote 0 blobs to ")
    assert "(3 there already)" in again.stderr
    assert {path.name: path.stat().st_mtime_ns for path in out.iterdir()} == written


# The progress bar


def test_the_bar_of_add_counts_the_bytes_of_files(tmp_path: Path, store: Path) -> None:
    for name in ("a", "b"):
        (tmp_path / name).write_bytes(os.urandom(CHUNK))

    drawn = stderr_on_terminal([*COMMAND, "add", "../a", "../b"], cwd=store)

    assert "adding [" in drawn
    assert "100%  2.0 MiB/2.0 MiB" in drawn


def test_the_bar_of_add_counts_the_bytes_of_standard_input_without_a_total(store: Path) -> None:
    drawn = stderr_on_terminal([*COMMAND, "add", "-"], cwd=store, input=os.urandom(3 * 1024))

    assert "adding 3.0 KiB" in drawn
    assert "%" not in drawn


def test_the_bar_of_add_counts_files_when_standard_input_is_one_of_them(
    tmp_path: Path, store: Path
) -> None:
    (tmp_path / "a").write_bytes(b"a" * 1024)

    drawn = stderr_on_terminal([*COMMAND, "add", "../a", "-"], cwd=store, input=b"b" * 1024)

    assert "100%  2/2  2.0 KiB" in drawn


def test_the_bar_of_get_counts_blobs_and_shows_the_bytes_written(
    tmp_path: Path, store: Path
) -> None:
    add_at_seconds(store, [b"x" * CHUNK, b"y" * CHUNK])

    drawn = stderr_on_terminal([*COMMAND, "get", "-o", str(tmp_path / "out")], cwd=store)

    assert "100%  2/2  2.0 MiB" in drawn
