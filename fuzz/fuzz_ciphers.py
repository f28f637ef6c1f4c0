"""Fuzz the built-in ciphers' decryption: a plaintext that was encrypted, or
``DecryptionFailed`` (their contract). The first byte picks the cipher."""

from __future__ import annotations

import os
import sys

import atheris
from oracle import hostile, instrumenting, returns_or_raises

atheris.enabled_hooks.add("str")  # guide inputs by str.startswith and endswith
with instrumenting("gitblobts.plugins.ciphers"):
    from gitblobts.core.cipher import DecryptionFailed
    from gitblobts.core.plugins import load_plugins

    PLUGINS = load_plugins(only=())  # imports (and instruments) the plugins

RAW_KEY = os.urandom(32)
CONTEXT = b"20231114T221320.123456789Z_k5vq2xw7m3a4b6c7d2e3f4g5h6"
CIPHERS = [PLUGINS.ciphers.get(name)(RAW_KEY) for name in PLUGINS.ciphers.names()]
PLAINTEXTS = [b"", b"a secret blob", os.urandom(100)]
TOKENS = [[cipher.encrypt(text, CONTEXT) for text in PLAINTEXTS] for cipher in CIPHERS]


def test_one_input(data: bytes) -> None:
    if not data:
        return
    which = data[0] % len(CIPHERS)
    token = hostile(data[1:], TOKENS[which])
    plaintext = returns_or_raises(lambda: CIPHERS[which].decrypt(token, CONTEXT), DecryptionFailed)
    assert isinstance(plaintext, DecryptionFailed) or plaintext in PLAINTEXTS


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
