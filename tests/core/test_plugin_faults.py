"""Errors say who is at fault: damaged data, a plugin's bug, or a plugin not installed."""

from __future__ import annotations

import warnings
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

import gitblobts
from gitblobts import (
    ConfigError,
    CorruptBlobError,
    PluginError,
    PluginMissingWarning,
    Store,
    UnknownPluginError,
    generate_key,
    load_plugins,
)
from gitblobts.core.cipher import Cipher, DecryptionFailed
from gitblobts.core.codec import Codec
from gitblobts.core.pipeline import BlobContext
from gitblobts.core.plugins import Plugins
from gitblobts.core.timestamps import TimeParser
from tests.helpers.git import git


class DeflateCodec(Codec):
    """A third-party codec that keeps its contract."""

    name = "deflate"
    extension = "zz"

    def encode(self, data: bytes) -> bytes:
        return zlib.compress(data)

    def decode(self, data: bytes, *, max_size: int) -> bytes:
        try:
            return zlib.decompress(data)
        except zlib.error as error:
            raise ValueError(f"not zlib data: {error}") from None


class BuggyDeflateCodec(DeflateCodec):
    """The same codec with a bug: its decode raises what its contract does not allow."""

    def decode(self, data: bytes, *, max_size: int) -> bytes:
        raise RuntimeError("bug in decode")


class XorCipher(Cipher):
    """A third-party (toy) cipher that keeps its contract."""

    name = "xor"

    def __init__(self, key: bytes) -> None:
        self._byte = key[0] or 1

    def encrypt(self, data: bytes, context: bytes) -> bytes:
        return b"X" + bytes(b ^ self._byte for b in data)

    def decrypt(self, data: bytes, context: bytes) -> bytes:
        if not data.startswith(b"X"):
            raise DecryptionFailed("not an xor file")
        return bytes(b ^ self._byte for b in data[1:])


class BuggyXorCipher(XorCipher):
    def decrypt(self, data: bytes, context: bytes) -> bytes:
        raise KeyError("bug in decrypt")


def plugins_with(*classes: type[Codec] | type[Cipher]) -> Plugins:
    """The built-in plugins and one more, which provides ``classes``."""

    class Provider:
        @gitblobts.hookimpl
        def gitblobts_register_codecs(self, register: Callable[[type[Codec]], None]) -> None:
            for cls in classes:
                if issubclass(cls, Codec):
                    register(cls)

        @gitblobts.hookimpl
        def gitblobts_register_ciphers(self, register: Callable[[type[Cipher]], None]) -> None:
            for cls in classes:
                if issubclass(cls, Cipher):
                    register(cls)

    return load_plugins(only=(), extra=[Provider()])


KEY = generate_key()


def test_a_codec_that_raises_outside_its_contract_is_a_plugin_error_naming_it(
    repo: Path,
) -> None:
    ref = Store(repo, compression="deflate", plugins=plugins_with(DeflateCodec)).addblob(b"x")

    store = Store(repo, plugins=plugins_with(BuggyDeflateCodec))
    with pytest.raises(PluginError) as raised:
        list(store.getblobs())

    assert not isinstance(raised.value, CorruptBlobError)
    assert ref.path in str(raised.value)
    assert "codec 'deflate'" in str(raised.value)
    assert "BuggyDeflateCodec" in str(raised.value)
    assert isinstance(raised.value.__cause__, RuntimeError)


def test_a_cipher_that_raises_outside_its_contract_is_a_plugin_error_naming_it(
    repo: Path,
) -> None:
    Store(repo, cipher="xor", key=KEY, plugins=plugins_with(XorCipher)).addblob(b"x")

    store = Store(repo, key=KEY, plugins=plugins_with(BuggyXorCipher))
    with pytest.raises(PluginError, match="cipher 'xor'") as raised:
        list(store.getblobs())

    assert not isinstance(raised.value, CorruptBlobError)
    assert isinstance(raised.value.__cause__, KeyError)


def test_a_read_stage_hook_that_raises_is_a_plugin_error_naming_the_stage(repo: Path) -> None:
    class Failing:
        @gitblobts.hookimpl
        def gitblobts_decompress(self, blob: BlobContext, data: bytes) -> bytes:
            raise RuntimeError("bug in a hook")

    Store(repo, compression="gzip").addblob(b"x")

    store = Store(repo, plugins=load_plugins(only=(), extra=[Failing()]))
    with pytest.raises(PluginError, match="plugin's decompress stage hook") as raised:
        list(store.getblobs())
    assert isinstance(raised.value.__cause__, RuntimeError)


def test_a_file_name_with_two_codec_extensions_is_corrupt_not_a_missing_plugin(repo: Path) -> None:
    store = Store(repo, compression="gzip", layout="flat")
    ref = store.addblob(b"x")
    renamed = ref.path + ".zst"
    git(repo, "mv", ref.path, renamed)
    git(repo, "commit", "-qm", "rename")

    with pytest.raises(CorruptBlobError, match="unrecognised file suffixes"):
        list(Store(repo).getblobs())


def test_verify_raises_a_plugins_bug_rather_than_blaming_the_store(repo: Path) -> None:
    Store(repo, compression="deflate", plugins=plugins_with(DeflateCodec)).addblob(b"x")

    with pytest.raises(PluginError, match="BuggyDeflateCodec"):
        Store(repo, plugins=plugins_with(BuggyDeflateCodec)).verify()


def test_a_damaged_file_is_still_a_corrupt_blob_error(repo: Path) -> None:
    store = Store(repo, compression="deflate", plugins=plugins_with(DeflateCodec), layout="flat")
    ref = store.addblob(b"x" * 100)
    (repo / ref.path).write_bytes(b"not zlib at all")
    git(repo, "commit", "-qam", "damage")

    with pytest.raises(CorruptBlobError, match="not zlib data") as raised:
        list(store.getblobs())
    assert raised.value.path == ref.path


def test_a_file_whose_codec_is_not_installed_names_file_extension_and_codecs(
    repo: Path,
) -> None:
    ref = Store(repo, compression="deflate", plugins=plugins_with(DeflateCodec)).addblob(b"x")

    with pytest.warns(PluginMissingWarning):
        store = Store(repo, plugins=load_plugins(only=()))
    with pytest.raises(UnknownPluginError) as raised:
        list(store.getblobs())

    error = raised.value
    assert (error.kind, error.name, error.path) == ("codec", "zz", ref.path)
    assert "zstd" in error.available
    assert str(error).startswith(f"{ref.path}: reading it needs the codec of extension 'zz'")
    assert "installed codecs: 'bz2', 'gzip', 'lzma', 'none', 'zstd'" in str(error)


def test_a_file_whose_cipher_is_not_installed_names_file_cipher_and_ciphers(
    repo: Path,
) -> None:
    ref = Store(repo, cipher="xor", key=KEY, plugins=plugins_with(XorCipher)).addblob(b"x")

    with pytest.warns(PluginMissingWarning):
        store = Store(repo, key=KEY, plugins=load_plugins(only=()))
    with pytest.raises(UnknownPluginError) as raised:
        list(store.getblobs())

    error = raised.value
    assert (error.kind, error.name, error.path) == ("cipher", "xor", ref.path)
    assert "cipher 'xor', which is not installed" in str(error)
    assert "installed ciphers: 'aes256gcm', 'fernet'" in str(error)


def test_verify_reports_a_file_whose_codec_is_not_installed(repo: Path) -> None:
    ref = Store(repo, compression="deflate", plugins=plugins_with(DeflateCodec)).addblob(b"x")

    with pytest.warns(PluginMissingWarning):
        report = Store(repo, plugins=load_plugins(only=())).verify()

    assert [p.path for p in report.problems] == [ref.path]
    assert "the codec of extension 'zz'" in report.problems[0].reason


def test_opening_a_store_whose_codec_is_not_installed_says_so(repo: Path) -> None:
    Store(repo, compression="deflate", plugins=plugins_with(DeflateCodec)).addblob(b"x")

    with pytest.warns(PluginMissingWarning, match="records codec 'deflate', which is not"):
        store = Store(repo, plugins=load_plugins(only=()))

    assert "adds refused: codec 'deflate' is not installed" in repr(store)
    with pytest.raises(ConfigError, match="'deflate'"):
        store.addblob(b"y")


def test_a_store_whose_codec_is_not_installed_reads_files_of_installed_codecs(
    repo: Path,
) -> None:
    Store(repo, compression="deflate", plugins=plugins_with(DeflateCodec)).addblob(b"x", 1)
    Store(repo, compression="gzip", plugins=plugins_with(DeflateCodec)).addblob(b"y", 2)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PluginMissingWarning)
        store = Store(repo, plugins=load_plugins(only=()))

    assert [b.blob for b in store.getblobs(2, 2)] == [b"y"]


def test_a_store_whose_codec_is_installed_opens_without_a_warning(repo: Path) -> None:
    Store(repo, compression="deflate", plugins=plugins_with(DeflateCodec)).addblob(b"x")

    with warnings.catch_warnings():
        warnings.simplefilter("error", PluginMissingWarning)
        store = Store(repo, plugins=plugins_with(DeflateCodec))

    assert "adds refused" not in repr(store)


def test_a_time_parser_that_raises_is_a_plugin_error_naming_it(repo: Path) -> None:
    class BuggyParser(TimeParser):
        name = "buggy"

        def parse(self, text: str, now_ns: int) -> int | None:
            raise IndexError("bug in parse")

    class Provider:
        @gitblobts.hookimpl
        def gitblobts_register_time_parsers(
            self, register: Callable[[type[TimeParser]], None]
        ) -> None:
            register(BuggyParser)

    store = Store(repo, plugins=load_plugins(only=(), extra=[Provider()]))
    with pytest.raises(PluginError, match="time parser 'buggy'") as raised:
        store.addblob(b"x", "not a time any parser knows")
    assert isinstance(raised.value.__cause__, IndexError)
