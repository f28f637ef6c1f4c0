"""Bounded, jittered retries of a compare-and-swap.

Every writer in gitblobts works optimistically: it reads where a ref points, builds on it,
and moves the ref only if it still points there. When another writer moved it first, the
step is tried again on top of what landed, after a pause that doubles each time (up to a
cap) and is jittered (0.5 to 1.5 times the delay), so that writers which collided do not
collide again in step. After a bounded number of attempts the writer gives up with an error
that says so.
"""

from __future__ import annotations

import enum
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal, TypeAlias, TypeVar

T = TypeVar("T")


class _Again(enum.Enum):
    AGAIN = "again"


AGAIN: Final = _Again.AGAIN
"""What an attempt returns when the ref moved under it and it should be tried again."""

Outcome: TypeAlias = "T | Literal[_Again.AGAIN]"
"""What an attempt returns: its result, or :data:`AGAIN`."""


@dataclass(frozen=True)
class Backoff:
    """How often and how patiently to try: ``attempts`` in all, the first pause
    ``first_delay`` seconds, doubling up to ``max_delay`` (each jittered)."""

    attempts: int
    first_delay: float
    max_delay: float


COMMIT: Final = Backoff(attempts=64, first_delay=0.001, max_delay=0.25)
"""For moving the store's branch: local writers, quick to get out of each other's way."""
REMOTE: Final = Backoff(attempts=12, first_delay=0.05, max_delay=2.0)
"""For pushing to a remote: each attempt costs a round trip, and so does each collision."""


def retry(
    attempt: Callable[[], Outcome[T]],
    backoff: Backoff,
    gave_up: Callable[[], BaseException],
    *,
    sleep: Callable[[float], object] = time.sleep,
    jitter: Callable[[], float] = random.random,
) -> T:
    """Call ``attempt`` until it returns something other than :data:`AGAIN`, and return
    that; pause before each attempt but the first, as ``backoff`` says. When
    ``backoff.attempts`` attempts all returned :data:`AGAIN`, raise ``gave_up()``.
    Whatever ``attempt`` raises propagates at once. ``sleep`` and ``jitter`` (a number in
    ``[0, 1)``) are there for tests."""
    delay = backoff.first_delay
    for number in range(backoff.attempts):
        if number:
            sleep(delay * (0.5 + jitter()))  # jitter, not secrecy
            delay = min(delay * 2, backoff.max_delay)
        outcome = attempt()
        if outcome is not AGAIN:
            return outcome
    raise gave_up()
