"""What the ``git`` backend writes: a batch of blobs through one ``git fast-import``
(:func:`fast_import`); a single blob, and a commit's trees and the commit, without a git
process, as loose objects (:func:`gitblobts.gitfiles.objects.write_loose`, git's format, as
the dulwich backend writes them), where a single add would otherwise spend a process on
each.

A commit's author and committer follow git's rules as ``git commit-tree`` with
``user.useConfigOnly`` applies them: ``GIT_AUTHOR_NAME`` (``GIT_COMMITTER_NAME``, ...) if set
and not empty, else ``author.name`` (``committer.name``) or ``user.name`` from git's
configuration, else ``EMAIL`` for an email, else :data:`~.base.DEFAULT_IDENTITY`. The
configuration is read by one ``git config`` and kept until one of its files changes.

Git itself writes where this cannot follow it exactly: in a repository of SHA-256 ids, and
when ``GIT_AUTHOR_DATE`` or ``GIT_COMMITTER_DATE`` set a commit's time
(:attr:`LooseWriter.usable` says so).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator

from gitblobts.core.backend import Identity
from gitblobts.core.errors import RepositoryError
from gitblobts.gitfiles import refs
from gitblobts.gitfiles.objects import PackWriter, write_loose
from gitblobts.plugins.backends import gitprocesses as processes
from gitblobts.plugins.backends.base import DEFAULT_IDENTITY

_ROLES = {
    "AUTHOR": ("author", "user"),
    "COMMITTER": ("committer", "user"),
}
"""Each role, and the configuration sections git takes its name and email from, in order."""
CONFIG_PATTERN = r"^(user|author|committer)\.(name|email)$|^extensions\.(objectformat|refstorage)$"
"""The configuration keys the writer needs."""
_DATE_VARIABLES = ("GIT_AUTHOR_DATE", "GIT_COMMITTER_DATE")
LOOSE_TREES = 16
"""Most trees of one commit written as loose objects."""
_MALLOC_TUNING = "glibc.malloc.top_pad=16777216"


def _config_files(git_dir: str) -> tuple[str, ...]:
    """The files git reads its configuration from, for this repository."""
    home = os.path.expanduser("~")
    xdg = os.environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    return (
        os.path.join(common_dir(git_dir), "config"),
        os.path.join(git_dir, "config.worktree"),
        os.environ.get("GIT_CONFIG_GLOBAL") or os.path.join(home, ".gitconfig"),
        os.path.join(xdg, "git", "config"),
        os.environ.get("GIT_CONFIG_SYSTEM") or "/etc/gitconfig",
    )


def common_dir(git_dir: str) -> str:
    """The git directory shared by all working trees (a linked working tree's names it)."""
    try:
        with open(os.path.join(git_dir, "commondir"), encoding="utf-8") as f:
            return os.path.normpath(os.path.join(git_dir, f.read().strip()))
    except FileNotFoundError:
        return git_dir


class LooseWriter:
    """Loose objects of one repository, and the commits' identities."""

    def __init__(self, git_dir: str, read_config: Callable[[str], dict[str, str]]) -> None:
        self.common_dir = common_dir(git_dir)
        self._objects = os.path.join(self.common_dir, "objects")
        self._files = _config_files(git_dir)
        self._read_config = read_config
        self._config: tuple[tuple[object, ...], dict[str, str]] | None = None

    def _stamp(self) -> tuple[object, ...]:
        stamps: list[object] = [os.environ.get(name) for name in ("GIT_CONFIG_GLOBAL", "HOME")]
        for path in self._files:
            try:
                found = os.stat(path)
                stamps.append((found.st_mtime_ns, found.st_size, found.st_ino))
            except OSError:
                stamps.append(None)
        return tuple(stamps)

    def config(self) -> dict[str, str]:
        """The configuration values the writer needs, read again once a file changed."""
        stamp = self._stamp()
        if self._config is None or self._config[0] != stamp:
            self._config = (stamp, self._read_config(CONFIG_PATTERN))
        return self._config[1]

    @property
    def usable(self) -> bool:
        """Whether objects may be written here rather than by git (see the module)."""
        if any(os.environ.get(name) for name in _DATE_VARIABLES):
            return False
        return self.config().get("extensions.objectformat", "sha1").lower() == "sha1"

    @property
    def reads_refs(self) -> bool:
        """Whether refs are files (and ``packed-refs``) :mod:`gitblobts.gitfiles.refs` reads."""
        return self.config().get("extensions.refstorage", "files").lower() == "files"

    def write(self, kind: bytes, data: bytes | bytearray, *, durable: bool) -> str:
        """Write one object of ``kind``; return its id."""
        return write_loose(self._objects, kind, data, durable=durable)

    def write_trees(self, raw_trees: list[bytes], *, durable: bool) -> None:
        """Write trees: loose, or in one pack if there are more than :data:`LOOSE_TREES`
        (a batch's commit makes a folder per blob in sparse stores)."""
        if len(raw_trees) <= LOOSE_TREES:
            for raw in raw_trees:
                self.write(b"tree", raw, durable=durable)
            return
        with PackWriter(self._objects, durable=durable) as pack:
            for raw in raw_trees:
                pack.add(b"tree", raw)
            pack.finish()

    def identity(self, role: str) -> Identity:
        """Who ``role`` (``AUTHOR`` or ``COMMITTER``) is, by git's rules (see the module)."""
        config = self.config()
        found: list[str] = []
        for field in ("name", "email"):
            value = os.environ.get(f"GIT_{role}_{field.upper()}") or next(
                (config[key] for s in _ROLES[role] if (key := f"{s}.{field}") in config), ""
            )
            if not value and field == "email":
                value = os.environ.get("EMAIL", "")
            found.append(value or getattr(DEFAULT_IDENTITY, field))
        return Identity(*found)

    def commit(
        self, tree: str, parent: str | None, message: str, author: Identity | None, durable: bool
    ) -> tuple[str, int]:
        """Write a commit of ``tree``; return its id and time. ``author``, if given, is its
        author and committer."""
        when = int(time.time())
        lines = [b"tree " + tree.encode("ascii")]
        if parent is not None:
            lines.append(b"parent " + parent.encode("ascii"))
        for role in ("AUTHOR", "COMMITTER"):
            who = author or self.identity(role)
            lines.append(b"%s %s" % (role.lower().encode(), refs.signature(who, when).encode()))
        lines += [b"", message.encode("utf-8")]
        return self.write(b"commit", b"\n".join(lines), durable=durable), when


def fast_import(
    command: Callable[..., tuple[list[str], dict[str, str]]],
    cwd: str,
    path: str,
    contents: Iterator[bytes | bytearray],
    marks: str,
    tuning: tuple[str, ...],
) -> int:
    """Stream blobs into ``git fast-import`` run with ``tuning`` (see
    :func:`~gitblobts.plugins.backends.gitprocesses.fast_import_tuning`), one mark each;
    return how many: a batch's path. A blob over 1 MiB (a part, say) streams through, never
    held whole."""
    flags = ("--quiet", "--big-file-threshold=1m", f"--export-marks={marks}")
    argv, env = command(*tuning, "fast-import", *flags)
    # glibc otherwise returns memory to the system after each object and asks for it
    # again for the next: two system calls per object, half of all the time taken.
    tunables = env.get("GLIBC_TUNABLES")
    env["GLIBC_TUNABLES"] = f"{tunables}:{_MALLOC_TUNING}" if tunables else _MALLOC_TUNING
    with tempfile.TemporaryFile() as errors:
        process = processes.start(argv, env, cwd, stdout=subprocess.DEVNULL, stderr=errors)
        assert process.stdin is not None
        count = 0
        broken = False
        try:
            for content in contents:
                count += 1
                header = b"blob\nmark :%d\ndata %d\n" % (count, len(content))
                try:
                    process.stdin.write(header)
                    process.stdin.write(content)
                    process.stdin.write(b"\n")
                except BrokenPipeError:
                    broken = True
                    break
        finally:
            # Also on an error from ``contents``: what was sent is stored (unreachable,
            # as a failed dulwich add leaves it), and the process ends cleanly.
            processes.close_quietly(process.stdin)
            code = process.wait()
        if broken or code != 0:
            errors.seek(0)
            message = processes.text(errors.read()) or f"exit status {code}"
            raise RepositoryError(f"{path}: git fast-import failed: {message}")
    return count
