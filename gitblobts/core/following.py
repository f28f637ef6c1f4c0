"""Following a store: the blobs already stored from a time on, then each new one as it
arrives, exactly once.

A :class:`Follower` remembers the branch's tip it has read up to. Its first step is an
ordinary range query at the tip of that moment; each later step (:meth:`Follower.poll`)
pulls if asked, reads the tip again and, if it moved, asks the backend for the files the
new tip's tree has and the last one's lacks (:meth:`~gitblobts.core.backend.Backend.added_files`,
a diff along changed paths only, never a listing of the store). Comparing trees rather than
walking commits keeps each blob once even when a pull puts local commits on top of the
remote's: a rebased commit adds no file the last tip lacked.

The new files of one step come in time order; a blob another writer added with an earlier
time than one already yielded comes in the step that finds it, after it. Nothing here
starts a thread or sleeps: :class:`Following` (the store's iterator) sleeps between steps in
its consumer's thread, and :class:`~gitblobts.AsyncStore` awaits between them on its loop.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Generator, Iterator
from typing import Protocol

from gitblobts.core.blob import Blob
from gitblobts.core.errors import ArgumentTypeError, RemoteError
from gitblobts.core.parts import SUMS
from gitblobts.core.reading import Found, PartsId, Reading
from gitblobts.core.settings import Settings
from gitblobts.core.state import StoreState

log = logging.getLogger("gitblobts")

DEFAULT_INTERVAL = 1.0
"""Seconds between two looks for new blobs (and pulls, with a remote)."""


def check_interval(interval: object) -> float:
    """``interval`` as positive finite seconds, else :class:`ArgumentTypeError`."""
    if isinstance(interval, bool) or not isinstance(interval, (int, float)):
        raise ArgumentTypeError(f"interval is {type(interval).__name__}, not seconds (a number)")
    if not 0 < interval < math.inf:
        raise ArgumentTypeError(f"interval is {interval!r}, not a positive number of seconds")
    return float(interval)


class Follower:
    """What one follower has read: the range's start and the last tip it read."""

    def __init__(
        self, state: StoreState, reading: Reading, start_time: object, pull: Callable[[], object]
    ) -> None:
        self._state = state
        self._reading = reading
        self._start_time = start_time
        self._pull = pull
        self._low: float | int = -math.inf
        self._seen: str | None = None

    def start(self, pull: bool) -> Iterator[Blob]:
        """The blobs stored from the start time on, in time order, at the tip of now (pulled
        first if ``pull``, as :meth:`poll` does); later steps begin from that tip."""
        settings, head, low, _, _ = self._reading.query(
            self._start_time, math.inf, self._try_pull if pull else None
        )
        self._low, self._seen = low, head
        return self._reading.iter_blobs(settings, head, low, math.inf, False)

    def poll(self, pull: bool) -> Iterator[Blob]:
        """The blobs the branch gained since the last step, in time order (pulled first if
        ``pull``; a remote that cannot be reached is logged, and the next step tries again)."""
        if pull:
            self._try_pull()
        state = self._state
        with state.repository_errors("read"), state.lock:
            tip = state.backend.resolve(state.branch)
            if tip is None or tip == self._seen:
                return iter(())
            state.follow_migration(tip)
            settings = state.settings
            added = state.backend.added_files(self._seen, tip)
            found = self._found(settings, tip, added)
        self._reading.fetch_missing(oid for *_, oid in found)  # before they count as seen
        self._seen = tip
        return self._reading.read_found(settings, tip, found)

    def _try_pull(self) -> None:
        """Pull; a remote that cannot be reached is logged, and the next look tries again."""
        try:
            self._pull()
        except RemoteError as error:
            log.warning(
                "following %s: the pull failed, trying again later: %s", self._state.path, error
            )

    def _found(self, settings: Settings, tip: str, added: dict[str, str]) -> list[Found]:
        """The blobs among the files ``added`` at ``tip`` whose time is in the range, in
        time order: blob files, and parted blobs' folders (by the files in them)."""
        parse = settings.names.parse_parts
        found: list[Found] = []
        folders: set[str] = set()
        for path, oid in added.items():
            folder, _, name = path.rpartition("/")
            parts = parse(name)
            if parts is not None:
                if self._low <= parts[0]:
                    found.append((parts[0], path, parts[1], oid))
                continue
            if folder in folders or not (name == SUMS or name.startswith("part-")):
                continue
            parts = parse(folder.rpartition("/")[2])
            if parts is not None and self._low <= parts[0]:
                folders.add(folder)
                if self._reading.holds_parts(settings, tip):
                    found.append((parts[0], folder, parts[1], PartsId("")))
        found.sort()
        return found


class Steps(Protocol):
    """What :class:`Following` takes its steps from: a :class:`Follower`, or a sharded
    store's."""

    def start(self, pull: bool) -> Iterator[Blob]: ...

    def poll(self, pull: bool) -> Iterator[Blob]: ...


class Following(Iterator[Blob]):
    """What :meth:`gitblobts.Store.follow` returns: the first step, then a step every
    ``interval`` seconds, sleeping in the consumer's thread, until :meth:`close`. Its
    :attr:`follower` lets an async store take the steps and wait between them itself."""

    def __init__(self, follower: Steps, interval: float, pull: bool) -> None:
        self.follower = follower
        self._blobs = self._steps(interval, pull)

    def _steps(self, interval: float, pull: bool) -> Generator[Blob, None, None]:
        yield from self.follower.start(pull)
        while True:
            time.sleep(interval)
            yield from self.follower.poll(pull)

    def __next__(self) -> Blob:
        return next(self._blobs)

    def close(self) -> None:
        """Stop following; :meth:`__next__` then raises ``StopIteration``."""
        self._blobs.close()
