"""The index lock held across a branch move and its checkout, as both built-in backends
hold it.

An add to the checked-out branch moves the branch and then brings the index and working
tree in step. Holding git's ``index.lock`` from before the move until the index is written
makes the two one step for every other writer of the index, and a writer killed between
them leaves a dead lock behind: proof that the index may lag behind the branch, which
whoever takes the lock next mends (see :meth:`gitblobts.core.backend.Backend.holding_index`).
"""

from __future__ import annotations

import abc
import contextlib
import math
import os
from collections.abc import Callable, Iterable, Iterator, Mapping

from gitblobts.core import interrupts
from gitblobts.gitfiles import locks

INDEX_LOCK_TIMEOUT = 10.0
"""Seconds to wait for another writer's index lock."""


class IndexLockHolder(abc.ABC):
    """The working-tree half of a backend: :meth:`holding_index`, :meth:`repair_index` and
    :meth:`check_out` over the backend's own way of writing the index."""

    _held: locks.Lock | None = None
    """The index lock taken by :meth:`holding_index`, until :meth:`check_out` commits it."""

    @property
    @abc.abstractmethod
    def is_bare(self) -> bool:
        """Whether the repository has no working tree (and so no index)."""

    @abc.abstractmethod
    def _index_path(self) -> str:
        """The path of the repository's index file."""

    @abc.abstractmethod
    def _write_index(self, files: Mapping[str, str], removed: list[str], lock: locks.Lock) -> None:
        """Write ``files`` to the working tree and index, delete ``removed`` from both, and
        commit the index ``lock``."""

    @abc.abstractmethod
    def _resync(self, lock: locks.Lock, is_store_file: Callable[[str], bool]) -> int:
        """Bring the index and working tree in step with the checked-out branch for the
        paths ``is_store_file`` accepts, under ``lock``, which this commits; return how many
        paths changed."""

    @contextlib.contextmanager
    def holding_index(self, is_store_file: Callable[[str], bool]) -> Iterator[None]:
        if self.is_bare:
            yield
            return
        lock = self._take_index_lock()
        if lock.cleared:  # its holder died, maybe between moving the branch and the index
            self._resync(lock, is_store_file)
            lock = self._take_index_lock()
        with lock:
            self._held = lock
            try:
                yield
            finally:
                self._held = None

    def repair_index(self, is_store_file: Callable[[str], bool]) -> int:
        lock_path = self._index_path() + ".lock"
        if self.is_bare or not os.path.lexists(lock_path):
            return 0
        # Clearing a dead holder's lock and mending what it left are one step: cut in
        # between, the index would lag behind the branch with no lock left to prove it.
        with interrupts.held_back():
            lock = locks.try_take(lock_path, patience=math.inf)
            if lock is None:
                return 0
            with lock:
                return self._resync(lock, is_store_file) if lock.cleared else 0

    def check_out(self, files: Mapping[str, str], removed: Iterable[str] = ()) -> None:
        removed = list(removed)
        if self.is_bare or not (files or removed):
            return
        held, self._held = self._held, None
        if held is not None:
            self._write_index(files, removed, held)
            return
        with self._take_index_lock() as lock:
            self._write_index(files, removed, lock)

    def _take_index_lock(self) -> locks.Lock:
        return locks.take(self._index_path() + ".lock", timeout=INDEX_LOCK_TIMEOUT)
