"""Layouts: where a blob's file goes, and which folders a range query reads."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gitblobts import load_plugins
from gitblobts.core.layout import Layout
from gitblobts.core.timestamps import MAX_NS, MIN_NS, from_utc_fields

HOUR = 3600 * 10**9


class RecordingTree:
    """A folder tree given as paths, recording which folders a layout lists."""

    def __init__(self, folders: list[str]) -> None:
        self.children: dict[str, set[str]] = {}
        for folder in folders:
            parts = folder.split("/")
            for depth in range(len(parts)):
                parent = "/".join(parts[:depth])
                self.children.setdefault(parent, set()).add(parts[depth])
        self.listed: list[str] = []

    def subfolders(self, folder: str) -> list[str]:
        self.listed.append(folder)
        return sorted(self.children.get(folder, ()))


PLUGINS = load_plugins(only=())


def layout(name: str) -> Layout:
    return PLUGINS.layouts.get(name)()


def test_hourly_places_blobs_in_utc_hour_folders() -> None:
    ns = from_utc_fields(2026, 11, 24, 6, 15, 0, 123)
    assert layout("hourly").folder(ns) == "2026/11/24/06"
    assert layout("hourly").path(ns, "f") == "2026/11/24/06/f"


def test_flat_places_every_blob_in_the_root() -> None:
    assert layout("flat").folder(12345) == ""
    assert layout("flat").path(12345, "f") == "f"


def test_hourly_reads_only_folders_that_overlap_the_range() -> None:
    hours = [
        f"2025/{m:02d}/{d:02d}/{h:02d}" for m in (1, 6, 12) for d in (1, 15) for h in (0, 12, 23)
    ]
    tree = RecordingTree([*hours, "2024/01/01/00", "2026/01/01/00", "docs/misc"])
    start = from_utc_fields(2025, 6, 15, 12, 0, 0, 0)

    folders = list(layout("hourly").folders(tree, start, start + HOUR - 1))

    assert folders == ["2025/06/15/12"]
    assert tree.listed == ["", "2025", "2025/06", "2025/06/15"]


def test_hourly_lists_folders_in_time_order_both_ways() -> None:
    hours = ["2025/01/01/00", "2024/12/31/23", "2025/01/01/01", "1999/05/05/05"]
    tree = RecordingTree(hours)
    ascending = list(layout("hourly").folders(tree, MIN_NS, MAX_NS))
    descending = list(layout("hourly").folders(tree, MIN_NS, MAX_NS, descending=True))

    assert ascending == sorted(hours)
    assert descending == sorted(hours, reverse=True)


@given(st.integers(MIN_NS, MAX_NS), st.integers(0, 1000 * HOUR))
def test_the_folder_of_any_time_in_a_range_is_listed(start: int, span: int) -> None:
    hourly = layout("hourly")
    inside = min(start + span // 2, MAX_NS)
    tree = RecordingTree([hourly.folder(inside), hourly.folder(start)])
    assert hourly.folder(inside) in list(hourly.folders(tree, start, min(start + span, MAX_NS)))
