"""Shared fixtures: real git repositories of every kind, checked by ``git fsck --strict``."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytest.register_assert_rewrite("gitservers")

REPO_KINDS = ("bare", "bare-with-history", "non-bare", "empty")
"""bare: ``git init --bare``, no commits. bare-with-history: a bare clone of a repository
with commits. non-bare: a working tree with a commit (README.md, .gitattributes). empty: a
fresh ``git init`` with no commits. None has a remote."""


@pytest.fixture(autouse=True, scope="session")
def _isolated_git_config(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keep the machine's git configuration out of the tests."""
    home = tmp_path_factory.mktemp("home")
    saved = dict(os.environ)
    os.environ.update(
        {
            "HOME": str(home),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"),
            "GIT_AUTHOR_NAME": "Test Author",
            "GIT_AUTHOR_EMAIL": "author@example.com",
            "GIT_COMMITTER_NAME": "Test Author",
            "GIT_COMMITTER_EMAIL": "author@example.com",
        }
    )
    (home / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n")
    yield
    os.environ.clear()
    os.environ.update(saved)


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


@pytest.fixture
def new_repo(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """Make repositories of a given kind; each is checked by ``git fsck --strict`` after the
    test."""
    made: list[Path] = []

    def factory(kind: str = "non-bare") -> Path:
        root = tmp_path / f"r{len(made)}"
        root.mkdir()
        path = make_repo(root, kind)
        made.append(path)
        return path

    yield factory
    for path in made:
        assert_fsck_clean(path)


@pytest.fixture(params=REPO_KINDS)
def repo_kind(request: pytest.FixtureRequest) -> str:
    """Each repository kind in turn."""
    return str(request.param)


@pytest.fixture
def repo(new_repo: Callable[[str], Path]) -> Path:
    """A non-bare repository with one commit and no remote."""
    return new_repo("non-bare")


@pytest.fixture
def local_zone() -> Iterator[Callable[[str], None]]:
    """Set the local time zone: UTC until the test names another. Restored afterwards."""
    saved = os.environ.get("TZ")

    def use(name: str) -> None:
        os.environ["TZ"] = name
        time.tzset()

    use("UTC")
    yield use
    if saved is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = saved
    time.tzset()
