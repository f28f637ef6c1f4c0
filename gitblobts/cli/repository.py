"""The git porcelain the command needs around a store: finding the repository a folder is
in, making a repository (and taking it back if ``init`` fails), its ``origin`` remote, and
reading a remote's URL."""

from __future__ import annotations

import contextlib
import os
import shutil
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


def discover(path: str) -> str | None:
    """The root of the repository ``path`` is in, found upward as git finds it: the first
    folder, from ``path`` up, that holds ``.git`` (a folder, or a file naming one), or is a
    bare repository itself; not across a file system boundary (git's default). ``path``
    inside a ``.git`` folder is in the working tree above it. ``None``: in no repository."""
    folder = os.path.abspath(path)
    try:
        device = os.stat(folder).st_dev
    except OSError:
        return None
    while True:
        if os.path.exists(os.path.join(folder, ".git")):
            return folder
        if _is_git_directory(folder):
            parent, name = os.path.split(folder)
            return parent if name == ".git" else folder
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        try:
            if os.stat(parent).st_dev != device:
                return None
        except OSError:
            return None
        folder = parent


def _is_git_directory(folder: str) -> bool:
    """What git takes for a repository's own folder: ``HEAD``, ``objects/`` and ``refs/``."""
    return (
        os.path.isfile(os.path.join(folder, "HEAD"))
        and os.path.isdir(os.path.join(folder, "objects"))
        and os.path.isdir(os.path.join(folder, "refs"))
    )


class Made:
    """What :func:`create` and :func:`set_origin` made, so that a failed ``init`` can take it
    back (and only it): folders it created, entries it added to a folder that was there,
    the ``origin`` remote it added."""

    def __init__(self) -> None:
        self.folder: str | None = None
        """The outermost folder created; ``None``: the repository's folder was there."""
        self.filled: str | None = None
        """A folder that was there, in which ``git init`` made the repository."""
        self.before: set[str] = set()
        """The entries of ``filled`` before: the others are the repository's."""
        self.origin_in: str | None = None
        """The repository whose ``origin`` remote was added."""

    def undo(self) -> None:
        """Remove what was made; what was there before stays as it was."""
        if self.origin_in is not None and self.folder is None and self.filled is None:
            _git(self.origin_in, "remote", "remove", "origin", check=False)
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
        if self.filled is None:
            return
        try:
            names = set(os.listdir(self.filled))
        except OSError:
            return
        for name in names - self.before:
            entry = os.path.join(self.filled, name)
            if os.path.isdir(entry) and not os.path.islink(entry):
                shutil.rmtree(entry, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    os.unlink(entry)


def create(path: str, *, bare: bool, made: Made | None = None) -> None:
    """``git init`` (``--bare``) at ``path``, creating the folders it needs; what it made is
    noted in ``made``."""
    target = os.path.abspath(path)
    outermost = target
    while not os.path.exists(os.path.dirname(outermost)):
        outermost = os.path.dirname(outermost)
    existed = os.path.isdir(target)
    before = set(os.listdir(target)) if existed else set()
    if made is not None and not os.path.exists(outermost):
        made.folder = outermost
    parent = os.path.dirname(target)
    try:
        os.makedirs(parent, exist_ok=True)
    except OSError as error:
        raise CommandError(f"{parent}: cannot create the folder: {error.strerror}") from None
    _git(parent, "init", "--quiet", *(["--bare"] if bare else []), target)
    if made is not None and existed:
        made.filled, made.before = target, before


def remote_url(path: str, name: str) -> str | None:
    """The URL of remote ``name`` of the repository at ``path``, credentials redacted."""
    result = _git(path, "config", "--get", f"remote.{name}.url", check=False)
    url = result.stdout.strip()
    return redact(url) if result.returncode == 0 and url else None


def set_origin(path: str, url: str, made: Made | None = None) -> None:
    """Make ``url`` the ``origin`` remote; an ``origin`` with another URL is an error. An
    ``origin`` added is noted in ``made``."""
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
    if made is not None:
        made.origin_in = path
