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


# 20-second: the default for new stores

DAY = 24 * HOUR
MAX_ENTRIES = 3_000
"""GitHub's recommended most entries in one folder."""


def runs(chosen: Layout, start: int, step: int, count: int) -> list[tuple[str, int, int]]:
    """``(folder, first, end)`` for each run of the times ``start + i * step``, ``0 <= i <
    count``, that ``chosen.folder()`` places in one folder (times ``first`` to ``end - 1``).
    Folders partition time into consecutive intervals, so each run's end is found by a
    galloping search: a few calls per folder instead of one per time."""

    def folder(index: int) -> str:
        return chosen.folder(start + index * step)

    found: list[tuple[str, int, int]] = []
    first = 0
    while first < count:
        name = folder(first)
        same, width = first, 1
        while same + width < count and folder(same + width) == name:
            same, width = same + width, width * 2
        other = min(same + width, count)
        while other - same > 1:
            middle = (same + other) // 2
            same, other = (middle, other) if folder(middle) == name else (same, middle)
        found.append((name, first, other))
        first = other
    assert len({name for name, _, _ in found}) == len(found), "a folder's times are not consecutive"
    return found


def widths(placed: list[tuple[str, int, int]]) -> dict[str, int]:
    """Entries in every folder, at every level, of a tree holding the blobs of ``placed``."""
    entries = {folder: end - first for folder, first, end in placed}
    children: dict[str, set[str]] = {}
    for folder in entries:
        parts = folder.split("/")
        for depth in range(len(parts)):
            children.setdefault("/".join(parts[:depth]), set()).add(parts[depth])
    return {**{parent: len(names) for parent, names in children.items()}, **entries}


def widest_at(name: str, per_second: float) -> int:
    """The most entries in any folder of ``name`` after a day of ``per_second`` blobs."""
    start = from_utc_fields(2026, 12, 3, 0, 0, 0, 0)
    step = round(10**9 / per_second)
    return max(widths(runs(layout(name), start, step, DAY // step)).values())


def test_20_second_places_blobs_in_20_second_folders_of_their_utc_hour() -> None:
    twenty = layout("20-second")
    assert twenty.folder(from_utc_fields(2026, 12, 3, 1, 40, 0, 0)) == "2026/12/03/01/4000"
    assert twenty.folder(from_utc_fields(2026, 12, 3, 1, 40, 19, 999_999_999)) == (
        "2026/12/03/01/4000"
    )
    assert twenty.folder(from_utc_fields(2026, 12, 3, 1, 40, 20, 0)) == "2026/12/03/01/4020"
    assert twenty.path(from_utc_fields(2026, 12, 3, 23, 59, 59, 0), "f") == ("2026/12/03/23/5940/f")
    assert twenty.folder(MIN_NS) == "0001/01/01/00/0000"
    assert twenty.folder(MAX_NS) == "9999/12/31/23/5940"


def test_a_day_at_100_blobs_a_second_keeps_every_20_second_folder_within_3000_entries() -> None:
    start = from_utc_fields(2026, 12, 3, 0, 0, 0, 0)
    step = 10**9 // 100

    placed = runs(layout("20-second"), start, step, DAY // step)
    entries = widths(placed)

    assert sum(end - first for _, first, end in placed) == 8_640_000
    assert max(entries.values()) <= MAX_ENTRIES
    assert {end - first for _, first, end in placed} == {2_000}  # each 20-second folder
    assert entries["2026/12/03/00"] == 180
    assert entries["2026/12/03"] == 24


def test_the_documented_rates_are_the_most_that_stay_within_3000_entries() -> None:
    assert widest_at("20-second", 150) == MAX_ENTRIES
    assert widest_at("20-second", 151) > MAX_ENTRIES
    assert widest_at("hourly", 3_000 / 3_600) == MAX_ENTRIES  # 0.83 blobs a second
    assert widest_at("hourly", 3_001 / 3_600) > MAX_ENTRIES


def one_hour_query(start: int) -> tuple[list[str], list[str], list[str], RecordingTree]:
    """The folders a one-hour query from ``start`` yields (ascending and descending) in a tree
    of a day at 100 blobs a second, the folders holding the blobs of that hour, and the tree
    (which records what the ascending query listed)."""
    twenty = layout("20-second")
    day = from_utc_fields(2026, 12, 3, 0, 0, 0, 0)
    step = 10**9 // 100
    placed = runs(twenty, day, step, DAY // step)
    first, last = (start - day) // step, (start + HOUR - 1 - day) // step
    holding = [folder for folder, begin, end in placed if begin <= last and first < end]
    folders = [folder for folder, _, _ in placed]
    tree = RecordingTree(folders)
    ascending = list(twenty.folders(tree, start, start + HOUR - 1))
    backwards = twenty.folders(RecordingTree(folders), start, start + HOUR - 1, descending=True)
    descending = list(backwards)
    return ascending, descending, holding, tree


def test_a_one_hour_query_reads_only_the_20_second_folders_of_that_hour() -> None:
    ascending, descending, holding, tree = one_hour_query(from_utc_fields(2026, 12, 3, 10, 0, 0, 0))

    assert ascending == holding
    assert len(ascending) == 180
    assert descending == holding[::-1]
    assert tree.listed == ["", "2026", "2026/12", "2026/12/03", "2026/12/03/10"]


def test_a_one_hour_query_from_inside_a_20_second_folder_reads_it_and_the_next_hours_first() -> (
    None
):
    ascending, descending, holding, tree = one_hour_query(
        from_utc_fields(2026, 12, 3, 10, 0, 10, 0)
    )

    assert ascending == holding
    assert (len(ascending), ascending[0], ascending[-1]) == (
        181,
        "2026/12/03/10/0000",
        "2026/12/03/11/0000",
    )
    assert descending == holding[::-1]
    assert tree.listed == ["", "2026", "2026/12", "2026/12/03", "2026/12/03/10", "2026/12/03/11"]


def test_20_second_passes_over_names_it_could_not_have_made() -> None:
    hour = "2026/12/03/10"
    ours = [f"{hour}/0000", f"{hour}/5940"]
    others = ["0010", "0030", "6000", "0060", "000", "00000", "12ab", "٠٠٠٠"]
    tree = RecordingTree([*ours, *(f"{hour}/{name}" for name in others), "2026/12/3/10/0000"])

    assert list(layout("20-second").folders(tree, MIN_NS, MAX_NS)) == ours
