"""Range queries: bounds, order, laziness and snapshot semantics."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pytest

from gitblobts import Nanoseconds, Store

HOUR = 3600 * 10**9
BASE = 1_700_000_000 * 10**9  # 2023-11-14T22:13:20Z


@pytest.fixture
def store(repo: Path) -> Store:
    store = Store(repo)
    store.addblobs(
        [b"t0", b"t1", b"t2", b"t3", b"t4"],
        [Nanoseconds(BASE + i * HOUR) for i in range(5)],
    )
    return store


def contents(blobs: object) -> list[bytes]:
    return [b.blob for b in blobs]  # type: ignore[attr-defined]


def test_no_bounds_returns_everything_oldest_first(store: Store) -> None:
    assert contents(store.getblobs()) == [b"t0", b"t1", b"t2", b"t3", b"t4"]


def test_both_ends_are_inclusive(store: Store) -> None:
    blobs = store.getblobs(Nanoseconds(BASE + HOUR), Nanoseconds(BASE + 3 * HOUR))
    assert contents(blobs) == [b"t1", b"t2", b"t3"]


def test_start_after_end_returns_newest_first(store: Store) -> None:
    blobs = store.getblobs(Nanoseconds(BASE + 3 * HOUR), Nanoseconds(BASE + HOUR))
    assert contents(blobs) == [b"t3", b"t2", b"t1"]


@pytest.mark.parametrize("open_end", [None, math.nan, math.inf])
def test_open_end_means_no_upper_limit(store: Store, open_end: object) -> None:
    assert contents(store.getblobs(Nanoseconds(BASE + 3 * HOUR), open_end)) == [b"t3", b"t4"]


@pytest.mark.parametrize("open_start", [None, math.nan, -math.inf])
def test_open_start_means_no_lower_limit(store: Store, open_start: object) -> None:
    assert contents(store.getblobs(open_start, Nanoseconds(BASE + HOUR))) == [b"t0", b"t1"]


def test_infinite_start_and_negative_infinite_end_return_everything_newest_first(
    store: Store,
) -> None:
    assert contents(store.getblobs(math.inf, -math.inf)) == [b"t4", b"t3", b"t2", b"t1", b"t0"]


def test_a_range_between_blobs_is_empty(store: Store) -> None:
    assert list(store.getblobs(Nanoseconds(BASE + 1), Nanoseconds(BASE + HOUR - 1))) == []


def test_bounds_accept_every_time_form(store: Store) -> None:
    start = dt.datetime.fromtimestamp((BASE + HOUR) / 1e9, tz=dt.timezone.utc)
    end_text = "2023-11-15T01:13:20Z"  # BASE + 3 hours
    assert contents(store.getblobs(start, end_text)) == [b"t1", b"t2", b"t3"]
    assert contents(store.getblobs((BASE + HOUR) // 10**9, (BASE + 3 * HOUR) / 1e9)) == [
        b"t1",
        b"t2",
        b"t3",
    ]


def test_blobs_carry_exact_time_datetime_and_path(store: Store) -> None:
    first = next(store.getblobs())
    assert first.timestamp_ns == BASE
    assert first.timestamp == BASE / 1e9
    assert first.datetime == dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=dt.timezone.utc)
    assert first.path.startswith("2023/11/14/22/1320/20231114T221320.000000000Z_")


def test_blobs_of_equal_time_come_back_in_a_stable_order(repo: Path) -> None:
    store = Store(repo)
    store.addblobs([bytes([i]) for i in range(20)], [Nanoseconds(BASE)] * 20)

    first = contents(store.getblobs())
    assert sorted(first) == [bytes([i]) for i in range(20)]
    assert contents(store.getblobs()) == first
    assert contents(store.getblobs(math.inf, -math.inf)) == first[::-1]


def test_getblobs_is_lazy_and_reads_the_branch_as_it_was_when_called(store: Store) -> None:
    blobs = store.getblobs()
    first = next(blobs)
    store.addblob(b"later", Nanoseconds(BASE + 10 * HOUR))

    assert first.blob == b"t0"
    assert contents(blobs) == [b"t1", b"t2", b"t3", b"t4"]
    assert contents(store.getblobs())[-1] == b"later"


def test_files_that_are_not_blobs_are_ignored(repo: Path) -> None:
    (repo / "notes.txt").write_text("not a blob")
    store = Store(repo, layout="flat")
    store.addblob(b"blob", Nanoseconds(BASE))

    assert contents(store.getblobs()) == [b"blob"]


def test_an_empty_repository_has_no_blobs(new_repo: object) -> None:
    path = new_repo("empty")  # type: ignore[operator]
    assert list(Store(path).getblobs()) == []


def test_times_from_year_1_to_9999_are_stored(repo: Path) -> None:
    store = Store(repo)
    first = dt.datetime(1, 1, 1, tzinfo=dt.timezone.utc)
    last = dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=dt.timezone.utc)
    store.addblobs([b"first", b"last"], [first, last])

    blobs = list(store.getblobs())
    assert [b.datetime for b in blobs] == [first, last]
    assert blobs[0].path.startswith("0001/01/01/00/0000/00010101T000000.000000000Z_")
