"""A sharded store: the API of :class:`~gitblobts.Store` over many repositories, one per
period of time, listed in a catalog (see :mod:`gitblobts.core.catalog`).

``Store(DIR)`` opens one when ``DIR`` is a sharded store (:func:`gitblobts.init_sharded`
makes them). An add goes to the shard of its blob's time, made when the period has none; a
batch is one add (one commit, or more past ``max_push_bytes``) per period, made once the
whole batch is checked; a batch given as an iterator streams, one add per run of one
period. A query opens the shards whose period overlaps its range, one period after the
other, and yields their blobs in time order. What is atomic: each add to
one shard, as in any store; a batch over several periods is several adds, and an
interrupted one may leave the first periods' blobs added and the rest not (what an
:class:`~gitblobts.AddInterrupted` reports is the shard's add it interrupted). The catalog
entry of a new shard is committed before the shard's first blob, so a reader never meets
blobs of a shard it cannot find.
"""

from __future__ import annotations

import heapq
import itertools
import math
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any, BinaryIO, TypeVar

from gitblobts.core import following, periods
from gitblobts.core.adding import (
    BlobSource,
    BytesLike,
    as_source,
    check_blobs,
    check_bytes_like,
    is_file,
)
from gitblobts.core.addresses import is_address
from gitblobts.core.blob import Blob, BlobInfo, BlobRef
from gitblobts.core.catalog import BRANCH, Catalog, CatalogStore, ShardEntry, Sharding, is_sharded
from gitblobts.core.config import StoreConfig
from gitblobts.core.errors import ArgumentTypeError, BlobNotFoundError, RemoteError
from gitblobts.core.formats.v1.migration import MigrationReport
from gitblobts.core.plugins import Plugins, default_plugins
from gitblobts.core.pushing import DEFAULT_CLOSE_TIMEOUT as CLOSE_TIMEOUT
from gitblobts.core.pushing import DEFAULT_PUSH_INTERVAL as PUSH_INTERVAL
from gitblobts.core.pushing import check_push, check_timeout
from gitblobts.core.pushrecord import PushFailure
from gitblobts.core.shardfollowing import ShardFollower
from gitblobts.core.shards import Shards
from gitblobts.core.store import BACKEND_ENV, DEFAULT_BACKEND, Store
from gitblobts.core.sync import PullResult, PushResult
from gitblobts.core.timestamps import Nanoseconds, is_open_bound, to_ns
from gitblobts.core.verify import Problem, VerifyReport

T = TypeVar("T", Blob, BlobInfo)


class ShardedStore(Store):
    """A store kept in one repository per period; see the module docstring. Opened by
    ``Store(DIR)``, with :class:`~gitblobts.Store`'s options: ``branch`` and ``remote``
    are the catalog's, the others each shard's."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        compression: str | None = None,
        key: bytes | str | None = None,
        cipher: str | None = None,
        layout: str | None = None,
        branch: str | None = None,
        backend: str | None = None,
        max_blob_size: int | None = None,
        part_size: int | None = None,
        max_push_bytes: int | None = None,
        plugins: Plugins | None = None,
        remote: str | None = None,
        push: bool | str = True,
        push_interval: float = PUSH_INTERVAL,
        close_timeout: float | None = CLOSE_TIMEOUT,
        strict: bool = False,
        durable: bool = False,
    ) -> None:
        check_push(push, push_interval)
        check_timeout(close_timeout, "close_timeout")
        self._path = os.fspath(path)
        self._plugins = plugins if plugins is not None else default_plugins()
        backend = backend or os.environ.get(BACKEND_ENV) or DEFAULT_BACKEND
        common: dict[str, Any] = {"push": push, "push_interval": push_interval}
        common.update(close_timeout=close_timeout, strict=strict, durable=durable)
        self._catalog = Catalog(
            CatalogStore(
                self._path,
                branch=branch or BRANCH,
                remote=remote,
                backend=backend,
                plugins=self._plugins,
                compression="none",
                **common,
            )
        )
        sharding = self._catalog.sharding
        if key is not None and sharding.key_check is not None:
            sharding.check_key(self._path, key, cipher)  # a wrong key, as a single store
        self._shards = Shards(
            self._path,
            self._catalog,
            self._plugins,
            backend,
            compression=compression or sharding.compression,
            key=key,
            cipher=cipher or (sharding.cipher if key is not None else None),
            layout=layout or sharding.layout,
            max_blob_size=max_blob_size,
            part_size=part_size,
            max_push_bytes=max_push_bytes,
            **common,
        )

    # Properties

    @property
    def path(self) -> str:
        return self._path

    @property
    def branch(self) -> str:
        """The full name of the catalog's branch (``refs/heads/main`` unless opened with
        another); each shard's is ``refs/heads/main``."""
        return self._catalog.store.branch

    @property
    def sharding(self) -> Sharding:
        """How the store divides time and where its shards' remotes are."""
        return self._catalog.sharding

    @property
    def shard_by(self) -> str:
        """How the store divides time: ``'year'``, ``'month'`` or ``'day'``."""
        return self._catalog.sharding.shard_by

    @property
    def shards(self) -> list[ShardEntry]:
        """The catalog's shards, in time order."""
        return list(self._catalog.shards().values())

    @property
    def opened_shards(self) -> list[str]:
        """The names of the shards this store has opened, in the order it opened them."""
        return list(self._shards.opened)

    @property
    def config(self) -> StoreConfig:
        """The configuration of the newest shard here, or that a new shard would record."""
        for entry in reversed(self.shards):  # opening the newest, not every one
            if os.path.isdir(self._shards.path_of(entry.name)):
                return self._shards.get(entry).config
        sharding = self._catalog.sharding
        return StoreConfig(layout=sharding.layout, codec=sharding.compression)

    @property
    def plugins(self) -> Plugins:
        return self._plugins

    def __repr__(self) -> str:
        return (
            f"ShardedStore({self._path!r}, shard_by={self.shard_by!r}, "
            f"shards={len(self._catalog.shards())})"
        )

    # Adding

    def addblob(
        self,
        blob: BlobSource,
        timestamp: object = None,
        *,
        push: bool | None = None,
        key: str | None = None,
    ) -> BlobRef:
        ns = self._to_ns(timestamp)
        shard = self._shards.for_writing(periods.period_of(ns, self.shard_by), push)
        return shard.addblob(as_source(blob), Nanoseconds(ns), push=push, key=key)

    def addblobs(
        self,
        blobs: Iterable[BytesLike | BinaryIO],
        timestamps: Iterable[object] | None = None,
        *,
        push: bool | None = None,
        key: str | None = None,
    ) -> list[BlobRef]:
        """As :meth:`Store.addblobs`, one add per shard. A sequence of blobs is checked whole
        (times, counts) before the first add; an iterator is added a run of one period at a
        time, as it streams, so that a bad blob or time leaves the runs before it added."""
        checked = check_blobs(blobs, timestamps)
        pairs = ((blob, Nanoseconds(self._to_ns(t))) for blob, t in _checked(checked))
        shard_by = self.shard_by
        if not isinstance(blobs, Sequence):
            refs: list[BlobRef] = []
            runs = itertools.groupby(pairs, lambda pair: periods.period_of(pair[1], shard_by))
            for period, run in runs:
                shard = self._shards.for_writing(period, push)
                refs += shard._adding.add(run, push, key=shard._keyed.keying(key))
            return refs
        by_period: dict[periods.Period, list[tuple[int, tuple[object, Nanoseconds]]]] = {}
        for index, pair in enumerate(pairs):
            by_period.setdefault(periods.period_of(pair[1], shard_by), []).append((index, pair))
        placed: dict[int, BlobRef] = {}
        for period, members in by_period.items():
            shard = self._shards.for_writing(period, push)
            added = shard._adding.add(
                (pair for _, pair in members), push, key=shard._keyed.keying(key)
            )
            placed.update(zip((index for index, _ in members), added, strict=True))
        return [placed[index] for index in range(len(placed))]

    def putblob(self, blob: BlobSource, *, push: bool | None = None) -> str:
        """Store ``blob`` under its content address in the shard of now; contents that
        shard holds already are not written again (other shards are not searched)."""
        period = periods.period_of(time.time_ns(), self.shard_by)
        return self._shards.for_writing(period, push).putblob(blob, push=push)

    # Reading

    def getblobs(
        self,
        start_time: object = -math.inf,
        end_time: object = math.inf,
        *,
        pull: bool = False,
        key: object = None,
    ) -> Iterator[Blob]:
        return self._query(start_time, end_time, pull, lambda s, a, b: s.getblobs(a, b, key=key))

    def listblobs(
        self,
        start_time: object = -math.inf,
        end_time: object = math.inf,
        *,
        pull: bool = False,
    ) -> Iterator[BlobInfo]:
        return self._query(start_time, end_time, pull, lambda s, a, b: s.listblobs(a, b))

    def count(self, start_time: object = -math.inf, end_time: object = math.inf) -> int:
        low, high, _ = self._range(start_time, end_time)
        return sum(
            self._shards.get(entry).count(*self._ends(low, high, False))
            for group in self._catalog.overlapping(low, high)
            for entry in group
        )

    def getblob(self, key_or_address: str, *, at: object = None, pull: bool = False) -> Blob:
        """As :meth:`Store.getblob`; a key is looked for from the newest period (or
        ``at``'s) back, an address in every shard, newest first."""
        if pull:
            self.pull()
        high = math.inf if at is None else self._to_ns(at)
        for group in reversed(self._catalog.overlapping(-math.inf, high)):
            found = []
            for entry in group:
                try:
                    found.append(self._shards.get(entry).getblob(key_or_address, at=at))
                except BlobNotFoundError:
                    continue
            if found:
                return max(found, key=lambda blob: (blob.timestamp_ns, blob.path))
        what = "content address" if is_address(key_or_address) else "key"
        raise BlobNotFoundError(f"{self._path}: no shard holds the {what} {key_or_address!r}")

    def keys(self, prefix: str = "") -> Iterator[str]:
        every = heapq.merge(*(shard.keys(prefix) for shard in self._all_shards()))
        return (key for key, _ in itertools.groupby(every))

    def follow(
        self, start_time: object = None, *, interval: float = 1.0, pull: bool = True
    ) -> following.Following:
        interval = following.check_interval(interval)
        follower = ShardFollower(self._catalog, self._shards, self._to_ns, start_time, interval)
        return following.Following(follower, interval, pull)

    # Remotes

    def push(self) -> PushResult:
        """Push the catalog, then every shard here; a store with no remote anywhere raises
        :class:`~gitblobts.RemoteError`."""
        results = [self._catalog.store.push()] if self._catalog.store.remote else []
        results += [shard.push() for shard in self._shards.local() if shard.remote is not None]
        if not results:
            raise RemoteError(f"{self._path}: neither the catalog nor any shard has a remote")
        first = results[0]
        return PushResult(
            pushed=sum(result.pushed for result in results),
            remote=first.remote,
            ref=first.ref,
            commit=first.commit,
            pushes=sum(result.pushes for result in results),
        )

    def pull(self) -> PullResult:
        """Pull the catalog, then every shard here (shards not here are cloned as queries
        need them)."""
        catalog = self._catalog.store.pull()
        blobs = sum(shard.pull().blobs for shard in self._shards.local() if shard.remote)
        return PullResult(
            blobs=blobs, commit=catalog.commit, remote=catalog.remote, ref=catalog.ref
        )

    def flush(self, timeout: float | None = None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        for store in [self._catalog.store, *self._shards.open_stores()]:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            store.flush(left)

    @property
    def unpushed(self) -> int:
        return sum(store.unpushed for store in self._every_store())

    @property
    def unpushed_age(self) -> float | None:
        ages = [age for store in self._every_store() if (age := store.unpushed_age) is not None]
        return max(ages, default=None)

    @property
    def push_failure(self) -> PushFailure | None:
        failures = (store.push_failure for store in self._every_store())
        return next((failure for failure in failures if failure is not None), None)

    @property
    def remote(self) -> tuple[str, str] | None:
        """The catalog's ``(remote, remote ref)``."""
        return self._catalog.store.remote

    # Migrating, verifying, initializing

    def migrate(self, **options: object) -> MigrationReport:
        """Nothing to do: a sharded store holds no gitblobts 0.0.7 blobs."""
        return MigrationReport(0, None)

    def verify(self, progress: Callable[[int, int], None] | None = None) -> VerifyReport:
        """:meth:`Store.verify` of every shard (problems' paths begin with the shard's name)."""
        if progress is not None and not callable(progress):
            raise ArgumentTypeError(f"progress is {type(progress).__name__}, not a callable")
        checked, problems = 0, []
        for entry in self._catalog.shards().values():
            report = self._shards.get(entry).verify(_offset(progress, checked))
            checked += report.checked
            problems += [Problem(f"{entry.name}/{p.path}", p.reason) for p in report.problems]
        return VerifyReport(checked=checked, problems=tuple(problems))

    @property
    def configured(self) -> bool:
        return True

    def init(self, *, push: bool | None = None) -> bool:
        """Nothing to record: the catalog was made with the store."""
        return False

    # Lifetime

    def close(self) -> int:
        return self._shards.close() + self._catalog.store.close()

    # Helpers

    def _to_ns(self, value: object) -> int:
        return to_ns(value, parse_text=self._plugins.parse_time)

    def _range(self, start_time: object, end_time: object) -> tuple[float, float, bool]:
        now = time.time_ns()
        start = self._bound(start_time, now, -math.inf)
        end = self._bound(end_time, now, math.inf)
        return (end, start, True) if start > end else (start, end, False)

    def _bound(self, value: object, now: int, open_value: float) -> float:
        if is_open_bound(value):
            if isinstance(value, (float, Decimal)) and not math.isnan(value):
                return math.inf if value > 0 else -math.inf
            return open_value
        return to_ns(value, now_ns=now, parse_text=self._plugins.parse_time)

    @staticmethod
    def _ends(low: float, high: float, descending: bool) -> tuple[object, object]:
        ends = [end if math.isinf(end) else Nanoseconds(int(end)) for end in (low, high)]
        return (ends[1], ends[0]) if descending else (ends[0], ends[1])

    def _query(
        self,
        start_time: object,
        end_time: object,
        pull: bool,
        read: Callable[[Store, object, object], Iterator[T]],
    ) -> Iterator[T]:
        low, high, descending = self._range(start_time, end_time)
        if pull:
            self._catalog.store.pull()
        groups = self._catalog.overlapping(low, high)
        groups = groups[::-1] if descending else groups
        return self._merged(groups, low, high, descending, pull, read)

    def _merged(
        self,
        groups: list[list[ShardEntry]],
        low: float,
        high: float,
        descending: bool,
        pull: bool,
        read: Callable[[Store, object, object], Iterator[T]],
    ) -> Iterator[T]:
        """The blobs of each period's shards in turn, merged in time order; each shard is
        opened when its period's turn comes."""
        start, end = self._ends(low, high, descending)
        for group in groups:
            shards = [self._shards.get(entry) for entry in group]
            if pull:
                for shard in shards:
                    if shard.remote is not None:
                        shard.pull()
            blobs = [read(shard, start, end) for shard in shards]
            if len(blobs) == 1:
                yield from blobs[0]
            else:
                yield from heapq.merge(
                    *blobs, key=lambda blob: (blob.timestamp_ns, blob.path), reverse=descending
                )

    def _all_shards(self) -> Iterator[Store]:
        return (self._shards.get(entry) for entry in self._catalog.shards().values())

    def _every_store(self) -> list[Store]:
        return [self._catalog.store, *self._shards.local()]


def _checked(pairs: Iterator[tuple[object, object]]) -> Iterator[tuple[object, object]]:
    """``pairs``, each blob that is no file checked as it comes, named by its place in the
    whole batch (a shard's add would name it by its place in its run)."""
    for position, (blob, timestamp) in enumerate(pairs):
        if not (is_file(blob) or isinstance(blob, (bytes, bytearray, memoryview))):
            check_bytes_like(blob, position)  # raises, naming the blob
        yield blob, timestamp


def _offset(
    progress: Callable[[int, int], None] | None, done: int
) -> Callable[[int, int], None] | None:
    if progress is None:
        return None
    return lambda checked, total: progress(done + checked, done + total)


def _sharded_class(path: object) -> type[Store] | None:
    """:class:`ShardedStore` if ``path`` is a sharded store's folder."""
    return ShardedStore if isinstance(path, (str, os.PathLike)) and is_sharded(path) else None


Store.sharded.append(_sharded_class)
