"""Editing a tree with changes grouped by folder (:mod:`gitblobts.gitfiles.treebuild`):
the same trees as :func:`gitblobts.gitfiles.trees.edit` makes, in either sorted order, each
folder written once, and the same refusals."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gitblobts.core.backend import TreeEntry
from gitblobts.core.errors import RepositoryError
from gitblobts.gitfiles import treebuild, trees
from gitblobts.gitfiles.objects import TREE, object_id

A, B = "a" * 40, "b" * 40


class Repository:
    """Trees in memory, by id; counts the trees written."""

    def __init__(self) -> None:
        self.trees: dict[str, dict[str, TreeEntry]] = {}
        self.written: list[str] = []

    def read(self, oid: str) -> dict[str, TreeEntry]:
        return self.trees[oid]

    def write(self, entries: list[TreeEntry]) -> str:
        oid = object_id(TREE, trees.serialize(entries))
        self.trees[oid] = {entry.name: entry for entry in entries}
        self.written.append(oid)
        return oid

    def edit(self, base: str | None, pairs: list[tuple[str, str | None]]) -> str:
        return treebuild.edit(self.read, self.write, base, treebuild.Grouped(pairs))

    def edit_anyhow(self, base: str | None, pairs: list[tuple[str, str | None]]) -> str:
        return trees.edit(self.read, self.write, base, [(p.split("/"), o) for p, o in pairs])


paths = st.lists(
    st.lists(st.sampled_from(["a", "b", "a.b", "c-d", "e"]), min_size=1, max_size=4).map("/".join),
    unique=True,
    max_size=30,
)


@given(paths, paths, st.booleans())
def test_grouped_changes_make_the_tree_an_edit_in_any_order_makes(
    first: list[str], second: list[str], descending: bool
) -> None:
    repo = Repository()
    files = [p for p in first if not any(o.startswith(p + "/") for o in first)]
    try:
        base: str | None = repo.edit_anyhow(None, [(p, A) for p in files])
    except RepositoryError:
        return  # a file where a folder is needed: not a tree
    changes = sorted(((p, B) for p in second), reverse=descending)
    try:
        expected = repo.edit_anyhow(base, changes)
    except RepositoryError:
        with pytest.raises(RepositoryError):  # the first refusal met may differ
            repo.edit(base, changes)
        return
    assert repo.edit(base, changes) == expected


def test_each_folder_is_written_once_with_only_its_path_open() -> None:
    repo = Repository()
    changes = [
        (f"2026/{hour:02d}/{minute:02d}/blob", A) for hour in range(3) for minute in range(4)
    ]
    root = repo.edit(None, changes)
    assert len(repo.written) == 3 * 4 + 3 + 1 + 1  # minutes, hours, the year, the root
    assert repo.edit_anyhow(None, changes) == root


def test_a_folder_met_again_after_it_was_written_is_merged_again() -> None:
    repo = Repository()
    root = repo.edit(None, [("x/one", A), ("y/two", B), ("x/three", B)])
    assert root == repo.edit_anyhow(None, [("x/one", A), ("y/two", B), ("x/three", B)])


def test_grouped_changes_are_refused_as_an_edit_refuses_them() -> None:
    repo = Repository()
    base = repo.edit(None, [("x/one", A), ("y", A)])
    with pytest.raises(RepositoryError, match="x/one: a different file already exists there"):
        repo.edit(base, [("x/one", B)])
    with pytest.raises(RepositoryError, match="x/two: no file there to remove"):
        repo.edit(base, [("x/two", None)])
    with pytest.raises(RepositoryError, match="y: a file stands where a folder is needed"):
        repo.edit(base, [("y/one", B)])


def test_removing_every_file_leaves_the_empty_tree() -> None:
    repo = Repository()
    base = repo.edit(None, [("x/y/one", A)])
    assert repo.trees[repo.edit(base, [("x/y/one", None)])] == {}
