"""What :meth:`~gitblobts.Store.push` and :meth:`~gitblobts.Store.pull` did, as values a
caller (the command's ``push`` and ``pull``, a script) can report."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PushResult:
    """What :meth:`~gitblobts.Store.push` delivered."""

    pushed: int
    """How many commits the remote did not have and has now; 0: there was nothing to push."""
    remote: str
    """The remote pushed to, by name (``origin``)."""
    ref: str
    """The remote's ref that was updated, or was already up to date (``refs/heads/main``)."""
    commit: str | None
    """The commit the remote's ref points at now; ``None`` for an empty branch."""
    pushes: int
    """How many pushes delivered the commits: more than one when their new blob files
    together exceed ``max_push_bytes`` (see :class:`~gitblobts.Store`); 0 with nothing to
    push."""


@dataclass(frozen=True)
class PullResult:
    """What :meth:`~gitblobts.Store.pull` brought in."""

    blobs: int
    """How many blobs arrived: blob files the remote had and the branch had not."""
    commit: str | None
    """The branch's tip afterwards; ``None`` if it has no commit yet (nor has the remote)."""
    remote: str | None
    """The remote pulled from, by name; ``None`` when the branch has no remote."""
    ref: str | None
    """The remote's ref pulled; ``None`` when the branch has no remote."""
