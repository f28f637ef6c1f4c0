"""The cipher contract: how compressed bytes are encrypted into a stored file and back.

A cipher is a class with

- ``name``: the identifier users pass (``cipher='aes256gcm'``), the store configuration
  records, and every encrypted file name carries as its last suffix;
- ``__init__(key)``, where ``key`` is the 32 raw bytes behind a key from
  :func:`gitblobts.generate_key` (which is their URL-safe base64 form). The base class
  declares ``__init__`` abstract and keeps no state, so each cipher defines its own and
  need not call ``super().__init__``. A key that is not 32 bytes raises
  :class:`~gitblobts.core.errors.InvalidKeyError`, whose message never shows the key;
- ``encrypt(data, context) -> bytes`` and ``decrypt(data, context) -> bytes``, with
  ``decrypt(encrypt(x, c), c) == x``. ``context`` says where the file belongs, as ASCII
  (:attr:`BlobContext.cipher_context <gitblobts.core.contexts.BlobContext.cipher_context>`):
  a blob's identity (its time and random part), ``key:<id>/`` before it for a key's
  version, ``content:<file id>`` for a content file, ``gitblobts key name:<id>`` for a
  key's name record. An authenticated cipher binds it, so that a file renamed to another
  time, key or content fails to decrypt; a cipher treats it as opaque bytes. ``decrypt``
  raises :class:`DecryptionFailed` on a wrong key, tampering or truncation, never returns
  garbage, and core names the file in the error it raises (any other exception is a bug in
  the cipher: core raises a :class:`~gitblobts.core.errors.PluginError` naming its class);
- optionally ``encrypt_pieces(pieces, context)``, ``encrypt`` of the joined pieces consuming
  them as they come, which core uses for large blobs;
- optionally ``encryptor(context)`` and ``decryptor(context)``: incremental encryption and
  decryption (:class:`Encryptor`, :class:`Decryptor`), which core uses to stream blobs of any
  size in bounded memory. A decryptor returns only plaintext it has authenticated, so a
  cipher that streams must authenticate its file in segments, binding each segment's
  position and the last one's finality, and says so with ``authenticates_segments = True``
  (the conformance kit then tests it). The defaults buffer the whole file and call
  ``encrypt``/``decrypt`` once, so a cipher without them still works, holding each blob whole.

Compatibility rule: a name means one byte format forever. Cipher names and codec extensions
share the file-name suffix space, so a cipher name may not equal any codec extension.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable
from typing import ClassVar, Protocol


class DecryptionFailed(ValueError):
    """Raised by :meth:`Cipher.decrypt` for a wrong key, tampered or truncated data."""


class Encryptor(Protocol):
    """One file's incremental encryption: ``b"".join([update(a), update(b), finish()])``
    decrypts, under the same context, to ``a + b``."""

    def update(self, data: bytes) -> bytes:
        """Encrypt ``data``, the plaintext's next bytes; return what is ready."""

    def finish(self) -> bytes:
        """Return the rest of the file; the encryptor is not used again."""


class Decryptor(Protocol):
    """One file's incremental decryption, returning only authenticated plaintext."""

    def update(self, data: bytes) -> bytes:
        """Take ``data``, the file's next bytes; return the plaintext authenticated so far
        (maybe nothing). Raise :class:`DecryptionFailed` as soon as a segment is not
        authentic."""

    def finish(self) -> bytes:
        """Return the rest; raise :class:`DecryptionFailed` if the file is truncated, went
        on after its final segment, or is not authentic."""


class Cipher(abc.ABC):
    """Encryption cipher; see the module docstring for the contract."""

    name: ClassVar[str]
    authenticates_segments: ClassVar[bool] = False
    """Whether :meth:`decryptor` streams: returns each segment's plaintext as soon as it is
    authenticated, and detects segments reordered, dropped or appended and a file cut short
    (the conformance kit then tests that). ``False`` for a cipher that decrypts whole files."""

    @abc.abstractmethod
    def __init__(self, key: bytes) -> None:
        """Prepare the cipher for ``key``, 32 raw bytes."""

    @abc.abstractmethod
    def encrypt(self, data: bytes, context: bytes) -> bytes:
        """Return ``data`` encrypted, bound to ``context`` where the cipher can."""

    def encrypt_pieces(self, pieces: Iterable[bytes], context: bytes) -> bytes | bytearray:
        """``encrypt(b"".join(pieces), context)``, consuming ``pieces`` as they come. A cipher
        that can encrypt incrementally overrides this, so that a large blob is never held
        whole both compressed and encrypted. The default joins, then encrypts."""
        return self.encrypt(b"".join(pieces), context)

    @abc.abstractmethod
    def decrypt(self, data: bytes, context: bytes) -> bytes:
        """Return the plaintext of ``data``; raise :class:`DecryptionFailed` if it is not
        authentic under this key and ``context``."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"

    def __str__(self) -> str:
        """The cipher's name, as users give and see it (``aes256gcm``)."""
        return self.name

    def encryptor(self, context: bytes) -> Encryptor:
        """A new :class:`Encryptor` bound to ``context``. The default buffers the plaintext
        and encrypts it at ``finish``; a cipher that can encrypt in segments overrides this."""
        return _BufferingEncryptor(self, context)

    def decryptor(self, context: bytes) -> Decryptor:
        """A new :class:`Decryptor` for a file bound to ``context``. The default buffers the
        file and decrypts it at ``finish``; a cipher that authenticates segments overrides
        this."""
        return _BufferingDecryptor(self, context)


class _BufferingEncryptor:
    """:meth:`Cipher.encryptor` for a cipher that only encrypts whole files."""

    def __init__(self, cipher: Cipher, context: bytes) -> None:
        self._cipher = cipher
        self._context = context
        self._buffer = bytearray()

    def update(self, data: bytes) -> bytes:
        self._buffer += data
        return b""

    def finish(self) -> bytes:
        data, self._buffer = bytes(self._buffer), bytearray()
        return self._cipher.encrypt(data, self._context)


class _BufferingDecryptor:
    """:meth:`Cipher.decryptor` for a cipher that only decrypts whole files."""

    def __init__(self, cipher: Cipher, context: bytes) -> None:
        self._cipher = cipher
        self._context = context
        self._buffer = bytearray()

    def update(self, data: bytes) -> bytes:
        self._buffer += data
        return b""

    def finish(self) -> bytes:
        data, self._buffer = bytes(self._buffer), bytearray()
        return self._cipher.decrypt(data, self._context)
