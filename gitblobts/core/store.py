"""The store: blobs in, blobs out, by time.

:class:`Store` is the porcelain: it checks arguments and delegates to the parts, each of
one concept, which share one :class:`~gitblobts.core.state.StoreState` (backend, branch,
locks, plugins, pipeline, the current :class:`~gitblobts.core.settings.Settings`): adding,
reading, following, remotes, migrating, inspection. No part imports this module.
"""

from __future__ import annotations

import logging
import math
import os
import weakref
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import BinaryIO

from gitblobts.core import following, keys
from gitblobts.core.adding import Adding, BlobSource, BytesLike, check_blobs
from gitblobts.core.blob import Blob, BlobInfo, BlobRef
from gitblobts.core.config import StoreConfig
from gitblobts.core.errors import ArgumentTypeError, KeyRequiredError, RepositoryError
from gitblobts.core.formats.v1 import migration
from gitblobts.core.formats.v1.migrating import Migrating
from gitblobts.core.inspection import Inspection
from gitblobts.core.plugins import Plugins, default_plugins
from gitblobts.core.reading import Reading
from gitblobts.core.remotes import Remotes
from gitblobts.core.settings import (
    DEFAULT_CIPHER,
    DEFAULT_CODEC,
    DEFAULT_LAYOUT,
    DEFAULT_MAX_BLOB_SIZE,
    MAX_BLOB_SIZE_ENV,
    NO_CIPHER,
    read_max_blob_size,
)
from gitblobts.core.state import open_state
from gitblobts.core.sync import PullResult, PushResult
from gitblobts.core.verify import VerifyReport

__all__ = [
    "BACKEND_ENV",
    "DEFAULT_BACKEND",
    "DEFAULT_CIPHER",
    "DEFAULT_CODEC",
    "DEFAULT_LAYOUT",
    "DEFAULT_MAX_BLOB_SIZE",
    "MAX_BLOB_SIZE_ENV",
    "NO_CIPHER",
    "Store",
]

log = logging.getLogger("gitblobts")


DEFAULT_BACKEND = "dulwich"
BACKEND_ENV = "GITBLOBTS_BACKEND"
"""Environment variable naming the backend stores use when ``backend=`` is not given."""


class Store:
    """A time-indexed blob store kept on a branch of a git repository.

    ``path``: an existing git repository (its working tree, or a bare repository), with or
    without commits. A store records its configuration in ``.gitblobts.json`` with its first
    commit; reopening it needs no options but the key.

    ``compression``: codec for new blobs (``'none'``, ``'gzip'``, ``'bz2'``, ``'lzma'``,
    ``'zstd'`` or a plugin's); ``None`` means the store's default (``'zstd'`` for a new store).
    ``key``: from :func:`gitblobts.generate_key`; with a key new blobs are encrypted.
    ``cipher``: cipher for new blobs when a key is given (default: the store's, else
    ``'aes256gcm'``); ``'none'`` writes unencrypted blobs even with a key.
    ``layout``: folder layout of a new store (``'20-second'``, ``'hourly'``, ``'flat'``), for life.
    ``branch``: the branch holding the blobs (default: the checked-out one); a name git
    refuses (``git check-ref-format``) raises :class:`~gitblobts.ArgumentError`.
    ``backend``: git plumbing to use (default: ``$GITBLOBTS_BACKEND``, else ``'dulwich'``).
    ``max_blob_size``: largest decompressed size in bytes a read accepts (default:
    ``$GITBLOBTS_MAX_BLOB_SIZE``, else 1 GiB), so that a small file cannot make a reader
    allocate more. ``max_push_bytes``: most stored bytes per commit and per push, and
    ``part_size``: most stored bytes per file, a larger blob kept in parts (see :doc:`usage`).
    ``plugins``: a :class:`~gitblobts.core.plugins.Plugins` to use instead of the installed set.
    ``remote``: the remote to push to and pull from (default: the branch's upstream, else
    ``origin`` if there is one). ``push``: push after every add (default ``True``; each add
    can override it). ``strict``: raise :class:`~gitblobts.RemoteError` when that push fails,
    instead of keeping the commits for a later :meth:`push` with a warning
    (:class:`~gitblobts.PushFailedWarning`).
    ``durable``: an add returns only once its objects, the branch (with its log) and, in a
    working tree, the index are on disk (fsync): not even a power cut takes it back. By
    default, as with git, a killed process loses nothing an add returned, a power cut may.

    Threads may share a store: any method may be called from any thread at once, and what
    several threads add is all committed, none of it twice; a query's iterator may be
    consumed in another thread than the one that made it (by one thread at a time).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        compression: str | None = None,
        key: bytes | str | None = None,
        cipher: str | None = None,
        layout: str | None = None,
        branch: str | None = None,
        backend: str | None = None,
        max_blob_size: int | None = None,
        part_size: int | None = None,
        max_push_bytes: int | None = None,
        plugins: Plugins | None = None,
        remote: str | None = None,
        push: bool = True,
        strict: bool = False,
        durable: bool = False,
    ) -> None:
        if not isinstance(path, (str, os.PathLike)):
            raise ArgumentTypeError(f"path is {type(path).__name__}, not a str or path-like")
        _check_names(
            compression=compression,
            cipher=cipher,
            layout=layout,
            branch=branch,
            backend=backend,
            remote=remote,
        )
        if plugins is not None and not isinstance(plugins, Plugins):
            raise ArgumentTypeError(f"plugins is {type(plugins).__name__}, not a Plugins")
        if max_blob_size is not None and type(max_blob_size) is not int:  # nor bool, nor float
            raise ArgumentTypeError(
                f"max_blob_size is {type(max_blob_size).__name__}, not an int (bytes) or None"
            )
        path = os.fspath(path)
        if not os.path.isdir(path):
            raise RepositoryError(f"{path}: no such directory")
        plugins = plugins if plugins is not None else default_plugins()
        limit = read_max_blob_size(max_blob_size)
        raw_key = keys.decode_key(key) if key is not None else None
        backend_class = plugins.backends.get(
            backend or os.environ.get(BACKEND_ENV) or DEFAULT_BACKEND
        )
        state = open_state(
            path,
            plugins,
            backend_class,
            branch=branch,
            layout=layout,
            compression=compression,
            cipher=cipher,
            raw_key=raw_key,
            durable=durable,
            max_blob_size=limit,
            max_push_bytes=max_push_bytes,
            remote_name=remote,
            push_after_add=push,
            strict=strict,
            part_size=part_size,
        )
        # Close the backend once neither the store nor a query's iterator is left, or at exit.
        self._finalizer = weakref.finalize(state, state.backend.close)
        self._state = state
        self._backend = state.backend
        self._remotes = Remotes(state)
        self._reading = Reading(state)
        self._adding = Adding(state, self._remotes)
        self._migrating = Migrating(state, self._remotes)
        self._inspection = Inspection(state, self._reading, self._adding, self._remotes)

    # Properties

    @property
    def path(self) -> str:
        """The repository's path, as given."""
        return self._state.path

    @property
    def branch(self) -> str:
        """The full name of the branch holding the blobs."""
        return self._state.branch

    @property
    def config(self) -> StoreConfig:
        """The store's configuration: recorded, or what the first add will record."""
        settings = self._state.settings
        return settings.config or settings.new_config()

    @property
    def plugins(self) -> Plugins:
        """The plugins this store uses."""
        return self._state.plugins

    def __repr__(self) -> str:
        # The cipher of new blobs; on an encrypted store opened without its key, the store's.
        settings = self._state.settings
        cipher = settings.cipher.name if settings.cipher is not None else NO_CIPHER
        if isinstance(settings.write_refusal, KeyRequiredError) and settings.config is not None:
            cipher = settings.config.cipher or cipher
        key = "<given>" if settings.raw_key is not None else "None"
        missing = ""
        if settings.missing_default is not None:
            missing = f", adds refused: {settings.missing_default} is not installed"
        return (
            f"Store({self._state.path!r}, branch={self._state.branch!r}, "
            f"layout={settings.layout.name!r}, "
            f"compression={settings.codec.name!r}, cipher={cipher!r}, key={key}{missing})"
        )

    # Adding

    def addblob(
        self,
        blob: BlobSource,
        timestamp: object = None,
        *,
        push: bool | None = None,
    ) -> BlobRef:
        """Add one blob, at ``timestamp`` (default: now), in one commit. Returns where it is.
        ``blob``: bytes, a binary file object or an iterable of bytes (streamed, never held
        whole, and kept in parts if large: see ``part_size``).
        ``push``: push to the remote afterwards (default: the store's ``push`` setting)."""
        return self._adding.add_one(blob, timestamp, push)

    def addblobs(
        self,
        blobs: Iterable[BytesLike | BinaryIO],
        timestamps: Iterable[object] | None = None,
        *,
        push: bool | None = None,
    ) -> list[BlobRef]:
        """Add blobs, one commit per at most ``max_push_bytes`` stored bytes (see :doc:`usage`);
        ``timestamps`` (default: now, as each is added) pairs with ``blobs`` one to one. Either
        may be a long iterator: blobs are written as they come; a binary file object streams.
        Nothing is committed unless every blob is written. Then push, as :meth:`addblob` says;
        if the push fails the blobs stay committed locally, and the add returns them with a
        :class:`~gitblobts.PushFailedWarning` (see ``strict``)."""
        # Argument errors first: they are the caller's whatever the store's state.
        return self._adding.add(check_blobs(blobs, timestamps), push)

    # Reading

    def getblobs(
        self,
        start_time: object = -math.inf,
        end_time: object = math.inf,
        *,
        pull: bool = False,
    ) -> Iterator[Blob]:
        """Yield the blobs with ``start_time <= time <= end_time``, lazily, in ascending time
        order, or descending when ``start_time`` is after ``end_time``. ``None``, ±inf and NaN
        leave that end open. Blobs of equal time come in a stable order. The query reads the
        branch as it is when called. ``pull``: :meth:`pull` from the remote first."""
        return self._reading.iter_blobs(
            *self._reading.query(start_time, end_time, self.pull if pull else None)
        )

    def follow(
        self, start_time: object = None, *, interval: float = 1.0, pull: bool = True
    ) -> following.Following:
        """Yield the blobs from ``start_time`` on as :meth:`getblobs` does, then each new one
        once as it lands on the branch, looking every ``interval`` seconds (after a
        :meth:`pull` if ``pull``), until closed or left (``break``). See :doc:`usage`."""
        interval = following.check_interval(interval)
        follower = following.Follower(self._state, self._reading, start_time, self.pull)
        return following.Following(follower, interval, pull)

    # Remotes

    def push(self) -> PushResult:
        """Deliver the branch's commits to the remote. If another writer pushed meanwhile,
        fetch, put our commits on top of theirs (blob paths never collide, so the union is
        always right), and push again, with bounded, jittered retries. Returns what was
        pushed (:class:`~gitblobts.PushResult`; ``pushed == 0``: nothing was to push).
        Raises :class:`~gitblobts.RemoteError` if the remote cannot be reached or keeps
        moving; the commits stay, to be pushed later."""
        return self._remotes.push()

    def pull(self) -> PullResult:
        """Bring the remote's blobs into the branch: fast-forward, or put local commits not yet
        pushed on top of the remote's. Returns what arrived (:class:`~gitblobts.PullResult`)."""
        return self._remotes.pull()

    @property
    def unpushed(self) -> int:
        """How many commits of the branch the remote did not have when last seen."""
        return self._remotes.unpushed()

    # Migrating

    def migrate(
        self,
        *,
        layout: str | None = None,
        compression: str | None = None,
        cipher: str | None = None,
        key: bytes | str | None = None,
        push: bool | None = None,
    ) -> migration.MigrationReport:
        """Rewrite the blobs of gitblobts 0.0.7 (format 1) on the branch in the current
        format, in one commit that adds the new files and ``.gitblobts.json`` and removes
        the old files. Every blob keeps its time to the nanosecond; each rewritten file is
        read back and checked against the original before the commit. Nothing is visible
        until the branch moves, and a run interrupted at any point can be run again: it
        finishes the job, without duplicates. Blobs another writer adds meanwhile are
        migrated too. The store then works in the current format.

        The old files are read with the ``compression=`` and ``key=`` this store was opened
        with. ``layout``, ``compression``, ``cipher``: of the rewritten blobs, as for a new
        store (defaults ``'20-second'``, ``'zstd'``, and ``'aes256gcm'`` with a key). ``key``:
        the key of the rewritten blobs (default: this store's); without any key they are not
        encrypted. ``push``: pull first and push afterwards, if the branch has a remote
        (default: the store's ``push`` setting).

        Returns a :class:`~gitblobts.MigrationReport`; on a store with no
        format-1 blobs there is nothing to do, and it says so (``migrated == 0``). Other
        threads' calls on this store wait until the migration is done.
        """
        _check_names(layout=layout, compression=compression, cipher=cipher)
        with self._state.remote_lock, self._state.lock:
            return self._migrating.migrate(layout, compression, cipher, key, push)

    # Listing, counting, verifying, initializing

    def listblobs(
        self,
        start_time: object = -math.inf,
        end_time: object = math.inf,
        *,
        pull: bool = False,
    ) -> Iterator[BlobInfo]:
        """Like :meth:`getblobs`, but yield :class:`~gitblobts.BlobInfo` (time, path, stored
        size): nothing is decrypted or decompressed."""
        return self._inspection.listblobs(start_time, end_time, self.pull if pull else None)

    def count(self, start_time: object = -math.inf, end_time: object = math.inf) -> int:
        """How many blobs :meth:`getblobs` would yield for the range, reading only folders."""
        return self._inspection.count(start_time, end_time)

    def verify(self, progress: Callable[[int, int], None] | None = None) -> VerifyReport:
        """Read and check the store's files on the branch, in every folder, as a read would,
        and report each problem without stopping at the first: an object that cannot be
        read or holds other bytes than its id says, a file that does not decrypt or
        decompress, a blob that is not where the layout puts it (queries would miss it), an
        entry that is not a blob among blobs or is named like one but is not a regular file,
        one that stands where the layout keeps a folder, an invalid configuration, a blob
        that a commit of the branch's first-parent history removed and the branch lacks (see
        :mod:`gitblobts.core.verify`). ``progress(checked, total)`` is called as files are
        checked.

        Raises :class:`~gitblobts.KeyRequiredError` when the store encrypts its blobs and
        was opened without the key, rather than reporting every file; an encrypted file in a
        store without encryption is one problem."""
        if progress is not None and not callable(progress):
            raise ArgumentTypeError(f"progress is {type(progress).__name__}, not a callable")
        return self._inspection.verify(progress)

    @property
    def configured(self) -> bool:
        """Whether the branch records the store's configuration (see :meth:`init`)."""
        return self._inspection.configured()

    def init(self, *, push: bool | None = None) -> bool:
        """Record the store's configuration (:attr:`config`) in a commit of its own, unless
        the branch records one already, and push as :meth:`addblob` does; return whether it
        committed. On a configured store nothing changes, but :class:`~gitblobts.ConfigError`
        says so if the store was opened with other settings (compression, cipher, key) than
        those recorded."""
        return self._inspection.init(push)

    @property
    def remote(self) -> tuple[str, str] | None:
        """The ``(remote, remote ref)`` the branch is pushed to and pulled from, if any."""
        with self._state.repository_errors("inspect"):
            return self._remotes.target()

    # Lifetime

    def close(self) -> None:
        """Release the backend's resources, once a call in progress in another thread has
        returned; calls afterwards (a query's iterator too) raise
        :class:`~gitblobts.RepositoryError`. Closing twice is harmless."""
        with self._state.remote_lock:  # a push after an add is part of the add
            self._finalizer()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _check_names(**options: object) -> None:
    """Raise :class:`ArgumentTypeError` for an option that is neither a name nor ``None``."""
    for option, value in options.items():
        if value is not None and not isinstance(value, str):
            raise ArgumentTypeError(f"{option} is {type(value).__name__}, not a str or None")
