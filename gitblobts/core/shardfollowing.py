"""Following a sharded store: a :class:`~gitblobts.core.following.Follower` per shard whose
period reaches the start time or later, more as the catalog gains shards, their steps
merged in time order."""

from __future__ import annotations

import heapq
import logging
import math
from collections.abc import Callable, Iterator

from gitblobts.core.blob import Blob
from gitblobts.core.catalog import Catalog
from gitblobts.core.errors import RemoteError
from gitblobts.core.following import Steps
from gitblobts.core.shards import Shards
from gitblobts.core.timestamps import is_open_bound

log = logging.getLogger("gitblobts")


class ShardFollower:
    """The steps of :meth:`gitblobts.Store.follow` on a sharded store."""

    def __init__(
        self,
        catalog: Catalog,
        shards: Shards,
        to_ns: Callable[[object], int],
        start_time: object,
        interval: float,
    ) -> None:
        self._catalog = catalog
        self._shards = shards
        self._start_time = start_time
        self._low = -math.inf if is_open_bound(start_time) else to_ns(start_time)
        self._interval = interval
        self._followers: dict[str, Steps] = {}

    def start(self, pull: bool) -> Iterator[Blob]:
        """The blobs stored from the start time on, shard after shard in time order."""
        if pull:
            self._try_pull()
        return self._started(pull)

    def _started(self, pull: bool) -> Iterator[Blob]:
        for group in self._catalog.overlapping(self._low, math.inf):
            yield from _merged([self._follow(entry.name, pull) for entry in group])

    def poll(self, pull: bool) -> Iterator[Blob]:
        """The blobs the shards gained since the last step, and those of new shards."""
        if pull:
            self._try_pull()
        steps = []
        for group in self._catalog.overlapping(self._low, math.inf):
            for entry in group:
                follower = self._followers.get(entry.name)
                steps.append(
                    follower.poll(pull) if follower is not None else self._follow(entry.name, pull)
                )
        return _merged([list(step) for step in steps])

    def _follow(self, name: str, pull: bool) -> Iterator[Blob]:
        store = self._shards.get(self._catalog.shards()[name])
        follower = store.follow(self._start_time, interval=self._interval, pull=pull).follower
        self._followers[name] = follower
        return follower.start(pull)

    def _try_pull(self) -> None:
        try:
            self._catalog.store.pull()
        except RemoteError as error:
            log.warning("following: the catalog's pull failed, trying again later: %s", error)


def _merged(steps: list[Iterator[Blob]] | list[list[Blob]]) -> Iterator[Blob]:
    if len(steps) == 1:
        return iter(steps[0])
    return heapq.merge(*steps, key=lambda blob: (blob.timestamp_ns, blob.path))
