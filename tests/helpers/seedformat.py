"""gitblobts 0.0.7's store format (version 1), written and read independently of gitblobts.

Made from the format's description in issue 7 only, with the standard library, cryptography
and the git command, so that tests do not check gitblobts against itself:

- each blob is a file at the repository root named ``<stem>.<suffix>``;
- the suffix is the URL-safe base64, with padding, of the big-endian bytes of the unsigned
  format version 1 (``AQ==``);
- the stem is the URL-safe base64, with padding, of the big-endian two's-complement bytes, of
  minimal length with room for the sign bit, of ``(timestamp_ns << 256) | random_256_bits``;
  the time is that integer shifted right by 256 bits (arithmetically);
- ``timestamp_ns`` is ``round(seconds * 1e9)``;
- the content is ``Fernet(key).encrypt(compress(blob))`` with a key, else ``compress(blob)``.

0.0.7 returned blobs sorted by ``(timestamp_ns, file name)``, reversed for a descending
range, with ``timestamp = timestamp_ns / 1e9``.
"""

from __future__ import annotations

import base64
import bz2
import gzip
import lzma
import math
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet

from tests.helpers.git import git, git_bytes

COMPRESSIONS: tuple[str | None, ...] = (None, "gzip", "bz2", "lzma")
SUFFIX = base64.urlsafe_b64encode((1).to_bytes(1, "big")).decode("ascii")

_COMPRESS: dict[str | None, Callable[[bytes], bytes]] = {
    None: lambda data: data,
    "gzip": gzip.compress,
    "bz2": bz2.compress,
    "lzma": lzma.compress,
}
_DECOMPRESS: dict[str | None, Callable[[bytes], bytes]] = {
    None: lambda data: data,
    "gzip": gzip.decompress,
    "bz2": bz2.decompress,
    "lzma": lzma.decompress,
}


@dataclass(frozen=True)
class SeedBlob:
    """A blob as 0.0.7 returned it, and the name of its file."""

    name: str
    timestamp_ns: int
    blob: bytes

    @property
    def timestamp(self) -> float:
        return self.timestamp_ns / 1e9


def seconds_to_ns(seconds: float) -> int:
    """0.0.7's conversion of a time in seconds."""
    return round(seconds * 1e9)


def file_name(timestamp_ns: int, random_bits: int) -> str:
    merged = (timestamp_ns << 256) | random_bits
    size = (merged.bit_length() + 8) // 8  # room for the sign bit
    stem = base64.urlsafe_b64encode(merged.to_bytes(size, "big", signed=True)).decode("ascii")
    return f"{stem}.{SUFFIX}"


def time_of(name: str) -> int:
    stem = name.rpartition(".")[0]
    return int.from_bytes(base64.urlsafe_b64decode(stem), "big", signed=True) >> 256


def encode(blob: bytes, compression: str | None, key: bytes | None) -> bytes:
    data = _COMPRESS[compression](blob)
    return Fernet(key).encrypt(data) if key is not None else data


def decode(data: bytes, compression: str | None, key: bytes | None) -> bytes:
    if key is not None:
        data = Fernet(key).decrypt(data)
    return _DECOMPRESS[compression](data)


def write(
    work: Path,
    items: Iterable[tuple[int, bytes]],
    compression: str | None = None,
    key: bytes | None = None,
    rng: random.Random | None = None,
) -> list[SeedBlob]:
    """Add ``(timestamp_ns, blob)`` items to the checked-out branch of the working tree
    ``work`` as 0.0.7 did: one file each at the root, one commit with an empty message."""
    rng = rng or random.Random(7)
    written = []
    for timestamp_ns, blob in items:
        name = file_name(timestamp_ns, rng.getrandbits(256))
        (work / name).write_bytes(encode(blob, compression, key))
        written.append(SeedBlob(name, timestamp_ns, blob))
    git(work, "add", "--all")
    git(work, "commit", "--quiet", "--allow-empty-message", "-m", "")
    return written


def stored_files(repo: Path, ref: str = "HEAD") -> dict[str, bytes]:
    """Every file of ``ref``'s tree (path to bytes), read with the git command."""
    listing = git(repo, "ls-tree", "-r", "-z", "--name-only", ref).split("\0")
    return {path: git_bytes(repo, "cat-file", "blob", f"{ref}:{path}") for path in listing if path}


def read(
    repo: Path, compression: str | None, key: bytes | None, ref: str = "HEAD"
) -> list[SeedBlob]:
    """The blobs of the format-1 store on ``ref``, in 0.0.7's ascending order."""
    blobs = [
        SeedBlob(name, time_of(name), decode(data, compression, key))
        for name, data in stored_files(repo, ref).items()
    ]
    return expected(blobs)


def expected(
    blobs: Iterable[SeedBlob], start_ns: float = -math.inf, end_ns: float = math.inf
) -> list[SeedBlob]:
    """What 0.0.7's ``getblobs`` returned for a range: ascending, or descending when
    ``start_ns`` is after ``end_ns``; both ends inclusive."""
    descending = start_ns > end_ns
    low, high = (end_ns, start_ns) if descending else (start_ns, end_ns)
    chosen = [b for b in blobs if low <= b.timestamp_ns <= high]
    return sorted(chosen, key=lambda b: (b.timestamp_ns, b.name), reverse=descending)
