"""Reading a blob as a stream: stored bytes → decryptor → decoder, in bounded memory.

:func:`decoded` turns a stored form given in pieces (a parted blob's checked parts) into
the blob's bytes in pieces; :class:`PartedBlob` is the :class:`~gitblobts.core.blob.Blob` a
query yields for a parted blob, which reads nothing until ``.blob`` or :meth:`open` asks.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator

from gitblobts.core.blob import Blob, BlobRef
from gitblobts.core.cipher import DecryptionFailed
from gitblobts.core.codec import DecodedTooLarge
from gitblobts.core.contexts import BlobContext
from gitblobts.core.errors import CorruptBlobError, GitBlobTSError
from gitblobts.core.pipeline import Pipeline, read_too_large

Stream = Callable[[], Iterator[bytes]]
"""Starts a new read of a blob's bytes, in pieces."""


def decoded(pipeline: Pipeline, blob: BlobContext, stored: Iterator[bytes]) -> Iterator[bytes]:
    """The blob whose stored form comes in the pieces ``stored``, in pieces: decrypted and
    decoded as they come when every read stage is core's, else joined and read whole
    through the pipeline (a plugin's read stage observes whole bytes). Errors as
    :meth:`Pipeline.read` raises them, naming ``blob.path``."""
    if not pipeline.reads_plain:
        yield pipeline.read(blob, b"".join(stored))
        return
    path = blob.path
    decryptor = None
    if blob.cipher is not None:
        decryptor = blob.cipher.decryptor(blob.cipher_context)
    decoder = blob.codec.decoder(max_size=blob.max_size)
    try:
        for piece in _pieces(stored):
            plain = decryptor.update(piece) if decryptor is not None else piece
            if plain:
                yield from decoder.update(plain)
        if decryptor is not None:
            plain = decryptor.finish()
            if plain:
                yield from decoder.update(plain)
        yield from decoder.finish()
    except DecryptionFailed as error:
        raise CorruptBlobError(
            path,
            f"cannot decrypt with {blob.cipher.name!r}: wrong key, or tampered, truncated "  # type: ignore[union-attr]
            f"or reordered parts ({error})",
        ) from None
    except DecodedTooLarge as error:
        raise read_too_large(path, error) from None
    except GitBlobTSError:
        raise
    except ValueError as error:
        raise CorruptBlobError(
            path, f"cannot decompress with codec {blob.codec.name!r}: {error!r}"
        ) from None


PIECE_SIZE = 1 << 20
"""Bytes of a stored part given to the decryptor or decoder at a time, so that what they
return for it is at most about this much, not a part's worth."""


def _pieces(stored: Iterator[bytes]) -> Iterator[bytes]:
    """The parts of ``stored`` in pieces of at most :data:`PIECE_SIZE` bytes; each part is
    let go before the next is read."""
    for part in stored:
        with memoryview(part) as view:
            for start in range(0, len(view), PIECE_SIZE):
                yield bytes(view[start : start + PIECE_SIZE])
        del part  # before the next is read


class _StreamReader(io.RawIOBase):
    """A readable raw file object over pieces of bytes."""

    def __init__(self, pieces: Iterator[bytes]) -> None:
        self._pieces = pieces
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._pending:
            piece = next(self._pieces, None)
            if piece is None:
                return 0
            self._pending = memoryview(piece)
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


def open_stream(stream: Stream) -> io.BufferedReader:
    """A binary file object reading the pieces of a new ``stream()``."""
    return io.BufferedReader(_StreamReader(stream()), buffer_size=1 << 16)


_get_blob = vars(Blob)["blob"].__get__
_set_blob = vars(Blob)["blob"].__set__


class PartedBlob(Blob):
    """A parted blob a query found: ``.blob`` reads it when first asked (all its parts
    checked, or nothing), then keeps it; :meth:`open` streams it without keeping it."""

    __slots__ = ("_stream",)
    _stream: Stream

    def __init__(
        self, timestamp_ns: int, path: str, stream: Stream, *, address: str | None = None
    ) -> None:
        BlobRef.__init__(self, timestamp_ns, path, address=address)
        object.__setattr__(self, "_stream", stream)

    @property
    def blob(self) -> bytes:
        """The blob's bytes, read when first asked."""
        try:
            return _get_blob(self)  # type: ignore[no-any-return]
        except AttributeError:
            data = b"".join(self._stream())
            _set_blob(self, data)
            return data

    def _loaded(self) -> bool:
        try:
            _get_blob(self)
        except AttributeError:
            return False
        return True

    def open(self) -> io.BufferedIOBase:
        """The blob's bytes as a binary file object, streamed from its parts: bytes of
        earlier parts may be read before a later part proves damaged, and then the read
        raises :class:`~gitblobts.CorruptBlobError` (it never ends early)."""
        if self._loaded():
            return io.BytesIO(self.blob)
        return open_stream(self._stream)

    def __repr__(self) -> str:
        size = len(self.blob) if self._loaded() else "unread"
        return f"Blob(timestamp={self.iso!r}, size={size}, path={self.path!r}, parted)"
