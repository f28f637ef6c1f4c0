"""Ctrl-C held back while a step that must not be cut runs.

An add moves its branch and then brings the index and working tree in step. A
``KeyboardInterrupt`` between the two would leave the index behind the branch, so that
``git status`` stages the removal of the blobs just added. :func:`held_back` keeps SIGINT
from interrupting such a step and delivers it once the step is done, as if it had come then.
Signal handlers run in the main thread only: elsewhere there is nothing to hold back (a
``KeyboardInterrupt`` never lands in another thread). A Ctrl-C at a terminal goes to the
whole process group, git's processes too: SIGINT is also blocked in the main thread while the
step runs, and the processes it starts inherit the block, so none of them dies mid-step.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

_MASKS = hasattr(signal, "pthread_sigmask")
"""Whether signals can be blocked per thread (not on Windows)."""


@contextlib.contextmanager
def held_back() -> Iterator[None]:
    """Run the block with SIGINT held back; afterwards, call the handler it would have
    called (by default raising ``KeyboardInterrupt``). A handler not set from Python, or one
    that ignores the signal or lets it kill the process, is left as it is."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    if not callable(previous):
        yield
        return
    caught: list[tuple[int, FrameType | None]] = []

    def hold(signum: int, frame: FrameType | None) -> None:
        caught.append((signum, frame))

    signal.signal(signal.SIGINT, hold)
    # Blocked in this thread too: the processes it starts meanwhile (git's) inherit the block,
    # so a Ctrl-C at a terminal, which goes to the whole process group, cuts none of them.
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT}) if _MASKS else None
    try:
        yield
    finally:
        if mask is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # one meanwhile reaches hold now
        signal.signal(signal.SIGINT, previous)
        if caught:
            previous(*caught[0])
