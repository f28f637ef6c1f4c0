"""The layout contract: which folder of the repository a blob's file goes in, and which
folders a time range has to read.

A layout is a class with

- ``name``: the identifier users pass (``layout='hourly'``) and the store configuration
  records. A store keeps one layout for life;
- ``folder(timestamp_ns) -> str``: the folder, relative to the repository root and without
  leading or trailing slashes (``""`` for the root), that holds blobs of that time;
- ``folders(tree, start_ns, end_ns, descending) -> Iterator[str]``: every existing folder that
  may hold blobs with ``start_ns <= time <= end_ns``, in ascending time order (descending if
  asked). It lists folders through ``tree`` so that a range query reads only what can
  overlap the range. Core lists the files of each folder, parses their names, and orders
  and filters them; a layout only prunes. It must descend into, and yield, only names it
  could have made: :meth:`~gitblobts.Store.verify` lists every entry, folder or not, to
  find what stands where the layout keeps a folder;
- ``name_format`` (optional, default ``2``): the version of the file names it holds, which
  picks the store's name format (:mod:`gitblobts.core.formats`). Format 2 is
  :mod:`gitblobts.core.naming`. A store whose layout holds names of a format that records no
  configuration reads and writes that format, codec and cipher coming from the options.

Folders must partition time into consecutive intervals: every blob of a folder yielded
earlier in ascending order is older than every blob of a folder yielded later.

What a layout is given: ``folder()`` any time from :data:`MIN_NS` to :data:`MAX_NS` (years
0001-9999, UTC); ``folders()`` a range with ``MIN_NS <= start_ns <= end_ns <= MAX_NS``, core
having clamped open and out-of-range ends (``getblobs()`` asks for ``MIN_NS, MAX_NS``) and
never asking for an empty range. So a layout needs no range checks of its own.

Helpers for layout authors, all in this module: :func:`utc_fields` splits a time into its
UTC year, month, day, hour, minute, second and nanosecond; :func:`from_utc_fields` is its
inverse (the first nanosecond of a folder's interval, say); :data:`MIN_NS` and
:data:`MAX_NS` are the smallest and largest time; :data:`NS_PER_SECOND` is ``10**9``.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator
from typing import ClassVar, Protocol

from gitblobts.core.timestamps import MAX_NS, MIN_NS, NS_PER_SECOND, from_utc_fields, utc_fields

__all__ = [
    "MAX_NS",
    "MIN_NS",
    "NS_PER_SECOND",
    "FolderLister",
    "Layout",
    "from_utc_fields",
    "utc_fields",
]


class FolderLister(Protocol):
    """Read access to the folder structure of the commit being queried."""

    def subfolders(self, folder: str) -> list[str]:
        """Names of the folders directly inside ``folder`` (``""`` is the root); ``[]`` if
        ``folder`` does not exist."""


class Layout(abc.ABC):
    """Placement of blob files in folders; see the module docstring for the contract."""

    name: ClassVar[str]
    name_format: ClassVar[int] = 2

    @abc.abstractmethod
    def folder(self, timestamp_ns: int) -> str:
        """The folder that holds blobs of ``timestamp_ns``."""

    @abc.abstractmethod
    def folders(
        self, tree: FolderLister, start_ns: int, end_ns: int, *, descending: bool = False
    ) -> Iterator[str]:
        """Existing folders that may hold blobs in ``[start_ns, end_ns]``, in time order
        (reversed if ``descending``); ``MIN_NS <= start_ns <= end_ns <= MAX_NS``."""

    def path(self, timestamp_ns: int, filename: str) -> str:
        """The repository path of a blob file."""
        folder = self.folder(timestamp_ns)
        return f"{folder}/{filename}" if folder else filename
