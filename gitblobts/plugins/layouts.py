"""Built-in layouts: ``flat`` (every blob at the repository root), ``hourly``
(``YYYY/MM/DD/HH/`` folders in UTC), ``20-second`` (``YYYY/MM/DD/HH/MMSS/`` folders of 20
seconds in UTC, the default for new stores) and ``v1`` (gitblobts 0.0.7's stores: format-1
names at the root)."""

from __future__ import annotations

import abc
import functools
import math
from collections.abc import Callable, Iterator
from typing import ClassVar

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


_Key = tuple[int, ...]
_NS_PER_HOUR = 3600 * NS_PER_SECOND
BUCKET_SECONDS = 20
"""The interval of a ``20-second`` layout's leaf folders."""
_NS_PER_BUCKET = BUCKET_SECONDS * NS_PER_SECOND


@functools.lru_cache(maxsize=1024)
def _hour_folder(hours: int) -> str:
    """``YYYY/MM/DD/HH`` of the hour ``hours`` after the epoch (blobs of a batch share few)."""
    year, month, day, hour, *_ = utc_fields(hours * _NS_PER_HOUR)
    return f"{year:04d}/{month:02d}/{day:02d}/{hour:02d}"


_BUCKETS_PER_HOUR = 3600 // BUCKET_SECONDS
_BUCKET_NAMES = tuple(
    f"{seconds // 60:02d}{seconds % 60:02d}" for seconds in range(0, 3600, BUCKET_SECONDS)
)
"""``MMSS`` of each 20-second bucket of an hour, in order."""


def _bucket_folder(buckets: int) -> str:
    """``YYYY/MM/DD/HH/MMSS`` of the 20-second bucket ``buckets`` after the epoch: its
    hour's folder (remembered) and its place in the hour (a batch of a blob a minute makes
    a new bucket every blob)."""
    hours, bucket = divmod(buckets, _BUCKETS_PER_HOUR)
    return f"{_hour_folder(hours)}/{_BUCKET_NAMES[bucket]}"


class _CalendarLayout(Layout):
    """Folders named by fixed-width UTC fields, coarsest first, so that names sort as time
    does. A range query descends only into the names whose fields overlap the range."""

    _widths: ClassVar[tuple[int, ...]]
    """The digits of each level's names, coarsest first."""

    @abc.abstractmethod
    def _key(self, timestamp_ns: int) -> _Key:
        """The value of each level's name for ``timestamp_ns`` (one per width)."""

    _values: ClassVar[tuple[frozenset[int] | None, ...]] = ()
    """Per level, coarsest first, the values its names can have, if not every value of
    their width (``()``: every level's)."""

    def folders(
        self, tree: FolderLister, start_ns: int, end_ns: int, *, descending: bool = False
    ) -> Iterator[str]:
        low = self._key(max(start_ns, MIN_NS))
        high = self._key(min(end_ns, MAX_NS))
        if low > high:
            return
        # Depth first, in query order, without a generator per folder: a read of a sparse
        # store walks a leaf folder per blob.
        last = len(self._widths) - 1
        pending: list[tuple[str, _Key]] = [("", ())]  # the next to descend into at the end
        while pending:
            folder, prefix = pending.pop()
            children = self._children(tree.subfolders(folder), prefix, low, high, descending)
            if len(prefix) == last:
                for _, name in children:
                    yield f"{folder}/{name}" if folder else name
            else:
                pending += [
                    (f"{folder}/{name}" if folder else name, (*prefix, value))
                    for value, name in reversed(children)
                ]

    def _children(
        self, names: list[str], prefix: _Key, low: _Key, high: _Key, descending: bool
    ) -> list[tuple[int, str]]:
        """The values and names of the folders ``names`` inside the folder ``prefix`` that
        overlap the range from ``low`` to ``high``, in query order."""
        depth = len(prefix)
        width = self._widths[depth]
        # The folder overlaps the range: only on its edges do the ends bound its children.
        least = low[depth] if prefix == low[:depth] else 0
        most = high[depth] if prefix == high[:depth] else math.inf
        values = self._values[depth] if depth < len(self._values) else None
        children: list[tuple[int, str]] = []
        for name in names:
            if len(name) != width or not (name.isascii() and name.isdigit()):
                continue  # not one of ours
            value = int(name)
            if least <= value <= most and (values is None or value in values):
                children.append((value, name))
        children.sort(reverse=descending)
        return children


class HourlyLayout(_CalendarLayout):
    """Blob files in ``YYYY/MM/DD/HH`` folders of their UTC time. A range query descends only
    into the years, months, days and hours that overlap the range, so its cost follows what
    it returns, not the size of the store. An hour folder passes 3,000 entries once a store
    averages 0.83 blobs a second over an hour: the default of stores made before the
    ``20-second`` layout."""

    name = "hourly"
    _widths = (4, 2, 2, 2)  # year, month, day, hour

    def folder(self, timestamp_ns: int) -> str:
        return _hour_folder(timestamp_ns // _NS_PER_HOUR)

    def _key(self, timestamp_ns: int) -> _Key:
        return utc_fields(timestamp_ns)[:4]


class TwentySecondLayout(_CalendarLayout):
    """Blob files in ``YYYY/MM/DD/HH/MMSS`` folders: the hour folders of ``hourly``, each
    split into 180 folders of 20 seconds, named by the UTC minute and second they start at
    (``MMSS``, ``SS`` one of ``00``, ``20``, ``40``). The default for new stores.

    Width: a 20-second folder holds 2,000 entries at a sustained 100 blobs a second, and stays
    within GitHub's recommended 3,000 up to 150 blobs a second; an hour folder holds at most
    180, a day folder 24. Cost: a one-hour query lists the hour's 180 folders at most (181
    when the hour starts inside one), and only those that exist, so a sparse store pays: at
    a blob a minute it reads 60 small trees for an hour where ``hourly`` reads one. Measured
    side by side (``docs/format.rst``): a one-hour ``getblobs`` of 60 blobs in such a store
    took 2.3 ms instead of 1.8 ms (``dulwich``) and 23 ms instead of 10 ms (``git``) (the
    benchmark's one-hour row: 2.0 ms against 1.2, and 9.4 ms against 3.3); at a
    blob a second, ``addblob`` into the current hour took 18 ms instead of 80 ms
    (``dulwich``), no longer rewriting a folder of 3,600 entries. Why 20 seconds: 10 (300
    blobs a second) doubles the folders a query of a store writing a blob every 10 seconds
    reads; 30 holds exactly 3,000 at 100 blobs a second, with no margin for bursts; a minute
    level between hours and buckets would add up to 60 more trees to every hour's query."""

    name = "20-second"
    _widths = (4, 2, 2, 2, 4)  # year, month, day, hour, minute and second
    _values = (
        None,
        None,
        None,
        None,
        frozenset(minute * 100 + second for minute in range(60) for second in (0, 20, 40)),
    )

    def folder(self, timestamp_ns: int) -> str:
        return _bucket_folder(timestamp_ns // _NS_PER_BUCKET)

    def _key(self, timestamp_ns: int) -> _Key:
        year, month, day, hour, minute, second, _ = utc_fields(timestamp_ns)
        return year, month, day, hour, minute * 100 + second // BUCKET_SECONDS * BUCKET_SECONDS


@hookimpl
def gitblobts_register_layouts(register: Callable[[type[Layout]], None]) -> None:
    """Provide the ``flat``, ``hourly``, ``20-second`` and ``v1`` layouts."""
    register(FlatLayout)
    register(HourlyLayout)
    register(TwentySecondLayout)
    register(V1Layout)
