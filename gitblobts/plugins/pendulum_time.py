"""The built-in time parser, ``pendulum``: the time strings gitblobts understands by itself.

It reads ISO 8601 / RFC 3339 (nanoseconds exact, the basic form file names use included),
RFC 2822 and git's dates, common written dates, epoch seconds, and relative English such as
``'2 hours ago'``, ``'yesterday noon'`` or ``'last monday'``. Matching ignores case and extra
whitespace; text longer than 200 characters, or not understood, gives ``None``.

A time without an offset is local time, as a naive ``datetime`` is everywhere in gitblobts
(the C library's zone, so ``TZ`` counts once ``time.tzset()`` has run): ``'2026-11-24 14:05'``
is the instant ``datetime(2026, 11, 24, 14, 5)`` is. Relative forms count from ``now_ns``.
Hours and smaller units are exact durations; days, weeks, months and years move the local
calendar and keep the wall-clock time, as pendulum does, so that ``'1 day ago'`` across a
DST change is 23 or 25 hours. Numeric dates are year first (``2026/11/24``) or US
month/day/year (``11/24/2026``); a bare number is epoch seconds, never a date.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction

import pendulum

from gitblobts.core.errors import TimeError
from gitblobts.core.hookspecs import hookimpl
from gitblobts.core.timestamps import (
    NS_PER_SECOND,
    TimeParser,
    check_range,
    format_iso,
    from_utc_fields,
    to_ns,
)

MAX_LENGTH = 200
"""Longer text is not parsed at all: no time string needs more."""

_NS_PER_DAY = 86_400 * NS_PER_SECOND
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAY_WORDS = {"today": 0, "yesterday": -1, "tomorrow": 1}

# Every pattern below is matched whole against lowercased text with single spaces, and is
# linear: no quantified group contains another quantifier that could match the same text.
_WEEKDAY = (
    r"(?:mon(?:day)?|tue(?:s(?:day)?)?|wed(?:nesday)?|thu(?:r(?:s(?:day)?)?)?|fri(?:day)?"
    r"|sat(?:urday)?|sun(?:day)?)"
)
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_NTH = r"(?:st|nd|rd|th)?"
_DAY = (
    r"(?P<word>today|yesterday|tomorrow)"
    rf"|(?P<dir>last|next) (?P<dirday>{_WEEKDAY})"
    r"|(?P<y>\d{4})(?P<sep>[-/])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})"
    rf"|(?:(?P<wd>{_WEEKDAY}),? )?(?:(?P<d2>\d{{1,2}}){_NTH} (?P<m2>{_MONTH})\.?,? (?P<y2>\d{{4}})"
    rf"|(?P<m3>{_MONTH})\.? (?P<d3>\d{{1,2}}){_NTH},? (?P<y3>\d{{4}}))"
    r"|(?P<m4>\d{1,2})/(?P<d4>\d{1,2})/(?P<y4>\d{4})"
)
_WEEKDAY_ALONE = re.compile(_WEEKDAY, re.ASCII)
_RELATIVE_PERIOD = re.compile(r"(last|next) (week|month|year)", re.ASCII)
_DAY_FIRST = re.compile(r"(1[3-9]|2\d|3[01])[/.](\d{1,2})[/.](\d{4})", re.ASCII)
_AM_PM = r"[ap]\.?m\.?"
_CLOCK = (
    rf"(?P<h>\d{{1,2}}):(?P<mi>\d{{2}})(?::(?P<s>\d{{2}})(?:[.,](?P<f>\d{{1,9}}))?)?"
    rf"(?: ?(?P<ap>{_AM_PM}))?"
    rf"|(?P<h2>\d{{1,2}}) ?(?P<ap2>{_AM_PM})"
    r"|(?P<clockword>noon|midnight)"
)
_ZONE = r"(?: ?(?P<z>z|utc|gmt|ut|[+-]\d{2}(?::?\d{2})?))?"
_MOMENTS = tuple(
    re.compile(pattern, re.ASCII)
    for pattern in (
        # 2026-11-24T14:05:06.5+01:00, yesterday noon, tue, 24 nov 2026 06:15:00 +0000
        rf"(?:{_DAY})(?:(?:t|,? (?:at )?)(?:{_CLOCK}))?{_ZONE}",
        # noon yesterday, 9am tomorrow, 14:05
        rf"(?:{_CLOCK})(?:,? (?:{_DAY}))?{_ZONE}",
        # git's and ctime's: tue nov 24 06:15:00 2026 +0100
        rf"(?:(?P<wd>{_WEEKDAY}) )?(?P<m3>{_MONTH}) (?P<d3>\d{{1,2}}) (?:{_CLOCK}) "
        rf"(?P<y3>\d{{4}}){_ZONE}",
        # ISO 8601 basic, as in file names: 20261124t061500.123456789z
        r"(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})t(?P<h>\d{2})(?P<mi>\d{2})"
        rf"(?:(?P<s>\d{{2}})(?:[.,](?P<f>\d{{1,9}}))?)?{_ZONE}",
    )
)
_GROUP_NAMES = frozenset(name for pattern in _MOMENTS for name in pattern.groupindex)
_EPOCH = re.compile(r"@? ?([+-]?(?:\d+(?:\.\d*)?|\.\d+))", re.ASCII)
_TERM = re.compile(r"(?:(\d+(?:\.\d*)?|\.\d+) ?|(an?|one) )([a-z]+)(?:,? (?:and )?)?", re.ASCII)
_OTHER_ISO = re.compile(
    r"\d{4}-?(?:w\d{2}(?:-?\d)?|\d{3})(?:t[0-9:.,]+(?:z|[+-][0-9:]+)?)?|\d{4}-\d{2}", re.ASCII
)
_FRACTION = re.compile(r"[.,](\d+)", re.ASCII)

_EXACT, _DAYS, _MONTHS_UNIT = "exact", "days", "months"
_UNITS: dict[str, tuple[str, int]] = {}
for _names, _unit in (
    ("ns nanosecond nanoseconds", (_EXACT, 1)),
    ("us microsecond microseconds", (_EXACT, 1_000)),
    ("ms msec msecs millisecond milliseconds", (_EXACT, 1_000_000)),
    ("s sec secs second seconds", (_EXACT, NS_PER_SECOND)),
    ("m min mins minute minutes", (_EXACT, 60 * NS_PER_SECOND)),
    ("h hr hrs hour hours", (_EXACT, 3_600 * NS_PER_SECOND)),
    ("d day days", (_DAYS, 1)),
    ("w wk wks week weeks", (_DAYS, 7)),
    ("mo mos mth mths month months", (_MONTHS_UNIT, 1)),
    ("y yr yrs year years", (_MONTHS_UNIT, 12)),
):
    _UNITS.update(dict.fromkeys(_names.split(), _unit))


class PendulumTimeParser(TimeParser):
    """Absolute, relative and epoch time strings; see the module documentation."""

    name = "pendulum"

    def parse(self, text: str, now_ns: int) -> int | None:
        """Return ``text`` as epoch nanoseconds, or ``None`` if it is not understood.

        Raises :class:`TimeError` for text that is understood but names a time outside the
        years 0001-9999 (UTC), such as ``'3000 years ago'``.
        """
        if len(text) > MAX_LENGTH:
            return None
        key = " ".join(text.split()).lower()
        if key == "now":
            return check_range(now_ns, text)
        for attempt in _PARSERS:
            ns = attempt(key, now_ns, text)
            if ns is not None:
                return check_range(ns, text)
        return None

    def suggest(self, text: str) -> str | None:
        """What to write instead of a form left out for being ambiguous: a weekday alone,
        ``last week``, ``next month``, a day-first numeric date."""
        key = " ".join(text.split()).lower()[:MAX_LENGTH]
        if _WEEKDAY_ALONE.fullmatch(key):
            return f"{text.strip()!r} alone is ambiguous: write 'last {key}' or 'next {key}'"
        relative = _RELATIVE_PERIOD.fullmatch(key)
        if relative is not None:
            direction, unit = relative.groups()
            instead = f"1 {unit} ago" if direction == "last" else f"in 1 {unit}"
            return f"{text.strip()!r} is ambiguous: write {instead!r}, or a date"
        day_first = _DAY_FIRST.fullmatch(key)
        if day_first is not None:
            day, month, year = day_first.groups()
            return f"numeric dates are month first or year first: write '{year}-{month}-{day}'"
        return None


def _epoch(key: str, now_ns: int, text: str) -> int | None:
    """``1700000000``, ``-5.25``, ``@1700000000``: exact epoch seconds."""
    match = _EPOCH.fullmatch(key)
    if match is None:
        return None
    return round(Fraction(Decimal(match.group(1))) * NS_PER_SECOND)


def _moment(key: str, now_ns: int, text: str) -> int | None:
    """A day, a time of day and an offset, each optional (but not all absent)."""
    for pattern in _MOMENTS:
        match = pattern.fullmatch(key)
        if match is not None:
            group: dict[str, str | None] = dict.fromkeys(_GROUP_NAMES)
            return _moment_ns({**group, **match.groupdict()}, now_ns, text)
    return None


def _moment_ns(group: dict[str, str | None], now_ns: int, text: str) -> int | None:
    clock = _clock(group)
    if clock is None:
        return None
    hour, minute, second, nanosecond = clock
    try:
        offset = _offset_seconds(group["z"])
        date = _date(group, now_ns, offset, text)
        if date is None:
            return None
        if offset is not None:
            fields = (date.year, date.month, date.day, hour, minute, second, nanosecond)
            return from_utc_fields(*fields) - offset * NS_PER_SECOND
        wall = dt.datetime.combine(date, dt.time(hour, minute, second))
    except TimeError:
        raise
    except ValueError:  # no such day or time of day
        return None
    return _local_ns(wall, text) + nanosecond


def _offset_seconds(zone: str | None) -> int | None:
    """Seconds east of UTC for ``z``, ``utc``, ``+05:30``, ``-0800``, ``+01``; ``None`` if no
    zone was given (local time)."""
    if zone is None:
        return None
    if zone[0] not in "+-":
        return 0
    digits = zone[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if hours > 23 or minutes > 59:
        raise ValueError(f"offset {zone!r} out of range")
    seconds = hours * 3_600 + minutes * 60
    return -seconds if zone[0] == "-" else seconds


def _clock(group: dict[str, str | None]) -> tuple[int, int, int, int] | None:
    """(hour, minute, second, nanosecond) of a time of day; midnight if none was given."""
    if group["clockword"] is not None:
        return (12 if group["clockword"] == "noon" else 0), 0, 0, 0
    hour_text, am_pm = group["h"] or group["h2"], group["ap"] or group["ap2"]
    if hour_text is None:
        return 0, 0, 0, 0
    hour = int(hour_text)
    if am_pm is not None:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if am_pm[0] == "p" else 0)
    fraction = group["f"] or ""
    return hour, int(group["mi"] or 0), int(group["s"] or 0), int(fraction.ljust(9, "0"))


def _date(
    group: dict[str, str | None], now_ns: int, offset: int | None, text: str
) -> dt.date | None:
    """The calendar day named, or today (in the zone of ``offset``) if none was."""
    year = group["y"] or group["y2"] or group["y3"] or group["y4"]
    if year is not None:
        month = group["m"] or group["m2"] or group["m3"] or group["m4"]
        day = group["d"] or group["d2"] or group["d3"] or group["d4"]
        if month is None or day is None:
            return None
        number = int(month) if month.isdigit() else _MONTHS.index(month[:3]) + 1
        date = dt.date(int(year), number, int(day))
        weekday = group["wd"]
        if weekday is not None and _WEEKDAYS.index(weekday[:3]) != date.weekday():
            return None  # 'mon, 24 nov 2026' contradicts itself
        return date
    today = _wall(now_ns, offset, text).date()
    try:
        if group["word"] is not None:
            return today + dt.timedelta(days=_DAY_WORDS[group["word"]])
        if group["dir"] is not None and group["dirday"] is not None:
            target = _WEEKDAYS.index(group["dirday"][:3])
            if group["dir"] == "last":
                return today - dt.timedelta(days=(today.weekday() - target) % 7 or 7)
            return today + dt.timedelta(days=(target - today.weekday()) % 7 or 7)
    except OverflowError as error:
        raise _outside(text) from error
    return today


def _relative(key: str, now_ns: int, text: str) -> int | None:
    """``2 hours ago``, ``in 1.5 days``, ``+90min``, ``now - 1 week``, ``1h 30m from now``."""
    sign, body = 0, key
    if body.startswith("now ") or body.startswith(("now+", "now-")):
        body = body[3:].lstrip()
        if not body.startswith(("+", "-")):
            return None
    if body.startswith(("+", "-")):
        sign, body = (1 if body[0] == "+" else -1), body[1:].lstrip()
    elif body.startswith("in "):
        sign, body = 1, body[3:]
    for suffix, direction in ((" ago", -1), (" from now", 1), (" later", 1)):
        if body.endswith(suffix):
            if sign:
                return None  # 'in 2 hours ago'
            sign, body = direction, body[: -len(suffix)]
    if not sign or not body:
        return None
    exact, days, months, position = Fraction(0), Fraction(0), 0, 0
    while position < len(body):
        match = _TERM.match(body, position)
        if match is None or match.group(3) not in _UNITS:
            return None
        number, _, unit = match.groups()
        amount = Fraction(Decimal(number)) if number is not None else Fraction(1)
        kind, size = _UNITS[unit]
        if kind == _EXACT:
            exact += amount * size
        elif kind == _DAYS:
            days += amount * size
        elif amount.denominator == 1:
            months += int(amount) * size
        else:
            return None  # a fraction of a month has no fixed length
        position = match.end()
    whole_days = int(days)
    exact += (days - whole_days) * _NS_PER_DAY
    start = _shift_calendar(now_ns, sign * months, sign * whole_days, text)
    return start + sign * round(exact)


def _shift_calendar(now_ns: int, months: int, days: int, text: str) -> int:
    """``now_ns`` moved by whole months and days on the local calendar, keeping the
    wall-clock time; the day of the month is clamped (Jan 31 + 1 month = Feb 28 or 29)."""
    if not months and not days:
        return now_ns
    wall = _wall(now_ns, None, text)
    year, month = divmod(wall.year * 12 + wall.month - 1 + months, 12)
    if not 1 <= year <= 9999:
        raise _outside(text)
    day = min(wall.day, calendar.monthrange(year, month + 1)[1])
    try:
        wall = wall.replace(year=year, month=month + 1, day=day, fold=0) + dt.timedelta(days=days)
    except OverflowError as error:
        raise _outside(text) from error
    return _local_ns(wall, text) + now_ns % NS_PER_SECOND


def _other_iso(key: str, now_ns: int, text: str) -> int | None:
    """Rarer ISO 8601 shapes, read by pendulum: week dates (``2026-W48-2``), ordinal dates
    (``2026-328``) and months (``2026-11``). The fraction of a second is read here, since
    pendulum keeps only microseconds."""
    if _OTHER_ISO.fullmatch(key) is None:
        return None
    nanosecond = 0
    fraction = _FRACTION.search(key)
    if fraction is not None:
        digits = fraction.group(1)
        if len(digits) > 9:
            return None
        nanosecond = int(digits.ljust(9, "0"))
        key = key[: fraction.start()] + key[fraction.end() :]
    try:
        parsed = pendulum.parse(key.upper(), exact=True, tz=None)
    except (ValueError, OverflowError):
        return None
    if not isinstance(parsed, dt.date) or (nanosecond and not isinstance(parsed, dt.datetime)):
        return None
    return _local_ns(parsed, text) + nanosecond


def _wall(now_ns: int, offset: int | None, text: str) -> dt.datetime:
    """The wall-clock time at ``now_ns`` (whole seconds) in local time, or at ``offset``."""
    seconds = now_ns // NS_PER_SECOND
    try:
        if offset is None:
            return dt.datetime.fromtimestamp(seconds)
        return dt.datetime(1970, 1, 1) + dt.timedelta(seconds=seconds + offset)
    except (OverflowError, ValueError, OSError) as error:
        raise TimeError(
            f"time {text!r}: now ({format_iso(now_ns)}) has no date in the local time zone"
        ) from error


def _local_ns(value: dt.date, text: str) -> int:
    """``to_ns`` of a date or datetime, naive meaning local time, with ``text`` in errors."""
    try:
        return to_ns(value)
    except TimeError as error:
        raise TimeError(f"time {text!r}: {error}") from error


def _outside(text: str) -> TimeError:
    return TimeError(f"time {text!r} is outside the supported years 0001-9999 (UTC)")


_PARSERS: tuple[Callable[[str, int, str], int | None], ...] = (
    _epoch,
    _moment,
    _relative,
    _other_iso,
)


@hookimpl
def gitblobts_register_time_parsers(register: Callable[[type[TimeParser]], None]) -> None:
    """Register :class:`PendulumTimeParser`."""
    register(PendulumTimeParser)
