"""A store's layout: new stores take the default (``20-second``), stores keep the one they
were created with."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from gitblobts import Nanoseconds, Store
from gitblobts.core.timestamps import from_utc_fields

HOUR = 3600 * 10**9
START = Nanoseconds(from_utc_fields(2026, 12, 3, 10, 0, 0, 0))
END = Nanoseconds(START + HOUR - 1)


def folder_of(path: str) -> str:
    return path.rpartition("/")[0]


@pytest.mark.parametrize("kind", ["bare", "non-bare"])
def test_a_new_store_adds_into_20_second_folders_and_a_query_returns_its_hour(
    new_repo: Callable[[str], Path], kind: str
) -> None:
    store = Store(new_repo(kind), push=False)
    times = [Nanoseconds(START - HOUR // 2 + i * 5 * 10**9) for i in range(2 * 360)]  # 1 per 5 s
    refs = store.addblobs([str(i).encode() for i in range(len(times))], times)
    hour = [t for t in times if START <= t < START + HOUR]

    assert store.config.layout == "20-second"
    assert folder_of(refs[0].path) == "2026/12/03/09/3000"
    assert set(Counter(folder_of(ref.path) for ref in refs).values()) == {4}
    assert [b.timestamp_ns for b in store.getblobs(START, END)] == hour
    assert [b.timestamp_ns for b in store.getblobs(END, START)] == hour[::-1]
    assert [b.timestamp_ns for b in Store(store.path).getblobs()] == times


def test_an_hourly_store_stays_hourly_and_adds_into_hour_folders(repo: Path) -> None:
    Store(repo, layout="hourly").addblob(b"first", Nanoseconds(START))

    reopened = Store(repo)
    ref = reopened.addblob(b"second", Nanoseconds(START + 25 * 10**9))

    assert reopened.config.layout == "hourly"
    assert folder_of(ref.path) == "2026/12/03/10"
    assert [b.blob for b in Store(repo).getblobs(START, END)] == [b"first", b"second"]
