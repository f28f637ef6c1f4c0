"""A progress bar for long work, drawn on standard error only when it is a terminal.

Standard output stays clean for data, and logs, pipes and CI output get no bar at all.
"""

from __future__ import annotations

import os
import sys
import time
from types import TracebackType
from typing import Literal, TextIO, TypeAlias

_INTERVAL = 0.1
"""Seconds between redraws: often enough to look alive, rarely enough to cost nothing."""

Unit: TypeAlias = Literal["items", "bytes"]


class Progress:
    """``label [#####-----]  50%  150/300``, redrawn in place; a counter when the total is
    not known. Use as a context manager, or call :meth:`close`.

    ``unit``: what the bar counts. Items (files, blobs), beside which the bytes counted with
    :meth:`add_bytes` are shown (``150/300  1.2 GiB``); or bytes, shown human-readably
    (``412.0 MiB/1.0 GiB``, or ``412.0 MiB`` when the total is not known)."""

    def __init__(
        self,
        label: str,
        total: int | None = None,
        stream: TextIO | None = None,
        *,
        unit: Unit = "items",
    ) -> None:
        self._label = label
        self._total = total
        self._stream = stream if stream is not None else sys.stderr
        self._enabled = _is_terminal(self._stream)
        self._unit = unit
        self._done = 0
        self._bytes = 0
        self._drawn_at = 0.0
        self._drawn = False

    @property
    def enabled(self) -> bool:
        """Whether the bar is drawn at all."""
        return self._enabled

    def advance(self, count: int = 1) -> None:
        """Count ``count`` more done, in the bar's unit."""
        self.update(self._done + count)

    def add_items(self, count: int = 1) -> None:
        """Count ``count`` more items done, if the bar counts items (a bar of bytes does not
        show them)."""
        if self._unit == "items":
            self.advance(count)

    def add_bytes(self, count: int) -> None:
        """Count ``count`` more bytes read or written: what the bar counts if its unit is
        bytes, else shown beside the items."""
        if self._unit == "bytes":
            self.advance(count)
        else:
            self._bytes += count
            self.update(self._done)

    def update(self, done: int, total: int | None = None) -> None:
        """Set how many are done, in the bar's unit (and, if given, how many there are)."""
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
            text = f"{self._label} {self._amount(self._done)}{self._beside()}"
        else:
            done = min(self._done, total) * 100 // max(total, 1)
            counts = f"{done:3d}%  {self._amount(self._done, total)}{self._beside()}"
            width = max(10, min(40, columns - len(self._label) - len(counts) - 6))
            filled = width * min(self._done, total) // max(total, 1)
            text = f"{self._label} [{'#' * filled}{'-' * (width - filled)}] {counts}"
        self._stream.write("\r" + text[: columns - 1].ljust(columns - 1))
        self._stream.flush()
        self._drawn = True

    def _amount(self, done: int, total: int | None = None) -> str:
        """``done`` (out of ``total``) in the bar's unit: ``150/300``, ``412.0 MiB/1.0 GiB``."""
        if self._unit == "items":
            return str(done) if total is None else f"{done}/{total}"
        return human_bytes(done) if total is None else f"{human_bytes(done)}/{human_bytes(total)}"

    def _beside(self) -> str:
        """The bytes counted beside the items, if any."""
        return f"  {human_bytes(self._bytes)}" if self._unit == "items" and self._bytes else ""


def human_bytes(count: int) -> str:
    """``count`` bytes as a person reads them: ``512 B``, ``3.5 KiB``, ``1.0 GiB``."""
    if count < 1024:
        return f"{count} B"
    value = float(count)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        value /= 1024
        if value < 1024 or unit == "TiB":
            break
    return f"{value:.1f} {unit}"


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
