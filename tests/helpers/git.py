"""The git command for tests: run it, and make and check repositories of every kind."""

from __future__ import annotations

import subprocess
from pathlib import Path

REPO_KINDS = ("bare", "bare-with-history", "non-bare", "empty")
"""bare: ``git init --bare``, no commits. bare-with-history: a bare clone of a repository
with commits. non-bare: a working tree with a commit (README.md, .gitattributes). empty: a
fresh ``git init`` with no commits. None has a remote."""


def git(repo: Path | str, *args: str, input: bytes | None = None) -> str:
    """Run the git command in ``repo``; return its standard output; fail on error."""
    result = subprocess.run(
        ["git", "-C", str(repo), *args], input=input, capture_output=True, check=False
    )
    assert result.returncode == 0, f"git {' '.join(args)} failed: {result.stderr.decode()}"
    return result.stdout.decode("utf-8", "replace")


def git_bytes(repo: Path | str, *args: str) -> bytes:
    """Run the git command in ``repo``; return its standard output as bytes."""
    result = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=True)
    return result.stdout


def assert_fsck_clean(repo: Path) -> None:
    """``git fsck --strict`` finds nothing wrong (dangling objects are not wrong)."""
    result = subprocess.run(
        ["git", "-C", str(repo), "fsck", "--strict", "--no-progress", "--no-dangling"],
        capture_output=True,
        check=False,
    )
    output = (result.stdout + result.stderr).decode()
    assert result.returncode == 0, f"git fsck --strict failed in {repo}:\n{output}"
    assert "error" not in output, output
    assert "warning" not in output, output


def make_repo(root: Path, kind: str) -> Path:
    """Create a repository of ``kind`` (see :data:`REPO_KINDS`) under ``root``."""
    path = root / kind
    if kind == "bare":
        git(root, "init", "--quiet", "--bare", str(path))
    elif kind == "empty":
        git(root, "init", "--quiet", str(path))
    elif kind in ("non-bare", "bare-with-history"):
        work = root / f"{kind}-work" if kind == "bare-with-history" else path
        git(root, "init", "--quiet", str(work))
        (work / "README.md").write_text("A blob store.\n")
        (work / ".gitattributes").write_text("*.md text\n")
        git(work, "add", "README.md", ".gitattributes")
        git(work, "commit", "--quiet", "-m", "Start")
        if kind == "bare-with-history":
            git(root, "clone", "--quiet", "--bare", str(work), str(path))
            git(path, "remote", "remove", "origin")  # none has a remote
    else:
        raise ValueError(kind)
    return path
