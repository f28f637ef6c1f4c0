"""Packs for sending: objects a repository holds, as the entries of a pack that goes to
another repository (a push), without inflating and deflating again what is stored whole.

An object a pack holds whole goes as its entry's stored bytes (type and size header, zlib
stream), copied as git's pack-objects reuses them: nothing is inflated. A loose object is
inflated, and its contents deflated under a pack entry's header (a loose object's zlib stream
holds a header of its own, ``blob 1024\\0``, so its bytes cannot be copied). An object a pack
holds as a delta is read whole by the caller's reader and deflated: no delta is sent, so the
receiver needs no base it may lack.

Copied bytes are not checked here: a receiver inflates and hashes every object it is sent
(git's index-pack does; zlib's own checksum catches damage), and refuses a pack whose object
is not what its id says. :func:`checked` does the same where there is no such receiver (a
push by path writes the pack itself).
"""

from __future__ import annotations

import hashlib
import os
import struct
import zlib
from collections.abc import Callable, Iterable, Iterator

from gitblobts.gitfiles.objects import pack_header
from gitblobts.gitfiles.packs import BLOB, COMMIT, TAG, TREE, PackReader

KINDS = {COMMIT: b"commit", TREE: b"tree", BLOB: b"blob", TAG: b"tag"}
"""Pack type numbers of whole objects, and git's names of them."""
_NUMBERS = {name: number for number, name in KINDS.items()}
BATCH = 1 << 18
"""Entries go to a transport joined into pieces of about this many bytes: one write each."""

ReadWhole = Callable[[str], tuple[int, bytes]]
"""Reads object ``oid`` whole: its pack type number and contents; raises if it cannot."""


class Entry:
    """One object as a pack entry: its id (20 bytes), pack type number, and stored bytes."""

    __slots__ = ("kind", "oid", "stored")

    def __init__(self, oid: bytes, kind: int, stored: bytes) -> None:
        self.oid = oid
        self.kind = kind
        self.stored = stored


def deflated(kind: int, data: bytes) -> bytes:
    """A pack entry holding ``data`` whole as a ``kind`` object."""
    return pack_header(kind, len(data)) + zlib.compress(data, 1)


class Outgoing:
    """The objects of one object directory (``.git/objects``) as pack entries."""

    def __init__(self, objects_dir: str, packs: PackReader, read_whole: ReadWhole) -> None:
        self._objects_dir = objects_dir
        self._packs = packs
        self._read_whole = read_whole

    def entry(self, oid: str) -> Entry:
        """Object ``oid`` (hexadecimal) as a pack entry: copied, re-deflated or resolved, as
        the module docstring says."""
        found = self._packs.stored(oid)
        if found is not None:
            return Entry(bytes.fromhex(oid), *found)
        loose = _loose(self._objects_dir, oid)
        if loose is not None:
            kind, data = loose
        else:
            kind, data = self._read_whole(oid)
        return Entry(bytes.fromhex(oid), kind, deflated(kind, data))

    def entries(self, oids: Iterable[str]) -> Iterator[Entry]:
        return map(self.entry, oids)


def _loose(objects_dir: str, oid: str) -> tuple[int, bytes] | None:
    """The type number and contents of loose object ``oid``; ``None`` if there is none, or
    it is not one whole object (the caller's general reader then says what is wrong)."""
    try:
        with open(os.path.join(objects_dir, oid[:2], oid[2:]), "rb") as f:
            raw = zlib.decompress(f.read())
    except (OSError, zlib.error):
        return None
    head, _, data = raw.partition(b"\0")
    name, _, digits = head.partition(b" ")
    kind = _NUMBERS.get(name)
    if kind is None or not digits.isdigit() or int(digits) != len(data):
        return None
    return kind, data


def batches(entries: Iterable[Entry], size: int = BATCH) -> Iterator[tuple[Entry, bytes]]:
    """Each entry, with the stored bytes of it and those before it not yet given (``b""``
    for most): a transport writes a piece of about ``size`` bytes at a time, not an entry."""
    held: list[bytes] = []
    held_bytes = 0
    previous: Entry | None = None
    for entry in entries:
        if previous is not None:
            if held_bytes >= size:
                yield previous, b"".join(held)
                held.clear()
                held_bytes = 0
            else:
                yield previous, b""
        held.append(entry.stored)
        held_bytes += len(entry.stored)
        previous = entry
    if previous is not None:
        yield previous, b"".join(held)


def stream(entries: Iterable[Entry], count: int) -> Iterator[bytes]:
    """A whole pack (version 2) of ``count`` entries, in pieces: header, entries, checksum."""
    digest = hashlib.sha1()  # noqa: S324 - git's pack checksum
    header = b"PACK" + struct.pack(">II", 2, count)
    digest.update(header)
    yield header
    written = 0
    for _, piece in batches(entries):
        written += 1
        if piece:
            digest.update(piece)
            yield piece
    if written != count:
        raise ValueError(f"a pack of {count} objects was given {written}")
    yield digest.digest()


def checked(entry: Entry) -> Entry:
    """``entry``, once its stored bytes are found to hold the object its id names; else
    ``ValueError``."""
    stored = entry.stored
    position = 0
    byte = stored[0]
    size, shift = byte & 15, 4
    while byte & 0x80:
        position += 1
        byte = stored[position]
        size |= (byte & 0x7F) << shift
        shift += 7
    inflate = zlib.decompressobj()
    try:
        data = inflate.decompress(stored[position + 1 :])
    except zlib.error as error:
        raise ValueError(f"object {entry.oid.hex()} is damaged: {error}") from None
    digest = hashlib.sha1(b"%s %d\0" % (KINDS[entry.kind], len(data)))  # noqa: S324
    digest.update(data)
    if not inflate.eof or len(data) != size or digest.digest() != entry.oid:
        raise ValueError(f"object {entry.oid.hex()} is damaged: its contents do not match")
    return entry
