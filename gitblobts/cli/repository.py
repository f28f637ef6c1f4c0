"""The git command's porcelain that ``init`` and ``status`` need around a store: making a
repository, its ``origin`` remote, and reading a remote's URL."""

from __future__ import annotations

import os
import subprocess

from gitblobts.cli.errors import CommandError
from gitblobts.core.redaction import redact


def _git(path: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    try:
        result = subprocess.run(
            ["git", *args],
            cwd=path,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            check=False,
        )
    except OSError as error:
        raise CommandError(f"cannot run git: {error.strerror}; install git") from None
    if check and result.returncode != 0:
        said = " ".join(result.stderr.split()) or f"exit status {result.returncode}"
        raise CommandError(f"{path}: git {args[0]} failed: {redact(said)}")
    return result


def kind(path: str) -> str | None:
    """``'bare'`` or ``'worktree'`` if ``path`` is the root of a git repository, else
    ``None`` (no such folder, no repository, or a folder inside another repository)."""
    if not os.path.isdir(path):
        return None
    result = _git(
        path,
        "rev-parse",
        "--absolute-git-dir",
        "--is-inside-work-tree",
        "--show-prefix",
        check=False,
    )
    lines = result.stdout.splitlines()
    if result.returncode != 0 or len(lines) < 2:
        return None
    git_dir, inside = lines[0], lines[1] == "true"
    if inside:
        return "worktree" if len(lines) < 3 or lines[2] == "" else None
    return "bare" if os.path.realpath(git_dir) == os.path.realpath(path) else None


def create(path: str, *, bare: bool) -> None:
    """``git init`` (``--bare``) at ``path``, creating the folders it needs."""
    parent = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(parent, exist_ok=True)
    except OSError as error:
        raise CommandError(f"{parent}: cannot create the folder: {error.strerror}") from None
    _git(parent, "init", "--quiet", *(["--bare"] if bare else []), os.path.abspath(path))


def remote_url(path: str, name: str) -> str | None:
    """The URL of remote ``name`` of the repository at ``path``, credentials redacted."""
    result = _git(path, "config", "--get", f"remote.{name}.url", check=False)
    url = result.stdout.strip()
    return redact(url) if result.returncode == 0 and url else None


def set_origin(path: str, url: str) -> None:
    """Make ``url`` the ``origin`` remote; an ``origin`` with another URL is an error."""
    result = _git(path, "config", "--get", "remote.origin.url", check=False)
    current = result.stdout.strip()
    if result.returncode == 0 and current:
        if current != url:
            raise CommandError(
                f"{path}: remote origin is {redact(current)} already; change it with "
                "git remote set-url origin URL"
            )
        return
    _git(path, "remote", "add", "origin", url)
