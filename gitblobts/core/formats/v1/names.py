"""Blob file names of format version 1, as gitblobts 0.0.7 wrote them.

A format-1 store is a branch whose root holds one file per blob and nothing else: no
configuration file, no folders. A name is ``<stem>.AQ==``:

- the suffix ``AQ==`` is the URL-safe base64 (with padding) of the byte ``0x01``, the format
  version;
- the stem is the URL-safe base64 (with padding) of the big-endian two's-complement bytes of
  the signed integer ``(timestamp_ns << 256) | random``, where ``random`` is 256 random bits.
  0.0.7 used ``(bit_length + 8) // 8`` bytes, the fewest that leave room for the sign bit.
  The time is the integer shifted right by 256 bits, arithmetically: times before 1970 are
  negative, and their names may begin with ``-``.

Times came from ``round(seconds * 1e9)`` for a float ``seconds`` (the product rounded to a
float first), and went back to float seconds as ``timestamp_ns / 1e9``;
:func:`seconds_to_ns` and :func:`to_seconds` reproduce both, bit for bit. A format-1 file
records neither its codec nor whether it is encrypted: its content is
``Fernet(key).encrypt(compress(blob))`` with a key, else ``compress(blob)``, where
``compress`` is that of the standard-library module the writer named (``gzip``, ``bz2``,
``lzma``) or nothing. A reader has to be told both.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import sys
from dataclasses import dataclass

from gitblobts.core import naming, timestamps
from gitblobts.core.blob import Blob
from gitblobts.core.naming import BlobName

FORMAT_VERSION = 1
SUFFIX = base64.urlsafe_b64encode(FORMAT_VERSION.to_bytes(1, "big")).decode("ascii")
"""``AQ==``: the version, as 0.0.7 encoded it."""
RANDOM_BITS = 256
CIPHER = "fernet"
"""The cipher of every encrypted format-1 file."""
NO_CODEC = "none"
"""The codec of a format-1 store opened without ``compression=``, as 0.0.7 read it."""
CODECS = (NO_CODEC, "gzip", "bz2", "lzma")
"""The codecs 0.0.7 wrote and read: the only ones a format-1 file may use."""

_STEM = re.compile(r"[A-Za-z0-9_-]+={0,2}")
_LARGEST_TIME_NS = int(sys.float_info.max)
"""The largest time 0.0.7 could write, ``round`` of a float; :func:`to_seconds` holds it."""


@dataclass(frozen=True, slots=True)
class V1BlobName(BlobName):
    """A parsed format-1 name. Its ``nonce`` is the whole file name: unique per blob, and,
    compared as a string, the order in which 0.0.7 returned blobs of equal time."""

    @property
    def identity(self) -> str:
        """The file name, which is all a format-1 blob has to tell it apart."""
        return self.nonce

    def __str__(self) -> str:
        return self.nonce


def parse(filename: str) -> V1BlobName | None:
    """Parse a file name (no folders); ``None`` if it is not a format-1 blob name."""
    parts = parse_parts(filename)
    return None if parts is None else from_parts(filename, *parts)


def from_parts(filename: str, timestamp_ns: int, tail: naming.Tail) -> V1BlobName:
    """The name :func:`parse` makes of ``filename``, from what :func:`parse_parts` made."""
    return V1BlobName(timestamp_ns, filename, FORMAT_VERSION)


TAIL: naming.Tail = (FORMAT_VERSION, ())
"""The version and suffixes of every format-1 name, as :func:`naming.parse_parts` gives."""


def parse_parts(filename: str) -> tuple[int, naming.Tail] | None:
    """:func:`parse`, for reading many names: the time and :data:`TAIL`."""
    stem, dot, suffix = filename.rpartition(".")
    if not dot or suffix != SUFFIX or len(stem) % 4 or not _STEM.fullmatch(stem):
        return None
    try:
        raw = base64.urlsafe_b64decode(stem)
    except (binascii.Error, ValueError):
        return None
    if not raw or base64.urlsafe_b64encode(raw).decode("ascii") != stem:
        return None  # not canonical base64: not a name 0.0.7 wrote
    timestamp_ns = int.from_bytes(raw, "big", signed=True) >> RANDOM_BITS
    if abs(timestamp_ns) > _LARGEST_TIME_NS:
        return None  # 0.0.7 took times from floats: not a name 0.0.7 wrote
    return timestamp_ns, TAIL


def encode(timestamp_ns: int, random: int) -> str:
    """The file name 0.0.7 gave a blob at ``timestamp_ns`` with 256-bit ``random``."""
    if not 0 <= random < 1 << RANDOM_BITS:
        raise ValueError(f"random must be {RANDOM_BITS} bits, not {random!r}")
    merged = (timestamp_ns << RANDOM_BITS) | random
    raw = merged.to_bytes((merged.bit_length() + 8) // 8, "big", signed=True)
    return f"{base64.urlsafe_b64encode(raw).decode('ascii')}.{SUFFIX}"


def new_name(timestamp_ns: int) -> V1BlobName:
    """A fresh format-1 name for a blob at ``timestamp_ns``."""
    return V1BlobName(
        timestamp_ns, encode(timestamp_ns, secrets.randbits(RANDOM_BITS)), FORMAT_VERSION
    )


def seconds_to_ns(seconds: float) -> int:
    """Float seconds to nanoseconds as 0.0.7 did: ``round(seconds * 1e9)``. The product is a
    float, so this can differ from the exact conversion by up to half its spacing (128 ns
    for times in this century)."""
    return round(seconds * 1e9)


def to_seconds(timestamp_ns: int) -> float:
    """Nanoseconds to float seconds as 0.0.7's ``Blob.timestamp``: ``timestamp_ns / 1e9``,
    which converts ``timestamp_ns`` to a float first."""
    return timestamp_ns / 1e9


def options_hint(compression: str | None, keyed: bool) -> str:
    """What a reader of a format-1 file that did not decode is told: which options matter,
    and what the store was opened with."""
    return (
        "a store of gitblobts 0.0.7 records neither its compression nor its key: open it "
        "with the compression= and key= it was written with (this store was opened with "
        f"compression={compression!r} and {'a' if keyed else 'no'} key)"
    )


@dataclass(frozen=True, slots=True, repr=False)
class V1Blob(Blob):
    """A blob read from a store in gitblobts 0.0.7's format (version 1). Its ``timestamp``
    is what 0.0.7's ``Blob.timestamp`` was, ``timestamp_ns / 1e9``, which can differ from
    the correctly rounded value in the last bit; ``timestamp_ns`` is exact."""

    @property
    def timestamp(self) -> float:
        """UTC time in seconds since the Unix epoch, as gitblobts 0.0.7 gave it."""
        return to_seconds(self.timestamp_ns)

    def __repr__(self) -> str:
        if timestamps.MIN_NS <= self.timestamp_ns <= timestamps.MAX_NS:
            return Blob.__repr__(self)
        # 0.0.7 took any time; beyond the years 0001-9999 there is no ISO text for it.
        return f"Blob(timestamp_ns={self.timestamp_ns}, size={len(self.blob)}, path={self.path!r})"
