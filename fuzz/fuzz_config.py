"""Fuzz the reader of the store configuration, ``.gitblobts.json``: a configuration, or
:class:`~gitblobts.ConfigError`; and checking a key against it never fails."""

from __future__ import annotations

import os
import sys

import atheris
from oracle import hostile, instrumenting, returns_or_raises

atheris.enabled_hooks.add("str")  # guide inputs by str.startswith and endswith
with instrumenting("gitblobts.core.config", "gitblobts.core.keys"):
    from gitblobts.core import keys
    from gitblobts.core.config import StoreConfig
    from gitblobts.core.errors import ConfigError

RAW_KEY = os.urandom(32)
CONFIGS = [
    StoreConfig("hourly", "zstd", "aes256gcm", keys.key_check(RAW_KEY)).to_bytes(),
    StoreConfig("flat", "none").to_bytes(),
]


def test_one_input(data: bytes) -> None:
    config = returns_or_raises(lambda: StoreConfig.from_bytes(hostile(data, CONFIGS)), ConfigError)
    if isinstance(config, StoreConfig):
        assert StoreConfig.from_bytes(config.to_bytes()) == config
        if config.key_check is not None:
            assert isinstance(keys.matches(RAW_KEY, config.key_check), bool)


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
