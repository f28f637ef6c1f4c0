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
  ``decrypt(encrypt(x, c), c) == x``. ``context`` is the blob's identity (its time and random
  part, as ASCII); an authenticated cipher binds it, so that a file renamed to another time
  fails to decrypt. ``decrypt`` raises :class:`DecryptionFailed` on a wrong key, tampering or
  truncation, never returns garbage, and core names the file in the error it raises (any
  other exception is a bug in the cipher: core raises a
  :class:`~gitblobts.core.errors.PluginError` naming its class);
- optionally ``encrypt_pieces(pieces, context)``, ``encrypt`` of the joined pieces consuming
  them as they come, which core uses for large blobs.

Compatibility rule: a name means one byte format forever. Cipher names and codec extensions
share the file-name suffix space, so a cipher name may not equal any codec extension.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable
from typing import ClassVar


class DecryptionFailed(ValueError):
    """Raised by :meth:`Cipher.decrypt` for a wrong key, tampered or truncated data."""


class Cipher(abc.ABC):
    """Encryption cipher; see the module docstring for the contract."""

    name: ClassVar[str]

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
