"""The built-in plugins pass the conformance kit that third-party plugins run."""

from __future__ import annotations

import pytest

from gitblobts import load_plugins
from gitblobts.testing import (
    BackendContract,
    CipherContract,
    CodecContract,
    LayoutContract,
    TimeParserContract,
)

PLUGINS = load_plugins(only=())
HAS_GIT_BACKEND = "git" in PLUGINS.backends


class TestNoneCodec(CodecContract):
    codec_class = PLUGINS.codecs.get("none")
    detects_truncation = False


class TestGzipCodec(CodecContract):
    codec_class = PLUGINS.codecs.get("gzip")


class TestBz2Codec(CodecContract):
    codec_class = PLUGINS.codecs.get("bz2")


class TestLzmaCodec(CodecContract):
    codec_class = PLUGINS.codecs.get("lzma")


class TestZstdCodec(CodecContract):
    codec_class = PLUGINS.codecs.get("zstd")


class TestAes256GcmCipher(CipherContract):
    cipher_class = PLUGINS.ciphers.get("aes256gcm")


class TestFernetCipher(CipherContract):
    cipher_class = PLUGINS.ciphers.get("fernet")
    binds_context = False  # fernet has no associated data
    tamper_tolerant_tail_bytes = 3  # up to two "=" and the unused low bits of the character before


class TestFlatLayout(LayoutContract):
    layout_class = PLUGINS.layouts.get("flat")


class TestHourlyLayout(LayoutContract):
    layout_class = PLUGINS.layouts.get("hourly")
    sorts_by_name = True


class Test20SecondLayout(LayoutContract):
    layout_class = PLUGINS.layouts.get("20-second")
    sorts_by_name = True


class TestV1Layout(LayoutContract):
    layout_class = PLUGINS.layouts.get("v1")


class TestDulwichBackend(BackendContract):
    backend_class = PLUGINS.backends.get("dulwich")


@pytest.mark.skipif(not HAS_GIT_BACKEND, reason="the git backend is not registered yet")
class TestGitBackend(BackendContract):
    backend_class = PLUGINS.backends.get("git" if HAS_GIT_BACKEND else "dulwich")


class TestPendulumTimeParser(TimeParserContract):
    parser_class = PLUGINS.time_parsers.get("pendulum")
