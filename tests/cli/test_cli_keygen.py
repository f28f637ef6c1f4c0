"""``gitblobts keygen --output FILE``: a key file only its owner can read, never written
over another key by accident."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from gitblobts.core.keys import decode_key
from tests.helpers.command import assert_fails, ok, run


def test_keygen_output_writes_a_key_only_its_owner_can_read(tmp_path: Path) -> None:
    result = ok("keygen", "--output", "key", cwd=tmp_path)

    assert result.stdout == ""
    assert stat.S_IMODE(os.stat(tmp_path / "key").st_mode) == 0o600
    decode_key((tmp_path / "key").read_text().strip())


def test_keygen_output_is_0600_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        ok("keygen", "--output", "key", cwd=tmp_path)
    finally:
        os.umask(old)

    assert stat.S_IMODE(os.stat(tmp_path / "key").st_mode) == 0o600


def test_keygen_output_refuses_to_overwrite_a_file(tmp_path: Path) -> None:
    (tmp_path / "key").write_text("the key of a store\n")

    assert_fails(run("keygen", "--output", "key", cwd=tmp_path), 1, "key: exists", "--force")
    assert (tmp_path / "key").read_text() == "the key of a store\n"


def test_keygen_output_force_replaces_a_file_with_a_0600_key(tmp_path: Path) -> None:
    (tmp_path / "key").write_text("old\n")
    (tmp_path / "key").chmod(0o644)

    ok("keygen", "--output", "key", "--force", cwd=tmp_path)

    assert stat.S_IMODE(os.stat(tmp_path / "key").st_mode) == 0o600
    decode_key((tmp_path / "key").read_text().strip())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["key"]


def test_keygen_output_key_opens_the_store_it_made(tmp_path: Path) -> None:
    ok("keygen", "-o", "key", cwd=tmp_path)
    ok("init", "store", "--key-file", "key", cwd=tmp_path)
    ok("add", "-", "--key-file", "../key", cwd=tmp_path / "store", input=b"secret")

    assert ok("get", "--cat", "--key-file", "../key", cwd=tmp_path / "store").output == b"secret"


def test_keygen_help_says_the_file_is_0600_and_not_overwritten(tmp_path: Path) -> None:
    text = " ".join(ok("keygen", "--help", cwd=tmp_path).stdout.split())

    assert "0600" in text
    assert "--force" in text
