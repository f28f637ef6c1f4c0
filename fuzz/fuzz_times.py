"""Fuzz the time parser, and the conversion of numbers to times: a time in the years
0001-9999, ``None`` (not understood) or :class:`~gitblobts.TimeError`, never an error of the
parser's own (which would read "time parser 'pendulum' failed")."""

from __future__ import annotations

import decimal
import sys

import atheris
from oracle import hostile, instrumenting, returns_or_raises

atheris.enabled_hooks.add("str")  # guide inputs by str.startswith and endswith
with instrumenting("gitblobts.core.timestamps", "gitblobts.plugins.pendulum_time"):
    from gitblobts.core.errors import TimeError
    from gitblobts.core.plugins import load_plugins
    from gitblobts.core.timestamps import MAX_NS, MIN_NS, to_ns
    from gitblobts.plugins.pendulum_time import PendulumTimeParser

    PLUGINS = load_plugins(only=())  # imports (and instruments) the plugins

PARSER = PendulumTimeParser()
TEXTS = [
    text.encode()
    for text in [
        "2026-11-24T14:05:06.123456789+01:00",
        "tue, 24 nov 2026 06:15:00 +0000",
        "yesterday noon",
        "1h 30m from now",
        "2026-W48-2",
        "@1700000000.5",
        "11/24/2026 9pm",
    ]
]
NOWS = [MIN_NS, 0, 1_700_000_000 * 10**9, MAX_NS]


def test_one_input(data: bytes) -> None:
    if not data:
        return
    now_ns = NOWS[data[0] % len(NOWS)]
    text = hostile(data[1:], TEXTS).decode("utf-8", "surrogateescape")
    parsed = returns_or_raises(lambda: PARSER.parse(text, now_ns), TimeError)
    assert parsed is None or isinstance(parsed, TimeError) or MIN_NS <= parsed <= MAX_NS
    ns = returns_or_raises(
        lambda: to_ns(text, now_ns=now_ns, parse_text=PLUGINS.parse_time), TimeError
    )
    assert not isinstance(ns, TimeError) or "failed" not in str(ns)
    try:
        number = decimal.Decimal(text)
    except decimal.InvalidOperation:
        return
    ns = returns_or_raises(lambda: to_ns(number), TimeError)
    assert isinstance(ns, TimeError) or MIN_NS <= ns <= MAX_NS


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
