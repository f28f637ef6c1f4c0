"""A Ctrl-C at a terminal, which goes to the whole process group, cuts none of the git
processes that move the branch and bring the index in step.

An add holds Ctrl-C back from before the branch moves until the index and working tree
follow (``tests/store/test_interrupted_adds.py``). At a terminal, the signal also reaches every
process the add started: a git process killed in that step would leave the index behind the
branch with no lock to prove it, and a user's ``git commit -a`` would then remove the blobs.
Here a stand-in for ``git`` sends SIGINT to the writer's process group as a chosen git
command of that step starts, and only then runs it.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.git import git

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="process groups are POSIX")

GIT = r"""
import os, signal, sys

if sys.argv[1:2] == [os.environ["CTRL_C_AT"]]:
    os.killpg(int(os.environ["WRITER_GROUP"]), signal.SIGINT)
os.execv(os.environ["REAL_GIT"], ["git", *sys.argv[1:]])
"""
"""``git``, which first presses Ctrl-C for the writer's whole process group (itself too)
when its command is ``$CTRL_C_AT``."""

WRITER = r"""
import os, sys
from gitblobts import AddInterrupted, Store

os.environ["WRITER_GROUP"] = str(os.getpgrp())
store = Store(sys.argv[1], backend="git")
try:
    store.addblobs([b"one", b"two"])
except AddInterrupted:
    print("interrupted once the blobs were added")
except KeyboardInterrupt:
    print("interrupted before anything was added")
else:
    print("not interrupted")
"""


def ctrl_c_at_the_terminal(repo: Path, tmp_path: Path, command: str) -> str:
    """Add two blobs on the git backend in a writer leading a process group of its own, as
    a terminal's job does, with Ctrl-C pressed as ``git command`` starts; return what the
    writer said."""
    shims = tmp_path / "shims"
    shims.mkdir()
    shim = shims / "git"
    shim.write_text(f"#!{sys.executable}\n{GIT}")
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    real_git = shutil.which("git")
    assert real_git is not None
    env = {
        **os.environ,
        "PATH": f"{shims}{os.pathsep}{os.environ['PATH']}",
        "REAL_GIT": real_git,
        "CTRL_C_AT": command,
    }
    writer = subprocess.run(
        [sys.executable, "-c", WRITER, str(repo)],
        capture_output=True,
        env=env,
        start_new_session=True,
        timeout=120,
        check=False,
    )
    assert writer.returncode == 0, writer.stderr.decode()
    return writer.stdout.decode().strip()


@pytest.mark.parametrize("command", ["update-ref", "update-index", "checkout-index"])
def test_ctrl_c_at_the_terminal_as_the_branch_and_index_move_cuts_no_git_process(
    repo: Path, tmp_path: Path, command: str
) -> None:
    said = ctrl_c_at_the_terminal(repo, tmp_path, command)

    assert said == "interrupted once the blobs were added"
    added = [
        p for p in git(repo, "ls-tree", "-r", "--name-only", "HEAD").split() if p.endswith(".zst")
    ]
    assert len(added) == 2
    assert not (repo / ".git" / "index.lock").exists()
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""
    (repo / "README.md").write_text("A change of the user's.\n")
    git(repo, "commit", "--quiet", "-a", "-m", "The user's commit")
    assert git(repo, "diff", "--name-only", "HEAD~1", "HEAD") == "README.md\n"
