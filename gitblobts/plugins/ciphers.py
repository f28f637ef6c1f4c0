"""The built-in ciphers: aes256gcm, the default for new encrypted blobs, and fernet, the
format of gitblobts 0.0.7's encrypted files."""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Iterable

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives.ciphers import Cipher as _AesCipher
from cryptography.hazmat.primitives.ciphers import algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gitblobts.core.cipher import Cipher, DecryptionFailed
from gitblobts.core.errors import InvalidKeyError
from gitblobts.core.hookspecs import hookimpl
from gitblobts.core.keys import KEY_BYTES, derive

_ONE_CALL_LIMIT = 1 << 30
"""Larger inputs are encrypted and decrypted a piece at a time: one AES-GCM call takes at
most 2 GiB."""


def _check_key(key: bytes) -> bytes:
    """``key`` as bytes if it is the 32 raw bytes a cipher takes (never showing it)."""
    if not isinstance(key, (bytes, bytearray)) or len(key) != KEY_BYTES:
        raise InvalidKeyError(f"a cipher key is {KEY_BYTES} raw bytes")
    return bytes(key)


class Aes256GcmCipher(Cipher):
    """AES-256-GCM under a key derived for each file, bound to the blob's identity.

    A file is, byte by byte::

        version      1 byte    0x01
        salt        16 bytes   random
        nonce       12 bytes   random
        ciphertext   n bytes   AES-256-GCM encryption of the n-byte plaintext
        tag         16 bytes   GCM authentication tag

    The AES key is ``HKDF-SHA256(ikm=key, salt=salt, info=b"gitblobts/aes256gcm/v1",
    length=32)``, where ``key`` is the store's 32 raw key bytes; a fresh key per file keeps
    GCM's limits on nonces and data per key out of reach. The GCM associated data is the
    ``context`` (the blob's identity as ASCII), so a file moved to another name fails to
    decrypt. The associated data is not stored in the file.
    """

    name = "aes256gcm"
    VERSION = 1
    SALT_BYTES = 16
    NONCE_BYTES = 12
    TAG_BYTES = 16
    INFO = b"gitblobts/aes256gcm/v1"
    _HEADER_BYTES = 1 + SALT_BYTES + NONCE_BYTES

    def __init__(self, key: bytes) -> None:
        self._key = _check_key(key)

    def _file_key(self, salt: bytes) -> AESGCM:
        return AESGCM(derive(self._key, self.INFO, salt=salt))

    def encrypt(self, data: bytes, context: bytes) -> bytes:
        if len(data) > _ONE_CALL_LIMIT:
            return bytes(self.encrypt_pieces([data], context))
        salt = os.urandom(self.SALT_BYTES)
        nonce = os.urandom(self.NONCE_BYTES)
        sealed = self._file_key(salt).encrypt(nonce, data, context)
        return b"".join((bytes((self.VERSION,)), salt, nonce, sealed))

    def encrypt_pieces(self, pieces: Iterable[bytes], context: bytes) -> bytearray:
        # The same bytes as encrypt, built up in one growing buffer (large buffers grow in
        # place), with no limit on the size.
        salt = os.urandom(self.SALT_BYTES)
        nonce = os.urandom(self.NONCE_BYTES)
        key = derive(self._key, self.INFO, salt=salt)
        encryptor = _AesCipher(algorithms.AES(key), modes.GCM(nonce)).encryptor()
        encryptor.authenticate_additional_data(context)
        out = bytearray((self.VERSION,))
        out += salt
        out += nonce
        for piece in pieces:
            view = memoryview(piece)
            for start in range(0, len(view), _ONE_CALL_LIMIT):
                out += encryptor.update(view[start : start + _ONE_CALL_LIMIT])
        out += encryptor.finalize()
        out += encryptor.tag
        return out

    def decrypt(self, data: bytes, context: bytes) -> bytes:
        if len(data) < self._HEADER_BYTES + self.TAG_BYTES:
            raise DecryptionFailed(
                f"{len(data)} bytes is too short for an {self.name} file "
                f"(at least {self._HEADER_BYTES + self.TAG_BYTES})"
            )
        if data[0] != self.VERSION:
            raise DecryptionFailed(f"unknown {self.name} format version {data[0]}")
        view = memoryview(data)
        salt = bytes(view[1 : 1 + self.SALT_BYTES])
        nonce = bytes(view[1 + self.SALT_BYTES : self._HEADER_BYTES])
        try:
            if len(view) > _ONE_CALL_LIMIT:
                return self._decrypt_pieces(salt, nonce, view[self._HEADER_BYTES :], context)
            return self._file_key(salt).decrypt(nonce, view[self._HEADER_BYTES :], context)
        except (InvalidTag, ValueError, OverflowError, TypeError):
            raise DecryptionFailed(
                f"{self.name}: not authentic under this key and context"
            ) from None

    def _decrypt_pieces(
        self, salt: bytes, nonce: bytes, sealed: memoryview, context: bytes
    ) -> bytes:
        """Decrypt a file too large for one call, a piece at a time; nothing is returned
        unless the tag verifies."""
        body, tag = sealed[: -self.TAG_BYTES], bytes(sealed[-self.TAG_BYTES :])
        key = derive(self._key, self.INFO, salt=salt)
        decryptor = _AesCipher(algorithms.AES(key), modes.GCM(nonce, tag)).decryptor()
        decryptor.authenticate_additional_data(context)
        out = bytearray()
        for start in range(0, len(body), _ONE_CALL_LIMIT):
            out += decryptor.update(body[start : start + _ONE_CALL_LIMIT])
        out += decryptor.finalize()
        return bytes(out)


class FernetCipher(Cipher):
    """Fernet, as gitblobts 0.0.7 wrote encrypted files: a file is exactly
    ``Fernet(base64.urlsafe_b64encode(key)).encrypt(data)`` (AES-128-CBC with HMAC-SHA256,
    in URL-safe base64).

    Fernet has no associated data, so ``context`` is ignored: a fernet file renamed to
    another time still decrypts. Tokens are accepted whatever their age.
    """

    name = "fernet"

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(base64.urlsafe_b64encode(_check_key(key)))

    def encrypt(self, data: bytes, context: bytes) -> bytes:
        return self._fernet.encrypt(data if type(data) is bytes else bytes(data))

    def decrypt(self, data: bytes, context: bytes) -> bytes:
        try:
            return self._fernet.decrypt(data if type(data) is bytes else bytes(data))
        except Exception:
            raise DecryptionFailed(f"{self.name}: not authentic under this key") from None


@hookimpl
def gitblobts_register_ciphers(register: Callable[[type[Cipher]], None]) -> None:
    """Register the built-in ciphers."""
    register(Aes256GcmCipher)
    register(FernetCipher)
