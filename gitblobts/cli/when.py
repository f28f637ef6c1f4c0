"""Times given on the command line: what the API accepts, plain numbers as epoch seconds, and
``-inf``/``inf`` for an open range end.

A string goes through the installed time parsers, as it would through the API ('2 hours
ago', '2026-11-24T06:15:00Z', 'yesterday'); a purely numeric string means epoch seconds,
read exactly (``1700000000.123456789``). A range end may be ``-inf`` (before every blob) or
``inf``/``+inf`` (after every blob), as the API's ``-math.inf`` and ``math.inf``.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import TypeAlias

from gitblobts.core.errors import TimeError
from gitblobts.core.plugins import Plugins
from gitblobts.core.timestamps import Nanoseconds, to_ns

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_OPEN = {"-inf": -math.inf, "inf": math.inf, "+inf": math.inf}

WHEN_HELP = "'2 hours ago', 'yesterday', an ISO 8601 time, or epoch seconds"
OPEN_HELP = "-inf or inf: open, before or after every blob"

RangeEnd: TypeAlias = Nanoseconds | float | None
"""A range end: exact nanoseconds, an infinity (open, in a direction), or ``None`` (open)."""


def parse_when(text: str | None, plugins: Plugins, now_ns: int) -> Nanoseconds | None:
    """``text`` as exact nanoseconds (``None`` stays ``None``); relative times count from
    ``now_ns``. Raises :class:`~gitblobts.TimeError` quoting ``text``."""
    if text is None:
        return None
    stripped = text.strip()
    if stripped.lower() in _OPEN:
        raise TimeError(f"time {text!r}: an open end is for --start and --end only")
    if _NUMBER.fullmatch(stripped):
        try:
            return Nanoseconds(to_ns(Decimal(stripped)))
        except TimeError:
            raise TimeError(
                f"time {text!r} (epoch seconds) is outside the supported years 0001-9999 (UTC)"
            ) from None
    return Nanoseconds(to_ns(text, now_ns=now_ns, parse_text=plugins.parse_time))


def parse_range_end(text: str | None, plugins: Plugins, now_ns: int) -> RangeEnd:
    """:func:`parse_when`, and ``-inf``/``inf``/``+inf`` (any case) as infinities."""
    if text is not None and text.strip().lower() in _OPEN:
        return _OPEN[text.strip().lower()]
    return parse_when(text, plugins, now_ns)
