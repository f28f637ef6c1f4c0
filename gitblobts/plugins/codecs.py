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
``decode`` accepts, yielding pieces of at most 1 MiB however small the input that produced
them (they live in :mod:`gitblobts.plugins.codecstreams`).
"""

from __future__ import annotations

import bz2
import lzma
import re
import struct
import threading
import zlib
from collections.abc import Callable, Iterator

import zstandard

from gitblobts.core.codec import Codec, DecodedTooLarge, Decoder, Encoder
from gitblobts.core.hookspecs import hookimpl
from gitblobts.plugins.codecstreams import (
    GZIP_HEADER,
    INPUT_CHUNK,
    PIECE,
    ZSTD_COMPRESSED,
    ZSTD_MAGIC,
    ZSTD_RLE,
    ZSTD_SKIPPABLE_MAGIC,
    ZSTD_WINDOW_CEILING,
    ZSTD_WINDOW_FLOOR,
    Compressor,
    Decompressor,
    GzipEncoder,
    GzipMember,
    StreamsDecoder,
    Unchanged,
    UnchangedDecoder,
    ZstdDecoder,
    ZstdEncoder,
    encode_in_pieces,
)

_OUTPUT_CHUNK = 1 << 24
"""Most decompressed bytes asked of a decompressor at once."""


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


def _decode_streams(
    data: bytes,
    max_size: int,
    new_stream: Callable[[], Decompressor],
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
            chunk = view[position : position + INPUT_CHUNK] if stream.needs_input else view[:0]
            position += len(chunk)
            piece = stream.decompress(chunk, output.request)
            output.add(piece)
            if not piece and not stream.eof and position == len(view):
                raise ValueError("truncated: the data ends inside a stream")
        position = after_stream(view, position - len(stream.unused_data))
    return output.value()


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
        return Unchanged()

    def decoder(self, *, max_size: int) -> Decoder:
        return UnchangedDecoder(max_size)


class GzipCodec(Codec):
    """gzip (RFC 1952) at level 6, as ``gzip`` writes by default, without name or time."""

    name = "gzip"
    extension = "gz"

    def encode(self, data: bytes) -> bytes:
        deflate = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
        body = deflate.compress(data)
        trailer = struct.pack("<II", zlib.crc32(data), len(data) & 0xFFFFFFFF)
        return b"".join((GZIP_HEADER, body, deflate.flush(), trailer))

    def decode(self, data: bytes, *, max_size: int) -> bytes:
        try:
            return _decode_streams(data, max_size, GzipMember)
        except zlib.error as error:
            raise ValueError(f"not valid gzip data: {error}") from None

    def encode_pieces(self, data: bytes) -> Iterator[bytes]:
        return encode_in_pieces(self.encoder(), data)

    def encoder(self) -> Encoder:
        return GzipEncoder()

    def decoder(self, *, max_size: int) -> Decoder:
        return StreamsDecoder(GzipMember, max_size, (zlib.error,), "gzip")


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
        return encode_in_pieces(self.encoder(), data)

    def encoder(self) -> Encoder:
        return Compressor(bz2.BZ2Compressor(9))

    def decoder(self, *, max_size: int) -> Decoder:
        return StreamsDecoder(bz2.BZ2Decompressor, max_size, (OSError, EOFError), "bzip2")


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
        return encode_in_pieces(self.encoder(), data)

    def encoder(self) -> Encoder:
        return Compressor(
            lzma.LZMACompressor(format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64, preset=6)
        )

    def decoder(self, *, max_size: int) -> Decoder:
        memory = min(max(max_size, _XZ_MEMORY), _XZ_MEMORY_CEILING)
        return StreamsDecoder(
            lambda: lzma.LZMADecompressor(lzma.FORMAT_XZ, memlimit=memory),
            max_size,
            (lzma.LZMAError, EOFError),
            "xz",
            padding=True,
        )


_ZSTD_MAGIC_BYTES = ZSTD_MAGIC.to_bytes(4, "little")
_ZSTD_SINGLE_SEGMENT = 0x20
"""The frame header descriptor's flag for a frame whose window is its content size."""


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
        for start in range(0, len(view), PIECE):
            piece = stream.compress(view[start : start + PIECE])
            if piece:
                yield piece
        yield stream.flush()

    def encoder(self) -> Encoder:
        return ZstdEncoder(self.encode)

    def decoder(self, *, max_size: int) -> Decoder:
        return ZstdDecoder(max_size)

    def decode(self, data: bytes, *, max_size: int) -> bytes:
        whole = self._decode_one_frame(data, max_size)
        if whole is not None:
            return whole
        view = memoryview(data)
        if not view:
            raise ValueError("empty input: a zstd file holds at least one frame")
        window = min(max(max_size, ZSTD_WINDOW_FLOOR), ZSTD_WINDOW_CEILING)
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
            if size > ZSTD_WINDOW_FLOOR or not data[4] & _ZSTD_SINGLE_SEGMENT:
                window = zstandard.get_frame_parameters(data).window_size
                if window > ZSTD_WINDOW_FLOOR and window > min(max_size, ZSTD_WINDOW_CEILING):
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
    if magic & 0xFFFFFFF0 == ZSTD_SKIPPABLE_MAGIC:
        end = start + 8 + _read_le(view, start + 4, 4)
        if end > len(view):
            raise ValueError("truncated: the data ends inside a skippable frame")
        return end
    if magic != ZSTD_MAGIC:
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
        if kind > ZSTD_COMPRESSED:
            raise ValueError(f"reserved zstd block type at byte {cursor}")
        block_worst = zstandard.BLOCKSIZE_MAX if kind == ZSTD_COMPRESSED else size
        if worst and worst + block_worst > output.room:
            output.add(frame.decompress(view[fed:cursor]))
            fed, worst = cursor, 0
        worst += block_worst
        cursor += 3 + (1 if kind == ZSTD_RLE else size)
    if zstandard.get_frame_parameters(view[start:]).has_checksum:
        cursor += 4
    if cursor > len(view):
        raise ValueError("truncated: the data ends inside a zstd frame")
    output.add(frame.decompress(view[fed:cursor]))
    if not frame.eof or frame.unused_data:
        raise ValueError(f"malformed zstd frame at byte {start}")
    return cursor


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
