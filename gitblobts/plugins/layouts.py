"""Built-in layouts: ``flat`` (every blob at the repository root), ``hourly``
(``YYYY/MM/DD/HH/`` folders in UTC, the default for new stores) and ``v1`` (gitblobts 0.0.7's
stores: format-1 names at the root)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator

from gitblobts.core.hookspecs import hookimpl
from gitblobts.core.layout import MAX_NS, MIN_NS, NS_PER_SECOND, FolderLister, Layout, utc_fields


class FlatLayout(Layout):
    """All blob files in the repository root. Simple, but every query lists every file and
    every add rewrites the root tree: fine for thousands of blobs, not for millions."""

    name = "flat"

    def folder(self, timestamp_ns: int) -> str:
        return ""

    def folders(
        self, tree: FolderLister, start_ns: int, end_ns: int, *, descending: bool = False
    ) -> Iterator[str]:
        yield ""


class V1Layout(FlatLayout):
    """The stores gitblobts 0.0.7 wrote: every blob at the repository root, under a format-1
    name (:mod:`gitblobts.core.formats.v1.names`). A store without ``.gitblobts.json`` whose root
    holds such names opens with this layout; :meth:`gitblobts.Store.migrate` rewrites it in
    the current format."""

    name = "v1"
    name_format = 1


_HourKey = tuple[int, ...]
_WIDTHS = (4, 2, 2, 2)  # year, month, day, hour
_NS_PER_HOUR = 3600 * NS_PER_SECOND


@functools.lru_cache(maxsize=1024)
def _hour_folder(hours: int) -> str:
    """``YYYY/MM/DD/HH`` of the hour ``hours`` after the epoch (blobs of a batch share few)."""
    year, month, day, hour, *_ = utc_fields(hours * _NS_PER_HOUR)
    return f"{year:04d}/{month:02d}/{day:02d}/{hour:02d}"


class HourlyLayout(Layout):
    """Blob files in ``YYYY/MM/DD/HH`` folders of their UTC time. A range query descends only
    into the years, months, days and hours that overlap the range, so its cost follows what
    it returns, not the size of the store."""

    name = "hourly"

    def folder(self, timestamp_ns: int) -> str:
        return _hour_folder(timestamp_ns // _NS_PER_HOUR)

    def folders(
        self, tree: FolderLister, start_ns: int, end_ns: int, *, descending: bool = False
    ) -> Iterator[str]:
        low = self._key(max(start_ns, MIN_NS))
        high = self._key(min(end_ns, MAX_NS))
        if low > high:
            return
        yield from self._descend(tree.subfolders, "", (), low, high, descending)

    @staticmethod
    def _key(timestamp_ns: int) -> _HourKey:
        return utc_fields(timestamp_ns)[:4]

    def _descend(
        self,
        subfolders: Callable[[str], list[str]],
        folder: str,
        prefix: _HourKey,
        low: _HourKey,
        high: _HourKey,
        descending: bool,
    ) -> Iterator[str]:
        depth = len(prefix)
        if depth == len(_WIDTHS):
            yield folder
            return
        width = _WIDTHS[depth]
        children: list[tuple[int, str]] = []
        for name in subfolders(folder):
            if len(name) != width or not (name.isascii() and name.isdigit()):
                continue  # not one of ours
            key = (*prefix, int(name))
            if low[: depth + 1] <= key <= high[: depth + 1]:
                children.append((int(name), name))
        children.sort(reverse=descending)
        for value, name in children:
            child = f"{folder}/{name}" if folder else name
            yield from self._descend(subfolders, child, (*prefix, value), low, high, descending)


@hookimpl
def gitblobts_register_layouts(register: Callable[[type[Layout]], None]) -> None:
    """Provide the ``flat``, ``hourly`` and ``v1`` layouts."""
    register(FlatLayout)
    register(HourlyLayout)
    register(V1Layout)
