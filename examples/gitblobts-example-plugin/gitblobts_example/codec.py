"""``deflate-raw``: a raw DEFLATE stream (RFC 1951), without zlib's or gzip's header."""

from __future__ import annotations

import zlib

from gitblobts.core.codec import Codec, DecodedTooLarge

_WBITS = -15  # negative: raw DEFLATE, with a 32 KiB window
_CHUNK = 1 << 20


class DeflateRawCodec(Codec):
    """Raw DEFLATE at level 6. Files end in ``.deflate``."""

    name = "deflate-raw"
    extension = "deflate"

    def encode(self, data: bytes) -> bytes:
        compressor = zlib.compressobj(6, zlib.DEFLATED, _WBITS)
        return compressor.compress(data) + compressor.flush()

    def decode(self, data: bytes, *, max_size: int) -> bytes:
        decompressor = zlib.decompressobj(_WBITS)
        pieces: list[bytes] = []
        size = 0
        pending = data
        while True:
            try:
                # Never more than max_size + 1 bytes at once: a small file cannot balloon.
                piece = decompressor.decompress(pending, min(max_size - size + 1, _CHUNK))
            except zlib.error as error:
                raise ValueError(f"not a raw DEFLATE stream: {error}") from None
            size += len(piece)
            if size > max_size:
                raise DecodedTooLarge(f"decompresses to more than {max_size} bytes")
            pieces.append(piece)
            pending = decompressor.unconsumed_tail
            if decompressor.eof or not (pending or piece):
                break
        if not decompressor.eof:
            raise ValueError("the raw DEFLATE stream is truncated")
        if decompressor.unused_data:
            raise ValueError("bytes follow the raw DEFLATE stream")
        return b"".join(pieces)
