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

import base64
import os
import re
from dataclasses import dataclass

from gitblobts.core import timestamps

FORMAT_VERSION = 2

_NAME = re.compile(
    r"(?P<date>\d{8})T(?P<time>\d{6})\.(?P<nanos>\d{9})Z_(?P<nonce>[a-z2-7]{26})"
    r"\.v(?P<version>[1-9][0-9]*)(?P<suffixes>(?:\.[a-z0-9][a-z0-9_-]*)*)"
)


@dataclass(frozen=True, slots=True)
class BlobName:
    """A parsed blob file name."""

    timestamp_ns: int
    nonce: str
    version: int = FORMAT_VERSION
    suffixes: tuple[str, ...] = ()

    @property
    def identity(self) -> str:
        """``<time>_<random>``: unique per blob, and the context ciphers bind."""
        year, month, day, hour, minute, second, nanos = timestamps.utc_fields(self.timestamp_ns)
        return (
            f"{year:04d}{month:02d}{day:02d}T{hour:02d}{minute:02d}{second:02d}"
            f".{nanos:09d}Z_{self.nonce}"
        )

    def __str__(self) -> str:
        suffixes = "".join(f".{suffix}" for suffix in self.suffixes)
        return f"{self.identity}.v{self.version}{suffixes}"


def new_nonce() -> str:
    """128 random bits as 26 lowercase base32 characters."""
    return base64.b32encode(os.urandom(16)).decode("ascii")[:26].lower()


def new_name(timestamp_ns: int, suffixes: tuple[str, ...]) -> BlobName:
    """A fresh name for a blob at ``timestamp_ns`` whose file carries ``suffixes``."""
    return BlobName(timestamp_ns, new_nonce(), FORMAT_VERSION, suffixes)


def parse(filename: str) -> BlobName | None:
    """Parse a file name (no folders); ``None`` if it is not a blob name."""
    match = _NAME.fullmatch(filename)
    if match is None:
        return None
    date, clock = match["date"], match["time"]
    try:
        ns = timestamps.from_utc_fields(
            int(date[:4]), int(date[4:6]), int(date[6:]),
            int(clock[:2]), int(clock[2:4]), int(clock[4:]), int(match["nanos"]),
        )  # fmt: skip
    except ValueError:
        return None
    suffixes = tuple(match["suffixes"].split(".")[1:])
    return BlobName(ns, match["nonce"], int(match["version"]), suffixes)
