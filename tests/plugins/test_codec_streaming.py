"""The built-in codecs' encoders and decoders: what an encoder writes is what ``decode`` and
the standard tool read; a decoder reads exactly what ``decode`` reads, refuses exactly what
it refuses, and never yields a piece over 1 MiB or more than ``max_size`` bytes."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import tracemalloc

import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from gitblobts.core.codec import Codec, DecodedTooLarge
from gitblobts.core.plugins import load_plugins

PLUGINS = load_plugins(only=())
ALL = ["none", "gzip", "bz2", "lzma", "zstd"]
COMPRESSED = ALL[1:]
TOOLS = {"gzip": "gzip", "bz2": "bzip2", "lzma": "xz", "zstd": "zstd"}
MiB = 1 << 20
PIECE = MiB
"""The largest piece a built-in decoder yields."""
MESSAGE = b"gitblobts stores blobs as files in a git repository. " * 3
SIZES = [0, 1, 1000, MiB, MiB + 1, 3 * MiB + 7]


def codec(name: str) -> Codec:
    return PLUGINS.codecs.get(name)()


def blob(size: int) -> bytes:
    """Random bytes, then zeros: both stored and compressed blocks."""
    return os.urandom(size // 2) + bytes(size - size // 2)


def encode_in_updates(codec: Codec, data: bytes, step: int = 65_537) -> bytes:
    encoder = codec.encoder()
    out = [encoder.update(data[start : start + step]) for start in range(0, len(data), step)]
    out.append(encoder.finish())
    return b"".join(out)


def decode_in_updates(
    codec: Codec, stored: bytes, step: int = 7_777, max_size: int = 1 << 30
) -> list[bytes]:
    """The pieces a decoder yields for ``stored`` fed ``step`` bytes at a time."""
    decoder = codec.decoder(max_size=max_size)
    pieces: list[bytes] = []
    for start in range(0, len(stored), step):
        pieces.extend(decoder.update(stored[start : start + step]))
    pieces.extend(decoder.finish())
    return pieces


def outcome(run: object) -> object:
    """What a decoding returns, or the kind of error it raises."""
    try:
        return run()  # type: ignore[operator]
    except DecodedTooLarge:
        return DecodedTooLarge
    except ValueError:
        return ValueError


def tool(name: str) -> str:
    path = shutil.which(TOOLS[name])
    if path is None:
        pytest.skip(f"the {TOOLS[name]} command is not installed")
    return path


# Encoders


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("size", SIZES)
def test_what_an_encoder_writes_decode_reads(name: str, size: int) -> None:
    data = blob(size)
    assert codec(name).decode(encode_in_updates(codec(name), data), max_size=size) == data


@pytest.mark.parametrize("name", COMPRESSED)
@pytest.mark.parametrize("size", [0, 1000, 3 * MiB + 7])
def test_what_an_encoder_writes_the_standard_tool_reads(name: str, size: int) -> None:
    data = blob(size)
    stored = encode_in_updates(codec(name), data, step=100_003)
    result = subprocess.run([tool(name), "-d", "-c", "-q"], input=stored, capture_output=True)
    assert result.returncode == 0
    assert result.stdout == data


@pytest.mark.parametrize("name", ALL)
def test_an_encoder_fed_nothing_encodes_the_empty_blob(name: str) -> None:
    encoder = codec(name).encoder()
    assert codec(name).decode(encoder.finish(), max_size=0) == b""


def test_a_zstd_encoder_writes_a_small_blob_as_encode_does() -> None:
    assert encode_in_updates(codec("zstd"), MESSAGE, step=10) == codec("zstd").encode(MESSAGE)


def test_a_zstd_encoder_writes_a_large_blob_as_one_frame_with_a_checksum() -> None:
    stored = encode_in_updates(codec("zstd"), blob(3 * MiB))
    parameters = zstandard.get_frame_parameters(stored)
    assert parameters.has_checksum
    assert zstandard.frame_content_size(stored) == -1  # not known when the frame began


def test_a_gzip_encoder_writes_the_header_encode_writes() -> None:
    assert encode_in_updates(codec("gzip"), MESSAGE)[:10] == codec("gzip").encode(MESSAGE)[:10]


@pytest.mark.parametrize("name", COMPRESSED)
def test_encode_pieces_yields_as_it_compresses(name: str) -> None:
    data = os.urandom(4 * MiB)
    pieces = list(codec(name).encode_pieces(data))
    assert len(pieces) > 1
    assert codec(name).decode(b"".join(pieces), max_size=len(data)) == data


# Decoders: what they read


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("size", SIZES)
def test_a_decoder_reads_what_encode_writes(name: str, size: int) -> None:
    data = blob(size)
    assert b"".join(decode_in_updates(codec(name), codec(name).encode(data))) == data


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("step", [1, 3, 1 << 16])
def test_a_decoder_reads_input_fed_in_any_pieces(name: str, step: int) -> None:
    stored = codec(name).encode(MESSAGE)
    assert b"".join(decode_in_updates(codec(name), stored, step)) == MESSAGE


@pytest.mark.parametrize("name", COMPRESSED)
def test_a_decoder_reads_what_the_standard_tool_wrote(name: str) -> None:
    data = blob(2 * MiB)
    written = subprocess.run(
        [tool(name), "-c", "-q"], input=data, check=True, capture_output=True
    ).stdout
    assert b"".join(decode_in_updates(codec(name), written, step=50_000)) == data


@pytest.mark.parametrize("name", COMPRESSED)
def test_a_decoder_reads_concatenated_streams(name: str) -> None:
    first, second = b"first blob " * 100, blob(MiB + 5)
    stored = codec(name).encode(first) + encode_in_updates(codec(name), second)
    assert b"".join(decode_in_updates(codec(name), stored, step=999)) == first + second


def test_an_xz_decoder_reads_stream_padding_split_across_updates() -> None:
    stream = codec("lzma").encode(b"padded")
    padded = stream + bytes(4) + stream + bytes(8)
    assert b"".join(decode_in_updates(codec("lzma"), padded, step=3)) == b"paddedpadded"


def test_a_zstd_decoder_skips_skippable_frames() -> None:
    skippable = struct.pack("<II", 0x184D2A5E, 3) + b"abc"
    stored = skippable + codec("zstd").encode(MESSAGE) + skippable
    assert b"".join(decode_in_updates(codec("zstd"), stored, step=5)) == MESSAGE


# Decoders: bounded pieces and max_size


@pytest.mark.parametrize("name", ALL)
def test_a_decoder_yields_pieces_of_at_most_a_mebibyte_from_one_small_update(name: str) -> None:
    stored = codec(name).encode(bytes(20 * MiB))
    assert len(stored) < MiB or name == "none"
    pieces = decode_in_updates(codec(name), stored, step=len(stored))
    assert max(len(piece) for piece in pieces) <= PIECE
    assert sum(len(piece) for piece in pieces) == 20 * MiB


@pytest.mark.parametrize("name", COMPRESSED)
def test_a_decoder_refuses_a_zip_bomb_holding_little_memory(name: str) -> None:
    """A few pieces, and the decompressor's window (8 MiB for xz's preset 6), at most."""
    bomb = codec(name).encode(bytes(100 * MiB))
    decoder = codec(name).decoder(max_size=10 * MiB)
    tracemalloc.start()
    try:
        with pytest.raises(DecodedTooLarge):
            for _ in decoder.update(bomb):
                pass
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * MiB


@pytest.mark.parametrize("name", ALL)
def test_max_size_is_the_most_a_decoder_yields(name: str) -> None:
    stored = codec(name).encode(MESSAGE)
    assert b"".join(decode_in_updates(codec(name), stored, max_size=len(MESSAGE))) == MESSAGE
    with pytest.raises(DecodedTooLarge):
        decode_in_updates(codec(name), stored, max_size=len(MESSAGE) - 1)


@pytest.mark.parametrize("name", ALL)
def test_a_decoder_refuses_a_large_blob_one_byte_over_max_size(name: str) -> None:
    data = blob(3 * MiB)
    stored = codec(name).encode(data)
    assert b"".join(decode_in_updates(codec(name), stored, max_size=len(data))) == data
    with pytest.raises(DecodedTooLarge):
        decode_in_updates(codec(name), stored, max_size=len(data) - 1)


# Decoders: what they refuse, exactly as decode does


@pytest.mark.parametrize("name", COMPRESSED)
def test_a_decoder_refuses_empty_input_at_finish(name: str) -> None:
    with pytest.raises(ValueError, match="empty input"):
        list(codec(name).decoder(max_size=MiB).finish())


@pytest.mark.parametrize("name", COMPRESSED)
def test_every_truncation_is_refused_at_the_latest_at_finish(name: str) -> None:
    stored = codec(name).encode(MESSAGE)
    for length in range(len(stored)):
        with pytest.raises(ValueError):  # noqa: PT011 - the contract's exception
            decode_in_updates(codec(name), stored[:length], step=11)


@pytest.mark.parametrize("name", COMPRESSED)
def test_a_large_stream_cut_at_any_mebibyte_is_refused(name: str) -> None:
    stored = encode_in_updates(codec(name), os.urandom(3 * MiB))
    for length in range(MiB, len(stored), MiB):
        with pytest.raises(ValueError):  # noqa: PT011
            decode_in_updates(codec(name), stored[:length], step=100_000)


@pytest.mark.parametrize("name", COMPRESSED)
@pytest.mark.parametrize("trailer", [b"x", b"\0", b"\0" * 3, b"trailing garbage", b"\x1f\x8b"])
def test_a_decoder_refuses_trailing_bytes(name: str, trailer: bytes) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        decode_in_updates(codec(name), codec(name).encode(MESSAGE) + trailer, step=9)


@pytest.mark.parametrize("name", ALL)
@given(data=st.binary(max_size=300), step=st.integers(1, 64))
@settings(max_examples=150, deadline=None)
def test_a_decoder_agrees_with_decode_on_arbitrary_input(name: str, data: bytes, step: int) -> None:
    whole = outcome(lambda: codec(name).decode(data, max_size=MiB))
    streamed = outcome(lambda: b"".join(decode_in_updates(codec(name), data, step, MiB)))
    assert streamed == whole


@pytest.mark.parametrize("name", ALL)
@given(
    data=st.binary(max_size=2000),
    cut=st.integers(0, 4000),
    extra=st.binary(max_size=8),
    step=st.integers(1, 300),
)
@settings(max_examples=100, deadline=None)
def test_a_decoder_agrees_with_decode_on_cut_and_extended_encodings(
    name: str, data: bytes, cut: int, extra: bytes, step: int
) -> None:
    stored = codec(name).encode(data)
    changed = stored[:cut] + extra
    whole = outcome(lambda: codec(name).decode(changed, max_size=MiB))
    streamed = outcome(lambda: b"".join(decode_in_updates(codec(name), changed, step, MiB)))
    assert streamed == whole


@pytest.mark.parametrize("name", ALL)
def test_decoding_a_large_file_in_updates_holds_a_few_mebibytes(name: str) -> None:
    """Not the blob: a piece or two, the current update, and the decompressor's window."""
    stored = encode_in_updates(codec(name), os.urandom(8 * MiB) + bytes(24 * MiB), step=MiB)
    decoder = codec(name).decoder(max_size=32 * MiB)
    decoded = 0
    tracemalloc.start()
    try:
        for start in range(0, len(stored), MiB):
            for piece in decoder.update(stored[start : start + MiB]):
                decoded += len(piece)
        for piece in decoder.finish():
            decoded += len(piece)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert decoded == 32 * MiB
    assert peak < 16 * MiB
