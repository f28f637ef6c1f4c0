"""Periods of a sharded store: the UTC years, months or days its shards hold.

A period is named by its first day in ISO 8601 (``2026``, ``2026-01``, ``2026-01-31``), so
names sort in time order; it holds the times ``start <= t < end`` (nanoseconds since the
Unix epoch, UTC). See :mod:`gitblobts.core.catalog`.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterator
from typing import NamedTuple

from gitblobts.core.errors import ArgumentError
from gitblobts.core.timestamps import MAX_NS, MIN_NS, from_utc_fields, utc_fields

SHARD_BY = ("year", "month", "day")
"""How a sharded store may divide time."""

_NAME = {
    "year": re.compile(r"\d{4}"),
    "month": re.compile(r"\d{4}-\d{2}"),
    "day": re.compile(r"\d{4}-\d{2}-\d{2}"),
}


class Period(NamedTuple):
    """One year, month or day: its name and its times ``start <= t < end``."""

    name: str
    start: int
    end: int


def check_shard_by(value: object) -> str:
    """``value`` if it is one of :data:`SHARD_BY`, else :class:`ArgumentError`."""
    if value not in SHARD_BY:
        raise ArgumentError(f"shard_by is {value!r}, not one of {', '.join(SHARD_BY)}")
    return str(value)


def period_of(ns: int, shard_by: str) -> Period:
    """The period holding the time ``ns``."""
    year, month, day = utc_fields(ns)[:3]
    if shard_by == "year":
        return _period(dt.date(year, 1, 1), shard_by)
    if shard_by == "month":
        return _period(dt.date(year, month, 1), shard_by)
    return _period(dt.date(year, month, day), shard_by)


def parse(name: str, shard_by: str) -> Period:
    """The period named ``name``; :class:`ArgumentError` if it names none."""
    if not _NAME[shard_by].fullmatch(name):
        raise ArgumentError(f"{name!r} is not the name of a {shard_by}")
    fields = [int(part) for part in name.split("-")] + [1, 1]
    try:
        return _period(dt.date(fields[0], fields[1], fields[2]), shard_by)
    except ValueError:
        raise ArgumentError(f"{name!r} is not the name of a {shard_by}") from None


def overlapping(low: float, high: float, shard_by: str) -> Iterator[Period]:
    """The periods overlapping ``low <= t <= high`` in time order (ends may be infinite;
    only as far as the supported years)."""
    first = period_of(MIN_NS if low == -math.inf else max(int(low), MIN_NS), shard_by)
    last_ns = MAX_NS if high == math.inf else min(int(high), MAX_NS)
    period = first
    while period.start <= last_ns:
        yield period
        if period.end > MAX_NS:
            return
        period = period_of(period.end, shard_by)


def _period(first: dt.date, shard_by: str) -> Period:
    after: dt.date | None
    if shard_by == "year":
        name, after = f"{first.year:04d}", _date(first.year + 1, 1, 1)
    elif shard_by == "month":
        name = f"{first.year:04d}-{first.month:02d}"
        after = _date(first.year + first.month // 12, first.month % 12 + 1, 1)
    else:
        name = first.isoformat()
        after = first + dt.timedelta(days=1) if first < dt.date.max else None
    start = from_utc_fields(first.year, first.month, first.day, 0, 0, 0, 0)
    if after is None:
        return Period(name, start, MAX_NS + 1)
    return Period(name, start, from_utc_fields(after.year, after.month, after.day, 0, 0, 0, 0))


def _date(year: int, month: int, day: int) -> dt.date | None:
    """The date, or ``None`` past the supported years."""
    return dt.date(year, month, day) if year <= dt.MAXYEAR else None
