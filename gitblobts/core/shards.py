"""The shards of an open sharded store: each a :class:`~gitblobts.Store` on its own bare
repository, opened when first needed, cloned from its remote when the folder has none,
and made (and added to the catalog) when a blob's period has no shard yet or its shard
has passed ``max_shard_bytes``. See :mod:`gitblobts.core.catalog`.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

from gitblobts.core import cloning
from gitblobts.core.catalog import (
    BRANCH,
    PARTIAL_MARK,
    SHARDS_FOLDER,
    Catalog,
    ShardEntry,
    local_path,
    shard_name,
)
from gitblobts.core.errors import RepositoryError
from gitblobts.core.periods import Period
from gitblobts.core.plugins import Plugins
from gitblobts.core.store import Store

log = logging.getLogger("gitblobts")

SIZE_INTERVAL = 60.0
"""Seconds a writer trusts its last measure of a shard's size."""


class Shards:
    """The shards of one sharded store, with the options it was opened with."""

    def __init__(self, path: str, catalog: Catalog, plugins: Plugins, backend: str, **options: Any):
        self._folder = os.path.join(path, SHARDS_FOLDER)
        self._catalog = catalog
        self._plugins = plugins
        self._backend = backend
        self._options = options
        self._open: dict[str, Store] = {}
        self._sizes: dict[str, tuple[float, int]] = {}
        self._writing: dict[str, ShardEntry] = {}
        """The shard each period's blobs last went to: the next go there too, until it is
        full (even if another writer has made a newer shard of the period meanwhile)."""
        self._lock = threading.RLock()
        self.opened: list[str] = []
        """The names of the shards opened so far, in the order they were first opened."""

    def path_of(self, name: str) -> str:
        return os.path.join(self._folder, name)

    def open_stores(self) -> list[Store]:
        with self._lock:
            return list(self._open.values())

    def get(self, entry: ShardEntry) -> Store:
        """The shard's store, opened (and cloned from its remote, if not here) once."""
        with self._lock:
            store = self._open.get(entry.name)
            if store is None:
                store = self._open_shard(entry)
                self._open[entry.name] = store
                self.opened.append(entry.name)
            return store

    def local(self) -> Iterator[Store]:
        """The stores of the catalog's shards that have a repository here, in time order."""
        for entry in self._catalog.shards().values():
            if os.path.isdir(self.path_of(entry.name)):
                yield self.get(entry)

    def for_writing(self, period: Period, push: bool | None) -> Store:
        """The store new blobs of ``period`` go to: its newest shard, made if there is none
        or if the newest is full."""
        with self._lock:
            entry = self._writing.get(period.name)
            if entry is not None and not self._full(entry):
                return self.get(entry)  # shards are never removed: no need to read the catalog
            entry = self._catalog.last_of(period.name)
            sharding = self._catalog.sharding
            if entry is None:
                entry = sharding.entry(shard_name(period.name, 1))
            elif self._full(entry):
                entry = sharding.entry(shard_name(period.name, entry.number + 1))
            if entry.name not in self._catalog.shards():
                self._make(entry, push)
            self._writing[period.name] = entry
            return self.get(entry)

    def close(self) -> int:
        """Close every open shard; return how many commits they left unpushed."""
        with self._lock:
            stores, self._open = list(self._open.values()), {}
        return sum(store.close() for store in stores)

    def _open_shard(self, entry: ShardEntry) -> Store:
        path = self.path_of(entry.name)
        if not os.path.isdir(path):
            if entry.remote is None:
                raise RepositoryError(
                    f"{path}: the shard {entry.name} is in the catalog but not here, and "
                    "has no remote to clone it from"
                )
            partial = os.path.exists(os.path.join(self._folder, PARTIAL_MARK))
            cloning.clone_repository(
                entry.remote,
                path,
                partial=partial,
                bare=True,
                backend=self._backend,
                plugins=self._plugins,
            )
        log.debug("opening shard %s", entry.name)
        return Store(
            path, branch=BRANCH, plugins=self._plugins, backend=self._backend, **self._options
        )

    def _make(self, entry: ShardEntry, push: bool | None) -> None:
        """Make the shard's repository (and a local remote's, if missing), then record it;
        not with a key (or none) that is not the store's."""
        path = self.path_of(entry.name)
        sharding = self._catalog.sharding
        sharding.check_key(path, self._options.get("key"), self._options.get("cipher"))
        backend = self._plugins.backends.get(self._backend)
        remote = local_path(entry.remote) if entry.remote is not None else None
        if remote is not None and not os.path.isdir(remote):
            backend.create_repository(remote, branch=BRANCH, origin=None)
        if not os.path.isdir(path):
            backend.create_repository(path, branch=BRANCH, origin=entry.remote)
        self._catalog.add(entry, push)

    def _full(self, entry: ShardEntry) -> bool:
        """Whether the shard's repository here has passed ``max_shard_bytes``."""
        limit = self._catalog.sharding.max_shard_bytes
        if limit is None:
            return False
        measured, size = self._sizes.get(entry.name, (-SIZE_INTERVAL, 0))
        if time.monotonic() - measured >= SIZE_INTERVAL:
            size = _folder_size(os.path.join(self.path_of(entry.name), "objects"))
            self._sizes[entry.name] = (time.monotonic(), size)
        return size >= limit


def _folder_size(folder: str) -> int:
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except FileNotFoundError:  # packed meanwhile
                continue
    return total
