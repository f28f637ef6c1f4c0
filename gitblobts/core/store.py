"""The store: blobs in, blobs out, by time.

The :class:`Store` is the porcelain over a backend's plumbing. Adding runs each blob through
the pipeline (encode → compress → encrypt → place), writes the files as git objects, and
commits them to the store's branch by compare-and-swap, retrying on top of whatever another
writer committed meanwhile: blob paths never collide, so the union is always right. Nothing
is visible until the branch moves, so a failed add leaves the store as it was.

Reading pins the branch's current commit, asks the layout which folders can overlap the
range, and decodes only the files whose names fall in it.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import logging
import math
import os
import random
import sys
import threading
import time
import warnings
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal
from types import TracebackType
from typing import TypeAlias

from gitblobts.core import foreign, interrupts, keys, migration, naming, naming_v1, refname
from gitblobts.core.backend import Backend
from gitblobts.core.blob import Blob, BlobInfo, BlobRef, V1Blob, new_blob
from gitblobts.core.cipher import Cipher
from gitblobts.core.codec import Codec
from gitblobts.core.config import CONFIG_PATH, StoreConfig
from gitblobts.core.errors import (
    AddInterrupted,
    ArgumentError,
    ArgumentTypeError,
    BlobTooLargeError,
    BlobTypeError,
    ConfigError,
    ConflictError,
    CorruptBlobError,
    GitBlobTSError,
    KeyRequiredError,
    PluginMissingWarning,
    PushFailedWarning,
    RemoteError,
    RepositoryError,
    UnknownPluginError,
    WrongKeyError,
)
from gitblobts.core.layout import Layout
from gitblobts.core.locking import LockedBackend
from gitblobts.core.naming import BlobName
from gitblobts.core.pipeline import BlobContext, CommitContext, Pipeline
from gitblobts.core.plugins import Plugins, default_plugins
from gitblobts.core.redaction import redact, scrub_chain
from gitblobts.core.sync import PullResult, PushResult
from gitblobts.core.timestamps import MAX_NS, MIN_NS, check_range, is_open_bound, to_ns
from gitblobts.core.verify import Problem, VerifyReport, lost_blobs, verify_tree

log = logging.getLogger("gitblobts")

BytesLike: TypeAlias = "bytes | bytearray | memoryview"
Found: TypeAlias = "tuple[int, str, naming.Tail, str]"
"""A blob file a query found: its time, path, name tail and object id."""

DEFAULT_BACKEND = "dulwich"
BACKEND_ENV = "GITBLOBTS_BACKEND"
"""Environment variable naming the backend stores use when ``backend=`` is not given."""
DEFAULT_LAYOUT = "hourly"
DEFAULT_CODEC = "zstd"
DEFAULT_CIPHER = "aes256gcm"
NO_CIPHER = "none"
DEFAULT_MAX_BLOB_SIZE = 1 << 30
"""Largest decompressed blob a read accepts unless told otherwise (1 GiB): a small file that
expands without bound makes a reader allocate at most this much."""
MAX_BLOB_SIZE_ENV = "GITBLOBTS_MAX_BLOB_SIZE"
"""Environment variable giving ``max_blob_size`` in bytes when ``max_blob_size=`` is not
given."""
_COMMIT_ATTEMPTS = 64
_PUSH_ATTEMPTS = 12


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
    ``layout``: folder layout of a new store (``'hourly'`` or ``'flat'``); fixed for life.
    ``branch``: the branch holding the blobs (default: the checked-out one); a name git
    refuses (``git check-ref-format``) raises :class:`~gitblobts.ArgumentError`.
    ``backend``: git plumbing to use (default: ``$GITBLOBTS_BACKEND``, else ``'dulwich'``).
    ``max_blob_size``: largest decompressed size in bytes a read accepts (default:
    ``$GITBLOBTS_MAX_BLOB_SIZE``, else 1 GiB), so that a small file cannot make a reader
    allocate more.
    ``plugins``: a :class:`~gitblobts.core.plugins.Plugins` to use instead of the installed set.
    ``remote``: the remote to push to and pull from (default: the branch's upstream, else
    ``origin`` if there is one). ``push``: push after every add (default ``True``; each add
    can override it). ``strict``: raise :class:`~gitblobts.RemoteError` when that push fails,
    instead of keeping the commits for a later :meth:`push` with a warning
    (:class:`~gitblobts.PushFailedWarning`).
    ``durable``: an add returns only once its objects, the branch (with its log) and, in a
    working tree, the index are on disk (fsync), so that not even a power cut takes it back;
    this costs a few disk flushes per add. By default, as with git, they reach the disk when
    the system writes them back: a killed process loses nothing an add returned, a machine
    that goes down may.

    Threads may share a store: any method may be called from any thread at once, and what
    several threads add is all committed, none of it twice; a :meth:`getblobs` iterator may
    be consumed in another thread than the one that made it (by one thread at a time, as any
    generator). Backend calls take turns; adding encodes and writes blobs in parallel.
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
        self._remote_name = remote
        self._push_after_add = push
        self._strict = strict
        self._plugins = plugins if plugins is not None else default_plugins()
        self._path = os.fspath(path)
        if not os.path.isdir(self._path):
            raise RepositoryError(f"{self._path}: no such directory")
        self._max_blob_size = _max_blob_size(max_blob_size)
        self._raw_key = keys.decode_key(key) if key is not None else None
        backend_name = backend or os.environ.get(BACKEND_ENV) or DEFAULT_BACKEND
        backend_class = self._plugins.backends.get(backend_name)
        self._lock = threading.RLock()
        """Held by every backend call but write_blobs (see :mod:`gitblobts.core.locking`),
        and around each commit attempt, so that threads can share the store."""
        self._remote_lock = threading.RLock()
        self._push_failures: set[type[GitBlobTSError]] = set()
        """The kinds of push failure warned of already (see :meth:`_publish`)."""
        """Held while pushing or pulling (taken before ``_lock``, never after)."""
        with self._repository_errors("open"):
            opened = backend_class(self._path)
        self._backend = LockedBackend(opened, self._lock, self._path)
        # Close the backend when the store is collected or the interpreter exits, before
        # module teardown makes that noisy.
        self._finalizer = weakref.finalize(self, self._backend.close)
        with self._repository_errors("open"):
            self._backend.set_durable(durable)
            self._branch = self._resolve_branch(branch)
            head = self._backend.resolve(self._branch)
            self._config = self._read_config(head)
            self._layout = self._choose_layout(layout, head)
        self._format_1_compression = compression
        """How format-1 files were compressed, as only the options can say (None: not said;
        read as uncompressed)."""
        self._migrating = False
        self._configure(compression, cipher)
        self._pipeline = Pipeline(self._plugins, self._path, self._branch)
        with self._repository_errors("open"):
            # A writer killed between moving the branch and the index left its lock: mend.
            self._backend.repair_index(self._is_store_file)

    def _configure(self, compression: str | None, cipher: str | None) -> None:
        """Choose the codec and cipher of new blobs, from the options and the configuration."""
        self._write_refusal: GitBlobTSError | None = None
        self._missing_default: str | None = None
        """The store's recorded codec or cipher, when it is not installed here."""
        self._cipher_option = cipher
        if self._is_format_1:
            self._codec = self._codec_named(compression or naming_v1.NO_CODEC)
            self._cipher = self._format_1_cipher(cipher)
            if self._codec.name not in naming_v1.CODECS:  # it may read what others wrote
                self._write_refusal = ConfigError(
                    f"{self._path}: a store of gitblobts 0.0.7's format (layout 'v1') records "
                    "no compression, and holds only what 0.0.7 reads: compression "
                    f"{', '.join(repr(name) for name in naming_v1.CODECS)}, not "
                    f"{self._codec.name!r}; for {self._codec.name!r}, create the store with "
                    "a current layout ('hourly', 'flat'), or migrate() this one"
                )
        else:
            try:
                self._codec = self._codec_named(compression or self._default("codec"))
                self._cipher, self._write_refusal = self._choose_cipher(cipher)
            except UnknownPluginError as error:
                if compression is not None or cipher is not None:
                    raise
                # The store's own default is not installed here: reading still works, adding
                # must say why it cannot.
                self._codec, self._cipher = self._codec_named("none"), None
                self._missing_default = f"{error.kind} {error.name!r}"
                self._write_refusal = ConfigError(
                    f"{self._path}: cannot add with the store's defaults: {error}; pass "
                    "compression= (and cipher=) to choose installed ones"
                )
                warnings.warn(
                    f"{self._path}: the store records {self._missing_default}, which is not "
                    f"installed here (installed {error.kind}s: "
                    f"{', '.join(map(repr, error.available))}); it reads the files whose codec "
                    "and cipher are installed, and adds only with installed ones given "
                    "(compression=, cipher=)",
                    PluginMissingWarning,
                    stacklevel=_caller_stacklevel(),
                )
        self._check_key()
        self._codecs: dict[str, Codec] = {self._codec.extension: self._codec}
        self._ciphers: dict[str, Cipher] = {}
        self._suffix_stages: dict[tuple[str, ...], tuple[Codec, Cipher | None]] = {}
        """File suffixes read before, and the codec and cipher they are read with."""
        self._plain_codecs: dict[naming.Tail, Codec] = {}
        """Name tails whose files read as their codec's decode alone (see
        :attr:`Pipeline.reads_plain`): the common case, read without a context per blob."""
        if self._cipher is not None:
            self._ciphers[self._cipher.name] = self._cipher

    # Opening

    def _resolve_branch(self, branch: str | None) -> str:
        if branch is None:
            head = self._backend.head_branch()
            if head is None:
                raise RepositoryError(
                    f"{self._path}: HEAD is detached; pass branch= to say where blobs go"
                )
            return head
        if isinstance(branch, str):
            problem = refname.branch_problem(branch)
        else:
            problem = f"it is {type(branch).__name__}, not text"
        if problem is not None:
            raise ArgumentError(
                f"{self._path}: branch {branch!r} is not a valid branch name: {problem}, "
                "which git refuses (see git check-ref-format); choose another name"
            )
        return refname.full_branch_ref(branch)

    def _read_config(self, commit: str | None) -> StoreConfig | None:
        if commit is None:
            return None
        for entry in self._backend.list_folder(commit, ""):
            if entry.name == CONFIG_PATH:
                if not entry.is_file:  # never followed, nor guessed around
                    raise ConfigError(
                        f"{self._path}: {CONFIG_PATH} is {entry.kind}, not a regular file; "
                        f"restore the store's configuration (git log -- {CONFIG_PATH})"
                    )
                (data,) = self._backend.read_blobs([entry.oid])
                return StoreConfig.from_bytes(data)
        return None

    def _default(self, setting: str) -> str:
        if self._config is not None:
            return str(getattr(self._config, setting))
        return {"codec": DEFAULT_CODEC, "layout": DEFAULT_LAYOUT}[setting]

    def _choose_layout(self, layout: str | None, head: str | None) -> Layout:
        configured = self._default("layout")
        if self._config is not None and layout is not None and layout != configured:
            raise ConfigError(
                f"{self._path}: the store was created with layout {configured!r}; a store "
                f"keeps its layout, so layout={layout!r} cannot apply"
            )
        if self._config is None and migration.format_1_files(self._backend, head):
            # A store of gitblobts 0.0.7: read and add to it as it is, until migrated.
            format_1 = self._format_1_layout()
            if layout is not None and layout != format_1:
                raise ConfigError(
                    f"{self._path}: the branch holds blobs of gitblobts 0.0.7 (format 1) and "
                    f"no {CONFIG_PATH}; open it without layout= to use it as it is, and "
                    f"call migrate(layout={layout!r}) to rewrite it in the current format"
                )
            return self._plugins.layouts.get(format_1)()
        chosen = self._plugins.layouts.get(layout or configured)
        if self._config is not None and chosen.name_format != naming.FORMAT_VERSION:
            raise ConfigError(  # only stores of format 1, which have no configuration, do
                f"{self._path}: {CONFIG_PATH} names layout {configured!r}, which holds names "
                f"of format {chosen.name_format}, not {naming.FORMAT_VERSION}"
            )
        return chosen()

    def _format_1_layout(self) -> str:
        """The name of the installed layout that holds format-1 names."""
        for layout in self._plugins.layouts:
            if layout.name_format == naming_v1.FORMAT_VERSION:
                return layout.name
        raise ConfigError(
            f"{self._path}: the branch holds blobs of gitblobts 0.0.7 (format 1), and no "
            "installed layout reads them"
        )

    @property
    def _is_format_1(self) -> bool:
        """Whether the store is in gitblobts 0.0.7's format: format-1 names, no
        configuration file, codec and cipher from the options."""
        return self._layout.name_format == naming_v1.FORMAT_VERSION

    def _format_1_cipher(self, cipher: str | None) -> Cipher | None:
        """The cipher of format-1 files: fernet with a key, none without."""
        if cipher not in (None, naming_v1.CIPHER):
            raise ConfigError(
                f"{self._path}: a store of gitblobts 0.0.7 (format 1) encrypts with "
                f"{naming_v1.CIPHER!r} only; migrate() it to use cipher {cipher!r}"
            )
        if self._raw_key is None:
            return None
        return self._plugins.ciphers.get(naming_v1.CIPHER)(self._raw_key)

    def _codec_named(self, name: str) -> Codec:
        return self._plugins.codecs.get(name)()

    def _choose_cipher(self, cipher: str | None) -> tuple[Cipher | None, GitBlobTSError | None]:
        """The cipher for new blobs, and why adding is refused (if it is)."""
        if cipher == NO_CIPHER:
            return None, None
        configured = self._config.cipher if self._config is not None else None
        if self._raw_key is None:
            if cipher is not None:
                raise KeyRequiredError(f"cipher {cipher!r} needs a key", remedy="pass key=")
            if configured is not None:
                return None, self._key_required(configured)
            return None, None
        if self._config is not None and configured is None:
            return None, self._unencrypted_store()
        cipher_class = self._plugins.ciphers.get(cipher or configured or DEFAULT_CIPHER)
        return cipher_class(self._raw_key), None

    def _key_required(self, configured: str) -> KeyRequiredError:
        return KeyRequiredError(
            f"{self._path}: the store encrypts new blobs with {configured!r}",
            remedy=f"pass its key, or cipher={NO_CIPHER!r} to add unencrypted blobs",
        )

    def _unencrypted_store(self) -> ConfigError:
        return ConfigError(
            f"{self._path}: the store was created without encryption ({CONFIG_PATH} records "
            "no cipher), so no blob is added with a key: a store holds one key or none",
            remedy="add without the key, or create a new store with the key for encrypted blobs",
        )

    def _encryption_refusal(self, config: StoreConfig) -> GitBlobTSError | None:
        """Why this store's new blobs cannot go into the store ``config`` describes, which
        another writer recorded after this one was opened: encrypted blobs into a store
        without encryption, unencrypted ones into an encrypted store, or another key."""
        if self._cipher is None:
            if config.cipher is not None and self._cipher_option != NO_CIPHER:
                return self._key_required(config.cipher)
            return None
        if config.cipher is None:
            return self._unencrypted_store()
        if config.key_check is not None and not keys.matches(self._key(), config.key_check):
            return self._wrong_key()
        return None

    def _learn_config(self, config: StoreConfig | None) -> None:
        """Take ``config``, which another writer recorded after this store was opened
        without one; from now on, adds it does not allow are refused."""
        if self._config is not None or config is None:
            return
        refusal = self._encryption_refusal(config)
        self._config = config
        if refusal is not None and self._write_refusal is None:
            self._write_refusal = refusal

    def _key(self) -> bytes:
        if self._raw_key is None:
            raise KeyRequiredError(f"{self._path}: no key was given")  # never: a cipher has one
        return self._raw_key

    def _check_key(self) -> None:
        recorded = self._config.key_check if self._config is not None else None
        if (
            self._raw_key is not None
            and recorded is not None
            and not keys.matches(self._raw_key, recorded)
        ):
            raise self._wrong_key()

    def _wrong_key(self) -> WrongKeyError:
        return WrongKeyError(
            f"{self._path}: the key does not match the key this store was created "
            f"with (key_check in {CONFIG_PATH})"
        )

    # Properties

    @property
    def path(self) -> str:
        """The repository's path, as given."""
        return self._path

    @property
    def branch(self) -> str:
        """The full name of the branch holding the blobs."""
        return self._branch

    @property
    def config(self) -> StoreConfig:
        """The store's configuration: recorded, or what the first add will record."""
        return self._config or self._new_config()

    @property
    def plugins(self) -> Plugins:
        """The plugins this store uses."""
        return self._plugins

    def __repr__(self) -> str:
        # The cipher of new blobs; on an encrypted store opened without its key, the store's.
        cipher = self._cipher.name if self._cipher is not None else NO_CIPHER
        if isinstance(self._write_refusal, KeyRequiredError) and self._config is not None:
            cipher = self._config.cipher or cipher
        key = "<given>" if self._raw_key is not None else "None"
        missing = ""
        if self._missing_default is not None:
            missing = f", adds refused: {self._missing_default} is not installed"
        return (
            f"Store({self._path!r}, branch={self._branch!r}, layout={self._layout.name!r}, "
            f"compression={self._codec.name!r}, cipher={cipher!r}, key={key}{missing})"
        )

    # Adding

    def addblob(
        self, blob: BytesLike, timestamp: object = None, *, push: bool | None = None
    ) -> BlobRef:
        """Add one blob, at ``timestamp`` (default: now), in one commit. Returns where it is.
        ``push``: push to the remote afterwards (default: the store's ``push`` setting)."""
        return self.addblobs([blob], [timestamp], push=push)[0]

    def addblobs(
        self,
        blobs: Iterable[BytesLike],
        timestamps: Iterable[object] | None = None,
        *,
        push: bool | None = None,
    ) -> list[BlobRef]:
        """Add blobs in one commit; ``timestamps`` (default: now, as each is added) pairs with
        ``blobs`` one to one. Either may be a long iterator: blobs are written as they come.
        Nothing is committed unless every blob is. Then push, as :meth:`addblob` says; if
        the push fails the blobs stay committed locally, and the add returns them with a
        :class:`~gitblobts.PushFailedWarning` (see ``strict``)."""
        # Argument errors first: they are the caller's whatever the store's state.
        _check_iterable(blobs, "blobs", "blob", "addblob()")
        if timestamps is not None:
            _check_iterable(timestamps, "timestamps", "time", "a list of times")
        if isinstance(blobs, Sequence):
            for position, blob in enumerate(blobs):
                _check_bytes_like(blob, position)
        pairs = _pair(blobs, timestamps)
        if self._write_refusal is not None:
            raise self._write_refusal
        layout = self._layout  # if the store follows a migration meanwhile, nothing commits
        suffixes = tuple(
            s for s in (self._codec.extension, self._cipher and self._cipher.name) if s
        )
        added: list[tuple[int, str]] = []
        """(time, path) of each blob written: plain values, which the cycle collector skips
        (a batch of 100,000 blobs must not make every collection walk 100,000 objects)."""

        def stored_files() -> Iterator[bytes | bytearray]:
            for position, (blob, timestamp) in enumerate(pairs):
                data = _check_bytes_like(blob, position)
                timestamp_ns = self._to_ns(timestamp)
                context = BlobContext(
                    self._new_name(timestamp_ns, suffixes), self._codec, self._cipher, self._layout
                )
                stored = self._pipeline.write(context, data)
                added.append((context.timestamp_ns, context.path))
                yield stored

        with self._repository_errors("add blobs to"):
            oids = self._backend.write_blobs(stored_files())
        if not added:
            return []
        files = {path: oid for (_, path), oid in zip(added, oids, strict=True)}
        message = _commit_message(len(added))
        landed: list[str] = []
        commit_files = functools.partial(self._commit_files, layout=layout, landed=landed)
        refs = [BlobRef(timestamp_ns, path) for timestamp_ns, path in added]
        try:
            self._pipeline.commit(CommitContext(files, message, commit_files))
            if self._push_after_add if push is None else push:
                self._publish()
        except KeyboardInterrupt as interrupt:
            if not landed or isinstance(interrupt, AddInterrupted):
                raise
            raise AddInterrupted(landed[-1], refs) from interrupt
        return refs

    def _to_ns(self, value: object, now_ns: int | None = None) -> int:
        """A time as nanoseconds; float seconds as 0.0.7 converted them in a format-1 store."""
        if self._is_format_1 and type(value) is float and math.isfinite(value):
            return check_range(naming_v1.seconds_to_ns(value), value)
        return to_ns(value, now_ns=now_ns, parse_text=self._plugins.parse_time)

    def _new_name(self, timestamp_ns: int, suffixes: tuple[str, ...]) -> BlobName:
        if self._is_format_1:
            return naming_v1.new_name(timestamp_ns)  # format-1 names carry no suffixes
        return naming.new_name(timestamp_ns, suffixes)

    def _new_config(self) -> StoreConfig:
        if self._is_format_1:  # what the options say; nothing is recorded
            return StoreConfig(
                layout=self._layout.name,
                codec=self._codec.name,
                cipher=self._cipher.name if self._cipher is not None else None,
                version=naming_v1.FORMAT_VERSION,
            )
        return StoreConfig(
            layout=self._layout.name,
            codec=self._codec.name,
            cipher=self._cipher.name if self._cipher is not None else None,
            key_check=keys.key_check(self._raw_key) if self._raw_key is not None else None,
        )

    def _commit_files(
        self,
        commit: CommitContext,
        layout: Layout | None = None,
        landed: list[str] | None = None,
    ) -> str:
        """Commit ``commit.files`` to the branch by compare-and-swap, on top of whatever the
        branch holds by then; record the configuration with a new store's first commit.
        ``layout``: what placed the files; if the store has followed a migration since, they
        are of the old format, and nothing is committed. ``landed``: gains the commit as
        soon as the branch points at it."""
        delay = 0.001
        for _ in range(_COMMIT_ATTEMPTS):
            # Under the lock, the store's threads never make each other try again.
            with self._repository_errors("commit to"), self._lock:
                if layout is not None and layout is not self._layout:
                    raise self._migrated_meanwhile()
                head = self._backend.resolve(self._branch)
                files = dict(commit.files)
                config = self._config or self._read_config(head)
                if config is not None and self._is_format_1:
                    self._adopt(config)
                    raise self._migrated_meanwhile()
                if config is None and not self._is_format_1:
                    if migration.format_1_files(self._backend, head):
                        raise ConflictError(
                            f"{self._path}: another writer added blobs of gitblobts 0.0.7 "
                            "(format 1) to the branch meanwhile, so nothing was added; reopen "
                            "the store to add to them, or migrate() them"
                        )
                    config = self._new_config()
                    (files[CONFIG_PATH],) = self._backend.write_blobs([config.to_bytes()])
                elif config is not None and config.layout != self._layout.name:
                    raise ConflictError(
                        f"{self._path}: another writer created this store with layout "
                        f"{config.layout!r} while we added with {self._layout.name!r}; retry"
                    )
                elif config is not None and self._config is None:
                    self._learn_config(config)  # another writer created the store meanwhile
                    if self._write_refusal is not None:
                        raise self._write_refusal
                new = self._backend.write_commit(head, files, commit.message)
                if self._move_branch(head, new, files, landed=landed):
                    self._config = config
                    log.debug("committed %d files to %s as %s", len(files), self._branch, new)
                    return new
            time.sleep(delay * (0.5 + random.random()))  # jitter, not secrecy
            delay = min(delay * 2, 0.25)
        raise ConflictError(
            f"{self._path}: {self._branch} kept moving; gave up after {_COMMIT_ATTEMPTS} attempts"
        )

    def _migrated_meanwhile(self) -> ConflictError:
        return ConflictError(
            f"{self._path}: the store was migrated from gitblobts 0.0.7's format meanwhile, "
            "so nothing was added; add again"
        )

    def _move_branch(
        self,
        old: str | None,
        new: str,
        files: dict[str, str],
        removed: list[str] | None = None,
        landed: list[str] | None = None,
    ) -> bool:
        """Move the branch from ``old`` to ``new`` (which adds ``files`` and removes
        ``removed``) by compare-and-swap, and if it is checked out here, the index and
        working tree with it, as one step: the index lock is held across both (a writer
        killed in between leaves it behind, and whoever finds it mends the index: see
        :meth:`Backend.holding_index`), and Ctrl-C waits until both are done. Return whether
        the branch moved; ``landed`` gains ``new`` once it did."""
        checked_out = self._is_checked_out()
        holding = (
            self._backend.holding_index(self._is_store_file)
            if checked_out
            else contextlib.nullcontext()
        )
        with holding, interrupts.held_back():
            if not self._backend.compare_and_swap(self._branch, old, new):
                return False
            if landed is not None:
                landed.append(new)
            if checked_out:
                self._check_out_committed(files, removed or [], new)
        return True

    def _is_store_file(self, path: str) -> bool:
        """Whether ``path`` is one of the store's files (a blob, of either format, or the
        configuration), which the index is mended for after a writer died."""
        return path == CONFIG_PATH or self._is_blob_path(path)

    @staticmethod
    def _is_blob_path(path: str) -> bool:
        """Whether ``path``'s file name is a blob file name, of either format."""
        name = path.rpartition("/")[2]
        return naming.parse_parts(name) is not None or _is_format_1_path(path)

    def _check_out_committed(self, files: dict[str, str], removed: list[str], commit: str) -> None:
        """Bring the working tree and index in step with ``commit``, which is already on the
        branch: a failure here must not read as if the blobs were not added."""
        try:
            self._backend.check_out(files, removed)
        except Exception as error:
            raise RepositoryError(
                f"{self._path}: the blobs were committed ({commit}) but the working tree and "
                f"index could not follow: {error}; do not add them again: 'git reset' brings "
                "the index in step"
            ) from error

    def _is_checked_out(self) -> bool:
        return not self._backend.is_bare and self._backend.head_branch() == self._branch

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
        branch as it is when called.

        ``pull``: :meth:`pull` from the remote first (with no remote, there is nothing to pull).
        """
        return self._iter_blobs(*self._query(start_time, end_time, pull))

    def _query(
        self, start_time: object, end_time: object, pull: bool
    ) -> tuple[str | None, float | int, float | int, bool]:
        """The commit a range query reads, its ends ``low <= high``, and whether it descends."""
        now_ns = time.time_ns()
        start = self._bound(start_time, now_ns, open_value=-math.inf)
        end = self._bound(end_time, now_ns, open_value=math.inf)
        descending = start > end
        low, high = (end, start) if descending else (start, end)
        if pull:
            self.pull()
        with self._repository_errors("read"), self._lock:
            head = self._backend.resolve(self._branch)
            self._follow_migration(head)
        return head, low, high, descending

    def _bound(self, value: object, now_ns: int, open_value: float) -> float | int:
        """A range end as nanoseconds; ``None`` and NaN become ``open_value``, infinities stay."""
        if is_open_bound(value):
            if isinstance(value, (float, Decimal)) and not math.isnan(value):
                return math.inf if value > 0 else -math.inf
            return open_value
        if self._is_format_1 and type(value) is float:
            return naming_v1.seconds_to_ns(value)  # any finite float, as 0.0.7 took it
        return to_ns(value, now_ns=now_ns, parse_text=self._plugins.parse_time)

    def _iter_blobs(
        self, head: str | None, low: float | int, high: float | int, descending: bool
    ) -> Iterator[Blob]:
        decompress, max_size = self._pipeline.decompress, self._max_blob_size
        with self._repository_errors("read"):
            for found in self._iter_folders(head, low, high, descending):
                contents = self._backend.read_blobs([oid for *_, oid in found])
                for (timestamp_ns, path, tail, _), data in zip(found, contents, strict=True):
                    codec = self._plain_codecs.get(tail)
                    if codec is not None:
                        yield new_blob(timestamp_ns, path, decompress(codec, path, data, max_size))
                    else:
                        yield self._read_blob(timestamp_ns, path, tail, data)

    def _read_blob(self, timestamp_ns: int, path: str, tail: naming.Tail, data: bytes) -> Blob:
        """The blob of a file a query found, through the whole read pipeline."""
        filename = path.rpartition("/")[2]
        if self._is_format_1:
            name: BlobName = naming_v1.from_parts(filename, timestamp_ns, tail)
        else:
            name = naming.from_parts(filename, timestamp_ns, tail)
        blob = self._decode(name, path, data)
        if name.version == naming_v1.FORMAT_VERSION:
            return V1Blob(timestamp_ns, path, blob)
        return Blob(timestamp_ns, path, blob)

    @property
    def _parse(self) -> Callable[[str], BlobName | None]:
        """The parser of the store's blob file names."""
        return naming_v1.parse if self._is_format_1 else naming.parse

    def _iter_folders(
        self, head: str | None, low: float | int, high: float | int, descending: bool
    ) -> Iterator[list[Found]]:
        """The one folder walk of every range query: for each folder, in query order, the
        blob files in the range, in query order."""
        if head is None or low == math.inf or high == -math.inf:
            return  # e.g. 0.0.7's getblobs(math.inf, math.inf, pull=True): pull, read nothing
        # Format-1 names can lie outside the years layouts know: they get the years' ends,
        # and files are filtered on the range itself.
        low_ns = MIN_NS if low == -math.inf else min(max(int(low), MIN_NS), MAX_NS)
        high_ns = MAX_NS if high == math.inf else min(max(int(high), MIN_NS), MAX_NS)
        if low_ns > high_ns:
            return
        lister = _FolderLister(self._backend, head)
        for folder in self._layout.folders(lister, low_ns, high_ns, descending=descending):
            yield self._read_folder(head, folder, low, high, descending)

    def _read_folder(
        self, head: str, folder: str, low: float | int, high: float | int, descending: bool
    ) -> list[Found]:
        found: list[Found] = []
        parse = naming_v1.parse_parts if self._is_format_1 else naming.parse_parts
        prefix = f"{folder}/" if folder else ""
        for filename, oid in self._backend.list_files(head, folder):
            parts = parse(filename)
            if parts is not None and low <= parts[0] <= high:
                found.append((parts[0], prefix + filename, parts[1], oid))
        foreign.warn_of_skipped(self._backend, head, folder, self._parse, low, high)
        # By time, then path: for names of one time in one folder, the order of their random
        # parts (format 2) or of their names (format 1, as 0.0.7 returned them). Paths differ,
        # so tails are never compared.
        found.sort(reverse=descending)
        return found

    def _decode(self, name: BlobName, path: str, data: bytes) -> bytes:
        """A stored file's blob; for a format-1 file, an error says which options matter."""
        try:
            return self._pipeline.read(self._read_context(name, path), data)
        except BlobTooLargeError:
            raise
        except CorruptBlobError as error:
            if name.version != naming_v1.FORMAT_VERSION:
                raise
            raise CorruptBlobError(path, f"{error.reason}; {self._format_1_hint()}") from None

    def _format_1_hint(self) -> str:
        compression = self._format_1_compression
        return (
            "a store of gitblobts 0.0.7 records neither its compression nor its key: open it "
            "with the compression= and key= it was written with (this store was opened with "
            f"compression={compression!r} and {'a' if self._raw_key else 'no'} key)"
        )

    def _read_context(self, name: BlobName, path: str) -> BlobContext:
        if name.version == naming_v1.FORMAT_VERSION and self._is_format_1:
            return BlobContext(
                name, self._codec, self._cipher, self._layout, path, self._max_blob_size
            )
        if name.version != naming.FORMAT_VERSION:
            raise CorruptBlobError(
                path,
                f"format version {name.version} is not one this gitblobts reads "
                f"(version {naming.FORMAT_VERSION}); upgrade gitblobts",
            )
        stages = self._suffix_stages.get(name.suffixes)
        if stages is None:
            stages = self._suffix_stages[name.suffixes] = self._stages_for(name.suffixes, path)
        codec, cipher = stages
        if cipher is None and self._pipeline.reads_plain:
            self._plain_codecs[name.version, name.suffixes] = codec
        return BlobContext(name, codec, cipher, self._layout, path, self._max_blob_size)

    def _stages_for(self, file_suffixes: tuple[str, ...], path: str) -> tuple[Codec, Cipher | None]:
        """The codec and cipher that files with suffixes ``file_suffixes`` are read with."""
        suffixes = list(file_suffixes)
        cipher = None
        # At most a codec's extension, then a cipher's name: a last suffix of two that is no
        # codec's extension names a cipher, installed or not.
        if len(suffixes) > 2 or (
            len(suffixes) == 2 and self._plugins.codec_for_extension(suffixes[-1]) is not None
        ):
            raise CorruptBlobError(path, f"unrecognised file suffixes {file_suffixes!r}")
        if len(suffixes) == 2 or (suffixes and suffixes[-1] in self._plugins.ciphers):
            cipher = self._cipher_for(suffixes.pop(), path)
        return self._codec_for(suffixes[0] if suffixes else "", path), cipher

    def _cipher_for(self, cipher_name: str, path: str) -> Cipher:
        cipher = self._ciphers.get(cipher_name)
        if cipher is None:
            if cipher_name not in self._plugins.ciphers:
                raise UnknownPluginError(
                    "cipher", cipher_name, self._plugins.ciphers.names(), path=path
                )
            if self._raw_key is None:
                raise KeyRequiredError(
                    f"{path}: the file is encrypted", remedy="pass the store's key"
                )
            cipher = self._plugins.ciphers.get(cipher_name)(self._raw_key)
            self._ciphers[cipher_name] = cipher
        return cipher

    def _codec_for(self, extension: str, path: str) -> Codec:
        codec = self._codecs.get(extension)
        if codec is None:
            codec_class = self._plugins.codec_for_extension(extension)
            if codec_class is None:
                raise UnknownPluginError(
                    "codec", extension, self._plugins.codecs.names(), path=path
                )
            codec = self._codecs[extension] = codec_class()
        return codec

    # Remotes

    def _target(self) -> tuple[str, str] | None:
        """The ``(remote, remote_ref)`` the branch is published to, if it has a remote."""
        upstream = self._backend.upstream(self._branch)
        if self._remote_name is not None:
            if upstream is not None and upstream[0] == self._remote_name:
                return upstream
            return self._remote_name, self._branch
        if upstream is not None:
            return upstream
        return ("origin", self._branch) if "origin" in self._backend.remotes() else None

    def _publish(self) -> None:
        """Push after an add whose commit landed: whatever makes the push fail, the add must
        not read as if nothing was added (a caller would add the blobs twice). The failure
        is logged and warned of (:class:`~gitblobts.PushFailedWarning`), and the commits
        stay for a later push; a strict store raises a RemoteError that says so."""
        try:
            with self._repository_errors("push from"), self._remote_lock:
                if self._backend.closed:  # by another thread, since the commit
                    raise RemoteError(f"{self._path}: the store was closed before pushing")
                target = self._target()
                if target is not None:
                    self._push_to(*target)
        except GitBlobTSError as error:
            said = (
                f"{self._path}: committed to {self._branch} but not pushed: {error}; the "
                "commit stays here, and push() delivers it later: do not add the blobs again"
            )
            if self._strict:
                kind = type(error) if isinstance(error, RemoteError) else RemoteError
                raise kind(said) from error
            log.warning("%s", said)
            self._warn_once(error, said)

    def _warn_once(self, error: GitBlobTSError, said: str) -> None:
        """Warn of a failed push, once per store and kind of failure."""
        with self._lock:
            if type(error) in self._push_failures:
                return
            self._push_failures.add(type(error))
        warnings.warn(said, PushFailedWarning, stacklevel=_caller_stacklevel())

    def push(self) -> PushResult:
        """Deliver the branch's commits to the remote. If another writer pushed meanwhile,
        fetch, put our commits on top of theirs (blob paths never collide, so the union is
        always right), and push again, with bounded, jittered retries. Returns what was
        pushed (:class:`~gitblobts.PushResult`; ``pushed == 0``: nothing was to push).
        Raises :class:`~gitblobts.RemoteError` if the remote cannot be reached or keeps
        moving; the commits stay, to be pushed later."""
        with self._repository_errors("push from"):
            remote, remote_ref = self._require_target()
            pushed, commit = self._push_to(remote, remote_ref)
            return PushResult(pushed=pushed, remote=remote, ref=remote_ref, commit=commit)

    def _push_to(self, remote: str, remote_ref: str) -> tuple[int, str | None]:
        """:meth:`push` to ``remote_ref`` of ``remote``: how many commits went, and the
        remote's tip."""
        pushed = 0
        with self._remote_lock:
            delay = 0.05
            for _ in range(_PUSH_ATTEMPTS):
                local = self._backend.resolve(self._branch)
                if local is None:
                    return 0, None
                theirs = self._backend.fetch(remote, remote_ref)
                if theirs == local:
                    break
                if theirs is not None and self._backend.merge_base(theirs, local) != theirs:
                    rebased = self._rebase_current(theirs)
                    if rebased is None or rebased == theirs:
                        continue  # the branch moved under us, or there is nothing of ours
                    local = rebased
                if self._backend.push(remote, local, remote_ref, expected=theirs):
                    pushed = len(self._backend.first_parent_chain(local, theirs))
                    break
                time.sleep(delay * (0.5 + random.random()))  # jitter, not secrecy
                delay = min(delay * 2, 2.0)
            else:
                raise RemoteError(
                    f"{self._path}: {remote} kept moving; gave up pushing after "
                    f"{_PUSH_ATTEMPTS} attempts; the commits stay here, push again later"
                )
            if self._backend.upstream(self._branch) is None:
                self._backend.set_upstream(self._branch, remote, remote_ref)
            return pushed, local

    def pull(self) -> PullResult:
        """Bring the remote's blobs into the branch: fast-forward, or put local commits not yet
        pushed on top of the remote's. Returns what arrived (:class:`~gitblobts.PullResult`).
        With no remote, there is nothing to do."""
        with self._repository_errors("pull into"), self._remote_lock:
            target = self._target()
            if target is None:
                return PullResult(0, self._backend.resolve(self._branch), None, None)
            for _ in range(_COMMIT_ATTEMPTS):
                local = self._backend.resolve(self._branch)
                theirs = self._backend.fetch(*target)
                if theirs is None or theirs == local:
                    return PullResult(0, local, *target)
                base = None if local is None else self._backend.merge_base(theirs, local)
                if base == theirs:
                    return PullResult(0, local, *target)  # we are ahead: nothing to take
                tip = self._rebase_current(theirs)
                if tip is not None:
                    return PullResult(self._blob_files_added(base, theirs), tip, *target)
            raise ConflictError(f"{self._path}: {self._branch} kept moving while pulling")

    def _blob_files_added(self, base: str | None, tip: str) -> int:
        """How many blob files ``tip``'s tree has that ``base``'s lacks."""
        parse = self._parse
        added = self._backend.added_files(base, tip)
        return sum(1 for path in added if parse(path.rpartition("/")[2]) is not None)

    @property
    def unpushed(self) -> int:
        """How many commits of the branch the remote did not have when last seen."""
        with self._repository_errors("inspect"):
            local = self._backend.resolve(self._branch)
            target = self._target()
            if local is None or target is None:
                return 0
            theirs = self._backend.tracking(*target)
            base = self._backend.merge_base(local, theirs) if theirs is not None else None
            return len(self._backend.first_parent_chain(local, base))

    def _require_target(self) -> tuple[str, str]:
        target = self._target()
        if target is None:
            raise RemoteError(
                f"{self._path}: the branch has no remote to push to; add one (git remote add "
                "origin URL) or pass remote="
            )
        return target

    def _rebase_current(self, theirs: str) -> str | None:
        """:meth:`_rebase` of the branch as it is now, under the lock: only another writer,
        never one of the store's own threads, can move it meanwhile."""
        with self._lock:
            return self._rebase(theirs, self._backend.resolve(self._branch))

    def _rebase(self, theirs: str, local: str | None) -> str | None:
        """Move the branch from ``local`` to ``theirs`` plus our commits replayed on top, by
        compare-and-swap; return the new tip, or ``None`` if the branch moved meanwhile."""
        new = theirs
        if local is not None:
            base = self._backend.merge_base(theirs, local)
            their_config = self._read_config(theirs)
            chain = self._backend.first_parent_chain(local, base)
            if chain and their_config is not None and self._is_format_1 and not self._migrating:
                raise ConflictError(
                    f"{self._path}: the remote's store was migrated from gitblobts 0.0.7's "
                    f"format, so the {len(chain)} local commit(s) of format-1 blobs cannot go "
                    "on top of it; call migrate() to rewrite them"
                )
            if chain and their_config is not None:
                self._check_same_store(self._read_config(local), their_config, len(chain))
            for commit in chain:
                parent, message = self._backend.commit_info(commit)
                files = self._backend.added_files(parent, commit)
                removed = self._removed_files(parent, commit)
                if their_config is not None:
                    files.pop(CONFIG_PATH, None)  # the store already has its configuration
                if removed:  # a migration, which the other side may have made too
                    files, removed = self._still_to_migrate(new, files, removed)
                if (
                    CONFIG_PATH in files
                    and not self._migrating
                    and migration.format_1_files(self._backend, theirs)
                ):
                    raise ConflictError(
                        f"{self._path}: the remote holds a store of gitblobts 0.0.7 (format 1), "
                        "so the local commits of a new store cannot go on top of it; open the "
                        "store with the compression= and key= of the old store and call "
                        "migrate() to bring both together"
                    )
                if files or removed:
                    new = self._backend.write_commit(new, files, message, remove=removed)
        added: dict[str, str] = {}
        gone: list[str] = []
        if self._is_checked_out():
            added = self._backend.added_files(local, new)
            gone = [path for path in self._removed_files(local, new) if path not in added]
        if not self._move_branch(local, new, added, gone):
            return None
        if self._is_format_1:
            self._follow_migration(new)
        else:
            self._learn_config(self._read_config(new))
        return new

    def _check_same_store(
        self, ours: StoreConfig | None, theirs: StoreConfig, commits: int
    ) -> None:
        """Raise ConflictError if our commits, made in a store configured as ``ours``, cannot
        go on top of the remote's store, configured as ``theirs`` (each created on its side):
        their blobs would be misplaced, or mix keys."""
        if ours is None or ours == theirs:
            return
        if ours.layout != theirs.layout:
            difference = f"layout {theirs.layout!r}, not {ours.layout!r}"
        elif (ours.cipher is None) != (theirs.cipher is None):
            difference = "encryption" if theirs.cipher is not None else "no encryption"
        elif ours.cipher is not None and ours.key_check != theirs.key_check:
            difference = "another key"
        else:
            return
        raise ConflictError(
            f"{self._path}: the remote's store was created with {difference}, so the "
            f"{commits} local commit(s) of this store cannot go on top of it; they stay "
            "here: add their blobs to a clone of the remote's store instead"
        )

    def _removed_files(self, old: str | None, new: str) -> list[str]:
        """Paths of the files ``old``'s tree has and ``new``'s lacks (only a migration
        removes files)."""
        return [] if old is None else list(self._backend.added_files(new, old))

    def _still_to_migrate(
        self, commit: str, files: dict[str, str], removed: list[str]
    ) -> tuple[dict[str, str], list[str]]:
        """What replaying a migration on ``commit`` still has to do: add the files it lacks
        (a migrated blob's path is the same in every run), remove the files it has."""
        present = self._present(commit, [*files, *removed])
        return (
            {path: oid for path, oid in files.items() if path not in present},
            [path for path in removed if path in present],
        )

    def _present(self, commit: str, paths: list[str]) -> set[str]:
        """Which of ``paths`` are files in ``commit``'s tree."""
        by_folder: dict[str, set[str]] = {}
        for path in paths:
            folder, _, name = path.rpartition("/")
            by_folder.setdefault(folder, set()).add(name)
        return {
            f"{folder}/{entry.name}" if folder else entry.name
            for folder, names in by_folder.items()
            for entry in self._backend.list_folder(commit, folder)
            if entry.is_file and entry.name in names
        }

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
        store (defaults ``'hourly'``, ``'zstd'``, and ``'aes256gcm'`` with a key). ``key``:
        the key of the rewritten blobs (default: this store's); without any key they are not
        encrypted. ``push``: pull first and push afterwards, if the branch has a remote
        (default: the store's ``push`` setting).

        Returns a :class:`~gitblobts.MigrationReport`; on a store with no
        format-1 blobs there is nothing to do, and it says so (``migrated == 0``). Other
        threads' calls on this store wait until the migration is done.
        """
        _check_names(layout=layout, compression=compression, cipher=cipher)
        with self._remote_lock, self._lock:
            return self._migrate(layout, compression, cipher, key, push)

    def _migrate(
        self,
        layout: str | None,
        compression: str | None,
        cipher: str | None,
        key: bytes | str | None,
        push: bool | None,
    ) -> migration.MigrationReport:
        """:meth:`migrate`, with the store's locks held."""
        target_key = keys.decode_key(key) if key is not None else self._raw_key
        source = migration.Encoding(
            self._codec_named(self._format_1_compression or naming_v1.NO_CODEC),
            self._plugins.ciphers.get(naming_v1.CIPHER)(self._raw_key)
            if self._raw_key is not None
            else None,
        )
        remote = self._target()
        publish = remote is not None and (self._push_after_add if push is None else push)
        migrated, last = 0, None
        self._migrating = True
        try:
            for _ in range(_PUSH_ATTEMPTS):
                if publish:
                    self._remote_step(self.pull)
                with self._repository_errors("migrate"):
                    head = self._backend.resolve(self._branch)
                    target, config = self._migration_target(
                        head, layout, compression, cipher, target_key
                    )
                rewriter = migration.Rewriter(
                    self._backend,
                    self._pipeline,
                    source,
                    target,
                    self._plugins.layouts.get(config.layout)(),
                    self._max_blob_size,
                    self._format_1_hint(),
                    check_source=self._format_1_compression is None,
                )
                count, commit = self._commit_migration(rewriter, config)
                migrated, last = migrated + count, commit or last
                if not publish or not self._remote_step(self.push):
                    break
                with self._repository_errors("migrate"):
                    head = self._backend.resolve(self._branch)
                    if not migration.format_1_files(self._backend, head):
                        break  # else the remote had new format-1 blobs: migrate them too
            else:
                raise ConflictError(
                    f"{self._path}: the remote kept receiving format-1 blobs; migrate again"
                )
        finally:
            self._migrating = False
        with self._repository_errors("migrate"):
            recorded = self._read_config(self._backend.resolve(self._branch))
        if recorded is not None and self._is_format_1:
            self._raw_key = target_key
            self._adopt(recorded)
        return migration.MigrationReport(migrated, last)

    def _remote_step(self, step: Callable[[], object]) -> bool:
        """Run a pull or push of a migration; whether it worked. An unreachable remote is
        logged, unless the store is strict."""
        try:
            step()
        except RemoteError as error:
            if self._strict:
                raise
            log.warning("%s: migrating without the remote: %s", self._path, error)
            return False
        return True

    def _migration_target(
        self,
        head: str | None,
        layout: str | None,
        compression: str | None,
        cipher: str | None,
        raw_key: bytes | None,
    ) -> tuple[migration.Encoding, StoreConfig]:
        """The encoding of migrated blobs, and the configuration of the migrated store: the
        one recorded already (a migration being finished), else a new one."""
        recorded = self._read_config(head)
        if recorded is not None:
            if layout is not None and layout != recorded.layout:
                raise ConfigError(
                    f"{self._path}: the store is migrated already, with layout "
                    f"{recorded.layout!r}; a store keeps its layout, so layout={layout!r} "
                    "cannot apply"
                )
            if (
                raw_key is not None
                and recorded.key_check is not None
                and not keys.matches(raw_key, recorded.key_check)
            ):
                raise WrongKeyError(
                    f"{self._path}: the key does not match the key the store was migrated "
                    f"with (key_check in {CONFIG_PATH})"
                )
        layout_name = recorded.layout if recorded is not None else layout or DEFAULT_LAYOUT
        if self._plugins.layouts.get(layout_name).name_format != naming.FORMAT_VERSION:
            raise ArgumentError(
                f"layout {layout_name!r} is not of format {naming.FORMAT_VERSION}; migrate to "
                "one that is, such as 'hourly' or 'flat'"
            )
        codec = self._codec_named(
            compression or (recorded.codec if recorded is not None else DEFAULT_CODEC)
        )
        encryption: Cipher | None = None
        if cipher != NO_CIPHER:
            if raw_key is None:
                if cipher is not None:
                    raise KeyRequiredError(f"cipher {cipher!r} needs a key", remedy="pass key=")
            else:
                default = recorded.cipher if recorded is not None else None
                encryption = self._plugins.ciphers.get(cipher or default or DEFAULT_CIPHER)(raw_key)
        config = recorded or StoreConfig(
            layout=layout_name,
            codec=codec.name,
            cipher=encryption.name if encryption is not None else None,
            key_check=keys.key_check(raw_key) if raw_key is not None else None,
        )
        return migration.Encoding(codec, encryption), config

    def _commit_migration(
        self, rewriter: migration.Rewriter, config: StoreConfig
    ) -> tuple[int, str | None]:
        """Commit the migration of every format-1 file on the branch by compare-and-swap,
        planning again on top of whatever another writer committed; return how many files
        it replaced and the commit (``None`` if there were none)."""
        delay = 0.001
        for _ in range(_COMMIT_ATTEMPTS):
            with self._repository_errors("migrate"):
                head = self._backend.resolve(self._branch)
                recorded = self._read_config(head)
                if recorded is not None and recorded.layout != rewriter.layout.name:
                    raise ConflictError(
                        f"{self._path}: another writer migrated the store to layout "
                        f"{recorded.layout!r} meanwhile; migrate again"
                    )
                plan = rewriter.plan(head)
                if not plan.removed:
                    return 0, None
                files = dict(plan.files)
                if recorded is None:
                    (files[CONFIG_PATH],) = self._backend.write_blobs([config.to_bytes()])
                count = len(plan.removed)
                message = (
                    f"gitblobts: migrate {count} {'blob' if count == 1 else 'blobs'} from "
                    "gitblobts 0.0.7's format\n"
                )
                new = self._backend.write_commit(head, files, message, remove=plan.removed)
                if self._move_branch(head, new, files, list(plan.removed)):
                    log.info("%s: migrated %d blobs in %s", self._path, count, new)
                    return count, new
            time.sleep(delay * (0.5 + random.random()))  # jitter, not secrecy
            delay = min(delay * 2, 0.25)
        raise ConflictError(
            f"{self._path}: {self._branch} kept moving; gave up migrating after "
            f"{_COMMIT_ATTEMPTS} attempts; migrate again"
        )

    def _follow_migration(self, head: str | None) -> None:
        """If this store was opened in gitblobts 0.0.7's format and the branch has been
        migrated since (by another writer), work in the migrated store's configuration."""
        if self._is_format_1 and not self._migrating:
            config = self._read_config(head)
            if config is not None:
                self._adopt(config)

    def _adopt(self, config: StoreConfig) -> None:
        """Work in ``config``, recorded on the branch since this store was opened."""
        with self._lock:  # not while another thread commits what the old settings wrote
            self._config = config
            self._layout = self._plugins.layouts.get(config.layout)()
            self._configure(None, None)

    # Listing, counting, verifying, initializing

    def listblobs(
        self,
        start_time: object = -math.inf,
        end_time: object = math.inf,
        *,
        pull: bool = False,
    ) -> Iterator[BlobInfo]:
        """Like :meth:`getblobs`, but yield :class:`~gitblobts.BlobInfo` (time, path and size
        of the stored file) without decrypting or decompressing: no key is needed."""
        head, low, high, descending = self._query(start_time, end_time, pull)

        def infos() -> Iterator[BlobInfo]:
            with self._repository_errors("read"):
                for found in self._iter_folders(head, low, high, descending):
                    contents = self._backend.read_blobs([oid for *_, oid in found])
                    for (timestamp_ns, path, _, _), data in zip(found, contents, strict=True):
                        yield BlobInfo(timestamp_ns, path, len(data))

        return infos()

    def count(self, start_time: object = -math.inf, end_time: object = math.inf) -> int:
        """How many blobs :meth:`getblobs` would yield for the range, reading only folders."""
        head, low, high, descending = self._query(start_time, end_time, pull=False)
        with self._repository_errors("read"):
            return sum(len(found) for found in self._iter_folders(head, low, high, descending))

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
        with self._repository_errors("verify"):
            head = self._backend.resolve(self._branch)
            cipher = self._config.cipher if self._config is not None else None
            if self._raw_key is None and cipher is not None:
                raise KeyRequiredError(
                    f"{self._path}: the store encrypts its blobs with {cipher!r}; verifying "
                    "them needs its key"
                )
            return verify_tree(
                self._backend,
                head,
                self._layout,
                self._verify_blob,
                progress,
                self._parse,
                lost=None if head is None else functools.partial(self._lost_blobs, head),
            )

    def _lost_blobs(self, head: str, names: frozenset[str]) -> list[Problem]:
        """The blobs of the branch's history that its tip ``head`` lost (see
        :func:`~gitblobts.core.verify.lost_blobs`)."""
        return lost_blobs(self._backend, head, names, self._is_blob_path, _is_format_1_path)

    def _verify_blob(self, name: BlobName, path: str, data: bytes) -> None:
        """Decode a stored file as a read would, and check that queries can find it."""
        self._pipeline.read(self._read_context(name, path), data)
        expected = self._layout.path(name.timestamp_ns, path.rpartition("/")[2])
        if path != expected:
            raise CorruptBlobError(
                path,
                f"misplaced: layout {self._layout.name!r} puts it at {expected}, so queries "
                "do not find it",
            )

    @property
    def configured(self) -> bool:
        """Whether the branch records the store's configuration (see :meth:`init`)."""
        with self._repository_errors("inspect"):
            return self._read_config(self._backend.resolve(self._branch)) is not None

    def init(self, *, push: bool | None = None) -> bool:
        """Record the store's configuration (:attr:`config`) in a commit of its own, unless
        the branch records one already, and push as :meth:`addblob` does; return whether it
        committed. On a configured store nothing changes, but :class:`~gitblobts.ConfigError`
        says so if the store was opened with other settings (compression, cipher, key) than
        those recorded."""
        with self._repository_errors("read"):
            recorded = self._read_config(self._backend.resolve(self._branch))
        if recorded is not None:
            self._learn_config(recorded)
            if not isinstance(self._write_refusal, KeyRequiredError):
                self._check_settings(recorded)
            return False
        if self._write_refusal is not None:
            raise self._write_refusal
        if self._is_format_1:
            raise ConfigError(
                f"{self._path}: a store of gitblobts 0.0.7 (format 1) records no "
                "configuration; migrate() rewrites it in the current format, which does"
            )
        self._pipeline.commit(CommitContext({}, "gitblobts: init\n", self._commit_files))
        if self._push_after_add if push is None else push:
            self._publish()
        return True

    def _check_settings(self, recorded: StoreConfig) -> None:
        """Raise ConfigError if this store's settings for new blobs differ from ``recorded``."""
        wanted = self._new_config()
        differences = [
            f"{field} {getattr(recorded, field) or NO_CIPHER!r} (not "
            f"{getattr(wanted, field) or NO_CIPHER!r})"
            for field in ("layout", "codec", "cipher")
            if getattr(wanted, field) != getattr(recorded, field)
        ]
        if wanted.key_check != recorded.key_check:
            differences.append("a key" if recorded.key_check else "no key")
        if differences:
            raise ConfigError(
                f"{self._path}: the store is configured already, with {', '.join(differences)}; "
                "a store keeps its configuration"
            )

    @property
    def remote(self) -> tuple[str, str] | None:
        """The ``(remote, remote ref)`` the branch is pushed to and pulled from, if any."""
        with self._repository_errors("inspect"):
            return self._target()

    # Lifetime

    def close(self) -> None:
        """Release the backend's resources, once a call in progress in another thread has
        returned; calls afterwards (a query's iterator too) raise
        :class:`~gitblobts.RepositoryError`. Closing twice is harmless."""
        with self._remote_lock:  # a push after an add is part of the add
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

    @contextlib.contextmanager
    def _repository_errors(self, action: str) -> Iterator[None]:
        """Wrap what the backend raises, other than our own errors, in RepositoryError."""
        try:
            yield
        except GitBlobTSError as error:
            scrub_chain(error)  # a URL in what it was raised from keeps its credentials
            raise
        except Exception as error:
            said = redact(repr(error))
            wrapped = RepositoryError(f"{self._path}: cannot {action} the repository: {said}")
            wrapped.__cause__ = error
            scrub_chain(wrapped)
            raise wrapped from wrapped.__cause__


class _FolderLister:
    """The layout's view of one commit's folders."""

    def __init__(self, backend: Backend, commit: str) -> None:
        self._backend = backend
        self._commit = commit

    def subfolders(self, folder: str) -> list[str]:
        return [e.name for e in self._backend.list_folder(self._commit, folder) if e.is_folder]


def _caller_stacklevel() -> int:
    """The ``stacklevel`` that makes a warning issued by the caller of this function point
    at the first frame outside gitblobts: the user's call."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
    frame = sys._getframe(1)
    level = 1
    while frame.f_back is not None and frame.f_code.co_filename.startswith(package):
        frame = frame.f_back
        level += 1
    return level


def _check_bytes_like(blob: object, position: int) -> bytes:
    if isinstance(blob, bytes):
        return blob
    if isinstance(blob, (bytearray, memoryview)):
        return bytes(blob)
    raise BlobTypeError(
        f"blob {position} is {type(blob).__name__}, not bytes-like (bytes, bytearray or "
        "memoryview); encode it first, e.g. text.encode()"
    )


def _max_blob_size(given: int | None) -> int:
    """``max_blob_size``: as given, else from the environment, else the default."""
    if given is None:
        text = os.environ.get(MAX_BLOB_SIZE_ENV)
        if text is None or not text.strip():
            return DEFAULT_MAX_BLOB_SIZE
        try:
            given = int(text.strip())
        except ValueError:
            raise ArgumentError(
                f"${MAX_BLOB_SIZE_ENV} is {text!r}, not a number of bytes"
            ) from None
    if given < 0:
        raise ArgumentError(f"max_blob_size must be >= 0, not {given!r}")
    return given


def _check_names(**options: object) -> None:
    """Raise :class:`ArgumentTypeError` for an option that is neither a name nor ``None``."""
    for option, value in options.items():
        if value is not None and not isinstance(value, str):
            raise ArgumentTypeError(f"{option} is {type(value).__name__}, not a str or None")


def _check_iterable(value: object, name: str, item: str, instead: str) -> None:
    """Raise :class:`ArgumentTypeError` unless ``value`` is an iterable of items, as
    ``addblobs`` takes (a single blob or time string is one item, not an iterable)."""
    if isinstance(value, (str, bytes, bytearray, memoryview)):
        raise ArgumentTypeError(
            f"{name} is one {type(value).__name__}, not an iterable of them; pass a list "
            f"(or use {instead} for one {item})"
        )
    try:
        iter(value)  # type: ignore[call-overload]
    except TypeError:
        raise ArgumentTypeError(
            f"{name} is {type(value).__name__}, not an iterable (a list or a generator)"
        ) from None


_MISSING = object()


def _pair(
    blobs: Iterable[BytesLike], timestamps: Iterable[object] | None
) -> Iterator[tuple[object, object]]:
    if timestamps is None:
        return ((blob, None) for blob in blobs)
    if isinstance(blobs, Sequence) and isinstance(timestamps, Sequence):
        if len(blobs) != len(timestamps):
            raise ArgumentError(f"addblobs got {len(blobs)} blobs but {len(timestamps)} timestamps")
        return zip(blobs, timestamps, strict=True)

    def strictly() -> Iterator[tuple[object, object]]:
        for count, (blob, timestamp) in enumerate(
            itertools.zip_longest(blobs, timestamps, fillvalue=_MISSING)
        ):
            if blob is _MISSING or timestamp is _MISSING:
                longer = "timestamps" if blob is _MISSING else "blobs"
                raise ArgumentError(f"addblobs got more {longer} than the {count} paired")
            yield blob, timestamp

    return strictly()


def _is_format_1_path(path: str) -> bool:
    """Whether ``path``'s file name is a blob file name of gitblobts 0.0.7 (format 1)."""
    return naming_v1.parse_parts(path.rpartition("/")[2]) is not None


def _commit_message(count: int) -> str:
    noun = "blob" if count == 1 else "blobs"
    return f"gitblobts: add {count} {noun}\n"
