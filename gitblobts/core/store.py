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
import itertools
import logging
import math
import os
import random
import time
import weakref
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from types import TracebackType
from typing import TypeAlias

from gitblobts.core import keys, naming
from gitblobts.core.backend import Backend
from gitblobts.core.blob import Blob, BlobRef
from gitblobts.core.cipher import Cipher
from gitblobts.core.codec import Codec
from gitblobts.core.config import CONFIG_PATH, StoreConfig
from gitblobts.core.errors import (
    ArgumentError,
    BlobTypeError,
    ConfigError,
    ConflictError,
    CorruptBlobError,
    GitBlobTSError,
    KeyRequiredError,
    RemoteError,
    RepositoryError,
    UnknownPluginError,
    WrongKeyError,
)
from gitblobts.core.layout import Layout
from gitblobts.core.naming import BlobName
from gitblobts.core.pipeline import BlobContext, CommitContext, Pipeline
from gitblobts.core.plugins import Plugins, default_plugins
from gitblobts.core.timestamps import MAX_NS, MIN_NS, is_open_bound, to_ns

log = logging.getLogger("gitblobts")

BytesLike: TypeAlias = "bytes | bytearray | memoryview"

DEFAULT_BACKEND = "dulwich"
BACKEND_ENV = "GITBLOBTS_BACKEND"
"""Environment variable naming the backend stores use when ``backend=`` is not given."""
DEFAULT_LAYOUT = "hourly"
DEFAULT_CODEC = "zstd"
DEFAULT_CIPHER = "aes256gcm"
NO_CIPHER = "none"
DEFAULT_MAX_BLOB_SIZE = 4 << 30
"""Largest decompressed blob a read accepts, so a small file cannot expand without bound."""
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
    ``branch``: the branch holding the blobs (default: the checked-out one).
    ``backend``: git plumbing to use (default: ``$GITBLOBTS_BACKEND``, else ``'dulwich'``).
    ``max_blob_size``: largest decompressed size a read accepts.
    ``plugins``: a :class:`~gitblobts.core.plugins.Plugins` to use instead of the installed set.
    ``remote``: the remote to push to and pull from (default: the branch's upstream, else
    ``origin`` if there is one). ``push``: push after every add (default ``True``; each add
    can override it). ``strict``: raise :class:`~gitblobts.RemoteError` when that push fails,
    instead of keeping the commits for a later :meth:`push`.
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
        max_blob_size: int = DEFAULT_MAX_BLOB_SIZE,
        plugins: Plugins | None = None,
        remote: str | None = None,
        push: bool = True,
        strict: bool = False,
    ) -> None:
        self._remote_name = remote
        self._push_after_add = push
        self._strict = strict
        self._plugins = plugins if plugins is not None else default_plugins()
        self._path = os.fspath(path)
        if not os.path.isdir(self._path):
            raise RepositoryError(f"{self._path}: no such directory")
        if max_blob_size < 0:
            raise ArgumentError(f"max_blob_size must be >= 0, not {max_blob_size!r}")
        self._max_blob_size = max_blob_size
        self._raw_key = keys.decode_key(key) if key is not None else None
        backend_name = backend or os.environ.get(BACKEND_ENV) or DEFAULT_BACKEND
        backend_class = self._plugins.backends.get(backend_name)
        with self._repository_errors("open"):
            self._backend: Backend = backend_class(self._path)
        # Close the backend when the store is collected or the interpreter exits, before
        # module teardown makes that noisy.
        self._finalizer = weakref.finalize(self, self._backend.close)
        with self._repository_errors("open"):
            self._branch = self._resolve_branch(branch)
            self._config = self._read_config(self._backend.resolve(self._branch))
        self._layout = self._choose_layout(layout)
        self._write_refusal: GitBlobTSError | None = None
        try:
            self._codec = self._codec_named(compression or self._default("codec"))
            self._cipher, self._write_refusal = self._choose_cipher(cipher)
        except UnknownPluginError as error:
            if compression is not None or cipher is not None:
                raise
            # The store's own default is not installed here: reading still works, adding
            # must say why it cannot.
            self._codec, self._cipher = self._codec_named("none"), None
            self._write_refusal = ConfigError(
                f"{self._path}: cannot add with the store's defaults: {error}; pass "
                "compression= (and cipher=) to choose installed ones"
            )
        self._check_key()
        self._pipeline = Pipeline(self._plugins)
        self._codecs: dict[str, Codec] = {self._codec.extension: self._codec}
        self._ciphers: dict[str, Cipher] = {}
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
        if not branch or branch.startswith("-") or ".." in branch or branch.endswith("/"):
            raise ArgumentError(f"branch {branch!r} is not a valid branch name")
        return branch if branch.startswith("refs/") else f"refs/heads/{branch}"

    def _read_config(self, commit: str | None) -> StoreConfig | None:
        if commit is None:
            return None
        for entry in self._backend.list_folder(commit, ""):
            if entry.name == CONFIG_PATH and entry.is_file:
                (data,) = self._backend.read_blobs([entry.oid])
                return StoreConfig.from_bytes(data)
        return None

    def _default(self, setting: str) -> str:
        if self._config is not None:
            return str(getattr(self._config, setting))
        return {"codec": DEFAULT_CODEC, "layout": DEFAULT_LAYOUT}[setting]

    def _choose_layout(self, layout: str | None) -> Layout:
        configured = self._default("layout")
        if self._config is not None and layout is not None and layout != configured:
            raise ConfigError(
                f"{self._path}: the store was created with layout {configured!r}; a store "
                f"keeps its layout, so layout={layout!r} cannot apply"
            )
        return self._plugins.layouts.get(layout or configured)()

    def _codec_named(self, name: str) -> Codec:
        return self._plugins.codecs.get(name)()

    def _choose_cipher(self, cipher: str | None) -> tuple[Cipher | None, GitBlobTSError | None]:
        """The cipher for new blobs, and why adding is refused (if it is)."""
        if cipher == NO_CIPHER:
            return None, None
        configured = self._config.cipher if self._config is not None else None
        if self._raw_key is None:
            if cipher is not None:
                raise KeyRequiredError(f"cipher {cipher!r} needs a key; pass key=")
            if configured is not None:
                return None, KeyRequiredError(
                    f"{self._path}: the store encrypts new blobs with {configured!r}; pass its "
                    f"key, or cipher={NO_CIPHER!r} to add unencrypted blobs"
                )
            return None, None
        cipher_class = self._plugins.ciphers.get(cipher or configured or DEFAULT_CIPHER)
        return cipher_class(self._raw_key), None

    def _check_key(self) -> None:
        recorded = self._config.key_check if self._config is not None else None
        if (
            self._raw_key is not None
            and recorded is not None
            and not keys.matches(self._raw_key, recorded)
        ):
            raise WrongKeyError(
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
        cipher = self._cipher.name if self._cipher is not None else None
        return (
            f"Store({self._path!r}, branch={self._branch!r}, layout={self._layout.name!r}, "
            f"compression={self._codec.name!r}, cipher={cipher!r})"
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
        the remote cannot be reached the blobs stay committed locally (see ``strict``)."""
        if self._write_refusal is not None:
            raise self._write_refusal
        if isinstance(blobs, Sequence):
            for position, blob in enumerate(blobs):
                _check_bytes_like(blob, position)
        pairs = _pair(blobs, timestamps)
        suffixes = tuple(
            s for s in (self._codec.extension, self._cipher and self._cipher.name) if s
        )
        contexts: list[BlobContext] = []

        def stored_files() -> Iterator[bytes]:
            for position, (blob, timestamp) in enumerate(pairs):
                data = _check_bytes_like(blob, position)
                timestamp_ns = to_ns(timestamp, parse_text=self._plugins.parse_time)
                context = BlobContext(
                    naming.new_name(timestamp_ns, suffixes), self._codec, self._cipher, self._layout
                )
                stored = self._pipeline.write(context, data)
                contexts.append(context)
                yield stored

        with self._repository_errors("add blobs to"):
            oids = self._backend.write_blobs(stored_files())
        if not contexts:
            return []
        files = {context.path: oid for context, oid in zip(contexts, oids, strict=True)}
        message = _commit_message(contexts)
        self._pipeline.commit(CommitContext(files, message, self._commit_files))
        refs = [BlobRef(context.timestamp_ns, context.path) for context in contexts]
        if self._push_after_add if push is None else push:
            self._publish()
        return refs

    def _new_config(self) -> StoreConfig:
        return StoreConfig(
            layout=self._layout.name,
            codec=self._codec.name,
            cipher=self._cipher.name if self._cipher is not None else None,
            key_check=keys.key_check(self._raw_key) if self._raw_key is not None else None,
        )

    def _commit_files(self, commit: CommitContext) -> str:
        """Commit ``commit.files`` to the branch by compare-and-swap, on top of whatever the
        branch holds by then; record the configuration with a new store's first commit."""
        delay = 0.001
        for _ in range(_COMMIT_ATTEMPTS):
            with self._repository_errors("commit to"):
                head = self._backend.resolve(self._branch)
                files = dict(commit.files)
                config = self._config or self._read_config(head)
                if config is None:
                    config = self._new_config()
                    (files[CONFIG_PATH],) = self._backend.write_blobs([config.to_bytes()])
                elif config.layout != self._layout.name:
                    raise ConflictError(
                        f"{self._path}: another writer created this store with layout "
                        f"{config.layout!r} while we added with {self._layout.name!r}; retry"
                    )
                new = self._backend.write_commit(head, files, commit.message)
                if self._backend.compare_and_swap(self._branch, head, new):
                    self._config = config
                    if self._is_checked_out():
                        self._backend.check_out(files)
                    log.debug("committed %d files to %s as %s", len(files), self._branch, new)
                    return new
            time.sleep(delay * (0.5 + random.random()))  # jitter, not secrecy
            delay = min(delay * 2, 0.25)
        raise ConflictError(
            f"{self._path}: {self._branch} kept moving; gave up after {_COMMIT_ATTEMPTS} attempts"
        )

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
        now_ns = time.time_ns()
        start = self._bound(start_time, now_ns, open_value=-math.inf)
        end = self._bound(end_time, now_ns, open_value=math.inf)
        descending = start > end
        low, high = (end, start) if descending else (start, end)
        if pull:
            self.pull()
        with self._repository_errors("read"):
            head = self._backend.resolve(self._branch)
        return self._iter_blobs(head, low, high, descending)

    def _bound(self, value: object, now_ns: int, open_value: float) -> float | int:
        """A range end as nanoseconds; ``None`` and NaN become ``open_value``, infinities stay."""
        if is_open_bound(value):
            if isinstance(value, (float, Decimal)) and not math.isnan(value):
                return math.inf if value > 0 else -math.inf
            return open_value
        return to_ns(value, now_ns=now_ns, parse_text=self._plugins.parse_time)

    def _iter_blobs(
        self, head: str | None, low: float | int, high: float | int, descending: bool
    ) -> Iterator[Blob]:
        if head is None:
            return
        low_ns = MIN_NS if low == -math.inf else int(low)
        high_ns = MAX_NS if high == math.inf else int(high)
        if low_ns > high_ns:
            return
        lister = _FolderLister(self._backend, head)
        with self._repository_errors("read"):
            for folder in self._layout.folders(lister, low_ns, high_ns, descending=descending):
                yield from self._read_folder(head, folder, low_ns, high_ns, descending)

    def _read_folder(
        self, head: str, folder: str, low_ns: int, high_ns: int, descending: bool
    ) -> Iterator[Blob]:
        found: list[tuple[BlobName, str, str]] = []
        for entry in self._backend.list_folder(head, folder):
            if not entry.is_file:
                continue
            name = naming.parse(entry.name)
            if name is not None and low_ns <= name.timestamp_ns <= high_ns:
                path = f"{folder}/{entry.name}" if folder else entry.name
                found.append((name, path, entry.oid))
        found.sort(key=lambda item: (item[0].timestamp_ns, item[0].nonce), reverse=descending)
        contents = self._backend.read_blobs([oid for _, _, oid in found])
        for (name, path, _), data in zip(found, contents, strict=True):
            context = self._read_context(name, path)
            blob = self._pipeline.read(context, data)
            yield Blob(name.timestamp_ns, path, blob)

    def _read_context(self, name: BlobName, path: str) -> BlobContext:
        if name.version != naming.FORMAT_VERSION:
            raise CorruptBlobError(
                path,
                f"format version {name.version} is not one this gitblobts reads "
                f"(version {naming.FORMAT_VERSION}); upgrade gitblobts",
            )
        suffixes = list(name.suffixes)
        cipher = None
        if suffixes and suffixes[-1] in self._plugins.ciphers:
            cipher = self._cipher_for(suffixes.pop(), path)
        if len(suffixes) > 1:
            raise CorruptBlobError(path, f"unrecognised file suffixes {name.suffixes!r}")
        codec = self._codec_for(suffixes[0] if suffixes else "", path)
        return BlobContext(name, codec, cipher, self._layout, path, self._max_blob_size)

    def _cipher_for(self, cipher_name: str, path: str) -> Cipher:
        cipher = self._ciphers.get(cipher_name)
        if cipher is None:
            if self._raw_key is None:
                raise KeyRequiredError(f"{path}: the file is encrypted; pass the store's key")
            cipher = self._plugins.ciphers.get(cipher_name)(self._raw_key)
            self._ciphers[cipher_name] = cipher
        return cipher

    def _codec_for(self, extension: str, path: str) -> Codec:
        codec = self._codecs.get(extension)
        if codec is None:
            codec_class = self._plugins.codec_for_extension(extension)
            if codec_class is None:
                raise UnknownPluginError(
                    "codec", f"for extension {extension!r} of {path}", self._plugins.codecs.names()
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
        """Push after an add: a failure keeps the commits for later, unless strict."""
        try:
            with self._repository_errors("push from"):
                target = self._target()
                if target is not None:
                    self._push_to(*target)
        except RemoteError as error:
            if self._strict:
                raise
            log.warning("%s: blobs committed locally but not pushed: %s", self._path, error)

    def push(self) -> None:
        """Deliver the branch's commits to the remote. If another writer pushed meanwhile,
        fetch, put our commits on top of theirs (blob paths never collide, so the union is
        always right), and push again, with bounded, jittered retries. Raises
        :class:`~gitblobts.RemoteError` if the remote cannot be reached or keeps moving; the
        commits stay, to be pushed later."""
        with self._repository_errors("push from"):
            self._push_to(*self._require_target())

    def _push_to(self, remote: str, remote_ref: str) -> None:
        """:meth:`push` to ``remote_ref`` of ``remote``."""
        delay = 0.05
        for _ in range(_PUSH_ATTEMPTS):
            local = self._backend.resolve(self._branch)
            if local is None:
                return
            theirs = self._backend.fetch(remote, remote_ref)
            if theirs == local:
                break
            if theirs is not None and self._backend.merge_base(theirs, local) != theirs:
                rebased = self._rebase(theirs, local)
                if rebased is None or rebased == theirs:
                    continue  # the branch moved under us, or there is nothing of ours
                local = rebased
            if self._backend.push(remote, local, remote_ref, expected=theirs):
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

    def pull(self) -> None:
        """Bring the remote's blobs into the branch: fast-forward, or put local commits not yet
        pushed on top of the remote's. With no remote, there is nothing to do."""
        with self._repository_errors("pull into"):
            target = self._target()
            if target is None:
                return
            for _ in range(_COMMIT_ATTEMPTS):
                local = self._backend.resolve(self._branch)
                theirs = self._backend.fetch(*target)
                if theirs is None or theirs == local:
                    return
                if local is not None and self._backend.merge_base(theirs, local) == theirs:
                    return  # we are ahead: nothing to take
                if self._rebase(theirs, local) is not None:
                    return
            raise ConflictError(f"{self._path}: {self._branch} kept moving while pulling")

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

    def _rebase(self, theirs: str, local: str | None) -> str | None:
        """Move the branch from ``local`` to ``theirs`` plus our commits replayed on top, by
        compare-and-swap; return the new tip, or ``None`` if the branch moved meanwhile."""
        new = theirs
        if local is not None:
            base = self._backend.merge_base(theirs, local)
            their_config = self._read_config(theirs)
            for commit in self._backend.first_parent_chain(local, base):
                parent, message = self._backend.commit_info(commit)
                files = self._backend.added_files(parent, commit)
                if their_config is not None:
                    files.pop(CONFIG_PATH, None)  # the store already has its configuration
                if files:
                    new = self._backend.write_commit(new, files, message)
        if not self._backend.compare_and_swap(self._branch, local, new):
            return None
        self._config = self._config or self._read_config(new)
        if self._is_checked_out():
            self._backend.check_out(self._backend.added_files(local, new))
        return new

    # Lifetime

    def close(self) -> None:
        """Release the backend's resources. Closing twice is harmless."""
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
        except GitBlobTSError:
            raise
        except Exception as error:
            raise RepositoryError(
                f"{self._path}: cannot {action} the repository: {error!r}"
            ) from error


class _FolderLister:
    """The layout's view of one commit's folders."""

    def __init__(self, backend: Backend, commit: str) -> None:
        self._backend = backend
        self._commit = commit

    def subfolders(self, folder: str) -> list[str]:
        return [e.name for e in self._backend.list_folder(self._commit, folder) if e.is_folder]


def _check_bytes_like(blob: object, position: int) -> bytes:
    if isinstance(blob, bytes):
        return blob
    if isinstance(blob, (bytearray, memoryview)):
        return bytes(blob)
    raise BlobTypeError(
        f"blob {position} is {type(blob).__name__}, not bytes-like (bytes, bytearray or "
        "memoryview); encode it first, e.g. text.encode()"
    )


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


def _commit_message(contexts: list[BlobContext]) -> str:
    count = len(contexts)
    noun = "blob" if count == 1 else "blobs"
    return f"gitblobts: add {count} {noun}\n"
