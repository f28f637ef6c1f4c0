"""Modules that moved keep importing from their old path, with a DeprecationWarning, and
give the very objects of their new home."""

from __future__ import annotations

import importlib
import sys

import pytest

MOVED = {
    "gitblobts.plugins.checkouts": "gitblobts.gitfiles.checkouts",
    "gitblobts.plugins.indexfile": "gitblobts.gitfiles.index",
    "gitblobts.plugins.indexlock": "gitblobts.gitfiles.indexlock",
    "gitblobts.plugins.lockfile": "gitblobts.gitfiles.locks",
    "gitblobts.plugins.objectwriter": "gitblobts.gitfiles.objects",
    "gitblobts.plugins.packreader": "gitblobts.gitfiles.packs",
    "gitblobts.plugins.refupdate": "gitblobts.gitfiles.refs",
    "gitblobts.plugins.treefiles": "gitblobts.gitfiles.trees",
    "gitblobts.plugins.worktree": "gitblobts.gitfiles.worktree",
    "gitblobts.plugins.dulwich_backend": "gitblobts.plugins.backends.dulwich",
    "gitblobts.plugins.git_backend": "gitblobts.plugins.backends.git",
    "gitblobts.core.naming_v1": "gitblobts.core.formats.v1.names",
    "gitblobts.core.migration": "gitblobts.core.formats.v1.migration",
    "gitblobts.core.migrating": "gitblobts.core.formats.v1.migrating",
}


@pytest.mark.parametrize(("old", "new"), MOVED.items())
def test_an_old_module_path_warns_and_forwards_every_name(
    old: str, new: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(sys.modules, old, raising=False)
    with pytest.warns(DeprecationWarning, match=f"{old} moved to {new}"):
        alias = importlib.import_module(old)
    home = importlib.import_module(new)
    names = [name for name in vars(home) if not name.startswith("__")]
    assert names
    assert all(getattr(alias, name) is getattr(home, name) for name in names)


def test_the_backends_entry_point_names_load_the_new_modules() -> None:
    from importlib.metadata import entry_points

    found = {ep.name: ep.value for ep in entry_points(group="gitblobts")}
    assert found["dulwich"] == "gitblobts.plugins.backends.dulwich"
    assert found["git"] == "gitblobts.plugins.backends.git"


def test_a_blob_type_that_moved_with_its_format_warns_and_forwards() -> None:
    from gitblobts.core import blob
    from gitblobts.core.formats.v1 import names

    with pytest.warns(DeprecationWarning, match="V1Blob moved to gitblobts.core.formats.v1.names"):
        moved = blob.V1Blob
    assert moved is names.V1Blob
