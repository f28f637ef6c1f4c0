"""Adding to a store: each blob goes through the pipeline (encode, compress, encrypt,
place), the files are written as git objects, and committed to the store's branch by
compare-and-swap, retrying on top of whatever another writer committed meanwhile: blob
paths never collide, so the union is always right. Nothing is visible until the branch
moves, so a failed add leaves the store as it was."""

from __future__ import annotations

import functools
import itertools
import logging
import math
from collections.abc import Iterable, Iterator, Sequence
from typing import BinaryIO, TypeAlias

from gitblobts.core import retry
from gitblobts.core.blob import BlobRef
from gitblobts.core.config import CONFIG_PATH
from gitblobts.core.errors import (
    AddInterrupted,
    ArgumentError,
    ArgumentTypeError,
    BlobTypeError,
    ConflictError,
    GitBlobTSError,
    RepositoryError,
)
from gitblobts.core.formats.registry import unrecorded
from gitblobts.core.layout import Layout
from gitblobts.core.naming import BlobName
from gitblobts.core.pipeline import BlobContext, CommitContext
from gitblobts.core.pushlimit import CommitSplit
from gitblobts.core.remotes import Remotes
from gitblobts.core.settings import Settings
from gitblobts.core.state import StoreState
from gitblobts.core.timestamps import check_range, to_ns

log = logging.getLogger("gitblobts")

BytesLike: TypeAlias = "bytes | bytearray | memoryview"
BlobSource: TypeAlias = "BytesLike | BinaryIO | Iterable[bytes]"
"""What ``addblob`` takes: the blob's bytes, a binary file object, or an iterable of bytes."""


class Adding:
    """Adding blobs to a store, and committing to its branch."""

    def __init__(self, state: StoreState, remotes: Remotes) -> None:
        self._state = state
        self._remotes = remotes

    def add(self, pairs: Iterator[tuple[object, object]], push: bool | None) -> list[BlobRef]:
        """Add the blobs of ``pairs`` with their times in one commit per at most
        ``max_push_bytes`` stored bytes (see :mod:`gitblobts.core.pushlimit`); push if
        ``push`` (or by default the store) says so."""
        settings = self._state.settings
        if settings.write_refusal is not None:
            raise settings.write_refusal
        codec, cipher, layout = settings.codec, settings.cipher, settings.layout
        suffixes = tuple(s for s in (codec.extension, cipher and cipher.name) if s)
        added: list[tuple[int, str]] = []
        """(time, path) of each blob written: plain values, which the cycle collector skips
        (a batch of 100,000 blobs must not make every collection walk 100,000 objects)."""
        split = CommitSplit(self._state.max_push_bytes)

        def stored_files() -> Iterator[bytes | bytearray]:
            for position, (blob, timestamp) in enumerate(pairs):
                if is_file(blob):
                    blob = read_source(blob)  # type: ignore[arg-type]  # is_file says so
                data = check_bytes_like(blob, position)
                timestamp_ns = self._to_ns(settings, timestamp)
                name = self._new_name(settings, timestamp_ns, suffixes)
                context = BlobContext(name, codec, cipher, layout)
                stored = self._state.pipeline.write(context, data)
                added.append((context.timestamp_ns, context.path))
                split.file(len(stored))
                split.blob(len(added), position, context.path)
                yield stored

        with self._state.repository_errors("add blobs to"):
            oids = self._state.backend.write_blobs(stored_files())
        if not added:
            return []
        landed: list[str] = []
        # If the store follows a migration meanwhile, the layout changes, and nothing commits.
        commit_files = functools.partial(self.commit_files, layout=layout, landed=landed)
        refs = [BlobRef(timestamp_ns, path) for timestamp_ns, path in added]
        commits = split.commits()
        try:
            for blobs in commits:
                part = split.files(blobs)
                files = {path: oid for (_, path), oid in zip(added[part], oids[part], strict=True)}
                message = commit_message(len(blobs))
                self._state.pipeline.commit(CommitContext(files, message, commit_files))
            if self._state.push_after_add if push is None else push:
                self._remotes.publish()
        except KeyboardInterrupt as interrupt:
            if not landed or isinstance(interrupt, AddInterrupted):
                raise
            raise AddInterrupted(landed[-1], refs[: commits[len(landed) - 1].stop]) from interrupt
        except GitBlobTSError as error:
            if not landed or len(landed) == len(commits):
                raise
            count = commits[len(landed) - 1].stop
            raise self._partly_added(error, landed, count, len(refs)) from error
        return refs

    def _partly_added(
        self, error: GitBlobTSError, landed: list[str], count: int, total: int
    ) -> RepositoryError:
        """``error``, raised by a commit after others of the same add had landed, saying
        which blobs are on the branch (the first ``count`` of ``total``)."""
        kind = type(error) if isinstance(error, RepositoryError) else RepositoryError
        return kind(
            f"{self._state.path}: the first {count} of the {total} blobs were committed (in "
            f"{len(landed)} commits, the last {landed[-1]}), then: {error.problem}; do not "
            f"add those {count} again, add the other {total - count}"
        )

    def _to_ns(self, settings: Settings, value: object, now_ns: int | None = None) -> int:
        """A time as nanoseconds; float seconds as the store's name format converts them."""
        if type(value) is float and math.isfinite(value):
            converted = settings.names.seconds_to_ns(value)
            if converted is not None:
                return check_range(converted, value)
        return to_ns(value, now_ns=now_ns, parse_text=self._state.plugins.parse_time)

    @staticmethod
    def _new_name(settings: Settings, timestamp_ns: int, suffixes: tuple[str, ...]) -> BlobName:
        return settings.names.new_name(timestamp_ns, suffixes)

    def commit_files(
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

        def attempt() -> retry.Outcome[str]:
            # Under the lock, the store's threads never make each other try again.
            with self._state.repository_errors("commit to"), self._state.lock:
                settings = self._state.settings
                if layout is not None and layout is not settings.layout:
                    raise self._migrated_meanwhile(settings)
                head = self._state.backend.resolve(self._state.branch)
                files = dict(commit.files)
                config = settings.config or self._state.read_config(head)
                if config is not None and not settings.names.records_config:
                    self._state.adopt(config, settings.raw_key)
                    raise self._migrated_meanwhile(settings)
                if config is None and settings.names.records_config:
                    found = unrecorded(self._state.backend, head)
                    if found is not None:
                        raise ConflictError(
                            f"{self._state.path}: another writer added blobs of {found.title} "
                            "to the branch meanwhile, so nothing was added; reopen "
                            "the store to add to them, or migrate() them"
                        )
                    config = settings.new_config()
                    (files[CONFIG_PATH],) = self._state.backend.write_blobs([config.to_bytes()])
                elif config is not None and config.layout != settings.layout.name:
                    raise ConflictError(
                        f"{self._state.path}: another writer created this store with layout "
                        f"{config.layout!r} while we added with {settings.layout.name!r}; retry"
                    )
                elif config is not None and settings.config is None:
                    # Another writer created the store meanwhile.
                    settings = self._state.settings = settings.learning(config)
                    if settings.write_refusal is not None:
                        raise settings.write_refusal
                new = self._state.backend.write_commit(head, files, commit.message)
                if not self._state.move_branch(head, new, files, landed=landed):
                    return retry.AGAIN
                self._state.settings = settings.learning(config)
                log.debug("committed %d files to %s as %s", len(files), self._state.branch, new)
                return new

        return retry.retry(
            attempt,
            retry.COMMIT,
            lambda: ConflictError(
                f"{self._state.path}: {self._state.branch} kept moving; gave up after "
                f"{retry.COMMIT.attempts} attempts"
            ),
        )

    def _migrated_meanwhile(self, settings: Settings) -> ConflictError:
        return ConflictError(
            f"{self._state.path}: the store was migrated from {settings.names.title} "
            "meanwhile, so nothing was added; add again"
        )


def check_bytes_like(blob: object, position: int) -> bytes:
    if isinstance(blob, bytes):
        return blob
    if isinstance(blob, (bytearray, memoryview)):
        return bytes(blob)
    raise BlobTypeError(
        f"blob {position} is {type(blob).__name__}, not bytes-like (bytes, bytearray or "
        "memoryview); encode it first, e.g. text.encode()"
    )


def check_blobs(
    blobs: Iterable[BytesLike | BinaryIO], timestamps: Iterable[object] | None
) -> Iterator[tuple[object, object]]:
    """``addblobs``' arguments, checked (before anything else: they are the caller's
    whatever the store's state), as (blob, time) pairs."""
    check_iterable(blobs, "blobs", "blob", "addblob()")
    if timestamps is not None:
        check_iterable(timestamps, "timestamps", "time", "a list of times")
    if isinstance(blobs, Sequence):
        for position, blob in enumerate(blobs):
            if not is_file(blob):
                check_bytes_like(blob, position)
    return pair(blobs, timestamps)


def is_file(source: object) -> bool:
    """Whether ``source`` is a file object (something with a ``read`` method)."""
    return callable(getattr(source, "read", None))


def read_source(source: BlobSource) -> BytesLike:
    """A blob given as a binary file object or an iterable of bytes, as bytes (anything
    else as it is, for :func:`check_bytes_like` to judge). Holds the blob whole: streaming
    it in parts replaces this."""
    if isinstance(source, (bytes, bytearray, memoryview, str)):
        return source  # a str too: check_bytes_like says what is wrong
    read = getattr(source, "read", None)
    if callable(read):
        data = read()
        if not isinstance(data, bytes):
            raise BlobTypeError(
                f"the file object read {type(data).__name__}, not bytes; open it in binary mode"
            )
        return data
    try:
        pieces = iter(source)
    except TypeError:
        return source  # type: ignore[return-value]  # check_bytes_like says what it is
    return b"".join(check_bytes_like(piece, position) for position, piece in enumerate(pieces))


def check_iterable(value: object, name: str, item: str, instead: str) -> None:
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


def pair(
    blobs: Iterable[BytesLike | BinaryIO], timestamps: Iterable[object] | None
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


def commit_message(count: int) -> str:
    noun = "blob" if count == 1 else "blobs"
    return f"gitblobts: add {count} {noun}\n"
