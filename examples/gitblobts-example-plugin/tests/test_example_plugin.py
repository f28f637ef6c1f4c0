"""The example plugin passes gitblobts' conformance kit and works in a real store."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from gitblobts_example import DailyLayout, DeflateRawCodec

import gitblobts
from gitblobts.core.timestamps import NS_PER_SECOND
from gitblobts.testing import CodecContract, LayoutContract


class TestDeflateRawCodec(CodecContract):
    codec_class = DeflateRawCodec


class TestDailyLayout(LayoutContract):
    layout_class = DailyLayout
    sorts_by_name = True  # YYYY/MM/DD: fixed width, so names sort as time does


def test_load_plugins_finds_the_plugin_through_its_entry_point() -> None:
    plugins = gitblobts.load_plugins()
    assert "example" in plugins.plugin_names()
    assert plugins.provided_by("example") == {"codec": ["deflate-raw"], "layout": ["daily"]}


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A new non-bare git repository, with the machine's git configuration kept out."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / ".gitconfig"))
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "Example")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "example@example.com")
    subprocess.run(["git", "init", "--quiet", str(tmp_path / "repo")], check=True)
    return tmp_path / "repo"


def test_a_store_using_the_plugin_round_trips_blobs(repo: Path) -> None:
    plugins = gitblobts.load_plugins(only=["example"])
    store = gitblobts.Store(repo, compression="deflate-raw", layout="daily", plugins=plugins)
    day = 1_795_000_000 * NS_PER_SECOND  # 2026-11-18T07:46:40Z
    refs = store.addblobs(
        [b"first" * 100, b"second"],
        timestamps=[gitblobts.Nanoseconds(day), gitblobts.Nanoseconds(day + NS_PER_SECOND)],
    )

    assert [ref.path.rsplit("/", 1)[0] for ref in refs] == ["2026/11/18", "2026/11/18"]
    assert all(ref.path.endswith(".v2.deflate") for ref in refs)
    reopened = gitblobts.Store(repo, plugins=plugins)
    assert [blob.blob for blob in reopened.getblobs()] == [b"first" * 100, b"second"]
