"""What ``addblobs`` returns: :class:`BlobRefs`, the references to the blobs it added, held
as columns (times in an array, paths in compressed blocks) and made into a
:class:`~gitblobts.BlobRef` only when one is read. A million added blobs take about 45 MB
(a list of as many ``BlobRef`` objects: about 250 MB), and nothing for the cycle collector.

:class:`AddedBlobs` is the add's record of what it wrote, appended to blob by blob: the
columns ``BlobRefs`` reads, and what a commit's files are made of
(:mod:`gitblobts.core.batchfiles`).
"""

from __future__ import annotations

import array
import zlib
from collections.abc import Iterator, Sequence
from typing import overload

from gitblobts.core.blob import BlobRef

_ASCENDING, _DESCENDING, _UNORDERED = 1, -1, 0
BLOCK = 256
"""Paths kept, and compressed, together."""


class AddedBlobs:
    """The blobs an add wrote, in order: each one's time, path, and how many files it was
    stored as (one; or its parts and ``SHA256SUMS``). Paths are kept in blocks of
    :data:`BLOCK`, each compressed once full (a path of 90 bytes takes about 26): with the
    times and file counts, about 45 bytes a blob. Tells whether the paths came in order
    (either way): then the commit's trees can be written a folder at a time (see
    :mod:`gitblobts.gitfiles.treebuild`)."""

    def __init__(self, key: str | None = None) -> None:
        self.key = key
        """The key whose versions the blobs are; ``None`` for keyless blobs."""
        self._times: array.array[int] | list[int] = array.array("q")
        """Per blob, its time; a list once one is outside what 64 bits of nanoseconds hold
        (before 1677 or after 2262)."""
        self._files = array.array("Q")
        """Per blob: how many files the blobs up to it, it included, were stored as."""
        self._blocks: list[bytes] = []
        """The paths of each full block, joined by NUL bytes (which no path holds),
        compressed."""
        self._block: list[bytes] = []
        """The paths of the block being filled."""
        self._read: tuple[int, list[bytes]] = (-1, [])
        """The block last read, decompressed."""
        self._last = b""
        self.order = _ASCENDING
        """Whether the paths came ascending (1), descending (-1), or neither (0)."""

    def append(self, timestamp_ns: int, path: str, files: int) -> None:
        """Record a blob written at ``path`` as ``files`` files."""
        encoded = path.encode("utf-8", "surrogateescape")
        if self._times and self.order != _UNORDERED:
            if encoded == self._last:
                self.order = _UNORDERED
            elif self.order == _ASCENDING and encoded < self._last:
                self.order = _DESCENDING if len(self._times) == 1 else _UNORDERED
            elif self.order == _DESCENDING and encoded > self._last:
                self.order = _UNORDERED
        self._last = encoded
        try:
            self._times.append(timestamp_ns)
        except OverflowError:
            self._times = [*self._times, timestamp_ns]
        self._files.append((self._files[-1] if self._files else 0) + files)
        self._block.append(encoded)
        if len(self._block) == BLOCK:
            self._blocks.append(zlib.compress(b"\0".join(self._block), 1))
            self._block = []

    def __len__(self) -> int:
        return len(self._times)

    def _paths_of(self, block: int) -> list[bytes]:
        """The paths of the ``block``-th block."""
        if block == len(self._blocks):
            return self._block
        read = self._read  # one read of it: another thread may replace it
        if read[0] != block:
            read = self._read = (block, zlib.decompress(self._blocks[block]).split(b"\0"))
        return read[1]

    def path(self, index: int) -> str:
        """The path of the ``index``-th blob."""
        if not 0 <= index < len(self._times):
            raise IndexError("blob index out of range")
        encoded = self._paths_of(index // BLOCK)[index % BLOCK]
        return encoded.decode("utf-8", "surrogateescape")

    def find(self, path: str) -> int | None:
        """The position of the blob at ``path``, ``None`` if none is (a search of every
        block: no index is kept)."""
        encoded = path.encode("utf-8", "surrogateescape")
        for block in range(len(self._blocks) + 1):
            paths = self._paths_of(block)
            if encoded in paths:
                return block * BLOCK + paths.index(encoded)
        return None

    def first_file(self, index: int) -> int:
        """The position, among the files the add wrote, of the ``index``-th blob's first."""
        return self._files[index - 1] if index else 0

    def file_count(self, index: int) -> int:
        return self._files[index] - self.first_file(index)

    def ref(self, index: int) -> BlobRef:
        return BlobRef(self._times[index], self.path(index), key=self.key)

    def refs(self) -> BlobRefs:
        """References to all the blobs."""
        return BlobRefs(self, range(len(self)))


class BlobRefs(Sequence[BlobRef]):
    """References to blobs ``addblobs`` added, in the order it took them: an immutable
    sequence of :class:`~gitblobts.BlobRef`, equal to the list of the same references
    (``==`` a list, and a list ``==`` it). Each reference is made as it is read; a slice is
    a ``BlobRefs`` too; ``list(refs)`` makes the list."""

    __slots__ = ("_blobs", "_range")

    def __init__(self, blobs: AddedBlobs, positions: range) -> None:
        self._blobs = blobs
        self._range = positions

    def __len__(self) -> int:
        return len(self._range)

    @overload
    def __getitem__(self, index: int) -> BlobRef: ...
    @overload
    def __getitem__(self, index: slice) -> BlobRefs: ...
    def __getitem__(self, index: int | slice) -> BlobRef | BlobRefs:
        if isinstance(index, slice):
            return BlobRefs(self._blobs, self._range[index])
        try:
            position = self._range[index]
        except IndexError:
            raise IndexError("BlobRefs index out of range") from None
        return self._blobs.ref(position)

    def __iter__(self) -> Iterator[BlobRef]:
        return map(self._blobs.ref, self._range)

    def __reversed__(self) -> Iterator[BlobRef]:
        return map(self._blobs.ref, reversed(self._range))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, (BlobRefs, list)):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]  # compares equal to lists, which do not hash

    def __add__(self, other: object) -> list[BlobRef]:
        if not isinstance(other, (BlobRefs, list)):
            return NotImplemented
        return [*self, *other]

    def __radd__(self, other: object) -> list[BlobRef]:
        if not isinstance(other, list):
            return NotImplemented
        return [*other, *self]

    def __repr__(self) -> str:
        if len(self) <= 2:
            return f"BlobRefs({list(self)!r})"
        return f"<BlobRefs of {len(self):,} blobs: {self[0]!r} ... {self[-1]!r}>"
