"""Writers that die mid-add, and what they leave in the repository."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from tests.helpers.git import git


def blob_paths(repo: Path, rev: str = "HEAD") -> set[str]:
    """The blob files of ``rev``'s tree."""
    names = git(repo, "ls-tree", "-r", "--name-only", rev).splitlines()
    return {name for name in names if name.endswith(".zst")}


DIES_AFTER_THE_MOVE = r"""
import os, signal, sys
from gitblobts import Store

path = sys.argv[1]
store = Store(path)


def watch(event, args):
    # dulwich: the ref's lock is renamed over the branch, its temporary name goes next;
    # git: update-ref has moved the branch, the index's update is about to start.
    moved = event == "os.remove" and "/main.lock~" in str(args[0])
    moved = moved or event == "subprocess.Popen" and "update-index" in args[1]
    if moved:
        os.kill(os.getpid(), signal.SIGKILL)


sys.addaudithook(watch)
store.addblobs([b"one", b"two", b"three"])
"""


def kill_after_the_move(repo: Path) -> None:
    """Add three blobs in a writer that is killed once the branch moved, before the index
    and working tree followed."""
    writer = subprocess.run(
        [sys.executable, "-c", DIES_AFTER_THE_MOVE, str(repo)], capture_output=True, check=False
    )
    assert writer.returncode == -signal.SIGKILL, writer.stderr.decode()
    assert len(blob_paths(repo)) == 3
