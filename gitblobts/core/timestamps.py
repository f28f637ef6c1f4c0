"""Time handling: every time gitblobts meets becomes an exact integer of UTC nanoseconds.

Accepted forms (:data:`TimeLike`): ``None`` (now); ``int``, ``float``, ``Decimal`` or
``Fraction`` epoch seconds, negative and fractional too; :class:`Nanoseconds`, an exact
integer of epoch nanoseconds; ``time.struct_time``; ``datetime.datetime`` (naive means local
time) and its subclasses such as pendulum's; ``datetime.date`` (local midnight); and strings,
which go through the installed time parsers (see :class:`TimeParser`).

Supported instants run from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z, the
years a four-digit file name can spell.
"""

from __future__ import annotations

import abc
import calendar
import datetime as dt
import math
import numbers
import time
from collections.abc import Callable
from decimal import MAX_EMAX, ROUND_HALF_EVEN, Context, Decimal
from fractions import Fraction
from typing import ClassVar, TypeAlias

from gitblobts.core.errors import TimeError

NS_PER_SECOND = 1_000_000_000
_NS_PER_DAY = 86_400 * NS_PER_SECOND
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
_UTC_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)

MIN_NS = (dt.date.min.toordinal() - _EPOCH_ORDINAL) * _NS_PER_DAY
"""0001-01-01T00:00:00Z in epoch nanoseconds."""
MAX_NS = (dt.date.max.toordinal() - _EPOCH_ORDINAL + 1) * _NS_PER_DAY - 1
"""9999-12-31T23:59:59.999999999Z in epoch nanoseconds."""


class Nanoseconds(int):
    """An exact integer count of nanoseconds since 1970-01-01T00:00:00Z.

    Plain ``int`` times mean seconds (as ``time.time()`` does); wrap an integer in
    ``Nanoseconds`` to say it counts nanoseconds: ``Nanoseconds(time.time_ns())``.
    """


TimeLike: TypeAlias = (
    "int | float | Decimal | Fraction | Nanoseconds | time.struct_time | "
    "dt.datetime | dt.date | str | None"
)


class TimeParser(abc.ABC):
    """A named parser of time strings, provided through ``gitblobts_register_time_parsers``.

    ``parse`` returns epoch nanoseconds, or ``None`` when it does not understand the text
    (the next parser is then asked). ``now_ns`` is the instant relative expressions such as
    ``'2 hours ago'`` count from; it is the same for both ends of one query.
    """

    name: ClassVar[str]

    @abc.abstractmethod
    def parse(self, text: str, now_ns: int) -> int | None:
        """Return ``text`` as epoch nanoseconds, or ``None`` if it is not understood."""

    def suggest(self, text: str) -> str | None:
        """For ``text`` that no parser understood, what to write instead, as a phrase
        (``"'monday' alone is ambiguous: write 'last monday' or 'next monday'"``), or
        ``None``. The error then says it. The default suggests nothing."""
        return None


def check_range(ns: int, original: object) -> int:
    """Return ``ns`` if it lies in the supported years, else raise :class:`TimeError`."""
    if not MIN_NS <= ns <= MAX_NS:
        raise TimeError(f"time {_shown(original)} is outside the supported years 0001-9999 (UTC)")
    return ns


def _shown(value: object) -> str:
    """``repr(value)``, or what it is if it holds an integer too long to print."""
    try:
        return repr(value)
    except ValueError:  # more digits than sys.get_int_max_str_digits() allows
        return f"<{type(value).__name__} holding an integer too long to print>"


def _seconds_to_ns(seconds: int | Fraction) -> int:
    """Round exact seconds to the nearest nanosecond, halves to even."""
    return round(seconds * NS_PER_SECOND)


_NS_PER_400_YEARS = 146_097 * _NS_PER_DAY  # the Gregorian calendar repeats every 400 years


def _datetime_to_ns(value: dt.datetime) -> int:
    cycles = 0
    if value.tzinfo is None or value.utcoffset() is None:
        # Naive means local time. astimezone() looks a day either side, which fails in
        # years 1 and 9999: convert the same time 400 years inwards (so far out, the local
        # zone's rules repeat with the calendar), then move it back.
        cycles = 1 if value.year == 1 else -1 if value.year == 9999 else 0
        try:
            value = value.replace(year=value.year + 400 * cycles).astimezone()
        except (OverflowError, ValueError, OSError) as error:
            raise TimeError(f"time {value!r} cannot be placed in the local time zone") from error
    delta = value - _UTC_EPOCH
    return (
        (delta.days * 86_400 + delta.seconds) * NS_PER_SECOND
        + delta.microseconds * 1_000
        - cycles * _NS_PER_400_YEARS
    )


def to_ns(
    value: object,
    *,
    now_ns: int | None = None,
    parse_text: Callable[[str, int], int] | None = None,
) -> int:
    """Convert ``value`` (see :data:`TimeLike`) to epoch nanoseconds, exactly.

    ``now_ns`` is the present (``time.time_ns()`` if omitted); ``parse_text(text, now_ns)``
    handles strings. Raises :class:`TimeError` naming the value when it cannot.
    """
    if value is None:
        return time.time_ns() if now_ns is None else now_ns
    if isinstance(value, Nanoseconds):
        return check_range(int(value), value)
    if isinstance(value, bool):
        raise TimeError(f"time {value!r} is a bool, not a time")
    if isinstance(value, int):
        return check_range(value * NS_PER_SECOND, value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TimeError(f"time {value!r} is not a finite number")
        return check_range(_seconds_to_ns(Fraction(value)), value)
    if isinstance(value, Decimal):
        return check_range(_decimal_to_ns(value), value)
    if isinstance(value, Fraction) or (
        isinstance(value, numbers.Rational) and not isinstance(value, numbers.Integral)
    ):
        return check_range(_seconds_to_ns(Fraction(value)), value)
    if isinstance(value, time.struct_time):
        return check_range(_struct_time_to_ns(value), value)
    if isinstance(value, dt.datetime):
        return check_range(_datetime_to_ns(value), value)
    if isinstance(value, dt.date):
        return check_range(_datetime_to_ns(dt.datetime.combine(value, dt.time())), value)
    if isinstance(value, str):
        if parse_text is None:
            raise TimeError(f"time {value!r}: no time parser is available for strings")
        ns = parse_text(value, time.time_ns() if now_ns is None else now_ns)
        return check_range(ns, value)
    raise TimeError(
        f"time {value!r} has unsupported type {type(value).__name__}; use epoch seconds, "
        "Nanoseconds, a datetime, a struct_time or a string"
    )


def _decimal_to_ns(value: Decimal) -> int:
    """Round exact seconds to the nearest nanosecond, halves to even, without making a
    fraction of a huge power of ten (``Decimal('1e-999999999')`` would take hours)."""
    if not value.is_finite():
        raise TimeError(f"time {value!r} is not a finite number")
    if value.adjusted() >= _DECIMAL_DIGITS:
        raise TimeError(f"time {value!r} is outside the supported years 0001-9999 (UTC)")
    nanoseconds = value.quantize(_NANOSECOND, ROUND_HALF_EVEN, _EXACT)
    return int(nanoseconds.scaleb(9, _EXACT))


_DECIMAL_DIGITS = 12
"""Digits before the point of any supported time in seconds (at most 253,402,300,800)."""
_NANOSECOND = Decimal("1e-9")
_EXACT = Context(prec=_DECIMAL_DIGITS + 9 + 1, Emin=-MAX_EMAX, Emax=MAX_EMAX)
"""Room for every digit of such a time in nanoseconds, and a carry: rounding is exact."""


def _struct_time_to_ns(value: time.struct_time) -> int:
    _check_struct_time_fields(value)
    offset = value.tm_gmtoff
    try:
        # Without a recorded offset, a struct_time is local time.
        seconds = int(time.mktime(value)) if offset is None else calendar.timegm(value) - offset
    except (OverflowError, ValueError, TypeError) as error:
        raise TimeError(f"time {_shown(value)} cannot be converted: {error}") from error
    if not isinstance(seconds, int):  # a field or the offset was not a whole number
        raise TimeError(f"time {_shown(value)} cannot be converted: its fields must be integers")
    return seconds * NS_PER_SECOND


def _check_struct_time_fields(value: time.struct_time) -> None:
    """Raise :class:`TimeError` for a date or time of day that does not exist (month 13, 31
    April): ``mktime`` and ``timegm`` would silently carry it into another date. A second of
    60 or 61 is the leap second ``struct_time`` allows."""
    year, month, day, hour, minute, second = value[:6]
    if not all(type(field) is int for field in (year, month, day, hour, minute, second)):
        return  # reported as fields that are not integers
    problem = None
    if not 1 <= month <= 12:
        problem = f"month {month} is not 1 to 12"
    else:
        days = calendar.monthrange(year, month)[1]
        if not 1 <= day <= days:
            problem = f"day {day} is not 1 to {days} in {year:04d}-{month:02d}"
        elif not (0 <= hour <= 23 and 0 <= minute <= 59 and 0 <= second <= 61):
            problem = f"{hour:02d}:{minute:02d}:{second:02d} is not a time of day"
    if problem is not None:
        raise TimeError(f"time {_shown(value)} does not exist: {problem}")


def is_open_bound(value: object) -> bool:
    """Whether a range bound means "no limit": ``None``, NaN or an infinity."""
    if value is None:
        return True
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, Decimal):
        return not value.is_finite()
    return False


def utc_fields(ns: int) -> tuple[int, int, int, int, int, int, int]:
    """Split epoch nanoseconds into UTC (year, month, day, hour, minute, second, nanosecond).
    Raises :class:`TimeError` outside the supported years (a blob's time may be, in
    a format whose names hold any time)."""
    days, ns_of_day = divmod(_dated(ns), _NS_PER_DAY)
    date = dt.date.fromordinal(_EPOCH_ORDINAL + days)
    seconds, nanosecond = divmod(ns_of_day, NS_PER_SECOND)
    hour, rest = divmod(seconds, 3600)
    minute, second = divmod(rest, 60)
    return date.year, date.month, date.day, hour, minute, second, nanosecond


def _dated(ns: int) -> int:
    """``ns``, if it has a date in the supported years; else raise :class:`TimeError`."""
    if not MIN_NS <= ns <= MAX_NS:
        raise TimeError(f"time {_shown(ns)} ns from 1970 is outside the supported years 0001-9999")
    return ns


def from_utc_fields(
    year: int, month: int, day: int, hour: int, minute: int, second: int, nanosecond: int
) -> int:
    """The inverse of :func:`utc_fields`; raises ``ValueError`` for an impossible date."""
    if not (0 <= hour < 24 and 0 <= minute < 60 and 0 <= second < 60):
        raise ValueError("time of day out of range")
    if not 0 <= nanosecond < NS_PER_SECOND:
        raise ValueError("nanosecond out of range")
    days = dt.date(year, month, day).toordinal() - _EPOCH_ORDINAL
    return days * _NS_PER_DAY + (hour * 3600 + minute * 60 + second) * NS_PER_SECOND + nanosecond


def format_iso(ns: int) -> str:
    """Epoch nanoseconds as RFC 3339 UTC text with nine fractional digits."""
    year, month, day, hour, minute, second, nanosecond = utc_fields(ns)
    return (
        f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}.{nanosecond:09d}Z"
    )


def to_datetime(ns: int) -> dt.datetime:
    """Epoch nanoseconds as an aware UTC datetime (truncated to microseconds); raises
    :class:`TimeError` outside the supported years."""
    micros = _dated(ns) // 1_000
    return _UTC_EPOCH + dt.timedelta(microseconds=micros)


def to_seconds(ns: int) -> float:
    """Epoch nanoseconds as float seconds, correctly rounded."""
    return ns / NS_PER_SECOND
