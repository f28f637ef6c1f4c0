"""Git's tree objects: parsed, ordered, serialized, and edited along changed paths.

:func:`parse` reads a tree's entries; :func:`serialize` writes them in git's order
(:func:`order`); :func:`edit` rebuilds only the trees along the paths a commit changes,
reading and writing trees through the caller (each backend has its own way).

A read lists each folder of blobs once, so backends skip making an entry object per file:
:func:`files` returns ``(name, object id)`` pairs, as
:meth:`~gitblobts.core.backend.Backend.list_files` does; :func:`split` returns them with the
entries they leave out. It reads only trees whose every entry has one of the modes git
writes; for anything else it returns ``None`` and the caller parses the tree its general
way.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, ItemsView, Iterable, Iterator, Mapping, ValuesView

from gitblobts.core.backend import FILE_MODE, TreeEntry
from gitblobts.core.errors import RepositoryError

FOLDER_MODE = 0o040000
"""The mode of a tree's entry that is a folder."""

_FILE_MODES = (b"100644", b"100755")
_FILE_PREFIXES = (b"100644 ", b"100755 ")
_MODES = {mode: int(mode, 8) for mode in (*_FILE_MODES, b"40000", b"120000", b"160000")}
"""The modes of :attr:`~gitblobts.core.backend.TreeEntry.is_file`, as git writes them."""


@functools.cache
def _entry(id_size: int) -> re.Pattern[bytes]:
    """One entry of a tree with ids of ``id_size`` bytes: mode, name, id."""
    entry = rb"(100644|100755|40000|120000|160000) ([^\0]*)\0(.{%d})" % id_size
    return re.compile(entry, re.DOTALL)


@functools.cache
def _file_entry(id_size: int) -> re.Pattern[bytes]:
    """One entry of a tree that is a regular file: name, id."""
    return re.compile(rb"(?:100644|100755) ([^\0]*)\0(.{%d})" % id_size, re.DOTALL)


@functools.cache
def _files_only(id_size: int) -> re.Pattern[bytes]:
    """A tree of regular files alone: each entry a match of :func:`_file_entry`, in turn."""
    return re.compile(rb"(?:(?:100644|100755) [^\0]*\0.{%d})*" % id_size, re.DOTALL)


def files(raw: bytes, id_size: int = 20) -> list[tuple[str, str]] | None:
    """``(name, hexadecimal id)`` of the regular files of the tree object ``raw``, in the
    tree's order; ``None`` if the tree has an entry of another form."""
    found = split(raw, id_size)
    return found[0] if found is not None else None


def split(
    raw: bytes, id_size: int = 20
) -> tuple[list[tuple[str, str]], list[tuple[str, str, int]]] | None:
    """:func:`files` of the tree object ``raw``, and its other entries (folders, symbolic
    links, submodules) as ``(name, hexadecimal id, mode)``; ``None`` if the tree has an
    entry of another form."""
    end = raw.find(b"\0") + 1 + id_size
    if end == len(raw) and raw[:7] in _FILE_PREFIXES and end > 8 + id_size:
        # One file, as a sparse store's folders hold: mode, space, name, NUL, id.
        return [
            (raw[7 : -1 - id_size].decode("utf-8", "surrogateescape"), raw[-id_size:].hex())
        ], []
    if _files_only(id_size).fullmatch(raw) is not None:  # a folder of blobs: the common case
        return [
            (name.decode("utf-8", "surrogateescape"), oid.hex())
            for name, oid in _file_entry(id_size).findall(raw)
        ], []
    # Split into (gap, mode, name, id) fours: a tree of such entries alone leaves no gap.
    # Each column is then handled in one call, not entry by entry. Names hold no NUL, so
    # they decode joined as they would one by one.
    parts = _entry(id_size).split(raw)
    if any(parts[0::4]):
        return None
    if len(parts) == 1:
        return [], []  # an empty tree
    modes = parts[1::4]
    names = b"\0".join(parts[2::4]).decode("utf-8", "surrogateescape").split("\0")
    entries = zip(names, map(bytes.hex, parts[3::4]), strict=True)
    if sum(map(modes.count, _FILE_MODES)) == len(modes):  # a folder of files only
        return list(entries), []
    found: list[tuple[str, str]] = []
    others: list[tuple[str, str, int]] = []
    for entry, mode in zip(entries, modes, strict=True):
        if mode in _FILE_MODES:
            found.append(entry)
        else:
            others.append((*entry, int(mode, 8)))
    return found, others


LARGE_TREE = 1024
"""From how many bytes a tree is better looked up in (:class:`LargeTree`) than parsed."""


_SEARCHES = 16
"""How many names a :class:`LargeTree` looks up in its bytes before it parses them."""


class LargeTree(Mapping[str, TreeEntry]):
    """The entries of a large tree by name, found in its bytes as they are asked for, so
    that looking one name up in a tree of thousands costs a search of its bytes, not a
    thousand entries made; parsed whole to be listed, or once many names were looked up.

    A name is looked for as git writes it (``<mode> <name>\\0<id>``); a match counts only
    if the bytes before it are whole entries, so a name containing another is never taken
    for it. Anything else (modes git no longer writes, damage) is parsed whole, and damage
    raises :func:`damaged` of the tree ``oid``."""

    __slots__ = ("_found", "_id_size", "_oid", "_parsed", "_raw")

    def __init__(self, raw: bytes, oid: str) -> None:
        self._raw = raw
        self._oid = oid
        self._id_size = len(oid) // 2
        self._found: dict[str, TreeEntry | None] = {}
        self._parsed: dict[str, TreeEntry] | None = None

    def get(self, name: str, default: None = None) -> TreeEntry | None:  # type: ignore[override]
        """The entry ``name``, or ``None``."""
        if self._parsed is not None:
            return self._parsed.get(name)
        try:
            return self._found[name]
        except KeyError:
            pass
        if len(self._found) >= _SEARCHES:  # looked up often: a parse costs less from now on
            return self._all().get(name)
        entry = self._found[name] = self._search(name)
        return entry

    def _search(self, name: str) -> TreeEntry | None:
        if "\0" in name:
            return None  # no entry's name holds a NUL
        raw, id_size = self._raw, self._id_size
        wanted = b" %s\0" % name.encode("utf-8", "surrogateescape")
        at = raw.find(wanted)
        if at < 0:
            return None  # an entry of that name would be there as written
        start = at - 5 if raw[at - 5 : at] == b"40000" else at - 6
        mode = _MODES.get(raw[start:at])
        oid = raw[at + len(wanted) : at + len(wanted) + id_size]
        if mode is None or len(oid) != id_size or not _whole(id_size).fullmatch(raw, 0, start):
            return self._all().get(name)  # not as git writes trees: parse all of it
        return TreeEntry(name, oid.hex(), mode)

    def __getitem__(self, name: str) -> TreeEntry:
        entry = self.get(name)
        if entry is None:
            raise KeyError(name)
        return entry

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def values(self) -> ValuesView[TreeEntry]:
        return self._all().values()

    def items(self) -> ItemsView[str, TreeEntry]:
        return self._all().items()

    def __len__(self) -> int:
        return len(self._all())

    def _all(self) -> dict[str, TreeEntry]:
        """Every entry, parsed once."""
        if self._parsed is None:
            try:
                self._parsed = parse(self._raw, self._id_size)
            except ValueError:
                raise damaged(self._oid) from None
            self._found.clear()
        return self._parsed


def damaged(oid: str) -> RepositoryError:
    """The error a damaged tree ``oid`` raises."""
    return RepositoryError(f"tree {oid} is damaged: not a tree's bytes")


@functools.cache
def _whole(id_size: int) -> re.Pattern[bytes]:
    """Whole entries, as git writes them, and nothing else."""
    entry = rb"(?:100644|100755|40000|120000|160000) [^\0]*\0.{%d}" % id_size
    return re.compile(rb"(?:%s)*" % entry, re.DOTALL)


def parse(raw: bytes, id_size: int = 20) -> dict[str, TreeEntry]:
    """The entries of the tree object ``raw`` (ids of ``id_size`` bytes), by name, in the
    tree's order; ``ValueError`` if ``raw`` is not a tree's bytes."""
    parts = _entry(id_size).split(raw)
    if len(parts) > 1 and not any(parts[0::4]):  # the modes git writes: a column at a time
        names = b"\0".join(parts[2::4]).decode("utf-8", "surrogateescape").split("\0")
        modes = [_MODES[mode] for mode in parts[1::4]]
        made = map(TreeEntry, names, map(bytes.hex, parts[3::4]), modes)
        return dict(zip(names, made, strict=True))
    entries: dict[str, TreeEntry] = {}
    position = 0
    while position < len(raw):
        space = raw.index(b" ", position)
        end = raw.index(b"\0", space)
        name = raw[space + 1 : end].decode("utf-8", "surrogateescape")
        oid = raw[end + 1 : end + 1 + id_size]
        if len(oid) != id_size:
            raise ValueError("a tree entry's id is cut short")
        entries[name] = TreeEntry(name, oid.hex(), int(raw[position:space], 8))
        position = end + 1 + id_size
    return entries


def order(entry: TreeEntry) -> bytes:
    """Git's order of tree entries: by name, a folder's name as if it ended with ``/``."""
    return entry.name.encode("utf-8", "surrogateescape") + (b"/" if entry.is_folder else b"")


def serialize(entries: Iterable[TreeEntry], *, ordered: bool = False) -> bytes:
    """The bytes of the tree object of ``entries``, in git's order; ``ordered``: they are
    in it already (as :func:`edit` writes them), and are not sorted again."""
    return b"".join(
        [
            b"%s %s\0%s"
            % (
                _MODE_TEXT.get(e.mode) or b"%o" % e.mode,
                e.name.encode("utf-8", "surrogateescape"),
                bytes.fromhex(e.oid),
            )
            for e in (entries if ordered else sorted(entries, key=order))
        ]
    )


_MODE_TEXT = {mode: text for text, mode in _MODES.items()}
"""Each mode git writes, as it writes it."""


Changes = Iterable[tuple[list[str], str | None]]
"""Changes to a tree: a path split at ``/``, and a file's id to add there (``None`` removes
the file)."""


def edit(
    read: Callable[[str], Mapping[str, TreeEntry]],
    write: Callable[[list[TreeEntry]], str],
    tree_id: str | None,
    changes: Changes,
) -> str:
    """The id of the tree ``tree_id`` (``None``: an empty one) with ``changes``, rebuilding
    only the trees along the changed paths: ``read`` gives a tree's entries by name,
    ``write`` writes a tree of entries in git's order and returns its id. A file is never
    overwritten by a different one, nor removed where there is none, nor a folder made
    where another entry stands: each raises ``RepositoryError`` naming the path."""
    return _edit(read, write, tree_id, list(changes), 0) or write([])


def _edit(
    read: Callable[[str], Mapping[str, TreeEntry]],
    write: Callable[[list[TreeEntry]], str],
    tree_id: str | None,
    changes: list[tuple[list[str], str | None]],
    depth: int,
) -> str | None:
    """:func:`edit` of the folder at ``depth`` along the changes' paths (each path's first
    ``depth`` parts name it); ``None`` if the folder is left empty."""
    if tree_id is None and all(len(parts) == depth + 1 for parts, _ in changes):
        return _new_folder(write, changes, depth)  # a batch makes many such: kept lean
    # items(): copied at C speed, whatever the mapping (a LargeTree too).
    entries = dict(read(tree_id).items()) if tree_id is not None else {}
    nested: dict[str, list[tuple[list[str], str | None]]] = {}
    below = depth + 1
    for change in changes:
        parts, oid = change
        if len(parts) > below:
            name = parts[depth]
            if name in nested:
                nested[name].append(change)
            else:
                nested[name] = [change]
            continue
        put_file(entries, parts[depth], oid, parts[:depth])
    for name, subchanges in nested.items():
        existing = entries.get(name)
        if existing is not None and not existing.is_folder:
            raise RepositoryError(
                f"{_folder(subchanges[0][0], depth)}{name}: {existing.kind} stands where a "
                "folder is needed; move it away to add blobs there"
            )
        old = existing.oid if existing is not None else None
        sub_id = _edit(read, write, old, subchanges, below)
        if sub_id is None:
            entries.pop(name, None)
        else:
            entries[name] = TreeEntry(name, sub_id, FOLDER_MODE)
    if not entries:
        return None
    return write(sorted(entries.values(), key=order))


def _new_folder(
    write: Callable[[list[TreeEntry]], str],
    changes: list[tuple[list[str], str | None]],
    depth: int,
) -> str | None:
    """:func:`_edit` of a folder that does not exist yet and gains only files (the
    ``depth``-th part of each path): their entries, each name once, in git's order."""
    files: dict[str, str] = {}
    for parts, oid in changes:
        name = parts[depth]
        if oid is None:
            raise RepositoryError(f"{_folder(parts, depth)}{name}: no file there to remove")
        if files.setdefault(name, oid) != oid:
            raise RepositoryError(
                f"{_folder(parts, depth)}{name}: a different file already exists there; "
                "blobs are never overwritten"
            )
    if not files:
        return None
    # Files alone: git's order is that of the names' bytes.
    names = sorted(files, key=_name_bytes) if len(files) > 1 else list(files)
    return write([TreeEntry(name, files[name], FILE_MODE) for name in names])


def _name_bytes(name: str) -> bytes:
    return name.encode("utf-8", "surrogateescape")


def put_file(entries: dict[str, TreeEntry], name: str, oid: str | None, folder: list[str]) -> None:
    """Put the file ``oid`` at ``name`` in the ``entries`` of the folder whose path is
    ``folder`` (remove it: ``None``). A file is never overwritten by a different one, nor
    removed where there is none: either raises ``RepositoryError`` naming the path."""
    existing = entries.get(name)
    if oid is None:
        if existing is None or existing.is_folder:
            raise RepositoryError(f"{_folder(folder, len(folder))}{name}: no file there to remove")
        del entries[name]
        return
    if existing is not None and (existing.mode, existing.oid) != (FILE_MODE, oid):
        raise RepositoryError(
            f"{_folder(folder, len(folder))}{name}: a different file already exists there; "
            "blobs are never overwritten"
        )
    entries[name] = TreeEntry(name, oid, FILE_MODE)


def _folder(parts: list[str], depth: int) -> str:
    """The folder at ``depth`` along ``parts``, as an error names it (``a/b/``, or ``""``)."""
    return "".join(f"{part}/" for part in parts[:depth])
