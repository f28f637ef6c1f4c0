"""Encryption keys: making them, reading them, and checking one against a store.

A key is 32 random bytes written as URL-safe base64 (44 characters), the form the seed's
``generate_key`` returned, so every key made for gitblobts 0.0.7 still works. Ciphers get the
32 raw bytes and derive what they need from them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os

from gitblobts.core.errors import InvalidKeyError

KEY_BYTES = 32
_KEY_CHECK_INFO = b"gitblobts/key-check/v1"


def generate_key() -> bytes:
    """Return a new random key, which every built-in cipher accepts. Keep it safe: without it
    encrypted blobs cannot be read."""
    return base64.urlsafe_b64encode(os.urandom(KEY_BYTES))


def decode_key(key: bytes | str) -> bytes:
    """The 32 raw bytes of ``key``; raises :class:`InvalidKeyError` (never showing the key)."""
    if isinstance(key, str):
        try:
            key = key.encode("ascii")
        except UnicodeEncodeError:
            raise InvalidKeyError("the key is not URL-safe base64 text") from None
    if not isinstance(key, (bytes, bytearray)):
        raise InvalidKeyError(
            f"the key must be bytes or str from generate_key(), not {type(key).__name__}"
        )
    try:
        raw = base64.urlsafe_b64decode(bytes(key).strip())
    except (binascii.Error, ValueError):
        raise InvalidKeyError("the key is not URL-safe base64 text") from None
    if len(raw) != KEY_BYTES:
        raise InvalidKeyError(
            f"the key decodes to {len(raw)} bytes",
            remedy=f"a key is {KEY_BYTES} bytes in URL-safe base64, as generate_key() returns",
        )
    return raw


def derive(raw_key: bytes, info: bytes, salt: bytes | None = None, length: int = 32) -> bytes:
    """A subkey of ``raw_key`` for one purpose (``info``), by HKDF-SHA256 (RFC 5869).

    Written out with :mod:`hashlib` because every encrypted file written or read derives
    its own key: this costs half what a general HKDF object does."""
    if not 0 < length <= 255 * _SHA256_BYTES:
        raise ValueError(f"HKDF-SHA256 derives 1 to {255 * _SHA256_BYTES} bytes, not {length}")
    if length <= _SHA256_BYTES and salt and len(salt) <= _SHA256_BLOCK:
        # One block, T(1) = HMAC(PRK, info || 0x01), both HMACs written out: every
        # encrypted file written or read comes here.
        key = salt + _ZEROS[len(salt) :]
        inner = _sha256(key.translate(_INNER_PAD) + raw_key).digest()
        key = _sha256(key.translate(_OUTER_PAD) + inner).digest() + _ZEROS[_SHA256_BYTES:]
        inner = _sha256(key.translate(_INNER_PAD) + info + b"\x01").digest()
        return _sha256(key.translate(_OUTER_PAD) + inner).digest()[:length]
    pseudorandom_key = _hmac_sha256(salt or _NO_SALT, raw_key)
    blocks = [b""]
    for counter in range(1, -(-length // _SHA256_BYTES) + 1):
        blocks.append(_hmac_sha256(pseudorandom_key, blocks[-1] + info + bytes((counter,))))
    return b"".join(blocks)[:length]


_SHA256_BYTES = 32
_SHA256_BLOCK = 64
_NO_SALT = bytes(_SHA256_BYTES)
_ZEROS = bytes(_SHA256_BLOCK)
_INNER_PAD = bytes(byte ^ 0x36 for byte in range(256))
_OUTER_PAD = bytes(byte ^ 0x5C for byte in range(256))
_sha256 = hashlib.sha256


def _hmac_sha256(key: bytes, message: bytes) -> bytes:
    """HMAC-SHA256 (RFC 2104)."""
    if len(key) > _SHA256_BLOCK:
        key = _sha256(key).digest()
    key += bytes(_SHA256_BLOCK - len(key))
    inner = _sha256(key.translate(_INNER_PAD) + message).digest()
    return _sha256(key.translate(_OUTER_PAD) + inner).digest()


def key_check(raw_key: bytes) -> str:
    """A one-way fingerprint of ``raw_key`` that a store records to recognise a wrong key."""
    return derive(raw_key, _KEY_CHECK_INFO, length=16).hex()


def matches(raw_key: bytes, recorded: str) -> bool:
    """Whether ``raw_key`` is the key whose :func:`key_check` is ``recorded``."""
    # compare_digest refuses text with other than ASCII characters, which no key check has.
    return recorded.isascii() and hmac.compare_digest(key_check(raw_key), recorded)
