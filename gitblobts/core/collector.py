"""Pausing Python's cycle collector while a batch is written.

A batch of blobs makes and keeps tens of thousands of small containers (tree entries, paths,
refs), and every 700 of them start a collection of the young objects, every tenth of those a
larger one, and past a quarter of the heap a full one that walks every object of the process:
about a tenth of an ``addblobs`` of 10,000 small blobs. The write path makes no reference
cycles (a collection after such a batch written with the collector off finds nothing
unreachable), so pausing the collector loses nothing; objects are still freed as their last
reference goes.

The collector is the process's: :func:`paused` counts the batches under way in any thread
and turns it back on after the last, only if it was on before the first. A batch longer
than :data:`PAUSE_LIMIT` blobs runs a collection of the young generations after each such
stretch (:func:`tick`), so that cycles other threads make meanwhile are still collected.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

PAUSE_LIMIT = 100_000
"""Blobs written between two collections of the young generations while paused."""

_lock = threading.Lock()
_batches = 0
_was_enabled = False
_written = 0


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """Pause the cycle collector for a batch (see the module's docstring)."""
    global _batches, _was_enabled
    with _lock:
        if _batches == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _batches += 1
    try:
        yield
    finally:
        with _lock:
            _batches -= 1
            if _batches == 0 and _was_enabled:
                gc.enable()


def tick() -> None:
    """Count a blob written; while paused, collect the young generations once every
    :data:`PAUSE_LIMIT` (counted across threads, roughly: a lost count only delays one)."""
    global _written
    _written += 1
    if _written % PAUSE_LIMIT == 0 and _batches:
        gc.collect(1)
