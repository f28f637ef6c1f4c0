"""``daily``: blob files in ``YYYY/MM/DD`` folders of their UTC date."""

from __future__ import annotations

from collections.abc import Iterator

from gitblobts.core.layout import FolderLister, Layout, utc_fields

_WIDTHS = (4, 2, 2)  # year, month, day


class DailyLayout(Layout):
    """One folder per UTC day; a query descends only into the days that overlap its range."""

    name = "daily"

    def folder(self, timestamp_ns: int) -> str:
        year, month, day = utc_fields(timestamp_ns)[:3]
        return f"{year:04d}/{month:02d}/{day:02d}"

    def folders(
        self, tree: FolderLister, start_ns: int, end_ns: int, *, descending: bool = False
    ) -> Iterator[str]:
        low, high = utc_fields(start_ns)[:3], utc_fields(end_ns)[:3]

        def descend(folder: str, prefix: tuple[int, ...]) -> Iterator[str]:
            if len(prefix) == len(_WIDTHS):
                yield folder
                return
            n = len(prefix) + 1  # the depth of the folders listed: only ours, in range
            wanted = [
                (int(name), name)
                for name in tree.subfolders(folder)
                if len(name) == _WIDTHS[n - 1] and name.isascii() and name.isdigit()
                if low[:n] <= (*prefix, int(name)) <= high[:n]
            ]
            for value, name in sorted(wanted, reverse=descending):
                yield from descend(f"{folder}/{name}" if folder else name, (*prefix, value))

        yield from descend("", ())
