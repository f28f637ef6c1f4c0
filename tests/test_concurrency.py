"""Writers sharing one local repository: every add succeeds and nothing is lost."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import git

from gitblobts import Store

WRITER = """
import sys
from gitblobts import Store
store = Store(sys.argv[1])
name = sys.argv[2]
for i in range(int(sys.argv[3])):
    store.addblob(f"{name}-{i}".encode())
store.addblobs([f"{name}-batch-{i}".encode() for i in range(10)])
"""


@pytest.mark.parametrize("kind", ["non-bare", "bare"])
def test_processes_adding_at_once_all_succeed_and_nothing_is_lost(
    new_repo: Callable[[str], Path], kind: str
) -> None:
    path = new_repo(kind)
    Store(path).addblob(b"first")  # the configuration exists before the race
    writers, adds = 3, 25
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), f"w{n}", str(adds)],
            stderr=subprocess.PIPE,
        )
        for n in range(writers)
    ]
    errors = [p.communicate(timeout=300)[1].decode() for p in processes]

    assert [p.returncode for p in processes] == [0] * writers, errors
    stored = {b.blob for b in Store(path).getblobs()}
    expected = {b"first"} | {
        f"w{n}-{suffix}".encode()
        for n in range(writers)
        for suffix in [*map(str, range(adds)), *(f"batch-{i}" for i in range(10))]
    }
    assert stored == expected
    assert int(git(path, "rev-list", "--count", "HEAD")) >= writers * (adds + 1) + 1
    if kind == "non-bare":
        assert git(path, "status", "--porcelain") == ""


def test_two_stores_in_one_process_do_not_disturb_each_other(
    new_repo: Callable[[str], Path],
) -> None:
    import gitblobts

    key = gitblobts.generate_key()
    one = Store(new_repo("non-bare"), compression="gzip", layout="flat")
    two = Store(new_repo("bare"), compression="lzma", key=key)

    one.addblob(b"one")
    two.addblob(b"two")

    assert [b.path.endswith(".v2.gz") for b in one.getblobs()] == [True]
    assert [b.path.endswith(".v2.xz.aes256gcm") for b in two.getblobs()] == [True]
    assert [b.blob for b in one.getblobs()] == [b"one"]
    assert [b.blob for b in two.getblobs()] == [b"two"]
