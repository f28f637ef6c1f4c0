"""Content-addressed blobs: putting a blob under the hash of its contents, and getting it
back by that address, its hash checked (the names: :mod:`gitblobts.core.addresses`).

A put hashes first, since the hash decides the path: bytes directly, a seekable file object
by reading it through and seeking back, anything else (a stream, an iterable of bytes)
spooled to a temporary file as it is hashed. Contents the branch holds already are not
written again and make no commit; new contents go through the add's pipeline and commit
(:class:`~gitblobts.core.adding.Adding`), parts included.
"""

from __future__ import annotations

import functools
import hashlib
import tempfile
from collections.abc import Callable, Iterator
from typing import BinaryIO

from gitblobts.core import addresses
from gitblobts.core.adding import (
    Adding,
    BlobSource,
    as_source,
    check_bytes_like,
    chunks,
)
from gitblobts.core.blob import Blob
from gitblobts.core.blobstream import PartedBlob
from gitblobts.core.errors import (
    ArgumentError,
    BlobNotFoundError,
    ConfigError,
    CorruptBlobError,
    KeyRequiredError,
)
from gitblobts.core.naming import BlobName
from gitblobts.core.pipeline import BlobContext
from gitblobts.core.reading import Reading
from gitblobts.core.settings import Settings
from gitblobts.core.state import StoreState


class Content:
    """Putting and getting content-addressed blobs."""

    def __init__(self, state: StoreState, adding: Adding, reading: Reading) -> None:
        self._state = state
        self._adding = adding
        self._reading = reading

    def put(self, source: BlobSource, push: bool | None) -> str:
        """Carries out :meth:`gitblobts.Store.putblob`."""
        settings = self._state.settings
        if settings.write_refusal is not None:
            raise settings.write_refusal
        if not settings.names.records_config:
            raise ConfigError(
                f"{self._state.path}: a store of {settings.names.title} holds no "
                "content-addressed blobs; migrate() it to the current format first"
            )
        blob, digest, spooled = self._hashed(as_source(source))
        try:
            address = addresses.format_address(digest)
            secret = _secret(settings)
            with self._state.repository_errors("read"), self._state.lock:
                head = self._state.backend.resolve(self._state.branch)
                ids = addresses.file_ids(digest, secret)
                if addresses.find(self._state.backend, head, ids) is not None:
                    return address  # stored already: nothing to write, nothing to commit
            new_id = addresses.file_id(digest, secret if settings.cipher is not None else None)
            self._adding.add(
                iter([(blob, None)]),
                push,
                new_context=functools.partial(_new_context, new_id),
                message=_message,
                settings=settings,
            )
            return address
        finally:
            if spooled is not None:
                spooled.close()

    def _hashed(self, source: object) -> tuple[object, bytes, BinaryIO | None]:
        """The blob to store, its SHA-256 digest, and the temporary file it was spooled to
        (to close once stored), if it was."""
        if not callable(getattr(source, "read", None)):
            data = check_bytes_like(source, 0)
            return data, hashlib.sha256(data).digest(), None
        file: BinaryIO = source  # type: ignore[assignment]
        if _seekable(file):
            start = file.tell()
            digest = self._hash(file, None)
            file.seek(start)
            return file, digest, None
        spooled: BinaryIO = tempfile.TemporaryFile()  # noqa: SIM115 - closed by put()
        try:
            digest = self._hash(file, spooled)
            spooled.seek(0)
        except BaseException:
            spooled.close()
            raise
        return spooled, digest, spooled

    def _hash(self, file: BinaryIO, copy: BinaryIO | None) -> bytes:
        """The SHA-256 digest of what ``file`` reads to its end, copied to ``copy`` if
        given; :class:`~gitblobts.BlobTooLargeError` past ``max_blob_size``."""
        digest = hashlib.sha256()
        for chunk in chunks(file, self._state.max_blob_size, "blob 0"):
            digest.update(chunk)
            if copy is not None:
                copy.write(chunk)
        return digest.digest()

    def get(self, address: str, at: object, pull: Callable[[], object] | None) -> Blob:
        """Carries out :meth:`gitblobts.Store.getblob` of an address."""
        digest = addresses.parse_address(address)
        if at is not None:
            raise ArgumentError(f"{address} names one blob; at= is for keys' versions")
        if pull is not None:
            pull()
        settings = self._state.settings
        recorded = settings.config.cipher if settings.config is not None else None
        if settings.raw_key is None and recorded is not None:
            raise KeyRequiredError(
                f"{self._state.path}: the store encrypts its blobs with {recorded!r}; finding "
                f"{address} needs its key",
                remedy="pass the store's key",
            )
        backend = self._state.backend
        with self._state.repository_errors("read"):
            with self._state.lock:
                head = backend.resolve(self._state.branch)
            ids = addresses.file_ids(digest, _secret(settings))
            entry = addresses.find(backend, head, ids)
            if entry is None or head is None:
                raise BlobNotFoundError(
                    f"{self._state.path}: no blob on {self._state.branch} has address {address}"
                )
            name = addresses.parse_name(entry.name)
            assert name is not None  # found by its name
            path = f"{addresses.folder(name.file_id)}/{entry.name}"
            context = self._reading.read_context(settings, name, path)
            if entry.is_folder:
                stream = functools.partial(self._reading.stream, head, context)
                checked = functools.partial(_checked, stream, digest, address, path)
                return PartedBlob(0, path, checked, address=address)
            if not entry.is_file:
                raise CorruptBlobError(path, f"{entry.kind}, not a regular file")
            (data,) = backend.read_blobs([entry.oid])
            try:
                blob = self._state.pipeline.read(context, data)
            except CorruptBlobError as error:  # say which blob, not only which file
                raise type(error)(path, f"{address}: {error.reason}") from None
            if hashlib.sha256(blob).digest() != digest:
                raise _mismatch(path, address)
            return Blob(0, path, blob, address=address)

    def verify_file(self, settings: Settings, name: BlobName, path: str, data: bytes) -> None:
        """Check a content file as :meth:`get` reads it, and that its contents are those
        its file id names; raise :class:`CorruptBlobError` naming ``path`` if not."""
        assert isinstance(name, addresses.ContentName)
        context = self._reading.read_context(settings, name, path)
        blob = self._state.pipeline.read(context, data)
        self._check_id(settings, name.file_id, path, hashlib.sha256(blob).digest())

    def verify_parted(self, settings: Settings, head: str, name: BlobName, path: str) -> None:
        """:meth:`verify_file` of a parted content file, streaming."""
        assert isinstance(name, addresses.ContentName)
        hashed = hashlib.sha256()
        for piece in self._reading.stream(head, self._reading.read_context(settings, name, path)):
            hashed.update(piece)
        self._check_id(settings, name.file_id, path, hashed.digest())

    def _check_id(self, settings: Settings, content_id: str, path: str, digest: bytes) -> None:
        if content_id.startswith("hmac256-"):
            secret = _secret(settings)
            if secret is None:
                raise KeyRequiredError(f"{path}: its name is keyed", remedy="pass the store's key")
            expected = addresses.file_id(digest, secret)
        else:
            expected = addresses.format_address(digest)
        if expected != content_id:
            raise CorruptBlobError(
                path,
                f"its contents do not match their file id {content_id} (they are "
                f"{addresses.format_address(digest)}): damaged or tampered with",
            )


def _secret(settings: Settings) -> bytes | None:
    """The subkey of keyed file ids, if the store was opened with a key."""
    return None if settings.raw_key is None else addresses.secret(settings.raw_key)


def _new_context(content_id: str, settings: Settings, _: object) -> BlobContext:
    """The context of new contents of file id ``content_id``, with the settings' codec and
    cipher, placed by :data:`~gitblobts.core.addresses.CONTENT_PLACES`."""
    codec, cipher = settings.codec, settings.cipher
    suffixes = tuple(s for s in (codec.extension, cipher and cipher.name) if s)
    name = addresses.content_name(content_id, suffixes)
    return BlobContext(name, codec, cipher, addresses.CONTENT_PLACES)


def _message(count: int) -> str:
    """The message of a commit of ``count`` (one) content-addressed blobs."""
    return f"gitblobts: put {count} blob{'' if count == 1 else 's'}\n"


def _seekable(file: BinaryIO) -> bool:
    try:
        return bool(file.seekable())
    except (AttributeError, OSError, ValueError):
        return False


def _checked(
    stream: Callable[[], Iterator[bytes]], digest: bytes, address: str, path: str
) -> Iterator[bytes]:
    """The pieces of a new ``stream()``, hashed as they come; the end raises
    :class:`CorruptBlobError` if they are not the contents of ``digest``."""
    hashed = hashlib.sha256()
    try:
        for piece in stream():
            hashed.update(piece)
            yield piece
    except CorruptBlobError as error:  # say which blob, not only which file
        raise type(error)(path, f"{address}: {error.reason}") from None
    if hashed.digest() != digest:
        raise _mismatch(path, address)


def _mismatch(path: str, address: str) -> CorruptBlobError:
    return CorruptBlobError(
        path, f"its contents do not match their address {address}: damaged or tampered with"
    )
