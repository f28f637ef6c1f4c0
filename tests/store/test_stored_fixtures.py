"""Stores written by an earlier gitblobts read back to the bytes and times it recorded: the
storage format holds across changes to the code (see ``data/make_stores.py``, which made
``data/stores.bundle`` and ``data/stores.json``; they are never regenerated to pass)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gitblobts import Store
from tests.helpers.git import git

DATA = Path(__file__).parent / "data"
RECORD: dict[str, Any] = json.loads((DATA / "stores.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bare clone of the bundle, with one branch per store."""
    repo = tmp_path_factory.mktemp("fixtures") / "stores.git"
    git(
        repo.parent,
        "clone",
        "--quiet",
        "--bare",
        "--mirror",
        str(DATA / "stores.bundle"),
        str(repo),
    )
    return repo


@pytest.mark.parametrize("name", sorted(RECORD["stores"]))
def test_a_store_written_before_reads_back_its_recorded_blobs_and_times(
    clone: Path, name: str
) -> None:
    recorded = RECORD["stores"][name]
    store = Store(clone, branch=name, **recorded["open"])

    read = [[b.timestamp_ns, b.path, b.blob.hex(), b.timestamp] for b in store.getblobs()]

    assert read == recorded["blobs"]


@pytest.mark.parametrize("name", sorted(RECORD["stores"]))
def test_a_store_written_before_verifies_clean(clone: Path, name: str) -> None:
    store = Store(clone, branch=name, **RECORD["stores"][name]["open"])

    assert store.verify().problems == ()
