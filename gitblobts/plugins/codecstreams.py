"""The built-in codecs' incremental encoders and decoders (:mod:`gitblobts.plugins.codecs`
registers the codecs): each encoder writes the format its codec's ``decode`` and command-line
tool read, each decoder reads exactly what ``decode`` reads, as it arrives, yielding pieces of
at most :data:`DECODED_PIECE` bytes however small the input that produced them, and never more
than ``max_size`` bytes in all.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Iterator
from typing import Protocol

import zstandard

from gitblobts.core.codec import DecodedTooLarge, Encoder

INPUT_CHUNK = 1 << 20
"""Most compressed bytes handed to a decompressor at once."""
DECODED_PIECE = 1 << 20
"""Most bytes a decoder yields at once."""
ENCODED_INPUT = 1 << 20
"""Most bytes ``encode_pieces`` hands an encoder at once."""

ZSTD_MAGIC = 0xFD2FB528
ZSTD_SKIPPABLE_MAGIC = 0x184D2A50
"""Skippable frames have magic numbers ``0x184D2A50`` to ``0x184D2A5F``."""
ZSTD_WINDOW_FLOOR = 1 << 23
"""Window every ``zstd`` level from 1 to 19 fits in; larger windows (``--long``,
``--ultra``) are accepted up to ``max_size``, and at most to :data:`ZSTD_WINDOW_CEILING`."""
ZSTD_WINDOW_CEILING = 1 << 27
"""The largest window ``zstd -d`` accepts without ``--memory``."""
ZSTD_RAW, ZSTD_RLE, ZSTD_COMPRESSED = 0, 1, 2
PIECE = 1 << 20
"""Input fed to an incremental compressor at a time."""


class Decompressor(Protocol):
    """One compressed stream's decoder, as :class:`bz2.BZ2Decompressor` and
    :class:`lzma.LZMADecompressor` are: bounded output, and input it keeps until asked."""

    @property
    def eof(self) -> bool: ...

    @property
    def needs_input(self) -> bool: ...

    @property
    def unused_data(self) -> bytes: ...

    def decompress(self, data: bytes | memoryview, max_length: int, /) -> bytes: ...


class GzipMember:
    """One gzip member, decoded by zlib behind the interface of :class:`Decompressor`."""

    def __init__(self) -> None:
        self._inflate = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        self.needs_input = True

    @property
    def eof(self) -> bool:
        return self._inflate.eof

    @property
    def unused_data(self) -> bytes:
        return self._inflate.unused_data

    def decompress(self, data: bytes | memoryview, max_length: int, /) -> bytes:
        piece = self._inflate.decompress(data or self._inflate.unconsumed_tail, max_length)
        self.needs_input = not self._inflate.unconsumed_tail and len(piece) < max_length
        return piece


class Budget:
    """A decoder's output so far, which refuses to pass ``max_size`` bytes."""

    def __init__(self, max_size: int) -> None:
        self._max_size = max_size
        self._size = 0

    @property
    def request(self) -> int:
        """How many bytes to ask of a decompressor: a piece, or enough to see whether it
        overflows."""
        return min(self._max_size - self._size + 1, DECODED_PIECE)

    def expect(self, size: int) -> None:
        """Raise :class:`DecodedTooLarge` if ``size`` more bytes would not fit."""
        if size > self._max_size - self._size:
            raise DecodedTooLarge(f"decompresses to more than {self._max_size} bytes")

    def take(self, piece: bytes) -> bytes:
        """``piece``, counted; raise :class:`DecodedTooLarge` if it does not fit."""
        self.expect(len(piece))
        self._size += len(piece)
        return piece


def encode_in_pieces(encoder: Encoder, data: bytes) -> Iterator[bytes]:
    """``encode_pieces`` through ``encoder``: ``data`` fed a slice at a time."""
    view = memoryview(data)
    for start in range(0, len(view), ENCODED_INPUT):
        piece = encoder.update(bytes(view[start : start + ENCODED_INPUT]))
        if piece:
            yield piece
    yield encoder.finish()


class StreamsDecoder:
    """A decoder of streams back to back, each decoded by a new ``new_stream()`` (a gzip
    member, a bz2 or xz stream): what :func:`_decode_streams` reads, as it arrives.
    ``padding``: zero bytes in multiples of four may follow a stream (xz)."""

    def __init__(
        self,
        new_stream: Callable[[], Decompressor],
        max_size: int,
        errors: tuple[type[Exception], ...],
        label: str,
        *,
        padding: bool = False,
    ) -> None:
        self._new_stream = new_stream
        self._budget = Budget(max_size)
        self._errors = errors
        self._label = label
        self._padding = padding
        self._pending = bytearray()
        """Input not yet handed to a stream."""
        self._stream: Decompressor | None = None
        self._streams = 0
        self._zeros = 0
        """Padding bytes seen since the last stream ended."""

    def update(self, data: bytes) -> Iterator[bytes]:
        self._pending += data
        return self._run(final=False)

    def finish(self) -> Iterator[bytes]:
        return self._run(final=True)

    def _run(self, *, final: bool) -> Iterator[bytes]:
        try:
            yield from self._decode()
        except self._errors as error:
            raise ValueError(f"not valid {self._label} data: {error}") from None
        if not final:
            return
        if self._stream is not None:
            raise ValueError("truncated: the data ends inside a stream")
        if not self._streams:
            raise ValueError("empty input: a compressed file holds at least one stream")
        if self._zeros % 4:
            raise ValueError("xz stream padding is not a multiple of four bytes")

    def _decode(self) -> Iterator[bytes]:
        pending = self._pending
        while True:
            stream = self._stream
            if stream is None:
                if self._padding and self._streams:
                    zeros = len(pending) - len(pending.lstrip(b"\0"))
                    del pending[:zeros]
                    self._zeros += zeros
                    if pending and self._zeros % 4:
                        raise ValueError("xz stream padding is not a multiple of four bytes")
                if not pending:
                    return
                self._zeros = 0
                stream = self._stream = self._new_stream()
                self._streams += 1
            if stream.needs_input:
                if not pending:
                    return
                chunk = bytes(pending[:INPUT_CHUNK])
                del pending[:INPUT_CHUNK]
            else:
                chunk = b""
            piece = self._budget.take(stream.decompress(chunk, self._budget.request))
            if piece:
                yield piece
            if stream.eof:
                pending[:0] = stream.unused_data
                self._stream = None


class Unchanged:
    """The none codec's encoder: the blob itself."""

    def update(self, data: bytes) -> bytes:
        return data if type(data) is bytes else bytes(data)

    def finish(self) -> bytes:
        return b""


class UnchangedDecoder:
    """The none codec's decoder: the file itself, in pieces, up to ``max_size`` bytes."""

    def __init__(self, max_size: int) -> None:
        self._budget = Budget(max_size)

    def update(self, data: bytes) -> Iterator[bytes]:
        view = memoryview(data)
        self._budget.expect(len(view))
        for start in range(0, len(view), DECODED_PIECE):
            yield self._budget.take(bytes(view[start : start + DECODED_PIECE]))

    def finish(self) -> Iterator[bytes]:
        return iter(())


GZIP_HEADER = bytes((0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 255))
"""A gzip member header with no name, no time and an unknown OS, so that the same blob always
compresses to the same bytes (CPython's own header differs between versions)."""


class GzipEncoder:
    """One gzip member, as ``GzipCodec.encode`` writes it, made as the blob comes."""

    def __init__(self) -> None:
        self._deflate = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
        self._header = GZIP_HEADER
        self._crc = 0
        self._size = 0

    def update(self, data: bytes) -> bytes:
        self._crc = zlib.crc32(data, self._crc)
        self._size += len(data)
        body = self._deflate.compress(data)
        if self._header:
            body, self._header = self._header + body, b""
        return body

    def finish(self) -> bytes:
        trailer = struct.pack("<II", self._crc, self._size & 0xFFFFFFFF)
        return b"".join((self._header, self._deflate.flush(), trailer))


class Compressing(Protocol):
    """An incremental compressor, as :class:`bz2.BZ2Compressor` and
    :class:`lzma.LZMACompressor` are."""

    def compress(self, data: bytes, /) -> bytes: ...

    def flush(self) -> bytes: ...


class Compressor:
    """An :class:`~gitblobts.core.codec.Encoder` around one incremental compressor."""

    def __init__(self, compressor: Compressing) -> None:
        self._compressor = compressor

    def update(self, data: bytes) -> bytes:
        return self._compressor.compress(data)

    def finish(self) -> bytes:
        return self._compressor.flush()


class ZstdEncoder:
    """One frame with a checksum, made as the blob comes. A blob that ends within its first
    :data:`PIECE` bytes is encoded as ``ZstdCodec.encode`` does (its content size in the
    header, which lets ``decode`` take its one-call path); a larger one's frame does not
    declare its size."""

    def __init__(self, encode: Callable[[bytes], bytes]) -> None:
        self._encode = encode
        self._held: bytearray | None = bytearray()
        self._stream: zstandard.ZstdCompressionObj | None = None

    def update(self, data: bytes) -> bytes:
        if self._held is not None:
            self._held += data
            if len(self._held) <= PIECE:
                return b""
            data, self._held = bytes(self._held), None
            compressor = zstandard.ZstdCompressor(level=3, write_checksum=True)
            self._stream = compressor.compressobj()
        assert self._stream is not None
        return self._stream.compress(data)

    def finish(self) -> bytes:
        if self._held is not None:
            return self._encode(bytes(self._held))
        assert self._stream is not None
        return self._stream.flush()


_ZSTD_FRAME_HEADER_MIN = 5
"""Bytes of a frame from which its header's size can be told (magic and descriptor)."""


class ZstdDecoder:
    """Frames and skippable frames back to back, as :meth:`ZstdCodec.decode` reads them,
    decoded as they arrive. Like ``decode`` it walks the block headers itself: each call to
    libzstd gets the bytes of one block at most, so produces at most one block's output
    (128 KiB), and a frame declaring more content than fits is refused before any of it
    is decoded."""

    def __init__(self, max_size: int) -> None:
        window = min(max(max_size, ZSTD_WINDOW_FLOOR), ZSTD_WINDOW_CEILING)
        self._decompressor = zstandard.ZstdDecompressor(max_window_size=window)
        self._budget = Budget(max_size)
        self._pending = bytearray()
        self._position = 0
        """Where in the file :attr:`_pending` starts."""
        self._frames = 0
        self._frame: zstandard.ZstdDecompressionObj | None = None
        self._skipping = False
        self._remaining = 0
        """Bytes left of the block, checksum or skippable frame being read."""
        self._last = False
        self._checksum = False

    def update(self, data: bytes) -> Iterator[bytes]:
        self._pending += data
        return self._run(final=False)

    def finish(self) -> Iterator[bytes]:
        return self._run(final=True)

    def _run(self, *, final: bool) -> Iterator[bytes]:
        try:
            yield from self._decode()
        except zstandard.ZstdError as error:
            raise ValueError(f"not valid zstd data: {error}") from None
        if not final:
            return
        if self._frame is not None or self._skipping or self._pending:
            raise ValueError("truncated: the data ends inside a zstd frame")
        if not self._frames:
            raise ValueError("empty input: a zstd file holds at least one frame")

    def _take(self, size: int) -> bytes:
        taken = bytes(self._pending[:size])
        del self._pending[:size]
        self._position += size
        return taken

    def _decode(self) -> Iterator[bytes]:
        pending = self._pending
        while True:
            if self._skipping:
                skipped = min(self._remaining, len(pending))
                self._take(skipped)
                self._remaining -= skipped
                if self._remaining:
                    return
                self._skipping = False
            frame = self._frame
            if frame is None:
                if not self._start_frame():
                    return
                continue
            if self._remaining:
                if not pending:
                    return
                fed = self._take(min(self._remaining, len(pending)))
                self._remaining -= len(fed)
                piece = self._budget.take(frame.decompress(fed))
                if piece:
                    yield piece
                if self._remaining:
                    return
            if self._last:
                if self._checksum:
                    self._checksum, self._remaining = False, 4
                    continue
                if not frame.eof or frame.unused_data:
                    raise ValueError(f"malformed zstd frame before byte {self._position}")
                self._frame = None
                continue
            if len(pending) < 3:
                return
            header = int.from_bytes(pending[:3], "little")
            self._last, kind, size = bool(header & 1), (header >> 1) & 3, header >> 3
            if kind > ZSTD_COMPRESSED:
                raise ValueError(f"reserved zstd block type at byte {self._position}")
            if size > zstandard.BLOCKSIZE_MAX:
                raise ValueError(f"zstd block larger than 128 KiB at byte {self._position}")
            piece = self._budget.take(frame.decompress(self._take(3)))
            if piece:
                yield piece
            self._remaining = 1 if kind == ZSTD_RLE else size

    def _start_frame(self) -> bool:
        """Read the next frame's header, or a skippable frame's; ``False`` if more input is
        needed first."""
        pending = self._pending
        if len(pending) < 4:
            return False
        magic = int.from_bytes(pending[:4], "little")
        if magic & 0xFFFFFFF0 == ZSTD_SKIPPABLE_MAGIC:
            if len(pending) < 8:
                return False
            self._remaining = int.from_bytes(pending[4:8], "little")
            self._take(8)
            self._skipping = True
            self._frames += 1
            return True
        if magic != ZSTD_MAGIC:
            raise ValueError(f"no zstd frame at byte {self._position}")
        if len(pending) < _ZSTD_FRAME_HEADER_MIN:
            return False
        size = zstandard.frame_header_size(bytes(pending[:_ZSTD_FRAME_HEADER_MIN]))
        if len(pending) < size:
            return False
        header = self._take(size)
        self._budget.expect(zstandard.frame_content_size(header))  # -1: not declared
        self._checksum = zstandard.get_frame_parameters(header).has_checksum
        self._frame = self._decompressor.decompressobj()
        self._frame.decompress(header)
        self._last = False
        self._remaining = 0
        self._frames += 1
        return True
