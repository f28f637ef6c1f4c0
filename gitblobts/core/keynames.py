"""Keys: names of streams of versions, and the folders that hold them.

A key is any text of 1 to :data:`MAX_KEY_LENGTH` characters that encodes as UTF-8 (no NUL,
no unpaired surrogate), other than a content address (``sha256-`` and 64 lowercase hex
digits), compared exactly: ``"A"`` and ``"a"`` are two keys. Its folder is
``keys/<id[0:2]>/<id[2:4]>/<label>~<id>`` (``<label>~~<id>`` when the label is cut), or
``keys/<id[0:2]>/<id[2:4]>/<id>`` in an encrypted store, where ``id`` is :func:`key_id` and
the label is the key made readable and safe (:func:`label`). Every such name is unique on a
case-insensitive file system (the id differs for keys that differ in case), is no Windows
reserved name, and neither starts nor ends with a dot or a space. The key's folder also
holds its name records (:func:`record_name`), from which :meth:`~gitblobts.Store.keys`
reads a name the folder's name does not give whole. See :doc:`format`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from typing import NamedTuple

from gitblobts.core.errors import ArgumentError, ArgumentTypeError
from gitblobts.core.keys import derive

KEYS_FOLDER = "keys"
"""The root folder of every key's folder."""
MAX_KEY_LENGTH = 1024
"""The most characters a key has."""
MAX_LABEL_LENGTH = 96
"""The most characters of a key's label; a longer one is cut."""
ID_LENGTH = 26
"""Characters of a key id: 130 bits of a SHA-256 or HMAC-SHA256, in base32."""
RECORD_PREFIX = "key-"
"""How the name of a key's name record begins."""
NAME_SECRET_INFO = b"gitblobts key names"
"""What the secret of an encrypted store's key ids is derived for, from its key."""
ADDRESS = re.compile(r"sha256-[0-9a-f]{64}")
"""Content addresses, which no key may look like (see :meth:`~gitblobts.Store.getblob`)."""

_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_HEX = re.compile(r"[0-9A-F]{2}")
_ID = re.compile(rf"[a-z2-7]{{{ID_LENGTH}}}")
_RESERVED = frozenset(
    ["CON", "PRN", "AUX", "NUL"] + [f"{d}{n}" for d in ("COM", "LPT") for n in range(10)]
)
"""Windows' reserved device names, which it takes as such whatever follows the first dot."""


class KeyFolder(NamedTuple):
    """Where a key's versions go: the key, its id and its folder."""

    key: str
    id: str
    folder: str


class ParsedFolder(NamedTuple):
    """What a key folder's name says: the key's id, and its name if the label gives it
    whole (``None``: a cut label, or an encrypted store's folder)."""

    id: str
    key: str | None
    label: str | None
    """The label decoded as far as it goes (a cut label: a prefix of the key)."""


def check_key(key: object) -> str:
    """``key``, if it is one; else :class:`ArgumentTypeError` or :class:`ArgumentError`
    naming it (shortened if long)."""
    if not isinstance(key, str):
        raise ArgumentTypeError(f"key {shown(key)} is {type(key).__name__}, not str")
    if not key:
        raise ArgumentError("the key is empty; a key has 1 to 1024 characters")
    if len(key) > MAX_KEY_LENGTH:
        raise ArgumentError(
            f"key {shown(key)} has {len(key)} characters; a key has at most {MAX_KEY_LENGTH}"
        )
    if "\0" in key:
        raise ArgumentError(f"key {shown(key)} holds a NUL character, which no key may")
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        raise ArgumentError(
            f"key {shown(key)} holds an unpaired surrogate; a key must encode as UTF-8"
        ) from None
    if ADDRESS.fullmatch(key):
        raise ArgumentError(f"key {shown(key)} is spelled as a content address; a key may not be")
    return key


def shown(key: object, limit: int = 60) -> str:
    """``key`` for a message: its ``repr``, cut to about ``limit`` characters."""
    text = repr(key)
    return text if len(text) <= limit else f"{text[: limit - 5]}...{text[-2:]}"


def name_secret(raw_key: bytes) -> bytes:
    """The secret an encrypted store's key ids are made with, derived from its key."""
    return derive(raw_key, NAME_SECRET_INFO)


def key_id(key: str, secret: bytes | None) -> str:
    """The key's id: 26 lowercase base32 characters of ``sha256(b"gitblobts key\\0" +
    key)``, or with ``secret`` (an encrypted store's: :func:`name_secret`) of
    ``hmac_sha256(secret, key)``."""
    data = key.encode("utf-8")
    if secret is None:
        digest = hashlib.sha256(b"gitblobts key\0" + data).digest()
    else:
        digest = hmac.new(secret, data, hashlib.sha256).digest()
    return base64.b32encode(digest).decode("ascii").lower()[:ID_LENGTH]


def label(key: str) -> tuple[str, bool]:
    """The key made readable and safe, and whether it was cut: ``[A-Za-z0-9_-]`` stay, and
    ``.`` but as the first character or after a Windows reserved name (``con.txt`` becomes
    ``con%2Etxt``); every other character is ``%XX`` per UTF-8 byte (uppercase hex). Cut
    to at most :data:`MAX_LABEL_LENGTH` characters, never inside a character's escapes."""
    pieces: list[str] = []
    length = 0
    head = key.split(".", 1)[0].upper()
    for position, char in enumerate(key):
        if char in _SAFE or (char == "." and position > 0):
            piece = char
        else:
            piece = "".join(f"%{byte:02X}" for byte in char.encode("utf-8"))
        if char == "." and position == len(head) and head in _RESERVED:
            piece = "%2E"
        if length + len(piece) > MAX_LABEL_LENGTH:
            return "".join(pieces), True
        pieces.append(piece)
        length += len(piece)
    return "".join(pieces), False


def unlabel(text: str) -> str | None:
    """The text a label (or a cut label) spells; ``None`` if it is no label."""
    try:
        data = bytearray()
        position = 0
        while position < len(text):
            char = text[position]
            if char == "%":
                escape = text[position + 1 : position + 3]
                if not _HEX.fullmatch(escape):
                    return None
                data.append(int(escape, 16))
                position += 3
            elif char in _SAFE or char == ".":
                data += char.encode("ascii")
                position += 1
            else:
                return None
        return data.decode("utf-8")
    except ValueError:  # a bad hex digit, bytes that are not UTF-8
        return None


def key_folder(key: str, secret: bytes | None) -> KeyFolder:
    """The key's id and folder; ``secret``: an encrypted store's (no label then)."""
    ident = key_id(key, secret)
    shard = f"{KEYS_FOLDER}/{ident[0:2]}/{ident[2:4]}"
    if secret is not None:
        return KeyFolder(key, ident, f"{shard}/{ident}")
    text, cut = label(key)
    return KeyFolder(key, ident, f"{shard}/{text}{'~~' if cut else '~'}{ident}")


def parse_folder(name: str) -> ParsedFolder | None:
    """What the name of a key's folder (its last component) says; ``None`` if it is none."""
    text, tilde, ident = name.rpartition("~")
    if not _ID.fullmatch(ident):
        return None
    if not tilde:
        return ParsedFolder(ident, None, None)
    cut = text.endswith("~")
    decoded = unlabel(text[:-1] if cut else text)
    if not text or decoded is None or not decoded or (not cut and label(decoded)[0] != text):
        return None
    return ParsedFolder(ident, None if cut else decoded, decoded)


def record_name(cipher_name: str | None) -> str:
    """A new name record's file name: ``key-<26 random base32>``, then ``.<cipher>`` when
    encrypted. Random, so that two writers creating one key never write one path."""
    random = base64.b32encode(os.urandom(20)).decode("ascii").lower()[:ID_LENGTH]
    return f"{RECORD_PREFIX}{random}" + (f".{cipher_name}" if cipher_name else "")


def parse_record(filename: str) -> str | None:
    """The cipher a name record's file name says (``""``: plain); ``None``: the name is no
    record's."""
    if not filename.startswith(RECORD_PREFIX):
        return None
    random, dot, cipher = filename[len(RECORD_PREFIX) :].partition(".")
    if not _ID.fullmatch(random) or (dot and not cipher):
        return None
    return cipher


def record_context(ident: str) -> bytes:
    """What the cipher of a name record binds: the key's id."""
    return b"gitblobts key name:" + ident.encode("ascii")
