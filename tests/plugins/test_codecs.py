"""The built-in codecs: what they write, what they read, and what they refuse."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import tracemalloc
from pathlib import Path

import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitblobts.core.codec import Codec, DecodedTooLarge
from gitblobts.core.plugins import load_plugins

PLUGINS = load_plugins(only=())
EXTENSIONS = {"none": "", "gzip": "gz", "bz2": "bz2", "lzma": "xz", "zstd": "zst"}
COMPRESSED = ["gzip", "bz2", "lzma", "zstd"]
TOOLS = {"gzip": "gzip", "bz2": "bzip2", "lzma": "xz", "zstd": "zstd"}
ALL = list(EXTENSIONS)
MiB = 1 << 20
# Invalid input may be refused for many reasons; the tests below that use a bare
# ``pytest.raises(ValueError)`` specify only that it is a ValueError (PT011 allowed).
MESSAGE = b"gitblobts stores blobs as files in a git repository. " * 3
# Random bytes followed by a long run of zeros: both stored and compressed blocks, and more
# than one decoder input chunk (1 MiB) of compressed data.
LARGE = os.urandom(1_500_000) + bytes(3_000_000)
LARGE_SETTINGS = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def codec(name: str) -> Codec:
    return PLUGINS.codecs.get(name)()


def tool(name: str) -> str:
    path = shutil.which(TOOLS[name])
    if path is None:
        pytest.skip(f"the {TOOLS[name]} command is not installed")
    return path


@pytest.fixture(scope="module")
def bombs() -> dict[str, bytes]:
    """50 MB of zeros, compressed by each codec: a small file that expands hugely."""
    zeros = bytes(50_000_000)
    return {name: codec(name).encode(zeros) for name in COMPRESSED}


def test_the_five_built_in_codecs_are_registered_in_order() -> None:
    assert PLUGINS.codecs.names() == ["none", "gzip", "bz2", "lzma", "zstd"]


@pytest.mark.parametrize(("name", "extension"), EXTENSIONS.items())
def test_each_codec_has_the_extension_its_command_line_tool_expects(
    name: str, extension: str
) -> None:
    assert PLUGINS.codecs.get(name).extension == extension
    assert PLUGINS.codec_for_extension(extension) is PLUGINS.codecs.get(name)


@pytest.mark.parametrize("name", ALL)
@given(data=st.binary(max_size=5000))
@settings(max_examples=60, deadline=None)
def test_decode_reverses_encode_for_any_bytes(name: str, data: bytes) -> None:
    assert codec(name).decode(codec(name).encode(data), max_size=len(data)) == data


@pytest.mark.parametrize("name", ALL)
def test_the_empty_blob_round_trips(name: str) -> None:
    assert codec(name).decode(codec(name).encode(b""), max_size=0) == b""


@pytest.mark.parametrize("name", ALL)
def test_a_large_blob_round_trips(name: str) -> None:
    assert codec(name).decode(codec(name).encode(LARGE), max_size=len(LARGE)) == LARGE


@pytest.mark.parametrize("name", ALL)
def test_encoding_the_same_blob_gives_the_same_bytes(name: str) -> None:
    assert codec(name).encode(MESSAGE) == codec(name).encode(MESSAGE)


def test_none_stores_the_blob_unchanged() -> None:
    assert codec("none").encode(MESSAGE) == MESSAGE
    assert codec("none").decode(MESSAGE, max_size=len(MESSAGE)) == MESSAGE


def test_gzip_files_carry_no_modification_time_and_level_6_flags() -> None:
    header = codec("gzip").encode(MESSAGE)[:10]
    assert header[:4] == b"\x1f\x8b\x08\x00"  # magic, deflate, no name or other fields
    assert header[4:8] == b"\0\0\0\0"  # no modification time
    assert header[8] == 0  # neither fastest nor best compression


def test_zstd_frames_record_the_content_size_and_a_checksum() -> None:
    frame = codec("zstd").encode(MESSAGE)
    assert zstandard.frame_content_size(frame) == len(MESSAGE)
    assert zstandard.get_frame_parameters(frame).has_checksum


@pytest.mark.parametrize("name", COMPRESSED)
def test_the_standard_tool_decompresses_what_encode_wrote(name: str, tmp_path: Path) -> None:
    command = tool(name)
    path = tmp_path / f"blob.{EXTENSIONS[name]}"
    path.write_bytes(codec(name).encode(LARGE))
    subprocess.run([command, "-d", "-q", str(path)], check=True, capture_output=True)
    assert (tmp_path / "blob").read_bytes() == LARGE


@pytest.mark.parametrize("name", COMPRESSED)
@pytest.mark.parametrize("source", ["file", "pipe"])
def test_decode_reads_what_the_standard_tool_wrote(name: str, source: str, tmp_path: Path) -> None:
    command = tool(name)
    if source == "file":
        path = tmp_path / "blob"
        path.write_bytes(MESSAGE)
        subprocess.run([command, "-q", str(path)], check=True, capture_output=True)
        written = (tmp_path / f"blob.{EXTENSIONS[name]}").read_bytes()
    else:
        written = subprocess.run(
            [command, "-c", "-q"], input=MESSAGE, check=True, capture_output=True
        ).stdout
    assert codec(name).decode(written, max_size=len(MESSAGE)) == MESSAGE


@pytest.mark.parametrize("name", COMPRESSED)
def test_concatenated_streams_decode_to_the_concatenated_blobs(name: str) -> None:
    first, second = b"first blob " * 100, b"second blob " * 100
    stored = codec(name).encode(first) + codec(name).encode(second)
    assert codec(name).decode(stored, max_size=len(first + second)) == first + second


@pytest.mark.parametrize("name", COMPRESSED)
def test_the_standard_tool_reads_concatenated_streams_as_decode_does(
    name: str, tmp_path: Path
) -> None:
    command = tool(name)
    path = tmp_path / f"blob.{EXTENSIONS[name]}"
    path.write_bytes(codec(name).encode(b"one ") + codec(name).encode(b"two"))
    result = subprocess.run([command, "-d", "-c", "-q", str(path)], check=True, capture_output=True)
    assert result.stdout == codec(name).decode(path.read_bytes(), max_size=7) == b"one two"


@pytest.mark.parametrize("name", ALL)
def test_max_size_is_the_largest_size_decode_accepts(name: str) -> None:
    stored = codec(name).encode(MESSAGE)
    assert codec(name).decode(stored, max_size=len(MESSAGE)) == MESSAGE
    with pytest.raises(DecodedTooLarge):
        codec(name).decode(stored, max_size=len(MESSAGE) - 1)


@pytest.mark.parametrize("name", ALL)
def test_a_max_size_of_zero_accepts_only_the_empty_blob(name: str) -> None:
    assert codec(name).decode(codec(name).encode(b""), max_size=0) == b""
    with pytest.raises(DecodedTooLarge):
        codec(name).decode(codec(name).encode(b"x"), max_size=0)


def test_decoded_too_large_is_a_value_error() -> None:
    assert issubclass(DecodedTooLarge, ValueError)


@pytest.mark.parametrize("name", COMPRESSED)
def test_a_zip_bomb_is_refused_without_decompressing_it(name: str, bombs: dict[str, bytes]) -> None:
    tracemalloc.start()
    try:
        with pytest.raises(DecodedTooLarge, match="more than 1048576 bytes"):
            codec(name).decode(bombs[name], max_size=MiB)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # The limit plus decoder state (xz's default dictionary is 8 MiB), not 50 MB of output.
    assert peak < 16 * MiB


def test_a_zstd_frame_claiming_a_huge_content_size_allocates_nothing_like_it() -> None:
    frame = codec("zstd").encode(bytes(4 * MiB))
    size_field = frame.index(struct.pack("<I", 4 * MiB), 5, 18)
    lying = frame[:size_field] + struct.pack("<I", 0xFFFFFFF0) + frame[size_field + 4 :]
    tracemalloc.start()
    try:
        with pytest.raises(ValueError):  # noqa: PT011 (too large, or a corrupt frame)
            codec("zstd").decode(lying, max_size=64 * MiB)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 * MiB


def test_a_zstd_frame_needing_a_window_far_beyond_max_size_is_refused() -> None:
    # Magic, a descriptor with no content size and no checksum, a 64 MiB window (log 26,
    # which zstd -d accepts), then one empty last raw block.
    frame = b"\x28\xb5\x2f\xfd" + bytes((0x00, (26 - 10) << 3)) + b"\x01\x00\x00"
    assert zstandard.ZstdDecompressor().decompressobj().decompress(frame) == b""
    with pytest.raises(ValueError, match="zstd"):
        codec("zstd").decode(frame, max_size=MiB)


@pytest.mark.parametrize("name", COMPRESSED)
@pytest.mark.parametrize(
    "garbage",
    [b"x", b"\0", b"\0" * 64, b"not compressed at all", bytes(range(256))],
    ids=["one-byte", "zero", "zeros", "text", "all-bytes"],
)
def test_garbage_is_refused_with_value_error(name: str, garbage: bytes) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        codec(name).decode(garbage, max_size=MiB)


@pytest.mark.parametrize("name", COMPRESSED)
def test_empty_input_is_not_a_compressed_file(name: str) -> None:
    with pytest.raises(ValueError, match="empty input"):
        codec(name).decode(b"", max_size=MiB)


@pytest.mark.parametrize("name", COMPRESSED)
def test_every_truncation_is_refused_with_value_error(name: str) -> None:
    stored = codec(name).encode(MESSAGE)
    for length in range(len(stored)):
        with pytest.raises(ValueError):  # noqa: PT011
            codec(name).decode(stored[:length], max_size=MiB)


@pytest.mark.parametrize("name", COMPRESSED)
@pytest.mark.parametrize("trailer", [b"x", b"\0", b"trailing garbage", b"\x1f\x8b"])
def test_trailing_bytes_are_refused_with_value_error(name: str, trailer: bytes) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        codec(name).decode(codec(name).encode(MESSAGE) + trailer, max_size=MiB)


def test_xz_stream_padding_is_accepted_as_xz_accepts_it() -> None:
    stream = codec("lzma").encode(b"padded")
    padded = stream + bytes(4) + stream + bytes(8)
    assert codec("lzma").decode(padded, max_size=12) == b"paddedpadded"
    xz = subprocess.run([tool("lzma"), "-dc"], input=padded, capture_output=True, check=True)
    assert xz.stdout == b"paddedpadded"


def test_xz_stream_padding_must_be_a_multiple_of_four_bytes() -> None:
    with pytest.raises(ValueError, match="multiple of four"):
        codec("lzma").decode(codec("lzma").encode(b"padded") + bytes(3), max_size=MiB)


def test_zstd_skippable_frames_are_skipped_as_zstd_skips_them() -> None:
    skippable = struct.pack("<II", 0x184D2A5E, 3) + b"abc"
    stored = skippable + codec("zstd").encode(MESSAGE) + skippable
    assert codec("zstd").decode(stored, max_size=len(MESSAGE)) == MESSAGE
    zstd = subprocess.run([tool("zstd"), "-dcq"], input=stored, capture_output=True, check=True)
    assert zstd.stdout == MESSAGE


@pytest.mark.parametrize("name", COMPRESSED)
@given(data=st.binary(max_size=300))
@settings(max_examples=200, deadline=None)
def test_arbitrary_input_decodes_or_raises_value_error(name: str, data: bytes) -> None:
    try:
        decoded = codec(name).decode(data, max_size=MiB)
    except ValueError:
        return
    assert isinstance(decoded, bytes)


@pytest.mark.parametrize("name", COMPRESSED)
@given(position=st.integers(min_value=0), value=st.integers(min_value=1, max_value=255))
@LARGE_SETTINGS
def test_a_corrupted_file_decodes_or_raises_value_error(
    name: str, position: int, value: int
) -> None:
    stored = bytearray(codec(name).encode(MESSAGE))
    stored[position % len(stored)] ^= value
    try:
        decoded = codec(name).decode(bytes(stored), max_size=MiB)
    except ValueError:
        return
    assert isinstance(decoded, bytes)


@pytest.mark.parametrize("name", ALL)
def test_decode_accepts_any_max_size_an_int_can_hold(name: str) -> None:
    stored = codec(name).encode(MESSAGE)
    assert codec(name).decode(stored, max_size=2**63 - 1) == MESSAGE
    assert codec(name).decode(stored, max_size=2**80) == MESSAGE


def _zstd_frame(
    content_size: int | None, window_log: int, block: bytes, checksum: int = 0
) -> bytes:
    """A zstd frame with one last raw block, written field by field (RFC 8878): the content
    size field (2 bytes) if ``content_size`` is given, a window descriptor, no dictionary."""
    flags = (0x40 if content_size is not None else 0) | (0x04 if checksum else 0)
    header = b"\x28\xb5\x2f\xfd" + bytes((flags, (window_log - 10) << 3))
    if content_size is not None:
        header += struct.pack("<H", content_size - 256)
    body = (1 | len(block) << 3).to_bytes(3, "little") + block
    return header + body + (struct.pack("<I", checksum) if checksum else b"")


def test_a_zstd_frame_is_decoded_whatever_its_window_below_the_limit() -> None:
    block = bytes(range(256)) * 2
    assert codec("zstd").decode(_zstd_frame(512, 22, block), max_size=MiB) == block
    assert codec("zstd").decode(_zstd_frame(None, 22, block), max_size=MiB) == block


def test_a_zstd_frame_declaring_a_window_larger_than_its_size_needs_only_its_size() -> None:
    # libzstd bounds the window by the declared content size, as zstd -d does.
    frame = _zstd_frame(300, 26, bytes(300))  # a 64 MiB window for 300 bytes
    assert codec("zstd").decode(frame, max_size=MiB) == bytes(300)
    with pytest.raises(DecodedTooLarge):
        codec("zstd").decode(frame, max_size=299)


@pytest.mark.parametrize("declared", [299, 301, 1000])
def test_a_zstd_frame_declaring_another_size_than_it_holds_is_refused(declared: int) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        codec("zstd").decode(_zstd_frame(declared, 20, bytes(300)), max_size=MiB)


def test_a_zstd_frame_declaring_no_content_is_read_to_its_end() -> None:
    empty = codec("zstd").encode(b"")
    assert codec("zstd").decode(empty, max_size=MiB) == b""
    for damaged in (empty + b"x", empty[:-1], empty[:-4] + bytes(4)):
        with pytest.raises(ValueError):  # noqa: PT011
            codec("zstd").decode(damaged, max_size=MiB)


def test_a_zstd_frame_with_a_wrong_checksum_is_refused() -> None:
    stored = bytearray(codec("zstd").encode(MESSAGE))
    stored[-1] ^= 1
    with pytest.raises(ValueError, match="zstd"):
        codec("zstd").decode(bytes(stored), max_size=MiB)


def test_zstd_decodes_in_many_threads_at_once() -> None:
    from concurrent.futures import ThreadPoolExecutor

    shared = codec("zstd")
    blobs = [os.urandom(n) * 3 for n in range(1, 200)]
    stored = [shared.encode(blob) for blob in blobs]
    with ThreadPoolExecutor(8) as pool:
        for _ in range(5):
            decoded = list(pool.map(lambda data: shared.decode(data, max_size=MiB), stored))
            assert decoded == blobs
