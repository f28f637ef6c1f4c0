"""A store's settings are one immutable value, replaced whole: an operation sees the store
as it was before a change (a configuration another writer recorded, a migration) or after
it, never half of each."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

import gitblobts
from gitblobts import Store
from tests.helpers import seedformat

KEY = gitblobts.generate_key()
ITEMS = [(n * 10**9, f"blob {n}".encode()) for n in range(40)]


def test_a_stores_settings_cannot_be_changed_in_place(repo: Path) -> None:
    settings = Store(repo)._state.settings

    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.config = None  # type: ignore[misc]


def test_learning_another_writers_configuration_replaces_the_settings_whole(
    repo: Path,
) -> None:
    store = Store(repo, key=KEY)
    before = store._state.settings
    Store(repo, key=KEY).addblob(b"first", 1)

    store.addblob(b"second", 2)

    assert before.config is None  # what an operation in flight holds is untouched
    assert store._state.settings is not before
    assert store._state.settings.config == Store(repo, key=KEY).config


def test_reads_in_one_thread_see_every_blob_while_another_writer_migrates_the_store(
    new_repo: Callable[[str], Path],
) -> None:
    work = new_repo("empty")
    seedformat.write(work, ITEMS, "gzip", KEY)
    reader = Store(work, compression="gzip", key=KEY)
    expected = [blob for _, blob in ITEMS]
    seen: list[list[bytes]] = []
    failures: list[BaseException] = []
    migrated = threading.Event()

    def read() -> None:
        try:
            while (
                not migrated.is_set() or not seen or not reader._state.settings.names.records_config
            ):
                seen.append([blob.blob for blob in reader.getblobs()])
        except BaseException as error:
            failures.append(error)

    thread = threading.Thread(target=read)
    thread.start()
    try:
        Store(work, compression="gzip", key=KEY).migrate(compression="zstd")
    finally:
        migrated.set()
        thread.join()

    assert failures == []
    assert all(blobs == expected for blobs in seen)
    assert reader._state.settings.names.records_config  # it followed the migration
    assert reader.config.codec == "zstd"
