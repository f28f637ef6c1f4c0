"""The command and blobs in parts: ``init --part-size`` records the store's part size, and
``add`` then keeps a larger file in parts (the library's tests: tests/store/test_parts.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from gitblobts import Store
from tests.helpers.command import assert_fails, ok, run
from tests.helpers.git import git


def test_init_records_the_part_size_and_add_keeps_a_larger_file_in_parts(tmp_path: Path) -> None:
    ok("init", "new", "--part-size", "65536", "--compression", "none", cwd=tmp_path)
    data = os.urandom(3 * 65536 + 1)
    (tmp_path / "big").write_bytes(data)

    ok("add", str(tmp_path / "big"), cwd=tmp_path / "new")

    config = json.loads(git(tmp_path / "new", "show", "HEAD:.gitblobts.json"))
    assert (config["version"], config["part_size"]) == (3, 65536)
    (blob,) = Store(tmp_path / "new").getblobs()
    assert blob.blob == data
    assert "part-000003" in git(tmp_path / "new", "ls-tree", "-r", "--name-only", "HEAD")


def test_init_refuses_a_part_size_under_1_kib_naming_the_option(tmp_path: Path) -> None:
    result = run("init", "new", "--part-size", "100", cwd=tmp_path)

    assert_fails(result, 1, "part_size must be at least 1024")
    assert not (tmp_path / "new").exists()
