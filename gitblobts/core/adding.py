"""Adding to a store: each blob goes through the pipeline (encode, compress, encrypt,
place), the files are written as git objects, and committed to the store's branch by
compare-and-swap, retrying on top of whatever another writer committed meanwhile: blob
paths never collide, so the union is always right. Nothing is visible until the branch
moves, so a failed add leaves the store as it was."""

from __future__ import annotations

import dataclasses
import functools
import itertools
import logging
import math
from collections.abc import Callable, Iterable, Iterator, MutableMapping, Sequence
from typing import BinaryIO, TypeAlias

from gitblobts.core import addresses, collector, retry
from gitblobts.core.batchfiles import BatchFiles
from gitblobts.core.blob import BlobRef
from gitblobts.core.blobrefs import AddedBlobs, BlobRefs
from gitblobts.core.blobstream import open_stream
from gitblobts.core.config import CONFIG_PATH, required_version, upgraded_to
from gitblobts.core.errors import (
    AddInterrupted,
    ArgumentError,
    ArgumentTypeError,
    BlobTooLargeError,
    BlobTypeError,
    ConflictError,
    GitBlobTSError,
    RepositoryError,
)
from gitblobts.core.formats.registry import unrecorded
from gitblobts.core.keynames import KeyFolder
from gitblobts.core.layout import Layout
from gitblobts.core.parts import DEFAULT_PART_SIZE, PartCutter, cut, sums_file
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

Keying: TypeAlias = "Callable[[Settings], tuple[KeyFolder, tuple[str, bytes] | None]] | None"
"""How an add finds its key's folder (and name record), given the settings it adds with."""

CHUNK_SIZE = 1 << 20
"""Bytes read from a file object at a time, as a blob streams in."""

NewContext: TypeAlias = "Callable[[Settings, object], BlobContext]"
"""Makes a new blob's context, unplaced, from the settings and what the add was given
beside the blob (its time, for a blob of the store's time names)."""


class Adding:
    """Adding blobs to a store, and committing to its branch."""

    def __init__(self, state: StoreState, remotes: Remotes) -> None:
        self._state = state
        self._remotes = remotes

    def add_one(
        self, blob: BlobSource, timestamp: object, push: bool | None, key: Keying = None
    ) -> BlobRef:
        """Carries out :meth:`gitblobts.Store.addblob`."""
        source = as_source(blob)
        if not is_file(source):
            check_bytes_like(source, 0)
        return self.add(iter([(source, timestamp)]), push, key=key)[0]

    def add(
        self,
        pairs: Iterator[tuple[object, object]],
        push: bool | None,
        *,
        key: Keying = None,
        new_context: NewContext | None = None,
        message: Callable[[int], str] | None = None,
        settings: Settings | None = None,
    ) -> BlobRefs:
        """:meth:`_add`, with the cycle collector paused (:mod:`gitblobts.core.collector`)."""
        with collector.paused():
            return self._add(pairs, push, key, new_context, message, settings)

    def _add(
        self,
        pairs: Iterator[tuple[object, object]],
        push: bool | None,
        key: Keying,
        new_context: NewContext | None,
        message: Callable[[int], str] | None,
        settings: Settings | None,
    ) -> BlobRefs:
        """Add the blobs of ``pairs`` with their times in one commit per at most
        ``max_push_bytes`` stored bytes (see :mod:`gitblobts.core.pushlimit`); push if
        ``push`` (or by default the store) says so. ``key``: called with the settings,
        gives the key folder to add to, and its name record (path, bytes) if it needs one
        (see :mod:`gitblobts.core.keyed`). ``new_context``: names each blob (default: by its
        time, in the key's folder if any); ``message``: of a commit of so many blobs;
        ``settings``: those to add with, if not the store's current ones."""
        settings = settings or self._state.settings
        if settings.write_refusal is not None:
            raise settings.write_refusal
        place, record = key(settings) if key is not None else (None, None)
        if new_context is None:
            new_context = functools.partial(self._new_context, place=place)
        message = message or commit_message
        layout = settings.layout
        part_size = self.part_size(settings)
        name = place.key if place is not None else None
        added = AddedBlobs(name)
        """Each blob written: its time, path and files (1, or its parts and SHA256SUMS), in
        columns: a batch of a million blobs holds no object per blob."""
        split = CommitSplit(self._state.max_push_bytes)

        def stored_files() -> Iterator[bytes | bytearray]:
            written = 0
            for position, (blob, timestamp) in enumerate(pairs):
                context, files = self._stored_form(
                    settings,
                    blob,
                    functools.partial(new_context, settings, timestamp),
                    position,
                    part_size,
                )
                count = 0
                for file in files:
                    split.file(len(file))
                    count += 1
                    yield file
                    del file  # the backend has it: hold no part while the next is cut
                written += count
                collector.tick()
                added.append(context.timestamp_ns, context.path, count)
                split.blob(written, position, context.path)

        with self._state.repository_errors("add blobs to"):
            oids = self._state.backend.write_blobs(stored_files())
        if not len(added):
            return BlobRefs(added, range(0))
        landed: list[str] = []
        # If the store follows a migration meanwhile, the layout changes, and nothing commits.
        commit_files = functools.partial(self.commit_files, layout=layout, landed=landed)
        refs = added.refs()
        if record is not None:
            (record_oid,) = self._state.backend.write_blobs([record[1]])
        commits = split.commits()
        try:
            for blobs in commits:
                files = BatchFiles(added, oids, blobs)
                if record is not None and blobs.start == 0:
                    files[record[0]] = record_oid
                text = message(len(blobs))
                self._state.pipeline.commit(CommitContext(files, text, commit_files))
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

    def _stored_form(
        self,
        settings: Settings,
        blob: object,
        new_context: Callable[[], BlobContext],
        position: int,
        part_size: int | None,
    ) -> tuple[BlobContext, Iterator[bytes | bytearray]]:
        """The ``position``-th blob's context, placed, and its stored files: one, or its parts
        then ``SHA256SUMS``. When the pipeline lets it (no plugin on a data stage) and the
        store keeps parts, a file object streams, and bytes longer than a part are encoded
        in pieces (their stored form is never whole); otherwise the pipeline writes the blob
        whole."""
        streams = self._state.pipeline.streams_writes
        if part_size is not None and streams and is_file(blob):
            context = new_context()
            self._state.pipeline.place(context)
            return context, self._stream(context, blob, part_size)  # type: ignore[arg-type]
        if is_file(blob):
            blob = read_file(blob, self._state.max_blob_size, position)  # type: ignore[arg-type]
        data = check_bytes_like(blob, position)
        context = new_context()
        if part_size is not None and streams and part_size < len(data) <= self._state.max_blob_size:
            self._state.pipeline.place(context)
            return context, self._stored(context, context.codec.encode_pieces(data), part_size)
        stored = self._state.pipeline.write(context, data)
        if part_size is None or len(stored) <= part_size:
            return context, iter((stored,))
        pieces, sums = cut(stored, part_size)
        return context, itertools.chain(pieces, (sums,))

    def _new_context(
        self, settings: Settings, timestamp: object, place: KeyFolder | None
    ) -> BlobContext:
        """A new blob's context: its name, from ``timestamp`` and fresh randomness; placed
        under ``place``'s folder, for a key's version."""
        codec, cipher = settings.codec, settings.cipher
        suffixes = tuple(s for s in (codec.extension, cipher and cipher.name) if s)
        timestamp_ns = self._to_ns(settings, timestamp)
        name = settings.names.new_name(timestamp_ns, suffixes)
        if place is None:
            return BlobContext(name, codec, cipher, settings.layout)
        return BlobContext(name, codec, cipher, settings.layout, root=place.folder, key_id=place.id)

    def part_size(self, settings: Settings) -> int | None:
        """The part size of new blobs: the option, else the recorded one, else the default;
        ``None`` for a format that records no configuration (its blobs are never parted)."""
        if not settings.names.records_config:
            return None
        if self._state.part_size is not None:
            return self._state.part_size
        if settings.config is not None and settings.config.part_size is not None:
            return settings.config.part_size
        return DEFAULT_PART_SIZE

    def _stream(
        self, blob: BlobContext, source: BinaryIO, part_size: int
    ) -> Iterator[bytes | bytearray]:
        """Stream ``source`` through the codec's encoder and the cipher's encryptor, and
        yield the stored form: one file, or parts then ``SHA256SUMS`` (see :meth:`_stored`).
        Refuses a blob over ``max_blob_size`` as soon as more is read."""
        encoder = blob.codec.encoder()

        def encoded() -> Iterator[bytes]:
            for chunk in chunks(source, self._state.max_blob_size, blob.path):
                yield encoder.update(bytes(chunk))
            yield encoder.finish()

        return self._stored(blob, encoded(), part_size)

    @staticmethod
    def _stored(
        blob: BlobContext, encoded: Iterable[bytes], part_size: int
    ) -> Iterator[bytes | bytearray]:
        """The stored form of a blob whose encoded bytes come in the pieces ``encoded``,
        encrypted as they come: one file, or parts then ``SHA256SUMS``. Holds the part being
        cut and a piece (and the backend, the part it writes)."""
        encryptor = None
        if blob.cipher is not None:
            encryptor = blob.cipher.encryptor(blob.cipher_context)
        cutter = PartCutter(part_size)
        for piece in encoded:
            if encryptor is not None and piece:
                piece = encryptor.update(piece)
            if piece:
                yield from cutter.feed(piece)
        if encryptor is not None:
            yield from cutter.feed(encryptor.finish())
        yield cutter.finish()
        if cutter.parted:
            yield sums_file(cutter.digests)

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
                files: MutableMapping[str, str]
                if isinstance(commit.files, BatchFiles):
                    files = commit.files.copy()  # shares the batch's columns
                else:
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
                    config = dataclasses.replace(config, part_size=self.part_size(settings))
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
                if addresses.drop_present(self._state.backend, head, files) and not files:
                    assert head is not None  # it holds what was dropped
                    return head  # another writer put the same contents meanwhile
                replaced: list[str] = []
                needed = required_version(files)
                if config is not None and config.version < needed:
                    if CONFIG_PATH not in files:  # another writer may have upgraded it
                        config = self._state.read_config(head) or config
                    upgraded = upgraded_to(config, needed, self.part_size(settings))
                    if upgraded is not config:
                        if CONFIG_PATH not in files:
                            replaced = [CONFIG_PATH]
                        config = upgraded
                        (files[CONFIG_PATH],) = self._state.backend.write_blobs([config.to_bytes()])
                new = self._state.backend.write_commit(head, files, commit.message, remove=replaced)
                if not self._state.move_branch(head, new, files, landed=landed):
                    return retry.AGAIN
                if settings.config is not None and config is not settings.config:
                    settings = dataclasses.replace(settings, config=config)
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


def too_large(limit: int, what: str) -> BlobTooLargeError:
    """The refusal of a blob ``what`` (its path, or its position) read past ``limit``."""
    return BlobTooLargeError(
        what,
        f"more than {limit} bytes, the most a read accepts, so nothing was added; to add "
        "it, raise the limit (max_blob_size= in bytes, or $GITBLOBTS_MAX_BLOB_SIZE)",
    )


def chunks(source: BinaryIO, limit: int, what: str) -> Iterator[bytes | bytearray]:
    """What a binary file object reads, :data:`CHUNK_SIZE` bytes at a time, to its end;
    :class:`BlobTypeError` if it reads anything but bytes, :class:`BlobTooLargeError`
    naming ``what`` once more than ``limit`` bytes came."""
    read = 0
    while True:
        chunk = source.read(CHUNK_SIZE)
        if not isinstance(chunk, (bytes, bytearray)):
            raise BlobTypeError(
                f"the file object read {type(chunk).__name__}, not bytes; open it in binary mode"
            )
        if not chunk:
            return
        read += len(chunk)
        if read > limit:
            raise too_large(limit, what)
        yield chunk


def read_file(source: BinaryIO, limit: int, position: int) -> bytes:
    """A binary file object's bytes, read whole (for a plugin's data stage, which observes
    whole bytes); :class:`BlobTooLargeError` once more than ``limit`` bytes came."""
    data = bytearray()
    for chunk in chunks(source, limit, f"blob {position}"):
        data += chunk
    return bytes(data)


def as_source(source: BlobSource) -> BytesLike | BinaryIO:
    """What :meth:`~gitblobts.Store.addblob` got, as ``addblobs`` takes a blob: bytes-like or
    a file object as it is, an iterable of bytes as a file object reading its pieces."""
    if isinstance(source, (bytes, bytearray, memoryview, str)) or is_file(source):
        return source  # type: ignore[return-value]  # a str too: check_bytes_like says what
    try:
        pieces = iter(source)
    except TypeError:
        return source  # type: ignore[return-value]  # check_bytes_like says what it is
    checked = (check_bytes_like(piece, position) for position, piece in enumerate(pieces))
    return open_stream(lambda: checked)


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
