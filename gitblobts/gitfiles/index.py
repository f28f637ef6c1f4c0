"""Adding entries to git's index file by splicing bytes, never re-encoding the other entries.

The index (``.git/index``, versions 2 and 3) is a header, entries sorted by path, extensions
and a SHA-1 trailer. Adding a file inserts one encoded entry at its sorted place and copies
every other entry's bytes as they are, so the cost is a copy and a hash of the file, as for
git itself, rather than decoding and encoding every entry in Python. Where each entry starts
is remembered between calls for as long as the file is the one this writer last wrote.

Extensions are treated as ``git add`` treats them: the cached trees (``TREE``) are
invalidated along the added paths and kept elsewhere; resolve-undo (``REUC``) is kept; the
rest describe the old entries (offset tables, untracked and fsmonitor caches) and are
dropped: git rebuilds them when configured to (``core.untrackedCache``, ``core.fsmonitor``),
and works without them otherwise. Indexes this writer does not handle
(version 4's compressed paths, split and sparse indexes, unknown required extensions, a path
present already) are reported by :class:`Unsupported`, for the caller to fall back.
"""

from __future__ import annotations

import bisect
import hashlib
import os
import struct
from dataclasses import dataclass
from typing import BinaryIO

_HEADER = struct.Struct(">4sII")
_STAT = struct.Struct(">10I")
_KEPT_EXTENSIONS = {b"REUC"}
_UNREADABLE = {b"link": "a split index", b"sdir": "a sparse index"}
_FLAG_EXTENDED = 0x4000
_NAME_MASK = 0x0FFF


class Unsupported(Exception):
    """This index cannot be spliced; the reason is the message."""


class Unreadable(Unsupported):
    """This index is of a kind (split, sparse) that neither splicing nor rewriting handles."""


@dataclass(frozen=True, slots=True)
class NewEntry:
    """A file to add: its path, blob id and the stat of the file written to the work tree."""

    path: bytes
    oid: bytes
    """Binary (20-byte) object id."""
    stat: os.stat_result
    mode: int


@dataclass(slots=True)
class _Layout:
    """Where the entries of one version of an index file are."""

    signature: tuple[int, int, int]
    """(inode, size, mtime_ns) of the file this describes."""
    paths: list[bytes]
    starts: list[int]
    end: int
    """Where the entries end (and the extensions begin)."""


class IndexWriter:
    """Adds entries to one index file; keeps where its entries are between calls."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._layout: _Layout | None = None
        self._pending: _Layout | None = None

    def add(self, entries: list[NewEntry], out: BinaryIO) -> None:
        """Write the index plus ``entries`` to ``out`` (the caller's ``index.lock``, which
        it renames into place before calling :meth:`written`). Raises :class:`Unsupported`,
        having written nothing, when the index is one this writer does not handle."""
        data, layout, version, count = self._read()
        new = sorted(entries, key=lambda entry: entry.path)
        positions = [bisect.bisect_left(layout.paths, entry.path) for entry in new]
        for entry, position in zip(new, positions, strict=True):
            if position < len(layout.paths) and layout.paths[position] == entry.path:
                raise Unsupported(f"{entry.path!r} is in the index already")
        pieces: list[bytes | memoryview] = [_HEADER.pack(b"DIRC", version, count + len(new))]
        view = memoryview(data)
        cursor = 12
        encoded = [_encode(entry) for entry in new]
        for position, entry_bytes in zip(positions, encoded, strict=True):
            at = layout.starts[position] if position < len(layout.starts) else layout.end
            pieces.append(view[cursor:at])
            pieces.append(entry_bytes)
            cursor = at
        pieces.append(view[cursor : layout.end])
        pieces.append(_extensions(view[layout.end : len(data) - 20], [e.path for e in new]))
        skip_hash = data[-20:] == bytes(20) and count > 0
        body_size = sum(len(piece) for piece in pieces)
        digest = hashlib.sha1()  # noqa: S324 - git's index checksum
        for piece in pieces:
            out.write(piece)
            if not skip_hash:
                digest.update(piece)
        out.write(bytes(20) if skip_hash else digest.digest())
        out.flush()
        paths, starts, end = _updated(layout, positions, new, encoded, body_size)
        # The signature of the file as written: renaming it into place keeps it, whereas
        # statting the path afterwards could see another writer's index instead.
        self._pending = _Layout(_signature(os.fstat(out.fileno())), paths, starts, end)

    def written(self) -> None:
        """The file :meth:`add` wrote is now the index: remember where its entries are."""
        self._layout, self._pending = self._pending, None

    def check(self) -> None:
        """Raise :class:`Unreadable` if the index is split or sparse (cheap when the index is
        the one this writer last wrote)."""
        try:
            signature = _signature(os.stat(self._path))
        except FileNotFoundError:
            return
        if self._layout is not None and self._layout.signature == signature:
            return
        try:
            data, layout, _, _ = self._read()
        except Unreadable:
            raise
        except Unsupported:
            return  # a full rewrite handles what this writer does not
        _check_extensions(memoryview(data)[layout.end : len(data) - 20])
        self._layout = layout

    def _read(self) -> tuple[bytes, _Layout, int, int]:
        """The index's bytes, where its entries are, its version and entry count."""
        try:
            with open(self._path, "rb") as f:
                data = f.read()
                signature = _signature(os.fstat(f.fileno()))
        except FileNotFoundError:
            data, signature = _HEADER.pack(b"DIRC", 2, 0) + bytes(20), (0, 0, 0)
        magic, version, count = _HEADER.unpack_from(data)
        if magic != b"DIRC" or version not in (2, 3):
            raise Unsupported(f"index version {version}")
        layout = self._layout
        if layout is None or layout.signature != signature:
            layout = _scan(data, count, signature)
        return data, layout, version, count

    def forget(self) -> None:
        """Drop what is remembered (after another writer rewrote the index)."""
        self._layout = None
        self._pending = None


def _signature(stat: os.stat_result) -> tuple[int, int, int]:
    return stat.st_ino, stat.st_size, stat.st_mtime_ns


def _scan(data: bytes, count: int, signature: tuple[int, int, int]) -> _Layout:
    """Find where each entry starts: one pass over the entries' fixed-size headers."""
    paths: list[bytes] = []
    starts: list[int] = []
    position = 12
    unpack_flags = struct.Struct(">H").unpack_from
    for _ in range(count):
        (flags,) = unpack_flags(data, position + 60)
        name_start = position + 62
        if flags & _FLAG_EXTENDED:
            name_start += 2
        length = flags & _NAME_MASK
        if length == _NAME_MASK:
            length = data.index(b"\0", name_start) - name_start
        if (flags >> 12) & 3:
            raise Unsupported("the index holds unresolved conflicts")
        starts.append(position)
        paths.append(data[name_start : name_start + length])
        position = name_start + length + 8 - ((name_start + length - position) % 8)
    return _Layout(signature, paths, starts, position)


def _encode(entry: NewEntry) -> bytes:
    stat = entry.stat
    fields = (
        int(stat.st_ctime) & 0xFFFFFFFF,
        stat.st_ctime_ns % 1_000_000_000,
        int(stat.st_mtime) & 0xFFFFFFFF,
        stat.st_mtime_ns % 1_000_000_000,
        stat.st_dev & 0xFFFFFFFF,
        stat.st_ino & 0xFFFFFFFF,
        entry.mode,
        stat.st_uid & 0xFFFFFFFF,
        stat.st_gid & 0xFFFFFFFF,
        stat.st_size & 0xFFFFFFFF,
    )
    flags = min(len(entry.path), _NAME_MASK)
    head = _STAT.pack(*fields) + entry.oid + struct.pack(">H", flags) + entry.path
    return head + bytes(8 - len(head) % 8)


def _updated(
    layout: _Layout,
    positions: list[int],
    new: list[NewEntry],
    encoded: list[bytes],
    body_size: int,
) -> tuple[list[bytes], list[int], int]:
    """The entries' paths and starts after inserting ``new`` at ``positions``."""
    if not positions:
        return layout.paths, layout.starts, layout.end
    first = positions[0]
    paths = layout.paths[:first]
    starts = layout.starts[:first]
    shift = 0
    position = first
    for entry, at, entry_bytes in zip(new, positions, encoded, strict=True):
        while position < at:
            paths.append(layout.paths[position])
            starts.append(layout.starts[position] + shift)
            position += 1
        start = (layout.starts[at] if at < len(layout.starts) else layout.end) + shift
        paths.append(entry.path)
        starts.append(start)
        shift += len(entry_bytes)
    paths.extend(layout.paths[position:])
    starts.extend(start + shift for start in layout.starts[position:])
    return paths, starts, layout.end + shift


def _check_extensions(view: memoryview) -> None:
    """Raise :class:`Unreadable` for a split or sparse index's extension."""
    position = 0
    while position + 8 <= len(view):
        signature = bytes(view[position : position + 4])
        if signature in _UNREADABLE:
            raise Unreadable(_UNREADABLE[signature])
        position += 8 + struct.unpack_from(">I", view, position + 4)[0]


def _extensions(view: memoryview, added: list[bytes]) -> bytes:
    """The extensions to write after adding ``added``."""
    _check_extensions(view)
    kept: list[bytes] = []
    position = 0
    while position + 8 <= len(view):
        signature = bytes(view[position : position + 4])
        (size,) = struct.unpack_from(">I", view, position + 4)
        body = view[position + 8 : position + 8 + size]
        position += 8 + size
        if signature == b"TREE":
            kept.append(b"TREE" + _with_size(_invalidate(bytes(body), added)))
        elif signature in _KEPT_EXTENSIONS:
            kept.append(signature + struct.pack(">I", size) + bytes(body))
        elif not b"A" <= signature[:1] <= b"Z":
            raise Unsupported(f"required index extension {signature!r}")
    return b"".join(kept)


def _with_size(body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + body


def _invalidate(tree: bytes, added: list[bytes]) -> bytes:
    """The cached-tree extension with every folder along ``added`` marked invalid, as
    ``git add`` does; the rest of it stays valid."""
    invalid = {b""}
    for path in added:
        parts = path.split(b"/")[:-1]
        for depth in range(1, len(parts) + 1):
            invalid.add(b"/".join(parts[:depth]))
    out: list[bytes] = []
    if tree:
        _copy_tree(tree, 0, None, invalid, out)
    return b"".join(out)


def _copy_tree(
    data: bytes, position: int, parent: bytes | None, invalid: set[bytes], out: list[bytes]
) -> int:
    """Copy the cached tree at ``position`` and its subtrees into ``out``, invalidating the
    folders in ``invalid``; return where it ends. ``parent``: its parent's path (``None``
    for the root)."""
    name_end = data.index(b"\0", position)
    name = data[position:name_end]
    line_end = data.index(b"\n", name_end)
    count_text, subtree_text = data[name_end + 1 : line_end].split(b" ")
    valid = int(count_text) >= 0
    end = line_end + 1 + (20 if valid else 0)
    path = b"" if parent is None else (parent + b"/" + name if parent else name)
    if valid and path in invalid:
        out.append(name + b"\0-1 " + subtree_text + b"\n")
    else:
        out.append(data[position:end])
    for _ in range(int(subtree_text)):
        end = _copy_tree(data, end, path, invalid, out)
    return end
