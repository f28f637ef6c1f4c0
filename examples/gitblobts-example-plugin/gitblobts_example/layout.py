"""``daily``: blob files in ``YYYY/MM/DD`` folders of their UTC date."""

from __future__ import annotations

from collections.abc import Iterator

from gitblobts.core.layout import FolderLister, Layout
from gitblobts.core.timestamps import MAX_NS, MIN_NS, utc_fields

_WIDTHS = (4, 2, 2)  # year, month, day


class DailyLayout(Layout):
    """One folder per UTC day. A range query descends only into the years, months and days
    that overlap the range."""

    name = "daily"

    def folder(self, timestamp_ns: int) -> str:
        year, month, day = utc_fields(timestamp_ns)[:3]
        return f"{year:04d}/{month:02d}/{day:02d}"

    def folders(
        self, tree: FolderLister, start_ns: int, end_ns: int, *, descending: bool = False
    ) -> Iterator[str]:
        low = utc_fields(max(start_ns, MIN_NS))[:3]
        high = utc_fields(min(end_ns, MAX_NS))[:3]
        if low <= high:
            yield from self._descend(tree, "", (), low, high, descending)

    def _descend(
        self,
        tree: FolderLister,
        folder: str,
        prefix: tuple[int, ...],
        low: tuple[int, ...],
        high: tuple[int, ...],
        descending: bool,
    ) -> Iterator[str]:
        depth = len(prefix)
        if depth == len(_WIDTHS):
            yield folder
            return
        wanted: list[tuple[int, str]] = []
        for name in tree.subfolders(folder):
            if len(name) != _WIDTHS[depth] or not (name.isascii() and name.isdigit()):
                continue  # not a folder of this layout
            key = (*prefix, int(name))
            if low[: depth + 1] <= key <= high[: depth + 1]:
                wanted.append((int(name), name))
        for value, name in sorted(wanted, reverse=descending):
            child = f"{folder}/{name}" if folder else name
            yield from self._descend(tree, child, (*prefix, value), low, high, descending)
