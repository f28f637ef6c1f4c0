"""Decompression bombs: small, valid files of each codec that expand to ``size`` zero bytes.

Each is built without compressing ``size`` bytes (which would take seconds for a GiB), by
repeating a unit that the format lets stand on its own, so a 1 GiB bomb costs milliseconds:

- gzip: one member whose deflate data is 1 MiB of zeros compressed then fully flushed (a
  byte-aligned piece that refers to nothing before it), repeated;
- bz2: one stream whose block, 1 MiB of zeros, is repeated bit for bit (blocks are
  bit-aligned and independent; the stream CRC combines theirs);
- xz: one stream with one block whose LZMA2 data, 2 MiB of zeros starting with a dictionary
  reset, is repeated;
- zstd: frames of RLE blocks, each 128 KiB of zeros in four bytes, as ``zstd`` writes zeros;
  with or without the content size in the frame header.

Every builder also makes a small bomb, so that tests can check that what the standard tools
and the decoders read back is exactly ``size`` zero bytes.
"""

from __future__ import annotations

import bz2
import lzma
import struct
import zlib

MiB = 1 << 20
ZERO_MIB = bytes(MiB)


_CRC32_POLY = 0xEDB88320


def _crc32_multiply(a: int, b: int) -> int:
    """``a * b`` modulo the CRC-32 polynomial, in its bit-reflected form (as zlib's
    ``multmodp``)."""
    product = 0
    for bit in range(31, -1, -1):
        if a >> bit & 1:
            product ^= b
        b = b >> 1 ^ _CRC32_POLY if b & 1 else b >> 1
    return product


def _crc32_of_zeros(size: int) -> int:
    """``zlib.crc32(bytes(size))`` without the bytes: appending a zero byte multiplies the
    CRC register by x**8, so ``size`` of them multiply it by x**(8 * size)."""
    power, square, exponent = 1 << 31, 1 << 30, 8 * size  # x**0, x**1 (reflected)
    while exponent:
        if exponent & 1:
            power = _crc32_multiply(square, power)
        square = _crc32_multiply(square, square)
        exponent >>= 1
    return _crc32_multiply(power, 0xFFFFFFFF) ^ 0xFFFFFFFF


def gzip_bomb(size: int) -> bytes:
    """One gzip member of ``size`` (a multiple of 1 MiB) zero bytes."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    piece = deflate.compress(ZERO_MIB) + deflate.flush(zlib.Z_FULL_FLUSH)
    header = bytes((0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 255))
    trailer = struct.pack("<II", _crc32_of_zeros(size), size & 0xFFFFFFFF)
    return header + piece * (size // MiB) + deflate.flush() + trailer


_BZ2_BLOCK_MAGIC = 0x314159265359
_BZ2_END_MAGIC = 0x177245385090


def bz2_bomb(size: int) -> bytes:
    """One bzip2 stream of ``size`` (a multiple of 1 MiB) zero bytes, in 1 MiB blocks."""
    stream = bz2.compress(ZERO_MIB, 9)
    bits = int.from_bytes(stream, "big")
    total = len(stream) * 8
    # The stream is "BZh9", one block, the end magic, the stream CRC and 0-7 padding bits.
    for padding in range(8):
        end = total - padding - 80
        if bits >> (total - end - 48) & (1 << 48) - 1 == _BZ2_END_MAGIC:
            break
    else:
        raise AssertionError("no end of stream found")
    block_bits = end - 32
    block = bits >> (total - end) & (1 << block_bits) - 1
    assert block >> (block_bits - 48) == _BZ2_BLOCK_MAGIC
    block_crc = block >> (block_bits - 80) & 0xFFFFFFFF
    count = size // MiB
    stream_crc = 0
    for _ in range(count):
        stream_crc = ((stream_crc << 1 | stream_crc >> 31) & 0xFFFFFFFF) ^ block_crc
    body = 0
    for _ in range(count):
        body = body << block_bits | block
    body = (body << 48 | _BZ2_END_MAGIC) << 32 | stream_crc
    body_bits = count * block_bits + 80
    body <<= -body_bits % 8
    return b"BZh9" + body.to_bytes((body_bits + 7) // 8, "big")


def _varint(number: int) -> bytes:
    out = bytearray()
    while number >= 0x80:
        out.append(number & 0x7F | 0x80)
        number >>= 7
    out.append(number)
    return bytes(out)


def _pad4(data: bytes) -> bytes:
    return data + bytes(-len(data) % 4)


def xz_bomb(size: int) -> bytes:
    """One xz stream (no check) with one block of ``size`` (a multiple of 2 MiB) zero
    bytes."""
    unit = 2 * MiB
    stream = lzma.compress(bytes(unit), format=lzma.FORMAT_XZ, check=lzma.CHECK_NONE)
    header_end = 12 + (stream[12] + 1) * 4
    stream_header, block_header = stream[:12], stream[12:header_end]
    assert block_header[1] & 0xC0 == 0, "the block header records no sizes"
    chunks = lzma.compress(
        bytes(unit), format=lzma.FORMAT_RAW, filters=[{"id": lzma.FILTER_LZMA2, "preset": 6}]
    )
    assert chunks[0] & 0xE0 == 0xE0, "the first chunk resets the dictionary"
    assert chunks[-1] == 0, "the end marker"
    data = chunks[:-1] * (size // unit) + b"\0"
    block = _pad4(block_header + data)
    records = _varint(1) + _varint(len(block_header) + len(data)) + _varint(size)
    index = _pad4(b"\0" + records)
    index += struct.pack("<I", zlib.crc32(index))
    flags = stream_header[6:8]
    backward = struct.pack("<I", len(index) // 4 - 1)
    footer = struct.pack("<I", zlib.crc32(backward + flags)) + backward + flags + b"YZ"
    return stream_header + block + index + footer


ZSTD_MAGIC = struct.pack("<I", 0xFD2FB528)
ZSTD_BLOCK = 128 << 10


def zstd_bomb(size: int, *, content_size: int | None = None, single_segment: bool = False) -> bytes:
    """One zstd frame of ``size`` (a multiple of 128 KiB) zero bytes in RLE blocks, with a
    1 MiB window; the header declares ``content_size`` if given (which may lie), in a
    single-segment frame (whose window is its content size) if ``single_segment``."""
    if single_segment:
        assert content_size is not None
        header = ZSTD_MAGIC + bytes((0xE0,)) + struct.pack("<Q", content_size)
    elif content_size is not None:
        header = ZSTD_MAGIC + bytes((0xC0, (20 - 10) << 3)) + struct.pack("<Q", content_size)
    else:
        header = ZSTD_MAGIC + bytes((0x00, (20 - 10) << 3))
    count = size // ZSTD_BLOCK
    rle = ((ZSTD_BLOCK << 3) | (1 << 1)).to_bytes(3, "little") + b"\0"
    last = ((ZSTD_BLOCK << 3) | (1 << 1) | 1).to_bytes(3, "little") + b"\0"
    return header + rle * (count - 1) + last
