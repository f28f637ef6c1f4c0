"""Fuzz the reader of encryption keys: 32 bytes, or :class:`~gitblobts.InvalidKeyError`."""

from __future__ import annotations

import sys

import atheris
from oracle import hostile, instrumenting, returns_or_raises

atheris.enabled_hooks.add("str")  # guide inputs by str.startswith and endswith
with instrumenting("gitblobts.core.keys"):
    from gitblobts.core import keys
    from gitblobts.core.errors import InvalidKeyError

KEYS = [keys.generate_key(), keys.generate_key() + b"\n"]


def test_one_input(data: bytes) -> None:
    key = hostile(data, KEYS)
    for form in (key, key.decode("utf-8", "surrogateescape")):
        raw = returns_or_raises(lambda form=form: keys.decode_key(form), InvalidKeyError)
        assert isinstance(raw, InvalidKeyError) or len(raw) == keys.KEY_BYTES


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
