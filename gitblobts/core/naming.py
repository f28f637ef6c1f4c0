"""Blob file names (format version 2).

A name is ``<time>_<random>.v<version>[.<codec extension>][.<cipher name>]``, for example
``20261124T061500.123456789Z_k5vq2xw7m3a4b6c7d2e3f4g5h6.v2.zst``:

- ``<time>``: the blob's UTC time, ISO 8601 basic format with nine fractional digits. Fixed
  width, so names sort chronologically as plain strings;
- ``<random>``: 26 characters of lowercase RFC 4648 base32 (128 random bits), so that
  concurrent writers never pick the same name, even for the same nanosecond;
- ``v2``: the format version;
- the suffixes name the codec (by the extension its command-line tool expects) and, for an
  encrypted file, the cipher. No suffix means uncompressed, unencrypted bytes.

``<time>_<random>`` is the blob's *identity*; ciphers bind it, so a renamed file fails to
decrypt.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass, field

from gitblobts.core import timestamps

FORMAT_VERSION = 2

_NAME = re.compile(
    r"(?P<date>\d{8})T(?P<time>\d{6})\.(?P<nanos>\d{9})Z_(?P<nonce>[a-z2-7]{26})"
    r"\.v(?P<version>[1-9][0-9]{0,8})(?P<suffixes>(?:\.[a-z0-9][a-z0-9_-]*)*)"
)
"""The grammar of a name (``\\d`` is any Unicode decimal digit, as ``str.isdecimal``
takes it; a version has at most nine digits, so that reading it as a number is cheap).
:func:`parse` checks it field by field, which costs a fraction."""


@dataclass(frozen=True, slots=True)
class BlobName:
    """A parsed blob file name."""

    timestamp_ns: int
    nonce: str
    version: int = FORMAT_VERSION
    suffixes: tuple[str, ...] = ()
    known_identity: str | None = field(default=None, repr=False, compare=False)
    """The identity, when whoever made the name had it at hand (it is asked for often)."""

    @property
    def identity(self) -> str:
        """``<time>_<random>``: unique per blob, and the context ciphers bind."""
        if self.known_identity is not None:
            return self.known_identity
        return _identity(self.timestamp_ns, self.nonce)

    def __str__(self) -> str:
        return self.identity + _tail(self.version, self.suffixes)


@functools.lru_cache(maxsize=64)
def _tail(version: int, suffixes: tuple[str, ...]) -> str:
    """``.v<version>[.<suffix>]...``: what follows the identity (names share a few)."""
    return f".v{version}" + "".join(f".{suffix}" for suffix in suffixes)


def new_nonce() -> str:
    """128 random bits as 26 lowercase base32 characters: what ``base32(16 random bytes)``
    begins with, drawn directly (the last character carries 3 bits)."""
    raw = os.urandom(26)
    return (raw[:25].translate(_FIVE_BITS) + raw[25:].translate(_THREE_BITS)).decode("ascii")


_BASE32 = b"abcdefghijklmnopqrstuvwxyz234567"
_FIVE_BITS = bytes(_BASE32[byte & 31] for byte in range(256))
_THREE_BITS = bytes(_BASE32[(byte & 7) << 2] for byte in range(256))


def _identity(timestamp_ns: int, nonce: str) -> str:
    seconds, nanos = divmod(timestamp_ns, timestamps.NS_PER_SECOND)
    hours, second_of_hour = divmod(seconds, 3600)
    return f"{_hour_text(hours)}{_MMSS[second_of_hour]}.{nanos:09d}Z_{nonce}"


@functools.lru_cache(maxsize=1024)
def _hour_text(hours: int) -> str:
    """``YYYYMMDDThh`` of the hour ``hours`` after the epoch."""
    year, month, day, hour, *_ = timestamps.utc_fields(hours * 3600 * timestamps.NS_PER_SECOND)
    return f"{year:04d}{month:02d}{day:02d}T{hour:02d}"


def new_name(timestamp_ns: int, suffixes: tuple[str, ...]) -> BlobName:
    """A fresh name for a blob at ``timestamp_ns`` whose file carries ``suffixes``."""
    nonce = new_nonce()
    return BlobName(timestamp_ns, nonce, FORMAT_VERSION, suffixes, _identity(timestamp_ns, nonce))


Tail = tuple[int, tuple[str, ...]]
"""What follows a name's identity: its format version and its suffixes."""


def parse(filename: str) -> BlobName | None:
    """Parse a file name (no folders); ``None`` if it is not a blob name."""
    parts = parse_parts(filename)
    return None if parts is None else from_parts(filename, *parts)


def from_parts(filename: str, timestamp_ns: int, tail: Tail) -> BlobName:
    """The name :func:`parse` makes of ``filename``, from what :func:`parse_parts` made."""
    # The identity is ASCII, as ciphers take it: one spelled in other digits is rebuilt.
    identity = filename[:53] if filename.isascii() else None
    return BlobName(timestamp_ns, filename[27:53], tail[0], tail[1], identity)


def parse_parts(filename: str) -> tuple[int, Tail] | None:
    """:func:`parse`, for reading many names: only the time and the tail, the tail being
    one shared object for every name that ends alike; ``None`` if it is not a blob name."""
    # Exactly what _NAME matches, checked in parts: every field before the version has a
    # fixed width. The hour and the tail (version and suffixes) are shared by many names,
    # so each is checked once and remembered.
    if len(filename) < _SHORTEST or _MIDDLE.fullmatch(filename, 11, 53) is None:
        return None
    hour_ns = _HOURS.get(filename[:11])
    if hour_ns is None:
        hour_ns = _new_hour(filename[:11])
        if hour_ns is None:
            return None
    seconds = _SECONDS_OF_HOUR.get(filename[11:15])
    if seconds is None:  # not a time of the hour, or spelled in other digits than ASCII
        minute, second = divmod(int(filename[11:15]), 100)
        if minute >= 60 or second >= 60:
            return None
        seconds = minute * 60 + second
    tail = _TAILS.get(filename[53:])
    if tail is None:
        tail = _new_tail(filename[53:])
        if tail is None:
            return None
    return hour_ns + seconds * timestamps.NS_PER_SECOND + int(filename[16:25]), tail


_SHORTEST = len("YYYYMMDDThhmmss.nnnnnnnnnZ_") + 26 + len(".v1")
_MMSS = tuple(f"{s // 60:02d}{s % 60:02d}" for s in range(3600))
"""``mmss`` of each second of an hour."""
_SECONDS_OF_HOUR = {text: s for s, text in enumerate(_MMSS)}
"""``mmss`` to seconds since the hour."""
_HOUR = re.compile(r"\d{8}T\d{2}")
_MIDDLE = re.compile(r"\d{4}\.\d{9}Z_[a-z2-7]{26}")
"""Minutes, seconds, nanoseconds and the random part."""
_TAIL = re.compile(r"\.v([1-9][0-9]{0,8})((?:\.[a-z0-9][a-z0-9_-]*)*)")
_HOURS: dict[str, int] = {}
"""``YYYYMMDDThh`` to epoch nanoseconds, for the hours names were parsed in."""
_TAILS: dict[str, Tail] = {}
"""``.v<version>[.<suffix>]...`` to the version and the suffixes, for tails parsed before."""
_REMEMBERED = 4096


def _new_hour(text: str) -> int | None:
    """``YYYYMMDDThh`` as epoch nanoseconds, remembered; ``None`` if it is no such hour."""
    if _HOUR.fullmatch(text) is None:
        return None
    try:
        ns = timestamps.from_utc_fields(
            int(text[:4]), int(text[4:6]), int(text[6:8]), int(text[9:11]), 0, 0, 0
        )
    except ValueError:
        return None
    if len(_HOURS) >= _REMEMBERED:
        _HOURS.clear()
    _HOURS[text] = ns
    return ns


def _new_tail(text: str) -> Tail | None:
    """``.v<version>[.<suffix>]...`` as the version and the suffixes, remembered; ``None``
    if it is not a tail of a blob name."""
    match = _TAIL.fullmatch(text)
    if match is None:
        return None
    tail = int(match[1]), tuple(match[2].split(".")[1:])
    if len(_TAILS) >= _REMEMBERED:
        _TAILS.clear()
    _TAILS[text] = tail
    return tail
