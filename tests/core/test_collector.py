"""The cycle collector is paused while a batch is written, and left as it was found."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitblobts import Nanoseconds, Store
from gitblobts.core import collector


@pytest.fixture
def collector_state() -> Iterator[None]:
    was_enabled = gc.isenabled()
    yield
    if was_enabled:
        gc.enable()
    else:
        gc.disable()


def test_the_collector_is_paused_during_a_batch_and_on_again_after(repo: Path) -> None:
    seen = []

    def blobs() -> Iterator[bytes]:
        for i in range(3):
            seen.append(gc.isenabled())
            yield b"%d" % i

    with Store(repo, push=False) as store:
        refs = store.addblobs(blobs(), [Nanoseconds(i) for i in range(3)])

    assert len(refs) == 3
    assert seen == [False, False, False]
    assert gc.isenabled()


def test_a_collector_turned_off_by_the_caller_stays_off(repo: Path, collector_state: None) -> None:
    gc.disable()
    with Store(repo, push=False) as store:
        store.addblob(b"blob")

    assert not gc.isenabled()


def test_a_failed_batch_turns_the_collector_back_on(repo: Path) -> None:
    with Store(repo, push=False) as store, pytest.raises(TypeError):
        store.addblobs([b"fine", "not bytes"])  # type: ignore[list-item]

    assert gc.isenabled()


def test_overlapping_batches_turn_it_back_on_after_the_last() -> None:
    first_in, second_done = threading.Event(), threading.Event()
    during: list[bool] = []

    def first() -> None:
        with collector.paused():
            first_in.set()
            second_done.wait()
            during.append(gc.isenabled())

    thread = threading.Thread(target=first)
    thread.start()
    first_in.wait()
    with collector.paused():
        pass
    second_done.set()
    thread.join()

    assert during == [False]
    assert gc.isenabled()
