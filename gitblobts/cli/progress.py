"""A progress bar for long work, drawn on standard error only when it is a terminal.

Standard output stays clean for data, and logs, pipes and CI output get no bar at all.
"""

from __future__ import annotations

import os
import sys
import time
from types import TracebackType
from typing import TextIO

_INTERVAL = 0.1
"""Seconds between redraws: often enough to look alive, rarely enough to cost nothing."""


class Progress:
    """``label [#####-----]  50%  150/300``, redrawn in place; a counter when the total is
    not known. Use as a context manager, or call :meth:`close`."""

    def __init__(self, label: str, total: int | None = None, stream: TextIO | None = None) -> None:
        self._label = label
        self._total = total
        self._stream = stream if stream is not None else sys.stderr
        self._enabled = _is_terminal(self._stream)
        self._done = 0
        self._drawn_at = 0.0
        self._drawn = False

    @property
    def enabled(self) -> bool:
        """Whether the bar is drawn at all."""
        return self._enabled

    def advance(self, count: int = 1) -> None:
        """Count ``count`` more items done."""
        self.update(self._done + count)

    def update(self, done: int, total: int | None = None) -> None:
        """Set how many items are done (and, if given, how many there are)."""
        self._done = done
        if total is not None:
            self._total = total
        if not self._enabled:
            return
        now = time.monotonic()
        if now - self._drawn_at >= _INTERVAL or done == self._total:
            self._draw()
            self._drawn_at = now

    def close(self) -> None:
        """Draw the final state and end the line. Closing twice is harmless."""
        if self._enabled and self._drawn:
            self._draw()
            self._stream.write("\n")
            self._stream.flush()
        self._enabled = False

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _draw(self) -> None:
        columns = _columns(self._stream)
        total = self._total
        if total is None:
            text = f"{self._label} {self._done}"
        else:
            counts = f"{min(self._done, total) * 100 // max(total, 1):3d}%  {self._done}/{total}"
            width = max(10, min(40, columns - len(self._label) - len(counts) - 6))
            filled = width * min(self._done, total) // max(total, 1)
            text = f"{self._label} [{'#' * filled}{'-' * (width - filled)}] {counts}"
        self._stream.write("\r" + text[: columns - 1].ljust(columns - 1))
        self._stream.flush()
        self._drawn = True


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # replaced or closed
        return False


def _columns(stream: TextIO) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).columns or 80
    except (AttributeError, ValueError, OSError):
        return 80
