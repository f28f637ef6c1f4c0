"""``gitblobts get --follow``: the blobs from ``--start`` on, then each new one as it arrives,
like ``tail -f``, until Ctrl-C (exit status 130)."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gitblobts import Nanoseconds, Store
from tests.helpers.command import COMMAND, SECOND, assert_fails, environment, ok, run
from tests.helpers.git import git


@pytest.fixture
def store(tmp_path: Path) -> Path:
    git(tmp_path, "init", "--quiet", "store")
    Store(tmp_path / "store").addblobs(
        [b"old ", b"first "], [Nanoseconds(SECOND), Nanoseconds(2 * SECOND)]
    )
    return tmp_path / "store"


@pytest.fixture
def following(store: Path) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start ``gitblobts get --follow --interval 0.05`` with more arguments; each process is
    killed after the test if it is still running."""
    started: list[subprocess.Popen[bytes]] = []

    def start(*args: str) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [*COMMAND, "get", "--follow", "--interval", "0.05", *args],
            cwd=store,
            env=environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


def wait_for(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


class Reader(threading.Thread):
    """Everything a pipe gives, as it comes."""

    def __init__(self, pipe: int) -> None:
        super().__init__(daemon=True)
        self.pipe, self.data = pipe, b""

    def run(self) -> None:
        while chunk := os.read(self.pipe, 65536):
            self.data += chunk


def test_follow_cat_writes_blobs_from_start_then_new_ones_until_ctrl_c(
    store: Path, following: Callable[..., subprocess.Popen[bytes]]
) -> None:
    process = following("--cat", "--start", "2")
    assert process.stdout is not None
    reader = Reader(process.stdout.fileno())
    reader.start()
    wait_for(lambda: reader.data == b"first ")

    Store(store).addblob(b"new ", Nanoseconds(3 * SECOND))
    wait_for(lambda: reader.data == b"first new ")
    process.send_signal(signal.SIGINT)

    assert process.wait(30) == 130


def test_follow_output_writes_each_new_blob_to_a_file_and_says_so(
    tmp_path: Path, store: Path, following: Callable[..., subprocess.Popen[bytes]]
) -> None:
    out = tmp_path / "out"
    process = following("-o", str(out))
    wait_for(lambda: out.exists() and len(list(out.iterdir())) == 2)

    Store(store).addblob(b"new ", Nanoseconds(3 * SECOND))
    wait_for(lambda: len(list(out.iterdir())) == 3)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)

    assert process.returncode == 130
    assert sorted(p.read_bytes() for p in out.iterdir()) == [b"first ", b"new ", b"old "]
    lines = stderr.decode().splitlines()
    assert [Path(line).name for line in lines[:3]] == sorted(p.name for p in out.iterdir())
    assert lines[-1] == f"gitblobts: stopped following: wrote 3 blobs to {out}"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--end", "5"], "no PATH, no --end"),
        (["some/path"], "no PATH, no --end"),
        (["--interval", "0"], "positive number of seconds"),
    ],
)
def test_follow_refuses_an_end_paths_and_a_bad_interval(
    store: Path, args: list[str], fragment: str
) -> None:
    assert_fails(run("get", "--follow", "--cat", *args, cwd=store), 2, fragment)


def test_without_follow_get_still_ends(store: Path) -> None:
    assert ok("get", "--cat", cwd=store).stdout == "old first "
