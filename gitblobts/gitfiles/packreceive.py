"""Receiving a pack from a remote (a fetch): its bytes written to a temporary file in
``objects/pack`` as they arrive, then checked and indexed, and both moved into place.

Indexing is what ``git index-pack`` does for a pack that holds every base of its deltas
(fetched without the ``thin-pack`` capability): each entry's zlib stream is inflated once to
find where it ends and to hash the object it holds (a delta is applied to its base first),
its CRC-32 is taken over its stored bytes, and the pack's trailing checksum is checked. A
pack that is not exactly that (cut short, damaged, a delta whose base it lacks) raises
``ValueError`` and nothing is kept. Large objects are inflated and hashed a MiB at a time;
deltas, small in practice (trees), are applied in memory.

As with :class:`gitblobts.gitfiles.objects.PackWriter`, the index goes into place last: a
reader never sees a pack without its index, and a crash leaves at most a ``tmp_`` file.
"""

from __future__ import annotations

import array
import contextlib
import hashlib
import mmap
import os
import struct
import tempfile
import zlib
from collections.abc import Callable

from gitblobts.gitfiles.objects import fsync_folder, index_bytes
from gitblobts.gitfiles.packs import entry_header

_KINDS = {1: b"commit", 2: b"tree", 3: b"blob", 4: b"tag"}
_OFS_DELTA, _REF_DELTA = 6, 7
_ID_BYTES = 20
_CHUNK = 1 << 20
_MAX_CHAIN = 10_000
"""Longest delta chain followed (git's are a few thousand at most)."""


class PackReceiver:
    """One pack received into ``objects_dir`` (``.git/objects``): :meth:`write` its bytes,
    then :meth:`finish`, or :meth:`abort`. A context manager: a block that raises aborts."""

    def __init__(self, objects_dir: str, *, durable: bool = False) -> None:
        self._folder = os.path.join(objects_dir, "pack")
        os.makedirs(self._folder, exist_ok=True)
        self._durable = durable
        fd, self._temporary = tempfile.mkstemp(prefix="tmp_pack_", dir=self._folder)
        self._out = os.fdopen(fd, "w+b")

    def write(self, data: bytes) -> int:
        return self._out.write(data)

    def finish(self) -> str | None:
        """Check and index the pack, move it and its index into place; return its name
        (``pack-<sha>``), or ``None`` if nothing was received (nothing is kept then)."""
        out = self._out
        out.flush()
        if out.tell() == 0:
            self.abort()
            return None
        try:
            mapped = mmap.mmap(out.fileno(), 0, access=mmap.ACCESS_READ)
            try:
                ids, crcs, offsets, checksum = _index(mapped, memoryview(mapped))
            finally:
                with contextlib.suppress(BufferError):  # views an error holds: the GC closes it
                    mapped.close()
            if self._durable:
                os.fsync(out.fileno())
            out.close()
            name = f"pack-{checksum.hex()}"
            base = os.path.join(self._folder, name)
            index = index_bytes(ids, crcs, offsets, checksum)
            os.chmod(self._temporary, 0o444)
            os.replace(self._temporary, base + ".pack")
            fd, temporary_index = tempfile.mkstemp(prefix="tmp_idx_", dir=self._folder)
            with os.fdopen(fd, "wb") as index_file:
                index_file.write(index)
                if self._durable:
                    index_file.flush()
                    os.fsync(index_file.fileno())
            os.chmod(temporary_index, 0o444)
            os.replace(temporary_index, base + ".idx")
        except BaseException:
            self.abort()
            raise
        if self._durable:
            fsync_folder(self._folder)
        return name

    def abort(self) -> None:
        """Remove the unfinished pack."""
        self._out.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._temporary)

    def __enter__(self) -> PackReceiver:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        if exc_type is not None:
            self.abort()


def _index(
    pack: mmap.mmap, view: memoryview
) -> tuple[list[bytes], array.array[int], array.array[int], bytes]:
    """The ids, CRC-32s and offsets of the objects of ``pack``, and its checksum."""
    if len(pack) < 32 or pack[:4] != b"PACK" or struct.unpack_from(">I", pack, 4)[0] not in (2, 3):
        raise ValueError("not a pack of version 2 or 3")
    (count,) = struct.unpack_from(">I", pack, 8)
    end = len(pack) - _ID_BYTES
    checksum = pack[end:]
    if hashlib.sha1(view[:end]).digest() != checksum:  # noqa: S324 - git's
        raise ValueError("the pack's checksum does not match its contents (damaged or cut short)")
    ids: list[bytes | None] = []
    crcs = array.array("I")
    offsets = array.array("Q")
    deltas: list[tuple[int, int, int | bytes, int]] = []  # position, offset, base, data
    by_offset: dict[int, int] = {}
    offset = 12
    try:
        for position in range(count):
            kind, size, start = entry_header(pack, offset)
            base: int | bytes = 0
            if kind == _OFS_DELTA:
                base, start = _distance(pack, start)
                base = offset - base
            elif kind == _REF_DELTA:
                base, start = pack[start : start + _ID_BYTES], start + _ID_BYTES
            elif kind not in _KINDS:
                raise ValueError(f"an entry of unknown type {kind} at offset {offset}")
            if kind in _KINDS:
                digest = hashlib.sha1(b"%s %d\0" % (_KINDS[kind], size))  # noqa: S324
                after = _inflate(view, start, end, size, digest.update)
                ids.append(digest.digest())
            else:
                after = _inflate(view, start, end, size, _ignore)
                ids.append(None)
                deltas.append((position, offset, base, start))
            crcs.append(zlib.crc32(view[offset:after]))
            offsets.append(offset)
            by_offset[offset] = position
            offset = after
    except (IndexError, zlib.error) as error:
        raise ValueError(f"the pack is damaged at offset {offset}: {error}") from None
    if offset != end:
        raise ValueError("the pack holds more than its header counts")
    if deltas:
        _resolve(pack, view, end, ids, offsets, by_offset, deltas)
    return [oid for oid in ids if oid is not None], crcs, offsets, bytes(checksum)


def _resolve(
    pack: mmap.mmap,
    view: memoryview,
    end: int,
    ids: list[bytes | None],
    offsets: array.array[int],
    by_offset: dict[int, int],
    deltas: list[tuple[int, int, int | bytes, int]],
) -> None:
    """Give each delta of the pack its object's id, applying it to its base."""
    resolver = _Resolver(pack, view, end, ids, offsets, by_offset, deltas)
    pending = list(deltas)
    while pending:  # a REF_DELTA's base may itself be a delta later in the pack
        left = []
        for item in pending:
            try:
                resolver.whole(item[1])
            except ValueError:
                left.append(item)
        if len(left) == len(pending):
            resolver.whole(left[0][1])  # raises, saying why
        pending = left


class _Resolver:
    """The contents of a pack's objects, deltas applied, each found once."""

    def __init__(
        self,
        pack: mmap.mmap,
        view: memoryview,
        end: int,
        ids: list[bytes | None],
        offsets: array.array[int],
        by_offset: dict[int, int],
        deltas: list[tuple[int, int, int | bytes, int]],
    ) -> None:
        self._pack, self._view, self._end = pack, view, end
        self._ids, self._by_offset = ids, by_offset
        self._by_id = {oid: offsets[at] for at, oid in enumerate(ids) if oid is not None}
        self._contents: dict[int, tuple[int, bytes]] = {}
        self._delta_at = {offset: (base, start) for _, offset, base, start in deltas}

    def whole(self, offset: int, depth: int = 0) -> tuple[int, bytes]:
        """The type and contents of the object at ``offset``; a delta's id is recorded."""
        found = self._contents.get(offset)
        if found is not None:
            return found
        if depth > _MAX_CHAIN:
            raise ValueError(f"a delta chain too long at offset {offset}")
        kind, size, start = entry_header(self._pack, offset)
        if offset not in self._delta_at:
            result = (kind, _inflated(self._view, start, self._end, size))
        else:
            base, data_start = self._delta_at[offset]
            base_offset = self._by_id.get(base) if isinstance(base, bytes) else base
            if base_offset is None or base_offset not in self._by_offset:
                raise ValueError(f"the base of the delta at offset {offset} is not in the pack")
            base_kind, base_data = self.whole(base_offset, depth + 1)
            delta = _inflated(self._view, data_start, self._end, size)
            result = (base_kind, _apply(base_data, delta))
            digest = hashlib.sha1(b"%s %d\0" % (_KINDS[base_kind], len(result[1])))  # noqa: S324
            digest.update(result[1])
            self._ids[self._by_offset[offset]] = digest.digest()
            self._by_id[digest.digest()] = offset
        self._contents[offset] = result
        return result


def _distance(pack: mmap.mmap, start: int) -> tuple[int, int]:
    """An ``OFS_DELTA``'s distance back to its base, and where its zlib stream starts."""
    byte = pack[start]
    distance = byte & 0x7F
    while byte & 0x80:
        start += 1
        byte = pack[start]
        distance = ((distance + 1) << 7) | (byte & 0x7F)
    return distance, start + 1


def _inflate(
    view: memoryview, start: int, end: int, size: int, sink: Callable[[bytes], object]
) -> int:
    """Inflate the zlib stream at ``start`` (not past ``end``), giving its contents to
    ``sink`` a MiB at a time; return where the stream ends. ``ValueError`` unless it holds
    exactly ``size`` bytes."""
    inflate = zlib.decompressobj()
    position, total = start, 0
    window = min(size + (size >> 10) + 64, _CHUNK)  # most of the stream, little beyond
    while not inflate.eof:
        data: bytes | memoryview = inflate.unconsumed_tail
        if not data:
            if position >= end:
                raise ValueError(f"a zlib stream at offset {start} is cut short")
            data = view[position : min(position + window, end)]
            position += len(data)
            window = _CHUNK
        piece = inflate.decompress(data, _CHUNK)
        total += len(piece)
        if total > size:
            break
        sink(piece)
    if total != size or not inflate.eof:
        raise ValueError(f"the entry at offset {start} does not hold the size its header says")
    return position - len(inflate.unused_data) - len(inflate.unconsumed_tail)


def _ignore(piece: bytes) -> None:
    """A sink for contents that need not be kept."""


def _inflated(view: memoryview, start: int, end: int, size: int) -> bytes:
    pieces: list[bytes] = []
    _inflate(view, start, end, size, pieces.append)
    return b"".join(pieces)


def _apply(base: bytes, delta: bytes) -> bytes:
    """``delta`` (git's delta format) applied to ``base``."""
    position = 0

    def varint() -> int:
        nonlocal position
        value = shift = 0
        while True:
            byte = delta[position]
            position += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return value

    if varint() != len(base):
        raise ValueError("a delta's base is not the size the delta says")
    size = varint()
    out = bytearray()
    while position < len(delta):
        command = delta[position]
        position += 1
        if command & 0x80:
            start = length = 0
            for bit in range(4):
                if command & (1 << bit):
                    start |= delta[position] << (8 * bit)
                    position += 1
            for bit in range(3):
                if command & (1 << (4 + bit)):
                    length |= delta[position] << (8 * bit)
                    position += 1
            length = length or 0x10000
            if start + length > len(base):
                raise ValueError("a delta copies from beyond its base")
            out += base[start : start + length]
        elif command:
            out += delta[position : position + command]
            position += command
        else:
            raise ValueError("a delta holds a reserved instruction")
    if len(out) != size:
        raise ValueError("a delta does not make the size it says")
    return bytes(out)
