"""Times given on the command line: what the API accepts, and plain numbers as epoch seconds.

A string goes through the installed time parsers, as it would through the API ('2 hours
ago', '2026-11-24T06:15:00Z', 'yesterday'); a purely numeric string means epoch seconds,
read exactly (``1700000000.123456789``).
"""

from __future__ import annotations

import re
from decimal import Decimal

from gitblobts.core.errors import TimeError
from gitblobts.core.plugins import Plugins
from gitblobts.core.timestamps import Nanoseconds, to_ns

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")

WHEN_HELP = "'2 hours ago', 'yesterday', an ISO 8601 time, or epoch seconds"


def parse_when(text: str | None, plugins: Plugins, now_ns: int) -> Nanoseconds | None:
    """``text`` as exact nanoseconds (``None`` stays ``None``); relative times count from
    ``now_ns``. Raises :class:`~gitblobts.TimeError` quoting ``text``."""
    if text is None:
        return None
    stripped = text.strip()
    if _NUMBER.fullmatch(stripped):
        try:
            return Nanoseconds(to_ns(Decimal(stripped)))
        except TimeError:
            raise TimeError(
                f"time {text!r} (epoch seconds) is outside the supported years 0001-9999 (UTC)"
            ) from None
    return Nanoseconds(to_ns(text, now_ns=now_ns, parse_text=plugins.parse_time))
