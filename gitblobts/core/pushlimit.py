"""The push limit, ``max_push_bytes``: a host refuses a push whose pack is too large
(GitHub's is 2 GB), so an add commits at most that many stored bytes per commit, and a
push of several commits goes as several pushes, each within it. It is a writer's setting,
not recorded in the store: other writers may push elsewhere.

What counts is the stored bytes of the blob files a commit adds (what git's pack carries
of them, since stored files are compressed already); trees and commits come on top, a few
hundred bytes per folder, which the default's distance below 2 GB covers. This module
reads the setting, splits an add's blobs into commits (:class:`CommitSplit`), and
recognises a host's refusal of a push for its size (:func:`size_remedy`)."""

from __future__ import annotations

import itertools
import os

from gitblobts.core.errors import ArgumentError, ArgumentTypeError

DEFAULT_MAX_PUSH_BYTES = 3 << 29
"""Most stored bytes one commit adds and one push carries (1.5 GiB, 1,610,612,736 bytes):
below GitHub's 2 GB with room for a pack's overhead, and above the default
``max_blob_size`` (1 GiB), so that a blob that reads also pushes."""
MAX_PUSH_BYTES_ENV = "GITBLOBTS_MAX_PUSH_BYTES"
"""Environment variable giving ``max_push_bytes`` when ``max_push_bytes=`` is not given."""

PUSH_SIZE_REFUSALS = (
    "pack exceeds maximum allowed size",  # git's receive.maxInputSize: GitHub, GitLab, others
    "rejecting the pack",  # JGit servers (GitBucket, Gerrit): "Object too large (...)"
)
"""What hosts say when a push is larger than they take."""
FILE_SIZE_REFUSALS = (
    "exceeds github's file size limit",  # GitHub: "File x is 122.92 MB; this exceeds ..."
    "gh001: large files detected",  # GitHub
    "which exceed the",  # GitLab: "... check in one or more files which exceed the 100MiB limit"
    "file size limit",  # other hosts' hooks, and the tests' host-like server
)
"""What hosts say (in lower case) when a file of a push is larger than they take."""
DROPPED = (
    "hung up",  # git: "the remote end hung up unexpectedly"
    "unexpected disconnect",  # git: "send-pack: unexpected disconnect while reading sideband"
    "closed the connection",  # dulwich: "The remote server unexpectedly closed the connection."
    "connection reset",
    "broken pipe",
    "early eof",
    "http 502",  # git over HTTP: a server's front end, when git behind it stopped reading
    "resp 502",  # dulwich: "unexpected http resp 502"
)
"""What git and dulwich say (in lower case) when the remote closed the connection
mid-push, which a server refusing an oversized pack may do before saying why."""


def read_max_push_bytes(given: object) -> int:
    """``max_push_bytes``: as given (an int or ``None``), else from the environment, else
    the default."""
    if given is not None and type(given) is not int:  # nor bool, nor float
        raise ArgumentTypeError(
            f"max_push_bytes is {type(given).__name__}, not an int (bytes) or None"
        )
    if given is None:
        text = os.environ.get(MAX_PUSH_BYTES_ENV)
        if text is None or not text.strip():
            return DEFAULT_MAX_PUSH_BYTES
        try:
            given = int(text.strip())
        except ValueError:
            raise ArgumentError(
                f"${MAX_PUSH_BYTES_ENV} is {text!r}, not a number of bytes"
            ) from None
    if given < 1:
        raise ArgumentError(f"max_push_bytes must be >= 1 (bytes), not {given!r}")
    return given


class CommitSplit:
    """An add's blobs, split into consecutive commits of at most ``limit`` stored bytes
    each. The add reports each stored file's size (:meth:`file`) and the end of each blob
    (:meth:`blob`): a blob's files always go in one commit. A commit ends before the blob
    that would take it past the limit; what is held is where each commit starts, never
    anything per blob."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._bytes = 0
        """Stored bytes of the files so far."""
        self._blob_start = 0
        """``_bytes`` when the current blob began."""
        self._blobs = 0
        """Blobs so far."""
        self._starts: list[tuple[int, int]] = [(0, 0)]
        """Per commit: its first blob, and the stored bytes before it."""

    def file(self, size: int) -> None:
        """A stored file of ``size`` bytes, of the current blob."""
        self._bytes += size

    def blob(self, files: int, position: int, path: str) -> None:
        """The current blob, the add's ``position``-th, stored at ``path``, ends after the
        add's first ``files`` files. Raise :class:`~gitblobts.ArgumentError` naming it if
        its files alone exceed the limit: no push could carry them, and nothing has been
        committed yet."""
        size = self._bytes - self._blob_start
        if size > self.limit:
            raise ArgumentError(
                f"blob {position} ({path}) is {size} bytes stored, more than "
                f"max_push_bytes={self.limit}: no push could carry it, so nothing was added; "
                "raise max_push_bytes (or "
                f"${MAX_PUSH_BYTES_ENV}) if the remote takes pushes that large"
            )
        first, start_bytes = self._starts[-1]
        if self._bytes - start_bytes > self.limit and self._blobs > first:
            self._starts.append((self._blobs, self._blob_start))
        self._blobs += 1
        self._blob_start = self._bytes

    def commits(self) -> list[range]:
        """The blobs of each commit, in order, as ranges of their positions: one commit
        when all fit within the limit."""
        if not self._blobs:
            return []
        firsts = [first for first, _ in self._starts] + [self._blobs]
        return [range(start, stop) for start, stop in itertools.pairwise(firsts)]


def size_remedy(message: str, limit: int) -> str | None:
    """What to change when a remote refused a push with ``message``, if it refused it for
    its size (``limit``: the ``max_push_bytes`` the push was made within); ``None`` if
    ``message`` does not say so."""
    said = message.lower()
    if any(text in said for text in PUSH_SIZE_REFUSALS):
        return (
            f"the remote takes smaller pushes than max_push_bytes={limit}: lower "
            f"max_push_bytes (or ${MAX_PUSH_BYTES_ENV}) below the remote's limit, and push again"
        )
    if any(text in said for text in FILE_SIZE_REFUSALS):
        return (
            "the remote takes smaller files than this push holds: store large blobs in "
            "smaller parts (part_size) below the remote's file size limit"
        )
    if any(text in said for text in DROPPED):
        return (
            "the remote closed the connection without saying why; if it limits a push's "
            f"size (git's receive.maxInputSize), lower max_push_bytes={limit} (or "
            f"${MAX_PUSH_BYTES_ENV}) below that limit, and push again"
        )
    return None
