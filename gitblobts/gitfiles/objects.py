"""Writing git objects straight into a repository's object directory, as git writes them,
and reading loose objects: a size from its header, contents into one buffer of that size.

Loose objects for small additions; for batches, one pack (version 2) with its index
(version 2) per :class:`PackWriter`, streamed to disk object by object so that a batch of any
size costs constant memory. Blob contents that do not shrink (compressed or encrypted, judged
from a sample) are stored at deflate level 0, which is still valid zlib and costs a tenth of
level 1; so are trees and commits of up to :data:`SMALL_TREE` bytes (a few entries, mostly
ids that do not shrink); larger ones are deflated at level 1.

Writing objects makes nothing visible: an object is only reachable once a ref points at a
commit that reaches it, so a crash here leaves at most unreferenced objects or ``tmp_`` files,
which ``git gc`` removes.
"""

from __future__ import annotations

import array
import contextlib
import functools
import hashlib
import io
import os
import secrets
import struct
import tempfile
import zlib
from collections.abc import Sequence
from typing import BinaryIO, TypeAlias

from gitblobts.gitfiles.objectids import ID_SIZE, IdSet

BytesLike: TypeAlias = "bytes | bytearray | memoryview"

BLOB, TREE, COMMIT = b"blob", b"tree", b"commit"
_PACK_TYPES = {COMMIT: 1, TREE: 2, BLOB: 3}
_CHUNK = 1 << 20
"""Contents are deflated and hashed this many bytes at a time, so nothing is copied whole."""
_LARGE_OFFSET = 1 << 31
_INDEX_BATCH = 1 << 14
"""Objects of a pack index written at a time."""
_HEADER_READ = 512
"""Bytes of a loose object read for its header: far more than a deflated header takes."""
_HEADER_MAX = 32
"""Most bytes of a header (``commit <size>\\0``, sizes of up to 20 digits) inflated."""
_CREATE = os.O_CREAT | os.O_EXCL | os.O_WRONLY
_STORED_MAX = 0xFFFF
SMALL_TREE = 1024
"""Trees (and commits) of at most this many bytes are stored at deflate level 0: deflating
one of a few entries saves a few bytes and costs five times the rest of writing it."""
_STORED_HEADER = b"\x78\x01\x01"
"""A zlib header (deflate, 32 KiB window, level 0) and a final stored block's first byte."""


def object_id(kind: bytes, data: BytesLike) -> str:
    """The id git gives an object of ``kind`` with contents ``data``."""
    digest = hashlib.sha1(b"%s %d\0" % (kind, len(data)))  # noqa: S324 - git's object id
    digest.update(data)
    return digest.hexdigest()


def shrinks(sample: BytesLike) -> bool:
    """Whether contents like ``sample`` are worth deflating (a tenth smaller, at least)."""
    head = bytes(memoryview(sample)[:4096])
    return bool(head) and len(zlib.compress(head, 1)) < len(head) * 0.9


def _deflate(out: BinaryIO, data: BytesLike, level: int, prefix: bytes = b"", crc: int = 0) -> int:
    """Write ``prefix + data`` deflated to ``out``; return the CRC-32 of what was written,
    continuing ``crc``."""
    if len(data) <= _CHUNK:
        whole = prefix + data if prefix else data
        piece = _stored(whole) if level == 0 and len(whole) <= _STORED_MAX else None
        if piece is None:
            piece = zlib.compress(whole, level)
        out.write(piece)
        return zlib.crc32(piece, crc)
    compressor = zlib.compressobj(level)
    view = memoryview(data)
    pieces = [compressor.compress(prefix)] if prefix else []
    for start in range(0, len(view), _CHUNK):
        pieces.append(compressor.compress(view[start : start + _CHUNK]))
        for piece in pieces:
            out.write(piece)
            crc = zlib.crc32(piece, crc)
        pieces.clear()
    pieces.append(compressor.flush())
    for piece in pieces:
        out.write(piece)
        crc = zlib.crc32(piece, crc)
    return crc


def _stored(data: BytesLike) -> bytes:
    """``zlib.compress(data, 0)`` for up to 64 KiB, without zlib's setup: a zlib header, one
    final stored block and the Adler-32 checksum."""
    size = len(data)
    lengths = (size | (size ^ 0xFFFF) << 16).to_bytes(4, "little")
    return b"".join((_STORED_HEADER, lengths, data, zlib.adler32(data).to_bytes(4, "big")))


def write_loose(objects_dir: str, kind: bytes, data: BytesLike, *, durable: bool = False) -> str:
    """Write one loose object (unless it exists) and return its id. ``durable``: fsync the
    file and its folder before returning."""
    oid = object_id(kind, data)
    folder = os.path.join(objects_dir, oid[:2])
    path = os.path.join(folder, oid[2:])
    if os.path.exists(path):
        return oid
    level = 1 if kind != BLOB or shrinks(data) else 0
    temporary = os.path.join(folder, f"tmp_obj_{secrets.token_hex(8)}")
    fd = _create(folder, temporary)
    try:
        with os.fdopen(fd, "wb") as out:
            _deflate(out, data, level, prefix=b"%s %d\0" % (kind, len(data)))
            if durable:
                out.flush()
                os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        _remove(temporary)
        raise
    if durable:
        fsync_folder(folder)
    return oid


_CREATE_ATTEMPTS = 8
"""How many times a loose object's folder is made before its file is given up."""


def _create(folder: str, temporary: str) -> int:
    """Open a new file ``temporary`` in ``folder``, making the folder as needed: git's
    ``prune-packed`` (``git gc``, ``git maintenance``) removes object folders it empties,
    and may remove one between its making and the file's, so it is made again."""
    for _ in range(_CREATE_ATTEMPTS - 1):
        try:
            return os.open(temporary, _CREATE, 0o444)
        except FileNotFoundError:
            os.makedirs(folder, exist_ok=True)
    return os.open(temporary, _CREATE, 0o444)


def loose_size(objects_dir: str, oid: str, kind: bytes) -> int | None:
    """The size of loose object ``oid`` if it is a ``kind`` object, from its header (``blob
    <size>\\0``, the first bytes inflated); ``None`` if there is no such loose object, or its
    header is not one of a ``kind`` object."""
    try:
        with open(os.path.join(objects_dir, oid[:2], oid[2:]), "rb") as f:
            start = f.read(_HEADER_READ)
        header = zlib.decompressobj().decompress(start, _HEADER_MAX).partition(b"\0")[0]
    except (OSError, zlib.error):
        return None
    found, _, size = header.partition(b" ")
    if found != kind or not size.isdigit():
        return None
    return int(size)


def sized_buffer(size: int) -> io.BytesIO:
    """A file in memory whose buffer already holds ``size`` bytes, to be overwritten from
    the start: once exactly ``size`` bytes are written, ``getvalue()`` returns that buffer
    (CPython shares it), so contents built a piece at a time are never copied whole."""
    out = io.BytesIO()
    if size:
        out.seek(size - 1)
        out.write(b"\0")
        out.seek(0)
    return out


def read_loose(objects_dir: str, oid: str, kind: bytes) -> bytes | None:
    """The contents of loose object ``oid`` if it is a ``kind`` object; ``None`` if there is
    no such loose object, or it is not exactly one ``kind`` object of the size its header
    gives (the caller's general reader then says what is wrong).

    The file is read and inflated a MiB at a time into one buffer of the size the header
    gives, which becomes the result uncopied: a large object costs its size and a MiB or two.
    """
    try:
        with open(os.path.join(objects_dir, oid[:2], oid[2:]), "rb") as f:
            return _inflate_object(f, kind)
    except (OSError, zlib.error):
        return None


def _inflate_object(f: BinaryIO, kind: bytes) -> bytes | None:
    """The contents of the loose object ``f`` holds, if it is a ``kind`` object."""
    inflate = zlib.decompressobj()
    head = b""
    while (end := head.find(b"\0")) < 0:
        data = inflate.unconsumed_tail or f.read(_HEADER_READ)
        if not data or len(head) > _HEADER_MAX:
            return None
        head += inflate.decompress(data, _HEADER_MAX)
    found, _, digits = head[:end].partition(b" ")
    if found != kind or not digits.isdigit():
        return None
    size = int(digits)
    out = sized_buffer(size)
    out.write(head[end + 1 :])
    while not inflate.eof and out.tell() <= size:
        data = inflate.unconsumed_tail or f.read(_CHUNK)
        if not data:
            return None  # cut short
        out.write(inflate.decompress(data, _CHUNK))
    if out.tell() != size:
        return None
    return out.getvalue()


class PackWriter:
    """One pack and its index, written object by object into ``objects/pack``.

    :meth:`add` appends an object; :meth:`finish` completes the pack, writes its index and
    moves both into place (the index last, so readers never see a pack without one).
    :meth:`abort` removes what was written. Use as a context manager: a block that raises
    aborts.
    """

    def __init__(
        self, objects_dir: str, *, level: int | None = None, durable: bool = False
    ) -> None:
        self._folder = os.path.join(objects_dir, "pack")
        os.makedirs(self._folder, exist_ok=True)
        self._level = level
        self._durable = durable
        fd, self._temporary = tempfile.mkstemp(prefix="tmp_pack_", dir=self._folder)
        self._out = os.fdopen(fd, "w+b", buffering=_CHUNK)  # small objects, few writes
        self._out.write(b"PACK" + struct.pack(">II", 2, 0))
        self._offset = 12
        # Per object: binary id, CRC-32 of its entry, offset. Kept compact, in a bytearray
        # and arrays (about 60 bytes an object): a pack may hold millions of objects.
        self._ids = bytearray()
        self._seen = IdSet(self._ids)
        self._crcs = array.array("I")
        self._offsets = array.array("Q")

    def __len__(self) -> int:
        return len(self._ids) // ID_SIZE

    @property
    def size(self) -> int:
        """Bytes written to the pack so far."""
        return self._offset

    def add(self, kind: bytes, data: BytesLike) -> str:
        """Append an object (once: a repeat is skipped) and return its id."""
        size = len(data)
        digest = hashlib.sha1(b"%s %d\0" % (kind, size))  # noqa: S324 - git's object id
        digest.update(data)
        binary = digest.digest()
        if binary in self._seen:
            return binary.hex()
        if kind != BLOB:
            level = 0 if size <= SMALL_TREE else 1
        elif self._level is None:
            level = self._level = 1 if shrinks(data) else 0
        else:
            level = self._level
        header = pack_header(_PACK_TYPES[kind], size)
        if level == 0 and size <= _STORED_MAX:
            # The common case of a batch (small encrypted blobs, small trees): the entry
            # whole (:func:`_stored`, after the header), in one write.
            lengths = (size | (size ^ 0xFFFF) << 16).to_bytes(4, "little")
            adler = zlib.adler32(data).to_bytes(4, "big")
            entry = b"".join((header, _STORED_HEADER, lengths, data, adler))
            self._out.write(entry)
            crc = zlib.crc32(entry)
            self._offsets.append(self._offset)
            self._offset += len(entry)
        else:
            self._out.write(header)
            crc = _deflate(self._out, data, level, crc=zlib.crc32(header))
            self._offsets.append(self._offset)
            self._offset = self._out.tell()
        self._ids += binary
        self._seen.add_last()
        self._crcs.append(crc)
        return binary.hex()

    def add_stored(self, binary: bytes, stored: BytesLike) -> None:
        """Append an object given as a pack entry's bytes (header and zlib stream) and its
        id (20 bytes), as they are, once; the caller vouches that they match."""
        if binary not in self._seen:
            self._out.write(stored)
            self._ids += binary
            self._seen.add_last()
            self._crcs.append(zlib.crc32(stored))
            self._offsets.append(self._offset)
            self._offset += len(stored)

    def finish(self) -> str | None:
        """Complete the pack and its index; return the pack's name (``pack-<sha>``), or
        ``None`` if no object was added (nothing is kept then)."""
        if not self._ids:
            self.abort()
            return None
        out = self._out
        out.seek(8)
        out.write(struct.pack(">I", len(self)))
        out.seek(0)
        digest = hashlib.sha1()  # noqa: S324 - git's pack checksum
        while chunk := out.read(_CHUNK):
            digest.update(chunk)
        checksum = digest.digest()
        out.seek(0, os.SEEK_END)
        out.write(checksum)
        out.flush()
        if self._durable:
            os.fsync(out.fileno())
        out.close()
        name = f"pack-{checksum.hex()}"
        base = os.path.join(self._folder, name)
        try:
            os.chmod(self._temporary, 0o444)
            os.replace(self._temporary, base + ".pack")
            fd, temporary_index = tempfile.mkstemp(prefix="tmp_idx_", dir=self._folder)
            with os.fdopen(fd, "wb") as index_file:
                _write_index(index_file, self._ids, self._crcs, self._offsets, checksum)
                if self._durable:
                    index_file.flush()
                    os.fsync(index_file.fileno())
            os.chmod(temporary_index, 0o444)
            os.replace(temporary_index, base + ".idx")
        except BaseException:
            _remove(self._temporary)
            raise
        if self._durable:
            fsync_folder(self._folder)
        return name

    def abort(self) -> None:
        """Remove the unfinished pack."""
        self._out.close()
        _remove(self._temporary)

    def __enter__(self) -> PackWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        if exc_type is not None and not self._out.closed:
            self.abort()


@functools.lru_cache(maxsize=4096)
def pack_header(type_number: int, size: int) -> bytes:
    """A pack entry's header: type and size, the size in little-endian 7-bit groups."""
    byte = (type_number << 4) | (size & 0x0F)
    size >>= 4
    header = bytearray()
    while size:
        header.append(byte | 0x80)
        byte, size = size & 0x7F, size >> 7
    header.append(byte)
    return bytes(header)


def index_bytes(
    ids: Sequence[bytes], crcs: array.array[int], offsets: array.array[int], pack_checksum: bytes
) -> bytes:
    """A version-2 pack index for the objects ``ids`` with their CRC-32s and offsets, whole
    in memory (a pack being written writes its index a section at a time instead)."""
    out = io.BytesIO()
    _write_index(out, bytearray(b"".join(ids)), crcs, offsets, pack_checksum)
    return out.getvalue()


def _write_index(
    out: BinaryIO,
    ids: bytearray,
    crcs: array.array[int],
    offsets: array.array[int],
    pack_checksum: bytes,
) -> None:
    """Write the version-2 pack index of the objects ``ids`` (20 bytes each) with their
    CRC-32s and offsets to ``out``, a section at a time: the objects are sorted a first
    byte at a time, so that what is held besides ``ids`` is 4 bytes an object."""
    count = len(ids) // ID_SIZE
    buckets: list[array.array[int]] = [array.array("I") for _ in range(256)]
    for position in range(count):
        buckets[ids[position * ID_SIZE]].append(position)
    order = array.array("I")
    fanout: list[int] = []
    for bucket in buckets:
        order.extend(sorted(bucket, key=lambda p: bytes(ids[p * ID_SIZE : (p + 1) * ID_SIZE])))
        fanout.append(len(order))
    del buckets
    digest = hashlib.sha1()  # noqa: S324 - git's index checksum

    def write(data: bytes) -> None:
        digest.update(data)
        out.write(data)

    write(b"\377tOc" + struct.pack(">I", 2) + struct.pack(">256I", *fanout))
    for start in range(0, count, _INDEX_BATCH):
        batch = order[start : start + _INDEX_BATCH]
        write(b"".join([ids[p * ID_SIZE : (p + 1) * ID_SIZE] for p in batch]))
    for start in range(0, count, _INDEX_BATCH):
        batch = order[start : start + _INDEX_BATCH]
        write(struct.pack(f">{len(batch)}I", *(crcs[p] for p in batch)))
    large: list[int] = []
    for start in range(0, count, _INDEX_BATCH):
        small: list[int] = []
        for offset in (offsets[p] for p in order[start : start + _INDEX_BATCH]):
            if offset < _LARGE_OFFSET:
                small.append(offset)
            else:
                small.append(_LARGE_OFFSET | len(large))
                large.append(offset)
        write(struct.pack(f">{len(small)}I", *small))
    write(struct.pack(f">{len(large)}Q", *large) + pack_checksum)
    out.write(digest.digest())


def _remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def fsync_folder(folder: str) -> None:
    """Flush ``folder``'s entries to disk: what makes a file created or renamed in it
    durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
