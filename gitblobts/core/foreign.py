"""Foreign entries: what a branch holds besides the store's own files, and how each is met.

A store's folders hold regular files named as blob files, and its root ``.gitblobts.json``.
A repository may hold more (it may be shared, or hostile), and none of it is ever followed
out of the repository: gitblobts reads objects by id, never a symbolic link's target, nor a
submodule's commits. What it meets:

- an entry named like a blob file that is not a regular file (a symbolic link, a submodule,
  a folder), in a folder that queries read: queries skip it with a
  :class:`~gitblobts.ForeignEntryWarning`; :meth:`~gitblobts.Store.verify` reports it;
- any other entry of a folder of blobs but the root (which may hold other content): queries
  pass over it; ``verify`` reports it;
- an entry that is not a folder where the layout keeps folders of blobs (a file ``2026`` at
  the root of an ``hourly`` store): queries find no blobs there, adding a blob of such a
  time fails naming it, ``verify`` reports it;
- ``.gitblobts.json`` that is not a regular file: opening the store fails with
  :class:`~gitblobts.ConfigError`, and ``verify`` reports it.

An executable file named like a blob file is a blob like any other: git's mode says nothing
of its bytes.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

from gitblobts.core.backend import Backend, TreeEntry
from gitblobts.core.errors import ForeignEntryWarning
from gitblobts.core.naming import BlobName


def not_a_file(entry: TreeEntry) -> str:
    """Why an entry named like a blob file is not one, in a phrase."""
    return f"{entry.kind} named like a blob file, not a regular file"


def warn_of_skipped(
    backend: Backend,
    commit: str,
    folder: str,
    parse: Callable[[str], BlobName | None],
    low: float,
    high: float,
    entries: list[TreeEntry] | None = None,
) -> None:
    """Warn of each entry of ``folder`` that is named like a blob file of the range
    ``[low, high]`` but is not a regular file, which a query skips. ``entries``: those to
    judge, if not all of the folder's non-files (a parted blob's folder is read)."""
    if entries is None:
        entries = backend.list_non_files(commit, folder)
    for entry in entries:
        name = parse(entry.name)
        if name is not None and low <= name.timestamp_ns <= high:
            path = f"{folder}/{entry.name}" if folder else entry.name
            warnings.warn(
                f"{path}: skipped {not_a_file(entry)}; it is never read or followed "
                "(Store.verify() reports it)",
                ForeignEntryWarning,
                stacklevel=2,
            )
