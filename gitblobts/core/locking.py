"""Sharing one backend between threads: each call in turn, under the store's lock.

A :class:`~gitblobts.Store` may be used by many threads at once, but a backend keeps state that is
not safe to share (caches of trees and commits, a ``git cat-file`` pipe, dulwich's list of packs,
what it knows of the index). :class:`LockedBackend` runs every call of the backend it wraps under
one lock, the store's, and the steps of a :meth:`read_blobs`, :meth:`list_folders` or
:meth:`blob_sizes` iterator a short run at a time, so that a query's generator never holds the
lock while its caller's loop runs. The store
takes the same lock around sequences that must not interleave (a commit: resolve, write,
compare-and-swap, check out).

:meth:`~gitblobts.core.backend.Backend.write_blobs` runs without the lock: it consumes the
caller's blobs as it goes, which may take long and must not hold up other threads, and it
only adds new objects (see the backend contract). A :meth:`fetch` or :meth:`push` waits on
the network, so it runs without the lock too, on a backend of its own opened on the same
repository for that call: to the store's backend it is another process, whose objects and
refs every backend finds on disk, as it must another writer's. So adds go on while a push
is under way (a background push: :mod:`gitblobts.core.pushing`).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import ClassVar, TypeVar

from gitblobts.core.backend import Backend, Identity, Listing, TreeEntry
from gitblobts.core.errors import RepositoryError

_Item = TypeVar("_Item")
RUN_ITEMS = 64
"""Most items of a backend's iterator read in one hold of the lock (see
:meth:`LockedBackend._stepped`): a lock's hold per blob costs as much as the read of a small
blob from a pack."""
RUN_BYTES = 1 << 20
"""Blob bytes after which a run ends."""


class LockedBackend(Backend):
    """``backend`` with each call made under ``lock``; unusable once closed."""

    name: ClassVar[str] = "locked"

    def __init__(self, backend: Backend, lock: threading.RLock, path: str) -> None:
        self.backend = backend
        """The backend wrapped."""
        self._lock = lock
        self._path = path
        self._closed = False
        self._durable = False

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def _check_open(self) -> None:
        if self._closed:
            raise RepositoryError(f"{self._path}: the store is closed; open it again")

    @property
    def is_bare(self) -> bool:
        return self.backend.is_bare

    def head_branch(self) -> str | None:
        with self._lock:
            self._check_open()
            return self.backend.head_branch()

    def resolve(self, ref: str) -> str | None:
        with self._lock:
            self._check_open()
            return self.backend.resolve(ref)

    def list_folder(self, commit: str, folder: str) -> list[TreeEntry]:
        with self._lock:
            self._check_open()
            return self.backend.list_folder(commit, folder)

    def entry(self, commit: str, path: str) -> TreeEntry | None:
        with self._lock:
            self._check_open()
            return self.backend.entry(commit, path)

    def list_files(self, commit: str, folder: str) -> list[tuple[str, str]]:
        with self._lock:
            self._check_open()
            return self.backend.list_files(commit, folder)

    def list_non_files(self, commit: str, folder: str) -> list[TreeEntry]:
        with self._lock:
            self._check_open()
            return self.backend.list_non_files(commit, folder)

    def list_folders(self, commit: str, folders: Iterable[str]) -> Iterator[Listing]:
        folders = list(folders)  # taken first: a lazy walk would call the backend mid-step
        with self._lock:
            self._check_open()
            listings = self.backend.list_folders(commit, folders)
        return self._stepped(listings)

    def read_blobs(self, oids: Iterable[str]) -> Iterator[bytes]:
        with self._lock:
            self._check_open()
            contents = self.backend.read_blobs(oids)
        return self._stepped(contents, len)

    def blob_sizes(self, oids: Iterable[str]) -> Iterator[int]:
        with self._lock:
            self._check_open()
            sizes = self.backend.blob_sizes(oids)
        return self._stepped(sizes)

    def may_lack_objects(self) -> bool:
        with self._lock:
            self._check_open()
            return self.backend.may_lack_objects()

    def missing(self, oids: Iterable[str]) -> list[str]:
        with self._lock:
            self._check_open()
            return self.backend.missing(oids)

    def fetch_objects(self, oids: Sequence[str]) -> None:
        with self._networking() as backend:
            backend.fetch_objects(oids)

    def _stepped(
        self, items: Iterator[_Item], weigh: Callable[[_Item], int] | None = None
    ) -> Iterator[_Item]:
        """``items``, read under the lock a run at a time and yielded outside it: a run is
        up to :data:`RUN_ITEMS` items, and ends early once they weigh :data:`RUN_BYTES`
        (by ``weigh``, if given), so that it holds little more than its last item. What an
        item raises is raised once the items before it are yielded; none is yielded once the
        backend is closed."""
        lock = self._lock
        while True:
            run: list[_Item] = []
            failure: Exception | None = None
            ended = False
            with lock:
                self._check_open()
                weight = 0
                try:
                    for item in items:
                        run.append(item)
                        if weigh is not None:
                            weight += weigh(item)
                        if len(run) >= RUN_ITEMS or weight >= RUN_BYTES:
                            break
                    else:
                        ended = True
                except Exception as error:
                    failure = error
            for item in run:
                if self._closed:  # closed meanwhile: a run read ahead is not handed out
                    self._check_open()
                yield item
            if failure is not None:
                raise failure
            if ended:
                return

    def write_blobs(self, contents: Iterable[bytes | bytearray]) -> Sequence[str]:
        self._check_open()
        return self.backend.write_blobs(contents)

    def write_commit(
        self,
        parent: str | None,
        files: Mapping[str, str],
        message: str,
        author: Identity | None = None,
        *,
        remove: Iterable[str] = (),
    ) -> str:
        with self._lock:
            self._check_open()
            return self.backend.write_commit(parent, files, message, author, remove=remove)

    def set_durable(self, durable: bool) -> None:
        with self._lock:
            self._check_open()
            self.backend.set_durable(durable)
            self._durable = durable

    def compare_and_swap(self, ref: str, old: str | None, new: str) -> bool:
        with self._lock:
            self._check_open()
            return self.backend.compare_and_swap(ref, old, new)

    def check_out(self, files: Mapping[str, str], removed: Iterable[str] = ()) -> None:
        with self._lock:
            self._check_open()
            self.backend.check_out(files, removed)

    @contextlib.contextmanager
    def holding_index(self, is_store_file: Callable[[str], bool]) -> Iterator[None]:
        with self._lock:
            self._check_open()
            with self.backend.holding_index(is_store_file):
                yield

    def repair_index(self, is_store_file: Callable[[str], bool]) -> int:
        with self._lock:
            self._check_open()
            return self.backend.repair_index(is_store_file)

    def remotes(self) -> list[str]:
        with self._lock:
            self._check_open()
            return self.backend.remotes()

    def upstream(self, branch: str) -> tuple[str, str] | None:
        with self._lock:
            self._check_open()
            return self.backend.upstream(branch)

    def set_upstream(self, branch: str, remote: str, remote_ref: str) -> None:
        with self._lock:
            self._check_open()
            self.backend.set_upstream(branch, remote, remote_ref)

    def fetch(self, remote: str, remote_ref: str) -> str | None:
        with self._networking() as backend:
            return backend.fetch(remote, remote_ref)

    def push(self, remote: str, commit: str, remote_ref: str, expected: str | None) -> bool:
        with self._networking() as backend:
            return backend.push(remote, commit, remote_ref, expected)

    @contextlib.contextmanager
    def _networking(self) -> Iterator[Backend]:
        """A backend of the same class on the same repository, for one call that waits on
        the network, made without the lock; closed afterwards."""
        with self._lock:
            self._check_open()
            durable = self._durable
        backend = type(self.backend)(self._path)
        try:
            backend.set_durable(durable)
            yield backend
        finally:
            backend.close()

    def tracking(self, remote: str, remote_ref: str) -> str | None:
        with self._lock:
            self._check_open()
            return self.backend.tracking(remote, remote_ref)

    def merge_base(self, a: str, b: str) -> str | None:
        with self._lock:
            self._check_open()
            return self.backend.merge_base(a, b)

    def first_parent_chain(self, tip: str, stop: str | None) -> list[str]:
        with self._lock:
            self._check_open()
            return self.backend.first_parent_chain(tip, stop)

    def commit_time(self, commit: str) -> int:
        with self._lock:
            self._check_open()
            return self.backend.commit_time(commit)

    def commit_info(self, commit: str) -> tuple[str | None, str]:
        with self._lock:
            self._check_open()
            return self.backend.commit_info(commit)

    def added_files(self, base: str | None, tip: str) -> dict[str, str]:
        with self._lock:
            self._check_open()
            return self.backend.added_files(base, tip)

    def removals(self, tip: str) -> Iterator[tuple[str, str, list[str]]]:
        with self._lock:
            self._check_open()
            removals = self.backend.removals(tip)
        lock = self._lock
        while True:
            with lock:
                self._check_open()
                step = next(removals, None)
            if step is None:
                return
            yield step

    def close(self) -> None:
        """Close the backend once the call in progress (in any thread) has returned; every
        call afterwards raises :class:`~gitblobts.RepositoryError`."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self.backend.close()
