"""Name formats as a strategy: every registered format names, parses and owns its files
alike, a store's settings carry the format its layout holds, and a new format plugs into
the store's read and write paths without a change to them."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import pytest

from gitblobts import Nanoseconds, Store
from gitblobts.core import naming
from gitblobts.core.formats import NameFormat, registry, time, v1
from gitblobts.core.hookspecs import hookimpl
from gitblobts.core.layout import Layout
from gitblobts.core.naming import BlobName, Tail
from gitblobts.core.plugins import load_plugins
from gitblobts.plugins.layouts import FlatLayout

TIME_NS = 1_700_000_000_123_456_789


@pytest.mark.parametrize("names", registry.FORMATS, ids=lambda names: names.title)
def test_a_new_name_parses_back_to_its_time_and_identity(names: NameFormat) -> None:
    name = names.new_name(TIME_NS, ())
    parsed = names.parse(str(name))
    assert parsed is not None
    assert parsed.timestamp_ns == TIME_NS
    assert parsed.identity == name.identity
    assert parsed.version == names.version


@pytest.mark.parametrize("names", registry.FORMATS, ids=lambda names: names.title)
def test_a_format_owns_the_paths_of_its_names_and_the_registry_parses_them(
    names: NameFormat,
) -> None:
    filename = str(names.new_name(TIME_NS, ()))
    assert names.owns(f"2023/11/14/22/{filename}")
    assert registry.is_blob_path(filename)
    parsed = registry.parse(filename)
    assert parsed is not None
    assert parsed.timestamp_ns == TIME_NS


def test_the_registry_parses_no_other_file_name() -> None:
    assert registry.parse("README.md") is None
    assert not registry.is_blob_path("notes/README.md")


def test_only_the_names_of_a_format_that_records_nothing_are_migrated_away() -> None:
    assert registry.is_unrecorded_path(str(v1.NAMES.new_name(TIME_NS, ())))
    assert not registry.is_unrecorded_path(str(time.NAMES.new_name(TIME_NS, ())))


def test_float_seconds_convert_as_the_format_says() -> None:
    assert time.NAMES.seconds_to_ns(1.5) is None  # the default conversion
    assert v1.NAMES.seconds_to_ns(1700000000.123456) == round(1700000000.123456 * 1e9)


def test_a_new_store_carries_the_time_names(repo: Path) -> None:
    store = Store(repo)
    assert store._state.settings.names is time.NAMES


# A third format, as a later issue adds one: names of version 3, in a store that records its
# configuration.
THIRD = 3


class ThirdNames(time.TimeNames):
    version = THIRD
    title = "a test format (format 3)"

    def parse(self, filename: str) -> BlobName | None:
        parts = self.parse_parts(filename)
        return None if parts is None else self.from_parts(filename, *parts)

    def parse_parts(self, filename: str) -> tuple[int, Tail] | None:
        parts = naming.parse_parts(filename)
        return parts if parts is not None and parts[1][0] == THIRD else None

    def new_name(self, timestamp_ns: int, suffixes: tuple[str, ...]) -> BlobName:
        name = naming.new_name(timestamp_ns, suffixes)
        return dataclasses.replace(name, version=THIRD)

    def owns(self, path: str) -> bool:
        return self.parse_parts(path.rpartition("/")[2]) is not None


class ThirdLayout(FlatLayout):
    name = "third"
    name_format = THIRD


class _ThirdLayoutPlugin:
    @hookimpl
    def gitblobts_register_layouts(self, register: Callable[[type[Layout]], None]) -> None:
        register(ThirdLayout)


def test_a_new_format_reads_and_writes_through_the_store_unchanged(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registry, "FORMATS", (*registry.FORMATS, ThirdNames()))
    plugins = load_plugins(only=(), extra=[_ThirdLayoutPlugin()])
    store = Store(repo, layout="third", plugins=plugins)
    refs = store.addblobs(
        [b"one", b"two"], timestamps=[Nanoseconds(TIME_NS), Nanoseconds(TIME_NS + 1)]
    )

    assert all(ThirdNames().owns(ref.path) for ref in refs)
    reopened = Store(repo, plugins=plugins)
    assert isinstance(reopened._state.settings.names, ThirdNames)
    assert [blob.blob for blob in reopened.getblobs()] == [b"one", b"two"]
    assert reopened.verify().ok
