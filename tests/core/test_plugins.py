"""Plugins: loading, registration, and taking part in the pipeline."""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Generator
from pathlib import Path

import pytest

import gitblobts
from gitblobts import ArgumentTypeError, PluginError, Store, UnknownPluginError, load_plugins
from gitblobts.core.codec import Codec
from gitblobts.core.pipeline import BlobContext, Committed
from gitblobts.core.plugins import PLUGINS_ENV, default_plugins

BUILTIN_PLUGINS = {"codecs", "ciphers", "layouts", "dulwich", "git", "pendulum"}


class DeflateCodec(Codec):
    """A third-party codec: raw zlib."""

    name = "deflate"
    extension = "zz"

    def encode(self, data: bytes) -> bytes:
        return zlib.compress(data)

    def decode(self, data: bytes, *, max_size: int) -> bytes:
        return zlib.decompress(data)


class DeflatePlugin:
    @gitblobts.hookimpl
    def gitblobts_register_codecs(self, register: Callable[[type[Codec]], None]) -> None:
        register(DeflateCodec)


def test_built_in_plugins_load_from_the_entry_point_group() -> None:
    plugins = load_plugins(only=())
    assert set(plugins.plugin_names()) == BUILTIN_PLUGINS
    assert plugins.codecs.names() == ["none", "gzip", "bz2", "lzma", "zstd"]
    assert set(plugins.ciphers.names()) == {"aes256gcm", "fernet"}
    assert plugins.layouts.names() == ["flat", "hourly", "20-second", "v1"]
    assert "dulwich" in plugins.backends.names()
    assert plugins.provided_by("codecs") == {"codec": ["none", "gzip", "bz2", "lzma", "zstd"]}


def test_the_environment_variable_limits_third_party_plugins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(PLUGINS_ENV, "")
    assert set(default_plugins().plugin_names()) == BUILTIN_PLUGINS


def test_asking_for_a_plugin_that_is_not_installed_names_the_installed_ones() -> None:
    with pytest.raises(UnknownPluginError, match="no plugin named 'missing'"):
        load_plugins(only=["missing"])


def test_a_third_party_codec_is_used_and_named_in_its_files(repo: Path) -> None:
    plugins = load_plugins(only=(), extra=[DeflatePlugin()])
    store = Store(repo, compression="deflate", plugins=plugins)
    ref = store.addblob(b"deflated" * 100)

    assert ref.path.endswith(".v2.zz")
    assert [b.blob for b in store.getblobs()] == [b"deflated" * 100]


def test_two_plugins_may_not_provide_the_same_name() -> None:
    class OtherDeflate(DeflateCodec):
        extension = "zz2"

    class Again:
        @gitblobts.hookimpl
        def gitblobts_register_codecs(self, register: Callable[[type[Codec]], None]) -> None:
            register(OtherDeflate)

    with pytest.raises(PluginError, match="'deflate' is provided by both"):
        load_plugins(only=(), extra=[DeflatePlugin(), Again()])


def test_a_plugin_must_register_classes_of_the_right_kind() -> None:
    class Wrong:
        @gitblobts.hookimpl
        def gitblobts_register_codecs(self, register: Callable[[type], None]) -> None:
            register(str)

    with pytest.raises(PluginError, match="not a subclass"):
        load_plugins(only=(), extra=[Wrong()])


def test_a_wrapper_observes_a_stage(repo: Path) -> None:
    sizes: list[tuple[int, int]] = []

    class Observer:
        @gitblobts.hookimpl(wrapper=True)
        def gitblobts_compress(
            self, blob: BlobContext, data: bytes
        ) -> Generator[None, bytes, bytes]:
            compressed = yield
            sizes.append((len(data), len(compressed)))
            return compressed

    store = Store(repo, compression="gzip", plugins=load_plugins(only=(), extra=[Observer()]))
    store.addblob(b"a" * 1000)

    assert len(sizes) == 1
    assert sizes[0][0] == 1000
    assert sizes[0][1] < 100
    assert [b.blob for b in store.getblobs()] == [b"a" * 1000]


@pytest.mark.parametrize("stage", ["gitblobts_decrypt", "gitblobts_decompress", "gitblobts_decode"])
def test_a_read_stage_wrapper_sees_every_blob_of_every_read(repo: Path, stage: str) -> None:
    seen: list[str] = []

    def observe(self: object, blob: BlobContext, data: bytes) -> Generator[None, bytes, bytes]:
        result = yield
        seen.append(blob.path)
        return result

    observer = type("Observer", (), {stage: gitblobts.hookimpl(wrapper=True)(observe)})()
    Store(repo).addblobs([b"a", b"b", b"c"])
    store = Store(repo, plugins=load_plugins(only=(), extra=[observer]))

    first = [blob.blob for blob in store.getblobs()]
    second = [blob.path for blob in store.getblobs()]

    assert first == [b"a", b"b", b"c"]
    assert seen == second + second


def test_a_plugin_cannot_take_a_stage_over(repo: Path) -> None:
    class Upper:
        @gitblobts.hookimpl
        def gitblobts_encode(self, blob: BlobContext, data: bytes) -> bytes:
            return data.upper()

    store = Store(repo, plugins=load_plugins(only=(), extra=[Upper()]))
    with pytest.raises(PluginError, match="the encode stage's result was changed"):
        store.addblob(b"shout")

    assert list(store.getblobs()) == []


def test_a_commit_listener_hears_of_each_batch(repo: Path) -> None:
    commits: list[Committed] = []

    class Listener:
        @gitblobts.hookimpl
        def gitblobts_committed(self, commit: Committed) -> None:
            commits.append(commit)

    store = Store(repo, plugins=load_plugins(only=(), extra=[Listener()]))
    store.addblobs([b"a", b"b"])
    store.addblob(b"c")

    assert [len(commit.paths) for commit in commits] == [2, 1]


@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        ({"only": 5}, "only is int"),
        ({"only": "zstd"}, "only is str"),
        ({"only": [5]}, "only holds 5 (int)"),
        ({"extra": 5}, "extra is int"),
    ],
)
def test_load_plugins_refuses_arguments_of_a_wrong_type(
    arguments: dict[str, object], said: str
) -> None:
    with pytest.raises(ArgumentTypeError, match=re.escape(said)):
        load_plugins(**arguments)  # type: ignore[arg-type]


def test_a_layout_author_finds_the_time_helpers_in_the_layout_module() -> None:
    from gitblobts.core import layout, timestamps

    assert (layout.MIN_NS, layout.MAX_NS) == (timestamps.MIN_NS, timestamps.MAX_NS)
    assert layout.utc_fields(layout.MAX_NS) == (9999, 12, 31, 23, 59, 59, 999_999_999)
    assert layout.from_utc_fields(1, 1, 1, 0, 0, 0, 0) == layout.MIN_NS
    assert set(layout.__all__) >= {"Layout", "FolderLister", "utc_fields", "MIN_NS", "MAX_NS"}
