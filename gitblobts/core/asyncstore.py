"""A store for asyncio programs: :class:`AsyncStore`.

No git library is asynchronous, so every call into the :class:`~gitblobts.Store` runs on
one worker thread the async store owns (a :class:`~concurrent.futures.ThreadPoolExecutor`
of one thread), and the event loop only awaits its results. Calls run one at a time, in the
order they were made. Queries are async iterators that pull blobs from the store's iterator
on that thread, a few at a time; a parted blob is read there too, before it is handed over.
There is no event loop other than the caller's, and no thread but the worker, which
``close()`` (or leaving ``async with``) stops, as does the async store's finaliser.

Cancelling a task that awaits a call does not stop the call once the worker has begun it
(a call still queued behind others is dropped): an add either lands whole or not at all,
and one that lands is on the branch even though the task never sees its references (see
:doc:`usage` for how to know).
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import math
import os
import weakref
from collections.abc import AsyncGenerator, Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import Any, BinaryIO, TypeVar

from gitblobts.core.adding import BlobSource, BytesLike
from gitblobts.core.blob import Blob, BlobInfo, BlobRef
from gitblobts.core.blobstream import PartedBlob
from gitblobts.core.errors import RepositoryError
from gitblobts.core.following import DEFAULT_INTERVAL, check_interval
from gitblobts.core.store import Store
from gitblobts.core.sync import PullResult, PushResult
from gitblobts.core.verify import VerifyReport

T = TypeVar("T")

BATCH = 16
"""Most blobs an async iterator takes from the worker in one call."""


class AsyncStore:
    """A :class:`~gitblobts.Store` for asyncio: the same options, its methods as coroutines,
    its queries as async iterators, its lifetime an ``async with`` block::

        async with AsyncStore(path, key=key) as store:
            ref = await store.addblob(b"...")
            async for blob in store.getblobs(start, end):
                ...

    The store opens on the worker thread; an error opening it (no repository, a wrong
    key...) is raised by ``async with`` or by the first call. Blobs and timestamps given to
    :meth:`addblobs` are read on the worker thread, so they must be ordinary (synchronous)
    iterables. See the module's docstring for threads and cancellation."""

    def __init__(self, path: str | os.PathLike[str], **options: Any) -> None:
        self._path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gitblobts-async")
        self._opening: Future[Store] = self._executor.submit(
            functools.partial(Store, path, **options)
        )
        self._finalizer = weakref.finalize(self, _shut_down, self._executor, self._opening)

    @property
    def path(self) -> str:
        """The repository's path, as given."""
        return os.fspath(self._path)

    async def _call(self, function: Callable[[Store], T]) -> T:
        """``function(store)`` run on the worker thread."""
        if not self._finalizer.alive:
            raise RepositoryError(f"{self.path}: the store is closed; open it again")
        opening = self._opening
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: function(opening.result()))

    async def run(self, function: Callable[[Store], T]) -> T:
        """``function(store)`` on the worker thread, in turn with the other calls: for what
        this class does not wrap."""
        return await self._call(function)

    # Adding

    async def addblob(
        self,
        blob: BlobSource,
        timestamp: object = None,
        *,
        push: bool | None = None,
        key: str | None = None,
    ) -> BlobRef:
        """:meth:`gitblobts.Store.addblob` on the worker thread."""
        return await self._call(lambda store: store.addblob(blob, timestamp, push=push, key=key))

    async def addblobs(
        self,
        blobs: Iterable[BytesLike | BinaryIO],
        timestamps: Iterable[object] | None = None,
        *,
        push: bool | None = None,
        key: str | None = None,
    ) -> Sequence[BlobRef]:
        """:meth:`gitblobts.Store.addblobs` on the worker thread."""
        return await self._call(lambda store: store.addblobs(blobs, timestamps, push=push, key=key))

    async def putblob(self, blob: BlobSource, *, push: bool | None = None) -> str:
        """:meth:`gitblobts.Store.putblob` on the worker thread."""
        return await self._call(lambda store: store.putblob(blob, push=push))

    # Remotes

    async def push(self) -> PushResult:
        """:meth:`gitblobts.Store.push` on the worker thread."""
        return await self._call(lambda store: store.push())

    async def pull(self) -> PullResult:
        """:meth:`gitblobts.Store.pull` on the worker thread."""
        return await self._call(lambda store: store.pull())

    async def flush(self, timeout: float | None = None) -> None:
        """:meth:`gitblobts.Store.flush` on the worker thread: the calls made after it wait
        until it returns."""
        await self._call(lambda store: store.flush(timeout))

    # Querying

    def getblobs(
        self,
        start_time: object = -math.inf,
        end_time: object = math.inf,
        *,
        pull: bool = False,
        key: object = None,
    ) -> AsyncGenerator[Blob, None]:
        """:meth:`gitblobts.Store.getblobs` as an async iterator; each blob's bytes are read
        on the worker thread."""
        return self._iterate(lambda store: store.getblobs(start_time, end_time, pull=pull, key=key))

    async def getblob(self, key: str, *, at: object = None, pull: bool = False) -> Blob:
        """:meth:`gitblobts.Store.getblob` on the worker thread."""
        return await self._call(lambda store: store.getblob(key, at=at, pull=pull))

    async def keys(self, prefix: str = "") -> list[str]:
        """:meth:`gitblobts.Store.keys`, as a list."""
        return await self._call(lambda store: list(store.keys(prefix)))

    async def listblobs(
        self,
        start_time: object = -math.inf,
        end_time: object = math.inf,
        *,
        pull: bool = False,
    ) -> list[BlobInfo]:
        """:meth:`gitblobts.Store.listblobs`, as a list."""
        return await self._call(
            lambda store: list(store.listblobs(start_time, end_time, pull=pull))
        )

    async def count(self, start_time: object = -math.inf, end_time: object = math.inf) -> int:
        """:meth:`gitblobts.Store.count` on the worker thread."""
        return await self._call(lambda store: store.count(start_time, end_time))

    async def verify(self, progress: Callable[[int, int], None] | None = None) -> VerifyReport:
        """:meth:`gitblobts.Store.verify` on the worker thread (which calls ``progress``)."""
        return await self._call(lambda store: store.verify(progress))

    async def follow(
        self, start_time: object = None, *, interval: float = DEFAULT_INTERVAL, pull: bool = True
    ) -> AsyncGenerator[Blob, None]:
        """:meth:`gitblobts.Store.follow` as an async iterator: each look for new blobs runs
        on the worker thread, and the wait between looks is an ``asyncio.sleep``, so other
        calls on this store run meanwhile."""
        interval = check_interval(interval)
        following = await self._call(
            lambda store: store.follow(start_time, interval=interval, pull=pull)
        )
        follower = following.follower
        async for blob in self._iterate(lambda store: follower.start(pull)):
            yield blob
        while True:
            await asyncio.sleep(interval)
            async for blob in self._iterate(lambda store: follower.poll(pull)):
                yield blob

    async def _iterate(self, make: Callable[[Store], Iterator[Blob]]) -> AsyncGenerator[Blob, None]:
        """The blobs of the iterator ``make(store)``, made and consumed on the worker thread
        in batches of at most :data:`BATCH`."""
        blobs = await self._call(make)
        while True:
            batch = await self._call(lambda store: _next_batch(blobs))
            if not batch:
                return
            for blob in batch:
                yield blob

    # Lifetime

    async def close(self) -> None:
        """Close the store on the worker thread, once the calls before are done, then stop
        the worker. Closing twice is harmless."""
        if not self._finalizer.alive:
            return
        opening = self._opening
        loop = asyncio.get_running_loop()
        self._finalizer.detach()
        try:
            await loop.run_in_executor(self._executor, lambda: _close(opening))
        except BaseException:  # cancelled: the worker ends once its call is done
            self._executor.shutdown(wait=False)
            raise
        self._executor.shutdown(wait=True)  # the worker has nothing left: it ends now

    async def __aenter__(self) -> AsyncStore:
        try:
            await self._call(lambda store: None)
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()


def _next_batch(blobs: Iterator[Blob]) -> list[Blob]:
    """Up to :data:`BATCH` blobs of ``blobs``, parted ones read, so that the event loop
    never reads."""
    batch = list(itertools.islice(blobs, BATCH))
    for blob in batch:
        if isinstance(blob, PartedBlob):
            blob.blob  # noqa: B018 - reads and keeps its bytes
    return batch


def _close(opening: Future[Store]) -> None:
    """Close the store, if it opened."""
    if opening.done() and opening.exception() is None:
        opening.result().close()


def _shut_down(executor: ThreadPoolExecutor, opening: Future[Store]) -> None:
    """An async store's finaliser: close the store on the worker after the calls queued,
    and let the worker end, without waiting for either (it may run in any thread)."""
    try:
        executor.submit(_close, opening)
    except RuntimeError:  # the interpreter is exiting and the worker has been joined
        _close(opening)
    executor.shutdown(wait=False)
