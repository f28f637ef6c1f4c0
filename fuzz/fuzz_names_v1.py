"""Fuzz the parser of gitblobts 0.0.7's file names (format 1): a name whose time a float
holds, or ``None``; never an error."""

from __future__ import annotations

import math
import sys

import atheris
from oracle import hostile, instrumenting, returns_or_raises

atheris.enabled_hooks.add("str")  # guide inputs by str.startswith and endswith
with instrumenting("gitblobts.core.naming_v1", "gitblobts.core.blob", "gitblobts.core.timestamps"):
    from gitblobts.core import naming_v1
    from gitblobts.core.blob import V1Blob
    from gitblobts.core.errors import TimeError

NAMES = [
    naming_v1.encode(timestamp_ns, random).encode()
    for timestamp_ns, random in [(1_700_000_000 * 10**9, 7), (-(10**18), 1 << 255), (10**21, 1)]
]


def test_one_input(data: bytes) -> None:
    filename = hostile(data, NAMES).decode("utf-8", "surrogateescape")
    name = naming_v1.parse(filename)
    if name is not None:
        assert math.isfinite(naming_v1.to_seconds(name.timestamp_ns))
        returns_or_raises(lambda: V1Blob(name.timestamp_ns, filename, b"").iso, TimeError)


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
