"""The layout contract, as tests: see :mod:`gitblobts.core.layout`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gitblobts.core.layout import Layout
from gitblobts.core.timestamps import MAX_NS, MIN_NS, NS_PER_SECOND
from gitblobts.testing._shared import NAME, examples

_DAY_NS = 86_400 * NS_PER_SECOND
_NEAR_NS = 1_795_000_000 * NS_PER_SECOND  # 2026-11-18

times = st.one_of(
    st.integers(MIN_NS, MAX_NS),
    st.integers(_NEAR_NS - 40 * _DAY_NS, _NEAR_NS + 40 * _DAY_NS),
    st.sampled_from([MIN_NS, MAX_NS]),
)
"""Blob times: anywhere in the supported years, and often close together."""


class Tree:
    """A folder structure made of the folders of some blob times; it records what is listed."""

    def __init__(self, folders: Iterable[str]) -> None:
        self.folders = set(folders)
        self.children: dict[str, set[str]] = {"": set()}
        for folder in self.folders:
            parts = folder.split("/") if folder else []
            for depth, name in enumerate(parts):
                parent = "/".join(parts[:depth])
                self.children.setdefault(parent, set()).add(name)
                self.children.setdefault("/".join(parts[: depth + 1]), set())
        self.listed: list[str] = []

    def subfolders(self, folder: str) -> list[str]:
        """The names inside ``folder``, in no particular order."""
        self.listed.append(folder)
        return sorted(self.children.get(folder, ()), reverse=len(self.listed) % 2 == 0)


class LayoutContract:
    """Tests every layout must pass. Set ``layout_class``. Set ``sorts_by_name = True`` if
    folder names are fixed-width and sort as time does (``2026/11/24``): the kit then checks
    that a query lists no folder outside its range."""

    layout_class: ClassVar[type[Layout]]
    sorts_by_name: ClassVar[bool] = False

    @pytest.fixture
    def layout(self) -> Layout:
        """A fresh instance of the layout under test."""
        return self.layout_class()

    def test_name_is_lowercase_letters_digits_dashes_and_underscores(self) -> None:
        assert isinstance(self.layout_class.name, str)
        assert NAME.fullmatch(self.layout_class.name)

    @examples(200)
    @given(ns=times)
    def test_folder_is_relative_without_empty_dot_or_backslash_parts(self, ns: int) -> None:
        folder = self.layout_class().folder(ns)
        assert isinstance(folder, str)
        if folder:
            for part in folder.split("/"):  # no leading, trailing or doubled slash either
                assert part not in ("", ".", "..")
                assert "\\" not in part
                assert "\x00" not in part

    @examples(50)
    @given(ns=times)
    def test_folder_depends_only_on_the_time(self, ns: int) -> None:
        assert self.layout_class().folder(ns) == self.layout_class().folder(ns)

    @examples(50)
    @given(ns=times)
    def test_path_is_the_file_name_in_the_folder(self, ns: int) -> None:
        layout = self.layout_class()
        folder = layout.folder(ns)
        expected = f"{folder}/name.v2" if folder else "name.v2"
        assert layout.path(ns, "name.v2") == expected

    @examples(100)
    @given(stored=st.lists(times, min_size=1, max_size=40))
    def test_folders_partition_time_in_order(self, stored: list[int]) -> None:
        layout = self.layout_class()
        order = list(layout.folders(Tree(map(layout.folder, stored)), MIN_NS, MAX_NS))
        position = {folder: index for index, folder in enumerate(order)}
        assert len(position) == len(order), "a folder is yielded twice"
        indices = [position[layout.folder(ns)] for ns in sorted(stored)]
        assert indices == sorted(indices)

    @examples(200)
    @given(stored=st.lists(times, max_size=40), ends=st.lists(times, min_size=2, max_size=2))
    def test_folders_of_a_range_hold_every_blob_in_it_in_time_order(
        self, stored: list[int], ends: list[int]
    ) -> None:
        layout = self.layout_class()
        start, end = sorted(ends)
        existing = {layout.folder(ns) for ns in stored}
        everything = list(layout.folders(Tree(existing), MIN_NS, MAX_NS))
        ascending = list(layout.folders(Tree(existing), start, end))
        descending = list(layout.folders(Tree(existing), start, end, descending=True))
        assert {layout.folder(ns) for ns in stored if start <= ns <= end} <= set(ascending)
        assert set(ascending) <= existing | {""}
        assert ascending == [folder for folder in everything if folder in set(ascending)]
        assert descending == ascending[::-1]

    @examples(100)
    @given(stored=st.lists(times, max_size=40), ends=st.lists(times, min_size=2, max_size=2))
    def test_a_query_lists_each_existing_folder_at_most_once(
        self, stored: list[int], ends: list[int]
    ) -> None:
        layout = self.layout_class()
        start, end = sorted(ends)
        tree = Tree(layout.folder(ns) for ns in stored)
        list(layout.folders(tree, start, end))
        assert len(tree.listed) == len(set(tree.listed))
        assert set(tree.listed) <= set(tree.children)

    @examples(200)
    @given(stored=st.lists(times, max_size=40), ends=st.lists(times, min_size=2, max_size=2))
    def test_a_query_lists_no_folder_outside_its_range(
        self, stored: list[int], ends: list[int]
    ) -> None:
        if not self.sorts_by_name:
            pytest.skip("the layout does not declare sorts_by_name = True")
        layout = self.layout_class()
        start, end = sorted(ends)
        low, high = layout.folder(start), layout.folder(end)
        tree = Tree(layout.folder(ns) for ns in stored)
        list(layout.folders(tree, start, end))
        for folder in tree.listed:
            assert low[: len(folder)] <= folder <= high[: len(folder)], folder
