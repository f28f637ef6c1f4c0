"""Reading whole objects straight out of a repository's pack files.

The dulwich backend reads most blobs here: each pack (version 2 or 3) and its index
(version 2) are memory-mapped; an object is found in the index's sorted table of ids (in
a small pack the ids with one first byte are read into a dictionary when first needed; in
a large one only their second bytes are, and the few ids sharing the first two bytes are
searched in the table), and
its contents are inflated in one call from the mapped pack. That is a fraction of what a
general object store spends per object, which matters when a read is thousands of small
blobs.

:meth:`PackReader.size` gives an object's size from its entry's header, or a delta's from
the delta's first bytes, without the contents: what a listing needs. :meth:`PackReader.stored`
gives a whole object's entry as it is stored, for another pack
(:mod:`gitblobts.gitfiles.packsend`).

Only what is simple and common is read here; for anything else :meth:`PackReader.read`
returns ``None`` and the caller asks its general object store: an object stored as a delta
(``OFS_DELTA``, ``REF_DELTA``), a loose object, an object of an alternate object directory,
an index of version 1, anything that does not look exactly right.

Packs come and go while a repository is open: another writer adds one, ``git gc`` or
``git repack -a -d`` replaces them all. An id not found in the known packs makes the reader
look at the pack directory again (unless a loose object has that id). A mapped pack stays
readable after its file is deleted (git never rewrites a pack in place: a pack's name is
its checksum), and is let go when a look at the directory no longer finds it.
"""

from __future__ import annotations

import bisect
import contextlib
import itertools
import mmap
import os
import re
import struct
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from gitblobts.gitfiles.objects import sized_buffer

_T = TypeVar("_T")

COMMIT, TREE, BLOB, TAG = 1, 2, 3, 4
"""The pack object types of whole objects."""
_OFS_DELTA, _REF_DELTA = 6, 7
_MAX_CHAIN = 10_000
"""Most deltas :meth:`_Pack.size` follows to find an object's type (git's longest chains are
a few thousand)."""

_ID_BYTES = 20
_INDEX_MAGIC = b"\xfftOc"
_INDEX_HEADER = 8 + 256 * 4
"""Magic, version, fan-out table."""
_LARGE = 0x80000000
"""An offset-table entry with this bit set indexes the table of 8-byte offsets."""
_PACK_VERSIONS = (2, 3)
_BUCKET_LIMIT = 1024
"""Most ids with one first byte that lookups keep in a dictionary (a pack of up to about
a quarter of a million objects); more are searched in the index: a lookup is a few times
slower, but what is read of the bucket on first use takes a byte an object rather than
some hundred, and a hundred times less time (5 µs against 0.5 ms for 4,000 ids)."""
_ONE_BYTE = [bytes([byte]) for byte in range(256)]
"""Each byte value as a bytes object of length 1."""
_IN_PLACE: dict[bytes, int] = {}
_ANY_KIND = -1
"""The kind under which lookups of an object of any kind remember their pack."""
"""The bucket of ids too many to hold in a dictionary: they are searched in the index."""
_MAX_PACKS = 256
"""Most packs mapped at once: each takes two file descriptors. Objects in others (a
repository that long went without ``git gc``) are left to the general reader."""
_RELEASED_SIZE = 1 << 20
"""Objects of at least this size are inflated a piece at a time, their mapped pages let go
once read."""
_CHUNK = 1 << 20
_IDS = re.compile(b".{%d}" % _ID_BYTES, re.DOTALL)
_OFFSET = struct.Struct(">I")
_LARGE_OFFSET = struct.Struct(">Q")


def _inflate_bound(size: int) -> int:
    """Most bytes a zlib stream of ``size`` bytes of contents takes: generous beside zlib's
    own ``deflateBound`` (``size`` plus about ``size / 4096`` plus 13), whatever the level."""
    return size + (size >> 10) + 64


class _Pack:
    """One pack and its index, mapped."""

    __slots__ = (
        "_buckets",
        "_count",
        "_ends",
        "_fanout",
        "_index",
        "_large",
        "_offsets",
        "_pack",
        "_seconds",
        "_view",
        "name",
    )

    def __init__(self, base: str) -> None:
        """Map ``base.pack`` and ``base.idx``; ``ValueError`` or ``OSError`` if they are not
        a pack and index of the supported versions that belong together."""
        self.name = os.path.basename(base)
        self._buckets: list[dict[bytes, int] | None] = [None] * 256
        """Per first byte, the ids and offsets of the objects, read on first use (or
        :data:`_IN_PLACE`)."""
        self._seconds: list[bytes | None] = [None] * 256
        """Per first byte whose ids are searched in place, the second bytes of the ids."""
        self._ends: list[int] | None = None
        """Every entry's offset, sorted, then the trailer's: where each entry ends."""
        self._index = _map(base + ".idx")
        try:
            self._pack = _map(base + ".pack")
        except BaseException:
            self._index.close()
            raise
        self._view = memoryview(self._pack)
        try:
            self._check()
        except BaseException:
            self.close()
            raise

    def _check(self) -> None:
        index, pack = self._index, self._pack
        if index[:4] != _INDEX_MAGIC or int.from_bytes(index[4:8], "big") != 2:
            raise ValueError(f"{self.name}.idx: not a version 2 pack index")
        counts = struct.unpack_from(">256I", index, 8)
        self._count = count = counts[-1]
        self._fanout = (0, *counts)
        self._offsets = _INDEX_HEADER + count * (_ID_BYTES + 4)
        large = len(index) - (self._offsets + 4 * count + 2 * _ID_BYTES)
        if large < 0 or large % 8 or list(counts) != sorted(counts):
            raise ValueError(f"{self.name}.idx: malformed pack index")
        self._large = large // 8
        if pack[:4] != b"PACK" or int.from_bytes(pack[4:8], "big") not in _PACK_VERSIONS:
            raise ValueError(f"{self.name}.pack: not a pack of version 2 or 3")
        if int.from_bytes(pack[8:12], "big") != count:
            raise ValueError(f"{self.name}: the pack and its index count different objects")
        if index[-2 * _ID_BYTES : -_ID_BYTES] != pack[-_ID_BYTES:]:
            raise ValueError(f"{self.name}: the index is not the pack's")

    def find(self, oid: bytes) -> int:
        """The offset in the pack of object ``oid`` (20 bytes), or -1."""
        first = oid[0]
        bucket = self._buckets[first]
        if bucket is None:
            bucket = self._bucket(first)
        if bucket is _IN_PLACE:
            return self._search(oid)
        offset = bucket.get(oid, -1)
        return self._large_offset(offset) if offset > 0 and offset & _LARGE else offset

    def _bucket(self, first: int) -> dict[bytes, int]:
        """The ids starting with byte ``first`` and their offsets, read from the index into
        a dictionary; :data:`_IN_PLACE` if there are too many (they are searched)."""
        low, high = self._fanout[first], self._fanout[first + 1]
        if high - low > _BUCKET_LIMIT:
            self._buckets[first] = _IN_PLACE
            return _IN_PLACE
        ids = self._index[_INDEX_HEADER + low * _ID_BYTES : _INDEX_HEADER + high * _ID_BYTES]
        offsets = struct.unpack_from(f">{high - low}I", self._index, self._offsets + 4 * low)
        bucket = self._buckets[first] = dict(zip(_IDS.findall(ids), offsets, strict=True))
        return bucket

    def _search(self, oid: bytes) -> int:
        """:meth:`find`, for a bucket too large to hold in a dictionary: in the index itself.

        The second bytes of the bucket's ids, one byte an object, are read on first use;
        they are sorted, so those equal to ``oid``'s are together: about 1/256 of the
        bucket (15 ids in a pack of a million objects), found in the table in C, then
        scanned in the index in one call. Once the bucket is read a lookup touches a few
        hundred bytes of the index: in a pack of millions of objects, reading the index
        is mostly waiting for memory, and a window around where the id's bytes say it is
        (the previous way) touched ten times as many."""
        first = oid[0]
        low = self._fanout[first]
        seconds = self._seconds[first]
        if seconds is None:
            start = _INDEX_HEADER + low * _ID_BYTES + 1
            end = _INDEX_HEADER + self._fanout[first + 1] * _ID_BYTES
            seconds = self._seconds[first] = self._index[start:end:_ID_BYTES]
        second = _ONE_BYTE[oid[1]]
        start = seconds.find(second)
        if start < 0:
            return -1
        index = self._index
        before = _INDEX_HEADER + (low + start) * _ID_BYTES
        after = _INDEX_HEADER + (low + seconds.rfind(second) + 1) * _ID_BYTES
        found = index.find(oid, before, after)
        while found >= 0 and (found - _INDEX_HEADER) % _ID_BYTES:
            found = index.find(oid, found + 1, after)  # across two ids: not one
        if found < 0:
            return -1
        (offset,) = _OFFSET.unpack_from(
            index, self._offsets + 4 * ((found - _INDEX_HEADER) // _ID_BYTES)
        )
        return self._large_offset(offset) if offset & _LARGE else offset

    def _large_offset(self, offset: int) -> int:
        """The offset an offset-table entry with :data:`_LARGE` set stands for, or -1."""
        entry = offset & ~_LARGE
        if entry >= self._large:
            return -1
        (offset,) = _LARGE_OFFSET.unpack_from(
            self._index, self._offsets + 4 * self._count + 8 * entry
        )
        return offset

    def read(self, offset: int, kind: int) -> bytes | None:
        """The contents of the object at ``offset`` if it is stored whole as a ``kind``
        object."""
        pack = self._pack
        byte = pack[offset]
        if (byte >> 4) & 7 != kind:
            return None  # another kind, or a delta: the general reader resolves it
        size, shift = byte & 15, 4
        offset += 1
        while byte & 0x80:
            byte = pack[offset]
            size |= (byte & 0x7F) << shift
            shift += 7
            offset += 1
        # One call: zlib stops at the end of the stream (or fails before it), whatever the
        # mapped bytes that follow it.
        if size >= _RELEASED_SIZE:
            return self._read_large(offset, size)
        data = zlib.decompress(self._view[offset : offset + _inflate_bound(size)], 15, size)
        if len(data) != size:
            return None  # not what the header says: let the general reader judge it
        return data

    def _read_large(self, start: int, size: int) -> bytes | None:
        """The ``size`` bytes of contents of the zlib stream at ``start``, inflated a MiB at
        a time into one buffer, letting go of the mapped pages read as it goes: a large
        object costs its size and a few MiB."""
        view = self._view
        end = min(start + _inflate_bound(size), len(view))
        inflate = zlib.decompressobj()
        out = sized_buffer(size)
        position = released = start
        while not inflate.eof and out.tell() <= size:
            data: bytes | memoryview = inflate.unconsumed_tail
            if not data:
                if position >= end:
                    return None
                data = view[position : min(position + _CHUNK, end)]
                position += len(data)
            out.write(inflate.decompress(data, _CHUNK))
            if position - released >= _CHUNK:
                self._release(released, position)
                released = position
        self._release(released, position)
        return out.getvalue() if out.tell() == size and inflate.eof else None

    def _release(self, start: int, end: int) -> None:
        """Let go of the mapped pages from ``start`` to ``end``: pages read stay in the
        process's resident memory as long as the pack is mapped, so that reading a large
        object would otherwise cost twice its size, and reading many, all the pack's size.
        The pages stay in the page cache, and a later read maps them again."""
        start -= start % mmap.PAGESIZE
        end = min(end, len(self._pack))
        if hasattr(mmap, "MADV_DONTNEED") and end > start:
            with contextlib.suppress(OSError, ValueError):
                self._pack.madvise(mmap.MADV_DONTNEED, start, end - start)

    def stored(self, offset: int) -> tuple[int, bytes] | None:
        """The type and the stored bytes (header and zlib stream, as they would go into
        another pack) of the entry at ``offset``, if it is a whole object; ``None`` for a
        delta. Nothing is inflated: the entry ends where the next one starts."""
        kind = (self._pack[offset] >> 4) & 7
        if kind not in (COMMIT, TREE, BLOB, TAG):
            return None
        ends = self._ends
        if ends is None:
            ends = self._ends = self._entry_ends()
        end = ends[bisect.bisect_right(ends, offset)]
        return kind, self._pack[offset:end]

    def _entry_ends(self) -> list[int]:
        """The offsets of all entries, sorted, and of the trailer."""
        small = struct.unpack_from(f">{self._count}I", self._index, self._offsets)
        ends = [self._large_offset(o) if o & _LARGE else o for o in small]
        ends.append(len(self._pack) - _ID_BYTES)
        ends.sort()
        return ends

    def _entry(self, offset: int) -> tuple[int, int, int]:
        """The type and size of the pack entry at ``offset``, and where its data starts."""
        return entry_header(self._pack, offset)

    def size(self, offset: int, kind: int) -> int | None:
        """The size of the object at ``offset`` if it is a ``kind`` object, stored whole or
        as a delta on a base in this pack: from the entry's header, or from the delta's
        header (its first bytes inflated), never from the contents; ``None`` otherwise."""
        entry, size, start = self._entry(offset)
        if entry in (_OFS_DELTA, _REF_DELTA):
            base = self._base(entry, offset, start)
            if base < 0 or self._kind(base) != kind:
                return None
            if entry == _REF_DELTA:
                start += _ID_BYTES
            else:
                while self._pack[start] & 0x80:
                    start += 1
                start += 1
            header = zlib.decompressobj().decompress(self._view[start : start + 64], 20)
            _, position = _varint(header, 0)  # the base's size, then the result's
            size, _ = _varint(header, position)
            return size
        return size if entry == kind else None

    def _base(self, entry: int, offset: int, start: int) -> int:
        """The offset of the base of the delta at ``offset`` (data at ``start``), or -1."""
        pack = self._pack
        if entry == _REF_DELTA:
            return self.find(bytes(pack[start : start + _ID_BYTES]))
        byte = pack[start]
        distance = byte & 0x7F
        while byte & 0x80:
            start += 1
            byte = pack[start]
            distance = ((distance + 1) << 7) | (byte & 0x7F)
        return offset - distance if 0 < distance <= offset else -1

    def _kind(self, offset: int) -> int:
        """The type of the object at ``offset``, following deltas to their whole base; -1
        if a base is not in this pack, or the chain is longer than git makes them."""
        for _ in range(_MAX_CHAIN):
            entry, _, start = self._entry(offset)
            if entry not in (_OFS_DELTA, _REF_DELTA):
                return entry
            offset = self._base(entry, offset, start)
            if offset < 0:
                return -1
        return -1

    def close(self) -> None:
        self._view.release()
        for mapped in (self._pack, self._index):
            with contextlib.suppress(BufferError):  # a read in another thread: the GC closes it
                mapped.close()


def _varint(data: bytes, position: int) -> tuple[int, int]:
    """A size of a delta's header (little-endian 7-bit groups) at ``position`` of ``data``,
    and the position after it; ``IndexError`` if ``data`` ends first."""
    value = shift = 0
    while True:
        byte = data[position]
        value |= (byte & 0x7F) << shift
        shift += 7
        position += 1
        if not byte & 0x80:
            return value, position


def _map(path: str) -> mmap.mmap:
    with open(path, "rb") as f:
        return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)


class PackReader:
    """Whole objects from the packs of one object directory (``.git/objects``). Threads
    may share a reader."""

    def __init__(self, objects_dir: str) -> None:
        self._objects_dir = objects_dir
        self._pack_dir = os.path.join(objects_dir, "pack")
        self._packs: tuple[_Pack, ...] = ()
        """The packs last found first; replaced whole, never changed, so that a reader in
        another thread always sees a consistent tuple."""
        self._recent: dict[int, tuple[tuple[_Pack, ...], _Pack]] = {}
        """Per kind of object, the pack that last held one, and the tuple of packs it was
        one of: tried first while that tuple is current. Objects of a kind read together
        are stored together (a store's blobs in one pack, the folders holding them in
        another), and a lookup in a pack of millions that misses costs as much as one
        that finds."""
        self._unsupported: set[str] = set()
        self._lock = threading.Lock()
        self._closed = False

    def read(self, oid: str, kind: int) -> bytes | None:
        """The contents of object ``oid`` (hexadecimal) if it is stored whole, as a ``kind``
        object, in a pack; ``None`` for anything else (see the module docstring)."""
        return self._at(oid, kind, lambda pack, offset: pack.read(offset, kind))

    def size(self, oid: str, kind: int) -> int | None:
        """The size of object ``oid`` (hexadecimal) if it is a ``kind`` object in a pack,
        whole or deltified (see :meth:`_Pack.size`); ``None`` for anything else."""
        return self._at(oid, kind, lambda pack, offset: pack.size(offset, kind))

    def stored(self, oid: str) -> tuple[int, bytes] | None:
        """The type and stored bytes of object ``oid`` (hexadecimal) if a pack holds it
        whole (see :meth:`_Pack.stored`)."""
        return self._at(oid, _ANY_KIND, lambda pack, offset: pack.stored(offset))

    def has(self, oid: str) -> bool:
        """Whether object ``oid`` (hexadecimal) is in a pack this reader maps."""
        return self._at(oid, 0, lambda pack, offset: True) is not None

    def _at(self, oid: str, kind: int, get: Callable[[_Pack, int], _T | None]) -> _T | None:
        """``get(pack, offset)`` of the pack holding ``oid``, trying first the pack that
        last held a ``kind`` object; ``None`` if none does, or it fails."""
        if len(oid) != 2 * _ID_BYTES:
            return None
        try:
            binary = bytes.fromhex(oid)
            packs = self._packs
            recent = self._recent.get(kind)
            tried = None
            if recent is not None and recent[0] is packs:
                tried = recent[1]
                offset = tried.find(binary)
                if offset >= 0:
                    return get(tried, offset)
            for pack in packs:
                if pack is not tried:
                    offset = pack.find(binary)
                    if offset >= 0:
                        self._recent[kind] = (packs, pack)
                        return get(pack, offset)
            if self._closed or self._is_loose(oid) or not self.rescan():
                return None
            for pack in self._packs:
                offset = pack.find(binary)
                if offset >= 0:
                    return get(pack, offset)
        except (ValueError, IndexError, OSError, struct.error, zlib.error):
            pass  # not an id, a pack unmapped meanwhile, or corrupt: the general reader decides
        return None

    def _is_loose(self, oid: str) -> bool:
        return os.path.exists(os.path.join(self._objects_dir, oid[:2], oid[2:]))

    def rescan(self) -> bool:
        """Look at the pack directory again: map new packs, let go of deleted ones. Return
        whether anything changed."""
        try:
            names = {
                name[:-4]
                for name in os.listdir(self._pack_dir)
                if name.startswith("pack-") and name.endswith(".idx")
            }
        except OSError:
            names = set()
        with self._lock:
            if self._closed:
                return False
            packs = self._packs
            known = {pack.name for pack in packs}
            new = names - known - self._unsupported
            if not new and len(known) == len(names & known):
                return False
            kept = [pack for pack in packs if pack.name in names]
            room = max(_MAX_PACKS - len(kept), 0)
            added = list(itertools.islice(self._open(sorted(new)), room))
            self._packs = (*added, *kept)
            return bool(added) or len(kept) != len(packs)

    def _open(self, names: Iterable[str]) -> Iterator[_Pack]:
        for name in names:
            try:
                yield _Pack(os.path.join(self._pack_dir, name))
            except ValueError:
                self._unsupported.add(name)  # never read here: the general reader has it
            except OSError:
                continue  # vanished meanwhile, or out of file descriptors: maybe next time

    def close(self) -> None:
        """Unmap every pack. Reads afterwards return ``None``."""
        with self._lock:
            self._closed = True
            packs, self._packs = self._packs, ()
            self._recent = {}
        for pack in packs:
            pack.close()


def read_each(reader: PackReader, oids: Iterable[str], kind: int) -> Iterator[bytes | None]:
    """:meth:`PackReader.read` of each of ``oids`` in turn, lazily, for reads of thousands
    of small objects: the pack that held the last object is tried first, without the
    reader's bookkeeping per object (objects read together are stored together), and an
    object of less than :data:`_RELEASED_SIZE` stored whole is found and inflated here, as
    :meth:`_Pack.find` and :meth:`_Pack.read` do, without their calls. Anything else goes
    to :meth:`PackReader.read`, which looks everywhere."""
    last: _Pack | None = None
    read = reader.read
    for oid in oids:
        data: bytes | None = None
        offset = -1
        if last is not None and len(oid) == 2 * _ID_BYTES:
            try:
                binary = bytes.fromhex(oid)
                bucket = last._buckets[binary[0]]
                offset = -1 if bucket is None else bucket.get(binary, -1)
                if bucket is None or (offset > 0 and offset & _LARGE):
                    offset = last.find(binary)
                if offset >= 0:
                    pack = last._pack
                    byte = pack[offset]
                    size, shift, start = byte & 15, 4, offset + 1
                    while byte & 0x80:
                        byte = pack[start]
                        size |= (byte & 0x7F) << shift
                        shift += 7
                        start += 1
                    if (pack[offset] >> 4) & 7 != kind or size >= _RELEASED_SIZE:
                        data = last.read(offset, kind)
                    else:
                        end = start + size + (size >> 10) + 64  # _inflate_bound(size)
                        data = zlib.decompress(last._view[start:end], 15, size)
                        if len(data) != size:
                            data = None
            except (ValueError, IndexError, OSError, struct.error, zlib.error):
                offset = -1  # not an id, the pack unmapped meanwhile, or corrupt: see below
        if offset < 0:
            data = read(oid, kind)
            packs = reader._packs
            last = packs[0] if data is not None and packs else None
        yield data


def entry_header(pack: mmap.mmap | bytes, offset: int) -> tuple[int, int, int]:
    """The type and size of the pack entry at ``offset`` of ``pack``, and where its data
    (or a delta's base reference) starts."""
    byte = pack[offset]
    kind, size, shift = (byte >> 4) & 7, byte & 15, 4
    offset += 1
    while byte & 0x80:
        byte = pack[offset]
        size |= (byte & 0x7F) << shift
        shift += 7
        offset += 1
    return kind, size, offset
