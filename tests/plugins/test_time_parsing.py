"""The time strings gitblobts understands: the built-in ``pendulum`` parser, asked through the
plugin registry as a store asks it. Relative forms count from a fixed ``NOW``."""

from __future__ import annotations

import datetime as dt
import email.utils
import time
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gitblobts.core.errors import TimeError
from gitblobts.core.plugins import Plugins, load_plugins
from gitblobts.core.timestamps import (
    MAX_NS,
    MIN_NS,
    NS_PER_SECOND,
    format_iso,
    from_utc_fields,
    to_ns,
)

HOUR = 3_600 * NS_PER_SECOND
DAY = 24 * HOUR


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, ns: int = 0
) -> int:
    """A UTC time as epoch nanoseconds."""
    return from_utc_fields(year, month, day, hour, minute, second, ns)


NOW = utc(2031, 5, 13, 6, 15, 0, 123_456_789)
"""Tuesday 13 May 2031, 06:15:00.123456789 UTC: far from the real clock, which is never read."""

Parse = Callable[[str], int]


pytestmark = pytest.mark.usefixtures("local_zone")


@pytest.fixture(scope="module")
def plugins() -> Plugins:
    return load_plugins(only=())


@pytest.fixture
def parse(plugins: Plugins) -> Parse:
    """Parse a string as of ``NOW``."""
    return lambda text: plugins.parse_time(text, NOW)


def test_the_parser_is_registered_as_pendulum_by_the_builtin_plugin(plugins: Plugins) -> None:
    assert plugins.time_parsers.names()[0] == "pendulum"
    assert plugins.time_parsers.owner("pendulum") == "pendulum"


# ISO 8601 and RFC 3339


@pytest.mark.parametrize(
    "text",
    [
        "2031-05-13T06:15:00.5Z",
        "2031-05-13t06:15:00.5z",
        "2031-05-13 06:15:00.5Z",
        "2031-05-13T06:15:00,5Z",
        "2031-05-13T06:15:00.5 UTC",
        "2031-05-13T06:15:00.500000000+00:00",
        "2031-05-13T07:15:00.5+01:00",
        "2031-05-13T07:15:00.5+0100",
        "2031-05-13T07:15:00.5+01",
        "2031-05-13T01:15:00.5-05:00",
        "2031-05-13T11:45:00.5+05:30",
        "2031-05-13 07:15:00.5 +01:00",
        "20310513T061500.5Z",
        "20310513T071500.5+0100",
    ],
)
def test_iso_8601_with_an_offset_is_that_instant(parse: Parse, text: str) -> None:
    assert parse(text) == utc(2031, 5, 13, 6, 15, 0, 500_000_000)


@pytest.mark.parametrize(
    ("fraction", "ns"),
    [
        ("1", 100_000_000),
        ("12", 120_000_000),
        ("123", 123_000_000),
        ("1234", 123_400_000),
        ("123456", 123_456_000),
        ("1234567", 123_456_700),
        ("123456789", 123_456_789),
        ("000000001", 1),
        ("999999999", 999_999_999),
    ],
)
def test_fractional_seconds_are_exact_to_the_nanosecond(
    parse: Parse, fraction: str, ns: int
) -> None:
    assert parse(f"2031-05-13T06:15:00.{fraction}Z") == utc(2031, 5, 13, 6, 15, 0, ns)


def test_more_than_nine_fractional_digits_are_not_understood(parse: Parse) -> None:
    with pytest.raises(TimeError, match="not understood"):
        parse("2031-05-13T06:15:00.1234567891Z")


def test_basic_format_of_file_names_keeps_nanoseconds(parse: Parse) -> None:
    assert parse("20311124T061500.123456789Z") == utc(2031, 11, 24, 6, 15, 0, 123_456_789)


def test_format_iso_output_parses_back_exactly(parse: Parse) -> None:
    assert parse(format_iso(NOW)) == NOW


def test_seconds_and_minutes_may_be_left_out(parse: Parse) -> None:
    assert parse("2031-05-13T06:15Z") == utc(2031, 5, 13, 6, 15)
    assert parse("20310513T0615Z") == utc(2031, 5, 13, 6, 15)


def test_date_alone_is_local_midnight(parse: Parse, local_zone: Callable[[str], None]) -> None:
    assert parse("2031-05-13") == utc(2031, 5, 13)
    local_zone("America/New_York")
    assert parse("2031-05-13") == utc(2031, 5, 13, 4)  # EDT, UTC-4


def test_time_without_offset_is_local_time(parse: Parse, local_zone: Callable[[str], None]) -> None:
    local_zone("Asia/Kolkata")
    assert parse("2031-05-13 14:05") == utc(2031, 5, 13, 8, 35)


def test_time_without_offset_is_the_instant_of_the_same_naive_datetime(
    parse: Parse, local_zone: Callable[[str], None]
) -> None:
    local_zone("America/New_York")
    for text, naive in [
        ("2031-05-13T14:05:06", dt.datetime(2031, 5, 13, 14, 5, 6)),
        ("2031-03-09 02:30", dt.datetime(2031, 3, 9, 2, 30)),  # in the spring-forward gap
        ("2031-11-02 01:30", dt.datetime(2031, 11, 2, 1, 30)),  # in the fall-back fold
    ]:
        assert parse(text) == to_ns(naive)


@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Asia/Kolkata"])
def test_an_explicit_offset_does_not_depend_on_the_local_zone(
    parse: Parse, local_zone: Callable[[str], None], zone: str
) -> None:
    local_zone(zone)
    assert parse("2031-05-13T07:15:00+01:00") == utc(2031, 5, 13, 6, 15)


def test_week_dates_ordinal_dates_and_months_are_iso_8601_too(parse: Parse) -> None:
    assert parse("2031-W20-2") == utc(2031, 5, 13)
    assert parse("2031W202") == utc(2031, 5, 13)
    assert parse("2031-133") == utc(2031, 5, 13)
    assert parse("2031-05") == utc(2031, 5, 1)
    assert parse("2031-W20-2T06:15:00.123456789Z") == utc(2031, 5, 13, 6, 15, 0, 123_456_789)


def test_first_and_last_supported_instants_parse(parse: Parse) -> None:
    assert parse("0001-01-01T00:00:00Z") == MIN_NS
    assert parse("9999-12-31T23:59:59.999999999Z") == MAX_NS


def test_an_instant_past_the_supported_years_is_an_error(parse: Parse) -> None:
    with pytest.raises(TimeError, match="outside the supported years"):
        parse("9999-12-31T23:59:59-01:00")


@pytest.mark.parametrize(
    "text",
    ["2031-02-30", "2031-13-01", "2031-05-13T24:00", "2031-05-13T23:59:60Z", "2031-05-13T06:15+24"],
)
def test_impossible_dates_and_times_are_not_understood(parse: Parse, text: str) -> None:
    with pytest.raises(TimeError, match="not understood"):
        parse(text)


def test_case_and_whitespace_do_not_matter(parse: Parse) -> None:
    assert parse("  2031-05-13t06:15:00Z\n") == utc(2031, 5, 13, 6, 15)
    assert parse(" Noon   YESTERDAY ") == utc(2031, 5, 12, 12)


# Common written dates, RFC 2822 and git's dates


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2031/05/13", utc(2031, 5, 13)),
        ("2031-5-13", utc(2031, 5, 13)),
        ("13 May 2031", utc(2031, 5, 13)),
        ("13th May 2031", utc(2031, 5, 13)),
        ("13 Sept. 2031", utc(2031, 9, 13)),
        ("May 13, 2031", utc(2031, 5, 13)),
        ("Nov 24 2031", utc(2031, 11, 24)),
        ("November 24 2031 14:05", utc(2031, 11, 24, 14, 5)),
        ("24 November 2031", utc(2031, 11, 24)),
        ("Tuesday, 13 May 2031", utc(2031, 5, 13)),
        ("13 May 2031 2:05 pm", utc(2031, 5, 13, 14, 5)),
        ("May 13, 2031 at 9am", utc(2031, 5, 13, 9)),
        ("2031-05-13 14:05", utc(2031, 5, 13, 14, 5)),
        ("2031-05-13 14:05:06.5", utc(2031, 5, 13, 14, 5, 6, 500_000_000)),
        ("05/13/2031", utc(2031, 5, 13)),
        ("5/13/2031 14:05", utc(2031, 5, 13, 14, 5)),
    ],
)
def test_common_date_formats(parse: Parse, text: str, expected: int) -> None:
    assert parse(text) == expected


def test_rfc_2822_dates_as_email_writes_them(parse: Parse) -> None:
    assert parse("Tue, 13 May 2031 06:15:00 +0000") == utc(2031, 5, 13, 6, 15)
    assert parse("Tue, 13 May 2031 08:15:00 +0200") == utc(2031, 5, 13, 6, 15)
    aware = dt.datetime(2031, 5, 13, 1, 15, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    assert parse(email.utils.format_datetime(aware)) == utc(2031, 5, 13, 6, 15, 30)


def test_http_dates_in_gmt(parse: Parse) -> None:
    assert parse("Tue, 13 May 2031 06:15:00 GMT") == utc(2031, 5, 13, 6, 15)


def test_git_and_ctime_dates(parse: Parse) -> None:
    assert parse("Tue May 13 08:15:00 2031 +0200") == utc(2031, 5, 13, 6, 15)
    assert parse(time.asctime(time.gmtime(NOW // NS_PER_SECOND))) == utc(2031, 5, 13, 6, 15)


def test_a_weekday_that_contradicts_the_date_is_not_understood(parse: Parse) -> None:
    with pytest.raises(TimeError, match="not understood"):
        parse("Mon, 13 May 2031 06:15:00 +0000")


def test_numeric_dates_with_the_year_last_are_us_month_first(parse: Parse) -> None:
    assert parse("11/12/2031") == utc(2031, 11, 12)
    with pytest.raises(TimeError, match="not understood"):
        parse("24/11/2031")


# Epoch seconds


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1700000000", 1_700_000_000 * NS_PER_SECOND),
        ("@1700000000", 1_700_000_000 * NS_PER_SECOND),
        ("@ 1700000000", 1_700_000_000 * NS_PER_SECOND),
        ("-5.25", -5_250_000_000),
        ("@-5.25", -5_250_000_000),
        ("+2", 2 * NS_PER_SECOND),
        (".5", 500_000_000),
        ("1700000000.123456789", 1_700_000_000_123_456_789),
        ("0", 0),
    ],
)
def test_epoch_seconds_are_exact(parse: Parse, text: str, expected: int) -> None:
    assert parse(text) == expected


def test_epoch_seconds_round_half_to_even_nanoseconds(parse: Parse) -> None:
    assert parse("0.0000000005") == 0
    assert parse("0.0000000015") == 2


def test_a_bare_number_is_epoch_seconds_never_a_date(parse: Parse) -> None:
    assert parse("20311124") == 20_311_124 * NS_PER_SECOND


# Words for days and times of day


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("now", NOW),
        ("today", utc(2031, 5, 13)),
        ("yesterday", utc(2031, 5, 12)),
        ("tomorrow", utc(2031, 5, 14)),
        ("midnight", utc(2031, 5, 13)),
        ("midnight yesterday", utc(2031, 5, 12)),
        ("yesterday midnight", utc(2031, 5, 12)),
        ("midnight tomorrow", utc(2031, 5, 14)),
        ("noon", utc(2031, 5, 13, 12)),
        ("noon yesterday", utc(2031, 5, 12, 12)),
        ("yesterday noon", utc(2031, 5, 12, 12)),
        ("noon tomorrow", utc(2031, 5, 14, 12)),
        ("tomorrow at noon", utc(2031, 5, 14, 12)),
        ("today 14:05", utc(2031, 5, 13, 14, 5)),
        ("yesterday at 3pm", utc(2031, 5, 12, 15)),
        ("9am tomorrow", utc(2031, 5, 14, 9)),
        ("14:05", utc(2031, 5, 13, 14, 5)),
        ("14:05:06.25", utc(2031, 5, 13, 14, 5, 6, 250_000_000)),
        ("3:30 p.m.", utc(2031, 5, 13, 15, 30)),
        ("12am", utc(2031, 5, 13)),
        ("12pm", utc(2031, 5, 13, 12)),
        ("noon utc", utc(2031, 5, 13, 12)),
    ],
)
def test_day_and_time_of_day_words(parse: Parse, text: str, expected: int) -> None:
    assert parse(text) == expected


def test_today_follows_the_local_calendar(parse: Parse, local_zone: Callable[[str], None]) -> None:
    local_zone("Pacific/Auckland")  # NOW is 18:15 on Tuesday there, UTC+12
    assert parse("today") == utc(2031, 5, 12, 12)
    local_zone("America/Los_Angeles")  # 23:15 on Monday, UTC-7
    assert parse("today") == utc(2031, 5, 12, 7)


def test_today_with_an_offset_is_that_offsets_calendar_day(parse: Parse) -> None:
    assert parse("today +12:00") == utc(2031, 5, 12, 12)


@pytest.mark.parametrize("text", ["0am", "13pm", "today 14", "25:00", "noon noon"])
def test_impossible_times_of_day_are_not_understood(parse: Parse, text: str) -> None:
    with pytest.raises(TimeError, match="not understood"):
        parse(text)


# Weekdays (NOW is a Tuesday)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("last monday", utc(2031, 5, 12)),
        ("last tuesday", utc(2031, 5, 6)),
        ("last wednesday", utc(2031, 5, 7)),
        ("last sunday", utc(2031, 5, 11)),
        ("last fri", utc(2031, 5, 9)),
        ("next wednesday", utc(2031, 5, 14)),
        ("next tuesday", utc(2031, 5, 20)),
        ("next friday", utc(2031, 5, 16)),
        ("next monday", utc(2031, 5, 19)),
        ("last monday noon", utc(2031, 5, 12, 12)),
        ("next thurs at 9:30", utc(2031, 5, 15, 9, 30)),
    ],
)
def test_last_and_next_weekday_are_strictly_before_and_after_today(
    parse: Parse, text: str, expected: int
) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize("text", ["monday", "this monday", "last week", "next month"])
def test_ambiguous_day_names_are_not_understood(parse: Parse, text: str) -> None:
    with pytest.raises(TimeError, match="not understood"):
        parse(text)


# Relative amounts


@pytest.mark.parametrize(
    ("text", "delta"),
    [
        ("2 hours ago", -2 * HOUR),
        ("1 hour ago", -HOUR),
        ("1.5 hours ago", -HOUR * 3 // 2),
        ("an hour ago", -HOUR),
        ("a minute ago", -60 * NS_PER_SECOND),
        ("30 mins ago", -30 * 60 * NS_PER_SECOND),
        ("5 min ago", -5 * 60 * NS_PER_SECOND),
        ("5m ago", -5 * 60 * NS_PER_SECOND),
        ("10 s ago", -10 * NS_PER_SECOND),
        ("10 secs ago", -10 * NS_PER_SECOND),
        ("1 second ago", -NS_PER_SECOND),
        ("3h ago", -3 * HOUR),
        ("3 hrs ago", -3 * HOUR),
        ("250 ms ago", -250_000_000),
        ("7 us ago", -7_000),
        ("1 ns ago", -1),
        ("2d ago", -2 * DAY),
        ("1 day ago", -DAY),
        ("1w ago", -7 * DAY),
        ("2 weeks ago", -14 * DAY),
        ("1.5 days ago", -36 * HOUR),
        ("in 2 hours", 2 * HOUR),
        ("in 2 days", 2 * DAY),
        ("2 days from now", 2 * DAY),
        ("+2h", 2 * HOUR),
        ("-90min", -90 * 60 * NS_PER_SECOND),
        ("now - 1 week", -7 * DAY),
        ("now+1d", DAY),
        ("1h30m ago", -HOUR * 3 // 2),
        ("1 hour and 30 minutes ago", -HOUR * 3 // 2),
        ("1 day, 2 hours ago", -26 * HOUR),
    ],
)
def test_relative_amounts_count_from_now(parse: Parse, text: str, delta: int) -> None:
    assert parse(text) == NOW + delta


def test_months_and_years_move_the_calendar(parse: Parse) -> None:
    assert parse("3 months ago") == utc(2031, 2, 13, 6, 15, 0, 123_456_789)
    assert parse("in 1 year") == utc(2032, 5, 13, 6, 15, 0, 123_456_789)
    assert parse("2 yrs ago") == utc(2029, 5, 13, 6, 15, 0, 123_456_789)


def test_a_month_from_a_long_month_end_clamps_to_the_shorter_month(plugins: Plugins) -> None:
    march_31 = utc(2031, 3, 31, 12)
    assert plugins.parse_time("1 month ago", march_31) == utc(2031, 2, 28, 12)
    assert plugins.parse_time("in 11 months", march_31) == utc(2032, 2, 29, 12)


@pytest.mark.parametrize(
    "text", ["1.5 months ago", "2 parsecs ago", "in 2 hours ago", "2 hours", "ago", "in", "+"]
)
def test_malformed_relative_amounts_are_not_understood(parse: Parse, text: str) -> None:
    with pytest.raises(TimeError, match="not understood"):
        parse(text)


def test_an_amount_reaching_past_the_supported_years_is_an_error(parse: Parse) -> None:
    with pytest.raises(TimeError, match=r"'3000 years ago' is outside the supported years"):
        parse("3000 years ago")
    with pytest.raises(TimeError, match="outside the supported years"):
        parse("in 1000000000000 hours")


# Daylight saving time (New York: EDT began 9 March 2031 and ended 2 November 2031)


def test_yesterday_after_spring_forward_is_local_midnight_of_a_23_hour_day(
    plugins: Plugins, local_zone: Callable[[str], None]
) -> None:
    local_zone("America/New_York")
    monday_noon = utc(2031, 3, 10, 16)  # 12:00 EDT
    assert plugins.parse_time("today", monday_noon) == utc(2031, 3, 10, 4)  # EDT
    assert plugins.parse_time("yesterday", monday_noon) == utc(2031, 3, 9, 5)  # EST


def test_yesterday_after_fall_back_is_local_midnight_of_a_25_hour_day(
    plugins: Plugins, local_zone: Callable[[str], None]
) -> None:
    local_zone("America/New_York")
    monday_noon = utc(2031, 11, 3, 17)  # 12:00 EST
    assert plugins.parse_time("today", monday_noon) == utc(2031, 11, 3, 5)  # EST
    assert plugins.parse_time("yesterday", monday_noon) == utc(2031, 11, 2, 4)  # EDT


def test_a_day_ago_across_a_dst_change_keeps_the_wall_clock_time(
    plugins: Plugins, local_zone: Callable[[str], None]
) -> None:
    local_zone("America/New_York")
    sunday_noon = utc(2031, 3, 9, 16)  # 12:00 EDT, the day EDT began
    assert plugins.parse_time("1 day ago", sunday_noon) == utc(2031, 3, 8, 17)  # 12:00 EST
    assert plugins.parse_time("24 hours ago", sunday_noon) == utc(2031, 3, 8, 16)


def test_a_change_of_local_zone_is_seen_by_the_next_parse(
    parse: Parse, local_zone: Callable[[str], None]
) -> None:
    assert parse("today") == utc(2031, 5, 13)
    local_zone("Asia/Kolkata")
    assert parse("today") == utc(2031, 5, 12, 18, 30)
    local_zone("UTC")
    assert parse("today") == utc(2031, 5, 13)


# What is not understood


@pytest.mark.parametrize(
    "text",
    ["", "   ", "garbage", "yesterdayish", "2031-05-13 garbage", "tuesday-ish", "1e9", "12:3"],
)
def test_unparseable_text_is_a_time_error_quoting_it(parse: Parse, text: str) -> None:
    with pytest.raises(TimeError) as caught:
        parse(text)
    assert repr(text) in str(caught.value)


def test_text_over_200_characters_is_not_understood(parse: Parse) -> None:
    text = "1" + "0" * 200
    with pytest.raises(TimeError, match="not understood"):
        parse(text)


@pytest.mark.parametrize(
    "text",
    [
        "1" * 199 + "x",
        "1 " * 99 + "x",
        "a" * 200,
        "2031-" * 40,
        "1h" * 99 + " ago",
        "1 hour and " * 18 + "x",
        "last " * 40,
        "9" * 198 + "am",
    ],
)
def test_pathological_text_is_answered_quickly(parse: Parse, text: str) -> None:
    start = time.perf_counter()
    with pytest.raises(TimeError):
        parse(text)
    assert time.perf_counter() - start < 0.5


_TOKENS = st.sampled_from(
    [
        *("2031", "-", "05", "13", "t", "06:15", ":00", ".5", "z", "+01:00", "w20", "@"),
        *("now", "today", "yesterday", "noon", "midnight", "last", "next", "monday", "may"),
        *("ago", "in", "1.5", "hours", "days", "months", "years", "at", ",", "am", "pm", " "),
        "999999999999",
    ]
)


@given(st.text(max_size=60) | st.lists(_TOKENS, max_size=8).map("".join))
def test_any_text_gives_a_time_or_a_time_error(plugins: Plugins, text: str) -> None:
    try:
        ns = plugins.parse_time(text, NOW)
    except TimeError:
        return
    assert MIN_NS <= ns <= MAX_NS


@given(st.integers(min_value=MIN_NS, max_value=MAX_NS))
def test_format_iso_parses_back_to_the_same_nanosecond(plugins: Plugins, ns: int) -> None:
    assert plugins.parse_time(format_iso(ns), NOW) == ns


@given(st.integers(min_value=MIN_NS, max_value=MAX_NS))
def test_basic_format_parses_back_to_the_same_nanosecond(plugins: Plugins, ns: int) -> None:
    basic = format_iso(ns).replace("-", "").replace(":", "")
    assert plugins.parse_time(basic, NOW) == ns
