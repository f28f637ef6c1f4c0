"""Fuzz the built-in codecs' decoders: at most ``max_size`` bytes, or ``ValueError`` (their
contract; ``DecodedTooLarge`` is one). The first byte picks the codec."""

from __future__ import annotations

import os
import sys

import atheris
from oracle import hostile, instrumenting, returns_or_raises

atheris.enabled_hooks.add("str")  # guide inputs by str.startswith and endswith
with instrumenting("gitblobts.plugins.codecs"):
    from gitblobts.core.plugins import load_plugins

    PLUGINS = load_plugins(only=())  # imports (and instruments) the plugins

CODECS = [PLUGINS.codecs.get(name)() for name in PLUGINS.codecs.names()]
SAMPLES = [b"", b"gitblobts " * 40, os.urandom(100) + bytes(2000)]
FRAMES = [[codec.encode(sample) for sample in SAMPLES] for codec in CODECS]
MAX_SIZES = [0, 100, 4096, 1 << 20]


def test_one_input(data: bytes) -> None:
    if len(data) < 2:
        return
    which = data[0] % len(CODECS)
    max_size = MAX_SIZES[data[1] % len(MAX_SIZES)]
    stored = hostile(data[2:], FRAMES[which])
    decoded = returns_or_raises(lambda: CODECS[which].decode(stored, max_size=max_size), ValueError)
    assert isinstance(decoded, ValueError) or len(decoded) <= max_size


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
