"""Editing a tree with changes that come grouped by folder, holding only the folders open
along the current path: a commit of a million files costs the trees of one path, not a
million entries. Each folder is written as soon as the changes have moved past it, and
only its id is kept, in its parent's entries.

Changes are grouped when every folder's paths come one after another, as they do in any
sorted order (ascending or descending: the paths under a folder are a contiguous range of
either). :class:`GroupedFiles` is a mapping of files that can give its items so;
:class:`Grouped` marks changes that come so, and :func:`edit` applies them, with the same
results and refusals as :func:`gitblobts.gitfiles.trees.edit`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Protocol, runtime_checkable

from gitblobts.core.backend import TreeEntry
from gitblobts.core.errors import RepositoryError
from gitblobts.gitfiles.trees import FOLDER_MODE, order, put_file


@runtime_checkable
class GroupedFiles(Protocol):
    """Files (path to object id) that can list themselves grouped by folder."""

    def grouped_items(self) -> Iterator[tuple[str, str]]:
        """Every (path, object id), each folder's one after another."""
        ...


class Grouped:
    """Tree changes (a path split at ``/``, and the id of the file to put there; ``None``
    removes it) from ``(path, id)`` pairs grouped by folder."""

    def __init__(self, pairs: Iterable[tuple[str, str | None]]) -> None:
        self._pairs = pairs

    def __iter__(self) -> Iterator[tuple[list[str], str | None]]:
        for path, oid in self._pairs:
            yield path.split("/"), oid


def edit(
    read: Callable[[str], Mapping[str, TreeEntry]],
    write: Callable[[list[TreeEntry]], str],
    tree_id: str | None,
    changes: Iterable[tuple[list[str], str | None]],
) -> str:
    """The id of the tree ``tree_id`` (``None``: an empty one) with ``changes``, grouped by
    folder: ``read`` gives a tree's entries by name, ``write`` writes a tree of entries in
    git's order and returns its id. Refuses what :func:`~gitblobts.gitfiles.trees.edit`
    refuses, naming the path."""
    names: list[str] = []
    """The open folders below the root, outermost first."""
    opened = [_entries(read, tree_id)]
    """The entries of the root and of each open folder."""
    for parts, oid in changes:
        depth = len(parts) - 1
        common = 0
        while common < depth and common < len(names) and names[common] == parts[common]:
            common += 1
        while len(names) > common:
            _close(names, opened, write)
        for folder in parts[common:depth]:
            existing = opened[-1].get(folder)
            if existing is not None and not existing.is_folder:
                raise RepositoryError(
                    f"{_prefix(names)}{folder}: {existing.kind} stands where a folder is "
                    "needed; move it away to add blobs there"
                )
            opened.append(_entries(read, existing.oid if existing is not None else None))
            names.append(folder)
        put_file(opened[-1], parts[depth], oid, names)
    while names:
        _close(names, opened, write)
    return write(sorted(opened[0].values(), key=order))


def _entries(
    read: Callable[[str], Mapping[str, TreeEntry]], tree_id: str | None
) -> dict[str, TreeEntry]:
    # items(): copied at C speed, whatever the mapping (a LargeTree too).
    return dict(read(tree_id).items()) if tree_id is not None else {}


def _close(
    names: list[str], opened: list[dict[str, TreeEntry]], write: Callable[[list[TreeEntry]], str]
) -> None:
    """Write the innermost open folder, and put it in its parent (or, left empty, take it
    out)."""
    name, entries = names.pop(), opened.pop()
    if entries:
        opened[-1][name] = TreeEntry(name, write(sorted(entries.values(), key=order)), FOLDER_MODE)
    else:
        opened[-1].pop(name, None)


def _prefix(names: list[str]) -> str:
    return "".join(f"{name}/" for name in names)
