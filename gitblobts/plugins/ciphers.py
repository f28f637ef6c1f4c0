"""The built-in ciphers: aes256gcm, the default for new encrypted blobs, and fernet, the
format of gitblobts 0.0.7's encrypted files."""

from __future__ import annotations

import base64
import hashlib
import io
import os
from collections.abc import Callable, Iterable

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives.ciphers import Cipher as _AesCipher
from cryptography.hazmat.primitives.ciphers import algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gitblobts.core.cipher import Cipher, DecryptionFailed, Decryptor, Encryptor
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
    """AES-256-GCM under a key derived for each file, bound to the blob's identity, in
    segments that can be encrypted and decrypted as they stream.

    A file of version 2, which this cipher writes, is, byte by byte::

        version        1 byte    0x02
        salt          16 bytes   random
        nonce prefix   7 bytes   random
        segments                 each: AES-256-GCM ciphertext of up to 1 MiB, then its
                                 16-byte tag

    The AES key is ``HKDF-SHA256(ikm=key, salt=salt, info=b"gitblobts/aes256gcm/v2",
    length=32)``, where ``key`` is the store's 32 raw key bytes: a fresh key per file keeps
    GCM's limits on nonces and data per key out of reach. The plaintext is cut into segments
    of :data:`SEGMENT_BYTES` (1 MiB, fixed by the version); every segment but the last is
    full, the last holds 1 to 1 MiB bytes (none only for the empty plaintext). Segment ``i``
    (from 0) is encrypted with the nonce ``prefix || i (4 bytes, big-endian) || final``,
    ``final`` being the byte 1 for the last segment and 0 for the others, and the ``context``
    (the blob's identity as ASCII) as associated data, which is not stored. So a segment
    authenticates only at its own place: reordered, dropped or repeated segments fail, a file
    cut after any segment fails (its last segment was not sealed as final), and so does one
    with bytes after its final segment. A decryptor returns a segment's plaintext only once
    its tag has verified, and holds back one full segment until it knows whether the file
    ends there. A blob of up to 1 MiB is one segment: one AES-GCM call, 40 bytes of overhead.

    Version 1 files (every file before format version 2 of this cipher) are still read::

        version      1 byte    0x01
        salt        16 bytes   random
        nonce       12 bytes   random
        ciphertext   n bytes   AES-256-GCM encryption of the n-byte plaintext
        tag         16 bytes   GCM authentication tag

    with the key derived under ``info=b"gitblobts/aes256gcm/v1"`` and the same associated
    data. Their single tag covers the whole file, so they decrypt whole, not as they stream.
    """

    name = "aes256gcm"
    authenticates_segments = True
    VERSION = 2
    SALT_BYTES = 16
    PREFIX_BYTES = 7
    TAG_BYTES = 16
    SEGMENT_BYTES = 1 << 20
    INFO = b"gitblobts/aes256gcm/v2"
    _HEADER_BYTES = 1 + SALT_BYTES + PREFIX_BYTES
    V1_NONCE_BYTES = 12
    V1_INFO = b"gitblobts/aes256gcm/v1"
    _V1_HEADER_BYTES = 1 + SALT_BYTES + V1_NONCE_BYTES

    def __init__(self, key: bytes) -> None:
        self._key = _check_key(key)

    def _file_key(self, salt: bytes, info: bytes = INFO) -> AESGCM:
        return AESGCM(derive(self._key, info, salt=salt))

    def _file_key_of(self, salt: bytes) -> bytes:
        """The AES key of a version-2 file whose salt is ``salt``: ``derive(key, INFO,
        salt)`` (HKDF-SHA256 of 32 bytes: two HMAC-SHA256), written out for a salt of at
        most a block, which a read of thousands of files pays once each."""
        block = salt.ljust(_BLOCK, b"\0")
        sha256 = hashlib.sha256
        inner = sha256(block.translate(_INNER) + self._key).digest()
        block = sha256(block.translate(_OUTER) + inner).digest().ljust(_BLOCK, b"\0")
        inner = sha256(block.translate(_INNER) + _EXPAND).digest()
        return sha256(block.translate(_OUTER) + inner).digest()

    def _new_file(self) -> tuple[bytes, _Segments]:
        """A new file's header and the segments that follow it."""
        salt = os.urandom(self.SALT_BYTES + self.PREFIX_BYTES)
        header = bytes((self.VERSION,)) + salt
        return header, _Segments(self._file_key(salt[: self.SALT_BYTES]), salt[self.SALT_BYTES :])

    def encrypt(self, data: bytes, context: bytes) -> bytes:
        if len(data) <= self.SEGMENT_BYTES:  # one segment, one call: small blobs stay cheap
            # What _new_file and _Segments.seal do, inline: a batch encrypts thousands.
            salt = os.urandom(self.SALT_BYTES + self.PREFIX_BYTES)
            aead = AESGCM(derive(self._key, self.INFO, salt=salt[: self.SALT_BYTES]))
            nonce = salt[self.SALT_BYTES :] + _FIRST_AND_FINAL
            return b"".join((_VERSION_2, salt, aead.encrypt(nonce, data, context)))
        encryptor = self.encryptor(context)
        return encryptor.update(data) + encryptor.finish()

    def encrypt_pieces(self, pieces: Iterable[bytes], context: bytes) -> bytearray:
        encryptor = self.encryptor(context)
        out = bytearray()
        for piece in pieces:
            out += encryptor.update(piece)
        out += encryptor.finish()
        return out

    def encryptor(self, context: bytes) -> Encryptor:
        header, segments = self._new_file()
        return _SegmentEncryptor(header, segments, context)

    def decrypt(self, data: bytes, context: bytes) -> bytes:
        if _SHORTEST <= len(data) <= _ONE_SEGMENT and data[0] == self.VERSION:
            # One segment (a blob of up to 1 MiB): as _open_header and open_all would do
            # it, in one call for reads of many small blobs.
            try:
                aead = AESGCM(self._file_key_of(data[1 : 1 + self.SALT_BYTES]))
                nonce = data[1 + self.SALT_BYTES : self._HEADER_BYTES] + _FIRST_AND_LAST
                return aead.decrypt(nonce, memoryview(data)[self._HEADER_BYTES :], context)
            except (InvalidTag, ValueError, OverflowError, TypeError):
                raise DecryptionFailed(
                    f"{self.name}: segment 0 as the last is not authentic: tampered, "
                    "reordered, cut short, extended, or under another key or context"
                ) from None
        if data[:1] == b"\x01":
            return self._decrypt_v1(data, context)
        view = memoryview(data)
        segments = self._open_header(view)
        body = view[self._HEADER_BYTES :]
        if len(body) <= self.SEGMENT_BYTES + self.TAG_BYTES:
            return segments.open(body, context, final=True)
        return segments.open_all(body, context)

    def decryptor(self, context: bytes) -> Decryptor:
        return _SegmentDecryptor(self, context)

    def _open_header(self, data: bytes | bytearray | memoryview) -> _Segments:
        """The segments of a version-2 file whose first bytes are ``data``; raise
        :class:`DecryptionFailed` if they are not a version-2 header."""
        if len(data) < self._HEADER_BYTES + self.TAG_BYTES:
            raise DecryptionFailed(
                f"{len(data)} bytes is too short for an {self.name} file "
                f"(at least {self._HEADER_BYTES + self.TAG_BYTES})"
            )
        if data[0] != self.VERSION:
            raise DecryptionFailed(f"unknown {self.name} format version {data[0]}")
        salt = bytes(data[1 : 1 + self.SALT_BYTES])
        return _Segments(
            self._file_key(salt), bytes(data[1 + self.SALT_BYTES : self._HEADER_BYTES])
        )

    def _decrypt_v1(self, data: bytes, context: bytes) -> bytes:
        """Decrypt a version-1 file (one nonce and one tag for the whole file)."""
        if len(data) < self._V1_HEADER_BYTES + self.TAG_BYTES:
            raise DecryptionFailed(
                f"{len(data)} bytes is too short for an {self.name} file "
                f"(at least {self._V1_HEADER_BYTES + self.TAG_BYTES})"
            )
        view = memoryview(data)
        salt = bytes(view[1 : 1 + self.SALT_BYTES])
        nonce = bytes(view[1 + self.SALT_BYTES : self._V1_HEADER_BYTES])
        try:
            if len(view) > _ONE_CALL_LIMIT:
                return self._decrypt_v1_pieces(salt, nonce, view[self._V1_HEADER_BYTES :], context)
            return self._file_key(salt, self.V1_INFO).decrypt(
                nonce, view[self._V1_HEADER_BYTES :], context
            )
        except (InvalidTag, ValueError, OverflowError, TypeError):
            raise DecryptionFailed(
                f"{self.name}: not authentic under this key and context"
            ) from None

    def _decrypt_v1_pieces(
        self, salt: bytes, nonce: bytes, sealed: memoryview, context: bytes
    ) -> bytes:
        """Decrypt a version-1 file too large for one call, a piece at a time; nothing is
        returned unless the tag verifies."""
        body, tag = sealed[: -self.TAG_BYTES], bytes(sealed[-self.TAG_BYTES :])
        key = derive(self._key, self.V1_INFO, salt=salt)
        decryptor = _AesCipher(algorithms.AES(key), modes.GCM(nonce, tag)).decryptor()
        decryptor.authenticate_additional_data(context)
        out = bytearray()
        for start in range(0, len(body), _ONE_CALL_LIMIT):
            out += decryptor.update(body[start : start + _ONE_CALL_LIMIT])
        out += decryptor.finalize()
        return bytes(out)


_VERSION_2 = bytes((Aes256GcmCipher.VERSION,))
_FIRST_AND_FINAL = b"\x00\x00\x00\x00\x01"
"""The end of the nonce of a file's only segment: counter 0, final."""
_SEGMENT = Aes256GcmCipher.SEGMENT_BYTES
_SHORTEST = Aes256GcmCipher._HEADER_BYTES + Aes256GcmCipher.TAG_BYTES
_ONE_SEGMENT = _SHORTEST + _SEGMENT
"""The sizes of a version-2 file of one segment."""
_FIRST_AND_LAST = bytes(4) + b"\x01"
"""The end of the nonce of a file's only segment: counter 0, final."""
_BLOCK = 64
"""SHA-256's block: HMAC's keys are padded to it."""
_INNER = bytes(byte ^ 0x36 for byte in range(256))
_OUTER = bytes(byte ^ 0x5C for byte in range(256))
_EXPAND = Aes256GcmCipher.INFO + b"\x01"
"""HKDF's expand step's message for the first 32 bytes."""
_SEALED = _SEGMENT + Aes256GcmCipher.TAG_BYTES
"""A full segment's size in the file."""
_MAX_SEGMENTS = 1 << 32
"""The segment counter takes 4 bytes: a file holds at most 4 PiB."""


class _Segments:
    """One version-2 file's segments: sealed and opened in order, each under its nonce."""

    def __init__(self, aead: AESGCM, prefix: bytes) -> None:
        self._aead = aead
        self._prefix = prefix
        self.counter = 0

    def _nonce(self, final: bool) -> bytes:
        if self.counter >= _MAX_SEGMENTS:
            raise DecryptionFailed(f"{Aes256GcmCipher.name}: more than {_MAX_SEGMENTS} segments")
        nonce = self._prefix + self.counter.to_bytes(4, "big") + (b"\x01" if final else b"\x00")
        self.counter += 1
        return nonce

    def seal(
        self, plaintext: bytes | bytearray | memoryview, context: bytes, *, final: bool
    ) -> bytes:
        """The next segment, sealing ``plaintext`` (at most a segment's worth)."""
        return self._aead.encrypt(self._nonce(final), plaintext, context)

    def open(self, sealed: bytes | memoryview, context: bytes, *, final: bool) -> bytes:
        """The plaintext of the next segment, ``sealed``; raise :class:`DecryptionFailed`
        unless it is authentic at this place."""
        try:
            return self._aead.decrypt(self._nonce(final), sealed, context)
        except (InvalidTag, ValueError, OverflowError, TypeError):
            raise DecryptionFailed(
                f"{Aes256GcmCipher.name}: segment {self.counter - 1}"
                f"{' as the last' if final else ''} is not authentic: tampered, reordered, "
                "cut short, extended, or under another key or context"
            ) from None

    def open_all(self, body: memoryview, context: bytes) -> bytes:
        """The plaintext of every segment of ``body``, all the file after its header: full
        segments, then a final one of at most a full segment's size. It is written into one
        buffer of its final size, which is returned uncopied (CPython shares a
        :class:`io.BytesIO`'s buffer when it is exactly full): a large file costs its
        plaintext and a segment."""
        if not body:
            raise DecryptionFailed(f"{Aes256GcmCipher.name}: truncated (no final segment)")
        last = (len(body) - 1) // _SEALED * _SEALED
        out = io.BytesIO()
        size = len(body) - (last // _SEALED + 1) * Aes256GcmCipher.TAG_BYTES
        if size > 0:
            out.seek(size - 1)
            out.write(b"\0")
            out.seek(0)
        for start in range(0, last, _SEALED):
            out.write(self.open(body[start : start + _SEALED], context, final=False))
        out.write(self.open(body[last:], context, final=True))
        return out.getvalue()


class _SegmentEncryptor:
    """:meth:`Aes256GcmCipher.encryptor`: seals each full segment once a byte after it
    shows that it is not the last."""

    def __init__(self, header: bytes, segments: _Segments, context: bytes) -> None:
        self._header = header
        self._segments = segments
        self._context = context
        self._buffer = bytearray()

    def update(self, data: bytes) -> bytes:
        view = memoryview(data)
        out = [self._header]
        self._header = b""
        if self._buffer and len(self._buffer) + len(view) > _SEGMENT:
            taken = _SEGMENT - len(self._buffer)
            self._buffer += view[:taken]
            view = view[taken:]
            out.append(self._segments.seal(self._buffer, self._context, final=False))
            self._buffer.clear()
        start = 0
        while len(view) - start > _SEGMENT:
            out.append(
                self._segments.seal(view[start : start + _SEGMENT], self._context, final=False)
            )
            start += _SEGMENT
        self._buffer += view[start:]
        return b"".join(out)

    def finish(self) -> bytes:
        last = self._segments.seal(self._buffer, self._context, final=True)
        self._buffer.clear()
        return self._header + last


class _SegmentDecryptor:
    """:meth:`Aes256GcmCipher.decryptor`: opens each segment once it is whole and a byte
    after it shows that it is not the last; a version-1 file is decrypted whole at
    :meth:`finish`."""

    def __init__(self, cipher: Aes256GcmCipher, context: bytes) -> None:
        self._cipher = cipher
        self._context = context
        self._buffer = bytearray()
        self._segments: _Segments | None = None
        self._v1 = False

    def update(self, data: bytes) -> bytes:
        self._buffer += data
        if (
            self._v1
            or len(self._buffer) < Aes256GcmCipher._HEADER_BYTES + Aes256GcmCipher.TAG_BYTES
        ):
            return b""
        if self._segments is None:
            if self._buffer[0] == 1:
                self._v1 = True
                return b""
            self._segments = self._cipher._open_header(self._buffer)
            del self._buffer[: Aes256GcmCipher._HEADER_BYTES]
        opened = []
        start = 0
        with memoryview(self._buffer) as view:
            while len(view) - start > _SEALED:
                sealed = view[start : start + _SEALED]
                opened.append(self._segments.open(sealed, self._context, final=False))
                sealed.release()
                start += _SEALED
        del self._buffer[:start]
        return b"".join(opened)

    def finish(self) -> bytes:
        data, self._buffer = bytes(self._buffer), bytearray()
        if self._segments is None:
            return self._cipher.decrypt(data, self._context)  # version 1, or too short
        return self._segments.open_all(memoryview(data), self._context)


class FernetCipher(Cipher):
    """Fernet, as gitblobts 0.0.7 wrote encrypted files: a file is exactly
    ``Fernet(base64.urlsafe_b64encode(key)).encrypt(data)`` (AES-128-CBC with HMAC-SHA256,
    in URL-safe base64).

    A token has one HMAC over all of it, so it cannot stream: its encryptor and decryptor
    are the buffering defaults, holding the whole blob.

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
