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
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import BinaryIO, ClassVar

from gitblobts.core import following
from gitblobts.core.adding import Adding, BlobSource, BytesLike, check_blobs
from gitblobts.core.addresses import is_address
from gitblobts.core.blob import Blob, BlobInfo, BlobRef
from gitblobts.core.config import StoreConfig
from gitblobts.core.content import Content
from gitblobts.core.errors import ArgumentTypeError, KeyRequiredError
from gitblobts.core.formats.v1 import migration
from gitblobts.core.formats.v1.migrating import Migrating
from gitblobts.core.inspection import Inspection
from gitblobts.core.keyed import Keyed
from gitblobts.core.plugins import Plugins
from gitblobts.core.pushing import DEFAULT_CLOSE_TIMEOUT as CLOSE_TIMEOUT
from gitblobts.core.pushing import DEFAULT_PUSH_INTERVAL as PUSH_INTERVAL
from gitblobts.core.pushing import Pushing, check_push, check_timeout
from gitblobts.core.pushrecord import PushFailure
from gitblobts.core.reading import Reading
from gitblobts.core.remotes import Remotes
from gitblobts.core.settings import (
    DEFAULT_CIPHER,
    DEFAULT_CODEC,
    DEFAULT_LAYOUT,
    DEFAULT_MAX_BLOB_SIZE,
    MAX_BLOB_SIZE_ENV,
    NO_CIPHER,
)
from gitblobts.core.state import check_names, open_state
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
    can override it), or ``'background'``: a thread pushes what adds committed, at most
    once per ``push_interval`` seconds (default 10), at once on :meth:`flush`, and
    :meth:`close` waits ``close_timeout`` seconds (default 30) for it (see :doc:`usage`).
    ``strict``: raise :class:`~gitblobts.RemoteError` when a push after an add fails, instead
    of a :class:`~gitblobts.PushFailedWarning` (the commits stay for a later :meth:`push`).
    ``durable``: an add returns only once its objects, the branch (with its log) and, in a
    working tree, the index are on disk (fsync), safe even from a power cut, for a few disk
    flushes per add; by default, as with git, a killed process loses nothing an add
    returned, a machine that goes down may.

    Threads may share a store: any method may be called from any thread at once, and what
    several threads add is all committed, none of it twice; a :meth:`getblobs` iterator may
    be consumed in another thread (by one at a time). Adding encodes and writes in parallel.
    """

    sharded: ClassVar[list[Callable[[object], type[Store] | None]]] = []
    """Says which class opens a sharded store's folder: :mod:`gitblobts.core.sharded`
    adds it (it is imported with the package), so that ``Store(DIR)`` opens one."""

    def __new__(cls, *args: object, **options: object) -> Store:
        path = args[0] if args else options.get("path")
        found = Store.sharded[0](path) if cls is Store and Store.sharded else None
        return super().__new__(found or cls)

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
        push: bool | str = True,
        push_interval: float = PUSH_INTERVAL,
        close_timeout: float | None = CLOSE_TIMEOUT,
        strict: bool = False,
        durable: bool = False,
    ) -> None:
        push_after_add = check_push(push, push_interval)
        self._close_timeout = check_timeout(close_timeout, "close_timeout")
        state = open_state(
            path,
            plugins=plugins,
            backend=backend or os.environ.get(BACKEND_ENV) or DEFAULT_BACKEND,
            key=key,
            branch=branch,
            layout=layout,
            compression=compression,
            cipher=cipher,
            durable=durable,
            max_blob_size=max_blob_size,
            max_push_bytes=max_push_bytes,
            remote_name=remote,
            push_after_add=push_after_add,
            strict=strict,
            part_size=part_size,
        )
        # Close the backend once no store nor query iterator is left, or at interpreter exit.
        self._finalizer = weakref.finalize(state, state.backend.close)
        self._state = state
        self._backend = state.backend
        self._remotes = Remotes(state)
        self._reading = Reading(state)
        self._keyed = Keyed(state, self._reading)
        self._adding = Adding(state, self._remotes)
        self._content = Content(state, self._adding, self._reading)
        self._migrating = Migrating(state, self._remotes)
        self._inspection = Inspection(
            state, self._reading, self._adding, self._remotes, self._keyed, self._content
        )
        self._pushing = Pushing(state, self._remotes, push, push_interval)
        self._stop_pushing = weakref.finalize(self, self._pushing.stop)  # not flushing

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
            f"Store({self._state.path!r}, branch={self._state.branch!r}, layout="
            f"{settings.layout.name!r}, compression={settings.codec.name!r}, cipher={cipher!r}, "
            f"key={key}{missing})"
        )

    # Adding

    def addblob(
        self,
        blob: BlobSource,
        timestamp: object = None,
        *,
        push: bool | None = None,
        key: str | None = None,
    ) -> BlobRef:
        """Add one blob, at ``timestamp`` (default: now), in one commit; return where it is.
        ``blob``: bytes, a binary file object or an iterable of bytes (streamed, in parts if
        large: see ``part_size``). ``push``: push afterwards (default: the store's setting).
        ``key``: add it as a version of that key (see :doc:`usage`)."""
        return self._adding.add_one(blob, timestamp, push, self._keyed.keying(key))

    def addblobs(
        self,
        blobs: Iterable[BytesLike | BinaryIO],
        timestamps: Iterable[object] | None = None,
        *,
        push: bool | None = None,
        key: str | None = None,
    ) -> Sequence[BlobRef]:
        """Add blobs, one commit per at most ``max_push_bytes`` stored bytes (see :doc:`usage`);
        ``timestamps`` (default: now, as each is added) pairs with ``blobs`` one to one. Either
        may be a long iterator: blobs are written as they come; a binary file object streams.
        Nothing is committed unless every blob is written. Then push, as :meth:`addblob` says;
        if it fails the blobs stay committed, with a :class:`~gitblobts.PushFailedWarning`
        (see ``strict``). ``key``: all to that key. Returns a :class:`~gitblobts.BlobRefs`,
        equal to the list of the blobs' references (a list from a sharded store)."""
        # Argument errors first: they are the caller's whatever the store's state.
        return self._adding.add(check_blobs(blobs, timestamps), push, key=self._keyed.keying(key))

    def putblob(self, blob: BlobSource, *, push: bool | None = None) -> str:
        """Store ``blob`` (as :meth:`addblob` takes it) under the SHA-256 of its bytes and
        return its address, ``'sha256-<64 hex>'``; contents the branch holds already are
        neither written nor committed again (see :doc:`usage`)."""
        return self._content.put(blob, push)

    # Reading

    def getblobs(
        self,
        start_time: object = -math.inf,
        end_time: object = math.inf,
        *,
        pull: bool = False,
        key: object = None,
    ) -> Iterator[Blob]:
        """Yield the blobs with ``start_time <= time <= end_time``, lazily, in ascending time
        order, or descending when ``start_time`` is after ``end_time``. ``None``, ±inf and NaN
        leave that end open. Blobs of equal time come in a stable order. The query reads the
        branch as it is when called. ``pull``: :meth:`pull` from the remote first. ``key``:
        that key's versions (:data:`~gitblobts.EVERY_KEY`: every key's), not keyless blobs."""
        pull_first = self.pull if pull else None
        if key is None:
            return self._reading.iter_blobs(*self._reading.query(start_time, end_time, pull_first))
        return self._keyed.getblobs(key, start_time, end_time, pull_first)

    def getblob(self, key_or_address: str, *, at: object = None, pull: bool = False) -> Blob:
        """The blob of a content address (``sha256-…``, its hash checked as it is read), or
        else the latest version of a key (by time, then path), or the latest at or before
        ``at``; :class:`~gitblobts.BlobNotFoundError` if none. ``pull``: :meth:`pull` first."""
        part = self._content if is_address(key_or_address) else self._keyed
        return part.get(key_or_address, at, self.pull if pull else None)

    def keys(self, prefix: str = "") -> Iterator[str]:
        """The store's keys that start with ``prefix``, in code point order."""
        return self._keyed.keys(prefix)

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
        """Deliver the branch's commits to the remote; if another writer pushed meanwhile,
        fetch, put ours on top of theirs (blob paths never collide) and push again, with
        bounded, jittered retries. Returns a :class:`~gitblobts.PushResult` (``pushed == 0``:
        nothing to push), or raises :class:`~gitblobts.RemoteError`; the commits stay."""
        return self._remotes.push()

    def pull(self) -> PullResult:
        """Bring the remote's blobs into the branch: fast-forward, or put local commits not yet
        pushed on top of the remote's; return what arrived (:class:`~gitblobts.PullResult`)."""
        return self._remotes.pull()

    def flush(self, timeout: float | None = None) -> None:
        """Return once every commit made before the call is on the remote, or raise
        :class:`~gitblobts.RemoteError` (naming what is left and the last failure) after
        ``timeout`` seconds (``None``: none), at once if the remote refused the push
        (:class:`~gitblobts.PushRejectedError`). Other stores :meth:`push` now."""
        self._pushing.flush(timeout)

    @property
    def unpushed(self) -> int:
        """How many commits of the branch the remote did not have when last seen."""
        return self._remotes.unpushed()

    @property
    def unpushed_age(self) -> float | None:
        """Seconds since the oldest commit :attr:`unpushed` counts was made; ``None``: none."""
        return self._remotes.unpushed_age()

    @property
    def push_failure(self) -> PushFailure | None:
        """Why background pushes fail, while they do: this store's, or else those a store of
        another process recorded (:class:`~gitblobts.PushFailure`); ``None``: they do not."""
        return self._pushing.failure

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
        """Rewrite gitblobts 0.0.7's blobs (format 1, read with this store's ``compression=``
        and ``key=``) in the current format, in one commit, each keeping its time and checked
        first; a rerun or another writer's blobs are handled (see :doc:`usage`). ``layout``,
        ``compression``, ``cipher``, ``key``: of the new blobs, as for a new store (default
        key: this store's). ``push``: pull first, push after (default: the store's). Returns
        a :class:`~gitblobts.MigrationReport`; other threads' calls wait until it is done."""
        check_names(layout=layout, compression=compression, cipher=cipher)
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
        """Read and check the store's files on the branch as a read would, and report every
        problem (what is checked: :mod:`gitblobts.core.verify`); ``progress(checked, total)``
        is called as it goes. :class:`~gitblobts.KeyRequiredError` for an encrypted store
        opened without its key, rather than a report of every file."""
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
        committed. :class:`~gitblobts.ConfigError` if the store was opened with other
        settings (compression, cipher, key) than those recorded."""
        return self._inspection.init(push)

    @property
    def remote(self) -> tuple[str, str] | None:
        """The ``(remote, remote ref)`` the branch is pushed to and pulled from, if any."""
        with self._state.repository_errors("inspect"):
            return self._remotes.target()

    # Lifetime

    def close(self) -> int:
        """Release the backend's resources, once a call in progress in another thread has
        returned; calls afterwards raise :class:`~gitblobts.RepositoryError` (closing twice is
        harmless). A background store first flushes, within ``close_timeout``; returns how many
        commits it left unpushed (logged at WARNING), for a later background store or push."""
        left = self._pushing.close(self._close_timeout)
        self._stop_pushing()
        with self._state.remote_lock:  # a push after an add is part of the add
            self._finalizer()
        return left

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
