"""``gitblobts get``: output files named by the blob, so that a rerun (or a resume after an
interruption) writes only what is missing and never a half-written file; one blob by path."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

from gitblobts import Nanoseconds, Store
from tests.helpers.command import COMMAND, SECOND, add_blobs, assert_fails, environment, ok, run


@pytest.fixture
def store(tmp_path: Path) -> Path:
    ok("init", "store", cwd=tmp_path)
    add_blobs(tmp_path / "store", {1_700_000_001: b"a", 1_700_000_002: b"b", 1_700_000_003: b"c"})
    return tmp_path / "store"


def paths(store: Path) -> list[str]:
    return [line.split()[2] for line in ok("ls", cwd=store).lines]


def test_the_same_blob_gets_the_same_file_name_on_every_run(tmp_path: Path, store: Path) -> None:
    ok("get", "-o", str(tmp_path / "one"), cwd=store)
    ok("get", "-o", str(tmp_path / "two"), cwd=store)

    names = sorted(p.name for p in (tmp_path / "one").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "two").iterdir())
    assert names == [p.rpartition("/")[2].split(".v2.")[0] for p in paths(store)]


def test_a_rerun_writes_only_what_is_missing(tmp_path: Path, store: Path) -> None:
    out = tmp_path / "out"
    ok("get", "-o", str(out), cwd=store)
    first = min(out.iterdir())
    first.write_bytes(b"touched by the user")
    add_blobs(store, {1_700_000_004: b"d"})

    result = ok("get", "-o", str(out), cwd=store)

    assert result.stderr.startswith("wrote 1 blob to ")
    assert "(3 there already)" in result.stderr
    assert first.read_bytes() == b"touched by the user"
    assert len(list(out.iterdir())) == 4


def test_blobs_of_the_same_nanosecond_get_files_of_their_own(tmp_path: Path, store: Path) -> None:
    Store(store).addblobs([b"x", b"y"], [Nanoseconds(1_700_000_009 * SECOND)] * 2)

    ok("get", "-o", str(tmp_path / "out"), "--start", "1700000009", cwd=store)

    assert sorted(p.read_bytes() for p in (tmp_path / "out").iterdir()) == [b"x", b"y"]


@pytest.mark.slow
def test_a_get_killed_midway_then_rerun_leaves_every_blob_whole_once(tmp_path: Path) -> None:
    ok("init", "big", cwd=tmp_path)
    store = tmp_path / "big"
    blobs = [bytes([n]) * (256 * 1024) for n in range(120)]
    Store(store).addblobs(blobs, [Nanoseconds((1_700_000_000 + n) * SECOND) for n in range(120)])
    out = tmp_path / "out"
    cut_short = 0
    for _ in range(3):  # kill, resume, kill again, resume...
        process = subprocess.Popen(
            [*COMMAND, "get", "-o", str(out)],
            cwd=store,
            env=environment(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            if out.exists() and 0 < len(list(out.iterdir())) < 120:
                break
            time.sleep(0.005)
        process.send_signal(signal.SIGKILL)
        cut_short += process.wait() == -signal.SIGKILL and len(list(out.iterdir())) < 120

    ok("get", "-o", str(out), cwd=store)

    assert cut_short >= 1
    files = sorted(out.iterdir())
    assert len(files) == 120
    assert sorted(p.read_bytes() for p in files) == sorted(blobs)


def test_a_leftover_partial_file_is_not_taken_for_the_blob(tmp_path: Path, store: Path) -> None:
    out = tmp_path / "out"
    ok("get", "-o", str(out), cwd=store)
    name = min(p.name for p in out.iterdir())
    (out / name).unlink()
    (out / f".{name}.partial").write_bytes(b"")  # as a run killed while writing leaves it

    ok("get", "-o", str(out), cwd=store)

    assert (out / name).read_bytes() == b"a"
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == []


# One blob by its path


def test_get_takes_a_blobs_path_as_ls_prints_it(store: Path) -> None:
    second = paths(store)[1]

    assert ok("get", "--cat", second, cwd=store).output == b"b"


def test_get_takes_several_paths_in_the_order_given(tmp_path: Path, store: Path) -> None:
    first, _, third = paths(store)

    assert ok("get", "--cat", third, first, cwd=store).output == b"ca"
    ok("get", "-o", str(tmp_path / "out"), third, cwd=store)
    assert [p.read_bytes() for p in (tmp_path / "out").iterdir()] == [b"c"]


def test_get_of_a_path_that_holds_no_blob_fails_naming_it(store: Path) -> None:
    missing = "2023/11/14/22/20231114T221320.000000000Z_aaaaaaaaaaaaaaaaaaaaaaaaaa.v2.zst"

    assert_fails(run("get", "--cat", missing, cwd=store), 1, missing, "no such blob")
    assert_fails(run("get", "--cat", "README.md", cwd=store), 1, "README.md", "not a blob")


def test_get_of_paths_and_a_range_is_a_usage_error(store: Path) -> None:
    assert_fails(run("get", "--cat", paths(store)[0], "--start", "0", cwd=store), 2)
