"""The codec contract: how a blob's bytes are compressed into a stored file and back.

A codec is a class with

- ``name``: the identifier users pass (``compression='zstd'``) and the store configuration
  records;
- ``extension``: the suffix its files carry (``zst``), the one its standard command-line tool
  expects, or ``""`` when the stored bytes are the blob itself. The extension is written into
  every file name, so a reader finds the codec from the file alone;
- ``encode(data) -> bytes`` and ``decode(data, max_size=...) -> bytes``, with
  ``decode(encode(x)) == x`` for all bytes ``x``;
- optionally ``encode_pieces(data)``, the encoding in pieces, which core uses for large blobs
  so that their compressed form is never held whole beside their encrypted form;
- optionally ``encoder()`` and ``decoder(max_size=...)``: incremental encoding and decoding
  (:class:`Encoder`, :class:`Decoder`), which core uses to stream blobs of any size in
  bounded memory. The defaults buffer the whole blob and call ``encode``/``decode`` once,
  so a codec without them still works, holding each blob whole.

Compatibility rule: a name and an extension mean one byte format forever. Two codecs may share
neither. ``decode`` must refuse to produce more than ``max_size`` bytes by raising
:class:`~gitblobts.core.errors.BlobTooLargeError`-compatible ``ValueError`` (see
:class:`DecodedTooLarge`), and must raise ``ValueError`` for input it cannot decode; core names
the file in the error it raises. Any other exception is a bug in the codec: core raises a
:class:`~gitblobts.core.errors.PluginError` naming the codec's class.

Concatenated frames: ``decode`` must accept what ``encode`` returns and what the pieces of
``encode_pieces`` make joined, nothing more. A codec whose ``encode_pieces`` yields several
frames (or members, or streams) must therefore decode frames one after another; core never
joins the outputs of separate ``encode`` calls into one file. (The built-in codecs accept
concatenations wherever their command-line tool does.)
"""

from __future__ import annotations

import abc
from collections.abc import Iterator
from typing import ClassVar, Protocol


class DecodedTooLarge(ValueError):
    """Raised by :meth:`Codec.decode` when the output would exceed ``max_size``."""


class Encoder(Protocol):
    """One blob's incremental encoding: ``b"".join([update(a), update(b), finish()])`` is a
    valid encoding of ``a + b`` (``decode`` returns ``a + b``)."""

    def update(self, data: bytes) -> bytes:
        """Encode ``data``, the blob's next bytes; return what is ready (maybe nothing)."""

    def finish(self) -> bytes:
        """Return the rest of the encoding; the encoder is not used again."""


class Decoder(Protocol):
    """One stored file's incremental decoding, in bounded memory: each call yields the
    decoded bytes in pieces of a bounded size (the codec's choice, at most a few MiB), so
    that a small input that decodes to a huge output is never held whole."""

    def update(self, data: bytes) -> Iterator[bytes]:
        """Decode ``data``, the file's next bytes. Raise ``ValueError`` for input that
        cannot be decoded, :class:`DecodedTooLarge` once the output passes ``max_size``."""

    def finish(self) -> Iterator[bytes]:
        """Yield the rest; raise ``ValueError`` if the file ended early (a truncated frame)
        or went on after its end."""


class Codec(abc.ABC):
    """Compression codec; see the module docstring for the contract."""

    name: ClassVar[str]
    extension: ClassVar[str]

    @abc.abstractmethod
    def encode(self, data: bytes) -> bytes:
        """Return ``data`` compressed."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"

    def __str__(self) -> str:
        """The codec's name, as users give and see it (``zstd``)."""
        return self.name

    def encode_pieces(self, data: bytes) -> Iterator[bytes]:
        """``encode(data)``, in pieces. A codec that can compress incrementally overrides
        this, so that a large blob's compressed form is never held whole next to its
        encrypted form. The default yields one piece."""
        yield self.encode(data)

    @abc.abstractmethod
    def decode(self, data: bytes, *, max_size: int) -> bytes:
        """Return ``data`` decompressed; raise ``ValueError`` if it is not valid, and
        :class:`DecodedTooLarge` if it would exceed ``max_size`` bytes."""

    def encoder(self) -> Encoder:
        """A new :class:`Encoder`. The default buffers the blob and encodes it at ``finish``;
        a codec that can compress incrementally overrides this."""
        return _BufferingEncoder(self)

    def decoder(self, *, max_size: int) -> Decoder:
        """A new :class:`Decoder` refusing more than ``max_size`` bytes of output. The
        default buffers the file and decodes it at ``finish``; a codec that can decompress
        incrementally overrides this."""
        return _BufferingDecoder(self, max_size)


class _BufferingEncoder:
    """:meth:`Codec.encoder` for a codec that only encodes whole blobs."""

    def __init__(self, codec: Codec) -> None:
        self._codec = codec
        self._buffer = bytearray()

    def update(self, data: bytes) -> bytes:
        self._buffer += data
        return b""

    def finish(self) -> bytes:
        data, self._buffer = bytes(self._buffer), bytearray()
        return self._codec.encode(data)


class _BufferingDecoder:
    """:meth:`Codec.decoder` for a codec that only decodes whole files."""

    def __init__(self, codec: Codec, max_size: int) -> None:
        self._codec = codec
        self._max_size = max_size
        self._buffer = bytearray()

    def update(self, data: bytes) -> Iterator[bytes]:
        self._buffer += data
        return iter(())

    def finish(self) -> Iterator[bytes]:
        data, self._buffer = bytes(self._buffer), bytearray()
        yield self._codec.decode(data, max_size=self._max_size)
