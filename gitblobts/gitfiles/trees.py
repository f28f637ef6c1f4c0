"""The regular files of a git tree object, read straight from its raw bytes.

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

_FILE_MODES = (b"100644", b"100755")
"""The modes of :attr:`~gitblobts.core.backend.TreeEntry.is_file`, as git writes them."""


@functools.cache
def _entry(id_size: int) -> re.Pattern[bytes]:
    """One entry of a tree with ids of ``id_size`` bytes: mode, name, id."""
    entry = rb"(100644|100755|40000|120000|160000) ([^\0]*)\0(.{%d})" % id_size
    return re.compile(entry, re.DOTALL)


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
