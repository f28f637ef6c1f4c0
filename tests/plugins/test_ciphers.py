"""The built-in ciphers: round trips, refusals, the aes256gcm file format, and fernet files
as gitblobts 0.0.7 wrote them."""

from __future__ import annotations

import base64
import os
import tracemalloc

import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from hypothesis import given, settings
from hypothesis import strategies as st

from gitblobts.core import keys
from gitblobts.core.cipher import Cipher, DecryptionFailed
from gitblobts.core.errors import InvalidKeyError
from gitblobts.core.plugins import load_plugins

PLUGINS = load_plugins(only=())
NAMES = ["aes256gcm", "fernet"]
KEY = os.urandom(32)
OTHER_KEY = os.urandom(32)
CONTEXT = b"20260124T061500.123456789Z-k3j4h5"
MESSAGE = b"a short secret blob"


def cipher(name: str, key: bytes = KEY) -> Cipher:
    return PLUGINS.ciphers.get(name)(key)


def key_forms(key: bytes) -> list[str]:
    """The ways a key could leak into text: raw, hex, base64 and URL-safe base64."""
    return [
        repr(key),
        key.hex(),
        base64.b64encode(key).decode(),
        base64.urlsafe_b64encode(key).decode(),
    ]


def failure(name: str, data: bytes, context: bytes = CONTEXT) -> DecryptionFailed:
    with pytest.raises(DecryptionFailed) as raised:
        cipher(name).decrypt(data, context)
    return raised.value


def test_the_two_built_in_ciphers_are_registered() -> None:
    assert set(PLUGINS.ciphers.names()) == {"aes256gcm", "fernet"}


@pytest.mark.parametrize("name", NAMES)
@given(data=st.binary(max_size=2000), context=st.binary(max_size=64))
@settings(max_examples=50, deadline=None)
def test_decrypt_reverses_encrypt_for_any_bytes_and_context(
    name: str, data: bytes, context: bytes
) -> None:
    assert cipher(name).decrypt(cipher(name).encrypt(data, context), context) == data


@pytest.mark.parametrize("name", NAMES)
def test_the_empty_blob_round_trips(name: str) -> None:
    assert cipher(name).decrypt(cipher(name).encrypt(b"", CONTEXT), CONTEXT) == b""


@pytest.mark.parametrize("name", NAMES)
def test_a_large_blob_round_trips(name: str) -> None:
    data = os.urandom(3_000_000)
    assert cipher(name).decrypt(cipher(name).encrypt(data, CONTEXT), CONTEXT) == data


@pytest.mark.parametrize("name", NAMES)
def test_encrypting_the_same_blob_twice_gives_different_files(name: str) -> None:
    assert cipher(name).encrypt(MESSAGE, CONTEXT) != cipher(name).encrypt(MESSAGE, CONTEXT)


@pytest.mark.parametrize("name", NAMES)
def test_a_wrong_key_fails_to_decrypt(name: str) -> None:
    encrypted = cipher(name).encrypt(MESSAGE, CONTEXT)
    with pytest.raises(DecryptionFailed):
        cipher(name, OTHER_KEY).decrypt(encrypted, CONTEXT)


def test_aes256gcm_refuses_a_file_moved_to_another_context() -> None:
    encrypted = cipher("aes256gcm").encrypt(MESSAGE, CONTEXT)
    with pytest.raises(DecryptionFailed):
        cipher("aes256gcm").decrypt(encrypted, CONTEXT + b"x")


def test_fernet_cannot_bind_the_context_and_ignores_it() -> None:
    encrypted = cipher("fernet").encrypt(MESSAGE, CONTEXT)
    assert cipher("fernet").decrypt(encrypted, b"another blob") == MESSAGE


def test_aes256gcm_refuses_every_flipped_bit() -> None:
    encrypted = cipher("aes256gcm").encrypt(MESSAGE, CONTEXT)
    for bit in range(len(encrypted) * 8):
        tampered = bytearray(encrypted)
        tampered[bit // 8] ^= 1 << (bit % 8)
        failure("aes256gcm", bytes(tampered))


def test_fernet_never_returns_anything_but_the_plaintext_after_a_flipped_bit() -> None:
    # The last base64 character carries padding bits that decoders ignore; flipping one
    # changes the text, not the token, which still decrypts to the original.
    encrypted = cipher("fernet").encrypt(MESSAGE, CONTEXT)
    refused = 0
    for bit in range(len(encrypted) * 8):
        tampered = bytearray(encrypted)
        tampered[bit // 8] ^= 1 << (bit % 8)
        try:
            assert cipher("fernet").decrypt(bytes(tampered), CONTEXT) == MESSAGE
        except DecryptionFailed:
            refused += 1
    assert refused >= len(encrypted) * 8 - 8


@pytest.mark.parametrize("name", NAMES)
def test_every_truncation_fails_to_decrypt(name: str) -> None:
    encrypted = cipher(name).encrypt(MESSAGE, CONTEXT)
    for length in range(len(encrypted)):
        failure(name, encrypted[:length])


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("data", [b"", b"\x01", b"garbage" * 20, bytes(200)])
def test_garbage_fails_to_decrypt(name: str, data: bytes) -> None:
    failure(name, data)


@pytest.mark.parametrize("name", NAMES)
@given(data=st.binary(max_size=300))
@settings(max_examples=100, deadline=None)
def test_arbitrary_input_raises_decryption_failed(name: str, data: bytes) -> None:
    failure(name, data)


def test_aes256gcm_refuses_an_unknown_format_version() -> None:
    encrypted = cipher("aes256gcm").encrypt(MESSAGE, CONTEXT)
    assert "version 3" in str(failure("aes256gcm", b"\x03" + encrypted[1:]))


def file_key(salt: bytes, version: int) -> AESGCM:
    """A file's AES-GCM key, derived as docs/format.rst says, with cryptography's HKDF."""
    info = b"gitblobts/aes256gcm/v%d" % version
    return AESGCM(HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(KEY))


def segment_nonce(prefix: bytes, counter: int, final: bool) -> bytes:
    return prefix + counter.to_bytes(4, "big") + bytes((final,))


def test_aes256gcm_files_are_version_2_salt_nonce_prefix_and_one_final_segment() -> None:
    encrypted = cipher("aes256gcm").encrypt(MESSAGE, CONTEXT)
    version, salt, prefix, sealed = encrypted[0], encrypted[1:17], encrypted[17:24], encrypted[24:]
    assert version == 2
    assert len(encrypted) == 1 + 16 + 7 + len(MESSAGE) + 16
    nonce = segment_nonce(prefix, 0, final=True)
    assert file_key(salt, 2).decrypt(nonce, sealed, CONTEXT) == MESSAGE


def test_the_empty_blob_is_a_header_and_one_empty_final_segment() -> None:
    encrypted = cipher("aes256gcm").encrypt(b"", CONTEXT)
    assert len(encrypted) == 1 + 16 + 7 + 16
    nonce = segment_nonce(encrypted[17:24], 0, final=True)
    assert file_key(encrypted[1:17], 2).decrypt(nonce, encrypted[24:], CONTEXT) == b""


SEGMENT = 1 << 20
SEALED = SEGMENT + 16


def segments(encrypted: bytes) -> list[bytes]:
    body = encrypted[24:]
    return [body[start : start + SEALED] for start in range(0, len(body), SEALED)]


@pytest.mark.parametrize("size", [SEGMENT + 1, 2 * SEGMENT, 3 * SEGMENT - 1])
def test_aes256gcm_cuts_larger_blobs_into_full_segments_and_a_final_one(size: int) -> None:
    data = os.urandom(size)
    encrypted = cipher("aes256gcm").encrypt(data, CONTEXT)
    key, prefix = file_key(encrypted[1:17], 2), encrypted[17:24]
    parts = segments(encrypted)
    assert [len(part) for part in parts[:-1]] == [SEALED] * (len(parts) - 1)
    assert len(parts) == -(-size // SEGMENT)
    opened = [
        key.decrypt(segment_nonce(prefix, number, number == len(parts) - 1), part, CONTEXT)
        for number, part in enumerate(parts)
    ]
    assert b"".join(opened) == data


def test_a_blob_of_whole_segments_ends_with_a_full_final_segment() -> None:
    encrypted = cipher("aes256gcm").encrypt(bytes(2 * SEGMENT), CONTEXT)
    assert len(encrypted) == 24 + 2 * SEALED


def test_aes256gcm_version_1_files_still_decrypt() -> None:
    salt, nonce = os.urandom(16), os.urandom(12)
    version_1 = b"\x01" + salt + nonce + file_key(salt, 1).encrypt(nonce, MESSAGE, CONTEXT)
    assert cipher("aes256gcm").decrypt(version_1, CONTEXT) == MESSAGE
    decryptor = cipher("aes256gcm").decryptor(CONTEXT)
    assert decryptor.update(version_1) + decryptor.finish() == MESSAGE


def test_a_tampered_version_1_file_fails_to_decrypt() -> None:
    salt, nonce = os.urandom(16), os.urandom(12)
    version_1 = b"\x01" + salt + nonce + file_key(salt, 1).encrypt(nonce, MESSAGE, CONTEXT)
    tampered = version_1[:-1] + bytes((version_1[-1] ^ 1,))  # b"\0" was a no-op 1 in 256
    assert "not authentic" in str(failure("aes256gcm", tampered))


def three_segments() -> tuple[bytes, bytes]:
    data = os.urandom(3 * SEGMENT - 100)
    return data, cipher("aes256gcm").encrypt(data, CONTEXT)


def test_reordered_segments_fail_to_decrypt() -> None:
    _, encrypted = three_segments()
    first, second, last = segments(encrypted)
    failure("aes256gcm", encrypted[:24] + second + first + last)


def test_a_missing_middle_segment_fails_to_decrypt() -> None:
    _, encrypted = three_segments()
    first, _, last = segments(encrypted)
    failure("aes256gcm", encrypted[:24] + first + last)


def test_a_repeated_segment_fails_to_decrypt() -> None:
    _, encrypted = three_segments()
    first, second, last = segments(encrypted)
    failure("aes256gcm", encrypted[:24] + first + first + second + last)


@pytest.mark.parametrize("kept", [1, 2])
def test_a_file_cut_at_a_segment_boundary_fails_to_decrypt(kept: int) -> None:
    _, encrypted = three_segments()
    assert "as the last" in str(failure("aes256gcm", encrypted[: 24 + kept * SEALED]))


def test_a_segment_from_another_file_fails_to_decrypt() -> None:
    _, encrypted = three_segments()
    _, other = three_segments()
    failure("aes256gcm", encrypted[:24] + segments(other)[0] + b"".join(segments(encrypted)[1:]))


@pytest.mark.parametrize("extra", ["a byte", "a segment"])
def test_bytes_after_the_final_segment_fail_to_decrypt(extra: str) -> None:
    _, encrypted = three_segments()
    _, other = three_segments()
    failure("aes256gcm", encrypted + (b"\0" if extra == "a byte" else segments(other)[1]))


def test_the_decryptor_returns_the_segments_before_a_tampered_one_and_then_fails() -> None:
    data, encrypted = three_segments()
    tampered = bytearray(encrypted)
    tampered[24 + SEALED + 5] ^= 1
    decryptor = cipher("aes256gcm").decryptor(CONTEXT)
    assert decryptor.update(bytes(tampered[: 24 + SEALED + 1])) == data[:SEGMENT]
    with pytest.raises(DecryptionFailed):
        decryptor.update(bytes(tampered[24 + SEALED + 1 :]))


def test_encrypt_pieces_writes_segments_too() -> None:
    data = os.urandom(2 * SEGMENT + 3)
    encrypted = cipher("aes256gcm").encrypt_pieces([data[:5], data[5:]], CONTEXT)
    assert len(encrypted) == 24 + 2 * SEALED + 3 + 16
    assert cipher("aes256gcm").decrypt(bytes(encrypted), CONTEXT) == data


def test_fernet_files_decrypt_with_plain_fernet_as_in_gitblobts_0_0_7() -> None:
    key = Fernet.generate_key()
    raw = base64.urlsafe_b64decode(key)
    assert Fernet(key).decrypt(cipher("fernet", raw).encrypt(MESSAGE, CONTEXT)) == MESSAGE


def test_plain_fernet_tokens_from_gitblobts_0_0_7_decrypt() -> None:
    key = Fernet.generate_key()
    raw = base64.urlsafe_b64decode(key)
    assert cipher("fernet", raw).decrypt(Fernet(key).encrypt(MESSAGE), CONTEXT) == MESSAGE


@pytest.mark.parametrize("name", NAMES)
def test_the_key_is_not_in_the_repr(name: str) -> None:
    text = repr(cipher(name))
    assert name in text
    for form in key_forms(KEY):
        assert form not in text


@pytest.mark.parametrize("name", NAMES)
def test_the_key_is_not_in_decryption_errors(name: str) -> None:
    encrypted = cipher(name).encrypt(MESSAGE, CONTEXT)
    errors = [
        failure(name, encrypted[:5]),
        failure(name, b"\x09" + encrypted[1:]),
        failure(name, encrypted[:-1] + bytes((encrypted[-1] ^ 0x40,))),
    ]
    with pytest.raises(DecryptionFailed) as wrong_key:
        cipher(name, OTHER_KEY).decrypt(encrypted, CONTEXT)
    errors.append(wrong_key.value)
    for error in errors:
        for form in key_forms(KEY) + key_forms(OTHER_KEY):
            assert form not in str(error)
            assert form not in repr(error)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("key", [b"", bytes(31), bytes(33), "k" * 32], ids=["0", "31", "33", "str"])
def test_a_key_that_is_not_32_raw_bytes_is_refused_without_showing_it(
    name: str, key: bytes
) -> None:
    with pytest.raises(InvalidKeyError) as raised:
        PLUGINS.ciphers.get(name)(key)
    assert repr(key) not in str(raised.value)


@given(
    key=st.binary(min_size=32, max_size=32),
    info=st.binary(max_size=80),
    salt=st.none() | st.binary(max_size=130),
    length=st.sampled_from([1, 16, 31, 32, 33, 64, 100, 255 * 32]),
)
def test_keys_are_derived_by_hkdf_sha256(
    key: bytes, info: bytes, salt: bytes | None, length: int
) -> None:
    expected = HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(key)
    assert keys.derive(key, info, salt=salt, length=length) == expected


def test_streaming_a_large_file_holds_a_few_segments() -> None:
    """Encrypting and decrypting 32 MiB in updates of 1 MiB, never the whole file."""
    encryptor = cipher("aes256gcm").encryptor(CONTEXT)
    decryptor = cipher("aes256gcm").decryptor(CONTEXT)
    piece = os.urandom(SEGMENT)
    decrypted = 0
    tracemalloc.start()
    try:
        for _ in range(32):
            decrypted += len(decryptor.update(encryptor.update(piece)))
        decrypted += len(decryptor.update(encryptor.finish()))
        decrypted += len(decryptor.finish())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert decrypted == 32 * SEGMENT
    assert peak < 8 * SEGMENT


def test_decrypting_a_large_file_holds_its_plaintext_and_a_segment_or_two() -> None:
    encrypted = cipher("aes256gcm").encrypt(os.urandom(32 * SEGMENT), CONTEXT)
    tracemalloc.start()
    try:
        plaintext = cipher("aes256gcm").decrypt(encrypted, CONTEXT)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(plaintext) == 32 * SEGMENT
    assert peak < 35 * SEGMENT
