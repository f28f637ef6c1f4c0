"""Git's commit objects: the parts of one the backends use, read from its bytes."""

from __future__ import annotations

from dataclasses import dataclass

from gitblobts.core.errors import RepositoryError


@dataclass(frozen=True, slots=True)
class Commit:
    """The parts of a commit object a backend uses."""

    tree: str
    parent: str | None
    message: str
    time: int
    """The committer time, in seconds since the epoch (0 if the commit has none)."""


def parse(data: bytes, oid: str) -> Commit:
    """The commit object ``data`` (of id ``oid``); the error says if it has no tree."""
    header, _, message = data.partition(b"\n\n")
    tree: str | None = None
    parent: str | None = None
    when = 0
    for line in header.split(b"\n"):
        key, _, value = line.partition(b" ")
        if key == b"tree" and tree is None:
            tree = value.decode("ascii")
        elif key == b"parent" and parent is None:
            parent = value.decode("ascii")
        elif key == b"committer":  # name <email> seconds zone
            fields = value.rsplit(b" ", 2)
            when = int(fields[1]) if len(fields) == 3 and fields[1].isdigit() else 0
    if tree is None:
        raise RepositoryError(f"commit {oid} has no tree")
    return Commit(tree, parent, message.decode("utf-8", "replace"), when)
