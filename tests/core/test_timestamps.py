"""Every non-string time gitblobts accepts becomes exact UTC nanoseconds (``to_ns``), and the
helpers that split, join and print nanoseconds."""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

import pendulum
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gitblobts.core.errors import TimeError
from gitblobts.core.timestamps import (
    MAX_NS,
    MIN_NS,
    NS_PER_SECOND,
    Nanoseconds,
    format_iso,
    from_utc_fields,
    is_open_bound,
    to_datetime,
    to_ns,
    to_seconds,
    utc_fields,
)

HOUR = 3_600 * NS_PER_SECOND


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, ns: int = 0
) -> int:
    """A UTC time as epoch nanoseconds."""
    return from_utc_fields(year, month, day, hour, minute, second, ns)


pytestmark = pytest.mark.usefixtures("local_zone")


# None and numbers


def test_none_is_the_given_now() -> None:
    assert to_ns(None, now_ns=123) == 123


def test_none_without_a_now_is_the_clock() -> None:
    before = time.time_ns()
    ns = to_ns(None)
    assert before <= ns <= time.time_ns()


@pytest.mark.parametrize(
    ("seconds", "ns"),
    [(0, 0), (1_700_000_000, 1_700_000_000 * NS_PER_SECOND), (-1, -NS_PER_SECOND)],
)
def test_int_is_epoch_seconds(seconds: int, ns: int) -> None:
    assert to_ns(seconds) == ns


@pytest.mark.parametrize(
    ("seconds", "ns"),
    [(-5.25, -5_250_000_000), (0.5, 500_000_000), (1_700_000_000.5, 1_700_000_000_500_000_000)],
)
def test_float_is_epoch_seconds_fraction_included(seconds: float, ns: int) -> None:
    assert to_ns(seconds) == ns


def test_float_is_rounded_to_the_nearest_nanosecond_of_its_exact_value() -> None:
    assert to_ns(0.1) == 100_000_000  # 0.1 is 0.1000000000000000055511151231257827...


@given(st.floats(min_value=1e8, max_value=1e10) | st.floats(min_value=-1e10, max_value=-1e8))
def test_realistic_float_seconds_survive_the_round_trip(seconds: float) -> None:
    assert to_seconds(to_ns(seconds)) == seconds


@given(st.floats(min_value=MIN_NS // NS_PER_SECOND, max_value=MAX_NS // NS_PER_SECOND))
def test_any_float_in_range_is_within_half_a_nanosecond(seconds: float) -> None:
    assert abs(to_ns(seconds) - Fraction(seconds) * NS_PER_SECOND) <= Fraction(1, 2)


def test_decimal_is_exact() -> None:
    assert to_ns(Decimal("1700000000.123456789")) == 1_700_000_000_123_456_789
    assert to_ns(Decimal("-0.000000001")) == -1


def test_fraction_is_exact_rounded_half_to_even() -> None:
    assert to_ns(Fraction(1, 3)) == 333_333_333
    assert to_ns(Fraction(1, 2 * NS_PER_SECOND)) == 0
    assert to_ns(Fraction(3, 2 * NS_PER_SECOND)) == 2


def test_nanoseconds_are_taken_as_they_are() -> None:
    assert to_ns(Nanoseconds(1_700_000_000_123_456_789)) == 1_700_000_000_123_456_789
    assert to_ns(Nanoseconds(-1)) == -1


@pytest.mark.parametrize("value", [True, False])
def test_bool_is_not_a_time(value: bool) -> None:
    with pytest.raises(TimeError, match=f"time {value!r} is a bool"):
        to_ns(value)


@pytest.mark.parametrize(
    "value", [math.nan, math.inf, -math.inf, Decimal("NaN"), Decimal("Infinity")]
)
def test_non_finite_numbers_are_rejected_quoting_the_value(value: float | Decimal) -> None:
    with pytest.raises(TimeError) as caught:
        to_ns(value)
    assert repr(value) in str(caught.value)
    assert "not a finite number" in str(caught.value)


def test_an_unsupported_type_is_rejected_naming_it() -> None:
    with pytest.raises(TimeError, match="unsupported type list"):
        to_ns([2031])


# struct_time


def test_struct_time_from_gmtime() -> None:
    assert to_ns(time.gmtime(1_700_000_000)) == 1_700_000_000 * NS_PER_SECOND


@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Asia/Kolkata"])
def test_struct_time_from_localtime(local_zone: Callable[[str], None], zone: str) -> None:
    local_zone(zone)
    assert to_ns(time.localtime(1_700_000_000)) == 1_700_000_000 * NS_PER_SECOND


def test_struct_time_without_an_offset_is_local_time(local_zone: Callable[[str], None]) -> None:
    local_zone("America/New_York")
    fields = time.struct_time((2031, 5, 13, 2, 15, 0, 1, 133, -1))  # no tm_gmtoff
    assert to_ns(fields) == utc(2031, 5, 13, 6, 15)


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ((2026, 13, 1, 0, 0, 0), "month 13 is not 1 to 12"),
        ((2026, 0, 1, 0, 0, 0), "month 0 is not 1 to 12"),
        ((2026, 1, 40, 0, 0, 0), "day 40 is not 1 to 31 in 2026-01"),
        ((2026, 2, 29, 0, 0, 0), "day 29 is not 1 to 28 in 2026-02"),
        ((2026, 4, 0, 0, 0, 0), "day 0 is not 1 to 30 in 2026-04"),
        ((2026, 4, 1, 24, 0, 0), "24:00:00 is not a time of day"),
        ((2026, 4, 1, 0, 60, 0), "00:60:00 is not a time of day"),
    ],
)
@pytest.mark.parametrize("offset", [None, 0], ids=["local", "utc"])
def test_an_impossible_struct_time_is_refused_naming_the_field(
    fields: tuple[int, ...], problem: str, offset: int | None
) -> None:
    zone = {} if offset is None else {"tm_zone": "UTC", "tm_gmtoff": offset}
    value = time.struct_time((*fields, 0, 1, -1), zone)

    with pytest.raises(TimeError, match=f"does not exist: {problem}"):
        to_ns(value)


def test_a_leap_day_and_a_leap_second_of_a_struct_time_are_times() -> None:
    leap_day = time.struct_time((2028, 2, 29, 0, 0, 0, 1, 60, 0), {"tm_gmtoff": 0})
    leap_second = time.struct_time((2016, 12, 31, 23, 59, 60, 5, 366, 0), {"tm_gmtoff": 0})

    assert to_ns(leap_day) == utc(2028, 2, 29)
    assert to_ns(leap_second) == utc(2017, 1, 1)


# datetime and date


@pytest.mark.parametrize(
    ("zone", "wall"),
    [
        (dt.timezone.utc, dt.datetime(2031, 5, 13, 6, 15, 30, 123_456)),
        (ZoneInfo("Europe/Paris"), dt.datetime(2031, 5, 13, 8, 15, 30, 123_456)),
        (ZoneInfo("America/New_York"), dt.datetime(2031, 5, 13, 2, 15, 30, 123_456)),
        (ZoneInfo("Asia/Kolkata"), dt.datetime(2031, 5, 13, 11, 45, 30, 123_456)),
        (dt.timezone(dt.timedelta(hours=-5)), dt.datetime(2031, 5, 13, 1, 15, 30, 123_456)),
    ],
)
def test_aware_datetime_is_its_instant(zone: dt.tzinfo, wall: dt.datetime) -> None:
    assert to_ns(wall.replace(tzinfo=zone)) == utc(2031, 5, 13, 6, 15, 30, 123_456_000)


def test_aware_datetime_in_a_fold_follows_its_fold_attribute() -> None:
    first = dt.datetime(2031, 11, 2, 1, 30, tzinfo=ZoneInfo("America/New_York"))
    assert to_ns(first) == utc(2031, 11, 2, 5, 30)  # EDT
    assert to_ns(first.replace(fold=1)) == utc(2031, 11, 2, 6, 30)  # EST


@pytest.mark.parametrize(
    ("zone", "expected"),
    [("UTC", utc(2031, 5, 13, 6, 15)), ("America/New_York", utc(2031, 5, 13, 10, 15))],
)
def test_naive_datetime_is_local_time(
    local_zone: Callable[[str], None], zone: str, expected: int
) -> None:
    local_zone(zone)
    assert to_ns(dt.datetime(2031, 5, 13, 6, 15)) == expected


def test_pendulum_datetime_is_its_instant() -> None:
    paris = pendulum.datetime(2031, 5, 13, 8, 15, 30, 123_456, tz="Europe/Paris")
    assert to_ns(paris) == utc(2031, 5, 13, 6, 15, 30, 123_456_000)


def test_naive_pendulum_datetime_is_local_time(local_zone: Callable[[str], None]) -> None:
    local_zone("America/New_York")
    assert to_ns(pendulum.naive(2031, 5, 13, 2, 15)) == utc(2031, 5, 13, 6, 15)


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        ("UTC", utc(2031, 5, 13)),
        ("America/New_York", utc(2031, 5, 13, 4)),
        ("Asia/Kolkata", utc(2031, 5, 12, 18, 30)),
    ],
)
def test_date_is_local_midnight(
    local_zone: Callable[[str], None], zone: str, expected: int
) -> None:
    local_zone(zone)
    assert to_ns(dt.date(2031, 5, 13)) == expected
    assert to_ns(pendulum.date(2031, 5, 13)) == expected


# The supported years, 0001-9999 UTC


@pytest.mark.parametrize(
    "value",
    [
        Nanoseconds(MIN_NS),
        dt.datetime(1, 1, 1, tzinfo=dt.timezone.utc),
        dt.datetime(1, 1, 1),
        dt.date(1, 1, 1),
        -62_135_596_800,
    ],
)
def test_the_first_instant_of_year_0001_is_accepted(value: object) -> None:
    assert to_ns(value) == MIN_NS


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Nanoseconds(MAX_NS), MAX_NS),
        (dt.datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=dt.timezone.utc), MAX_NS - 999),
        (dt.datetime(9999, 12, 31, 23, 59, 59, 999_999), MAX_NS - 999),
        (dt.date(9999, 12, 31), utc(9999, 12, 31)),
    ],
)
def test_the_last_instants_of_year_9999_are_accepted(value: object, expected: int) -> None:
    assert to_ns(value) == expected


def test_naive_times_in_years_0001_and_9999_are_local_time(
    local_zone: Callable[[str], None],
) -> None:
    local_zone("America/New_York")  # local mean time, UTC-4:56:02, before 1883
    assert to_ns(dt.date(1, 1, 1)) == utc(1, 1, 1, 4, 56, 2)
    local_zone("Asia/Kolkata")  # UTC+5:30
    assert to_ns(dt.datetime(9999, 12, 31, 23, 59)) == utc(9999, 12, 31, 18, 29)


@pytest.mark.parametrize(
    "value",
    [
        Nanoseconds(MIN_NS - 1),
        Nanoseconds(MAX_NS + 1),
        -62_135_596_801,
        253_402_300_800,
        float(253_402_300_800),
        Decimal("253402300800"),
        dt.datetime(1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=1))),
        dt.datetime(9999, 12, 31, 23, tzinfo=dt.timezone(dt.timedelta(hours=-1))),
    ],
)
def test_times_outside_years_0001_to_9999_are_rejected(value: object) -> None:
    with pytest.raises(TimeError, match="outside the supported years"):
        to_ns(value)


def test_a_struct_time_in_year_10000_is_rejected() -> None:
    with pytest.raises(TimeError, match="year 10000 is out of range"):
        to_ns(time.gmtime(253_402_300_800))


def test_a_naive_time_before_0001_in_local_time_is_rejected(
    local_zone: Callable[[str], None],
) -> None:
    local_zone("Asia/Kolkata")  # local midnight of 1 January 0001 is still year 0 in UTC
    with pytest.raises(TimeError, match="outside the supported years"):
        to_ns(dt.date(1, 1, 1))


# Strings


def test_string_without_a_parser_is_rejected() -> None:
    with pytest.raises(TimeError, match="no time parser"):
        to_ns("now")


def test_string_goes_to_the_parser_with_now() -> None:
    seen: list[tuple[str, int]] = []

    def parse(text: str, now_ns: int) -> int:
        seen.append((text, now_ns))
        return 42

    assert to_ns("soon", now_ns=7, parse_text=parse) == 42
    assert seen == [("soon", 7)]


def test_a_parsed_string_outside_the_supported_years_is_rejected() -> None:
    with pytest.raises(TimeError, match="'far' is outside the supported years"):
        to_ns("far", now_ns=0, parse_text=lambda text, now: MAX_NS + 1)


# Open bounds


@pytest.mark.parametrize("value", [None, math.nan, math.inf, -math.inf, Decimal("-Infinity")])
def test_none_nan_and_infinities_are_open_bounds(value: object) -> None:
    assert is_open_bound(value)


@pytest.mark.parametrize("value", [0, 0.0, Decimal(0), Nanoseconds(0), "now"])
def test_finite_times_are_not_open_bounds(value: object) -> None:
    assert not is_open_bound(value)


# UTC fields, ISO text and other views


@pytest.mark.parametrize(
    ("ns", "fields"),
    [
        (0, (1970, 1, 1, 0, 0, 0, 0)),
        (-1, (1969, 12, 31, 23, 59, 59, 999_999_999)),
        (MIN_NS, (1, 1, 1, 0, 0, 0, 0)),
        (MAX_NS, (9999, 12, 31, 23, 59, 59, 999_999_999)),
        (1_700_000_000_123_456_789, (2023, 11, 14, 22, 13, 20, 123_456_789)),
    ],
)
def test_utc_fields(ns: int, fields: tuple[int, ...]) -> None:
    assert utc_fields(ns) == fields


@given(st.integers(min_value=MIN_NS, max_value=MAX_NS))
def test_utc_fields_and_from_utc_fields_are_inverses(ns: int) -> None:
    assert from_utc_fields(*utc_fields(ns)) == ns


@pytest.mark.parametrize(
    "fields",
    [
        (2031, 2, 29, 0, 0, 0, 0),
        (2031, 13, 1, 0, 0, 0, 0),
        (2031, 5, 13, 24, 0, 0, 0),
        (2031, 5, 13, 0, 60, 0, 0),
        (2031, 5, 13, 0, 0, 60, 0),
        (2031, 5, 13, 0, 0, 0, NS_PER_SECOND),
        (2031, 5, 13, 0, 0, 0, -1),
    ],
)
def test_from_utc_fields_rejects_impossible_fields(fields: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match=r"out of range|must be in"):
        from_utc_fields(*fields)


@pytest.mark.parametrize(
    ("ns", "text"),
    [
        (0, "1970-01-01T00:00:00.000000000Z"),
        (-1, "1969-12-31T23:59:59.999999999Z"),
        (1_700_000_000_123_456_789, "2023-11-14T22:13:20.123456789Z"),
        (MIN_NS, "0001-01-01T00:00:00.000000000Z"),
        (MAX_NS, "9999-12-31T23:59:59.999999999Z"),
    ],
)
def test_format_iso(ns: int, text: str) -> None:
    assert format_iso(ns) == text


def test_to_datetime_is_aware_utc_truncated_to_microseconds() -> None:
    assert to_datetime(1_700_000_000_123_456_789) == dt.datetime(
        2023, 11, 14, 22, 13, 20, 123_456, tzinfo=dt.timezone.utc
    )
    assert to_datetime(-1) == dt.datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=dt.timezone.utc)


def test_to_seconds_is_the_nearest_float() -> None:
    assert to_seconds(1_700_000_000_500_000_000) == 1_700_000_000.5
    assert to_seconds(-5_250_000_000) == -5.25
