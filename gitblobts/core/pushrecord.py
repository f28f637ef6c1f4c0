"""The failure of a store's background pushes, recorded beside the repository's own files
(in its git directory, never on the branch) so that ``gitblobts status``, run in another
process, can show it. Written when a streak of failures starts and as it goes on, removed
by the push that ends it. Local state only: no part of the store's format."""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass

FILE_NAME = "gitblobts-push-failure.json"


@dataclass(frozen=True)
class PushFailure:
    """A streak of failed background pushes: the last failure, and since when."""

    message: str
    """What the last attempt raised."""
    since: float
    """When the streak's first attempt failed (seconds since the epoch)."""
    attempts: int
    """How many attempts of the streak failed."""
    pid: int
    """The process whose store pushes."""
    branch: str
    """The branch it pushes."""


def git_dir(path: str) -> str:
    """The git directory of the repository at ``path`` (its working tree or a bare one)."""
    dot_git = os.path.join(path, ".git")
    if os.path.isdir(dot_git):
        return dot_git
    if os.path.isfile(dot_git):  # a linked working tree: "gitdir: WHERE"
        with open(dot_git, encoding="utf-8") as file:
            where = file.read().strip().removeprefix("gitdir:").strip()
        return os.path.join(path, where)
    return path


def record(path: str, failure: PushFailure) -> None:
    """Record ``failure`` for the repository at ``path``; an error here is not the push's."""
    target = os.path.join(git_dir(path), FILE_NAME)
    temporary = f"{target}.{os.getpid()}.tmp"
    with contextlib.suppress(OSError):
        with open(temporary, "w", encoding="utf-8") as file:
            json.dump(asdict(failure), file)
        os.replace(temporary, target)


def clear(path: str, branch: str) -> None:
    """Remove the record of ``branch``'s failure, if there is one."""
    if read(path, branch) is not None:
        with contextlib.suppress(OSError):
            os.remove(os.path.join(git_dir(path), FILE_NAME))


def read(path: str, branch: str) -> PushFailure | None:
    """The failure recorded for ``branch`` of the repository at ``path``, if any."""
    try:
        with open(os.path.join(git_dir(path), FILE_NAME), encoding="utf-8") as file:
            found = PushFailure(**json.load(file))
    except (OSError, ValueError, TypeError):
        return None
    return found if found.branch == branch else None
