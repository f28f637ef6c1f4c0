"""The exception hierarchy: every error gitblobts raises is a :class:`GitBlobTSError`; the
warnings it issues are :class:`ForeignEntryWarning`, :class:`PluginMissingWarning`,
:class:`PushFailedWarning` and :class:`PartialCloneWarning`; and :class:`AddInterrupted` is
the ``KeyboardInterrupt`` of an add whose blobs were committed.

Errors name what caused them (the path, the value, the plugin name) and, where it helps,
what to do. Subclasses also derive from the matching built-in exception (``TypeError``,
``ValueError``, ``LookupError``) so that generic handlers keep working.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Protocol


class GitBlobTSError(Exception):
    """Base class of every error raised by gitblobts.

    ``problem`` says what went wrong; ``remedy``, if the error has one, what to do about it
    in the API's terms (``pass key=``); the message is both, ``problem; remedy``. A front
    end whose users do it otherwise (the command's ``--key-file``) shows ``problem`` with
    its own remedy."""

    problem: str
    """What went wrong, without the remedy."""
    remedy: str | None
    """What to do about it, through the API; ``None``: the message says all there is."""

    def __init__(self, *args: object, remedy: str | None = None) -> None:
        problem = str(args[0]) if args else ""
        if remedy is not None:
            args = (f"{problem}; {remedy}", *args[1:])
        super().__init__(*args)
        self.problem = problem
        self.remedy = remedy


class BlobTypeError(GitBlobTSError, TypeError):
    """A blob is not bytes-like (bytes, bytearray or memoryview)."""


class ArgumentError(GitBlobTSError, ValueError):
    """An argument is malformed, e.g. ``addblobs`` got unequal numbers of blobs and times."""


class ArgumentTypeError(ArgumentError, TypeError):
    """An argument is of the wrong type, e.g. ``addblobs(5)`` or ``Store(None)``; also a
    ``TypeError``, as Python would have raised."""


class TimeError(GitBlobTSError, ValueError):
    """A time could not be understood: an unparseable string, a non-finite number, an
    unsupported type, or a time outside the supported years 0001-9999 (UTC)."""


class PluginError(GitBlobTSError):
    """A plugin could not be loaded or misbehaved."""


class UnknownPluginError(PluginError, LookupError):
    """A codec, cipher, layout, backend or time parser name that no installed plugin provides."""

    def __init__(
        self, kind: str, name: str, available: Iterable[str], *, path: str | None = None
    ) -> None:
        self.kind = kind
        self.name = name
        """The missing name (for a codec a file needs: its extension)."""
        self.available = sorted(available)
        self.path = path
        """The stored file that needs it, if a file does."""
        names = ", ".join(repr(n) for n in self.available) or "none"
        if path is None:
            message = f"no {kind} named {name!r} is installed"
        else:
            needed = f"the codec of extension {name!r}" if kind == "codec" else f"{kind} {name!r}"
            message = (
                f"{path}: reading it needs {needed}, which is not installed (install the "
                "plugin that provides it)"
            )
        super().__init__(f"{message}; installed {kind}s: {names}")


class CryptoKeyError(GitBlobTSError, ValueError):
    """Base of the errors about encryption keys."""


class InvalidKeyError(CryptoKeyError):
    """A key is not in the form :func:`gitblobts.generate_key` returns."""


class KeyRequiredError(CryptoKeyError):
    """An operation needs a key and none was given."""


class WrongKeyError(CryptoKeyError):
    """The key does not match the key the store was created with."""


class CorruptBlobError(GitBlobTSError):
    """A stored file cannot be turned back into its blob: tampered with, truncated,
    encrypted with another key, or not in the format its name claims."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


class BlobTooLargeError(CorruptBlobError):
    """A stored file decompresses to more than the configured size limit."""


class BlobNotFoundError(GitBlobTSError, KeyError):
    """:meth:`~gitblobts.Store.getblob` found no blob: a key with no version (at or before
    the time asked), or a content address the branch does not hold."""

    def __str__(self) -> str:  # a KeyError's quotes its message
        return str(self.args[0]) if self.args else ""


class ConfigError(GitBlobTSError, ValueError):
    """The store configuration file is invalid, or conflicts with the options given."""


class RepositoryError(GitBlobTSError):
    """The git repository is missing, unreadable, locked or otherwise unusable."""


class ConflictError(RepositoryError):
    """The branch kept moving under us: compare-and-swap failed on every retry."""


class RemoteError(RepositoryError):
    """A remote could not be reached, or refused what was sent. Local commits stay, to be
    pushed later."""


class PushRejectedError(RemoteError):
    """The remote refused the push for a reason other than having moved on (a hook, a
    permission, a protected branch)."""


class ForeignEntryWarning(GitBlobTSError, UserWarning):
    """A query skipped an entry that is named like a blob file but is not a regular file (a
    symbolic link, a submodule, a folder): it is never followed, and
    :meth:`gitblobts.Store.verify` reports it. A warnings filter that turns it into an error
    raises a :class:`GitBlobTSError` like any other."""


class _Placed(Protocol):
    """Where and when an added blob is stored, as :class:`gitblobts.BlobRef` says (named
    here by its shape: errors import nothing from the package, which imports them)."""

    @property
    def timestamp_ns(self) -> int: ...
    @property
    def path(self) -> str: ...
    @property
    def timestamp(self) -> float: ...
    @property
    def datetime(self) -> dt.datetime: ...
    @property
    def iso(self) -> str: ...


class AddInterrupted(KeyboardInterrupt):
    """Ctrl-C (``KeyboardInterrupt``) during an add whose commit had landed: its blobs are
    on the branch, in :attr:`commit`, and must not be added again. Raised in place of the
    ``KeyboardInterrupt``, so handlers of that still catch it; a plain
    ``KeyboardInterrupt`` out of an add means that nothing was added. An interrupt is held
    back between the branch's move and the end of the checkout that follows it."""

    def __init__(self, commit: str, refs: Sequence[_Placed]) -> None:
        count = len(refs)
        super().__init__(
            f"interrupted, but the {count} {'blob was' if count == 1 else 'blobs were'} "
            f"committed as {commit}: do not add {'it' if count == 1 else 'them'} again"
        )
        self.commit = commit
        """The commit that added the blobs."""
        self.refs = list(refs)
        """Where the blobs are, as the add would have returned (:class:`gitblobts.BlobRef`)."""


class PluginMissingWarning(GitBlobTSError, UserWarning):
    """A store was opened whose recorded codec or cipher is not installed here: it reads
    every file whose codec and cipher are installed, and refuses to add (with a
    :class:`ConfigError`) until given installed ones (``compression=``, ``cipher=``)."""


class PushFailedWarning(GitBlobTSError, UserWarning):
    """An add (or :meth:`gitblobts.Store.init`) committed, but the push after it failed: the
    commits stay, and :meth:`gitblobts.Store.push` delivers them later. Issued once per store
    and kind of failure (the failure is also logged, each time); a warnings filter that turns
    it into an error raises a :class:`GitBlobTSError`, and ``strict=True`` raises a
    :class:`RemoteError` instead."""


class PartialCloneWarning(GitBlobTSError, UserWarning):
    """A partial clone (:func:`gitblobts.clone`) was asked for, but the server ignored the
    filter (it does not allow filters: ``uploadpack.allowFilter``) and sent every object:
    the clone is a whole one, and reads fetch nothing."""
