"""Fuzz the parser of blob file names (format 2): a name or ``None``, never an error."""

from __future__ import annotations

import sys

import atheris
from oracle import hostile, instrumenting

atheris.enabled_hooks.add("str")  # guide inputs by str.startswith and endswith
with instrumenting("gitblobts.core.naming"):
    from gitblobts.core import naming
    from gitblobts.core.timestamps import MAX_NS, MIN_NS

NAMES = [
    b"20231114T221320.123456789Z_k5vq2xw7m3a4b6c7d2e3f4g5h6.v2",
    b"20231114T221320.123456789Z_k5vq2xw7m3a4b6c7d2e3f4g5h6.v2.zst",
    b"00010101T000000.000000000Z_aaaaaaaaaaaaaaaaaaaaaaaaaa.v2.gz.aes256gcm",
    b"99991231T235959.999999999Z_77777777777777777777777777.v2.xz.fernet",
]


def test_one_input(data: bytes) -> None:
    filename = hostile(data, NAMES).decode("utf-8", "surrogateescape")
    name = naming.parse(filename)
    if name is not None:
        assert MIN_NS <= name.timestamp_ns <= MAX_NS
        assert name.identity.isascii()
        assert naming.parse(str(name)) == name


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
