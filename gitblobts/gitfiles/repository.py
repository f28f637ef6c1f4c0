"""A new bare repository, as ``git init --bare`` makes it, written without git.

The folders git needs (``objects``, ``refs``), ``HEAD`` naming the branch to come, and a
``config`` with the remote ``origin`` if one is given, fetching every branch as
``git remote add`` sets it up. The repository is made in a temporary folder beside its
place and renamed into it: two processes making the same one end with one, whole.
"""

from __future__ import annotations

import errno
import os
import shutil
import uuid


def create_bare(path: str, *, branch: str, origin: str | None) -> bool:
    """Make the bare repository ``path``, its ``HEAD`` the branch ``branch`` (a full name,
    ``refs/heads/...``), with the remote ``origin`` if given; return ``False``, changing
    nothing, if ``path`` exists already and is not an empty folder."""
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    temporary = os.path.join(parent, f".{os.path.basename(path)}.{uuid.uuid4().hex}.tmp")
    try:
        for folder in ("objects/info", "objects/pack", "refs/heads", "refs/tags", "info"):
            os.makedirs(os.path.join(temporary, folder))
        config = "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = true\n"
        if origin is not None:
            config += (
                f'[remote "origin"]\n\turl = {quote(origin)}\n'
                "\tfetch = +refs/heads/*:refs/remotes/origin/*\n"
            )
        _write(os.path.join(temporary, "config"), config)
        _write(os.path.join(temporary, "HEAD"), f"ref: {branch}\n")
        try:
            os.rename(temporary, path)  # replaces an empty folder, never a full one
        except OSError as error:
            if error.errno in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR):
                return False
            raise
        return True
    finally:
        shutil.rmtree(temporary, ignore_errors=True)


def quote(value: str) -> str:
    """``value`` as a git configuration value: in double quotes, ``\\`` and ``"`` escaped."""
    if "\n" in value or "\0" in value:
        raise ValueError(f"{value!r}: a configuration value cannot hold a line break or NUL")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _write(path: str, text: str) -> None:
    with open(path, "x", encoding="utf-8") as f:
        f.write(text)
