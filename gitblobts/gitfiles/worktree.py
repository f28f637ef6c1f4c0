"""The working tree's files, as both built-in backends change them.

Nothing here reaches outside the working tree. A path from a tree (which a hostile remote
may have written) is refused unless each of its parts is a plain name: not empty, ``.``,
``..`` or ``.git`` (in any case). Symbolic links on the way are never followed: where one
stands in the place of a folder, checking out replaces the link (not what it points at)
with a real folder, as ``git checkout-index -f`` does; removing leaves the file alone.
"""

from __future__ import annotations

import contextlib
import os
import stat

from gitblobts.core.errors import RepositoryError

_FORBIDDEN_PARTS = frozenset({"", ".", "..", ".git"})


def check_path(path: str) -> list[str]:
    """The parts of the repository path ``path`` (``/``-separated); ``RepositoryError`` if
    it could lead out of the working tree or into the git directory."""
    parts = path.split("/")
    if any(part.lower() in _FORBIDDEN_PARTS or "\0" in part for part in parts):
        raise RepositoryError(
            f"refusing to check out {path!r}: it could lead out of the working tree or into "
            ".git (git refuses such paths too; was the tree made by hand?)"
        )
    return parts


def make_room(root: str, path: str) -> str:
    """Where the file ``path`` goes under ``root``, with room made for it: every folder on
    the way a real folder (a symbolic link or file in the way is removed, never followed),
    and no file or link left at the path itself."""
    parts = check_path(path)
    current = root
    for part in parts[:-1]:
        current = os.path.join(current, part)
        try:
            mode = os.lstat(current).st_mode
        except FileNotFoundError:
            os.mkdir(current)
            continue
        if not stat.S_ISDIR(mode):
            os.remove(current)  # the link itself: what it points at stays as it is
            os.mkdir(current)
    target = os.path.join(current, parts[-1])
    with contextlib.suppress(FileNotFoundError, IsADirectoryError):
        if not stat.S_ISDIR(os.lstat(target).st_mode):
            os.remove(target)
    return target


def write_file(root: str, path: str, content: bytes) -> os.stat_result:
    """Check out ``content`` as the regular file ``path`` under ``root`` (see
    :func:`make_room`); return the new file's status."""
    target = make_room(root, path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_BINARY", 0)
    fd = os.open(target, flags, 0o666)
    with os.fdopen(fd, "wb") as file:
        file.write(content)
    return os.lstat(target)


def remove_file(root: str, path: str) -> None:
    """Delete the checked-out file ``path`` (``/``-separated) under ``root`` if it is there,
    and the folders it leaves empty. A file behind a symbolic link is not in the working
    tree, and is left alone."""
    parts = check_path(path)
    folder = root
    for part in parts[:-1]:
        folder = os.path.join(folder, part)
        try:
            if not stat.S_ISDIR(os.lstat(folder).st_mode):
                return
        except FileNotFoundError:
            return
    target = os.path.join(folder, parts[-1])
    with contextlib.suppress(FileNotFoundError):
        os.remove(target)
    while os.path.normpath(folder) != os.path.normpath(root):
        try:
            os.rmdir(folder)
        except OSError:
            break
        folder = os.path.dirname(folder)
