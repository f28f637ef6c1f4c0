"""Times on the command line: values that begin with a minus sign, and open range ends."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from gitblobts import Store
from tests.helpers.command import LS_LINE, SECOND, add_blobs, assert_fails, ok, run


@pytest.fixture
def store(tmp_path: Path) -> Path:
    ok("init", "store", cwd=tmp_path)
    add_blobs(tmp_path / "store", {1_700_000_001: b"a", 1_700_000_002: b"b", 1_700_000_003: b"c"})
    return tmp_path / "store"


def listed(result_lines: list[str]) -> list[str]:
    return [LS_LINE.fullmatch(line)[1] for line in result_lines]  # type: ignore[index]


def test_add_time_takes_a_relative_time_with_a_minus_sign_as_its_own_word(store: Path) -> None:
    before = time.time_ns()

    ok("add", "-", "--time", "-90min", cwd=store, input=b"x")

    newest = max(info.timestamp_ns for info in Store(store).listblobs())
    assert before - 90 * 60 * SECOND - SECOND < newest < time.time_ns() - 89 * 60 * SECOND


@pytest.mark.parametrize("option", ["--start", "--end"])
def test_range_ends_take_a_time_with_a_minus_sign_as_its_own_word(store: Path, option: str) -> None:
    assert ok("ls", option, "-1.5h", cwd=store).status == 0


def test_end_minus_inf_with_start_now_lists_everything_newest_first(store: Path) -> None:
    times = listed(ok("ls", "--start", "now", "--end", "-inf", cwd=store).lines)

    assert times == sorted(times, reverse=True)
    assert len(times) == 3


def test_end_minus_inf_is_before_every_blob(store: Path) -> None:
    assert ok("ls", "--end=-inf", cwd=store).lines == []


def test_start_minus_inf_and_end_inf_list_everything_oldest_first(store: Path) -> None:
    times = listed(ok("ls", "--start", "-inf", "--end", "inf", cwd=store).lines)

    assert times == sorted(times)
    assert len(times) == 3


def test_start_plus_inf_is_after_every_blob(store: Path) -> None:
    assert ok("ls", "--start", "+inf", cwd=store).lines == []


def test_an_omitted_start_is_open(store: Path) -> None:
    assert len(ok("ls", "--end", "1700000002", cwd=store).lines) == 2


def test_get_takes_open_ends_too(store: Path) -> None:
    assert ok("get", "--cat", "--start", "inf", "--end", "-inf", cwd=store).output == b"cba"


def test_add_time_refuses_an_open_end(store: Path) -> None:
    assert_fails(run("add", "-", "--time", "inf", cwd=store, input=b"x"), 1, "'inf'", "--start")


def test_an_option_after_a_time_option_is_still_an_option(store: Path) -> None:
    assert_fails(run("ls", "--start", "--json", cwd=store), 2, "--start")
