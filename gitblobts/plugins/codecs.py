"""The built-in codecs: none, gzip, bz2, lzma (xz) and zstd.

Each compressed format is the one its standard command-line tool reads (``gzip -d``,
``bzip2 -d``, ``xz -d``, ``zstd -d``), and each decoder accepts what that tool accepts: several
gzip members, bz2 or xz streams, or zstd frames one after another. Anything else, trailing
bytes included, is refused with ``ValueError``.

Decoding streams, so that a small file claiming to hold a huge blob (a "zip bomb") is refused
with :class:`~gitblobts.core.codec.DecodedTooLarge` after producing at most ``max_size`` bytes
and a bounded overshoot, never after allocating what it claims.

Each codec also encodes and decodes incrementally (:meth:`~Codec.encoder`,
:meth:`~Codec.decoder`), in memory bounded whatever the blob's size: an encoder writes the same
format (one gzip member, bz2 or xz stream, or zstd frame, which ``decode`` and the command-line
tool read; not always byte for byte what ``encode`` writes), and a decoder accepts exactly what
``decode`` accepts, yielding pieces of at most :data:`_DECODED_PIECE` bytes however small the
input that produced them.
"""

from __future__ import annotations

import bz2
import lzma
import re
import struct
import threading
import zlib
from collections.abc import Callable, Iterator
from typing import Protocol

import zstandard

from gitblobts.core.codec import Codec, DecodedTooLarge, Decoder, Encoder
from gitblobts.core.hookspecs import hookimpl

_INPUT_CHUNK = 1 << 20
"""Most compressed bytes handed to a decompressor at once."""
_OUTPUT_CHUNK = 1 << 24
"""Most decompressed bytes asked of a decompressor at once."""
_DECODED_PIECE = 1 << 20
"""Most bytes a decoder yields at once."""
_ENCODED_INPUT = 1 << 20
"""Most bytes ``encode_pieces`` hands an encoder at once."""


class _Output:
    """Decompressed pieces that refuse to grow past ``max_size`` bytes."""

    def __init__(self, max_size: int) -> None:
        self._max_size = max_size
        self._size = 0
        self._pieces: list[bytes] = []

    @property
    def room(self) -> int:
        """How many more bytes fit."""
        return self._max_size - self._size

    @property
    def request(self) -> int:
        """How many bytes to ask of a decompressor: enough to see whether it overflows."""
        return min(self.room + 1, _OUTPUT_CHUNK)

    def add(self, piece: bytes) -> None:
        """Append ``piece``; raise :class:`DecodedTooLarge` if it does not fit."""
        self.expect(len(piece))
        self._size += len(piece)
        if piece:
            self._pieces.append(piece)

    def expect(self, size: int) -> None:
        """Raise :class:`DecodedTooLarge` if ``size`` more bytes would not fit."""
        if size > self.room:
            raise DecodedTooLarge(f"decompresses to more than {self._max_size} bytes")

    def value(self) -> bytes:
        return b"".join(self._pieces)


class _Decompressor(Protocol):
    """One compressed stream's decoder, as :class:`bz2.BZ2Decompressor` and
    :class:`lzma.LZMADecompressor` are: bounded output, and input it keeps until asked."""

    @property
    def eof(self) -> bool: ...

    @property
    def needs_input(self) -> bool: ...

    @property
    def unused_data(self) -> bytes: ...

    def decompress(self, data: bytes | memoryview, max_length: int, /) -> bytes: ...


class _GzipMember:
    """One gzip member, decoded by zlib behind the interface of :class:`_Decompressor`."""

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


def _decode_streams(
    data: bytes,
    max_size: int,
    new_stream: Callable[[], _Decompressor],
    after_stream: Callable[[memoryview, int], int] = lambda _, position: position,
) -> bytes:
    """Decode the streams ``data`` holds back to back, each with a new decoder.

    ``after_stream`` gets the position after a stream and returns where the next one starts
    (to skip padding the format allows there).
    """
    view = memoryview(data)
    if not view:
        raise ValueError("empty input: a compressed file holds at least one stream")
    output = _Output(max_size)
    position = 0
    while position < len(view):
        stream = new_stream()
        while not stream.eof:
            chunk = view[position : position + _INPUT_CHUNK] if stream.needs_input else view[:0]
            position += len(chunk)
            piece = stream.decompress(chunk, output.request)
            output.add(piece)
            if not piece and not stream.eof and position == len(view):
                raise ValueError("truncated: the data ends inside a stream")
        position = after_stream(view, position - len(stream.unused_data))
    return output.value()


class _Budget:
    """A decoder's output so far, which refuses to pass ``max_size`` bytes."""

    def __init__(self, max_size: int) -> None:
        self._max_size = max_size
        self._size = 0

    @property
    def request(self) -> int:
        """How many bytes to ask of a decompressor: a piece, or enough to see whether it
        overflows."""
        return min(self._max_size - self._size + 1, _DECODED_PIECE)

    def expect(self, size: int) -> None:
        """Raise :class:`DecodedTooLarge` if ``size`` more bytes would not fit."""
        if size > self._max_size - self._size:
            raise DecodedTooLarge(f"decompresses to more than {self._max_size} bytes")

    def take(self, piece: bytes) -> bytes:
        """``piece``, counted; raise :class:`DecodedTooLarge` if it does not fit."""
        self.expect(len(piece))
        self._size += len(piece)
        return piece


def _encode_in_pieces(encoder: Encoder, data: bytes) -> Iterator[bytes]:
    """``encode_pieces`` through ``encoder``: ``data`` fed a slice at a time."""
    view = memoryview(data)
    for start in range(0, len(view), _ENCODED_INPUT):
        piece = encoder.update(view[start : start + _ENCODED_INPUT])  # type: ignore[arg-type]
        if piece:
            yield piece
    yield encoder.finish()


class _StreamsDecoder:
    """A decoder of streams back to back, each decoded by a new ``new_stream()`` (a gzip
    member, a bz2 or xz stream): what :func:`_decode_streams` reads, as it arrives.
    ``padding``: zero bytes in multiples of four may follow a stream (xz)."""

    def __init__(
        self,
        new_stream: Callable[[], _Decompressor],
        max_size: int,
        errors: tuple[type[Exception], ...],
        label: str,
        *,
        padding: bool = False,
    ) -> None:
        self._new_stream = new_stream
        self._budget = _Budget(max_size)
        self._errors = errors
        self._label = label
        self._padding = padding
        self._pending = bytearray()
        """Input not yet handed to a stream."""
        self._stream: _Decompressor | None = None
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
                chunk = bytes(pending[:_INPUT_CHUNK])
                del pending[:_INPUT_CHUNK]
            else:
                chunk = b""
            piece = self._budget.take(stream.decompress(chunk, self._budget.request))
            if piece:
                yield piece
            if stream.eof:
                pending[:0] = stream.unused_data
                self._stream = None


class NoneCodec(Codec):
    """No compression: the stored file is the blob itself."""

    name = "none"
    extension = ""

    def encode(self, data: bytes) -> bytes:
        return data if type(data) is bytes else bytes(data)

    def decode(self, data: bytes, *, max_size: int) -> bytes:
        if len(data) > max_size:
            raise DecodedTooLarge(f"is {len(data)} bytes, more than {max_size}")
        return data if type(data) is bytes else bytes(data)

    def encoder(self) -> Encoder:
        return _Unchanged()

    def decoder(self, *, max_size: int) -> Decoder:
        return _UnchangedDecoder(max_size)


class _Unchanged:
    """The none codec's encoder: the blob itself."""

    def update(self, data: bytes) -> bytes:
        return data if type(data) is bytes else bytes(data)

    def finish(self) -> bytes:
        return b""


class _UnchangedDecoder:
    """The none codec's decoder: the file itself, in pieces, up to ``max_size`` bytes."""

    def __init__(self, max_size: int) -> None:
        self._budget = _Budget(max_size)
        self._max_size = max_size

    def update(self, data: bytes) -> Iterator[bytes]:
        view = memoryview(data)
        self._budget.expect(len(view))
        for start in range(0, len(view), _DECODED_PIECE):
            yield self._budget.take(bytes(view[start : start + _DECODED_PIECE]))

    def finish(self) -> Iterator[bytes]:
        return iter(())


_GZIP_HEADER = bytes((0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 255))
"""A gzip member header with no name, no time and an unknown OS, so that the same blob always
compresses to the same bytes (CPython's own header differs between versions)."""


class GzipCodec(Codec):
    """gzip (RFC 1952) at level 6, as ``gzip`` writes by default, without name or time."""

    name = "gzip"
    extension = "gz"

    def encode(self, data: bytes) -> bytes:
        deflate = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
        body = deflate.compress(data)
        trailer = struct.pack("<II", zlib.crc32(data), len(data) & 0xFFFFFFFF)
        return b"".join((_GZIP_HEADER, body, deflate.flush(), trailer))

    def decode(self, data: bytes, *, max_size: int) -> bytes:
        try:
            return _decode_streams(data, max_size, _GzipMember)
        except zlib.error as error:
            raise ValueError(f"not valid gzip data: {error}") from None

    def encode_pieces(self, data: bytes) -> Iterator[bytes]:
        return _encode_in_pieces(self.encoder(), data)

    def encoder(self) -> Encoder:
        return _GzipEncoder()

    def decoder(self, *, max_size: int) -> Decoder:
        return _StreamsDecoder(_GzipMember, max_size, (zlib.error,), "gzip")


class _GzipEncoder:
    """One gzip member, as :meth:`GzipCodec.encode` writes it, made as the blob comes."""

    def __init__(self) -> None:
        self._deflate = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
        self._header = _GZIP_HEADER
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


class Bz2Codec(Codec):
    """bzip2 at level 9, as ``bzip2`` writes by default."""

    name = "bz2"
    extension = "bz2"

    def encode(self, data: bytes) -> bytes:
        return bz2.compress(data, 9)

    def decode(self, data: bytes, *, max_size: int) -> bytes:
        try:
            return _decode_streams(data, max_size, bz2.BZ2Decompressor)
        except (OSError, EOFError) as error:
            raise ValueError(f"not valid bzip2 data: {error}") from None

    def encode_pieces(self, data: bytes) -> Iterator[bytes]:
        return _encode_in_pieces(self.encoder(), data)

    def encoder(self) -> Encoder:
        return _Compressor(bz2.BZ2Compressor(9))

    def decoder(self, *, max_size: int) -> Decoder:
        return _StreamsDecoder(bz2.BZ2Decompressor, max_size, (OSError, EOFError), "bzip2")


class _Compressing(Protocol):
    """An incremental compressor, as :class:`bz2.BZ2Compressor` and
    :class:`lzma.LZMACompressor` are."""

    def compress(self, data: bytes, /) -> bytes: ...

    def flush(self) -> bytes: ...


class _Compressor:
    """An :class:`~gitblobts.core.codec.Encoder` around one incremental compressor."""

    def __init__(self, compressor: _Compressing) -> None:
        self._compressor = compressor

    def update(self, data: bytes) -> bytes:
        return self._compressor.compress(data)

    def finish(self) -> bytes:
        return self._compressor.flush()


_XZ_MEMORY = 1 << 27
"""Decoder memory every ``xz`` preset fits in (``-9e`` needs 65 MiB); more is allowed only up
to ``max_size``, so that a header cannot make the decoder reserve a huge dictionary."""
_XZ_MEMORY_CEILING = 1 << 31
"""Decoder memory the largest xz dictionary (1.5 GiB) fits in."""
_XZ_PADDING = re.compile(rb"\0*")


def _skip_xz_padding(view: memoryview, position: int) -> int:
    """The position after the stream padding (zero bytes, a multiple of four) at
    ``position``."""
    match = _XZ_PADDING.match(view, position)
    end = match.end() if match else position
    if (end - position) % 4:
        raise ValueError("xz stream padding is not a multiple of four bytes")
    return end


class LzmaCodec(Codec):
    """xz (LZMA2 in the ``.xz`` container, CRC64 check) at preset 6, as ``xz`` writes by
    default."""

    name = "lzma"
    extension = "xz"

    def encode(self, data: bytes) -> bytes:
        return lzma.compress(data, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64, preset=6)

    def decode(self, data: bytes, *, max_size: int) -> bytes:
        memory = min(max(max_size, _XZ_MEMORY), _XZ_MEMORY_CEILING)
        try:
            return _decode_streams(
                data,
                max_size,
                lambda: lzma.LZMADecompressor(lzma.FORMAT_XZ, memlimit=memory),
                _skip_xz_padding,
            )
        except (lzma.LZMAError, EOFError) as error:
            raise ValueError(f"not valid xz data: {error}") from None

    def encode_pieces(self, data: bytes) -> Iterator[bytes]:
        return _encode_in_pieces(self.encoder(), data)

    def encoder(self) -> Encoder:
        return _Compressor(
            lzma.LZMACompressor(format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64, preset=6)
        )

    def decoder(self, *, max_size: int) -> Decoder:
        memory = min(max(max_size, _XZ_MEMORY), _XZ_MEMORY_CEILING)
        return _StreamsDecoder(
            lambda: lzma.LZMADecompressor(lzma.FORMAT_XZ, memlimit=memory),
            max_size,
            (lzma.LZMAError, EOFError),
            "xz",
            padding=True,
        )


_ZSTD_MAGIC = 0xFD2FB528
_ZSTD_MAGIC_BYTES = _ZSTD_MAGIC.to_bytes(4, "little")
_ZSTD_SINGLE_SEGMENT = 0x20
"""The frame header descriptor's flag for a frame whose window is its content size."""
_ZSTD_SKIPPABLE_MAGIC = 0x184D2A50
"""Skippable frames have magic numbers ``0x184D2A50`` to ``0x184D2A5F``."""
_ZSTD_WINDOW_FLOOR = 1 << 23
"""Window every ``zstd`` level from 1 to 19 fits in; larger windows (``--long``,
``--ultra``) are accepted up to ``max_size``, and at most to :data:`_ZSTD_WINDOW_CEILING`."""
_ZSTD_WINDOW_CEILING = 1 << 27
"""The largest window ``zstd -d`` accepts without ``--memory``."""
_ZSTD_RAW, _ZSTD_RLE, _ZSTD_COMPRESSED = 0, 1, 2
_PIECE = 1 << 20
"""Input fed to an incremental compressor at a time."""


class ZstdCodec(Codec):
    """Zstandard (RFC 8878) at level 3, as ``zstd`` writes by default, with the content size
    and a checksum in the frame header.

    Decoding walks the frames' block headers itself, because zstd cannot be asked for a
    bounded amount of output and then tell whether a frame ended: it feeds whole blocks,
    only as many as can decode to the room left (a compressed block decodes to at most
    128 KiB), and so overshoots ``max_size`` by at most one block. A frame whose header
    declares more content than fits is refused before any of it is decoded.

    What this codec writes, one frame declaring its content size, is decoded in one call
    instead, when that size fits ``max_size``: the output buffer is exactly the declared
    size, and libzstd refuses a frame whose content differs from it.
    """

    name = "zstd"
    extension = "zst"

    def __init__(self) -> None:
        self._local = threading.local()

    def encode(self, data: bytes) -> bytes:
        # A compressor is costly to make and cannot be shared between threads: one a thread.
        compressor = getattr(self._local, "compressor", None)
        if compressor is None:
            compressor = self._local.compressor = zstandard.ZstdCompressor(
                level=3, write_content_size=True, write_checksum=True
            )
        return compressor.compress(data)

    def encode_pieces(self, data: bytes) -> Iterator[bytes]:
        # One frame, as encode writes (content size and checksum), fed a piece at a time.
        compressor = zstandard.ZstdCompressor(level=3, write_content_size=True, write_checksum=True)
        stream = compressor.compressobj(size=len(data))
        view = memoryview(data)
        for start in range(0, len(view), _PIECE):
            piece = stream.compress(view[start : start + _PIECE])
            if piece:
                yield piece
        yield stream.flush()

    def encoder(self) -> Encoder:
        return _ZstdEncoder(self)

    def decoder(self, *, max_size: int) -> Decoder:
        return _ZstdDecoder(max_size)

    def decode(self, data: bytes, *, max_size: int) -> bytes:
        whole = self._decode_one_frame(data, max_size)
        if whole is not None:
            return whole
        view = memoryview(data)
        if not view:
            raise ValueError("empty input: a zstd file holds at least one frame")
        window = min(max(max_size, _ZSTD_WINDOW_FLOOR), _ZSTD_WINDOW_CEILING)
        decompressor = zstandard.ZstdDecompressor(max_window_size=window)
        output = _Output(max_size)
        position = 0
        try:
            while position < len(view):
                position = _decode_zstd_frame(decompressor, view, position, output)
        except zstandard.ZstdError as error:
            raise ValueError(f"not valid zstd data: {error}") from None
        return output.value()

    def _decode_one_frame(self, data: bytes, max_size: int) -> bytes | None:
        """``data`` decoded, if it is exactly one frame declaring a content size from 1 to
        ``max_size`` bytes and a window :meth:`decode` accepts; ``None`` for anything else
        (or on any error), which the block walker then decodes or refuses as it always did.

        A declared size of 0 is left to the walker: libzstd returns an empty result for it
        without reading the frame. The window is checked here because a one-call decode
        does not check it.
        """
        if data[:4] != _ZSTD_MAGIC_BYTES:
            return None
        try:
            size = zstandard.frame_content_size(data)
            if not 0 < size <= max_size:
                return None  # also -1: no content size
            # A single-segment frame's window is its content: only a large one can exceed
            # decode's window limit, and only then is the window read.
            if size > _ZSTD_WINDOW_FLOOR or not data[4] & _ZSTD_SINGLE_SEGMENT:
                window = zstandard.get_frame_parameters(data).window_size
                if window > _ZSTD_WINDOW_FLOOR and window > min(max_size, _ZSTD_WINDOW_CEILING):
                    return None  # what decode's window limit refuses
        except zstandard.ZstdError:
            return None
        # A decompression context costs more to make than a small frame costs to decode:
        # keep one per thread (a context is not for concurrent use).
        try:
            decompressor: zstandard.ZstdDecompressor = self._local.one_shot
        except AttributeError:
            decompressor = self._local.one_shot = zstandard.ZstdDecompressor()
        try:
            # Positional, which is faster: max_output_size (0: the declared size),
            # read_across_frames, allow_extra_data (refuse anything after the frame).
            return decompressor.decompress(data, 0, False, False)
        except zstandard.ZstdError:
            del self._local.one_shot  # drop whatever a failed decode left buffered
            return None


def _decode_zstd_frame(
    decompressor: zstandard.ZstdDecompressor, view: memoryview, start: int, output: _Output
) -> int:
    """Decode the frame at ``start`` into ``output``; return where the next frame starts."""
    magic = _read_le(view, start, 4)
    if magic & 0xFFFFFFF0 == _ZSTD_SKIPPABLE_MAGIC:
        end = start + 8 + _read_le(view, start + 4, 4)
        if end > len(view):
            raise ValueError("truncated: the data ends inside a skippable frame")
        return end
    if magic != _ZSTD_MAGIC:
        raise ValueError(f"no zstd frame at byte {start}")
    # A frame declaring more than fits is refused unread: it is too large, or lies (which
    # libzstd refuses). Its window may be its declared size, beyond what decode accepts.
    output.expect(zstandard.frame_content_size(view[start:]))  # -1: not declared
    frame = decompressor.decompressobj()
    fed = start
    cursor = start + zstandard.frame_header_size(view[start:])
    worst = 0
    last = False
    while not last:
        header = _read_le(view, cursor, 3)
        last, kind, size = bool(header & 1), (header >> 1) & 3, header >> 3
        if kind > _ZSTD_COMPRESSED:
            raise ValueError(f"reserved zstd block type at byte {cursor}")
        block_worst = zstandard.BLOCKSIZE_MAX if kind == _ZSTD_COMPRESSED else size
        if worst and worst + block_worst > output.room:
            output.add(frame.decompress(view[fed:cursor]))
            fed, worst = cursor, 0
        worst += block_worst
        cursor += 3 + (1 if kind == _ZSTD_RLE else size)
    if zstandard.get_frame_parameters(view[start:]).has_checksum:
        cursor += 4
    if cursor > len(view):
        raise ValueError("truncated: the data ends inside a zstd frame")
    output.add(frame.decompress(view[fed:cursor]))
    if not frame.eof or frame.unused_data:
        raise ValueError(f"malformed zstd frame at byte {start}")
    return cursor


class _ZstdEncoder:
    """One frame with a checksum, made as the blob comes. A blob that ends within its first
    :data:`_PIECE` bytes is encoded as :meth:`ZstdCodec.encode` does (its content size in the
    header, which lets ``decode`` take its one-call path); a larger one's frame does not
    declare its size."""

    def __init__(self, codec: ZstdCodec) -> None:
        self._codec = codec
        self._held: bytearray | None = bytearray()
        self._stream: zstandard.ZstdCompressionObj | None = None

    def update(self, data: bytes) -> bytes:
        if self._held is not None:
            self._held += data
            if len(self._held) <= _PIECE:
                return b""
            data, self._held = bytes(self._held), None
            compressor = zstandard.ZstdCompressor(level=3, write_checksum=True)
            self._stream = compressor.compressobj()
        assert self._stream is not None
        return self._stream.compress(data)

    def finish(self) -> bytes:
        if self._held is not None:
            return self._codec.encode(bytes(self._held))
        assert self._stream is not None
        return self._stream.flush()


_ZSTD_FRAME_HEADER_MIN = 5
"""Bytes of a frame from which its header's size can be told (magic and descriptor)."""


class _ZstdDecoder:
    """Frames and skippable frames back to back, as :meth:`ZstdCodec.decode` reads them,
    decoded as they arrive. Like ``decode`` it walks the block headers itself: each call to
    libzstd gets the bytes of one block at most, so produces at most one block's output
    (128 KiB), and a frame declaring more content than fits is refused before any of it
    is decoded."""

    def __init__(self, max_size: int) -> None:
        window = min(max(max_size, _ZSTD_WINDOW_FLOOR), _ZSTD_WINDOW_CEILING)
        self._decompressor = zstandard.ZstdDecompressor(max_window_size=window)
        self._budget = _Budget(max_size)
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
            if kind > _ZSTD_COMPRESSED:
                raise ValueError(f"reserved zstd block type at byte {self._position}")
            if size > zstandard.BLOCKSIZE_MAX:
                raise ValueError(f"zstd block larger than 128 KiB at byte {self._position}")
            piece = self._budget.take(frame.decompress(self._take(3)))
            if piece:
                yield piece
            self._remaining = 1 if kind == _ZSTD_RLE else size

    def _start_frame(self) -> bool:
        """Read the next frame's header, or a skippable frame's; ``False`` if more input is
        needed first."""
        pending = self._pending
        if len(pending) < 4:
            return False
        magic = int.from_bytes(pending[:4], "little")
        if magic & 0xFFFFFFF0 == _ZSTD_SKIPPABLE_MAGIC:
            if len(pending) < 8:
                return False
            self._remaining = int.from_bytes(pending[4:8], "little")
            self._take(8)
            self._skipping = True
            self._frames += 1
            return True
        if magic != _ZSTD_MAGIC:
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


def _read_le(view: memoryview, position: int, size: int) -> int:
    """The little-endian unsigned integer of ``size`` bytes at ``position``."""
    if position + size > len(view):
        raise ValueError("truncated: the data ends inside a zstd frame")
    return int.from_bytes(view[position : position + size], "little")


@hookimpl
def gitblobts_register_codecs(register: Callable[[type[Codec]], None]) -> None:
    """Register the built-in codecs."""
    for codec in (NoneCodec, GzipCodec, Bz2Codec, LzmaCodec, ZstdCodec):
        register(codec)
