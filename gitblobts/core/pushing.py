"""When a store pushes: after each add (``push=True``), on demand (``push=False``), or in
the background (``push="background"``).

In the background, an add returns once its commit is on the local branch, and a worker
thread owned by the store pushes every commit made since its last push in one
:meth:`~gitblobts.core.remotes.Remotes.push` (which cuts pushes at ``max_push_bytes``), at
most once per ``push_interval`` seconds, and at once on :meth:`Pushing.flush`. The queue is
the local branch itself: nothing waits in memory that is not committed, so a process that
dies loses no commit, and a background store opened on a branch ahead of its remote pushes
it. A failed push is retried with a doubling pause (capped at :data:`MAX_RETRY_DELAY`),
logged at WARNING once per streak of failures, and kept for :meth:`Pushing.flush` to
raise; a push the remote refuses (:class:`~gitblobts.PushRejectedError`) is not retried
until the next add or flush. The thread is stopped by :meth:`Pushing.close` and by the
store's finaliser; it never holds the store itself, so it cannot keep it alive.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time

from gitblobts.core import pushrecord
from gitblobts.core.errors import (
    ArgumentError,
    ArgumentTypeError,
    GitBlobTSError,
    PushRejectedError,
    RemoteError,
)
from gitblobts.core.pushrecord import PushFailure
from gitblobts.core.remotes import Remotes
from gitblobts.core.state import StoreState

log = logging.getLogger("gitblobts")

BACKGROUND = "background"
"""``push=`` for pushing in the background."""
DEFAULT_PUSH_INTERVAL = 10.0
"""Seconds between background pushes: about 6 a minute, what hosts ask of a writer."""
DEFAULT_CLOSE_TIMEOUT = 30.0
"""Seconds :meth:`gitblobts.Store.close` waits for a background store's flush."""
FIRST_RETRY_DELAY = 1.0
MAX_RETRY_DELAY = 60.0
"""The pause before retrying a failed background push starts at
:data:`FIRST_RETRY_DELAY` seconds and doubles up to this."""
_STOP_WAIT = 5.0
"""Seconds the finaliser waits for the worker to end (it may be in a push)."""


def check_push(push: object, push_interval: object) -> bool:
    """Check ``push=`` and ``push_interval=``; return whether adds push (at once or in the
    background, as opposed to ``push=False``)."""
    if type(push_interval) not in (int, float) or not math.isfinite(push_interval):  # type: ignore[arg-type]
        raise ArgumentTypeError(
            f"push_interval is {push_interval!r}, not a finite number of seconds"
        )
    if push_interval < 0:  # type: ignore[operator]
        raise ArgumentError(f"push_interval is {push_interval}, not zero or more seconds")
    if isinstance(push, bool):
        return push
    if push == BACKGROUND:
        return True
    if isinstance(push, str):
        raise ArgumentError(f"push is {push!r}: True, False or {BACKGROUND!r}")
    raise ArgumentTypeError(f"push is {type(push).__name__}, not a bool or {BACKGROUND!r}")


def check_timeout(timeout: object, name: str = "timeout") -> float | None:
    """``timeout`` in seconds (``None``: no limit); refuse anything else."""
    if timeout is None:
        return None
    if type(timeout) not in (int, float) or math.isnan(timeout):  # type: ignore[arg-type]
        raise ArgumentTypeError(f"{name} is {timeout!r}, not a number of seconds or None")
    if timeout < 0:  # type: ignore[operator]
        raise ArgumentError(f"{name} is {timeout}, not zero or more seconds")
    return float(timeout)  # type: ignore[arg-type]


class Pushing:
    """A store's pushing: ``publish`` after an add, ``flush``, ``close`` (see the module)."""

    def __init__(
        self, state: StoreState, remotes: Remotes, push: bool | str, interval: float
    ) -> None:
        self._state = state
        self._remotes = remotes
        self._worker = None
        if push == BACKGROUND:
            self._worker = _Worker(state, remotes, float(interval), _ahead(state, remotes))
        if self._worker is not None:
            remotes.on_publish = self._worker.request

    @property
    def failure(self) -> PushFailure | None:
        """The current streak of failed background pushes: this store's if it pushes in
        the background, else the one a store of another process recorded, if any."""
        if self._worker is not None:
            return self._worker.failure
        return pushrecord.read(self._state.path, self._state.branch)

    def flush(self, timeout: float | None) -> None:
        """Carries out :meth:`gitblobts.Store.flush`."""
        timeout = check_timeout(timeout)
        if self._worker is None:
            with self._state.repository_errors("push from"):
                if self._remotes.target() is None:
                    return
            self._remotes.push()
            return
        self._worker.flush(timeout)

    def close(self, timeout: float | None) -> int:
        """Flush within ``timeout`` seconds, stop the worker; return how many commits the
        remote still lacks (logged at WARNING when some are left)."""
        timeout = check_timeout(timeout)
        if self._worker is None or not self._worker.thread.is_alive():
            return 0
        left = 0
        try:
            self._worker.flush(timeout)
        except GitBlobTSError:
            try:
                left = self._remotes.unpushed()
            except GitBlobTSError:
                left = -1
            error = self._worker.error
            log.warning(
                "%s: closed with %s commit(s) not pushed within %g s (%s); they stay on the "
                "branch, for the next store opened with push='background', or push()",
                self._state.path,
                "some" if left < 0 else left,
                timeout,
                f"the last push failed: {error}" if error is not None else "still pushing",
            )
        finally:
            self._worker.stop(None)
        return max(left, 0)

    def stop(self) -> None:
        """Stop the worker without flushing: the store's finaliser."""
        if self._worker is not None:
            self._worker.stop(_STOP_WAIT)


def _ahead(state: StoreState, remotes: Remotes) -> bool:
    """Whether the branch holds commits its remote lacks (as last seen) as the store opens:
    those are pushed at once. Only those: an add made after the open waits for the interval,
    even if it commits before the worker first looks (which made the pushes of a burst of
    adds one more, at random). ``True`` when it cannot tell: the worker looks again."""
    try:
        with state.repository_errors("push from"):
            target = remotes.target()
            if target is None:
                return False
            local = state.backend.resolve(state.branch)
            return local is not None and local != state.backend.tracking(*target)
    except GitBlobTSError:
        return True


class _Worker:
    """The thread pushing a background store, and what it and its callers share."""

    def __init__(self, state: StoreState, remotes: Remotes, interval: float, resume: bool) -> None:
        self._state = state
        self._remotes = remotes
        self._interval = interval
        self._changed = threading.Condition(threading.Lock())
        # Guarded by _changed:
        self._requested = int(resume)  # requests made: adds and flushes (and resume on open)
        self._pushed = 0  # the last request a push that started after it delivered
        self._refused = 0  # the last request a refused push (PushRejectedError) covered
        self._urgent = 0  # the last flush's request: push at once, not at the interval
        self._next_push = 0.0  # monotonic: the interval's next slot
        self._next_retry = 0.0  # monotonic: the end of the pause after a failure
        self._delay = FIRST_RETRY_DELAY
        self._stopping = False
        self.failure: PushFailure | None = None
        self._error: GitBlobTSError | None = None  # what the failure's last attempt raised
        self.thread = threading.Thread(
            target=self._run, name=f"gitblobts push {state.path}", daemon=True
        )
        self.thread.start()

    def request(self) -> None:
        """Ask for a push of what is committed now, within the interval: the first request
        after a quiet spell waits one interval too, so that a burst of adds goes in one push."""
        with self._changed:
            if self._pushed >= self._requested:
                self._next_push = max(self._next_push, time.monotonic() + self._interval)
            self._ask()
            self._changed.notify_all()

    def flush(self, timeout: float | None) -> None:
        """Push at once; return once what was committed before is pushed, or raise."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._changed:
            if self._stopping:
                raise RemoteError(f"{self._state.path}: the store is closed")
            self._ask()
            wanted = self._urgent = self._requested
            self._changed.notify_all()
            while self._pushed < wanted:
                remaining = None if deadline is None else deadline - time.monotonic()
                if self._refused >= wanted and self._error is not None:
                    why = "the remote refused the push"
                elif remaining is not None and remaining <= 0:
                    why = f"gave up waiting after {timeout} seconds"
                elif self._stopping:
                    why = "the store was closed meanwhile"
                else:
                    self._changed.wait(remaining)
                    continue
                error = self._error
                break
            else:
                return
        # Counting what is left takes the store's lock: not while holding ours.
        raise self._left(why, error)

    @property
    def error(self) -> GitBlobTSError | None:
        """What the last push raised, if it failed."""
        with self._changed:
            return self._error

    def _ask(self) -> None:
        """Count a request (under the lock); after a refusal, try again at once."""
        if self._refused >= self._requested:
            self._next_retry = 0.0
        self._requested += 1

    def _left(self, why: str, error: GitBlobTSError | None) -> RemoteError:
        """The error of a flush that did not see everything pushed."""
        try:
            left = f"{self._remotes.unpushed()} commit(s)"
        except GitBlobTSError:
            left = "commits"
        last = f"; the last push failed: {error}" if error is not None else ""
        kind = PushRejectedError if isinstance(error, PushRejectedError) else RemoteError
        return kind(
            f"{self._state.path}: flush: {why}; {left} of {self._state.branch} not pushed "
            f"yet{last}; they stay committed here, and are pushed later"
        )

    def stop(self, wait: float | None) -> None:
        """End the thread (after its push in progress), waiting at most ``wait`` seconds."""
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        if self.thread is not threading.current_thread():
            self.thread.join(wait)

    def _due(self) -> float:
        """When the next push may start (monotonic), as things stand."""
        if self._refused >= self._requested:
            return math.inf  # nothing asked since the refusal
        due = self._next_retry
        if self._urgent <= self._pushed:
            due = max(due, self._next_push)
        return due

    def _run(self) -> None:
        while True:
            with self._changed:
                while not self._stopping:
                    if self._requested > self._pushed:
                        wait = self._due() - time.monotonic()
                        if wait <= 0:
                            break
                        self._changed.wait(None if math.isinf(wait) else wait)
                    else:
                        self._changed.wait()
                if self._stopping:
                    return
                covered = self._requested
            try:
                pushed = self._push()
            except GitBlobTSError as error:
                self._failed(error, covered)
            except BaseException as error:  # a bug: say so, and stop pushing in the background
                log.exception("%s: the background push stopped: %s", self._state.path, error)
                with self._changed:
                    self._error = RemoteError(f"the background push stopped: {error}")
                    self._stopping = True
                    self._changed.notify_all()
                return
            else:
                self._succeeded(covered, pushed)

    def _push(self) -> bool:
        """Push the branch as it is now, if it has a remote; return whether anything went."""
        with self._state.repository_errors("push from"):
            backend = self._state.backend
            target = None if backend.closed else self._remotes.target()
            if target is None or backend.resolve(self._state.branch) in (
                None,
                backend.tracking(*target),
            ):
                return False  # nothing to push (as the remote was last seen)
        return self._remotes.push().pushed > 0

    def _succeeded(self, covered: int, pushed: bool) -> None:
        with self._changed:
            if self.failure is not None:
                log.warning(
                    "%s: pushed to the remote again, after %d failed attempt(s)",
                    self._state.path,
                    self.failure.attempts,
                )
                pushrecord.clear(self._state.path, self._state.branch)
            self.failure = self._error = None
            self._delay = FIRST_RETRY_DELAY
            self._pushed = covered
            if pushed:  # the interval is between pushes: having nothing to push takes no slot
                self._next_push = time.monotonic() + self._interval
            self._changed.notify_all()

    def _failed(self, error: GitBlobTSError, covered: int) -> None:
        with self._changed:
            since, attempts = time.time(), 0
            if self.failure is None:  # a streak starts: say so once
                log.warning(
                    "%s: a background push failed; retrying, with pauses of up to %g s, until "
                    "it works; the commits stay on the branch: %s",
                    self._state.path,
                    MAX_RETRY_DELAY,
                    error,
                )
            else:
                since, attempts = self.failure.since, self.failure.attempts
            self.failure = PushFailure(
                str(error), since, attempts + 1, os.getpid(), self._state.branch
            )
            self._error = error
            pushrecord.record(self._state.path, self.failure)
            if isinstance(error, PushRejectedError):
                self._refused = covered  # retrying cannot help: wait for an add or a flush
            self._next_retry = time.monotonic() + self._delay
            self._delay = min(self._delay * 2, MAX_RETRY_DELAY)
            self._changed.notify_all()
