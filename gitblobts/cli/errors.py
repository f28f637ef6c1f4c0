"""The command's own errors, beside those of the library."""

from __future__ import annotations

from gitblobts.core.errors import GitBlobTSError


class CommandError(GitBlobTSError):
    """A failure outside the store that the user can fix: an input file that cannot be read,
    an output folder that cannot be written, git missing, a remote already set otherwise.
    A :class:`~gitblobts.GitBlobTSError`, so that it passes through the store unwrapped
    when it happens while the store reads the command's input."""


class StdoutClosed(Exception):
    """Whoever read standard output has gone (``gitblobts ls | head``)."""
