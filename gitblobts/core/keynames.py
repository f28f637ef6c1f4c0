"""Keys: names of streams of versions, and the folders that hold them.

A key is any text of 1 to :data:`MAX_KEY_LENGTH` characters that encodes as UTF-8 (no NUL,
no unpaired surrogate), other than a content address (``sha256-`` and 64 lowercase hex
digits), compared exactly: ``"A"`` and ``"a"`` are two keys. Its folder is named
``<label>~<id>`` (``<label>~~<id>`` when the label is cut), or ``<id>`` in an encrypted store
(:func:`key_name`), where ``id`` is :func:`key_id` and the label is the key made readable and
safe (:func:`label`). Every such name is unique on a case-insensitive file system (the id
differs for keys that differ in case), is no Windows reserved name, and neither starts nor
ends with a dot or a space. The folder is in the shard ``keys/<id[0:2]>`` (level 1), or, if
that shard held :data:`FANOUT_LIMIT` entries when the key's folder was made, in its
sub-shard ``keys/<id[0:2]>/<id[2:4]>`` (level 2), and so on (:func:`shard`). The key's folder
also holds its name records (:func:`record_name`), from which :meth:`~gitblobts.Store.keys`
reads a name the folder's name does not give whole. See :doc:`format`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from typing import NamedTuple
from urllib.parse import unquote_to_bytes

from gitblobts.core.addresses import is_address
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
FANOUT_LIMIT = 1500
"""How many entries a shard holds before new key folders go into its sub-shards."""
SHARD_LENGTH = 2
"""Characters of the id that name a shard at each level."""
MAX_LEVEL = ID_LENGTH // SHARD_LENGTH
"""The deepest level of shards (each level takes the next two characters of the id)."""

_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_ID = re.compile(rf"[a-z2-7]{{{ID_LENGTH}}}")
_UNESCAPED = re.compile(r"[A-Za-z0-9_.-]*")
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
_LABEL = re.compile(r"(?:[A-Za-z0-9_.-]|%[0-9A-F]{2})*")
_BASE32 = frozenset("abcdefghijklmnopqrstuvwxyz234567")
_RESERVED = frozenset(
    ["CON", "PRN", "AUX", "NUL"] + [f"{d}{n}" for d in ("COM", "LPT") for n in range(10)]
)
"""Windows' reserved device names, which it takes as such whatever follows the first dot."""


class KeyName(NamedTuple):
    """A key, its id and the name of its folder (wherever the folder is)."""

    key: str
    id: str
    entry: str
    """The name of the key's folder: ``label~id``, ``label~~id`` or ``id``."""

    def names(self, name: str) -> bool:
        """Whether a folder named ``name`` is this key's: by its name, or for a cut label
        by its ``~~<id>`` ending."""
        return name == self.entry or (self.cut and name.endswith(f"~~{self.id}"))

    @property
    def cut(self) -> bool:
        """Whether the folder's name has a cut label (``label~~id``)."""
        return self.entry.endswith(f"~~{self.id}")


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
    if is_address(key):  # getblob() tells them apart by spelling
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
    # Base32 spells each 5 bytes alone: 20 bytes give the first 32 characters.
    return base64.b32encode(digest[:20]).decode("ascii").lower()[:ID_LENGTH]


def label(key: str) -> tuple[str, bool]:
    """The key made readable and safe, and whether it was cut: ``[A-Za-z0-9_-]`` stay, and
    ``.`` but as the first character or after a Windows reserved name (``con.txt`` becomes
    ``con%2Etxt``); every other character is ``%XX`` per UTF-8 byte (uppercase hex). Cut
    to at most :data:`MAX_LABEL_LENGTH` characters, never inside a character's escapes."""
    head = key.split(".", 1)[0].upper()
    text = _UNSAFE.sub(_escaped, key)  # quickly, a run of characters at a time
    if text.startswith("."):
        text = "%2E" + text[1:]
    if head in _RESERVED and len(head) < len(key):  # key[len(head)] is the dot
        text = f"{text[: len(head)]}%2E{text[len(head) + 1 :]}"
    if len(text) <= MAX_LABEL_LENGTH:
        return text, False
    pieces: list[str] = []
    length = 0
    for position, char in enumerate(key):
        piece = char if char in _SAFE or (char == "." and position > 0) else _escaped(char)
        if char == "." and position == len(head) and head in _RESERVED:
            piece = "%2E"
        if length + len(piece) > MAX_LABEL_LENGTH:
            return "".join(pieces), True
        pieces.append(piece)
        length += len(piece)
    return "".join(pieces), False


def _escaped(text: str | re.Match[str]) -> str:
    """``%XX`` for each UTF-8 byte of ``text`` (or of what it matched)."""
    if not isinstance(text, str):
        text = text.group()
    return "".join(f"%{byte:02X}" for byte in text.encode("utf-8"))


def unlabel(text: str) -> str | None:
    """The text a label (or a cut label) spells; ``None`` if it is no label."""
    if "%" not in text:
        return text if _UNESCAPED.fullmatch(text) else None  # quickly: nothing escaped
    if not _LABEL.fullmatch(text):
        return None
    try:
        return unquote_to_bytes(text).decode("utf-8")
    except UnicodeDecodeError:
        return None


def key_name(key: str, secret: bytes | None) -> KeyName:
    """The key's id and its folder's name; ``secret``: an encrypted store's (no label
    then)."""
    ident = key_id(key, secret)
    if secret is not None:
        return KeyName(key, ident, ident)
    text, cut = label(key)
    return KeyName(key, ident, f"{text}{'~~' if cut else '~'}{ident}")


def shard(ident: str, level: int) -> str:
    """The shard of level ``level`` (1 to :data:`MAX_LEVEL`) of the key whose id is
    ``ident``: ``keys/<id[0:2]>`` at level 1, ``keys/<id[0:2]>/<id[2:4]>`` at level 2…"""
    names = (ident[n : n + SHARD_LENGTH] for n in range(0, level * SHARD_LENGTH, SHARD_LENGTH))
    return "/".join((KEYS_FOLDER, *names))


def folder_of(path: str) -> tuple[str, str] | None:
    """The folder of the key that holds ``path`` (below ``keys/``, past its shards), and the
    key's id; ``None`` if no key's folder holds it."""
    parts = path.split("/")
    if parts[0] != KEYS_FOLDER:
        return None
    for depth in range(1, len(parts) - 1):  # shards, then the key's folder
        if not is_shard_name(parts[depth]):
            parsed = parse_folder(parts[depth])
            return None if parsed is None else ("/".join(parts[: depth + 1]), parsed.id)
    return None


def is_shard_name(name: str) -> bool:
    """Whether ``name`` names a shard: two base32 characters (no key folder's name is)."""
    return len(name) == SHARD_LENGTH and name[0] in _BASE32 and name[1] in _BASE32


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
