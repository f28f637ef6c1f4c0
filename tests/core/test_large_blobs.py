"""Large blobs are compressed and encrypted piece by piece, into the very formats a blob
written in one call has: files ``zstd -d`` and the cipher's one-call path read."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import zstandard
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gitblobts import Store, generate_key
from gitblobts.core import keys, naming
from gitblobts.core.cipher import DecryptionFailed
from gitblobts.core.codec import Codec
from gitblobts.core.pipeline import STREAM_THRESHOLD
from gitblobts.plugins import ciphers
from gitblobts.plugins.ciphers import Aes256GcmCipher
from gitblobts.plugins.codecs import GzipCodec, ZstdCodec
from tests.helpers.git import git_bytes

KEY = generate_key()
RAW_KEY = keys.decode_key(KEY)
CONTEXT = b"20260124T061500.123456789Z_k5vq2xw7m3a4b6c7d2e3f4g5h6"
SMALL_LIMIT = 1 << 16
"""One-call limit the piece-by-piece tests set, so that a few hundred KiB take that path."""

needs_zstd = pytest.mark.skipif(shutil.which("zstd") is None, reason="zstd is not installed")


def large_blob(size: int) -> bytes:
    """``size`` bytes that compress, but not to nothing: a random MiB, varied and repeated."""
    unit = os.urandom(1 << 20)
    pieces = [bytes([n]) + unit for n in range(size // len(unit) + 1)]
    return b"".join(pieces)[:size]


def zstd_cli_decode(data: bytes) -> bytes:
    return subprocess.run(["zstd", "-d", "-c"], input=data, capture_output=True, check=True).stdout


@pytest.fixture
def small_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Encrypt and decrypt inputs above 64 KiB piece by piece."""
    monkeypatch.setattr(ciphers, "_ONE_CALL_LIMIT", SMALL_LIMIT)


@pytest.fixture
def medium() -> bytes:
    """A few hundred KiB: several pieces at :data:`SMALL_LIMIT`, and a partial last one."""
    return os.urandom(5 * SMALL_LIMIT + 1234)


def cipher() -> Aes256GcmCipher:
    return Aes256GcmCipher(RAW_KEY)


def by_hand_decrypt(sealed: bytes | bytearray, context: bytes) -> bytes:
    """Decrypt an aes256gcm file of version 2 as its format says, segment by segment, with
    plain AES-GCM calls."""
    salt, prefix, body = bytes(sealed[1:17]), bytes(sealed[17:24]), bytes(sealed[24:])
    aes = AESGCM(keys.derive(RAW_KEY, Aes256GcmCipher.INFO, salt=salt))
    full = Aes256GcmCipher.SEGMENT_BYTES + 16
    starts = range(0, len(body), full)
    return b"".join(
        aes.decrypt(
            prefix + number.to_bytes(4, "big") + bytes((start + full >= len(body),)),
            body[start : start + full],
            context,
        )
        for number, start in enumerate(starts)
    )


def version_1(data: bytes, context: bytes) -> bytes:
    """``data`` encrypted as gitblobts wrote aes256gcm files before version 2."""
    salt, nonce = os.urandom(16), os.urandom(12)
    aes = AESGCM(keys.derive(RAW_KEY, Aes256GcmCipher.V1_INFO, salt=salt))
    return b"\x01" + salt + nonce + aes.encrypt(nonce, data, context)


# Through a store


@needs_zstd
@pytest.mark.parametrize("kind", ["non-bare", "bare"])
def test_a_large_encrypted_blob_round_trips_and_its_file_is_read_by_the_tools(
    new_repo: Callable[[str], Path], kind: str
) -> None:
    path = new_repo(kind)
    blob = large_blob(20 << 20)
    assert len(blob) >= STREAM_THRESHOLD

    ref = Store(path, compression="zstd", key=KEY).addblob(blob)

    assert [b.blob for b in Store(path, key=KEY).getblobs()] == [blob]
    stored = git_bytes(path, "cat-file", "blob", f"main:{ref.path}")
    name = naming.parse(ref.path.rsplit("/", 1)[1])
    assert name is not None
    assert name.suffixes == ("zst", "aes256gcm")
    compressed = cipher().decrypt(stored, name.identity.encode("ascii"))
    assert zstd_cli_decode(compressed) == blob
    assert zstandard.get_frame_parameters(compressed).content_size == len(blob)
    if kind == "non-bare":
        assert (path / ref.path).read_bytes() == stored


def test_a_blob_at_the_stream_threshold_is_sealed_piece_by_piece(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def whole(*args: object, **kwargs: object) -> bytes:
        raise AssertionError("a large blob went through a one-call stage")

    monkeypatch.setattr(ZstdCodec, "encode", whole)
    monkeypatch.setattr(Aes256GcmCipher, "encrypt", whole)
    blob = large_blob(STREAM_THRESHOLD)

    Store(repo, compression="zstd", key=KEY).addblob(blob)

    monkeypatch.undo()
    assert [b.blob for b in Store(repo, key=KEY).getblobs()] == [blob]


def test_a_blob_below_the_stream_threshold_is_sealed_in_one_call(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def pieces(*args: object, **kwargs: object) -> Iterator[bytes]:
        raise AssertionError("a small blob went through a piece-by-piece stage")

    monkeypatch.setattr(ZstdCodec, "encode_pieces", pieces)
    monkeypatch.setattr(Aes256GcmCipher, "encrypt_pieces", pieces)
    blob = large_blob(STREAM_THRESHOLD - 1)

    Store(repo, compression="zstd", key=KEY).addblob(blob)

    monkeypatch.undo()
    assert [b.blob for b in Store(repo, key=KEY).getblobs()] == [blob]


def test_a_large_blob_without_a_key_round_trips(repo: Path) -> None:
    blob = large_blob(STREAM_THRESHOLD + 1)

    Store(repo, compression="zstd").addblob(blob)

    assert [b.blob for b in Store(repo).getblobs()] == [blob]


# aes256gcm piece by piece


def test_encrypt_pieces_writes_the_segmented_format(medium: bytes) -> None:
    data = medium * 8  # three segments
    pieces = [data[:1], data[1:70_000], b"", data[70_000:]]

    sealed = cipher().encrypt_pieces(pieces, CONTEXT)

    assert cipher().decrypt(bytes(sealed), CONTEXT) == data
    assert by_hand_decrypt(sealed, CONTEXT) == data
    assert len(sealed) == len(data) + 1 + 16 + 7 + 3 * 16


@pytest.mark.usefixtures("small_limit")
def test_a_version_1_file_above_the_one_call_limit_decrypts_piece_by_piece(
    medium: bytes,
) -> None:
    assert cipher().decrypt(version_1(medium, CONTEXT), CONTEXT) == medium


@pytest.mark.usefixtures("small_limit")
def test_a_flipped_byte_anywhere_fails_piecewise_decryption_of_version_1(medium: bytes) -> None:
    sealed = version_1(medium, CONTEXT)
    header = 1 + 16 + 12
    positions = {0, 1, 16, 17, 28, header, header + 1, len(sealed) // 2, len(sealed) - 1}
    positions |= {header + k * SMALL_LIMIT + d for k in range(1, 6) for d in (-1, 0)}
    positions |= set(range(len(sealed) - 16, len(sealed)))

    for position in sorted(positions):
        tampered = bytearray(sealed)
        tampered[position] ^= 0x01
        with pytest.raises(DecryptionFailed):
            cipher().decrypt(bytes(tampered), CONTEXT)


def test_a_flipped_byte_anywhere_fails_decryption_of_segments() -> None:
    data = os.urandom(2 * Aes256GcmCipher.SEGMENT_BYTES + 5)
    sealed = cipher().encrypt(data, CONTEXT)
    full = Aes256GcmCipher.SEGMENT_BYTES + 16
    positions = {0, 1, 16, 17, 23, 24, 25, len(sealed) // 2, len(sealed) - 1}
    positions |= {24 + k * full + d for k in (1, 2) for d in (-17, -16, -1, 0)}

    for position in sorted(positions):
        tampered = bytearray(sealed)
        tampered[position] ^= 0x01
        with pytest.raises(DecryptionFailed):
            cipher().decrypt(bytes(tampered), CONTEXT)


@pytest.mark.usefixtures("small_limit")
@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda sealed: sealed[:-1], id="truncated"),
        pytest.param(lambda sealed: sealed + b"\0", id="extended"),
        pytest.param(lambda sealed: sealed[:-16], id="without-tag"),
    ],
)
def test_a_truncated_or_extended_version_1_file_fails_piecewise_decryption(
    medium: bytes, change: Callable[[bytes], bytes]
) -> None:
    with pytest.raises(DecryptionFailed):
        cipher().decrypt(change(version_1(medium, CONTEXT)), CONTEXT)


@pytest.mark.usefixtures("small_limit")
def test_piecewise_decryption_of_version_1_under_another_context_or_key_fails(
    medium: bytes,
) -> None:
    sealed = version_1(medium, CONTEXT)

    with pytest.raises(DecryptionFailed):
        cipher().decrypt(sealed, CONTEXT + b"x")
    with pytest.raises(DecryptionFailed):
        Aes256GcmCipher(os.urandom(32)).decrypt(sealed, CONTEXT)


# Codecs piece by piece


class WholeGzip(GzipCodec):
    """A codec with only ``encode`` and ``decode``, as a third party may write one."""

    encode_pieces = Codec.encode_pieces


def test_the_default_encode_pieces_yields_encode_once() -> None:
    codec = WholeGzip()
    data = b"some text, some text, some text\n" * 1000

    assert list(codec.encode_pieces(data)) == [codec.encode(data)]


@needs_zstd
@pytest.mark.parametrize("size", [0, 1, 3 << 20])
def test_zstd_encode_pieces_makes_one_frame_the_tools_read(size: int) -> None:
    data = large_blob(size)

    pieces = list(ZstdCodec().encode_pieces(data))

    frame = b"".join(pieces)
    assert ZstdCodec().decode(frame, max_size=size) == data
    assert zstd_cli_decode(frame) == data
    parameters = zstandard.get_frame_parameters(frame)
    assert parameters.content_size == size
    assert parameters.has_checksum


def test_zstd_encode_pieces_yields_as_it_compresses() -> None:
    data = os.urandom(3 << 20)

    assert len(list(ZstdCodec().encode_pieces(data))) > 1
