"""Object ids held compactly, for writes of millions of objects: :class:`ObjectIds`, a
sequence of ids kept as 20 raw bytes each (a list of hex strings costs about 100 bytes an
id), and :class:`IdSet`, the set of ids a pack holds (a ``set`` of ``bytes``: about 80)."""

from __future__ import annotations

import array
from collections.abc import Iterable, Iterator, Sequence
from typing import overload

ID_SIZE = 20
"""Bytes of a binary (SHA-1) object id."""


class ObjectIds(Sequence[str]):
    """Object ids in order, appended as 20 raw bytes each, read as hex strings; equal to
    the list of the same hex strings. A slice is a copy of its part."""

    __slots__ = ("_ids",)

    def __init__(self, ids: Iterable[str] = ()) -> None:
        self._ids = bytearray()
        for oid in ids:
            self._ids += bytes.fromhex(oid)

    def append_binary(self, binary: bytes) -> None:
        """Append an id given as its 20 raw bytes."""
        self._ids += binary

    def __len__(self) -> int:
        return len(self._ids) // ID_SIZE

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> ObjectIds: ...
    def __getitem__(self, index: int | slice) -> str | ObjectIds:
        if isinstance(index, slice):
            part = ObjectIds()
            for position in range(*index.indices(len(self))):
                part._ids += self._ids[position * ID_SIZE : (position + 1) * ID_SIZE]
            return part
        count = len(self)
        if index < 0:
            index += count
        if not 0 <= index < count:
            raise IndexError("object id index out of range")
        return self._ids[index * ID_SIZE : (index + 1) * ID_SIZE].hex()

    def __iter__(self) -> Iterator[str]:
        ids = self._ids
        for start in range(0, len(ids), ID_SIZE):
            yield ids[start : start + ID_SIZE].hex()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ObjectIds):
            return self._ids == other._ids
        if isinstance(other, list):
            return len(other) == len(self) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, as the list it stands for

    def __repr__(self) -> str:
        return f"ObjectIds({list(self)!r})" if len(self) <= 4 else f"<{len(self)} object ids>"


class IdSet:
    """A set of binary object ids, each one of ``ids`` (a growing ``bytearray`` of 20-byte
    ids that the caller appends to), found by open addressing in an array of positions:
    about 40 bytes an id with the ids themselves, where a ``set`` of ``bytes`` takes 80."""

    __slots__ = ("_count", "_ids", "_mask", "_slots")

    def __init__(self, ids: bytearray) -> None:
        self._ids = ids
        self._count = 0
        self._mask = 1023
        self._slots = array.array("Q", bytes(8 * (self._mask + 1)))
        """Per slot: 0 (empty), or 1 + the id's position in ``ids``."""

    def __contains__(self, binary: bytes) -> bool:
        return self._find(binary)[1]

    def add_last(self) -> None:
        """Add the id last appended to ``ids`` (the caller checked it is not here)."""
        position = len(self._ids) // ID_SIZE - 1
        self._count += 1
        if 2 * self._count > self._mask:
            self._grow()
        else:
            slot, _ = self._find(bytes(self._ids[position * ID_SIZE : (position + 1) * ID_SIZE]))
            self._slots[slot] = position + 1

    def _find(self, binary: bytes) -> tuple[int, bool]:
        """The slot holding ``binary``, or the empty slot where it would go; and whether
        it is there."""
        slots, ids, mask = self._slots, self._ids, self._mask
        slot = int.from_bytes(binary[:8], "little") & mask
        while True:
            held = slots[slot]
            if not held:
                return slot, False
            start = (held - 1) * ID_SIZE
            if ids[start : start + ID_SIZE] == binary:
                return slot, True
            slot = (slot + 1) & mask

    def _grow(self) -> None:
        """Double the slots, and place every id again."""
        self._mask = 2 * self._mask + 1
        self._slots = array.array("Q", bytes(8 * (self._mask + 1)))
        ids = self._ids
        for position in range(self._count):
            slot, _ = self._find(bytes(ids[position * ID_SIZE : (position + 1) * ID_SIZE]))
            self._slots[slot] = position + 1
