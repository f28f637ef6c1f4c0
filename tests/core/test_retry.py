"""The compare-and-swap retry: how often it tries, how long it pauses, and how it gives up."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from gitblobts.core import retry
from gitblobts.core.retry import AGAIN, Backoff

BACKOFF = Backoff(attempts=5, first_delay=0.1, max_delay=0.3)


class Clock:
    """A fake ``sleep`` recording the pauses asked for."""

    def __init__(self) -> None:
        self.pauses: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.pauses.append(seconds)


def attempts_returning(*outcomes: object) -> tuple[list[int], Callable[[], object]]:
    calls: list[int] = []

    def attempt() -> object:
        calls.append(len(calls))
        return outcomes[len(calls) - 1]

    return calls, attempt


def test_the_first_outcome_that_is_not_again_is_returned_without_pausing() -> None:
    clock = Clock()
    calls, attempt = attempts_returning("done")
    assert retry.retry(attempt, BACKOFF, RuntimeError, sleep=clock.sleep) == "done"
    assert calls == [0]
    assert clock.pauses == []


def test_none_is_an_outcome_like_any_other() -> None:
    calls, attempt = attempts_returning(None)
    assert retry.retry(attempt, BACKOFF, RuntimeError, sleep=Clock().sleep) is None
    assert calls == [0]


def test_an_attempt_that_returns_again_is_tried_again_after_a_pause() -> None:
    clock = Clock()
    calls, attempt = attempts_returning(AGAIN, AGAIN, "done")
    result = retry.retry(attempt, BACKOFF, RuntimeError, sleep=clock.sleep, jitter=lambda: 0.5)
    assert result == "done"
    assert calls == [0, 1, 2]
    assert clock.pauses == [0.1, 0.2]


def test_pauses_double_up_to_the_cap() -> None:
    clock = Clock()
    _, attempt = attempts_returning(*[AGAIN] * 4, "done")
    retry.retry(attempt, BACKOFF, RuntimeError, sleep=clock.sleep, jitter=lambda: 0.5)
    assert clock.pauses == pytest.approx([0.1, 0.2, 0.3, 0.3])


@pytest.mark.parametrize(("jitter", "factor"), [(0.0, 0.5), (0.999, 1.499)])
def test_each_pause_is_jittered_between_half_and_one_and_a_half_times_the_delay(
    jitter: float, factor: float
) -> None:
    clock = Clock()
    _, attempt = attempts_returning(AGAIN, AGAIN, "done")
    retry.retry(attempt, BACKOFF, RuntimeError, sleep=clock.sleep, jitter=lambda: jitter)
    assert clock.pauses == pytest.approx([0.1 * factor, 0.2 * factor])


def test_when_every_attempt_returns_again_it_raises_what_gave_up_makes() -> None:
    clock = Clock()
    calls, attempt = attempts_returning(*[AGAIN] * BACKOFF.attempts)
    with pytest.raises(TimeoutError, match="kept moving"):
        retry.retry(
            attempt,
            BACKOFF,
            lambda: TimeoutError("kept moving"),
            sleep=clock.sleep,
        )
    assert len(calls) == BACKOFF.attempts
    assert len(clock.pauses) == BACKOFF.attempts - 1  # none after the last attempt


def test_what_an_attempt_raises_propagates_at_once() -> None:
    calls: list[int] = []

    def attempt() -> object:
        calls.append(1)
        raise ValueError("refused")

    with pytest.raises(ValueError, match="refused"):
        retry.retry(attempt, BACKOFF, RuntimeError, sleep=Clock().sleep)
    assert calls == [1]


def test_the_store_retries_commits_patiently_and_pushes_sparingly() -> None:
    assert (retry.COMMIT.attempts, retry.COMMIT.first_delay, retry.COMMIT.max_delay) == (
        64,
        0.001,
        0.25,
    )
    assert (retry.REMOTE.attempts, retry.REMOTE.first_delay, retry.REMOTE.max_delay) == (
        12,
        0.05,
        2.0,
    )
